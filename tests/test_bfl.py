"""The Black Forest Labs adapter against FakeBFL, a loopback fake of its API."""

from __future__ import annotations

import asyncio
import itertools

import httpx
import pytest

import fluxpanel
from fluxpanel import FluxClient, GenerationRequest
from fluxpanel.providers import BlackForestLabs
from fluxpanel.providers.bfl import MODELS as BFL_MODELS
from fluxpanel.testing import FakeBFL

from .conftest import FAST_RETRY


class QuickBFL(BlackForestLabs):
    poll_first, poll_growth, poll_max = 0.02, 1.5, 0.1


@pytest.fixture
def bfl():
    with FakeBFL() as s:
        yield s


def client_for(server, **kw):
    kw.setdefault("cache", False)
    kw.setdefault("retry", FAST_RETRY)
    return FluxClient(provider=QuickBFL(api_key=server.api_key, base_url=server.base_url), **kw)


def test_generate_maps_our_names_to_theirs(bfl):
    with client_for(bfl) as c:
        g = c.generate(
            model="flux_pro",
            prompt="a fox",
            width=768,
            height=1344,
            seed=5,
            steps=30,
            guidance=4.0,
            interval=3.0,
            safety_tolerance=0,
        )
    body = bfl.submits[0].json()
    assert body == {
        "prompt": "a fox",
        "width": 768,
        "height": 1344,
        "steps": 30,
        "guidance": 4.0,
        "safety_tolerance": 0,
        "seed": 5,
        "output_format": "png",
        "interval": 3.0,
        "prompt_upsampling": False,
    }
    assert bfl.submits[0].path == "/v1/flux-pro"
    assert (
        bfl.submits[0].headers["x-key"] == bfl.api_key
        and "Authorization" not in bfl.submits[0].headers
    )
    assert len(g) == 1 and g.image.seed == 5 and g.provider == "bfl"
    # The image host never sees the key.
    for rec in bfl.image_requests:
        assert bfl.api_key not in str(rec.headers) and "x-key" not in {
            k.lower() for k in rec.headers
        }


def test_dev_sends_no_interval_and_schnell_is_not_offered(bfl):
    with client_for(bfl) as c:
        c.generate(model="flux_dev", prompt="x", seed=1)
        assert "interval" not in bfl.submits[0].json()
        with pytest.raises(fluxpanel.ValidationError, match="allowed: flux_dev, flux_pro"):
            c.generate(model="flux_schnell", prompt="x")
        with pytest.raises(fluxpanel.ValidationError, match=r"guidance=1\.0"):
            c.generate(model="flux_dev", prompt="x", guidance=1.0)  # BFL's range is 1.5-5
    assert len(bfl.submits) == 1


def test_the_spec_follows_bfl_documentation():
    pro, dev = BFL_MODELS["flux_pro"].params, BFL_MODELS["flux_dev"].params
    assert (pro["safety_tolerance"].min, pro["safety_tolerance"].max) == (0, 6)
    assert (pro["guidance"].min, pro["guidance"].max, pro["guidance"].default) == (1.5, 5.0, 2.5)
    assert (pro["steps"].default, dev["steps"].default, dev["guidance"].default) == (40, 28, 3.0)
    assert "flux_schnell" not in BFL_MODELS and "interval" not in dev
    for side in ("width", "height"):
        p = pro[side]
        assert (p.min, p.max, p.multiple_of) == (256, 1440, 32)
    assert (pro["width"].default, pro["height"].default) == (1024, 768)
    with pytest.raises(fluxpanel.ValidationError, match="not a multiple of 32"):
        GenerationRequest(model="flux_pro", prompt="x", width=1000, models=BFL_MODELS)


def test_polls_with_growing_intervals_until_ready(bfl):
    bfl.pending_polls = 4
    bfl.report_progress = False  # with progress, the next poll is timed by it

    class Doubling(BlackForestLabs):  # 50, 100, 200, 400 ms: wide apart on a busy machine
        poll_first, poll_growth, poll_max = 0.05, 2.0, 1.0

    provider = Doubling(api_key=bfl.api_key, base_url=bfl.base_url)
    with FluxClient(provider=provider, cache=False, retry=FAST_RETRY) as c:
        assert len(c.generate(model="flux_dev", prompt="x")) == 1
    times = [r.time for r in bfl.polls]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(times) == 5
    assert gaps[-1] > gaps[0] + 0.2  # the waits grow


def test_several_images_are_parallel_tasks_with_their_own_seeds(bfl):
    with client_for(bfl) as c:
        g = c.generate(model="flux_dev", prompt="x", num_images=3, seed=100)
    assert sorted(s.json()["seed"] for s in bfl.submits) == [100, 101, 102]
    assert sorted(i.seed for i in g) == [100, 101, 102]
    assert len({i.data for i in g}) == 3


def test_active_task_limit_is_shared_by_every_call_of_a_client(bfl):
    bfl.pending_polls = 3

    class Limited(QuickBFL):
        limits = fluxpanel.HostLimits(active=2)

    async def run():
        async with fluxpanel.AsyncFluxClient(
            provider=Limited(api_key=bfl.api_key, base_url=bfl.base_url), cache=False
        ) as c:
            await asyncio.gather(
                *(c.generate(model="flux_dev", prompt=f"p{i}", num_images=2) for i in range(3))
            )

    asyncio.run(run())
    assert len(bfl.submits) == 6 and bfl.max_active_seen == 2


@pytest.mark.parametrize(
    ("fault", "match"),
    [
        ("request_moderated", "refused the request before generating"),
        ("content_moderated", "refused the generated image"),
    ],
)
def test_moderation_says_which_stage_refused(bfl, fault, match):
    bfl.fail(fault)
    with client_for(bfl) as c, pytest.raises(fluxpanel.ModerationError, match=match) as e:
        c.generate(model="flux_dev", prompt="x")
    assert next(iter(bfl.tasks)) in str(e.value)  # names the task


def test_task_not_found_and_error(bfl):
    with client_for(bfl) as c:
        bfl.fail("not_found")
        with pytest.raises(fluxpanel.APIError, match="Task not found"):
            c.generate(model="flux_dev", prompt="x")
        bfl.fail("error")
        with pytest.raises(fluxpanel.ServerError, match=r"failed \(Error\)"):
            c.generate(model="flux_dev", prompt="x")


def test_402_is_out_of_credits(bfl):
    bfl.fail("status", status=402, body={"detail": "Insufficient credits"})
    with (
        client_for(bfl) as c,
        pytest.raises(fluxpanel.InsufficientCreditsError, match="Insufficient credits"),
    ):
        c.generate(model="flux_dev", prompt="x")
    assert len(bfl.submits) == 1


def test_429_with_and_without_retry_after(bfl):
    with client_for(bfl) as c:
        bfl.fail("status", status=429, retry_after=0.1)
        assert len(c.generate(model="flux_dev", prompt="x")) == 1
        bfl.fail("status", times=2, status=429)
        assert len(c.generate(model="flux_dev", prompt="x")) == 1
        bfl.fail("status", status=429, retry_after=300)
        with pytest.raises(fluxpanel.RateLimitError) as e:
            c.generate(model="flux_dev", prompt="x")
    assert e.value.retry_after == 300
    assert len(bfl.submits) == 2 + 3 + 1


def test_too_many_active_tasks_answers_429(bfl):
    bfl.max_active = 1
    bfl.fail("never_ready")
    with client_for(bfl, deadline=0.6, retry=fluxpanel.RetryPolicy(max_retries=1, base=0.01)) as c:
        with pytest.raises(fluxpanel.RequestTimeout):
            c.generate(model="flux_dev", prompt="first")
        with pytest.raises(fluxpanel.RateLimitError):
            c.generate(model="flux_dev", prompt="second")  # the first is still active


def test_polling_that_never_finishes_gives_up_naming_the_task(bfl):
    bfl.fail("never_ready")
    with client_for(bfl, deadline=0.5) as c, pytest.raises(fluxpanel.RequestTimeout) as e:
        c.generate(model="flux_dev", prompt="x")
    task = next(iter(bfl.tasks))
    assert f"task {task}" in str(e.value) and "Black Forest Labs" in str(e.value)


def test_expired_result_url(bfl):
    bfl.ttl = 0
    with client_for(bfl) as c, pytest.raises(fluxpanel.ResultExpiredError):
        c.generate(model="flux_dev", prompt="x")


def test_a_polling_url_elsewhere_does_not_get_the_key(bfl):
    # The key goes to Black Forest Labs' documented API hosts over https (the
    # regional hosts and their clusters), to the base URL's own origin, and
    # nowhere else.
    p = QuickBFL(api_key="k", base_url="https://api.eu.bfl.ai")
    assert p.on_site("https://api.eu.bfl.ai/v1/get_result?id=1")
    assert p.on_site("https://api.eu1.bfl.ai/v1/get_result?id=1")
    assert p.on_site("https://api.eu2.bfl.ai/v1/get_result?id=1")
    assert p.on_site("https://api.bfl.ai/v1/get_result?id=1")
    assert not p.on_site("http://api.eu1.bfl.ai/v1/get_result?id=1")  # no downgrade
    assert not p.on_site("https://api.eu1.bfl.ai:8443/v1/get_result?id=1")
    assert not p.on_site("https://delivery-eu1.bfl.ai/results/x.png")  # the image host
    assert not p.on_site("https://api.bfl.ai.attacker.example/v1/get_result?id=1")
    assert not p.on_site("https://attacker.example/v1/get_result?id=1")
    assert not p.on_site("ftp://api.eu.bfl.ai/x")
    proxy = QuickBFL(api_key="k", base_url="https://gateway.example.com/bfl")
    assert proxy.on_site("https://gateway.example.com/bfl/v1/get_result?id=1")
    assert not proxy.on_site("https://api.eu1.bfl.ai/v1/get_result?id=1")


@pytest.mark.anyio
async def test_cancel_stops_polling_and_says_it_may_be_billed(bfl):
    bfl.fail("never_ready")
    panel = fluxpanel.FluxPanel(
        client=fluxpanel.AsyncFluxClient(
            provider=QuickBFL(api_key=bfl.api_key, base_url=bfl.base_url), cache=False
        ),
        model="flux_dev",
        prompt="x",
    )
    task = asyncio.ensure_future(panel.agenerate())
    await asyncio.sleep(0.4)
    assert panel.running and len(bfl.polls) >= 1
    panel.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # A poll already on its way when the run was cancelled may still reach
    # the server; after that none comes (polls are 0.1 s apart at most here).
    await asyncio.sleep(0.15)
    polls = len(bfl.polls)
    await asyncio.sleep(0.4)
    assert len(bfl.polls) == polls  # polling stopped
    assert "may still run and be billed" in panel.status_text


def test_provider_from_environment_and_snippet(bfl, monkeypatch):
    monkeypatch.setenv("BFL_API_KEY", "env-bfl-key")
    c = FluxClient()
    assert isinstance(c.provider, BlackForestLabs)
    code = GenerationRequest(model="flux_dev", prompt="x", seed=1, models=BFL_MODELS).to_code(
        c.provider
    )
    assert "provider='bfl'" in code and "env-bfl-key" not in code and "BFL_API_KEY" in code
    assert isinstance(FluxClient(provider="bfl").provider, BlackForestLabs)
    monkeypatch.setenv("FLUX_API_KEY", "k")
    monkeypatch.setenv("FLUX_API_URL", "http://127.0.0.1:1/v1/generate")
    assert FluxClient().provider.name == "flux-api"  # first in the documented order


def test_snippet_runs_against_the_fake(bfl, tmp_path):
    import os
    import subprocess
    import sys

    req = GenerationRequest(model="flux_pro", prompt="a fox", seed=9, models=BFL_MODELS)
    provider = BlackForestLabs(api_key=bfl.api_key, base_url=bfl.base_url)
    code = req.to_code(provider)
    assert bfl.api_key not in code
    script = tmp_path / "s.py"
    script.write_text(code)
    env = {**os.environ, "BFL_API_KEY": bfl.api_key, "FLUXPANEL_CACHE_DIR": str(tmp_path / "c")}
    subprocess.run([sys.executable, str(script)], check=True, env=env, timeout=60)
    assert bfl.submits[-1].json() == provider.wire(req)


def test_flux_2_sizes_are_bounded_by_their_area_not_by_a_side():
    """Black Forest Labs limits FLUX.2's width and height together to 4
    megapixels: a long 4096 x 1024 banner is made, 2048 x 4096 is refused
    before sending, naming the limit."""

    def request(w, h):
        return GenerationRequest(
            model="flux_2_pro",
            models=BFL_MODELS,
            prompt="a banner",
            image_size="custom",
            width=w,
            height=h,
        )

    assert (request(4096, 1024).width, request(4096, 1024).height) == (4096, 1024)
    with pytest.raises(fluxpanel.ValidationError, match=r"8\.0 megapixels") as e:
        request(2048, 4096)
    assert e.value.field == "height" and "at most 4 megapixels" in str(e.value)
    with FakeBFL() as server, client_for(server) as c:
        assert c.generate(request(4096, 1024)).images  # the host takes it
        assert (server.submits[0].json()["width"], server.submits[0].json()["height"]) == (
            4096,
            1024,
        )


@pytest.mark.parametrize(
    "model, path", [("flux_2_pro", "/v1/flux-2-pro"), ("flux_2_max", "/v1/flux-2-max")]
)
def test_flux_2_pro_and_max_turn_upsampling_off_with_disable_pup(model, path):
    """FLUX.2 [pro] and [max] take ``disable_pup``, the opposite of the
    panel's Prompt upsampling (on by default); [flex] takes
    ``prompt_upsampling`` itself and [klein] neither."""
    assert BFL_MODELS[model].params["prompt_upsampling"].default is True
    with FakeBFL() as server, client_for(server) as c:
        on = c.generate(model=model, prompt="a lighthouse")
        off = c.generate(model=model, prompt="a lighthouse", prompt_upsampling=False)
        bodies = [s.json() for s in server.submits]
        raw = httpx.post(
            server.base_url + path,
            json={"prompt": "x", "prompt_upsampling": False},
            headers={"x-key": server.api_key},
        )
    assert [b["disable_pup"] for b in bodies] == [False, True]
    assert all("prompt_upsampling" not in b for b in bodies)
    assert raw.status_code == 422 and "prompt_upsampling" in raw.text  # not its field
    assert any("rewrites the prompt" in c for c in on.request.caveats)
    assert off.images and not off.request.caveats
    with pytest.raises(fluxpanel.ValidationError):
        GenerationRequest(
            model="flux_2_klein_4b", models=BFL_MODELS, prompt="x", prompt_upsampling=False
        )


def test_flux_2_takes_prompts_far_longer_than_4000_characters():
    """FLUX.2 reads "up to 32K tokens" (Black Forest Labs' reference): a
    20,000-character prompt goes at every host that serves it, fal and
    Replicate publishing no bound of their own; FLUX1.1 [pro] keeps the API
    page's 4,000."""
    from fluxpanel.providers.fal import MODELS as FAL_MODELS
    from fluxpanel.providers.replicate import MODELS as REPLICATE_MODELS

    long = "a lighthouse on a cliff at dusk, " * 600  # 19,800 characters
    with FakeBFL() as server, client_for(server) as c:
        c.generate(model="flux_2_pro", prompt=long)
        assert server.submits[0].json()["prompt"] == long
    for models in (BFL_MODELS, REPLICATE_MODELS, FAL_MODELS):
        for model in ("flux_2_pro", "flux_2_max", "flux_2_flex", "flux_2_klein_4b"):
            assert GenerationRequest(model=model, models=models, prompt=long).prompt == long
            with pytest.raises(fluxpanel.ValidationError, match="32000"):
                GenerationRequest(model=model, models=models, prompt="x" * 32_001)
    with pytest.raises(fluxpanel.ValidationError, match="4000"):
        GenerationRequest(model="flux_pro_1_1", models=BFL_MODELS, prompt=long)
