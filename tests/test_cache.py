"""The result cache: never pay twice, survive concurrent kernels, stay small."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import fluxpanel
from fluxpanel import FluxClient, GenerationRequest, ResultCache
from fluxpanel._cache import _unpack
from fluxpanel.providers import FluxAPI
from fluxpanel.testing import ReferenceServer

from .conftest import small_image


@pytest.fixture
def cached_client(server, tmp_path):
    with FluxClient(api_key=server.api_key, url=server.url, cache=tmp_path / "cache") as c:
        yield c


def test_second_run_makes_no_http_call(server, cached_client):
    req = GenerationRequest(model="flux_dev", prompt="a fox", seed=1, num_images=2)
    first = cached_client.generate(req)
    seen = len(server.requests)
    again = cached_client.generate(req)
    assert len(server.requests) == seen  # nothing reached the server
    assert again.cached and not first.cached
    assert [i.data for i in again] == [i.data for i in first]
    assert again.timings == first.timings  # the original timings
    assert again.cost == 0 and first.cost == pytest.approx(2 * fluxpanel.PRICES["flux_dev"])
    assert again.to_code() == first.to_code()


def test_cache_is_keyed_by_request_provider_and_endpoint(server, tmp_path):
    cache = ResultCache(tmp_path)
    req = GenerationRequest(model="flux_dev", prompt="a fox", seed=1)
    a = FluxAPI(api_key="k", url=server.url)
    b = FluxAPI(api_key="k", url=server.url + "/other")
    assert cache.key(req, a) != cache.key(req, b)
    assert cache.key(req, a) != cache.key(req.replace(seed=2), a)
    assert cache.key(req, a) == cache.key(
        GenerationRequest(model="flux_dev", prompt="a fox", seed=1), a
    )
    # The key is not part of the cache key: a new key still finds old results.
    assert cache.key(req, a) == cache.key(req, FluxAPI(api_key="other", url=server.url))


def test_cache_can_be_turned_off(server):
    with FluxClient(api_key=server.api_key, url=server.url, cache=False) as c:
        req = GenerationRequest(prompt="x", seed=3)
        c.generate(req)
        c.generate(req)
    assert len(server.posts) == 2 and c.cache is None


def test_partial_results_are_not_cached(server, cached_client):
    server.fail_images("status", status=410)
    req = GenerationRequest(model="flux_dev", prompt="x", seed=4, num_images=2)
    assert len(cached_client.generate(req)) == 1
    assert len(cached_client.generate(req)) == 2  # asked again, complete this time
    assert len(server.posts) == 2


def test_preview_results_are_not_stored(tmp_path):
    c = FluxClient(provider="preview", cache=tmp_path)
    assert c.cache is None
    assert c.generate(prompt="x").cost == 0


def test_least_recently_used_entries_go_first(server, tmp_path):
    cache = ResultCache(tmp_path)
    with FluxClient(api_key=server.api_key, url=server.url, cache=cache) as c:
        gens = [c.generate(prompt="x", seed=s) for s in range(3)]
        cache.flush()  # the writes after the images were handed over
        entry = cache._entries()[0][1]
        cache.max_bytes = int(entry * 3.5)
        import os
        import time

        for i, g in enumerate(gens):  # make the order of use explicit
            path = cache._file(cache.key(g.request, c.provider))
            os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
        assert cache.get(gens[0].request, c.provider) is not None  # touch the oldest
        c.generate(prompt="x", seed=99)  # a fourth entry: over the cap
        present = {s for s in range(3) if cache.get(gens[s].request, c.provider) is not None}
    assert present == {0, 2}  # seed 1 was least recently used
    assert cache.size <= cache.max_bytes


def test_images_are_handed_over_before_the_cache_write_and_never_paid_twice(server, tmp_path):
    """The cache write comes after the images are in hand; the same request
    at once after is a hit on that write (the cache waits for it), never a
    second payment; closing waits for the writes."""
    import threading

    cache = ResultCache(tmp_path)
    real_put, release = cache.put, threading.Event()

    def slow_put(generation, provider):
        release.wait(10)
        real_put(generation, provider)

    cache.put = slow_put
    with FluxClient(api_key=server.api_key, url=server.url, cache=cache) as c:
        first = c.generate(prompt="x", seed=4)  # returns while its write waits
        assert first.images and not first.cached and len(cache._entries()) == 0
        threading.Timer(0.2, release.set).start()
        again = c.generate(prompt="x", seed=4)
        assert again.cached and again.images[0].data == first.images[0].data
    assert len(server.posts) == 1 and len(cache) == 1


def test_corrupt_entries_are_misses(server, cached_client):
    req = GenerationRequest(prompt="x", seed=5)
    cached_client.generate(req)
    cached_client.cache.flush()  # its write, after the images were handed over
    path = cached_client.cache._file(cached_client.cache.key(req, cached_client.provider))
    path.write_bytes(path.read_bytes()[:-10])
    assert cached_client.cache.get(req, cached_client.provider) is None
    assert not path.exists()
    assert not cached_client.generate(req).cached


def test_clear(server, cached_client):
    for s in range(3):
        cached_client.generate(prompt="x", seed=s)
    assert len(cached_client.cache) == 3
    assert cached_client.cache.clear() == 3 and len(cached_client.cache) == 0


WRITER = textwrap.dedent("""
    import sys
    from fluxpanel import GenerationRequest, ResultCache
    from fluxpanel._results import GeneratedImage, Generation
    from fluxpanel.providers import FluxAPI

    cache = ResultCache(sys.argv[1])
    provider = FluxAPI(api_key="k", url="http://127.0.0.1:1/v1/generate")
    blob = b"\\x89PNG\\r\\n\\x1a\\n" + bytes([int(sys.argv[2])]) * 300_000
    for round in range(30):
        for seed in range(6):  # the same keys in both processes
            req = GenerationRequest(prompt="x", seed=seed)
            img = GeneratedImage(blob, "image/png", 1, 1, seed, 0, req, "flux-api")
            cache.put(Generation(req, [img], "flux-api"), provider)
            got = cache.get(req, provider)
            assert got is not None and len(got.images[0].data) == len(blob)
""")


def test_two_processes_writing_at_once_leave_no_torn_entry(tmp_path):
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(i)]) for i in (1, 2)
    ]
    assert [p.wait(120) for p in procs] == [0, 0]
    entries = list(tmp_path.rglob("*.entry"))
    assert len([e for e in entries if not e.name.startswith(".tmp-")]) == 6
    assert not [e for e in entries if e.name.startswith(".tmp-")]
    for entry in entries:
        _header, blobs = _unpack(entry.read_bytes())
        assert len(set(blobs[0][8:])) == 1  # one writer's bytes, whole


@pytest.mark.anyio
async def test_panel_uses_the_cache(server, tmp_path):
    panel = fluxpanel.FluxPanel(
        client=fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=tmp_path),
        prompt="a fox",
        seed=8,
    )
    await panel.agenerate()
    assert "≈ $0.003" in panel.cost_text
    again = await panel.agenerate()
    assert again.cached and "from the cache" in panel.status_text
    assert len(server.posts) == 1
    assert "≈ $0.003" in panel.cost_text  # a cache hit costs nothing


def test_prices_can_be_overridden(server):
    with FluxClient(
        api_key=server.api_key, url=server.url, cache=False, prices={"flux_dev": 1.0}
    ) as c:
        g = c.generate(model="flux_dev", prompt="x", num_images=3)
        assert g.cost == 3.0
        assert c.estimate_cost(g.request) == 3.0
    assert fluxpanel.estimate_cost(g.request) == pytest.approx(3 * 0.025)


def test_reference_server_images_are_deterministic():
    # What the cache promises for a fixed seed holds at the reference server.
    with (
        ReferenceServer(image_factory=small_image) as s,
        FluxClient(api_key=s.api_key, url=s.url, cache=False) as c,
    ):
        req = GenerationRequest(prompt="x", seed=9)
        assert c.generate(req).image.data == c.generate(req).image.data


def test_a_write_does_not_read_the_whole_cache(server, tmp_path, monkeypatch):
    """2,000 entries already there: 50 writes read the folder once (to learn
    its size), not once each; past the cap it is read again and trimmed."""
    import os

    from fluxpanel import _cache

    cache = ResultCache(tmp_path)
    for i in range(2000):  # entries another run left (a byte each)
        shard = tmp_path / f"{i % 256:02x}"
        shard.mkdir(exist_ok=True)
        (shard / f"{i:064x}.entry").write_bytes(b"x")
    reads = []
    real = os.scandir
    monkeypatch.setattr(_cache.os, "scandir", lambda p: reads.append(p) or real(p))
    with FluxClient(api_key=server.api_key, url=server.url, cache=cache) as c:
        for seed in range(50):
            c.generate(prompt="x", seed=seed)
    folder_reads = [p for p in reads if str(p) == str(tmp_path)]
    assert len(folder_reads) == 1
    cache.max_bytes = cache._total - 1  # the next write passes the cap: read and trimmed
    with FluxClient(api_key=server.api_key, url=server.url, cache=cache) as c:
        c.generate(prompt="x", seed=999)
    assert cache.size <= cache.max_bytes
