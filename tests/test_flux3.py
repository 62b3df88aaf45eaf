"""FLUX 3 Image: its table at each host, boxes written into the prompt as
Black Forest Labs documents, no seed, the expanded prompt that comes back,
prices by resolution tier, and boxes carried as data everywhere a request goes."""

from __future__ import annotations

import base64
import io
import json

import httpx
import pytest
from PIL import Image

import fluxpanel
from fluxpanel import Box, FluxClient, ValidationError, compose_prompt, parse_prompt
from fluxpanel.providers import BlackForestLabs, Fal, Replicate
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate

from .conftest import FAST_RETRY, quick, run_snippet

QuickBFL, QuickReplicate, QuickFal = quick(BlackForestLabs), quick(Replicate), quick(Fal)


def client(cls, server, **kw):
    provider = cls(api_key=server.api_key, base_url=server.base_url)
    return FluxClient(provider=provider, retry=FAST_RETRY, **{"cache": False, **kw})


def png(w=320, h=256, colour=(200, 40, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


RUNNER = Box("silhouette_1", 150, 150, 850, 850, "a running figure in mid-stride")
BACKGROUND = Box("background_1", 0, 0, 1000, 1000, "a flat chartreuse background")


# -- boxes: the documented form ---------------------------------------------------------


def test_boxes_are_written_into_the_prompt_as_the_guide_shows():
    caption = "A running figure <silhouette_1> centred on a flat background <background_1>."
    prompt = compose_prompt(caption, [BACKGROUND, RUNNER])
    text, _, rows = prompt.partition(" [")
    assert text == caption  # ids the caption cites are not cited twice
    assert json.loads("[" + rows) == [
        {"id": "background_1", "bbox": [0, 0, 1000, 1000], "desc": "a flat chartreuse background"},
        {
            "id": "silhouette_1",
            "bbox": [150, 150, 850, 850],
            "desc": "a running figure in mid-stride",
        },
    ]
    # An element the caption does not name is cited at its end.
    assert compose_prompt("A poster.", [RUNNER]).startswith("A poster. <silhouette_1> [")
    assert compose_prompt("No boxes", []) == "No boxes"
    assert parse_prompt(prompt) == (caption, (BACKGROUND, RUNNER))
    assert parse_prompt("brackets [like this] inside") == ("brackets [like this] inside", ())
    # A hostile expanded prompt (deep nesting, many false starts) is only text.
    for hostile in ("x " + "[{" * 200_000 + "]", "[{" * 5000 + '"a": 1}]' * 3, "[" * 300_000):
        assert parse_prompt(hostile)[1] == ()


@pytest.mark.parametrize(
    ("box", "words"),
    [
        (dict(id="Logo", bbox=[0, 0, 10, 10]), "name 'Logo' is not an id like logo_1"),
        (dict(id="logo_1", bbox=[0, 0, 10, 1001]), "logo_1.right=1001 is not an integer from 0"),
        (dict(id="logo_1", bbox=[500, 0, 400, 10]), "top 500, bottom 400"),
        (dict(id="logo_1", bbox=[0, 0, 10]), "is not [top, left, bottom, right]"),
        (dict(id="logo_1", bbox=[0.5, 0, 10, 10]), "logo_1.top=0.5"),
    ],
)
def test_a_bad_box_is_refused_naming_the_field_value_and_rule(box, words):
    with pytest.raises(ValidationError) as e:
        fluxpanel.GenerationRequest(
            model="flux_3_image", prompt="x", boxes=[box], models=BlackForestLabs.models
        )
    assert e.value.field == "boxes" and words in str(e.value)
    assert "allowed: a list of Box(name, top, left, bottom, right, desc)" in str(e.value)


def test_a_name_used_twice_is_refused():
    with pytest.raises(ValidationError, match="the name logo_1 is used twice"):
        fluxpanel.GenerationRequest(
            model="flux_3_image",
            prompt="x",
            boxes=[Box("logo_1", 0, 0, 10, 10), Box("logo_1", 20, 20, 30, 30)],
            models=BlackForestLabs.models,
        )


# -- Black Forest Labs ---------------------------------------------------------------------


def test_bfl_gets_exactly_the_documented_fields_and_answers_with_the_expanded_prompt():
    seen = []
    with FakeBFL(pending_polls=3) as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(
            model="flux_3_image",
            prompt="A poster of a runner.",
            boxes=[RUNNER],
            input_images=[png(), png(400, 300, (0, 90, 200))],
            resolution="2k",
            on_progress=seen.append,
        )
        body = bfl.submits[0].json()
        polled = [r.headers.get("x-key") for r in bfl.polls]
    assert set(body) == {
        "prompt",
        "images",
        "aspect_ratio",
        "resolution",
        "grounding",
        "safety_tolerance",
    }
    assert body["prompt"] == compose_prompt("A poster of a runner.", [RUNNER])
    assert [base64.b64decode(i)[:4] for i in body["images"]] == [b"\x89PNG"] * 2
    assert body["resolution"] == "2k" and "seed" not in body and "output_format" not in body
    assert polled and all(polled)  # the key goes to the API, not to the image's host
    # The host's phases are shown as they come: Reasoning, then Generating.
    details = [p.detail for p in seen if p.phase == "running"]
    assert "Reasoning" in details and "Generating" in details
    assert details.index("Reasoning") < details.index("Generating")
    # The expanded prompt: the request's boxes and the one the model added.
    assert "<light_1>" in g.expanded_prompt
    assert [b.name for b in g.boxes] == ["silhouette_1", "light_1"]
    assert g.images[0].seed is None and g.seed is None
    assert "no seed" in g._repr_html_()


def test_the_bfl_fake_refuses_any_other_field_as_bfl_does():
    with FakeBFL() as bfl:
        url, headers = bfl.base_url + "/v1/flux-3-image", {"x-key": bfl.api_key}
        for extra in ({"seed": 1}, {"width": 1024}, {"input_image": "x"}, {"output_format": "png"}):
            r = httpx.post(url, json={"prompt": "x", **extra}, headers=headers)
            assert r.status_code == 422 and next(iter(extra)) in r.text, extra
        small = base64.b64encode(png(200, 200)).decode()
        r = httpx.post(url, json={"prompt": "x", "images": small}, headers=headers)
        assert r.status_code == 422 and "256x256" in r.text  # one string is a list of one
        r = httpx.post(
            url, json={"prompt": "x", "images": ["https://a/b.png"] * 11}, headers=headers
        )
        assert r.status_code == 422 and "at most 10" in r.text
        r = httpx.post(url, json={"prompt": "x", "resolution": "8k"}, headers=headers)
        assert r.status_code == 422 and "resolution" in r.text


@pytest.mark.parametrize(
    ("images", "words"),
    [
        ([png()] * 11, "a list of 1 to 10 images"),
        ([png(200, 300)], "at least 256 px a side"),
    ],
)
def test_reference_limits_are_checked_before_anything_is_sent(images, words):
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        with pytest.raises(ValidationError) as e:
            c.generate(model="flux_3_image", prompt="x", input_images=images)
        assert bfl.requests == []
    assert e.value.field.startswith("input_images") and words in str(e.value)


def test_a_reference_over_fals_four_megapixels_is_scaled_to_fit_before_upload():
    with FakeFal() as fal, client(QuickFal, fal) as c:
        g = c.generate(model="flux_3_image", prompt="x", input_images=[png(2600, 1600)])
        (uploaded,) = fal.uploads.values()
    sent = g.request.input_images[0]
    assert "scaled down to 4 megapixels" in sent.note
    w, h = Image.open(io.BytesIO(uploaded)).size
    assert w * h <= 4_000_000 and abs(w / h - 2600 / 1600) < 0.01


# -- Replicate and fal ---------------------------------------------------------------------


def test_replicate_takes_the_boxes_in_the_prompt_and_a_list_of_images():
    with FakeReplicate() as rep, client(QuickReplicate, rep) as c:
        g = c.generate(
            model="flux_3_image", prompt="A poster.", boxes=[RUNNER], input_images=[png()]
        )
        sent = rep.creates[0]
    assert sent.path.endswith("/black-forest-labs/flux-3-image/predictions")
    body = sent.json()["input"]
    assert body["prompt"] == compose_prompt("A poster.", [RUNNER])
    assert len(body["images"]) == 1 and body["images"][0].startswith("data:image/png;base64,")
    assert "seed" not in body and g.expanded_prompt == ""  # Replicate answers with a URL only
    assert g.boxes == (RUNNER,)  # so the boxes shown are the request's


def test_a_prompt_with_its_own_list_is_sent_as_written():
    own = 'A runner <runner_1>. [{"id": "runner_1", "bbox": [100, 100, 900, 900], "desc": "x"}]'
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_3_image", prompt=own)
        assert bfl.submits[0].json()["prompt"] == own
    assert g.request.boxes == () and g.boxes[0].name == "runner_1"  # read back, not rewritten


def test_fal_uses_the_edit_route_with_references_and_sends_only_its_fields():
    with FakeFal() as fal, client(QuickFal, fal) as c:
        c.generate(model="flux_3_image", prompt="A poster.", boxes=[RUNNER], aspect_ratio="7:5")
        c.generate(model="flux_3_image", prompt="Make it night.", input_images=[png()])
        first, second = (r for r in fal.requests if r.method == "POST" and "flux-3" in r.path)
    assert first.path == "/blackforestlabs/flux-3/text-to-image"
    assert first.json() == {
        "prompt": compose_prompt("A poster.", [RUNNER]),
        "aspect_ratio": "7:5",
    }
    assert second.path == "/blackforestlabs/flux-3/edit-image"
    assert set(second.json()) == {"prompt", "image_urls"}


# -- no seed: honest about re-runs; the cache still never pays twice -----------------------


def test_no_seed_the_snippet_says_so_and_the_cache_answers_a_rerun(tmp_path):
    with FakeBFL() as bfl, client(QuickBFL, bfl, cache=tmp_path / "cache") as c:
        first = c.generate(model="flux_3_image", prompt="A fox.", boxes=[RUNNER])
        again = c.generate(model="flux_3_image", prompt="A fox.", boxes=[RUNNER])
        assert again.cached and again.images[0].data == first.images[0].data
        assert len(bfl.submits) == 1  # a report re-run does not pay twice
        new = c.generate(model="flux_3_image", prompt="A fox.", boxes=[RUNNER], fresh=True)
        assert len(bfl.submits) == 2 and not new.cached
        assert new.images[0].data != first.images[0].data  # a new draw
    code = first.to_code()
    assert "seed" not in code.split("client.generate(")[1]
    assert "# Note: FLUX 3 takes no seed" in code
    assert "fluxpanel.Box('silhouette_1', 150, 150, 850, 850, " in code
    assert (
        "takes no seed"
        in fluxpanel.GenerationRequest(
            model="flux_3_image", prompt="x", models=BlackForestLabs.models
        ).caveats[0]
    )


def test_the_snippet_runs_and_sends_the_same_body(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_3_image", prompt="A fox.", boxes=[RUNNER, BACKGROUND])
        run_snippet(g.code, tmp_path, BFL_API_KEY=bfl.api_key, FLUXPANEL_CACHE_DIR=str(tmp_path))
        first, again = (r.json() for r in bfl.submits)
    assert first == again


# -- boxes as data: identity, image metadata, exports, history, compare -------------------


def test_boxes_travel_as_data_in_metadata_and_exports(tmp_path):
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_3_image", prompt="A fox.", boxes=[RUNNER])
    assert g.request.to_payload()["boxes"] == [RUNNER.to_json()]
    assert g.request.to_payload()["prompt"] == "A fox."  # the description, not the rows
    saved = g.images[0].save(tmp_path / "fox")
    back = fluxpanel.GenerationRequest.from_image(saved)
    assert back == g.request and back.boxes == (RUNNER,)
    folder = g.save(tmp_path / "export").parent
    loaded = fluxpanel.load(folder)
    assert loaded.request.boxes == (RUNNER,)
    assert loaded.expanded_prompt == g.expanded_prompt and "light_1" in loaded.expanded_prompt
    moved = g.request.replace(boxes=[Box("silhouette_1", 100, 100, 900, 600, RUNNER.desc)])
    assert moved != g.request and hash(moved) != hash(g.request)


def test_compare_runs_resolution_tiers_without_a_seed():
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        grid = fluxpanel.compare(
            "A fox.",
            client=c,
            display=False,
            model="flux_3_image",
            resolution=["768sq", "4k"],
            boxes=[RUNNER],
        )
    assert [cell.generation.request.resolution for cell in grid.cells] == ["768sq", "4k"]
    assert all(cell.generation.request.boxes == (RUNNER,) for cell in grid.cells)
    assert grid.estimated_cost == pytest.approx(0.041 + 0.607)
    assert "no seed" in grid._repr_html_()


def test_the_estimate_follows_the_resolution_tier():
    def cost(tier):
        return fluxpanel.estimate_cost(
            fluxpanel.GenerationRequest(
                model="flux_3_image", prompt="x", resolution=tier, models=BlackForestLabs.models
            )
        )

    assert [cost(t) for t in ("768sq", "1k", "2k", "4k")] == [0.041, 0.048, 0.10, 0.607]
    fal = fluxpanel.GenerationRequest(model="flux_3_image", prompt="x", models=Fal.models)
    assert fluxpanel.estimate_cost(fal) == 0.048  # fal offers no tiers: its 1k price


# -- offline ---------------------------------------------------------------------------------


def test_the_preview_draws_each_box_where_the_host_would_put_it():
    c = FluxClient(provider="preview")
    box = Box("title_1", 100, 200, 400, 800, "the words HELLO MOON")
    g = c.generate(model="flux_3_image", prompt="A poster", aspect_ratio="1:1", boxes=[box])
    plain = c.generate(model="flux_3_image", prompt="A poster", aspect_ratio="1:1")
    img = g.images[0].to_pil().convert("RGB")
    w, h = img.size
    # The outline (the first box's colour, yellow) runs along the box's edges.
    x, y = int(0.5 * w), int(0.4 * h) - 2
    r, g_, b = img.getpixel((x, y))
    assert r > 200 and g_ > 180 and b < 80, (r, g_, b)
    assert plain.images[0].to_pil().convert("RGB").getpixel((x, y)) != (r, g_, b)


# -- the panel -----------------------------------------------------------------------------


def bfl_panel(bfl, cache, **kw):
    provider = QuickBFL(api_key=bfl.api_key, base_url=bfl.base_url)
    c = fluxpanel.AsyncFluxClient(provider=provider, cache=cache, retry=FAST_RETRY)
    return fluxpanel.FluxPanel(client=c, model="flux_3_image", **kw)


@pytest.mark.anyio
async def test_the_panel_draws_anew_shows_the_expanded_prompt_and_edits_one_box(tmp_path):
    with FakeBFL(pending_polls=3) as bfl:
        panel = bfl_panel(bfl, tmp_path / "cache", prompt="A runner.")
        phases = []
        panel.observe(lambda change: phases.append(change.new.get("text", "")), "progress")
        (spec,) = [m for m in panel.spec["models"] if m["id"] == "flux_3_image"]
        assert "seed" not in [p["name"] for p in spec["params"]]
        panel.boxes = [RUNNER]
        assert panel.get_state("boxes")["boxes"] == [RUNNER.to_json()]
        assert panel.estimate_text == "≈ $0.048 at Black Forest Labs"
        panel.resolution = "4k"
        assert panel.estimate_text == "≈ $0.607 at Black Forest Labs"
        first = await panel.agenerate()
        second = await panel.agenerate()  # no seed: Generate is a new draw, not the cache
        assert not second.cached and len(bfl.submits) == 2
        said = " / ".join(phases)
        assert "Reasoning" in said and "Generating" in said, said  # the host's phases
        assert second.images[0].data != first.images[0].data
        assert panel._tiles[0]["seed"] is None and "takes no seed" in panel._tiles[0]["seed_note"]
        assert [b["id"] for b in panel.result_boxes] == ["silhouette_1", "light_1"]
        assert "<light_1>" in panel.result_prompt
        # "Use this prompt": its words in the prompt, its rows in the box editor.
        panel.use_expanded_prompt()
        assert [b.name for b in panel.boxes] == ["silhouette_1", "light_1"]
        assert "[{" not in panel.prompt and "<light_1>" in panel.prompt
        # "Edit this box": the result is image 1, the box is the region.
        panel.edit_box("light_1")
        assert panel.input_images[0].data == second.images[0].data
        assert [b.name for b in panel.boxes] == ["light_1"]
        assert panel.prompt.startswith("In image 1, change only <light_1>")
        assert panel.prompt.endswith("The change: ") and "describe" not in panel.prompt
        assert panel.model == "flux_3_image"


def test_moving_a_reference_renumbers_the_prompt():
    panel = fluxpanel.FluxPanel(provider="preview", model="flux_3_image")
    red, blue, green = png(colour=(255, 0, 0)), png(colour=(0, 0, 255)), png(colour=(0, 255, 0))
    panel.input_images = [red, blue, green]
    panel.prompt = "The hat from image 2 on the dog of image 1, painted like image 3."
    panel.move_reference("input_images", 0, 2)  # red goes last
    assert [i.data for i in panel.input_images] == [blue, green, red]
    assert panel.prompt == "The hat from image 1 on the dog of image 3, painted like image 2."
    panel.move_reference("input_images", 5, 0)  # out of range: nothing moves
    assert [i.data for i in panel.input_images] == [blue, green, red]
