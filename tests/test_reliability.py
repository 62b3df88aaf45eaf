"""The reliability table's scenarios, asserted; the load test; hostile input."""

from __future__ import annotations

import ast

import pytest
from benchmarks.reliability import SCENARIOS, SURFACES, describe, run_load, run_scenario
from hypothesis import given, settings
from hypothesis import strategies as st

import fluxpanel


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fault(scenario):
    outcome = run_scenario(scenario)
    assert outcome.outcome == scenario.expect
    assert outcome.posts <= scenario.max_posts  # never billed twice by a retry
    if scenario.retries is not None:
        assert outcome.retries == scenario.retries


def test_load_nothing_lost_or_duplicated_memory_flat():
    load = run_load(n=1000, concurrency=8, chaos=0.1, seed=1)
    assert load.lost == 0 and load.duplicates == 0
    assert load.results + sum(load.errors.values()) == 1000
    assert set(load.errors) <= {"ServerError"}  # typed: the 503s on the billable POST
    assert 50 < load.errors.get("ServerError", 0) < 150  # about 10%, from the fixed seed
    assert load.posts == 1000  # a 503 on the POST is never retried
    assert load.memory_growth < 1.5


PROMPTS = st.text(min_size=1, max_size=4000) | st.sampled_from(
    [
        '<script>alert("x")</script>',
        "\\\\ back\\slashes \\n",
        "'''triple''' \"\"\"quotes\"\"\"",
        "line\nbreaks\r\nand\ttabs",
        "\u202eright-to-left\u202c and \x00 nul",
        "é 狐 🦊",
    ]
)


@settings(max_examples=150, deadline=None)
@given(prompt=PROMPTS)
def test_snippet_is_valid_python_that_reproduces_the_exact_prompt(prompt):
    request = fluxpanel.GenerationRequest(model="flux_dev", prompt=prompt, seed=1)
    for code in (request.to_code(), request.to_code("preview")):
        tree = ast.parse(code)
        call = next(
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "generate"
        )
        sent = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
        assert sent == request.to_payload()


@settings(max_examples=60, deadline=None)
@given(prompt=PROMPTS)
def test_prompts_render_as_text_in_static_html(prompt):
    import html

    gen = fluxpanel.FluxClient(provider="preview").generate(prompt=prompt, seed=1)
    page = gen._repr_html_()
    assert html.escape(prompt) in page  # shown, as text
    if "<script" in prompt:
        assert "<script" not in page  # never as markup


FAILING = [s for s in SCENARIOS if s.expect != "ok" and "url" not in (s.client or {})]


@pytest.mark.anyio
@pytest.mark.parametrize("scenario", FAILING, ids=[s.name for s in FAILING])
async def test_panel_shows_each_fault_and_stays_usable(scenario):
    from benchmarks.reliability import QUICK, small_image

    from fluxpanel.testing import ReferenceServer

    with ReferenceServer(image_factory=small_image) as server:
        options = {k: v for k, v in (scenario.client or {}).items()}
        client = fluxpanel.AsyncFluxClient(
            api_key=server.api_key, url=server.url, retry=QUICK, cache=False, **options
        )
        panel = fluxpanel.FluxPanel(client=client, model="flux_dev", prompt="a fox")
        first = await panel.agenerate()
        scenario.setup(server)
        with pytest.raises(fluxpanel.FluxError):
            await panel.agenerate()
        assert panel.status == "error" and panel.error["title"] and panel.error["message"]
        assert panel.result is first and len(panel._tiles) == 1  # what succeeded stays
        server.clear_faults()
        await panel.agenerate()
        assert panel.status == "done" and len(panel.history) == 2


@pytest.mark.anyio
async def test_closing_the_panel_mid_generation_leaves_nothing_running(tmp_path):
    import asyncio

    from fluxpanel.testing import ReferenceServer

    with ReferenceServer(latency=2.0) as server:
        client = fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=tmp_path)
        panel = fluxpanel.FluxPanel(client=client, prompt="a fox")
        task = asyncio.ensure_future(panel.agenerate())
        await asyncio.sleep(0.3)
        assert panel.running
        panel.close()
        with pytest.raises(asyncio.CancelledError):
            await task
        await asyncio.sleep(0.1)  # the client closes on the loop
        assert not panel.running
        assert client._engine._clients is None  # connections closed
        mine = [t for t in asyncio.all_tasks() if "fluxpanel" in repr(t.get_coro())]
        assert mine == []
    assert list(tmp_path.rglob(".tmp-*")) == []


def test_abandoned_cache_temp_files_are_removed(tmp_path):
    import os
    import time

    cache = fluxpanel.ResultCache(tmp_path)
    shard = tmp_path / "ab"
    shard.mkdir()
    old, new = shard / ".tmp-old.entry", shard / ".tmp-new.entry"
    old.write_bytes(b"half")
    new.write_bytes(b"being written")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert len(cache) == 0
    assert not old.exists() and new.exists()  # a write in progress is left alone


def test_restarting_the_kernel_mid_generation_leaves_nothing_behind(tmp_path):
    """A real kernel: a panel with history and a slow generation in flight, then
    a restart. The history folder and any cache temporary files are gone."""
    import os

    from jupyter_client.manager import start_new_kernel

    from fluxpanel.testing import ReferenceServer

    code = """
import asyncio, fluxpanel
client = fluxpanel.AsyncFluxClient(api_key={key!r}, url={url!r}, cache={cache!r})
panel = fluxpanel.FluxPanel(client=client, prompt="a fox")
earlier = fluxpanel.FluxPanel(provider="preview", prompt="x")
await earlier.agenerate()  # a history on disk
task = asyncio.ensure_future(panel.agenerate())  # a generation in flight
await asyncio.sleep(0.5)
print(earlier._runs.results.store._root(), panel.running)
"""
    printed: list[str] = []
    with ReferenceServer(latency=5.0) as server:
        km, kc = start_new_kernel(kernel_name="python3")
        run = code.format(key=server.api_key, url=server.url, cache=str(tmp_path))
        reply = kc.execute_interactive(
            run,
            timeout=60,
            output_hook=lambda m: (
                printed.append(m["content"].get("text", "")) if m["msg_type"] == "stream" else None
            ),
        )
        assert reply["content"]["status"] == "ok"
        history_dir, running = "".join(printed).split()
        assert running == "True" and os.path.isdir(history_dir)
        km.restart_kernel(now=False)  # a graceful restart, as JupyterLab's Restart does
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    assert not os.path.exists(history_dir)
    assert list(tmp_path.rglob(".tmp-*")) == []


def test_every_hostile_surface_is_in_the_attacks_table():
    from pathlib import Path

    files = {p.name for p in (Path(__file__).parent / "hostile").glob("test_*.py")}
    assert files == set(SURFACES)
    assert describe("tests/hostile/test_secrets.py::test_where_a_key_may_go[a-b-False]") == (
        "secrets",
        "where a key may go (a-b-False)",
    )
