"""FLUX 3.1 Image: its row at Black Forest Labs (fields from a mirror of the
host's schema, the fake following the same), a mask on the first reference,
boxes sent as a field of fractions that can move an object, exact sizes up to
16 megapixels and 8:1, prices by mode and size, and the preview drawing both
edits offline."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

import fluxpanel
from fluxpanel import Box, FluxClient, GenerationRequest, ValidationError
from fluxpanel.providers import BlackForestLabs
from fluxpanel.testing import FakeBFL

from .conftest import quick, run_snippet
from .test_flux3 import client as flux3_client
from .test_flux3 import png

QuickBFL = quick(BlackForestLabs)
MODEL = "flux_3_1_image"


def client(bfl, **kw):
    return flux3_client(QuickBFL, bfl, **kw)


def request(**params):
    return GenerationRequest(
        model=MODEL, models=BlackForestLabs.models, **{"prompt": "x", **params}
    )


FOX = Box("fox_1", 500, 500, 900, 900, "the red fox", source=(100, 100, 400, 400))
SUN = Box("sun_1", 0, 700, 250, 1000, "a low winter sun")


# -- the request as the host reads it --------------------------------------------------------


def test_bfl_gets_the_mirrors_fields_with_boxes_in_fractions_and_a_move():
    with FakeBFL() as bfl, client(bfl) as c:
        g = c.generate(
            model=MODEL,
            prompt="Move the fox <fox_1> to the lower right; add <sun_1>.",
            input_images=[png(512, 512), png(400, 300, (0, 90, 200))],
            mask=png(256, 256, (255, 255, 255)),
            boxes=[FOX, SUN],
            mode="fast",
            search="auto",
        )
        body = bfl.submits[0].json()
        path = bfl.submits[0].path
    assert path == "/v1/flux-3.1-image" and len(g.images) == 1
    assert set(body) == {
        "prompt", "images", "mask", "bounding_boxes", "mode", "aspect_ratio", "resolution",
        "grounding",
    }  # fmt: skip
    assert body["grounding"] == "auto" and body["mode"] == "fast"
    assert "seed" not in body and "steps" not in body and "output_format" not in body
    assert body["prompt"] == "Move the fox <fox_1> to the lower right; add <sun_1>."  # no rows
    # Black Forest Labs' guide: with images, tgt_bbox and from (target or a reference).
    assert body["bounding_boxes"] == [
        {
            "id": "fox_1",
            "desc": "the red fox",
            "from": "ref_image_0",
            "src_bbox": [0.1, 0.1, 0.4, 0.4],
            "tgt_bbox": [0.5, 0.5, 0.9, 0.9],
        },
        {
            "id": "sun_1",
            "desc": "a low winter sun",
            "from": "target",
            "tgt_bbox": [0, 0.7, 0.25, 1],
        },
    ]
    assert base64.b64decode(body["mask"])[:4] == b"\x89PNG"
    assert g.cost == 0.015  # fast, at 1k


def test_boxes_on_a_new_image_are_placed_by_bbox_and_a_box_without_words_sends_none():
    with FakeBFL() as bfl, client(bfl) as c:
        c.generate(
            model=MODEL,
            prompt="<sun_1> over <hill_1>.",
            boxes=[SUN, Box("hill_1", 600, 0, 1000, 1000)],
        )
        body = bfl.submits[0].json()
    assert body["bounding_boxes"] == [
        {"id": "sun_1", "bbox": [0, 0.7, 0.25, 1], "desc": "a low winter sun"},
        {"id": "hill_1", "bbox": [0.6, 0, 1, 1]},  # desc is optional
    ]


def test_an_exact_size_is_sent_without_a_preset_and_no_boxes_no_field():
    with FakeBFL() as bfl, client(bfl) as c:
        c.generate(
            model=MODEL, prompt="A long banner.", resolution="custom", width=4096, height=512
        )
        body = bfl.submits[0].json()
    assert body["width"] == 4096 and body["height"] == 512
    assert "resolution" not in body and "bounding_boxes" not in body and "mask" not in body


def test_match_first_image_keeps_image_1s_size_and_is_priced_by_it():
    """Black Forest Labs' edit guide: "Set resolution and aspect_ratio to
    match_first_image to keep the input image's dimensions"."""
    photo = png(1200, 800)
    kept = request(input_images=[photo], resolution="match_first_image",
                   aspect_ratio="match_first_image")  # fmt: skip
    assert kept.size == (1200, 800) and fluxpanel.estimate_cost(kept) == 0.03  # under 4 MP
    big = request(input_images=[png(2000, 1500)], resolution="match_first_image")
    assert big.size == (2000, 1500) and fluxpanel.estimate_cost(big) == 0.06  # 3 MP: 4 MP's
    assert fluxpanel.estimate_cost(big) < fluxpanel.estimate_cost(big.replace(resolution="4k"))
    wide = request(input_images=[photo], resolution="match_first_image", aspect_ratio="16:9")
    w, h = wide.size
    assert abs(w / h - 16 / 9) < 0.02 and abs(w * h - 1200 * 800) < 0.05 * 1200 * 800
    with FakeBFL() as bfl, client(bfl) as c:
        c.generate(model=MODEL, prompt="x", input_images=[photo], resolution="match_first_image")
        assert bfl.submits[0].json()["resolution"] == "match_first_image"


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"resolution": "custom", "width": 8192, "height": 4096}, "8192x4096 is 32.0 megapixels"),
        ({"resolution": "custom", "width": 4096, "height": 256}, "longer than 8:1"),
        ({"width": 1024, "height": 1024}, "applies only when resolution is 'custom'"),
        ({"mode": "turbo"}, "mode='turbo'"),
        ({"search": True}, "search=True"),
        ({"seed": 3}, "seed"),
        ({"boxes": [FOX]}, "moves an object from image 1, but no reference images"),
        (
            {"boxes": [Box(f"b_{i}", 0, 0, 10, 10) for i in range(33)]},
            "more than 32 boxes",
        ),
        ({"mask": png(256, 256)}, "mask follows input_images"),
        ({"input_images": [png()] * 10, "mask": png(320, 256)}, "more than the 9"),
        ({"input_images": [png(512, 256)], "mask": png(256, 256)}, "the shape of image 1"),
    ],
)
def test_what_the_host_refuses_is_refused_before_sending(params, words):
    with pytest.raises(ValidationError) as e:
        request(**params)
    assert words in str(e.value)


def test_flux_3_cannot_move_an_object_and_says_which_model_can():
    with pytest.raises(ValidationError) as e:
        GenerationRequest(
            model="flux_3_image",
            prompt="x",
            input_images=[png()],
            boxes=[FOX],
            models=BlackForestLabs.models,
        )
    assert "FLUX 3.1 Image can" in str(e.value) and e.value.field == "boxes"


def test_the_fake_refuses_what_the_mirror_says_the_host_refuses():
    with FakeBFL() as bfl:
        url, headers = bfl.base_url + "/v1/flux-3.1-image", {"x-key": bfl.api_key}

        def refused(body, field):
            r = httpx.post(url, json={"prompt": "x", **body}, headers=headers)
            assert r.status_code == 422 and field in r.text, (body, r.text)

        one = base64.b64encode(png(512, 512)).decode()
        refused({"seed": 1}, "seed")
        refused({"steps": 20}, "steps")
        refused({"mode": "turbo"}, "mode")
        refused({"grounding": True}, "grounding")
        refused({"width": 1024}, "together")
        refused({"width": 8192, "height": 4096}, "16 MP")
        refused({"images": [one] * 10, "mask": one}, "at most 9")
        refused({"mask": one}, "needs images")
        refused({"images": [one], "mask": base64.b64encode(png(512, 256)).decode()}, "aspect")
        box = {"id": "a_1", "bbox": [0, 0, 0.5, 0.5]}
        refused({"boxes": [box]}, "boxes")  # Comfy Router's name, unknown at the host
        refused({"bounding_boxes": [box] * 33}, "1 to 32")
        refused({"bounding_boxes": []}, "1 to 32")
        refused({"bounding_boxes": [box, box]}, "each id once")
        refused({"bounding_boxes": [{**box, "id": "1st"}]}, "starting with a letter")
        refused({"bounding_boxes": [{**box, "name": "a_1"}]}, "unknown field name")
        refused({"bounding_boxes": [{**box, "bbox": [0, 0, 500, 500]}]}, "fractions")
        refused({"bounding_boxes": [{**box, "from": "target"}]}, "need images")
        with_images = {"images": [one]}
        refused({**with_images, "bounding_boxes": [box]}, "instead of bbox")
        new = {"id": "a_1", "from": "target", "tgt_bbox": [0, 0, 0.5, 0.5]}
        refused(
            {**with_images, "bounding_boxes": [{**new, "src_bbox": [0, 0, 0.1, 0.1]}]}, "target"
        )
        move = {"id": "a_1", "from": "ref_image_1", "src_bbox": [0, 0, 0.1, 0.1]}
        refused(
            {**with_images, "bounding_boxes": [{**move, "tgt_bbox": [0, 0, 0.2, 0.2]}]}, "names no"
        )
        refused({**with_images, "bounding_boxes": [{**move, "from": "ref_image_0"}]}, "tgt_bbox")
        for ok in ({"bounding_boxes": [box]}, {**with_images, "bounding_boxes": [new]}):
            assert httpx.post(url, json={"prompt": "x", **ok}, headers=headers).status_code == 200
        ok = httpx.post(url, json={"prompt": "x", "images": [one], "mask": one}, headers=headers)
        assert ok.status_code == 200


# -- prices, sizes, the snippet, metadata -----------------------------------------------------


def test_the_estimate_follows_the_mode_and_the_size():
    def cost(**params):
        return fluxpanel.estimate_cost(request(**params))

    assert [cost(mode="fast", resolution=r) for r in ("1k", "2k", "4k")] == [0.015, 0.04, 0.11]
    assert [cost(resolution=r) for r in ("1k", "2k", "4k")] == [0.03, 0.06, 0.28]
    assert cost(resolution="custom", width=2048, height=1024) == 0.06  # 2 MP: the 4 MP price
    assert request(resolution="custom", width=2048, height=1024).size == (2048, 1024)
    assert request(aspect_ratio="16:9", resolution="2k").size == (2736, 1536)


def test_a_move_travels_as_data_in_the_snippet_metadata_and_exports(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with FakeBFL() as bfl, client(bfl) as c:
        g = c.generate(model=MODEL, prompt="Move <fox_1>.", input_images=[png()], boxes=[FOX])
        assert "source=(100, 100, 400, 400)" in g.code
        run_snippet(g.code, tmp_path, BFL_API_KEY=bfl.api_key, FLUXPANEL_CACHE_DIR=str(tmp_path))
        first, again = (r.json() for r in bfl.submits)
    assert first == again
    saved = g.images[0].save(tmp_path / "fox")
    back = GenerationRequest.from_image(saved)
    assert back.boxes == (FOX,) and back == g.request
    unmoved = g.request.replace(boxes=[Box("fox_1", 500, 500, 900, 900, "the red fox")])
    assert unmoved != g.request  # the move is part of what was asked


# -- offline ---------------------------------------------------------------------------------


def test_the_preview_draws_the_mask_edit_and_the_moved_object():
    c = FluxClient(provider="preview", cache=False)
    # Reference: white, with a blue square where the fox is (10%-40% each way).
    picture = Image.new("RGB", (500, 500), "white")
    picture.paste((0, 0, 255), (50, 50, 200, 200))
    buf = io.BytesIO()
    picture.save(buf, "PNG")
    moved = c.generate(model=MODEL, prompt="Move it.", input_images=[buf.getvalue()], boxes=[FOX])
    image = Image.open(io.BytesIO(moved.images[0].data)).convert("RGB")
    w, h = image.size
    # The blue square is drawn in the target box (50%-90%), not where it was.
    assert image.getpixel((int(w * 0.75), int(h * 0.75)))[2] > 200
    assert image.getpixel((int(w * 0.75), int(h * 0.75)))[0] < 80
    # A mask edit: only the white part of the mask changes.
    mask = Image.new("L", (500, 500), 0)
    mask.paste(255, (250, 0, 500, 500))  # the right half may change
    mb = io.BytesIO()
    mask.save(mb, "PNG")
    edit = c.generate(
        model=MODEL, prompt="Repaint the right.", input_images=[buf.getvalue()], mask=mb.getvalue()
    )
    out = Image.open(io.BytesIO(edit.images[0].data)).convert("RGB")
    w, h = out.size
    assert out.getpixel((int(w * 0.1), int(h * 0.5))) == (255, 255, 255)  # kept: left half
    assert out.getpixel((int(w * 0.8), int(h * 0.5))) != (255, 255, 255)  # repainted
