"""Images are fetched a few at a time from each image host, in the order they
were asked for, without the wait for a turn spending an image's own budget."""

from __future__ import annotations

import asyncio
import time

import pytest

import fluxpanel
from fluxpanel._downloads import lane_of
from fluxpanel._engine import DEFAULT_DOWNLOADS_PER_HOST, Engine
from fluxpanel.providers import get_provider
from fluxpanel.testing import ReferenceServer

from .conftest import FAST_RETRY, small_image

#: Seconds the server takes over each image: long beside the 0.1 s between
#: the asks, so each ask's images reach the server while the last ask's are
#: still there, however slowly a loaded machine answers the generation.
LATENCY = 1.0


async def _wait_for(condition, timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out waiting"
        await asyncio.sleep(0.01)


def test_six_images_at_a_time_from_one_host_and_the_first_generation_first():
    assert DEFAULT_DOWNLOADS_PER_HOST == 6  # a browser's limit for one HTTP/1.1 host

    async def run(server: ReferenceServer) -> dict[str, float]:
        finished: dict[str, float] = {}
        async with fluxpanel.AsyncFluxClient(
            api_key=server.api_key, url=server.url, retry=FAST_RETRY, cache=False
        ) as client:

            async def one(name: str, seed: int) -> None:
                g = await client.generate(model="flux_dev", prompt="a fox", num_images=4, seed=seed)
                assert len(g) == 4 and not g.errors
                finished[name] = time.monotonic()

            # A asks first and takes four lanes; B, asked 0.1 s later, takes the
            # last two and queues two; C, asked last, queues all four behind B's.
            # When A's four are done, B's two go first, then two of C's; C's
            # last two go when B's first two are done, 0.1 s later.
            a = asyncio.ensure_future(one("A", 1))
            await _wait_for(lambda: server.images_in_flight == 4)
            await asyncio.sleep(0.1)
            b = asyncio.ensure_future(one("B", 2))
            await _wait_for(lambda: server.images_in_flight == 6)
            await asyncio.sleep(0.05)  # B's last two are waiting their turn
            c = asyncio.ensure_future(one("C", 3))
            await asyncio.gather(a, b, c)
        return finished

    with ReferenceServer(image_factory=small_image, image_latency=LATENCY) as server:
        finished = asyncio.run(run(server))
        assert len(server.image_requests) == 12
        # Twelve images were wanted at once; the host never served more than six.
        assert server.max_images_in_flight == 6
    # First asked, first finished: B's queued images went before any of C's
    # (had C's taken A's four lanes, C would have finished before B).
    assert finished["A"] < finished["B"] < finished["C"]
    # C waited a whole turn for lanes.
    assert finished["C"] - finished["A"] >= LATENCY


def test_the_number_per_host_can_be_set():
    async def run(server: ReferenceServer) -> None:
        async with fluxpanel.AsyncFluxClient(
            api_key=server.api_key, url=server.url, cache=False, downloads_per_host=2
        ) as client:
            g = await client.generate(model="flux_dev", prompt="a fox", num_images=4)
            assert len(g) == 4

    with ReferenceServer(image_factory=small_image, image_latency=0.1) as server:
        asyncio.run(run(server))
        assert server.max_images_in_flight == 2


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "6"])
def test_downloads_per_host_must_be_a_positive_integer(value):
    with pytest.raises(fluxpanel.ConfigError, match=rf"downloads_per_host={value!r}.*>= 1"):
        fluxpanel.FluxClient(provider="preview", downloads_per_host=value)


def _images_one_at_a_time(image_latency: float, n: int = 3, **client_options):
    """A generation of ``n`` images fetched one at a time: (it, the server
    after, the seconds it took)."""
    with ReferenceServer(image_factory=small_image, image_latency=image_latency) as server:
        with fluxpanel.FluxClient(
            api_key=server.api_key,
            url=server.url,
            cache=False,
            downloads_per_host=1,
            retry=fluxpanel.RetryPolicy(max_retries=0),
            **client_options,
        ) as client:
            t0 = time.monotonic()
            g = client.generate(model="flux_dev", prompt="a fox", num_images=n)
            return g, server, time.monotonic() - t0


def test_waiting_for_a_turn_does_not_spend_the_image_budget():
    # 0.4 s each: the fourth waits 1.2 s, more than its 1.1 s budget; the
    # budget is counted from its turn, so all four arrive (each with 0.7 s to
    # spare on a loaded machine).
    g, server, _ = _images_one_at_a_time(0.4, n=4, download_timeout=1.1)
    assert len(g) == 4 and not g.errors, g.errors
    assert server.max_images_in_flight == 1


def test_the_deadline_bounds_the_wait_for_a_turn():
    # The deadline is 1 s: the first image arrives (0.6 s), the last one is
    # still waiting for its turn when time runs out. The image that came is kept.
    g, _, took = _images_one_at_a_time(0.6, deadline=1.0)
    assert len(g) == 1 and len(g.errors) == 2
    assert all(isinstance(e, fluxpanel.RequestTimeout) for e in g.errors)
    assert any("waiting for a connection" in str(e) for e in g.errors)
    assert took < 1.0 + 0.6  # nothing ran on past the deadline


def test_each_image_host_has_its_own_lanes():
    engine = Engine(get_provider("preview"), downloads_per_host=2)

    async def lanes() -> list[object]:
        return [
            lane_of(engine.clients(), u, engine.downloads.per_host)
            for u in (
                "https://cdn.example/a.png",
                "HTTPS://CDN.example/b.png?x=1",
                "https://cdn.example:8443/c.png",
                "http://cdn.example/d.png",
                "https://other.example/e.png",
            )
        ]

    a, same, port, scheme, other = asyncio.run(lanes())
    assert a is same
    assert len({id(a), id(port), id(scheme), id(other)}) == 4
