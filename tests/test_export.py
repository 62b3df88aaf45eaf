"""Parameters inside image files, and export with provenance."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import fluxpanel
from fluxpanel import GenerationRequest
from fluxpanel._metadata import embed, read
from fluxpanel._results import GeneratedImage, Generation


def encoded(fmt, size=(48, 32)):
    out = io.BytesIO()
    Image.new("RGB", size, (200, 90, 40)).save(out, fmt)
    return out.getvalue()


MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_request_round_trips_through_each_format(fmt, tmp_path):
    req = GenerationRequest(model="flux_pro", prompt='a "fox" <b>&</b>\nsecond line é 狐', seed=3)
    img = GeneratedImage(encoded(fmt), MIME[fmt], 48, 32, 3, 0, req, "flux-api")
    path = img.save(tmp_path / "out")
    assert path.suffix == img.extension
    assert GenerationRequest.from_image(path) == req
    assert GenerationRequest.from_image(path.read_bytes()) == req
    texts = read(path.read_bytes())
    assert texts["parameters"].startswith(req.prompt) and "Seed: 3" in texts["parameters"]
    # The pixels are the original ones, and saving twice does not stack metadata.
    assert Image.open(path).tobytes() == Image.open(io.BytesIO(img.data)).tobytes()
    assert embed(path.read_bytes(), img.metadata()) == path.read_bytes()


@settings(max_examples=40, deadline=None)
@given(prompt=st.text(min_size=1, max_size=4000))
def test_any_prompt_round_trips_through_png(prompt):
    req = GenerationRequest(model="flux_dev", prompt=prompt, seed=1)
    img = GeneratedImage(encoded("PNG"), "image/png", 48, 32, 1, 0, req, "preview")
    assert GenerationRequest.from_image(img.to_bytes()) == req


def test_image_without_metadata_is_refused_clearly():
    with pytest.raises(fluxpanel.ValidationError, match="holds no fluxpanel request"):
        GenerationRequest.from_image(encoded("PNG"))
    with pytest.raises(fluxpanel.ImageError):
        GenerationRequest.from_image(b"GIF89a...")


def test_metadata_is_validated_like_any_input():
    bad = {
        "fluxpanel": json.dumps({"request": {"model": "flux_schnell", "prompt": "x", "steps": 999}})
    }
    with pytest.raises(fluxpanel.ValidationError, match="steps=999"):
        GenerationRequest.from_image(embed(encoded("PNG"), bad))
    junk = {"fluxpanel": "{not json"}
    with pytest.raises(fluxpanel.ValidationError, match="not readable"):
        GenerationRequest.from_image(embed(encoded("PNG"), junk))


def test_export_and_load(tmp_path):
    gen = fluxpanel.FluxClient(provider="preview").generate(
        model="flux_dev", prompt="a fox", seed=11, num_images=2
    )
    manifest_path = gen.save(tmp_path / "export")
    manifest = json.loads(manifest_path.read_text())
    assert manifest["request"] == gen.request.to_payload()
    assert manifest["seeds"] == [11, 11] and manifest["provider"] == "preview"
    assert manifest["fluxpanel"] == fluxpanel.__version__
    assert manifest["cost_estimate_usd"] == 0 and "seed=11," in manifest["code"]
    assert len(manifest["images"]) == 2 and all(len(i["sha256"]) == 64 for i in manifest["images"])
    loaded = fluxpanel.load(tmp_path / "export")
    assert loaded.request == gen.request and loaded.provider == "preview"
    assert [Image.open(io.BytesIO(i.data)).tobytes() for i in loaded] == [
        Image.open(io.BytesIO(i.data)).tobytes() for i in gen
    ]
    assert loaded.timings == gen.timings
    # A tampered file is caught.
    first = tmp_path / "export" / manifest["images"][0]["file"]
    first.write_bytes(first.read_bytes() + b"x")
    with pytest.raises(fluxpanel.ImageError, match="sha256"):
        fluxpanel.load(tmp_path / "export")


def test_export_never_holds_the_key(server, tmp_path):
    with fluxpanel.FluxClient(api_key=server.api_key, url=server.url, cache=False) as c:
        gen = c.generate(prompt="x")
    gen.save(tmp_path)
    for path in tmp_path.iterdir():
        assert server.api_key.encode() not in path.read_bytes()
    assert json.loads((tmp_path / "manifest.json").read_text())["endpoint"] == server.url


def test_load_refuses_what_is_not_an_export(tmp_path):
    with pytest.raises(fluxpanel.FluxError, match=r"no manifest\.json"):
        fluxpanel.load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "other"}')
    with pytest.raises(fluxpanel.FluxError, match="not a fluxpanel export"):
        fluxpanel.load(tmp_path)


def test_manifest_paths_cannot_escape_the_folder(tmp_path):
    gen = Generation(
        GenerationRequest(prompt="x", seed=1),
        [GeneratedImage(encoded("PNG"), "image/png", 48, 32, 1, 0, None, "preview")],
        "preview",
    )
    gen.save(tmp_path / "e")
    m = json.loads((tmp_path / "e" / "manifest.json").read_text())
    (tmp_path / "secret.png").write_bytes(b"secret")
    m["images"][0]["file"] = "../secret.png"
    (tmp_path / "e" / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(FileNotFoundError):
        fluxpanel.load(tmp_path / "e")
