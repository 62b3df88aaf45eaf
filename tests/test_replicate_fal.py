"""The Replicate and fal adapters against loopback fakes of their APIs."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

import fluxpanel
import fluxpanel.testing
from fluxpanel import FluxClient
from fluxpanel.providers import Fal, Replicate
from fluxpanel.providers.fal import MODELS as FAL_MODELS
from fluxpanel.providers.replicate import MODELS as REPLICATE_MODELS
from fluxpanel.testing import FakeFal, FakeReplicate

from .conftest import FAST_RETRY


class QuickReplicate(Replicate):
    poll_first, poll_max = 0.02, 0.1


class QuickFal(Fal):
    poll_first, poll_max = 0.02, 0.1


@pytest.fixture
def rep():
    with FakeReplicate() as s:
        yield s


@pytest.fixture
def fal():
    with FakeFal() as s:
        yield s


def rclient(s, **kw):
    return FluxClient(
        provider=QuickReplicate(api_key=s.api_key, base_url=s.base_url),
        cache=False,
        retry=FAST_RETRY,
        **kw,
    )


def fclient(s, **kw):
    return FluxClient(
        provider=QuickFal(api_key=s.api_key, base_url=s.base_url),
        cache=False,
        retry=FAST_RETRY,
        **kw,
    )


# -- Replicate -------------------------------------------------------------------------


def test_replicate_held_call_maps_names(rep):
    with rclient(rep) as c:
        g = c.generate(
            model="flux_dev",
            prompt="a fox",
            num_images=2,
            steps=30,
            guidance=4.0,
            aspect_ratio="16:9",
            seed=3,
        )
    create = rep.creates[0]
    assert create.path == "/v1/models/black-forest-labs/flux-dev/predictions"
    assert (
        create.headers["Prefer"].startswith("wait=")
        and create.headers["Authorization"] == f"Bearer {rep.api_key}"
    )
    assert create.json()["input"] == {
        "prompt": "a fox",
        "num_outputs": 2,
        "aspect_ratio": "16:9",
        "seed": 3,
        "num_inference_steps": 30,
        "guidance": 4.0,
        "go_fast": True,
        "megapixels": "1",
        "disable_safety_checker": False,
        "output_format": "png",
    }
    assert len(g) == 2 and rep.polls == []  # answered in the held call
    assert all("authorization" not in {k.lower() for k in r.headers} for r in rep.image_requests)


def test_replicate_pro_single_output_and_its_own_names(rep):
    with rclient(rep) as c:
        g = c.generate(model="flux_pro", prompt="x", steps=30, interval=3.0, safety_tolerance=5)
    body = rep.creates[0].json()["input"]
    assert body["steps"] == 30 and "num_inference_steps" not in body and "num_outputs" not in body
    assert len(g) == 1


def test_replicate_falls_back_to_polling(rep):
    rep.processing_polls = 3
    with rclient(rep) as c:
        assert len(c.generate(model="flux_schnell", prompt="x")) == 1
    assert len(rep.polls) == 3  # the held create was the first of the four steps


def test_replicate_table_follows_its_schema():
    s, d, p = (REPLICATE_MODELS[m].params for m in ("flux_schnell", "flux_dev", "flux_pro"))
    assert "1:1" in s["aspect_ratio"].choices and s["steps"].max == 4
    assert (d["guidance"].min, d["guidance"].max, d["guidance"].default) == (0, 10, 3.0)
    assert "num_images" not in p and p["interval"].max == 4


def test_replicate_serves_ultra_as_its_schema_has_it(rep, tmp_path):
    """FLUX1.1 [pro] Ultra, added as one row of Replicate's table: its own
    ratios (1:1 by default), raw mode, an image prompt and its strength, no
    size or batch; one output URL. The fake refuses what the schema does."""
    ultra = REPLICATE_MODELS["flux_pro_1_1_ultra"].params
    assert ultra["aspect_ratio"].default == "1:1" and len(ultra["aspect_ratio"].choices) == 11
    assert (ultra["safety_tolerance"].min, ultra["safety_tolerance"].max) == (1, 6)
    assert not {"num_images", "width", "height"} & set(ultra)
    prompt = fluxpanel.testing.solid_png(512, 512, (200, 100, 50))
    with rclient(rep) as c:
        g = c.generate(
            model="flux_pro_1_1_ultra",
            prompt="a lighthouse",
            aspect_ratio="21:9",
            raw=True,
            image_prompt=prompt,
            image_prompt_strength=0.4,
            seed=5,
        )
    create = rep.creates[0]
    assert create.path == "/v1/models/black-forest-labs/flux-1.1-pro-ultra/predictions"
    body = create.json()["input"]
    assert body["aspect_ratio"] == "21:9" and body["raw"] is True and body["output_format"] == "png"
    assert body["image_prompt"].startswith("data:image/png;base64,")
    assert len(g) == 1
    with pytest.raises(fluxpanel.ValidationError, match="num_images"):
        fluxpanel.GenerationRequest(
            "flux_pro_1_1_ultra", "x", models=REPLICATE_MODELS, num_images=2
        )


@pytest.mark.parametrize(
    ("model", "slug"),
    [("flux_2_klein_4b", "flux-2-klein-4b"), ("flux_2_klein_9b", "flux-2-klein-9b")],
)
def test_replicate_serves_both_kleins_with_references_and_a_list_of_urls(rep, model, slug):
    """[klein] 4B as its version page has it, 9B by the same fields (no page
    of its own was found: said in its caveat, which leaves it reproducible)."""
    refs = [fluxpanel.testing.solid_png(256, 256, (40 * i, 90, 160)) for i in range(5)]
    with rclient(rep) as c:
        g = c.generate(
            model=model,
            prompt="image 1 at dusk",
            input_images=refs,
            output_megapixels="0.25",
            go_fast=False,
            seed=4,
        )
    create = rep.creates[0]
    assert create.path == f"/v1/models/black-forest-labs/{slug}/predictions"
    body = create.json()["input"]
    assert (
        len(body["images"]) == 5
        and body["output_megapixels"] == "0.25"
        and body["go_fast"] is False
    )
    assert len(g) == 1  # the host's list of one URL
    spec = REPLICATE_MODELS[model]
    assert g.request.reproducible and not g.request.replace(go_fast=True).reproducible
    assert ("No page of FLUX.2 [klein] 9B" in " ".join(c.text for c in spec.caveats)) == (
        model == "flux_2_klein_9b"
    )
    with pytest.raises(fluxpanel.ValidationError, match="input_images"):
        fluxpanel.GenerationRequest(
            model, "x", models=REPLICATE_MODELS, input_images=[*refs, refs[0]]
        )


@pytest.mark.parametrize(
    ("fault", "cls", "match"),
    [
        ("failed", fluxpanel.APIError, "CUDA out of memory"),
        ("nsfw", fluxpanel.ModerationError, "All generated images contained NSFW content"),
        ("e005", fluxpanel.ModerationError, r"flagged as sensitive.*\(E005\)"),
    ],
)
def test_replicate_failed_predictions(rep, fault, cls, match):
    rep.fail(fault)
    with rclient(rep) as c, pytest.raises(cls, match=match) as e:
        c.generate(model="flux_dev", prompt="x")
    assert next(iter(rep.predictions)) in str(e.value)


def test_replicate_402_and_429(rep):
    with rclient(rep) as c:
        rep.fail("status", status=402, body={"detail": "You have insufficient credit"})
        with pytest.raises(fluxpanel.InsufficientCreditsError, match="insufficient credit"):
            c.generate(prompt="x")
        rep.fail("status", status=429, retry_after=0.1, body={"detail": "Request was throttled."})
        assert len(c.generate(prompt="x")) == 1
        rep.fail("status", times=2, status=429)
        assert len(c.generate(prompt="x")) == 1
    assert len(rep.creates) == 1 + 2 + 3


def cancel_mid_poll(provider):
    """Start a generation, cancel it while it polls, and check it was cancelled."""

    async def run():
        async with fluxpanel.AsyncFluxClient(provider=provider, cache=False) as c:
            task = asyncio.ensure_future(c.generate(prompt="x"))
            await asyncio.sleep(0.3)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(run())


def test_replicate_cancel_cancels_the_prediction(rep):
    rep.fail("never_done")
    cancel_mid_poll(QuickReplicate(api_key=rep.api_key, base_url=rep.base_url))
    assert len(rep.cancels) == 1
    assert next(iter(rep.predictions.values())).status == "canceled"


def test_replicate_deadline_names_the_prediction_and_cancels_it(rep):
    rep.fail("never_done")
    with rclient(rep, deadline=0.4) as c, pytest.raises(fluxpanel.RequestTimeout) as e:
        c.generate(prompt="x")
    pid = next(iter(rep.predictions))
    assert f"task {pid}" in str(e.value)
    assert len(rep.cancels) == 1  # not left running (and billing)


def test_replicate_outputs_expire(rep):
    rep.ttl = 0
    with rclient(rep) as c, pytest.raises(fluxpanel.ResultExpiredError):
        c.generate(prompt="x")


# -- fal ----------------------------------------------------------------------------------


def test_fal_queue_flow_and_names(fal):
    with fclient(fal) as c:
        g = c.generate(
            model="flux_pro",
            prompt="a fox",
            num_images=2,
            steps=20,
            guidance=5.0,
            aspect_ratio="square_hd",
            safety_tolerance=4,
            seed=8,
        )
    sub = fal.submits[0]
    assert sub.path == "/fal-ai/flux-pro/new"
    assert sub.headers["Authorization"] == f"Key {fal.api_key}"
    assert sub.json() == {
        "prompt": "a fox",
        "num_images": 2,
        "image_size": "square_hd",
        "seed": 8,
        "num_inference_steps": 20,
        "guidance_scale": 5.0,
        "safety_tolerance": "4",
        "enhance_prompt": False,
        "output_format": "png",
    }
    # The end is learned from the status stream: one request held open, no polls.
    assert len(fal.streams) == 1 and fal.polls == [] and len(g) == 2 and {i.seed for i in g} == {8}
    assert all("authorization" not in {k.lower() for k in r.headers} for r in fal.image_requests)


def test_fal_stream_that_ends_early_falls_back_to_polling(fal):
    # A stream (a proxy, say) that closes after one event, with no COMPLETED.
    fal.answer(
        "GET",
        r"/status/stream$",
        b': keep-alive\n\ndata: {"status": "IN_QUEUE", "queue_position": 3, "request_id": "x"}\n\n',
    )
    events = []
    with fclient(fal) as c:
        g = c.generate(model="flux_dev", prompt="a fox", seed=1, on_progress=events.append)
    assert len(g) == 1 and len(fal.streams) == 1 and len(fal.polls) >= 1
    assert any(e.phase == "queued" and e.position == 3 for e in events)


@pytest.mark.parametrize("status", [404, 500])
def test_fal_stream_that_fails_never_fails_the_generation(fal, status):
    # A gateway without the stream, or a stream that errors: polling takes over.
    fal.answer("GET", r"/status/stream$", {"detail": "nope"}, status=status, times=10)
    with fclient(fal) as c:
        g = c.generate(model="flux_dev", prompt="a fox", seed=1)
    assert len(g) == 1 and len(fal.polls) >= 1


def test_fal_schnell_and_dev_enable_the_safety_checker(fal):
    with fclient(fal) as c:
        c.generate(model="flux_schnell", prompt="x", steps=12)
        with pytest.raises(fluxpanel.ValidationError, match="steps=13"):
            c.generate(model="flux_schnell", prompt="x", steps=13)
    assert fal.submits[0].json()["enable_safety_checker"] is True
    assert FAL_MODELS["flux_dev"].params["guidance"].max == 20


def test_fal_nsfw_flags_withhold_images_with_a_note(fal):
    fal.fail("nsfw", index=1)
    with fclient(fal) as c:
        g = c.generate(model="flux_dev", prompt="x", num_images=3)
    assert len(g) == 2 and g.errors == [] and (g.requested, g.withheld) == (3, 1)
    assert g.withheld_note == "1 of 3 images was withheld by fal's safety checker"
    fal.fail("nsfw")
    with fclient(fal) as c, pytest.raises(fluxpanel.ModerationError, match="safety checker"):
        c.generate(model="flux_dev", prompt="x")


def test_fal_failed_result_and_402_and_429(fal):
    with fclient(fal) as c:
        fal.fail("failed")
        with pytest.raises(fluxpanel.ServerError, match="Internal error"):
            c.generate(prompt="x")
        fal.fail("status", status=402, body={"detail": "User is locked. Exhausted balance."})
        with pytest.raises(fluxpanel.InsufficientCreditsError):
            c.generate(prompt="x")
        fal.fail("status", status=429, retry_after=0.1)
        assert len(c.generate(prompt="x")) == 1
        fal.fail("status", times=2, status=429)
        assert len(c.generate(prompt="x")) == 1


def test_fal_cancel_and_deadline(fal):
    fal.fail("never_done")
    with fclient(fal, deadline=0.4) as c, pytest.raises(fluxpanel.RequestTimeout) as e:
        c.generate(prompt="x")
    rid = next(iter(fal.queue))
    assert f"task {rid}" in str(e.value) and len(fal.cancels) == 1
    assert fal.queue[rid].canceled


def test_providers_from_the_environment(monkeypatch):
    monkeypatch.setenv("FAL_KEY", "fal-env")
    assert isinstance(FluxClient().provider, Fal)
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r-env")
    assert isinstance(FluxClient().provider, Replicate)  # documented order
    code = fluxpanel.GenerationRequest(prompt="x", seed=1, models=REPLICATE_MODELS).to_code(
        FluxClient().provider
    )
    assert "provider='replicate'" in code and "r-env" not in code


def test_fal_cancel_by_the_user(fal):
    fal.fail("never_done")
    cancel_mid_poll(QuickFal(api_key=fal.api_key, base_url=fal.base_url))
    assert len(fal.cancels) == 1 and next(iter(fal.queue.values())).canceled


def test_panel_says_what_had_no_equivalent_when_switching():
    panel = fluxpanel.FluxPanel(
        provider="preview",
        providers=[Replicate(api_key="r")],
        model="flux_dev",
        prompt="x",
        aspect_ratio="1344x768",
        guidance=9.5,
    )
    panel.provider_name = "replicate"
    assert panel.aspect_ratio == "1:1" and panel.guidance == 9.5
    assert "no equivalent there for aspect ratio 1344x768 → 1:1" in panel.status_text


def test_fal_result_urls_expire(fal):
    fal.ttl = 0
    with fclient(fal) as c, pytest.raises(fluxpanel.ResultExpiredError):
        c.generate(prompt="x")


def test_fakes_answer_invalid_json_with_422(fal):
    import httpx

    from fluxpanel.testing import FakeBFL

    with FakeBFL() as bfl:
        r = httpx.post(
            bfl.base_url + "/v1/flux-dev", content=b"{not json", headers={"x-key": bfl.api_key}
        )
        assert r.status_code == 422 and r.json()["detail"][0]["msg"] == "invalid JSON"
    r = httpx.post(
        fal.base_url + "/fal-ai/flux/dev",
        content=b"{",
        headers={"Authorization": f"Key {fal.api_key}"},
    )
    assert r.status_code == 422


def test_replicate_flux_2_resolution_sizes_an_image_given_by_its_ratio(rep):
    """FLUX.2 [pro], [max] and [flex] at Replicate take ``resolution`` (1 MP
    by default): it is sent, it sizes the image (so its estimate), no side
    past 2048; ``match_input_image`` follows the input's own megapixels,
    kept between 0.5 and 4; [dev] does not take it, and the fake refuses a
    value Replicate does not list."""

    def request(**params):
        return fluxpanel.GenerationRequest(
            model="flux_2_pro", models=REPLICATE_MODELS, prompt="a lighthouse", **params
        )

    assert request().params["resolution"] == "1 MP" and request().size == (1024, 1024)
    two = request(resolution="2 MP", aspect_ratio="16:9")
    assert two.size == (1936, 1088)
    assert request(resolution="4 MP", aspect_ratio="16:9").size[0] == 2048  # the longest side
    assert fluxpanel.estimate_cost(two) > fluxpanel.estimate_cost(request())
    photo = np.zeros((3000, 4500, 3), "uint8")  # 13.5 MP, 3:2
    kept = request(
        resolution="match_input_image", aspect_ratio="match_input_image", input_images=[photo]
    )
    assert kept.size == (2048, 1360)  # 4 MP at most, then 2048 a side
    custom = request(aspect_ratio="custom", width=768, height=512)
    assert custom.size == (768, 512)  # resolution is not used with a custom size
    with rclient(rep) as c:
        c.generate(two)
    assert rep.creates[0].json()["input"]["resolution"] == "2 MP"
    with pytest.raises(fluxpanel.ValidationError):
        fluxpanel.GenerationRequest(
            model="flux_2_dev", models=REPLICATE_MODELS, prompt="x", resolution="2 MP"
        )
    refused = httpx.post(
        f"{rep.base_url}/v1/models/black-forest-labs/flux-2-pro/predictions",
        json={"input": {"prompt": "x", "resolution": "3 MP"}},
        headers={"Authorization": f"Bearer {rep.api_key}"},
    )
    assert refused.status_code == 422 and "resolution" in refused.text
