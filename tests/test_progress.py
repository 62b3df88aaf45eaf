"""Progress as each host reports it, the phases in Generation.timings, the
expected time from this machine's recent runs, and the panel's progress."""

from __future__ import annotations

import pytest

import fluxpanel
from fluxpanel.providers import BlackForestLabs, Fal, Replicate
from fluxpanel.providers.replicate import log_fraction
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate

from .conftest import FAST_RETRY


def quick(cls, fake):
    provider = cls(api_key=fake.api_key, base_url=fake.base_url)
    provider.poll_first, provider.poll_max = 0.01, 0.02
    return provider


def run(provider, **params):
    events = []
    with fluxpanel.FluxClient(provider=provider, cache=False, retry=FAST_RETRY) as c:
        gen = c.generate(on_progress=events.append, **params)
    return gen, events


def test_black_forest_labs_progress():
    with FakeBFL(pending_polls=4) as fake:
        gen, events = run(quick(BlackForestLabs, fake), model="flux_dev", prompt="x", num_images=1)
    phases = [e.phase for e in events]
    assert phases[0] == "submitting" and phases[1] == "queued" and phases[-1] == "downloading"
    running = [e.fraction for e in events if e.phase == "running"]
    assert running and running == sorted(running) and 0 < running[0] < 1  # as the host says
    assert events[-1].describe() == "Downloading 1 of 1"
    assert all(e.elapsed >= 0 for e in events)
    assert {"queued", "running", "downloading"} <= set(gen.timings)


def test_flux_3s_states_are_phases_in_words():
    with FakeBFL(pending_polls=3) as fake:
        fake.waiting = ("Pending", "Reasoning", "Generating")
        _, events = run(quick(BlackForestLabs, fake), model="flux_dev", prompt="x")
    words = [e.describe() for e in events if e.phase == "running"]
    assert words[0].startswith("Reasoning") and words[-1].startswith("Generating")


def test_fal_queue_position():
    with FakeFal(queue_polls=3) as fake:
        gen, events = run(quick(Fal, fake), model="flux_dev", prompt="x")
    queued = [e for e in events if e.phase == "queued"]
    assert queued and queued[0].position is not None
    assert queued[0].describe().startswith("Queued, position ")
    assert any(e.phase == "running" for e in events) and "queued" in gen.timings


def test_replicate_reads_the_fraction_from_its_logs():
    assert log_fraction("Using seed: 3\n  0%|          | 0/4\n 50%|█████     | 2/4\n") == 0.5
    assert log_fraction("no bar here") is None and log_fraction(None) is None
    with FakeReplicate(processing_polls=5) as fake:
        _, events = run(quick(Replicate, fake), model="flux_schnell", prompt="x", go_fast=False)
    fractions = [e.fraction for e in events if e.phase == "running" and e.fraction is not None]
    assert fractions and fractions == sorted(fractions) and fractions[-1] > fractions[0]


def test_a_host_that_says_nothing_gives_the_expected_time_from_recent_runs(server, tmp_path):
    with fluxpanel.FluxClient(api_key=server.api_key, url=server.url, cache=tmp_path) as c:
        req = c.request(prompt="x")
        assert c._async.expected_seconds(req) is None  # nothing known yet
        for seed in (1, 2, 3):
            c.generate(prompt="x", seed=seed)
        expected = c._async.expected_seconds(req)
        events = []
        c.generate(prompt="x", seed=4, on_progress=events.append)
    assert expected is not None and expected > 0
    assert events[0].phase == "submitting" and events[0].fraction is None  # indeterminate
    assert all(e.expected == expected for e in events)
    assert (tmp_path / "recent-runs.json").exists()
    assert server.api_key not in (tmp_path / "recent-runs.json").read_text()


def test_recent_runs_are_read_again_only_when_the_file_changes(tmp_path, monkeypatch):
    from fluxpanel._durations import RecentRuns

    path = tmp_path / "recent-runs.json"
    ours, theirs = RecentRuns(path), RecentRuns(path)  # two kernels, one cache folder
    loads = []
    real_load = RecentRuns._load
    monkeypatch.setattr(RecentRuns, "_load", lambda self: loads.append(self) or real_load(self))
    ours.add("k", 2.0)
    ours.add("k", 4.0)
    assert ours.expected("k") == 3.0 and not path.exists()  # remembered, not yet written
    ours.save()
    assert theirs.expected("k") == 3.0  # the other process reads what was written
    before = len(loads)
    for _ in range(50):
        assert ours.expected("k") == 3.0 and theirs.expected("k") == 3.0
    assert len(loads) == before  # unchanged file: a stat, no read
    theirs.add("k", 6.0)
    theirs.save()
    assert ours.expected("k") == 4.0  # changed: read again


def test_remembering_a_run_does_not_hold_the_generation(server, tmp_path, monkeypatch):
    import threading

    from fluxpanel._durations import RecentRuns

    release = threading.Event()
    real_save = RecentRuns.save
    monkeypatch.setattr(RecentRuns, "save", lambda self: release.wait(10) and real_save(self))
    path = tmp_path / "recent-runs.json"
    with fluxpanel.FluxClient(api_key=server.api_key, url=server.url, cache=tmp_path) as c:
        for seed in (1, 2):
            c.generate(prompt="x", seed=seed)  # returns while the file is still being written
        assert c._async.expected_seconds(c.request(prompt="x")) is not None
        assert not path.exists()
        release.set()
    assert path.exists()  # closing the client waits for it


def test_a_progress_callback_that_raises_loses_nothing(server):
    def bad(progress):
        raise ValueError("oops")

    with fluxpanel.FluxClient(api_key=server.api_key, url=server.url, cache=False) as c:
        with pytest.warns(RuntimeWarning, match="on_progress callback raised"):
            gen = c.generate(prompt="x", num_images=2, on_progress=bad)
    assert len(gen) == 2


@pytest.mark.anyio
async def test_the_panel_shows_the_hosts_progress():
    with FakeBFL(pending_polls=3) as fake:
        client = fluxpanel.AsyncFluxClient(provider=quick(BlackForestLabs, fake), cache=False)
        panel = fluxpanel.FluxPanel(client=client, model="flux_dev", prompt="x")
        seen = []
        panel.observe(lambda c: seen.append(dict(c["new"])), "progress")
        await panel.agenerate()
    texts = [s["text"] for s in seen]
    assert texts[0] == "Submitting" and any(t.startswith("Running, ") for t in texts)
    assert texts[-1] == "Downloading 1 of 1" and seen[-1]["fraction"] == 1.0


@pytest.mark.anyio
async def test_runs_are_written_one_write_at_a_time_and_none_is_lost(server, tmp_path, monkeypatch):
    import asyncio
    import json
    import time

    from fluxpanel._durations import RecentRuns

    writes = []
    real_save = RecentRuns.save

    def slow_save(self):
        writes.append(self.dirty)
        time.sleep(0.05)  # a slow disk
        real_save(self)

    monkeypatch.setattr(RecentRuns, "save", slow_save)
    async with fluxpanel.AsyncFluxClient(
        api_key=server.api_key, url=server.url, cache=tmp_path
    ) as c:
        await asyncio.gather(*(c.generate(prompt="x", seed=s) for s in range(12)))
    runs = json.loads((tmp_path / "recent-runs.json").read_text())
    assert sum(len(v) for v in runs.values()) == 12  # every run written
    assert len(writes) < 12 and all(writes)  # coalesced, and never a write of nothing


def test_runs_finishing_together_are_written_once(server, tmp_path, monkeypatch):
    import asyncio
    import json

    from fluxpanel._durations import RecentRuns

    writes = []
    real_save = RecentRuns.save
    monkeypatch.setattr(RecentRuns, "save", lambda self: writes.append(1) or real_save(self))

    async def run() -> None:
        async with fluxpanel.AsyncFluxClient(
            api_key=server.api_key, url=server.url, cache=tmp_path
        ) as c:
            for seed in range(5):  # one after another, well within the write delay
                await c.generate(prompt="x", seed=seed)
            assert writes == []  # waiting to be written, in memory meanwhile
            assert c.expected_seconds(c.request(prompt="x")) is not None

    asyncio.run(run())
    assert writes == [1]  # closing wrote them, once
    runs = json.loads((tmp_path / "recent-runs.json").read_text())
    assert sum(len(v) for v in runs.values()) == 5


def test_runs_are_written_when_the_loop_ends_without_the_client_closed(server, tmp_path):
    import asyncio
    import json

    async def run() -> None:
        c = fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=tmp_path)
        await c.generate(prompt="x", seed=1)  # and the client is never closed

    asyncio.run(run())
    runs = json.loads((tmp_path / "recent-runs.json").read_text())
    assert sum(len(v) for v in runs.values()) == 1
