"""The ledger of paid tasks: written before the first poll, ended as tasks
end, released when a run stops waiting; ``resume()`` collecting what a
killed process paid for (none of it paid twice); a re-run joining its task;
two processes sharing one account's active tasks; the cost the host bills."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
import time

import httpx
import pytest

import fluxpanel
from fluxpanel import HostLimits
from fluxpanel._ledger import FILE, Ledger, alive
from fluxpanel.providers import BlackForestLabs, Fal
from fluxpanel.testing import FakeBFL, FakeFal

from .conftest import FAST_RETRY, quick, small_image


def rows(cache) -> list[dict]:
    """The ledger's tasks, read as another process would."""
    path = cache / FILE
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM tasks ORDER BY id")]
        except sqlite3.OperationalError:  # made, but its table not yet
            return []


def stopped_waiting(fake, cache, seed):
    """A run of a 0.6 s task whose deadline (0.2 s) passes while the task runs."""
    fake.run_seconds = 0.6
    with bfl_client(fake, cache, deadline=0.2) as c, pytest.raises(fluxpanel.RequestTimeout):
        c.generate(model="flux_dev", prompt="a fox", seed=seed)


def bfl_client(fake, cache, **kw):
    provider = quick(BlackForestLabs)(api_key=fake.api_key, base_url=fake.base_url)
    return fluxpanel.FluxClient(provider=provider, cache=cache, retry=FAST_RETRY, **kw)


# -- written, ended, released -------------------------------------------------------------


def test_each_task_is_written_before_its_first_poll_and_ended_when_its_images_are_in(tmp_path):
    cache = tmp_path / "cache"
    seen_at_first_poll: list[int] = []

    class Watch(httpx.AsyncBaseTransport):
        def __init__(self):
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request):
            if (
                request.method == "GET"
                and "get_result" in request.url.path
                and not seen_at_first_poll
            ):
                seen_at_first_poll.append(len(rows(cache)))
            return await self.inner.handle_async_request(request)

    with FakeBFL() as fake:
        with bfl_client(fake, cache, transport=Watch()) as c:
            gen = c.generate(model="flux_dev", prompt="a fox", seed=5, num_images=2)
    assert seen_at_first_poll == [2]  # both tasks, before any poll
    tasks = rows(cache)
    assert [t["status"] for t in tasks] == ["done", "done"]
    assert {t["task"] for t in tasks} == set(fake.tasks)
    assert all(t["billed"] == 0.025 for t in tasks)  # 2.5 credits each, as the host said
    assert gen.billed == pytest.approx(0.05) and gen.cost == pytest.approx(0.05)
    assert fake.api_key not in (cache / FILE).read_bytes().decode("latin-1")


def test_a_host_verdict_ends_the_task(tmp_path):
    cache = tmp_path / "cache"
    with FakeBFL() as fake:
        fake.fail("content_moderated")
        with bfl_client(fake, cache) as c, pytest.raises(fluxpanel.ModerationError):
            c.generate(model="flux_dev", prompt="a fox", seed=5)
    (task,) = rows(cache)
    assert task["status"] == "moderated" and task["billed"] == 0.025


def test_a_run_that_stops_waiting_leaves_its_task_to_resume(tmp_path):
    """A deadline passes while the task runs: the task is released, not
    lost; ``resume()`` collects it into the cache, and the same request then
    costs nothing."""
    cache = tmp_path / "cache"
    with FakeBFL() as fake:
        stopped_waiting(fake, cache, 9)
        (task,) = rows(cache)
        assert task["status"] == "pending" and task["owner"] == ""
        with bfl_client(fake, cache) as c:
            assert c.unfinished() == 1
            (gen,) = c.resume()
            assert gen.request.seed == 9 and len(gen.images) == 1
            again = c.generate(model="flux_dev", prompt="a fox", seed=9)
        assert again.cached and again.images[0].data == gen.images[0].data
        assert len(fake.submits) == 1  # paid once
    assert [t["status"] for t in rows(cache)] == ["done"]


def test_the_same_request_joins_its_task_at_the_host(tmp_path):
    cache = tmp_path / "cache"
    with FakeBFL() as fake:
        stopped_waiting(fake, cache, 3)
        with bfl_client(fake, cache) as c:
            gen = c.generate(model="flux_dev", prompt="a fox", seed=3)  # run again
        assert len(gen.images) == 1 and len(fake.submits) == 1


def test_a_run_cancelled_while_its_create_is_out_keeps_the_task_it_paid_for(tmp_path):
    """Cancelled while the host is still answering its create (the API of
    the seed answers with the images): the cancel takes effect at once, the
    answer is still waited for apart from the run and written to the ledger,
    and the same request again waits for it and fetches those images,
    paying nothing more."""
    from fluxpanel.testing import ReferenceServer

    cache = tmp_path / "cache"
    with ReferenceServer(latency=0.6, image_factory=small_image) as server:
        client = fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=cache)

        async def cancelled_then_again():
            run = asyncio.ensure_future(client.generate(model="flux_schnell", prompt="a", seed=5))
            while not server.posts:  # the create has reached the host
                await asyncio.sleep(0.01)
            run.cancel()
            stopped = time.monotonic()
            with pytest.raises(asyncio.CancelledError):
                await run
            assert time.monotonic() - stopped < 0.4  # not kept waiting for the host's answer
            again = await client.generate(model="flux_schnell", prompt="a", seed=5)
            await client.aclose()
            return again

        again = asyncio.run(cancelled_then_again())
        assert len(server.posts) == 1 and len(again.images) == 1
    assert [t["status"] for t in rows(cache)] == ["done"]


def test_a_create_answered_after_its_run_was_cancelled_is_left_for_resume(tmp_path):
    from fluxpanel.testing import ReferenceServer

    cache = tmp_path / "cache"
    with ReferenceServer(latency=0.5, image_factory=small_image) as server:
        client = fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=cache)

        async def cancelled_then_resumed():
            run = asyncio.ensure_future(client.generate(model="flux_schnell", prompt="b", seed=2))
            while not server.posts:
                await asyncio.sleep(0.01)
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)
            for _ in range(100):  # the answer comes after the cancel; written, then released
                if [t["owner"] for t in rows(cache)] == [""]:
                    break
                await asyncio.sleep(0.05)
            (task,) = rows(cache)
            assert task["status"] == "pending" and task["owner"] == ""  # nobody follows it
            collected = await client.resume()
            await client.aclose()
            return collected

        (gen,) = asyncio.run(cancelled_then_resumed())
        assert gen.request.seed == 2 and len(server.posts) == 1


def test_a_task_the_host_no_longer_keeps_is_marked_expired(tmp_path):
    cache = tmp_path / "cache"
    with FakeBFL() as fake:
        stopped_waiting(fake, cache, 3)
        with sqlite3.connect(cache / FILE) as db:
            db.execute("UPDATE tasks SET keep_until = ?", (time.time() - 1,))
        with bfl_client(fake, cache) as c:
            assert c.resume() == []
    (task,) = rows(cache)
    assert task["status"] == "expired"
    assert "Black Forest Labs keeps results for 10 minutes" in task["note"]


def test_module_resume_collects_at_the_hosts_whose_keys_are_set(server, tmp_path, monkeypatch):
    """The API page's service answers its images at once; their download
    fails: the task is kept, and ``fluxpanel.resume()`` fetches them."""
    for k, v in server.env().items():
        monkeypatch.setenv(k, v)
    cache = tmp_path / "cache"
    server.fail_images("status", status=503, times=20)
    with fluxpanel.FluxClient(cache=cache, retry=FAST_RETRY) as c:
        with pytest.raises(fluxpanel.FluxError):
            c.generate(prompt="a fox", seed=4)
    server.clear_faults()
    (gen,) = fluxpanel.resume(cache)
    assert gen.request.seed == 4 and len(gen.images) == 1
    assert len(server.posts) == 1


# -- processes ---------------------------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    import fluxpanel
    from fluxpanel.providers import {provider}

    async def main():
        provider = {provider}(api_key=os.environ["KEY"], base_url=os.environ["BASE"])
        async with fluxpanel.AsyncFluxClient(
            provider=provider, cache=os.environ["CACHE"], limits=fluxpanel.HostLimits({limits}),
            ledger=os.environ.get("LEDGER") != "off",
        ) as c:
            results = await asyncio.gather(
                *(c.generate(model="flux_dev", prompt="a fox", seed=i + 1 + {first})
                  for i in range({n})),
                return_exceptions=True,
            )
        failed = [r for r in results if isinstance(r, BaseException)]
        print(len(failed), "failed", failed[:3])
        sys.exit(1 if failed else 0)

    asyncio.run(main())
    """
)


def child(tmp_path, fake, cache, *, provider, limits, n, name="child.py", first=0):
    """A process making ``n`` generations (seeds ``first + 1`` on)."""
    script = tmp_path / name
    script.write_text(CHILD.format(provider=provider, limits=limits, n=n, first=first))
    env = {**os.environ, "KEY": fake.api_key, "BASE": fake.base_url, "CACHE": str(cache)}
    return subprocess.Popen(
        [sys.executable, str(script)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def test_a_killed_process_s_paid_tasks_are_all_collected_none_paid_twice(tmp_path):
    cache = tmp_path / "cache"
    with FakeFal() as fake:
        fake.run_seconds = 120.0  # still running at the host when the process dies
        proc = child(tmp_path, fake, cache, provider="Fal", limits="in_flight=256", n=200)
        deadline = time.monotonic() + 60
        while len(rows(cache)) < 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.kill()
        proc.wait(10)
        assert len(fake.submits) == 200 and len(rows(cache)) == 200
        assert not alive(rows(cache)[0]["owner"])
        fake.run_seconds = 0.0  # they finish
        provider = quick(Fal)(api_key=fake.api_key, base_url=fake.base_url)
        with fluxpanel.FluxClient(
            provider=provider, cache=cache, limits=HostLimits(in_flight=64)
        ) as c:
            found = c.resume()
            assert sorted(g.request.seed for g in found) == list(range(1, 201))
            assert all(len(g.images) == 1 for g in found)
            again = c.generate(model="flux_dev", prompt="a fox", seed=77)
        assert again.cached
        assert len(fake.submits) == 200  # every paid task collected, none paid twice
    assert {t["status"] for t in rows(cache)} == {"done"}


def test_two_processes_share_one_accounts_active_tasks(tmp_path):
    cache = tmp_path / "cache"
    with FakeBFL() as fake:
        fake.max_active, fake.run_seconds = 6, 0.2
        procs = [
            child(
                tmp_path,
                fake,
                cache,
                provider="BlackForestLabs",
                limits="active=6",
                n=24,
                name=f"kernel{i}.py",
                first=100 * i,
            )
            for i in range(2)
        ]  # each its own requests: the same one would be joined, not made twice
        outputs = [p.communicate(timeout=120)[0].decode() for p in procs]
        assert [p.returncode for p in procs] == [0, 0], outputs
        made = len(fake.submits) - fake.refused_active
    assert made == 48 and fake.max_active_seen <= 6
    assert fake.refused_active == 0  # each took its slots of the account in the ledger


# -- the ledger alone --------------------------------------------------------------------------


def test_a_process_that_exits_commits_the_task_it_was_holding_back(tmp_path):
    """A task's row waits up to LINGER to be committed with others; a kernel
    shut down or restarted that moment still leaves it in the ledger."""
    cache = tmp_path / "cache"
    code = textwrap.dedent(
        f"""
        from fluxpanel._flow import TaskRef
        from fluxpanel._ledger import LINGER, ledger_at

        assert LINGER >= 0.05
        ledger_at({str(cache)!r}).record(
            provider="bfl", endpoint="/v1/flux-dev", model="flux_dev", cache_key="k",
            request={{"prompt": "a fox"}}, part=0, parts=1,
            task=TaskRef("task-1", {{"polling_url": "https://api.bfl.ai/v1/get_result"}}),
            keep_for=600.0, estimate=0.025,
        )
        """
    )  # the process ends at once, the row still held back
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    [row] = rows(cache)
    assert (row["task"], row["status"], row["provider"]) == ("task-1", "pending", "bfl")


def test_owners_are_alive_until_their_process_ends(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with open(f"/proc/{proc.pid}/stat", "rb") as f:
            started = f.read().rsplit(b")", 1)[1].split()[19].decode()
        owner = f"{proc.pid}:{started}"
        assert alive(owner)
        assert not alive(f"{proc.pid}:1")  # the same id, another process
    finally:
        proc.kill()
        proc.wait()
    assert not alive(owner)


def test_a_ledger_that_cannot_be_written_is_a_warning_not_a_failure(tmp_path, server):
    blocked = tmp_path / "cache"
    blocked.mkdir()
    (blocked / FILE).mkdir()  # a folder where the database goes
    with pytest.warns(fluxpanel.CacheWarning, match="ledger of paid tasks"):
        with fluxpanel.FluxClient(api_key=server.api_key, url=server.url, cache=blocked) as c:
            assert len(c.generate(prompt="a fox", seed=1).images) == 1


def test_the_ledger_is_one_file_safe_for_several_writers(tmp_path):
    a, b = Ledger(tmp_path), Ledger(tmp_path)
    try:
        for ledger in (a, b):
            assert ledger.tasks() == []
        with sqlite3.connect(tmp_path / FILE) as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        a.close()
        b.close()


# -- the panel --------------------------------------------------------------------------------


def test_a_panel_opened_after_a_restart_collects_what_was_paid(tmp_path, monkeypatch):
    import asyncio

    cache = tmp_path / "cache"
    monkeypatch.setenv("FLUXPANEL_CACHE_DIR", str(cache))
    with FakeBFL() as fake:
        stopped_waiting(fake, cache, 9)  # a run the restart interrupted

        async def main():
            provider = quick(BlackForestLabs)(api_key=fake.api_key, base_url=fake.base_url)
            panel = fluxpanel.FluxPanel(provider=provider, prompt="a fox")
            said = []
            for _ in range(200):
                await asyncio.sleep(0.02)
                said.append(panel.status_text)
                if panel._history:
                    break
            await asyncio.sleep(0.05)
            return panel, said

        panel, said = asyncio.run(main())
        assert "1 paid generation is from before the restart still being collected" in said
        assert [h["seed"] for h in panel._history] == [9]
        assert "collected: in the history" in panel.status_text
        assert len(fake.submits) == 1


def test_the_panel_shows_what_the_host_billed(tmp_path, monkeypatch):
    import asyncio

    monkeypatch.setenv("FLUXPANEL_CACHE_DIR", str(tmp_path / "cache"))
    with FakeBFL() as fake:

        async def main():
            provider = quick(BlackForestLabs)(api_key=fake.api_key, base_url=fake.base_url)
            panel = fluxpanel.FluxPanel(provider=provider, prompt="a fox", model="flux_dev")
            await panel.agenerate()
            return panel

        panel = asyncio.run(main())
    assert panel.cost_text == "this session ≈ $0.025 · billed $0.025"


def test_a_slot_passes_to_the_next_task_here_without_a_transaction(tmp_path, monkeypatch):
    """At Black Forest Labs each task needs a slot of the account's active
    tasks: a run of many takes one in a transaction only at its start, then
    each ended task's slot passes on; none is left reserved once it closes."""
    cache = tmp_path / "cache"
    taken = []
    real_take = Ledger.take

    def take(self, *args, **kw):
        taken.append(args)
        return real_take(self, *args, **kw)

    monkeypatch.setattr(Ledger, "take", take)

    async def run(fake):
        provider = quick(BlackForestLabs)(api_key=fake.api_key, base_url=fake.base_url)
        async with fluxpanel.AsyncFluxClient(
            provider=provider, cache=cache, limits=HostLimits(active=4)
        ) as c:
            return await asyncio.gather(
                *(c.generate(model="flux_dev", prompt="a fox", seed=i + 1) for i in range(16))
            )

    with FakeBFL() as fake:
        fake.max_active, fake.run_seconds = 4, 0.1
        gens = asyncio.run(run(fake))
    assert len(gens) == 16 and fake.refused_active == 0 and fake.max_active_seen <= 4
    assert len(taken) <= 8  # not one a task: the slots passed on
    assert {t["status"] for t in rows(cache)} == {"done"}  # no slot left reserved


def test_a_process_that_ended_follows_nothing_before_it_is_reaped():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        with open(f"/proc/{proc.pid}/stat", "rb") as f:
            started = f.read().rsplit(b")", 1)[1].split()[19].decode()
        deadline = time.monotonic() + 10
        while alive(f"{proc.pid}:{started}") and time.monotonic() < deadline:
            time.sleep(0.05)  # it exits, and is not waited for: a zombie
        assert not alive(f"{proc.pid}:{started}")
    finally:
        proc.wait()
