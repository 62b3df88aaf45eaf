"""Nothing paid for is lost: a cache or history that cannot be written, a
user's observer that raises, a grid with one unreadable answer."""

from __future__ import annotations

import warnings

import pytest

import fluxpanel
from fluxpanel.testing import ReferenceServer

from ..conftest import FAST_RETRY, small_image


def test_a_cache_that_cannot_be_written_keeps_the_paid_images(server, tmp_path):
    in_the_way = tmp_path / "cache"
    in_the_way.write_text("a file where the cache's folder should be")
    # The images are handed over first, then written (closing waits for it).
    with pytest.warns(fluxpanel.CacheWarning, match="could not write"):
        with fluxpanel.FluxClient(
            api_key=server.api_key, url=server.url, cache=in_the_way / "results", retry=FAST_RETRY
        ) as c:
            gen = c.generate(prompt="a fox", seed=3)
    assert len(gen.images) == 1 and gen.images[0].data
    assert len(server.posts) == 1


def test_run_times_that_cannot_be_kept_never_cost_the_paid_images(server, tmp_path, monkeypatch):
    from fluxpanel._durations import RecentRuns

    def broken(self, *args):
        raise RuntimeError("the timings store is broken")

    monkeypatch.setattr(RecentRuns, "add", broken)
    monkeypatch.setattr(RecentRuns, "expected", lambda self, key: None)
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, cache=tmp_path, retry=FAST_RETRY
    ) as c:
        gen = c.generate(prompt="a fox", seed=3)
    assert len(gen.images) == 1 and gen.images[0].data
    assert len(server.posts) == 1


def test_a_folder_that_cannot_hold_run_times_is_no_failure(server, tmp_path):
    in_the_way = tmp_path / "ro"
    in_the_way.write_text("a file where the folder should be")  # unwritable even for root
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, cache=False, retry=FAST_RETRY
    ) as c:
        c._async._runs.path = in_the_way / "sub" / "recent-runs.json"
        gens = [c.generate(prompt="a fox", seed=s) for s in (1, 2)]
        assert c._async.expected_seconds(gens[0].request) is not None  # kept in memory
    assert all(len(g.images) == 1 for g in gens)
    assert in_the_way.is_file()


def test_the_default_cache_misconfigured_by_environment(server, tmp_path, monkeypatch):
    target = tmp_path / "not-a-folder"
    target.write_bytes(b"x")
    monkeypatch.setenv("FLUXPANEL_CACHE_DIR", str(target))
    with warnings.catch_warnings(record=True) as seen:  # until closed: its writes are done
        warnings.simplefilter("always")
        with fluxpanel.FluxClient(api_key=server.api_key, url=server.url) as c:
            gen = c.generate(prompt="a fox", seed=4)
    assert gen.images and any(issubclass(w.category, fluxpanel.CacheWarning) for w in seen)


def _panel(server):
    client = fluxpanel.AsyncFluxClient(
        api_key=server.api_key, url=server.url, cache=False, retry=FAST_RETRY
    )
    return fluxpanel.FluxPanel(client=client, prompt="a fox", seed=5)


@pytest.mark.anyio
async def test_an_observer_that_raises_cannot_leave_the_panel_running(server):
    panel = _panel(server)
    raised = []

    def careless(change):
        if not raised:
            raised.append(change["new"])
            raise RuntimeError("a bug in the user's callback")

    panel.observe(careless, "status")
    with pytest.warns(RuntimeWarning, match="a bug in the user's callback"):
        gen = await panel.agenerate()
    assert raised == ["running"]
    assert panel.status == "done" and not panel.running
    assert panel.result is gen and len(panel.images) == 1
    await panel.agenerate()  # Generate works again
    assert len(server.posts) == 2


@pytest.mark.anyio
async def test_an_observer_that_always_raises_still_ends_the_run(server):
    panel = _panel(server)

    def broken(change):
        raise ValueError("always")

    panel.observe(broken, "status")
    with pytest.warns(RuntimeWarning):
        gen = await panel.agenerate()
    assert panel.status == "done" and not panel.running and panel.result is gen


@pytest.mark.anyio
async def test_a_history_that_cannot_be_written_keeps_the_paid_images(server):
    panel = _panel(server)

    def full_disk(entry, gen):
        raise OSError(28, "No space left on device")

    panel._runs.results.store.add = full_disk
    gen = await panel.agenerate()
    assert panel.status == "done" and panel.result is gen and len(panel.images) == 1
    assert "not kept in the history" in panel.status_text
    assert "No space left on device" in panel.status_text
    assert len(panel._tiles) == 1  # shown


@pytest.mark.anyio
async def test_an_on_image_callback_that_raises_keeps_the_image(server):
    client = fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=False)

    def bad(image):
        raise KeyError("oops")

    with pytest.warns(RuntimeWarning, match="on_image callback raised"):
        gen = await client.generate(prompt="a fox", num_images=2, on_image=bad)
    assert len(gen.images) == 2 and not gen.errors


def test_one_unreadable_answer_is_one_error_cell(tmp_path):
    deep = b"[" * 200_000 + b"]" * 200_000
    with ReferenceServer(image_factory=small_image) as server:
        server.answer("POST", r"^/v1/generate$", deep)
        client = fluxpanel.FluxClient(
            api_key=server.api_key, url=server.url, cache=False, retry=FAST_RETRY
        )
        comparison = fluxpanel.compare(
            "a fox",
            client=client,
            model="flux_dev",
            steps=[10, 20, 30],
            concurrency=1,
            display=False,
            seed=1,
        )
    assert len(comparison.failed) == 1
    assert isinstance(comparison.failed[0].error, fluxpanel.APIError)
    assert "cannot read" in str(comparison.failed[0].error)
    assert len(comparison.generations) == 2  # the paid cells are kept
    assert "failed" in comparison._repr_html_()
