"""Long runs at each host's published limits: 1,000 images against a loopback
fake that enforces them (in a process of its own), the client in a fresh
process too, so its CPU time and peak memory are its own.

- Black Forest Labs: 24 active tasks; the ideal is ceil(N / 24) task times.
- Replicate: 600 creates a minute (here a minute of 12 s, the same limit
  five times over, so a run takes seconds); the ideal is N / rate, plus one
  task.
- fal: the account's concurrency C (50 here), past which requests queue at
  fal; the ideal is ceil(N / C) task times.

Each run reports the time against its ideal, what failed, was lost or was
billed twice (creates the host counted beyond N), the client's CPU time per
generation, the ledger's share of it, and the peak memory at N=1,000 against
N=100. A cache write is timed with 10 and with 10,000 entries in the cache.

    python -m benchmarks.limits      # prints the rows (make bench runs them too)
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TASK = 1.0  # seconds each task runs at the host

#: The fakes, each enforcing its host's published limit (see fluxpanel.testing).
FAKES = {
    "bfl": "FakeBFL(max_active=24); fake.run_seconds = {task}",
    "replicate": "FakeReplicate(); fake.run_seconds = {task}; fake.limit_creates(600, 10, minute=12.0)",
    "fal": "FakeFal(); fake.run_seconds = {task}; fake.concurrency = 50",
}
#: The client's side: the published limits (Replicate's scaled like the fake's minute).
CLIENTS = {
    "bfl": ("BlackForestLabs", "None"),
    "replicate": ("Replicate", "fluxpanel.HostLimits(per_minute=3000, burst=10, in_flight=64)"),
    "fal": ("Fal", "None"),
}


def ideal(host: str, n: int) -> float:
    if host == "bfl":
        return math.ceil(n / 24) * TASK
    if host == "replicate":
        return n / (600 / 12.0) + TASK
    return math.ceil(n / 50) * TASK


class FakeProcess:
    """A host's fake in a process of its own; ``stats()`` reads its counts."""

    def __init__(self, host: str) -> None:
        setup = FAKES[host].format(task=TASK)
        code = textwrap.dedent(
            f"""
            import json, sys
            from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate
            fake = {setup.split(";")[0]}
            fake.start()
            {";".join(setup.split(";")[1:]).strip()}
            print(fake.base_url, fake.api_key, flush=True)
            for line in sys.stdin:
                creates = getattr(fake, "submits", None) or getattr(fake, "creates", [])
                refused = getattr(fake, "refused_active", 0) + getattr(fake, "throttled", 0)
                print(json.dumps({{"creates": len(creates), "refused": refused}}), flush=True)
            """
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self.base_url, self.api_key = self.proc.stdout.readline().split()

    def stats(self) -> dict[str, int]:
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)


CLIENT = textwrap.dedent(
    """
    import asyncio, json, resource, sys, time
    import fluxpanel
    from fluxpanel.providers import {provider}

    async def main():
        provider = {provider}(api_key="{key}", base_url="{base}")
        async with fluxpanel.AsyncFluxClient(
            provider=provider, cache="{cache}", limits={limits}
        ) as client:
            requests = [dict(model="flux_dev", prompt="a fox", seed=i + 1) for i in range({n})]
            cpu0, started = time.process_time(), time.perf_counter()
            batch = client.amap(requests, progress=False)
            items = [0, 0]
            async for item in batch:
                items[item.ok] += 1
            took = time.perf_counter() - started
            cpu = time.process_time() - cpu0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(json.dumps({{"took": took, "cpu": cpu, "ok": items[1], "failed": items[0],
                          "ledger_cpu": client._ledger.cpu, "peak": peak}}))

    asyncio.run(main())
    """
)


def run(host: str, n: int) -> dict[str, Any]:
    """``n`` generations at ``host``'s limits: the client's figures and the fake's counts."""
    fake = FakeProcess(host)
    try:
        provider, limits = CLIENTS[host]
        with tempfile.TemporaryDirectory() as cache:
            code = CLIENT.format(
                provider=provider, key=fake.api_key, base=fake.base_url, cache=cache,
                limits=limits, n=n,
            )  # fmt: skip
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        counts = fake.stats()
    finally:
        fake.close()
    figures["billed_twice"] = max(0, counts["creates"] - counts["refused"] - n)
    figures["refused"] = counts["refused"]
    figures["lost"] = n - figures["ok"] - figures["failed"]
    return figures


def _filled_cache(folder: str, entries: int) -> Any:
    """A cache in ``folder`` holding ``entries`` entries, every shard made."""
    import fluxpanel

    for shard in range(256):
        (Path(folder) / f"{shard:02x}").mkdir()
    for i in range(entries):
        (Path(folder) / f"{i % 256:02x}" / f"{i:064x}.entry").write_bytes(b"x" * 64)
    return fluxpanel.ResultCache(folder)


def cache_writes(sizes: tuple[int, ...] = (10, 10_000), writes: int = 200) -> dict[int, float]:
    """Median seconds per cache write with each of ``sizes`` entries already in
    the cache. The caches are filled first and the filesystem synced, so no
    write is timed against the filling's own writeback (a cache that holds
    10,000 entries was filled long before, not a second ago); then the caches
    take turns, write by write, each first every other time, so the
    machine's drift falls on each alike."""
    import fluxpanel
    from fluxpanel.testing import solid_png

    request = fluxpanel.GenerationRequest(prompt="a fox", seed=1)
    image = fluxpanel.GeneratedImage(solid_png(64, 64), "image/png", 64, 64, 1, 0, request, "x")
    provider = fluxpanel.providers.FluxAPI(api_key="k", url="http://127.0.0.1:1/v1")
    with tempfile.TemporaryDirectory() as root:
        caches = {n: _filled_cache(tempfile.mkdtemp(dir=root), n) for n in sizes}
        first = fluxpanel.Generation(request=request, images=[image], provider="flux-api")
        for cache in caches.values():  # the first write learns the cache's size
            cache.put(first, provider)
        os.sync()
        times: dict[int, list[float]] = {n: [] for n in sizes}
        for i in range(writes):
            gen = fluxpanel.Generation(
                request=request.replace(seed=i + 2), images=[image], provider="flux-api"
            )
            for n, cache in sorted(caches.items(), reverse=i % 2 == 1):  # each goes first
                started = time.perf_counter()
                cache.put(gen, provider)
                times[n].append(time.perf_counter() - started)
        return {n: statistics.median(t) for n, t in times.items()}


def main() -> None:
    for host in ("bfl", "replicate", "fal"):
        r = run(host, 1000)
        print(host, json.dumps(r), f"ideal {ideal(host, 1000):.1f} s")
    print("cache write", cache_writes())


if __name__ == "__main__":
    main()


def figures(make: Any) -> list[Any]:
    """The rows of ``make bench`` (``make`` builds a benchmarks.run.Figure)."""
    n = 1000
    runs = {host: run(host, n) for host in ("bfl", "replicate", "fal")}
    small = run("bfl", 100)
    names = {"bfl": "Black Forest Labs, 24 active", "replicate": "Replicate, 600 a minute (x5)",
             "fal": "fal, concurrency 50"}  # fmt: skip
    rows = [
        make(f"1,000 at {names[h]}", ideal(h, n), r["took"], 1.10, "s",
             "the limit-bound ideal", note=f"{r['refused']} answers of 429 waited out")
        for h, r in runs.items()
    ]  # fmt: skip
    bad = sum(r["failed"] + r["lost"] + r["billed_twice"] for r in runs.values())
    rows.append(make("failed, lost or billed twice, 3 x 1,000", 1, bad, 0, "n", "none"))
    rows.append(make("peak memory, 1,000 against 100 (BFL)", small["peak"], runs["bfl"]["peak"],
                     2.0, "B", "the same run of 100"))  # fmt: skip
    for h, r in runs.items():
        cpu = r["cpu"] / n
        rows.append(make(f"ledger CPU per generation, {names[h].split(',')[0]}", cpu,
                         r["ledger_cpu"] / n, 0.02, "s", "the client's CPU per generation",
                         note=f"{1 / cpu:.0f} generations a second a core"))  # fmt: skip
    write = cache_writes()
    rows.append(make("a cache write, 10,000 entries against 10", write[10], write[10_000], 1.25,
                     "s", "the same write with 10 entries", note="median of 200 each, in turn"))  # fmt: skip
    return rows
