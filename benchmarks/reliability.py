"""Faults and load, against the loopback reference server: what happens, how
many billable POSTs the server saw, how many retries, how long to recover.

    python -m benchmarks.reliability          # prints the tables (make reliability)

The same scenarios are asserted by tests/test_reliability.py.
"""

from __future__ import annotations

import asyncio
import gc
import socket
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

import fluxpanel
from fluxpanel.testing import ReferenceServer, solid_png

QUICK = fluxpanel.RetryPolicy(max_retries=3, base=0.05, cap=0.2)


def small_image(request, index):
    c = zlib.crc32(f"{request.seed}:{index}".encode())
    return solid_png(32, 32, (c & 255, (c >> 8) & 255, (c >> 16) & 255))


@dataclass
class Scenario:
    name: str
    setup: Callable[[ReferenceServer], None]
    #: The outcome expected: "ok" or an error class name.
    expect: str
    #: Billable POSTs the server may see at most.
    max_posts: int = 1
    client: dict | None = None
    #: Retries expected, where the count is fixed.
    retries: int | None = None


@dataclass
class Outcome:
    scenario: Scenario
    outcome: str
    posts: int
    retries: int
    seconds: float

    @property
    def as_expected(self) -> bool:
        return self.outcome == self.scenario.expect and self.posts <= self.scenario.max_posts


class _Counting(httpx.AsyncHTTPTransport):
    """Counts the client's attempts, including those that never reached a server."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts: dict[str, int] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts[request.method] = self.attempts.get(request.method, 0) + 1
        return await super().handle_async_request(request)


def _dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SCENARIOS = [
    Scenario(
        "429 with Retry-After", lambda s: s.fail("status", status=429, retry_after=0.2), "ok", 2
    ),
    Scenario("429 without Retry-After", lambda s: s.fail("status", status=429), "ok", 2),
    Scenario(
        "429 with Retry-After beyond 60 s",
        lambda s: s.fail("status", status=429, retry_after=120),
        "RateLimitError",
    ),
    *(
        Scenario(
            f"{code} on the POST",
            (lambda c: lambda s: s.fail("status", status=c))(code),
            "ServerError",
        )
        for code in (500, 502, 503, 504)
    ),
    Scenario("connection refused", lambda s: None, "ConnectError", 0, {"url": "dead"}, retries=3),
    Scenario("connection dropped before the answer", lambda s: s.fail("drop"), "TransportError"),
    Scenario("connection reset mid-body", lambda s: s.fail("reset"), "TransportError"),
    Scenario(
        "read timeout on the POST",
        lambda s: s.fail("hang", seconds=1.0),
        "RequestTimeout",
        1,
        {"timeout": 0.3},
    ),
    Scenario("slow-drip answer", lambda s: s.fail("slow", chunk=8, interval=0.01), "ok"),
    Scenario("malformed JSON", lambda s: s.fail("malformed"), "APIError"),
    Scenario("truncated JSON", lambda s: s.fail("truncated"), "APIError"),
    Scenario("empty list of URLs", lambda s: s.fail("empty"), "APIError"),
    *(
        Scenario(
            f"image URL {code}",
            (lambda c: lambda s: s.fail_images("status", status=c))(code),
            "ResultExpiredError",
        )
        for code in (403, 404, 410)
    ),
    Scenario("image 503 once", lambda s: s.fail_images("status", status=503), "ok", retries=1),
    Scenario("image connection reset", lambda s: s.fail_images("reset"), "ok", retries=1),
    Scenario("truncated image", lambda s: s.fail_images("truncated"), "ImageError"),
    Scenario("not an image", lambda s: s.fail_images("not_image"), "ImageError"),
    Scenario(
        "image over the size cap",
        lambda s: s.fail_images("oversized", size=3_000_000),
        "ImageError",
        1,
        {"max_image_bytes": 1_000_000},
    ),
    Scenario("decompression bomb", lambda s: s.fail_images("bomb"), "ImageError"),
]


def run_scenario(scenario: Scenario) -> Outcome:
    with ReferenceServer(image_factory=small_image) as server:
        options = dict(scenario.client or {})
        url = server.url
        if options.pop("url", None) == "dead":
            url = f"http://127.0.0.1:{_dead_port()}/v1/generate"
        scenario.setup(server)
        counting = _Counting()
        started = time.perf_counter()
        with fluxpanel.FluxClient(
            api_key=server.api_key, url=url, retry=QUICK, cache=False, transport=counting, **options
        ) as c:
            try:
                c.generate(model="flux_dev", prompt="reliability")
                outcome = "ok"
            except fluxpanel.FluxError as e:
                outcome = type(e).__name__
        seconds = time.perf_counter() - started
        if "read timeout" in scenario.name:
            time.sleep(0.8)  # let the server finish, so its count is complete
        # Retries: attempts beyond the first POST and the first image download.
        tries = counting.attempts
        retries = max(tries.get("POST", 0) - 1, 0) + max(tries.get("GET", 0) - 1, 0)
        return Outcome(scenario, outcome, len(server.posts), retries, seconds)


@dataclass
class LoadResult:
    requests: int
    results: int
    errors: dict[str, int]
    posts: int
    duplicates: int
    lost: int
    memory_growth: float
    seconds: float
    #: The client's memory (bytes) at each fifth of the run.
    memory: tuple[int, ...] = ()


def _client_memory() -> int:
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    kept = [t for t in snapshot.traces if _keep(t)]
    return sum(t.size for t in kept)


def _keep(trace: tracemalloc.Trace) -> bool:
    name = trace.traceback[0].filename.replace("\\", "/")
    if "/fluxpanel/testing/" in name:
        return False
    return any(part in name for part in ("/fluxpanel/", "/httpx/", "/httpcore/", "/h11/"))


async def _load(n: int, concurrency: int, chaos: float, seed: int) -> LoadResult:
    with ReferenceServer(image_factory=small_image, chaos=chaos, chaos_seed=seed) as server:
        async with fluxpanel.AsyncFluxClient(
            api_key=server.api_key, url=server.url, cache=False, retry=QUICK
        ) as client:
            gate = asyncio.Semaphore(concurrency)
            outcomes: dict[int, str] = {}
            memory: list[int] = []

            async def one(i: int) -> None:
                async with gate:
                    try:
                        gen = await client.generate(model="flux_schnell", prompt="load", seed=i)
                        outcome = "result" if gen.seed == i and len(gen) == 1 else "wrong"
                    except fluxpanel.FluxError as e:
                        outcome = type(e).__name__
                    outcomes[i] = outcome
                    if i % (n // 5) == n // 5 - 1:
                        memory.append(_client_memory())

            tracemalloc.start()
            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(n)))
            seconds = time.perf_counter() - started
            tracemalloc.stop()
        sent = [p.json()["seed"] for p in server.posts]
        errors: dict[str, int] = {}
        for outcome in outcomes.values():
            if outcome != "result":
                errors[outcome] = errors.get(outcome, 0) + 1
        return LoadResult(
            requests=n,
            results=sum(1 for o in outcomes.values() if o == "result"),
            errors=errors,
            posts=len(sent),
            duplicates=len(sent) - len(set(sent)),
            lost=n - len(outcomes),
            memory_growth=memory[-1] / memory[0] if memory and memory[0] else 1.0,
            seconds=seconds,
            memory=tuple(memory),
        )


def run_load(n: int = 1000, concurrency: int = 8, chaos: float = 0.1, seed: int = 1) -> LoadResult:
    return asyncio.run(_load(n, concurrency, chaos, seed))


#: The attack suites in tests/hostile/, by surface (a new surface adds its file here).
SURFACES = {
    "test_paid_results.py": "paid results",
    "test_secrets.py": "secrets",
    "test_servers.py": "hostile servers",
    "test_files.py": "files and folders",
    "test_inputs.py": "image inputs",
}


@dataclass
class Attack:
    surface: str
    name: str
    outcome: str  # "held", or "DEFECT" when the attack succeeded

    @property
    def held(self) -> bool:
        return self.outcome == "held"


def describe(nodeid: str) -> tuple[str, str]:
    """``(surface, attack)`` in words, from a test's node id."""
    path, _, test = nodeid.partition("::")
    name, _, params = test.partition("[")
    words = name.removeprefix("test_").replace("_", " ")
    if params:
        words += f" ({params.rstrip(']')})"
    return SURFACES.get(path.rsplit("/", 1)[-1], path), words


def run_attacks(root: str = "tests/hostile") -> list[Attack]:
    """Every attack of the hostile suite, run, with its outcome. The suite is
    the one definition of each attack; this only reports it."""
    import pytest

    attacks: list[Attack] = []

    class Collect:
        def pytest_runtest_logreport(self, report: Any) -> None:
            failed_setup = report.when == "setup" and not report.passed
            if report.when == "call" or failed_setup:
                surface, name = describe(report.nodeid)
                attacks.append(Attack(surface, name, "held" if report.passed else "DEFECT"))

    pytest.main(
        ["-q", "-p", "no:cacheprovider", "--no-header", "-o", "addopts=", root], plugins=[Collect()]
    )
    return attacks


def main() -> None:
    rows = [run_scenario(s) for s in SCENARIOS]
    width = max(len(r.scenario.name) for r in rows)
    print(
        f"{'fault':<{width}}  {'outcome':<20} {'POSTs':>5} {'retries':>7} {'time':>7}  as expected"
    )
    for r in rows:
        print(
            f"{r.scenario.name:<{width}}  {r.outcome:<20} {r.posts:>5} {r.retries:>7} "
            f"{r.seconds:>6.2f}s  {'yes' if r.as_expected else 'NO'}"
        )
    load = run_load()
    print()
    print(
        f"load: {load.requests} requests at concurrency 8, 10% of calls and downloads failing: "
        f"{load.results} results, {sum(load.errors.values())} typed errors {load.errors}, "
        f"{load.lost} lost, {load.duplicates} sent twice, {load.posts} POSTs, "
        f"client memory {load.memory_growth:.2f}x from 20% to 100% of the run, "
        f"{load.seconds:.1f} s"
    )
    attacks = run_attacks()
    print()
    width = max(len(a.name) for a in attacks)
    print(f"{'surface':<18} {'attack':<{width}}  outcome")
    for a in attacks:
        print(f"{a.surface:<18} {a.name:<{width}}  {a.outcome}")
    defects = [a for a in attacks if not a.held]
    print(
        f"\nattacks: {len(attacks)} tried, {len(defects)} defects found, "
        f"{'nothing lost' if not defects else 'SEE ABOVE'}"
    )


if __name__ == "__main__":
    main()
