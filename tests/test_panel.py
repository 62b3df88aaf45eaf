"""FluxPanel's Python side, without a browser."""

from __future__ import annotations

import asyncio
import json

import ipywidgets
import pytest
import traitlets
from ipywidgets.widgets.widget import _remove_buffers

import fluxpanel
from fluxpanel import FluxPanel
from fluxpanel._spec import models_to_json
from fluxpanel.providers import FluxAPI, Preview

from .conftest import FAST_RETRY

pytestmark = pytest.mark.filterwarnings("ignore::fluxpanel.providers.PreviewNotice")


def preview_panel(**kw):
    return FluxPanel(provider="preview", **kw)


def test_traits_are_the_specs_parameters():
    from fluxpanel._traits import BoxesTrait, InputTrait, LorasTrait

    panel = preview_panel()
    table = panel.provider.models
    names = {p for m in table.values() for p in m.params if not m.params[p].is_image}
    synced = set(panel.keys)
    assert names <= synced
    assert panel.spec == models_to_json(table)
    assert list(table)[:3] == list(fluxpanel.MODELS)  # the API page's three first
    for m in table.values():
        for name, p in m.params.items():
            trait = panel.traits()[name]
            kind = {
                "integer": traitlets.Int,
                "number": traitlets.Float,
                "boolean": traitlets.Bool,
                "image": InputTrait,
                "images": InputTrait,
                "boxes": BoxesTrait,
                "layout": BoxesTrait,
                "loras": LorasTrait,
                "finetunes": LorasTrait,
            }.get(p.kind, traitlets.Unicode)
            assert isinstance(trait, kind), name
            # Image bytes never travel in widget state: only the `inputs` trait.
            assert (name in synced) == (not p.is_image), name


def test_constructor_presets_and_rejects_typos():
    panel = preview_panel(model="flux_pro", prompt="a fox", guidance=4.5)
    assert (panel.model, panel.prompt, panel.guidance, panel.steps) == (
        "flux_pro",
        "a fox",
        4.5,
        25,
    )
    assert panel.seed_mode == "random"
    assert preview_panel(seed=12).seed_mode == "fixed"
    with pytest.raises(TypeError, match="did you mean 'steps'"):
        preview_panel(step=3)
    with pytest.raises(fluxpanel.ValidationError, match="steps=90"):
        preview_panel(model="flux_dev", steps=90)
    with pytest.raises(fluxpanel.ValidationError, match="interval is supported only by flux_pro"):
        preview_panel(model="flux_dev", interval=2)


def test_switching_model_clamps_remembers_and_follows_defaults():
    panel = preview_panel(model="flux_dev", prompt="x", steps=40, guidance=8.0)
    panel.model = "flux_schnell"
    assert panel.steps == 4 and panel.field_errors == {}
    panel.steps = 2
    panel.model = "flux_pro"
    # First visit: carried from the model just left; what it lacks takes pro's defaults.
    assert (panel.steps, panel.guidance, panel.interval) == (2, 3.0, 2.0)
    panel.model = "flux_dev"
    assert (panel.steps, panel.guidance) == (40, 8.0)  # remembered as the user left it
    panel.model = "flux_schnell"
    assert panel.steps == 2
    assert panel.prompt == "x"  # shared by every model


def test_defaults_follow_the_model_on_first_visit():
    panel = preview_panel(model="flux_dev", prompt="x")
    panel.model = "flux_pro"
    assert (panel.steps, panel.guidance) == (25, 3.0)


def test_field_errors_and_code_follow_the_settings():
    panel = preview_panel(model="flux_dev", prompt="x")
    assert panel.field_errors == {} and "client.generate(" in panel.code
    assert "seed=" not in panel.code  # random mode: the snippet leaves the seed out
    panel.steps = 99
    # In a person's words: the field's label and the fix, no Python names.
    assert panel.field_errors["steps"] == "Set Steps between 1 and 50."
    assert "once the settings are complete" in panel.code
    with pytest.raises(fluxpanel.ValidationError):
        _ = panel.request
    panel.steps = 30
    panel.prompt = ""
    assert panel.field_errors == {}  # what is missing is asked for after a Generate
    assert "once the settings are complete" in panel.code
    panel.prompt = "y"
    panel.seed_mode, panel.seed = "fixed", 5
    assert panel.request == fluxpanel.GenerationRequest(
        model="flux_dev", prompt="y", steps=30, seed=5
    )
    assert "seed=5," in panel.code


def test_traits_link_to_ipywidgets():
    panel = preview_panel(model="flux_dev", prompt="x")
    slider = ipywidgets.IntSlider(min=1, max=50)
    traitlets.link((slider, "value"), (panel, "steps"))
    slider.value = 33
    assert panel.steps == 33
    panel.steps = 12
    assert slider.value == 12
    seen = []
    panel.observe(lambda c: seen.append(c["new"]), "prompt")
    panel.prompt = "z"
    assert seen == ["z"]


@pytest.mark.anyio
async def test_agenerate_shows_images_as_binary_buffers():
    panel = preview_panel(model="flux_dev", prompt="a fox", num_images=2)
    gen = await panel.agenerate()
    assert panel.result is gen and panel.images == gen.images and panel.history == [gen]
    assert panel.status == "done" and "2 images" in panel.status_text
    assert panel.seed == gen.seed  # the seed shown made the images
    assert len(panel._tiles) == 2
    state = panel.get_state()
    _, _, buffers = _remove_buffers(state)
    assert buffers == []  # the tiles hold references to child models, not bytes
    for tile in panel._tiles:
        child = tile["ref"]
        cstate, paths, cbuffers = _remove_buffers(child.get_state())
        assert paths == [["value"]] and len(cbuffers) == 1  # one binary buffer each
        assert "base64" not in json.dumps(cstate)
        assert bytes(cbuffers[0])[:4] == b"RIFF"  # a WebP preview, not the original
        assert max(tile["preview_width"], tile["preview_height"]) <= 640
    assert f"seed={gen.seed}," in panel.result_code
    assert gen.to_code() == panel.result_code


@pytest.mark.anyio
async def test_random_mode_draws_a_new_seed_each_time():
    panel = preview_panel(prompt="a fox")
    a = await panel.agenerate()
    b = await panel.agenerate()
    assert a.seed != b.seed and panel.seed == b.seed
    panel.seed_mode = "fixed"
    c = await panel.agenerate()
    assert c.seed == b.seed


@pytest.mark.anyio
async def test_validation_error_is_shown_and_raised():
    panel = preview_panel(model="flux_dev", prompt="a fox")
    panel.steps = 0
    with pytest.raises(fluxpanel.ValidationError, match="steps=0"):
        await panel.agenerate()  # the precise text stays for code
    # Said once, beside its field; the status points there and goes when it is fixed.
    assert panel.status == "error" and panel.error == {}
    assert panel.field_errors == {"steps": "Set Steps between 1 and 50."}
    assert "highlighted setting" in panel.status_text
    panel.steps = 4
    assert panel.field_errors == {} and panel.status == "idle" and panel.status_text == ""


@pytest.mark.anyio
async def test_what_is_missing_is_asked_for_after_a_generate_and_a_model_switch_forgets_it():
    panel = preview_panel(model="flux_fill_pro")
    assert panel.field_errors == {}  # nothing before the user acts
    with pytest.raises(fluxpanel.ValidationError):
        await panel.agenerate()
    assert panel.field_errors == {  # Fill's prompt is optional: the rest is followed
        "image": "Add the image: drop, paste or pick an image.",
        "mask": "Add the mask: paint it, or drop, paste or pick one; "
        "or use an image with transparent areas, which are repainted.",
    }
    panel.model = "flux_dev"
    assert panel.field_errors == {} and panel.status != "error" and panel.status_text == ""


@pytest.mark.anyio
async def test_server_errors_keep_earlier_results(server):
    panel = FluxPanel(provider=FluxAPI(api_key=server.api_key, url=server.url), prompt="a fox")
    first = await panel.agenerate()
    server.fail("status", status=402, body={"detail": f"no credits for {server.api_key}"})
    with pytest.raises(fluxpanel.InsufficientCreditsError):
        await panel.agenerate()
    assert panel.status == "error" and panel.error["title"] == "Out of credits"
    assert server.api_key not in json.dumps(panel.error)
    assert panel.result is first and len(panel._tiles) == 1
    server.fail("status", status=429, retry_after=120)
    with pytest.raises(fluxpanel.RateLimitError):
        await panel.agenerate()
    assert panel.error["retry_after"] == 120
    await panel.agenerate()
    assert panel.status == "done" and panel.error == {} and len(panel.history) == 2


@pytest.mark.anyio
async def test_partial_failure_shows_what_arrived(server):
    panel = FluxPanel(
        client=fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, retry=FAST_RETRY),
        model="flux_dev",
        prompt="a fox",
        num_images=4,
    )
    server.fail_images("status", status=404)
    gen = await panel.agenerate()
    assert len(gen.images) == 3 and len(panel._tiles) == 3
    assert panel.status == "done" and "1 failed" in panel.status_text
    assert panel.error["title"] == "Some images failed"


@pytest.mark.anyio
async def test_cancel_leaves_no_task_and_keeps_the_panel_usable():
    panel = FluxPanel(provider=Preview(delay=2.0), prompt="a fox")
    task = asyncio.ensure_future(panel.agenerate())
    await asyncio.sleep(0.2)
    assert panel.running and panel.status == "running"
    assert panel.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not panel.running and panel.status == "cancelled" and panel.result is None
    panel._client.provider.delay = 0.0
    await panel.agenerate()
    assert panel.status == "done"


@pytest.mark.anyio
async def test_second_generate_while_running_is_refused():
    panel = FluxPanel(provider=Preview(delay=0.5), prompt="a fox")
    task = asyncio.ensure_future(panel.agenerate())
    await asyncio.sleep(0.05)
    with pytest.raises(fluxpanel.FluxError, match="already running"):
        await panel.agenerate()
    await task


@pytest.mark.anyio
async def test_history_restore_sets_every_parameter():
    panel = preview_panel(model="flux_dev", prompt="first", steps=12, seed=3)
    first = await panel.agenerate()
    panel.model, panel.prompt = "flux_pro", "second"
    await panel.agenerate()
    assert [h["id"] for h in panel._history] == [1, 2]
    panel._handle({"type": "restore", "id": 1})
    # Read back from disk, byte for byte.
    assert panel.result.request == first.request and panel.history_current == 1
    assert [i.data for i in panel.result] == [i.data for i in first]
    assert (panel.model, panel.prompt, panel.steps, panel.seed, panel.seed_mode) == (
        "flux_dev",
        "first",
        12,
        3,
        "fixed",
    )
    assert panel.request == first.request
    assert panel._tiles[0]["seed"] == 3


@pytest.mark.anyio
async def test_messages_from_the_view(monkeypatch):
    panel = preview_panel(prompt="a fox")
    sent = []
    monkeypatch.setattr(
        panel, "send", lambda content, buffers=None: sent.append((content, buffers))
    )
    panel._inbox.receive(panel, {"type": "generate"}, [])
    for _ in range(100):
        await asyncio.sleep(0.02)
        if panel.status == "done":
            break
    assert panel.status == "done"
    key = panel._tiles[0]["key"]
    panel._inbox.receive(panel, {"type": "original", "key": key, "token": 7}, [])
    content, buffers = sent[-1]
    assert content["token"] == 7 and content["mime"] == "image/png"
    assert buffers[0] == panel.images[0].to_bytes()  # the original, with its metadata
    panel._inbox.receive(panel, {"type": "original", "key": "nope", "token": 8}, [])
    assert sent[-1][0]["error"]


@pytest.mark.anyio
async def test_a_generate_from_the_view_waits_for_the_changes_it_follows(monkeypatch):
    """ipywidgets holds a change back while the kernel is busy with the one
    before, and the view's Generate can overtake it: the view counts its
    changes and Generate says how many it follows; the kernel waits for
    them, so the model just chosen is the one used. A count that never
    comes is waited for a while, then the settings here are used."""
    panel = preview_panel(prompt="a fox", model="flux_schnell")
    panel._inbox.receive(panel, {"type": "generate", "edits": 2}, [])
    await asyncio.sleep(0.2)
    assert panel.result is None and panel._runs.awaited == 2  # not before the changes
    panel.model = "flux_dev"  # the held-back changes arrive, their count with them
    panel._edits = 2
    for _ in range(100):
        await asyncio.sleep(0.02)
        if panel.status == "done":
            break
    assert panel.result is not None and panel.result.request.model == "flux_dev"
    monkeypatch.setattr(fluxpanel._runs, "EDITS_WAIT", 0.1)
    panel._inbox.receive(panel, {"type": "generate", "edits": 9}, [])  # never comes
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(panel._history) == 2 and panel.status == "done":
            break
    assert len(panel._history) == 2 and panel._runs.awaited is None


def test_generate_outside_a_loop_says_what_to_do():
    panel = preview_panel(prompt="x")
    with pytest.raises(fluxpanel.FluxError, match="agenerate"):
        panel.generate()


@pytest.mark.anyio
async def test_key_is_in_no_synced_state(server):
    panel = FluxPanel(provider=FluxAPI(api_key=server.api_key, url=server.url), prompt="a fox")
    await panel.agenerate()
    server.fail("status", status=401, body={"detail": server.api_key})
    with pytest.raises(fluxpanel.AuthError):
        await panel.agenerate()
    widgets = [panel, *(t["ref"] for t in panel._tiles), *(h["ref"] for h in panel._history)]
    for w in widgets:
        state, _, buffers = _remove_buffers(w.get_state())
        assert server.api_key not in json.dumps(state, default=str)
        assert all(server.api_key.encode() not in bytes(b) for b in buffers)
    assert server.api_key not in panel._static_html() + repr(panel) + panel.code


@pytest.mark.anyio
async def test_static_copy_escapes_and_shows_the_result():
    panel = preview_panel(prompt="<img src=x onerror=alert(1)> & fox")
    assert panel._static_html() == (
        f'<div class="fluxpanel-static" data-fluxpanel-static="{panel._static_id}"></div>'
    )
    gen = await panel.agenerate()
    html = panel._static_html()
    assert "<img src=x" not in html and "&lt;img src=x" in html
    assert html.count("data:image/webp;base64,") == 1
    assert f"seed={gen.seed}," in html


def test_close_frees_child_models():
    panel = preview_panel(prompt="x")
    asyncio.run(panel.agenerate())
    refs = [t["ref"] for t in panel._tiles] + [h["ref"] for h in panel._history]
    panel.close()
    assert all(r.comm is None for r in refs)


@pytest.mark.anyio
async def test_images_appear_as_each_arrives():
    panel = FluxPanel(provider=Preview(delay=0.15), model="flux_dev", prompt="a fox", num_images=3)
    counts = []
    panel.observe(lambda c: counts.append(len(c["new"])), "_tiles")
    await panel.agenerate()
    assert [n for n in counts if n] == [1, 2, 3]


@pytest.mark.anyio
async def test_dropped_image_metadata_restores_settings_and_is_validated():
    panel = preview_panel(model="flux_dev", prompt="before")
    req = fluxpanel.GenerationRequest(model="flux_pro", prompt="from a file", seed=77, guidance=4.0)
    panel._handle({"type": "dropped", "name": "fox.png", "request": req.to_payload()})
    assert panel.request == req and panel.seed_mode == "fixed"
    assert "restored from fox.png" in panel.status_text
    panel._handle(
        {
            "type": "dropped",
            "name": "x.png",
            "request": {"model": "flux_pro", "prompt": "x", "steps": 500},
        }
    )
    assert panel.error["title"] == "Check the settings" and "steps=500" in panel.error["message"]
    assert panel.request == req  # nothing applied from the bad file
    panel._handle({"type": "dropped", "name": "cat.jpg", "request": None})
    assert "cat.jpg holds no fluxpanel request" in panel.error["message"]


@pytest.mark.anyio
async def test_save_all_writes_an_export(tmp_path):
    panel = preview_panel(model="flux_dev", prompt="a fox", num_images=2, seed=5)
    panel.export_dir = str(tmp_path)
    panel._handle({"type": "save"})
    assert panel.error["message"] == "there is no result to save yet"
    gen = await panel.agenerate()
    panel._handle({"type": "save"})
    folder = next(tmp_path.iterdir())
    assert "Saved 2 images" in panel.status_text and str(folder) in panel.status_text
    assert fluxpanel.load(folder).request == gen.request


def test_switching_provider_follows_its_table_and_carries_only_what_applies():
    from fluxpanel.providers import BlackForestLabs

    bfl = BlackForestLabs(api_key="k-bfl")
    panel = FluxPanel(
        provider="preview", providers=[bfl], model="flux_schnell", prompt="x", steps=3
    )
    assert [p["name"] for p in panel.providers] == ["preview", "bfl"]
    panel.provider_name = "bfl"
    assert panel.provider is bfl and panel.model == "flux_dev"  # no schnell there
    assert (panel.steps, panel.safety_tolerance, panel.guidance) == (3, 2, 3.0)
    # in the selector's order (newest family first), each as the view reads it
    shown = sorted(BlackForestLabs.models.values(), key=lambda m: m.rank)
    assert [m["id"] for m in panel.spec["models"]] == [m.id for m in shown]
    assert panel.spec["models"][:2] == [m.to_json() for m in shown[:2]]
    assert "provider=" in panel.code and "k-bfl" not in panel.code
    assert "k-bfl" not in json.dumps(panel.get_state(), default=str)
    panel.provider_name = "elsewhere"
    assert panel.provider_name == "bfl" and "not offered" in panel.error["message"]


def test_offered_providers_default_to_the_configured_ones(monkeypatch):
    monkeypatch.setenv("BFL_API_KEY", "k")
    panel = FluxPanel(prompt="x")
    assert panel.provider_name == "bfl"
    assert [p["name"] for p in panel.providers] == ["bfl", "preview"]


@pytest.mark.anyio
async def test_history_keeps_originals_on_disk_not_in_memory():
    import gc

    from fluxpanel._results import GeneratedImage

    panel = preview_panel(model="flux_dev", prompt="a fox", num_images=2)
    made = [await panel.agenerate() for _ in range(4)]
    del made
    gc.collect()
    seeds = [h["seed"] for h in panel._history]
    alive = [o.seed for o in gc.get_objects() if isinstance(o, GeneratedImage) and o.seed in seeds]
    assert sorted(alive) == [seeds[-1]] * 2  # only the shown result's originals are in memory
    folders = sorted(p.name for p in panel._runs.results.store._root().iterdir())
    assert folders == ["1", "2", "3", "4"]
    history = panel.history
    assert [g.seed for g in history] == [h["seed"] for h in panel._history]
    assert all(len(g) == 2 for g in history)
    root = panel._runs.results.store._root()
    panel.close()
    assert not root.exists()  # the folder goes with the panel


def test_switching_provider_lets_defaults_follow():
    from fluxpanel.providers import BlackForestLabs

    panel = FluxPanel(
        provider="preview",
        providers=[BlackForestLabs(api_key="k")],
        model="flux_schnell",
        prompt="x",
    )
    panel.provider_name = "bfl"
    assert (panel.model, panel.steps) == ("flux_dev", 28)  # schnell's default 4 did not carry
