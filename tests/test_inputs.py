"""Input images from Python: every form a person hands over, checked against
the host's limits before any call, and known by content."""

from __future__ import annotations

import io
import pickle
import struct

import numpy as np
import pytest
from PIL import Image

import fluxpanel
from fluxpanel import GenerationRequest, ValidationError
from fluxpanel._imaging import PNG_SIGNATURE, png_chunk
from fluxpanel._spec import ImageLimits, ModelSpec, ParamSpec
from fluxpanel.tables._params import PROMPT

LIMITS = ImageLimits(("jpeg", "png", "webp"), max_bytes=2_000_000, max_megapixels=4, min_side=64)
EDIT = ModelSpec(
    "edit",
    "Edit",
    "An editing model for these tests.",
    {
        "prompt": PROMPT,
        "image": ParamSpec("image", "image", "Image", "The image.", required=True, limits=LIMITS),
        "mask": ParamSpec(
            "mask", "image", "Mask", "White is painted.", limits=LIMITS, mask_of="image"
        ),
        "refs": ParamSpec(
            "refs", "images", "References", "Up to three.", min=1, max=3, limits=LIMITS, urls=True
        ),
    },
)
TABLE = {"edit": EDIT}


def png(w: int = 96, h: int = 64, colour=(200, 30, 30), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


def request(**params) -> GenerationRequest:
    return GenerationRequest("edit", "make it blue", models=TABLE, **params)


def test_every_form_gives_the_same_bytes_and_identity(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = png()
    path = tmp_path / "in.png"
    path.write_bytes(data)
    pil = Image.open(io.BytesIO(data))
    from_path = request(image=path).image
    assert from_path.data == data and from_path.path == str(path)
    assert request(image=str(path)).image == from_path
    assert request(image=data).image == from_path
    assert request(image=pil).image.sha256 == from_path.sha256
    array = np.asarray(Image.open(io.BytesIO(data)))
    assert (request(image=array).image.width, request(image=array).image.height) == (96, 64)
    gen = fluxpanel.GeneratedImage(data=data, mime="image/png", width=96, height=64, seed=1)
    assert request(image=gen).image == from_path


def test_identity_is_the_digest_never_the_bytes():
    a, b = request(image=png()), request(image=png())
    assert a == b and hash(a) == hash(b)
    assert a != request(image=png(colour=(0, 0, 255)))
    payload = a.to_payload()
    assert payload["image"]["sha256"] == a.image.sha256
    assert "base64" not in repr(payload) and len(repr(payload)) < 400
    assert "sha256=" in repr(a)
    assert pickle.loads(pickle.dumps(a)) == a


def test_a_url_is_kept_where_the_host_takes_urls_and_refused_elsewhere():
    r = request(image=png(), refs=["https://example.org/cat.png"])
    assert r.refs[0].url == "https://example.org/cat.png"
    with pytest.raises(ValidationError) as e:
        request(image="https://example.org/cat.png")
    assert e.value.field == "image" and "not a URL" in str(e.value)
    with pytest.raises(ValidationError, match="credentials"):
        request(image=png(), refs=["https://user:pw@example.org/cat.png"])


@pytest.mark.parametrize(
    "value, words",
    [
        (b"not an image at all", "not an image"),
        (b"", "empty"),
        (np.zeros((4, 4, 2), dtype=np.uint8), "H x W x 3"),
        (np.zeros((64, 64, 3), dtype=np.float32), "uint8"),
        (object(), "cannot be read from a object"),
    ],
)
def test_what_is_not_an_image_is_refused_naming_the_field(value, words):
    with pytest.raises(ValidationError) as e:
        request(image=value)
    assert e.value.field == "image" and words in str(e.value)


def test_a_pixel_bomb_is_refused_before_decoding():
    # A PNG header claiming 20000 x 20000 pixels, with almost no data.
    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0)
    bomb = PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")
    with pytest.raises(ValidationError, match="bomb") as e:
        request(image=bomb)
    assert e.value.field == "image"


def test_limits_small_images_and_too_many_references():
    with pytest.raises(ValidationError, match="smaller than 64 px") as e:
        request(image=png(32, 32))
    assert "allowed:" in str(e.value) and "at least 64 px" in str(e.value)
    with pytest.raises(ValidationError, match="has 4 images") as e:
        request(image=png(), refs=[png()] * 4)
    assert e.value.field == "refs"
    with pytest.raises(ValidationError, match="takes one image"):
        request(image=[png(), png()])


def test_too_many_megapixels_are_scaled_down_and_said():
    big = request(image=png(3000, 2000)).image
    assert big.width * big.height <= 4_000_000 and abs(big.width / big.height - 1.5) < 0.01
    assert "scaled down to 4 megapixels" in big.note


def test_a_format_the_host_does_not_take_is_re_encoded_and_said():
    buf = io.BytesIO()
    Image.new("RGB", (80, 80), "green").save(buf, "GIF")
    image = request(image=buf.getvalue()).image
    assert image.format == "png" and "re-encoded from GIF" in image.note


def test_exif_orientation_is_applied():
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    Image.new("RGB", (120, 80), "red").save(buf, "JPEG", exif=exif)
    image = request(image=buf.getvalue()).image
    assert (image.width, image.height) == (80, 120)
    assert "upright" in image.note


def test_a_mask_must_match_its_image():
    request(image=png(96, 64), mask=png(96, 64, 255, "L"))
    with pytest.raises(ValidationError, match="must be the size of its image") as e:
        request(image=png(96, 64), mask=png(64, 64, 255, "L"))
    assert e.value.field == "mask"


def test_snippet_files_hold_the_exact_bytes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = request(image=png())
    path = r.image.file()
    assert path.startswith("fluxpanel-inputs/")
    assert (tmp_path / path).read_bytes() == r.image.data
    again = GenerationRequest.from_payload(r.to_payload(), models=TABLE)
    assert again == r and again.image.data == r.image.data


def test_an_input_named_by_digest_that_is_nowhere_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    payload = request(image=png()).to_payload()
    with pytest.raises(ValidationError, match="is not in fluxpanel-inputs") as e:
        GenerationRequest.from_payload(payload, models=TABLE)
    assert e.value.field == "image"
