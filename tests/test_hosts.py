"""Each host as it publishes itself: regional endpoints, statuses, each
model's own enums, determinism and seeds, moderation and withheld images,
and a conformance sweep of every table through its host's fake."""

from __future__ import annotations

import html
import json
import math

import pytest

import fluxpanel
from fluxpanel import FluxClient, GenerationRequest, Lora
from fluxpanel.providers import BlackForestLabs, Fal, Replicate
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate, HostRoutes, solid_png

from .conftest import FAST_RETRY

REP = Replicate.models
PROVIDERS = {
    "bfl": (BlackForestLabs, FakeBFL),
    "replicate": (Replicate, FakeReplicate),
    "fal": (Fal, FakeFal),
}


def quick(cls, **kw):
    provider = cls(**kw)
    provider.poll_first, provider.poll_max = 0.01, 0.05
    return provider


# -- Black Forest Labs' regional hosts and statuses -------------------------------------


@pytest.mark.anyio
async def test_a_regional_host_polls_its_cluster_and_fetches_without_the_key():
    with FakeBFL(pending_polls=1) as fake:
        fake.public_url = "https://api.eu.bfl.ai"
        fake.polling_base = "https://api.eu1.bfl.ai"
        fake.images_url = "https://delivery-eu1.bfl.ai"
        routes = HostRoutes(
            {
                origin: fake
                for origin in (
                    "https://api.eu.bfl.ai",
                    "https://api.eu1.bfl.ai",
                    "https://delivery-eu1.bfl.ai",
                )
            }
        )
        provider = quick(BlackForestLabs, api_key=fake.api_key, base_url="https://api.eu.bfl.ai")
        async with fluxpanel.AsyncFluxClient(provider=provider, transport=routes, cache=False) as c:
            gen = await c.generate(model="flux_dev", prompt="a fox", seed=3)
    assert len(gen.images) == 1
    keyed = {origin for origin, _, _, headers in routes.seen if "x-key" in headers}
    assert keyed == {"https://api.eu.bfl.ai", "https://api.eu1.bfl.ai"}
    delivery = [h for o, _, _, h in routes.seen if o == "https://delivery-eu1.bfl.ai"]
    assert delivery and all(fake.api_key not in json.dumps(h) for h in delivery)


@pytest.mark.parametrize("status", ["Queued, maybe", "Processing", "pending", "READY"])
def test_an_unknown_status_fails_within_one_poll(status):
    with FakeBFL() as fake:
        fake.fail("unknown_status", status=status)
        provider = quick(BlackForestLabs, api_key=fake.api_key, base_url=fake.base_url)
        with FluxClient(provider=provider, cache=False) as c:
            with pytest.raises(fluxpanel.APIError, match="status fluxpanel does not know") as e:
                c.generate(model="flux_dev", prompt="x")
        assert len(fake.polls) == 1
    assert repr(status) in str(e.value)


def test_flux_3s_waiting_states_keep_polling():
    with FakeBFL(pending_polls=3) as fake:
        fake.waiting = ("Pending", "Reasoning", "Generating")
        provider = quick(BlackForestLabs, api_key=fake.api_key, base_url=fake.base_url)
        with FluxClient(provider=provider, cache=False) as c:
            assert len(c.generate(model="flux_dev", prompt="x")) == 1
        assert len(fake.polls) == 4


# -- Replicate: each model's own enum, go_fast, seeds, withheld images ---------------------


def test_replicate_flux_pro_offers_only_its_own_ratios_and_custom_sizes():
    pro = REP["flux_pro"].params
    assert pro["aspect_ratio"].choices == (
        "custom",
        "1:1",
        "16:9",
        "3:2",
        "2:3",
        "4:5",
        "5:4",
        "9:16",
        "3:4",
        "4:3",
    )
    with pytest.raises(fluxpanel.ValidationError, match="aspect_ratio='21:9'"):
        GenerationRequest(model="flux_pro", prompt="x", aspect_ratio="21:9", models=REP)
    with pytest.raises(
        fluxpanel.ValidationError, match="applies only when aspect_ratio is 'custom'"
    ):
        GenerationRequest(model="flux_pro", prompt="x", width=512, models=REP)
    with pytest.raises(fluxpanel.ValidationError, match="not a multiple of 32"):
        GenerationRequest(
            model="flux_pro", prompt="x", aspect_ratio="custom", width=500, models=REP
        )
    custom = GenerationRequest(
        model="flux_pro", prompt="x", aspect_ratio="custom", width=512, height=1440, models=REP
    )
    plain = GenerationRequest(model="flux_pro", prompt="x", seed=1, models=REP)
    assert (custom.width, custom.height) == (512, 1440)
    assert "width" not in plain.params  # not sent, not in the cache key or snippet
    assert "21:9" in REP["flux_dev"].params["aspect_ratio"].choices  # cog-flux's own list


def test_go_fast_is_offered_with_the_hosts_default_and_its_caveat_is_said():
    for name in ("flux_schnell", "flux_dev"):
        assert REP[name].params["go_fast"].default is True
    fast = GenerationRequest(model="flux_dev", prompt="x", seed=5, models=REP)
    exact = fast.replace(go_fast=False)
    assert not fast.reproducible and exact.reproducible
    assert "does not promise the same image" in fast.caveats[0]
    code = fast.to_code("replicate")
    assert "# Note: With go_fast on, Replicate does not promise the same image" in code
    assert "Note" not in exact.to_code("replicate")
    assert Fal.models["flux_dev"].reproducible
    pro = GenerationRequest(model="flux_pro", prompt="x", seed=1, models=REP)
    assert pro.reproducible and not pro.replace(prompt_upsampling=True).reproducible


def test_replicate_seeds_start_at_1_where_0_means_no_seed():
    for name in ("flux_schnell", "flux_dev"):
        with pytest.raises(fluxpanel.ValidationError, match="seed=0"):
            GenerationRequest(model=name, prompt="x", seed=0, models=REP)
        assert "reads 0 as no seed" in REP[name].params["seed"].help


def test_what_0_would_do_at_the_fake():
    with FakeReplicate() as fake:
        provider = quick(Replicate, api_key=fake.api_key, base_url=fake.base_url)
        body = provider.wire(GenerationRequest(model="flux_dev", prompt="x", seed=1, models=REP))
        import httpx

        for _ in range(2):
            httpx.post(
                f"{fake.base_url}/v1/models/black-forest-labs/flux-dev/predictions",
                json={"input": {**body, "seed": 0}},
                headers={"Authorization": f"Bearer {fake.api_key}", "Prefer": "wait"},
            )
        assert 0 not in fake.seeds_used.values()  # a random seed each time


def test_a_batch_shares_one_seed_and_says_how_to_make_an_image_again():
    with FakeReplicate() as fake:
        provider = quick(Replicate, api_key=fake.api_key, base_url=fake.base_url)
        with FluxClient(provider=provider, cache=False) as c:
            gen = c.generate(model="flux_dev", prompt="x", seed=7, num_images=3, go_fast=False)
    assert [i.seed for i in gen] == [7, 7, 7]
    assert any("One seed (7) made the whole batch" in n for n in gen.notes)
    with FakeBFL(pending_polls=0) as fake:
        provider = quick(BlackForestLabs, api_key=fake.api_key, base_url=fake.base_url)
        with FluxClient(provider=provider, cache=False) as c:
            gen = c.generate(model="flux_dev", prompt="x", seed=7, num_images=3)
    assert sorted(i.seed for i in gen) == [7, 8, 9] and not any("batch" in n for n in gen.notes)


def test_part_of_a_batch_withheld_is_said_kept_and_not_billed(tmp_path):
    with FakeReplicate() as fake:
        fake.fail("withhold", count=1)
        provider = quick(Replicate, api_key=fake.api_key, base_url=fake.base_url)
        with FluxClient(provider=provider, cache=tmp_path / "c", prices={"flux_dev": 0.1}) as c:
            gen = c.generate(model="flux_dev", prompt="x", seed=2, num_images=4)
            again = c.generate(model="flux_dev", prompt="x", seed=2, num_images=4)
    assert (len(gen), gen.requested, gen.withheld) == (3, 4, 1)
    assert gen.withheld_note == "1 of 4 images was withheld by Replicate's safety filter"
    assert math.isclose(gen.cost, 0.3)  # Replicate bills output images
    assert again.cached and again.withheld_note == gen.withheld_note  # kept by the cache
    back = fluxpanel.load(gen.save(tmp_path / "e").parent)
    assert back.withheld_note == gen.withheld_note
    assert html.escape(gen.withheld_note) in gen._repr_html_()


@pytest.mark.anyio
async def test_the_panel_says_what_was_withheld():
    with FakeReplicate() as fake:
        fake.fail("withhold", count=2)
        provider = quick(Replicate, api_key=fake.api_key, base_url=fake.base_url)
        client = fluxpanel.AsyncFluxClient(provider=provider, cache=False)
        panel = fluxpanel.FluxPanel(client=client, model="flux_dev", prompt="x", num_images=4)
        await panel.agenerate()
        entry = panel.history[-1]
    assert "2 of 4 images were withheld by Replicate's safety filter" in panel.status_text
    assert entry.withheld == 2
    assert "2 of 4 images were withheld" in panel._static_html()
    assert all("run the batch again" in t["seed_note"] for t in panel._tiles)


def test_fal_exhausted_balance_is_out_of_credit():
    with FakeFal() as fake:
        fake.fail("exhausted")
        provider = quick(Fal, api_key=fake.api_key, base_url=fake.base_url)
        with FluxClient(provider=provider, cache=False) as c:
            with pytest.raises(fluxpanel.InsufficientCreditsError) as e:
                c.generate(model="flux_dev", prompt="x")
    assert "Exhausted balance" in str(e.value) and "fal.ai/dashboard/billing" in str(e.value)


# -- conformance: every value each table allows, through its host's fake ----------------------


def _values(p):
    """Values at the table's edges: every choice, both ends, both booleans."""
    if p.kind == "choice":
        return list(p.choices)
    if p.kind == "boolean":
        return [True, False]
    if p.kind in ("integer", "number"):
        return [p.min, p.max]
    if (
        p.each is not None
    ):  # LoRAs and finetunes: as many as allowed at the low end, one at the high
        many = tuple(Lora(_source(p, i), p.each.min) for i in range(int(p.max)))
        return [many, (Lora(_source(p, 0), p.each.max),)]
    return []


def _source(p, i):
    return f"my-finetune-{i}" if p.kind == "finetunes" else f"owner/lora-{i}"


def _beyond(p):
    """One step past each end (ours refuses; the host's fake must too)."""
    if p.kind in ("integer", "number"):
        step = p.multiple_of or p.step or 1
        return [p.min - step, p.max + step]
    if p.kind == "choice":
        return ["not-a-choice"]
    if p.kind == "boolean":
        return ["yes"]
    if p.each is not None:
        step = p.each.step or 1
        ends = [
            (Lora(_source(p, 0), p.each.min - step),),
            (Lora(_source(p, 0), p.each.max + step),),
        ]
        return [*ends, tuple(Lora(_source(p, i)) for i in range(int(p.max) + 1))]
    return []


def _cases():
    for host, (cls, _) in PROVIDERS.items():
        for model, spec in cls.models.items():
            for name in spec.params:
                if name not in ("prompt", "num_images"):
                    yield host, model, name


def _raw(provider, field, value):
    """The same provider, sending one wire field as given, past our validation."""
    from dataclasses import replace

    base = type(provider)

    def patched(call):
        body = json.loads(json.dumps(call.json))
        inner = body.get("input", body)
        inner[field] = value
        return replace(call, json=body)

    class Raw(base):
        def start(self, request):
            call = base.start(self, request)
            uploading = isinstance(call.state, dict) and call.state.get("phase") == "upload"
            return call if uploading or not call.billable else patched(call)

        def submit(self, request, uploaded):
            return patched(base.submit(self, request, uploaded))

    raw = Raw.__new__(Raw)
    raw.__dict__.update(provider.__dict__)
    return raw


def _context(spec, name, value):
    """Other parameters a value needs (a width needs aspect_ratio='custom'),
    and a prompt where the model takes one (FLUX Erase takes none)."""
    p = spec.params[name]
    params = {name: value, **({"prompt": "x"} if "prompt" in spec.params else {})}
    if p.only_with:
        params[p.only_with[0]] = p.only_with[1]
    for other, q in spec.params.items():  # a side: the other one long enough to fit it
        if q.area_with and name in (other, q.area_with[0]) and isinstance(value, int):
            pair = q.area_with[0] if name == other else other
            params[pair] = max(int(spec.params[pair].min or 1), -(-value // int(q.area_with[2])))
    for other, q in spec.params.items():  # required images: a photo-sized input
        if q.required and q.each is not None and other != name:  # a required finetune
            params[other] = "my-finetune"
        if q.required and q.is_image and other != name:
            params[other] = solid_png(512, 384, (255, 255, 255) if q.mask_of else (90, 120, 200))
        if q.canvas is not None and name != q.canvas.crop:
            params[q.canvas.crop] = True  # any canvas and placement: cropped to fit
    return params


@pytest.fixture(scope="module")
def fakes():
    """One fake per host for the sweep, answering at once."""
    started = {}
    for host, (_, fake_cls) in PROVIDERS.items():
        fake = started[host] = fake_cls().start()
        if hasattr(fake, "pending_polls"):
            fake.pending_polls = 0
        if hasattr(fake, "queue_polls"):
            fake.queue_polls = 0
    yield started
    for fake in started.values():
        fake.stop()


@pytest.mark.parametrize(("host", "model", "name"), list(_cases()))
def test_every_value_a_table_allows_the_host_takes(fakes, host, model, name):
    cls, _ = PROVIDERS[host]
    spec = cls.models[model]
    p = spec.params[name]
    fake = fakes[host]
    provider = quick(cls, api_key=fake.api_key, base_url=fake.base_url)
    with FluxClient(provider=provider, cache=False, retry=FAST_RETRY) as c:
        for value in _values(p):
            gen = c.generate(model=model, **_context(spec, name, value))
            assert gen.images, (name, value)
        for value in _beyond(p):
            with pytest.raises(fluxpanel.ValidationError):
                GenerationRequest(model=model, models=cls.models, **_context(spec, name, value))
    if name == "seed" or not _beyond(p) or p.each is not None:
        return  # the hosts' seeds are wider than ours; nothing past a text's end (LoRAs: test_loras)
    # Sent raw, past our validation, the host's fake refuses it.
    valid = GenerationRequest(
        model=model,
        models=cls.models,
        **({"seed": 1} if "seed" in spec.params else {}),
        **_context(spec, name, _values(p)[-1]),
    )
    wire = provider.wire(valid)
    wire = wire.get("input", wire)
    wired = [
        k
        for k in wire
        if k == name or wire[k] != provider.wire(valid.replace(**{name: _values(p)[0]})).get(k)
    ]
    field = name if name in wire else next(k for k in wired if k not in ("seed",))
    for value in _beyond(p):
        sent = str(value) if isinstance(wire.get(field), str) and p.kind != "choice" else value
        raw = _raw(provider, field, sent)
        end = "high" if p.max is not None and value > p.max else "low"
        with FluxClient(provider=raw, cache=False, retry=FAST_RETRY) as c:
            if end in NARROWER.get((host, model, name), ()):  # the host takes it too
                assert c.generate(valid).images
                continue
            with pytest.raises(fluxpanel.BadRequestError) as e:
                c.generate(valid)
        assert field in str(e.value)  # the host's words name the field


#: Where fluxpanel offers part of what a host takes: Outpainting's canvas up
#: to 2048 a side (Black Forest Labs: any, up to 4 megapixels in all), the
#: image's corner within 2048 of the canvas (Black Forest Labs: anywhere) and
#: FLUX 3.1 Image's sides from 256.
NARROWER = {
    **{("bfl", "flux_outpaint", name): ("high",) for name in ("width", "height")},
    # FLUX.2's sides up to 4096 (Black Forest Labs: any, up to 4 megapixels in all).
    **{
        ("bfl", model, name): ("high",)
        for model in (
            "flux_2_pro",
            "flux_2_max",
            "flux_2_flex",
            "flux_2_klein_4b",
            "flux_2_klein_9b",
        )
        for name in ("width", "height")
    },
    # FLUX 3.1 Image's sides from 256 (the schema's mirror: from 1).
    **{("bfl", "flux_3_1_image", name): ("low",) for name in ("width", "height")},
    **{
        ("bfl", "flux_outpaint", name): ("low", "high")
        for name in ("reference_offset_x", "reference_offset_y")
    },
}


@pytest.mark.anyio
async def test_bfl_times_its_polls_by_the_progress_it_reports():
    """A 1.5 s task: polling 0.25 s growing by half would poll four times;
    timed by the progress the first poll reports, twice (three at most if the
    machine is slow to answer)."""
    with FakeBFL() as fake:
        fake.run_seconds = 1.5
        provider = BlackForestLabs(api_key=fake.api_key, base_url=fake.base_url)
        async with fluxpanel.AsyncFluxClient(provider=provider, cache=False) as c:
            gen = await c.generate(model="flux_dev", prompt="x", seed=1)
        task = next(iter(fake.tasks.values()))
    assert gen.images and task.ready_at is not None
    assert 2 <= len(fake.polls) <= 3, len(fake.polls)
