"""Editing at each host: input images sent as each host takes them (bare
base64, data URIs, uploads), checked before any call, and refused by the
fakes where the host would refuse them."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image

import fluxpanel
from fluxpanel import FluxClient, ValidationError
from fluxpanel.providers import BlackForestLabs, Fal, Preview, Replicate
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate

from .conftest import FAST_RETRY, quick, run_snippet

QuickBFL, QuickReplicate, QuickFal = quick(BlackForestLabs), quick(Replicate), quick(Fal)


def client(cls, server):
    provider = cls(api_key=server.api_key, base_url=server.base_url)
    return FluxClient(provider=provider, cache=False, retry=FAST_RETRY)


def png(w=320, h=256, colour=(200, 40, 40), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


def noisy_png(w: int, h: int) -> bytes:
    """A PNG that does not compress (over a megabyte at 1024 x 1024)."""
    import os

    buf = io.BytesIO()
    Image.frombytes("RGB", (w, h), os.urandom(w * h * 3)).save(buf, "PNG")
    return buf.getvalue()


# -- Black Forest Labs: bare base64 in the body -------------------------------------


def test_bfl_kontext_sends_the_input_as_bare_base64():
    image = png()
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_kontext_pro", prompt="make it night", input_image=image)
        body = bfl.submits[0].json()
    assert bfl.submits[0].path == "/v1/flux-kontext-pro"
    assert base64.b64decode(body["input_image"]) == image
    assert "aspect_ratio" not in body  # match_input: the host keeps the input's shape
    assert g.images and g.request.input_image.sha256


def test_bfl_flux2_references_go_as_numbered_fields():
    refs = [png(colour=(i * 60, 0, 0)) for i in range(3)]
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        c.generate(
            model="flux_2_pro", prompt="image 1 wearing image 2 in image 3", input_images=refs
        )
        body = bfl.submits[0].json()
    assert [
        base64.b64decode(body[k]) for k in ("input_image", "input_image_2", "input_image_3")
    ] == refs
    assert "image_size" not in body and "width" not in body


def test_bfl_fill_mask_of_the_wrong_size_never_reaches_the_host():
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        with pytest.raises(ValidationError, match="must be the size of its image") as e:
            c.generate(
                model="flux_fill_pro",
                prompt="a red door",
                image=png(320, 256),
                mask=png(256, 256, 255, "L"),
            )
        assert e.value.field == "mask"
        assert bfl.requests == []


def test_the_bfl_fake_refuses_what_bfl_refuses():
    with FakeBFL() as bfl:
        headers = {"x-key": bfl.api_key}
        url = bfl.base_url + "/v1/flux-pro-1.0-fill"
        img = base64.b64encode(png(320, 256)).decode()
        mask = base64.b64encode(png(256, 256, 255, "L")).decode()
        r = httpx.post(url, json={"image": img, "mask": mask, "prompt": "x"}, headers=headers)
        assert r.status_code == 422 and "same dimensions" in r.text
        r = httpx.post(url, json={"image": "not base64!", "prompt": "x"}, headers=headers)
        assert r.status_code == 422 and "base64" in r.text
        small = base64.b64encode(png(100, 100)).decode()
        r = httpx.post(url, json={"image": small}, headers=headers)
        assert r.status_code == 422 and "256x256" in r.text
        r = httpx.post(
            bfl.base_url + "/v1/flux-2-pro",
            json={"prompt": "x", "input_image_9": img},
            headers=headers,
        )
        assert r.status_code == 422 and "input_image_9" in r.text


# -- Replicate: data URIs under a megabyte, uploads above ----------------------------


def test_replicate_small_input_goes_as_a_data_uri():
    image = png()
    with FakeReplicate() as rep, client(QuickReplicate, rep) as c:
        c.generate(model="flux_kontext_pro", prompt="make it night", input_image=image)
        body = rep.creates[0].json()["input"]
    assert body["input_image"] == "data:image/png;base64," + base64.b64encode(image).decode()
    assert rep.files == {}


def test_replicate_large_input_is_uploaded_first():
    big = noisy_png(1024, 1024)
    assert len(big) > 1_000_000
    with FakeReplicate() as rep, client(QuickReplicate, rep) as c:
        c.generate(
            model="flux_fill_pro", prompt="a door", image=big, mask=png(1024, 1024, 255, "L")
        )
        body = rep.creates[0].json()["input"]
        uploads = [r for r in rep.requests if r.path == "/v1/files"]
        base = rep.url_base
    assert len(uploads) == 1 and list(rep.files.values()) == [big]
    assert body["image"] == f"{base}/v1/files/{next(iter(rep.files))}"
    assert body["mask"].startswith("data:image/png;base64,")
    assert uploads[0].headers["Authorization"] == f"Bearer {rep.api_key}"


def test_replicate_flux2_takes_a_list_and_a_url():
    with FakeReplicate() as rep, client(QuickReplicate, rep) as c:
        c.generate(
            model="flux_2_pro",
            prompt="image 1 in the style of image 2",
            input_images=[png(), "https://example.org/style.png"],
        )
        body = rep.creates[0].json()["input"]
    assert body["input_images"][0].startswith("data:image/png")
    assert body["input_images"][1] == "https://example.org/style.png"


# -- fal: uploads to its storage, the key never sent with the bytes ------------------


def test_fal_uploads_inputs_and_sends_their_urls():
    image = png()
    with FakeFal() as fal, client(QuickFal, fal) as c:
        c.generate(model="flux_kontext_max", prompt="make it night", input_image=image)
        submit = next(r for r in fal.submits if "kontext" in r.path)
        assert fal.keys_sent_to_storage == 0
        assert list(fal.uploads.values()) == [image]
        base = fal.url_base
    body = submit.json()
    assert submit.path == "/fal-ai/flux-pro/kontext/max"
    assert body["image_url"].startswith(f"{base}/files/")
    assert "aspect_ratio" not in body


def test_fal_flux2_uses_the_edit_route_only_with_references():
    with FakeFal() as fal, client(QuickFal, fal) as c:
        c.generate(model="flux_2_pro", prompt="a lighthouse")
        c.generate(model="flux_2_pro", prompt="image 1 at dusk", input_images=[png(), png()])
        paths = [r.path for r in fal.submits if "storage" not in r.path]
        uploads = len(fal.uploads)
    assert paths == ["/fal-ai/flux-2-pro", "/fal-ai/flux-2-pro/edit"]
    assert uploads == 1  # the same image twice goes up once


def test_the_fal_fake_refuses_a_mask_of_another_size():
    with FakeFal() as fal:
        headers = {"Authorization": f"Key {fal.api_key}"}
        image = "data:image/png;base64," + base64.b64encode(png(320, 256)).decode()
        mask = "data:image/png;base64," + base64.b64encode(png(256, 256, 255, "L")).decode()
        r = httpx.post(
            fal.base_url + "/fal-ai/flux-pro/v1/fill",
            json={"prompt": "x", "image_url": image, "mask_url": mask},
            headers=headers,
        )
        result = httpx.get(r.json()["response_url"], headers=headers)
    assert result.status_code == 422 and "same dimensions" in result.text


# -- what every host shares ------------------------------------------------------------


@pytest.mark.parametrize(
    "cls, fake, model, field",
    [
        (QuickBFL, FakeBFL, "flux_kontext_pro", "input_image"),
        (QuickReplicate, FakeReplicate, "flux_kontext_pro", "input_image"),
        (QuickFal, FakeFal, "flux_kontext_pro", "input_image"),
    ],
)
@pytest.mark.parametrize("bad", [b"%PDF-1.4 not an image", b"GIF89a\x00"])
def test_a_non_image_is_refused_before_anything_is_sent(cls, fake, model, field, bad):
    with fake() as server, client(cls, server) as c:
        with pytest.raises(ValidationError) as e:
            c.generate(model=model, prompt="x", input_image=bad)
        assert e.value.field == field and server.requests == []


def test_the_cache_knows_an_edit_by_its_input(tmp_path):
    with FakeBFL() as bfl:
        provider = QuickBFL(api_key=bfl.api_key, base_url=bfl.base_url)
        with FluxClient(provider=provider, cache=tmp_path, retry=FAST_RETRY) as c:
            a = c.generate(model="flux_kontext_pro", prompt="night", input_image=png(), seed=3)
            b = c.generate(model="flux_kontext_pro", prompt="night", input_image=png(), seed=3)
            other = c.generate(
                model="flux_kontext_pro", prompt="night", input_image=png(colour=(0, 0, 9)), seed=3
            )
        assert len(bfl.submits) == 2
    assert b.cached and not a.cached and not other.cached
    entry = next(tmp_path.rglob("*.entry")).read_bytes()
    assert base64.b64encode(png()) not in entry  # the cache records the digest


def test_every_image_parameter_names_its_limits_in_the_error():
    with pytest.raises(ValidationError) as e:
        fluxpanel.GenerationRequest(
            "flux_fill_pro",
            "x",
            models=BlackForestLabs.models,
            image=png(100, 100),
            mask=png(100, 100, 255, "L"),
        )
    text = str(e.value)
    assert "smaller than 256 px" in text and "at most 20 megapixels" in text
    assert json.dumps(e.value.field) == '"image"'


# -- reproducible with inputs ------------------------------------------------------------


def test_a_snippet_with_inputs_runs_in_a_fresh_process_and_sends_the_same_body(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(
            model="flux_fill_pro",
            prompt="a red door",
            image=png(320, 256),
            mask=png(320, 256, 255, "L"),
            seed=11,
        )
        assert "fluxpanel-inputs/" in g.code and "sha256" not in g.code
        run_snippet(g.code, tmp_path, BFL_API_KEY=bfl.api_key)
        first, again = (r.json() for r in bfl.submits)
    assert first == again


def test_export_and_load_keep_the_inputs(tmp_path):
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_kontext_pro", prompt="night", input_image=png(), seed=4)
    folder = g.save(tmp_path / "export").parent
    manifest = json.loads((folder / "manifest.json").read_text())
    record = manifest["inputs"]["input_image"][0]
    assert record["sha256"] == g.request.input_image.sha256
    assert (folder / record["file"]).read_bytes() == png()
    loaded = fluxpanel.load(folder)
    assert loaded.request == g.request and loaded.request.input_image.data == png()
    (folder / record["file"]).write_bytes(png(colour=(1, 2, 3)))
    with pytest.raises(fluxpanel.ImageError, match="does not match its sha256"):
        fluxpanel.load(folder)


def test_compare_runs_one_edit_across_models():
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        grid = fluxpanel.compare(
            "make it night",
            client=c,
            model=["flux_kontext_pro", "flux_kontext_max"],
            input_image=[png(), png(colour=(0, 90, 0))],
            seed=2,
            display=False,
        )
        bodies = [r.json() for r in bfl.submits]
        refs = fluxpanel.compare(
            "image 1 beside image 2",
            client=c,
            model="flux_2_pro",
            input_images=[png(), png(colour=(0, 90, 0))],
            seed=2,
            display=False,
        )
    assert len(grid.cells) == 4 and all(cell.generation.images for cell in grid.cells)
    assert {b["input_image"] for b in bodies} == {
        base64.b64encode(png()).decode(),
        base64.b64encode(png(colour=(0, 90, 0))).decode(),
    }
    assert len(refs.cells) == 1  # a list of references is one value
    html = grid._repr_html_()
    assert "input_image=image 2" in html and "\\x89PNG" not in html and "IHDR" not in html


def test_prices_by_image_and_by_megapixel_with_inputs():
    from fluxpanel._pricing import PerMegapixel, estimate_cost

    table = BlackForestLabs.models
    kontext = fluxpanel.GenerationRequest("flux_kontext_max", "x", models=table, num_images=2)
    assert estimate_cost(kontext) == pytest.approx(0.16)
    text = fluxpanel.GenerationRequest(
        "flux_2_pro", "x", models=table, image_size="custom", width=2048, height=1024
    )
    assert estimate_cost(text) == pytest.approx(0.03 + 0.015 * 2)  # 2.1 MP: three begun
    edit = fluxpanel.GenerationRequest(
        "flux_2_pro",
        "x",
        models=table,
        image_size="custom",
        width=1024,
        height=960,
        input_images=[png(1400, 1000)],  # 1.4 MP in: two more begun
    )
    assert estimate_cost(edit) == pytest.approx(0.03 + 0.015 * 2)
    assert estimate_cost(edit, {"flux_2_pro": PerMegapixel(1.0, 0.0)}) == 1.0


def test_bfl_klein_takes_the_four_references_its_schema_has():
    refs = [png(colour=(i * 40, 0, 0)) for i in range(5)]
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        c.generate(model="flux_2_klein_9b", prompt="image 1 and image 4", input_images=refs[:4])
        assert bfl.submits[0].path == "/v1/flux-2-klein-9b"
        assert base64.b64decode(bfl.submits[0].json()["input_image_4"]) == refs[3]
        for model in ("flux_2_klein_4b", "flux_2_klein_9b"):
            with pytest.raises(ValidationError, match="has 5 images") as e:
                c.generate(model=model, prompt="x", input_images=refs)
            assert e.value.field == "input_images" and len(bfl.submits) == 1
        extra = {"prompt": "x", "input_image_5": base64.b64encode(refs[0]).decode()}
        for path in ("/v1/flux-2-klein-4b", "/v1/flux-2-klein-9b"):
            r = httpx.post(f"{bfl.base_url}{path}", json=extra, headers={"x-key": bfl.api_key})
            assert r.status_code == 422 and "input_image_5" in r.text


# -- Kontext's experimental multi-reference: more images after the input ----------


def test_bfl_kontext_sends_more_images_as_input_image_2_to_4():
    subject, *more = [png(colour=(40 * i, 90, 0)) for i in range(4)]
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(
            model="flux_kontext_max",
            prompt="the cat of image 1 wearing the hat of image 2",
            input_image=subject,
            more_images=more,
            seed=5,
        )
        body = bfl.submits[0].json()
    sent = [
        base64.b64decode(body[k]) for k in ("input_image", *(f"input_image_{i}" for i in (2, 3, 4)))
    ]
    assert sent == [subject, *more]
    assert "more_images" not in body
    assert [i.sha256 for i in g.request.more_images] == [
        fluxpanel.InputImage.of(m).sha256 for m in more
    ]


def test_more_images_follow_the_input_image_and_stop_at_three():
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        with pytest.raises(ValidationError, match="follows input_image") as e:
            c.generate(model="flux_kontext_pro", prompt="x", more_images=[png()])
        assert e.value.field == "more_images"
        with pytest.raises(ValidationError, match="1 to 3 images") as e:
            c.generate(
                model="flux_kontext_pro", prompt="x", input_image=png(), more_images=[png()] * 4
            )
        assert e.value.field == "more_images"
        assert bfl.requests == []


def test_the_bfl_fake_takes_four_kontext_images_and_no_fifth():
    img = base64.b64encode(png()).decode()
    with FakeBFL() as bfl:
        url, headers = bfl.base_url + "/v1/flux-kontext-pro", {"x-key": bfl.api_key}
        fields = {f"input_image_{i}": img for i in (2, 3, 4)}
        r = httpx.post(url, json={"prompt": "x", "input_image": img, **fields}, headers=headers)
        assert r.status_code == 200
        r = httpx.post(url, json={"prompt": "x", "input_image_5": img}, headers=headers)
        assert r.status_code == 422 and "input_image_5" in r.text


def test_fal_kontext_without_an_input_makes_an_image_from_the_prompt():
    with FakeFal() as fal, client(QuickFal, fal) as c:
        g = c.generate(model="flux_kontext_max", prompt="a lighthouse", aspect_ratio="16:9", seed=3)
        c.generate(model="flux_kontext_max", prompt="at night", input_image=g.image, seed=3)
        submits = [r for r in fal.submits if "storage" not in r.path]
    assert [r.path for r in submits] == [
        "/fal-ai/flux-pro/kontext/max/text-to-image",
        "/fal-ai/flux-pro/kontext/max",
    ]
    first = submits[0].json()
    assert "image_url" not in first and first["aspect_ratio"] == "16:9"
    assert submits[1].json()["image_url"]


def test_fal_kontext_with_more_images_goes_to_the_multi_route():
    subject, hat = png(colour=(10, 10, 200)), png(colour=(200, 200, 0))
    with FakeFal() as fal, client(QuickFal, fal) as c:
        c.generate(model="flux_kontext_pro", prompt="a cat", input_image=subject)
        c.generate(
            model="flux_kontext_max",
            prompt="the cat wearing the hat",
            input_image=subject,
            more_images=[hat],
        )
        submits = [r for r in fal.submits if "storage" not in r.path]
        uploads = dict(fal.uploads)
    assert [r.path for r in submits] == [
        "/fal-ai/flux-pro/kontext",
        "/fal-ai/flux-pro/kontext/max/multi",
    ]
    body = submits[1].json()
    assert "image_url" not in body and "more_images" not in body
    assert [uploads[u.split("/files/")[1].split("/")[0]] for u in body["image_urls"]] == [
        subject,
        hat,
    ]


def test_the_fal_fake_refuses_a_multi_request_without_image_urls():
    with FakeFal() as fal:
        headers = {"Authorization": f"Key {fal.api_key}"}
        url = fal.base_url + "/fal-ai/flux-pro/kontext/multi"
        r = httpx.post(url, json={"prompt": "x", "image_url": "https://x/a.png"}, headers=headers)
        result = httpx.get(r.json()["response_url"], headers=headers)
    assert result.status_code == 422
    assert {tuple(d["loc"]) for d in result.json()["detail"]} >= {
        ("body", "image_url"),
        ("body", "image_urls"),
    }


def test_preview_shows_the_more_images_beside_the_edit():
    from fluxpanel.providers._placeholder import _references

    subject, hat = png(colour=(0, 0, 255)), png(640, 640, colour=(255, 255, 0))
    with FluxClient(provider=Preview(), cache=False) as c:
        g = c.generate(
            model="flux_kontext_pro", prompt="x", input_image=subject, more_images=[hat], seed=1
        )
        plain = c.generate(model="flux_kontext_pro", prompt="x", input_image=subject, seed=1)
    assert [label for label, _ in _references(g.request, g.request.input_image)] == ["image 2"]
    shown = Image.open(io.BytesIO(g.images[0].data)).convert("RGB")
    without = Image.open(io.BytesIO(plain.images[0].data)).convert("RGB")
    width = shown.width
    # The yellow of image 2 appears at the top right only when it is given.
    corner = (width - width // 7, shown.height // 10 + width // 14)
    assert shown.getpixel(corner)[:2] > (200, 200) and without.getpixel(corner) != shown.getpixel(
        corner
    )


def test_moving_a_more_image_renumbers_from_image_2():
    from fluxpanel._boxes import renumber_references

    prompt = "the hat of image 2 on the cat of image 1, the scarf of image 3"
    assert renumber_references(prompt, [1, 0], first=2) == (
        "the hat of image 3 on the cat of image 1, the scarf of image 2"
    )


# -- FLUX.2 [flex] and [klein] at fal -------------------------------------------------


def test_fal_klein_takes_a_batch_steps_and_four_references_on_its_edit_route():
    refs = [png(colour=(60 * i, 0, 0)) for i in range(4)]
    with FakeFal() as fal, client(QuickFal, fal) as c:
        made = c.generate(model="flux_2_klein_9b", prompt="a fox", num_images=2, steps=8, seed=3)
        edit = c.generate(model="flux_2_klein_4b", prompt="image 1 at dusk", input_images=refs)
        with pytest.raises(ValidationError, match="1 to 4 images") as e:
            c.generate(model="flux_2_klein_4b", prompt="x", input_images=[*refs, png()])
        assert e.value.field == "input_images"
        with pytest.raises(ValidationError) as e:
            c.generate(model="flux_2_klein_9b", prompt="x", steps=9)
        assert e.value.field == "steps"
        submits = [r for r in fal.submits if "storage" not in r.path]
    assert [r.path for r in submits] == [
        "/fal-ai/flux-2/klein/9b",
        "/fal-ai/flux-2/klein/4b/edit",
    ]
    first, second = (r.json() for r in submits)
    assert first["num_images"] == 2 and first["num_inference_steps"] == 8
    assert "safety_tolerance" not in first and "image_size" not in first
    assert len(second["image_urls"]) == 4
    assert len(made.images) == 2 and len(edit.images) == 1


def test_fal_flex_sends_steps_and_guidance_by_fal_names():
    with FakeFal() as fal, client(QuickFal, fal) as c:
        c.generate(model="flux_2_flex", prompt="a poster", steps=30, guidance=6.5, seed=2)
        c.generate(model="flux_2_flex", prompt="image 1, bolder", input_images=[png()])
        submits = [r for r in fal.submits if "storage" not in r.path]
    assert [r.path for r in submits] == ["/fal-ai/flux-2-flex", "/fal-ai/flux-2-flex/edit"]
    body = submits[0].json()
    assert body["num_inference_steps"] == 30 and body["guidance_scale"] == 6.5
    assert body["safety_tolerance"] == "2"


def test_the_fal_fake_refuses_what_fal_refuses_for_klein():
    with FakeFal() as fal:
        headers = {"Authorization": f"Key {fal.api_key}"}
        for route, body, field in (
            (
                "fal-ai/flux-2/klein/9b",
                {"prompt": "x", "num_inference_steps": 9},
                "num_inference_steps",
            ),
            (
                "fal-ai/flux-2/klein/4b",
                {"prompt": "x", "safety_tolerance": "2"},
                "safety_tolerance",
            ),
            (
                "fal-ai/flux-2/klein/4b/edit",
                {"prompt": "x", "image_urls": ["https://a/b.png"] * 5},
                "image_urls",
            ),
        ):
            r = httpx.post(f"{fal.base_url}/{route}", json=body, headers=headers)
            result = httpx.get(r.json()["response_url"], headers=headers)
            assert result.status_code == 422, route
            assert ("body", field) in {tuple(d["loc"]) for d in result.json()["detail"]}, route


# -- FLUX.1 Expand [pro] at Black Forest Labs ----------------------------------------


def test_bfl_expand_grows_an_image_on_its_sides():
    image = png(320, 256)
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_expand_pro", image=image, left=64, right=32, top=16, seed=4)
        body = bfl.submits[0].json()
        with pytest.raises(ValidationError) as e:
            c.generate(model="flux_expand_pro", image=image, bottom=2049)
        assert e.value.field == "bottom"
        with pytest.raises(ValidationError, match="image is required"):
            c.generate(model="flux_expand_pro", top=10)
        assert len(bfl.submits) == 1
    assert bfl.submits[0].path == "/v1/flux-pro-1.0-expand"
    assert base64.b64decode(body["image"]) == image
    assert (body["top"], body["bottom"], body["left"], body["right"]) == (16, 0, 64, 32)
    assert body["prompt"] == "" and body["steps"] == 50 and body["guidance"] == 60
    assert g.request.size == (320 + 64 + 32, 256 + 16)


def test_the_bfl_fake_refuses_what_expand_refuses():
    img = base64.b64encode(png()).decode()
    with FakeBFL() as bfl:
        url, headers = bfl.base_url + "/v1/flux-pro-1.0-expand", {"x-key": bfl.api_key}
        for body, field in (
            ({"top": 10}, "image"),
            ({"image": img, "left": 2049}, "left"),
            ({"image": img, "steps": 14}, "steps"),
            ({"image": "https://example.com/a.png"}, "image"),  # base64 only
            ({"image": img, "input_image": img}, "input_image"),
        ):
            r = httpx.post(url, json=body, headers=headers)
            assert r.status_code == 422 and field in r.text, body
        assert httpx.post(url, json={"image": img, "top": 8}, headers=headers).status_code == 200


def test_the_preview_keeps_the_image_and_draws_only_the_new_sides():
    red = png(400, 300, colour=(255, 0, 0))
    with FluxClient(provider=Preview(), cache=False) as c:
        g = c.generate(model="flux_expand_pro", image=red, left=80, bottom=60, seed=2)
    out = Image.open(io.BytesIO(g.images[0].data)).convert("RGB")
    assert out.size == (480, 360)
    assert out.getpixel((80 + 200, 150)) == (255, 0, 0)  # the original, untouched
    assert out.getpixel((40, 150)) != (255, 0, 0)  # new pixels to its left
    assert out.getpixel((280, 300 + 30)) != (255, 0, 0)  # and below it


def test_fal_flux2_dev_names_prompt_expansion_its_own_way_and_keeps_four_references():
    refs = [png(colour=(0, 50 * i, 0)) for i in range(4)]
    with FakeFal() as fal, client(QuickFal, fal) as c:
        c.generate(model="flux_2_dev", prompt="a harbour", prompt_upsampling=True, seed=1)
        c.generate(model="flux_2_dev", prompt="image 1 by night", input_images=refs, seed=1)
        # fal would use the first four and drop the rest unsaid: refused here instead.
        with pytest.raises(ValidationError, match="1 to 4 images"):
            c.generate(model="flux_2_dev", prompt="x", input_images=[*refs, png()])
        submits = [r for r in fal.submits if "storage" not in r.path]
    assert [r.path for r in submits] == ["/fal-ai/flux-2", "/fal-ai/flux-2/edit"]
    first = submits[0].json()
    assert first["enable_prompt_expansion"] is True and "enhance_prompt" not in first
    assert first["acceleration"] == "regular"  # fal's default, sent as chosen
    assert (first["num_inference_steps"], first["guidance_scale"]) == (28, 2.5)
    assert len(submits[1].json()["image_urls"]) == 4


# -- FLUX Erase: an image and a mask, no prompt -----------------------------------------


def mask_png(w=320, h=256, box=(100, 80, 220, 176)) -> bytes:
    m = Image.new("L", (w, h), 0)
    m.paste(255, box)
    buf = io.BytesIO()
    m.save(buf, "PNG")
    return buf.getvalue()


def test_erase_sends_its_image_and_mask_and_never_a_prompt(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    image, mask = png(320, 256), mask_png()
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_erase", image=image, mask=mask, dilate_pixels=25, seed=6)
        assert g.request.prompt is None and g.request.caption == "FLUX Erase"
        for bad, field in (
            ({"prompt": "remove the box"}, "prompt"),
            ({"dilate_pixels": 26}, "dilate_pixels"),
            ({"mask": mask_png(300, 256)}, "mask"),  # not the image's size
        ):
            with pytest.raises(ValidationError) as e:
                c.generate(model="flux_erase", **{"image": image, "mask": mask, **bad})
            assert e.value.field == field, bad
        assert len(bfl.submits) == 1  # nothing else was sent
        # The snippet names its inputs by file and sends the same body again.
        run_snippet(g.code, tmp_path, BFL_API_KEY=bfl.api_key)
        first, again = (r.json() for r in bfl.submits)
    assert bfl.submits[0].path == "/v1/flux-tools/erase-v1"
    assert "prompt" not in first and first == again
    assert base64.b64decode(first["image"]) == image
    assert base64.b64decode(first["mask"]) == mask
    assert (first["dilate_pixels"], first["seed"], first["safety_tolerance"]) == (25, 6, 2)


def test_erase_at_fal_sends_urls_without_prompt_or_seed():
    with FakeFal() as fal, client(QuickFal, fal) as c:
        g = c.generate(model="flux_erase", image=png(), mask=mask_png(), dilate_pixels=100)
        with pytest.raises(ValidationError, match="seed"):
            c.generate(model="flux_erase", image=png(), mask=mask_png(), seed=1)
        submit = next(r for r in fal.submits if "erase" in r.path)
    body = submit.json()
    assert submit.path == "/fal-ai/flux-pro/v1/erase"
    assert set(body) == {"image_url", "mask_url", "dilate_pixels", "output_format"}
    assert body["dilate_pixels"] == 100 and g.request.seed is None


def test_the_fakes_refuse_what_erase_refuses():
    img = base64.b64encode(png()).decode()
    mask = base64.b64encode(mask_png()).decode()
    with FakeBFL() as bfl:
        url, headers = bfl.base_url + "/v1/flux-tools/erase-v1", {"x-key": bfl.api_key}
        for body, field in (
            ({"image": img}, "mask"),
            ({"image": img, "mask": mask, "prompt": "x"}, "prompt"),
            ({"image": img, "mask": mask, "dilate_pixels": 26}, "dilate_pixels"),
            ({"image": img, "mask": mask, "safety_tolerance": 6}, "safety_tolerance"),
            ({"image": img, "mask": base64.b64encode(mask_png(300, 256)).decode()}, "mask"),
        ):
            r = httpx.post(url, json=body, headers=headers)
            assert r.status_code == 422 and field in r.text, body
        ok = {"image": img, "mask": mask, "dilate_pixels": 0, "output_format": "webp"}
        assert httpx.post(url, json=ok, headers=headers).status_code == 200
    with FakeFal() as fal:
        headers = {"Authorization": f"Key {fal.api_key}"}
        route = f"{fal.base_url}/fal-ai/flux-pro/v1/erase"
        for body, field in (
            ({"image_url": "https://a/b.png", "mask_url": "https://a/m.png", "seed": 1}, "seed"),
            (
                {
                    "image_url": "https://a/b.png",
                    "mask_url": "https://a/m.png",
                    "dilate_pixels": 101,
                },
                "dilate_pixels",
            ),
            ({"image_url": "https://a/b.png"}, "mask_url"),
        ):
            r = httpx.post(route, json=body, headers=headers)
            result = httpx.get(r.json()["response_url"], headers=headers)
            assert result.status_code == 422, body
            assert ("body", field) in {tuple(d["loc"]) for d in result.json()["detail"]}, body


def test_the_preview_fills_in_the_masked_part_and_keeps_the_rest():
    red = png(400, 300, colour=(255, 0, 0))
    blue_box = Image.open(io.BytesIO(red)).convert("RGB")
    blue_box.paste((0, 0, 255), (150, 110, 250, 190))
    buf = io.BytesIO()
    blue_box.save(buf, "PNG")
    with FluxClient(provider=Preview(), cache=False) as c:
        g = c.generate(
            model="flux_erase", image=buf.getvalue(), mask=mask_png(400, 300, (150, 110, 250, 190))
        )
    out = Image.open(io.BytesIO(g.images[0].data)).convert("RGB")
    r, _, b = out.getpixel((200, 150))  # where the blue box was: red from around it
    assert r > 200 and b < 60
    assert out.getpixel((60, 150)) == (255, 0, 0)  # outside the mask, untouched
    assert "FLUX Erase" in g._repr_html_()


def test_erase_is_priced_by_the_megapixel_without_its_mask():
    from fluxpanel import estimate_cost

    one = fluxpanel.GenerationRequest(
        "flux_erase",
        models=BlackForestLabs.models,
        image=png(1000, 1000),
        mask=mask_png(1000, 1000),
    )
    # 3 cents for the output's megapixel, 0.4 for the input's; the mask is free.
    assert estimate_cost(one) == pytest.approx(0.034)


# -- FLUX Deblur and Virtual Try-On ---------------------------------------------------


def test_deblur_sends_only_its_image_and_keeps_its_size():
    blurry = noisy_png(640, 480)
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_deblur", image=blurry, seed=2)
        with pytest.raises(ValidationError) as e:
            c.generate(model="flux_deblur", image=blurry, prompt="sharper")
        assert e.value.field == "prompt"
        assert len(bfl.submits) == 1
    body = bfl.submits[0].json()
    assert bfl.submits[0].path == "/v1/flux-tools/deblur-v1"
    assert set(body) == {"image", "seed", "safety_tolerance", "output_format"}
    assert base64.b64decode(body["image"]) == blurry
    assert g.request.size == (640, 480)  # the result is the input's size


def test_the_preview_sharpens_what_deblur_is_given():
    from PIL import ImageFilter

    sharp = Image.new("RGB", (400, 300), (20, 20, 20))
    sharp.paste((240, 240, 240), (100, 75, 300, 225))
    soft = sharp.filter(ImageFilter.GaussianBlur(6))
    with FluxClient(provider=Preview(), cache=False) as c:
        g = c.generate(model="flux_deblur", image=soft, seed=1)
    out = Image.open(io.BytesIO(g.images[0].data)).convert("L")

    def ramp(im):  # pixels the square's left edge takes to go from dark to light
        return sum(1 for x in range(60, 140) if 60 < im.getpixel((x, 150)) < 200)

    assert out.size == (400, 300)
    assert ramp(out) < 0.75 * ramp(soft.convert("L"))


def test_try_on_names_the_person_and_garment_as_each_host_does():
    person, garment = png(512, 768, (90, 60, 40)), png(400, 400, (20, 20, 160))
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        c.generate(model="flux_vto", prompt="tucked in", person=person, garment=garment, seed=3)
        with pytest.raises(ValidationError, match="garment is required"):
            c.generate(model="flux_vto", prompt="tucked in", person=person)
        assert len(bfl.submits) == 1
    body = bfl.submits[0].json()
    assert bfl.submits[0].path == "/v1/flux-tools/vto-v1"
    assert base64.b64decode(body["person"]) == person
    assert base64.b64decode(body["garment"]) == garment
    assert body["prompt"] == "tucked in" and "input_image" not in body
    big = noisy_png(1600, 1600)  # 2.56 megapixels: over fal's 1 for a garment
    with FakeFal() as fal, client(QuickFal, fal) as c:
        g = c.generate(model="flux_vto", prompt="layered", person=person, garment=big, seed=4)
        submit = next(r for r in fal.submits if r.path.endswith("/vto"))
    body = submit.json()
    assert submit.path == "/fal-ai/flux-pro/v1/vto"
    assert set(body) == {"prompt", "human_image_url", "garment_image_url", "seed", "output_format"}
    sent = g.request.garment
    assert sent.width * sent.height <= 1_000_000 and "scaled down" in sent.note


def test_the_fakes_refuse_what_deblur_and_try_on_refuse():
    img = base64.b64encode(png()).decode()
    with FakeBFL() as bfl:
        headers = {"x-key": bfl.api_key}
        for path, body, field in (
            ("deblur-v1", {"image": img, "prompt": "x"}, "prompt"),
            ("deblur-v1", {"image": img, "safety_tolerance": 6}, "safety_tolerance"),
            ("deblur-v1", {"image": base64.b64encode(noisy_png(2100, 2100)).decode()}, "image"),
            ("vto-v1", {"person": img, "garment": img}, "prompt"),
            ("vto-v1", {"prompt": "x", "person": img}, "garment"),
            ("vto-v1", {"prompt": "x", "input_image": img, "garment": img}, "input_image"),
        ):
            r = httpx.post(f"{bfl.base_url}/v1/flux-tools/{path}", json=body, headers=headers)
            assert r.status_code == 422 and field in r.text, body
        ok = {"prompt": "x", "person": img, "garment": img}
        assert (
            httpx.post(f"{bfl.base_url}/v1/flux-tools/vto-v1", json=ok, headers=headers).status_code
            == 200
        )
    with FakeFal() as fal:
        headers = {"Authorization": f"Key {fal.api_key}"}
        route = f"{fal.base_url}/fal-ai/flux-pro/v1/vto"
        for body, field in (
            ({"prompt": "x", "human_image_url": "https://a/p.png"}, "garment_image_url"),
            (
                {
                    "prompt": "x",
                    "person": "https://a/p.png",
                    "garment_image_url": "https://a/g.png",
                },
                "person",
            ),
        ):
            r = httpx.post(route, json=body, headers=headers)
            result = httpx.get(r.json()["response_url"], headers=headers)
            assert result.status_code == 422, body
            assert ("body", field) in {tuple(d["loc"]) for d in result.json()["detail"]}, body


# -- Kontext's tolerance with an input image -------------------------------------------


@pytest.mark.parametrize(("cls", "fake"), [(QuickBFL, FakeBFL), (QuickReplicate, FakeReplicate)])
def test_kontext_allows_a_tolerance_of_at_most_2_with_an_input_image(cls, fake):
    from fluxpanel._request import field_errors, fit

    with fake() as server, client(cls, server) as c:
        c.generate(model="flux_kontext_pro", prompt="a fox", safety_tolerance=6, seed=1)
        c.generate(model="flux_kontext_pro", prompt="night", input_image=png(), safety_tolerance=2)
        with pytest.raises(ValidationError) as e:
            c.generate(
                model="flux_kontext_max", prompt="night", input_image=png(), safety_tolerance=3
            )
        assert e.value.field == "safety_tolerance" and e.value.allowed == "0 to 2 with input_image"
        assert (
            len([r for r in server.requests if r.method == "POST" and "files" not in r.path]) == 2
        )
    spec = cls.models["flux_kontext_pro"]
    image = fluxpanel.GenerationRequest(
        "flux_kontext_pro", models=cls.models, prompt="x", input_image=png()
    ).input_image
    errors = field_errors(
        cls.models, "flux_kontext_pro", {"input_image": image, "safety_tolerance": 5}
    )
    assert "0 to 2 with input_image" in errors["safety_tolerance"]
    # Switching to Kontext with an image carried over brings the tolerance down.
    assert fit(spec, {"input_image": image, "safety_tolerance": 5})["safety_tolerance"] == 2
    assert fit(spec, {"safety_tolerance": 5})["safety_tolerance"] == 5


def test_the_fakes_refuse_a_tolerance_over_2_with_an_input_image():
    img = base64.b64encode(png()).decode()
    with FakeBFL() as bfl:
        url, headers = f"{bfl.base_url}/v1/flux-kontext-pro", {"x-key": bfl.api_key}
        body = {"prompt": "x", "input_image": img, "safety_tolerance": 3}
        r = httpx.post(url, json=body, headers=headers)
        assert r.status_code == 422 and "safety_tolerance" in r.text
        assert httpx.post(url, json={**body, "safety_tolerance": 2}, headers=headers).is_success
        del body["input_image"]
        assert httpx.post(url, json=body, headers=headers).is_success
    with FakeReplicate() as rep:
        url = f"{rep.base_url}/v1/models/black-forest-labs/flux-kontext-pro/predictions"
        headers = {"Authorization": f"Bearer {rep.api_key}"}
        data_uri = "data:image/png;base64," + img
        body = {"input": {"prompt": "x", "input_image": data_uri, "safety_tolerance": 3}}
        r = httpx.post(url, json=body, headers=headers)
        assert r.status_code == 422 and "safety_tolerance" in r.text


# -- FLUX Outpainting: an image placed on a canvas -------------------------------------


def at(x: int, y: int) -> dict:
    """The image's top-left corner on the canvas, given in pixels."""
    return {"placement": "custom", "reference_offset_x": x, "reference_offset_y": y}


def test_outpainting_places_the_image_on_its_canvas_as_black_forest_labs_takes_it():
    image = png(400, 300)
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        centred = c.generate(model="flux_outpaint", input_image=image, width=800, height=450)
        corner = c.generate(
            model="flux_outpaint",
            prompt="a harbour to the right",
            input_image=image,
            width=1200,
            height=300,
            **at(0, 0),
            mode="fast",
        )
        cases = (
            ({"width": 300}, "width", "at least 400, or auto_crop=True"),
            (
                {"placement": "custom", "reference_offset_x": 500},
                "reference_offset_x",
                "0 to 400, or auto_crop=True",
            ),
            ({"placement": "custom", "reference_offset_y": -1}, "reference_offset_y", "0 to 150"),
        )
        for bad, field, allowed in cases:
            with pytest.raises(ValidationError) as e:
                c.generate(
                    model="flux_outpaint", input_image=image, **{"width": 800, "height": 450, **bad}
                )
            assert e.value.field == field and allowed in e.value.allowed, bad
        with pytest.raises(ValidationError) as e:
            c.generate(model="flux_outpaint", input_image=image, width=800, height=450, seed=1)
        assert e.value.field == "seed"
        cropped = c.generate(
            model="flux_outpaint", input_image=image, width=300, height=450, auto_crop=True
        )
        assert len(bfl.submits) == 3  # nothing sent for the refused ones
    first, second, third = (r.json() for r in bfl.submits)
    assert bfl.submits[0].path == "/v1/flux-tools/outpainting-v1"
    assert base64.b64decode(first["input_image"]) == image
    assert set(first) == {
        "input_image",
        "width",
        "height",
        "auto_crop",
        "mode",
        "safety_tolerance",
        "output_format",
    }  # centred: no offsets; no empty prompt; placement is fluxpanel's own
    assert (second["reference_offset_x"], second["reference_offset_y"]) == (0, 0)
    assert second["prompt"] == "a harbour to the right" and second["mode"] == "fast"
    assert third["auto_crop"] is True
    assert centred.request.size == (800, 450) and cropped.request.size == (300, 450)
    assert corner.request.size == (1200, 300)


def test_the_fake_refuses_a_placement_past_the_canvas_unless_cropped():
    img = base64.b64encode(png(400, 300)).decode()
    with FakeBFL() as bfl:
        url, headers = f"{bfl.base_url}/v1/flux-tools/outpainting-v1", {"x-key": bfl.api_key}
        base = {"input_image": img, "width": 800, "height": 450}
        for body, field in (
            ({**base, "width": 300}, "reference_offset_x"),  # centred, wider than the canvas
            ({**base, "reference_offset_y": 200}, "reference_offset_y"),
            ({**base, "width": 63}, "width"),
            ({**base, "width": 2100, "height": 2100}, "width"),  # over 4 megapixels
            ({**base, "seed": 1}, "seed"),
            ({**base, "webhook_url": "https://example.com/hook"}, "webhook_url"),
            ({**base, "mode": "slow"}, "mode"),
        ):
            r = httpx.post(url, json=body, headers=headers)
            assert r.status_code == 422 and field in r.text, body
        for body in (
            base,
            {**base, "width": 300, "auto_crop": True},
            {**base, "width": 4000, "height": 1000},
        ):
            assert httpx.post(url, json=body, headers=headers).status_code == 200, body


def test_the_preview_keeps_the_image_where_it_is_placed_and_draws_the_rest():
    red = png(400, 300, colour=(255, 0, 0))
    with FluxClient(provider=Preview(), cache=False) as c:
        g = c.generate(
            model="flux_outpaint",
            input_image=red,
            width=800,
            height=700,
            **at(400, 200),
        )
    out = Image.open(io.BytesIO(g.images[0].data)).convert("RGB")
    assert out.size == (800, 700)
    assert out.getpixel((600, 350)) == (255, 0, 0)  # the image, where it was placed
    assert out.getpixel((200, 350)) != (255, 0, 0)  # new pixels to its left


def test_a_corner_that_does_not_apply_is_not_checked():
    from fluxpanel._request import field_errors

    image = fluxpanel.GenerationRequest(
        "flux_outpaint", models=BlackForestLabs.models, input_image=png(1024, 1024)
    ).input_image
    given = {"input_image": image, "width": 2048, "height": 1024, "reference_offset_x": 1500}
    assert (
        field_errors(BlackForestLabs.models, "flux_outpaint", {**given, "placement": "center"})
        == {}
    )
    errors = field_errors(BlackForestLabs.models, "flux_outpaint", {**given, "placement": "custom"})
    assert "0 to 1024" in errors["reference_offset_x"]
