"""Each host's published limits, kept by one gate per account that every
client of the process shares: Replicate's creates a minute (and the stricter
regime of an account low on credit, absorbed by waiting), Black Forest Labs'
active tasks, fal's concurrency (requests queue at fal), and the bound on
generations in flight."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

import fluxpanel
from fluxpanel import HostLimits
from fluxpanel._limits import Bucket, Gate, Slots
from fluxpanel.providers import BlackForestLabs, Fal, Replicate
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate

from .conftest import quick

NO_RETRY = fluxpanel.RetryPolicy(max_retries=0)


async def _gather(client, n, **params):
    return await asyncio.gather(
        *(client.generate(prompt=f"item {i}", seed=i + 1, **params) for i in range(n)),
        return_exceptions=True,
    )


# -- the parts ---------------------------------------------------------------------------


def test_slots_are_shared_by_event_loops_in_several_threads():
    slots, running, most = Slots(3), [0], [0]
    lock = threading.Lock()

    async def one():
        async with slots.held():
            with lock:
                running[0] += 1
                most[0] = max(most[0], running[0])
            await asyncio.sleep(0.01)
            with lock:
                running[0] -= 1

    def loop_of_work():
        async def main():
            await asyncio.gather(*(one() for _ in range(20)))

        asyncio.run(main())

    threads = [threading.Thread(target=loop_of_work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert most[0] == 3 and running[0] == 0 and slots.used == 0


def test_a_cancelled_waiter_passes_its_turn_on():
    async def main():
        slots = Slots(1)
        await slots.acquire()
        waiting = asyncio.ensure_future(slots.acquire())
        after = asyncio.ensure_future(slots.acquire())
        await asyncio.sleep(0)
        waiting.cancel()
        slots.release()
        await asyncio.wait_for(after, 1)
        assert slots.used == 1

    asyncio.run(main())


def test_the_bucket_spaces_creates_at_its_rate():
    bucket = Bucket(rate=10.0, burst=2)
    waits = [bucket.reserve() for _ in range(5)]
    assert waits[:2] == [0.0, 0.0]
    assert waits[2:] == pytest.approx([0.1, 0.2, 0.3], abs=0.02)


def test_limits_are_checked():
    with pytest.raises(fluxpanel.ConfigError, match="active"):
        HostLimits(active=0)
    with pytest.raises(fluxpanel.ConfigError, match="in_flight"):
        HostLimits(in_flight=0)
    assert "24 active tasks" in BlackForestLabs.limits.describe()
    assert "600 creates a minute" in Replicate.limits.describe()


def test_a_429_pauses_every_create_to_the_host():
    async def main():
        gate = Gate(HostLimits())
        gate.throttled(0.2)
        started = time.monotonic()
        async with gate.create():
            pass
        return time.monotonic() - started

    assert asyncio.run(main()) >= 0.19


# -- Replicate ---------------------------------------------------------------------------


def test_replicate_at_its_published_rate_keeps_under_it():
    """30 generations at once against 600 creates a minute with a burst of
    10: the gate spaces them a twentieth under the rate, so Replicate refuses
    none (or, as the network's jitter may bunch two, hardly any: waited out)."""
    with FakeReplicate() as fake:
        fake.limit_creates(600, burst=10)
        results = _at_replicate(fake, 30)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert fake.throttled <= 2 and len(fake.creates) - fake.throttled == 30


def _at_replicate(fake, n):
    """``n`` schnell generations at once at ``fake``, every 429 left to the gate."""
    provider = quick(Replicate)(api_key=fake.api_key, base_url=fake.base_url)

    async def main():
        async with fluxpanel.AsyncFluxClient(provider=provider, cache=False, retry=NO_RETRY) as c:
            return await _gather(c, n, model="flux_schnell")

    return asyncio.run(main())


@pytest.mark.parametrize("header", [True, False], ids=["retry-after", "body-only"])
def test_an_account_low_on_credit_is_absorbed_by_waiting(header):
    """Replicate's regime under $5 of credit (6 creates a minute, a burst of
    1; here a minute of 1.2 s) is not published in advance: the 429s it
    answers (with ``Retry-After``, or only "resets in ~Ns" in the body) are
    waited out, and every one of 20 generations arrives."""
    with FakeReplicate() as fake:
        fake.limit_creates(6, burst=1, minute=1.2, header=header)
        results = _at_replicate(fake, 20)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert fake.throttled > 0  # the limit was met, and waited out
    assert len(fake.creates) - fake.throttled == 20  # the creates that went through


def test_a_429_asking_longer_than_fluxpanel_waits_is_an_error_at_once():
    with FakeReplicate() as fake:
        fake.fail("status", status=429, retry_after=600, body={"detail": "throttled"})
        provider = quick(Replicate)(api_key=fake.api_key, base_url=fake.base_url)
        with fluxpanel.FluxClient(provider=provider, cache=False) as c:
            with pytest.raises(fluxpanel.RateLimitError) as e:
                c.generate(model="flux_schnell", prompt="x")
    assert e.value.retry_after == 600 and len(fake.creates) == 1


# -- Black Forest Labs ---------------------------------------------------------------------


def test_two_clients_share_the_accounts_active_tasks():
    """Two clients of one account in one process: 40 generations, never more
    than the account's active tasks at the host, and no 429."""
    with FakeBFL() as fake:
        fake.max_active = 4
        fake.run_seconds = 0.1
        limits = HostLimits(active=4)

        async def main():
            clients = [
                fluxpanel.AsyncFluxClient(
                    provider=quick(BlackForestLabs)(api_key=fake.api_key, base_url=fake.base_url),
                    cache=False,
                    retry=NO_RETRY,
                    limits=limits,
                )
                for _ in range(2)
            ]
            try:
                runs = [_gather(c, 20, model="flux_dev") for c in clients]
                return [r for rs in await asyncio.gather(*runs) for r in rs]
            finally:
                for c in clients:
                    await c.aclose()

        results = asyncio.run(main())
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert fake.max_active_seen <= 4 and len(fake.submits) == 40


# -- fal ------------------------------------------------------------------------------------


def test_fal_queues_past_its_concurrency_and_everything_arrives():
    with FakeFal() as fake:
        fake.run_seconds, fake.concurrency = 0.1, 3
        provider = quick(Fal)(api_key=fake.api_key, base_url=fake.base_url)

        async def main():
            async with fluxpanel.AsyncFluxClient(
                provider=provider, cache=False, limits=HostLimits(in_flight=12)
            ) as c:
                return await _gather(c, 12, model="flux_dev")

        started = time.monotonic()
        results = asyncio.run(main())
        took = time.monotonic() - started
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(fake.submits) == 12
    assert took >= 0.39  # four rounds of three: fal's queue held the rest


# -- in flight ------------------------------------------------------------------------------


def test_generations_in_flight_are_bounded(server):
    """A gather of 40 with 5 in flight: the server never holds more than 5."""
    server.latency = 0.05

    async def main():
        async with fluxpanel.AsyncFluxClient(
            api_key=server.api_key, url=server.url, cache=False, limits=HostLimits(in_flight=5)
        ) as c:
            return await _gather(c, 40)

    results = asyncio.run(main())
    assert [r for r in results if isinstance(r, BaseException)] == []
    posts = sorted(p.time for p in server.posts)
    assert len(posts) == 40
    # No POST starts while 5 earlier ones are still being answered.
    assert all(b - a >= 0.045 for a, b in zip(posts, posts[5:], strict=False))
