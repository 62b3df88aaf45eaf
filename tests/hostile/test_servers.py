"""Hostile servers: stacked encodings, answers of the wrong shape, a body
that drips, downloads that stall, result URLs and redirects that point inside."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

import fluxpanel
from fluxpanel.providers import BlackForestLabs, Fal, FluxAPI, Replicate
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate, HostRoutes, ReferenceServer

from ..conftest import FAST_RETRY, small_image

ZEROS = b"\0" * (64 * 1024 * 1024)  # 64 MiB that gzip to 64 KiB


def _client(server, **kw):
    kw.setdefault("retry", FAST_RETRY)
    return fluxpanel.FluxClient(api_key=server.api_key, url=server.url, cache=False, **kw)


def _peak_while_refused(server, match, **client):
    """The most memory Python held while a generation was refused with ``match``."""
    tracemalloc.start()
    try:
        with _client(server, **client) as c, pytest.raises(fluxpanel.ImageError, match=match):
            c.generate(prompt="x")
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("layers", [2, 3])
def test_stacked_gzip_on_an_image_is_refused_without_inflating(server, layers):
    server.fail_images("gzip", layers=layers, body=ZEROS, times=4)
    assert _peak_while_refused(server, "stacked") < 16 * 1024 * 1024


def test_a_gzip_bomb_image_stops_at_the_cap(server):
    server.fail_images("gzip", layers=1, body=ZEROS, times=4)
    peak = _peak_while_refused(server, "over the 1000000-byte limit", max_image_bytes=1_000_000)
    assert peak < 16 * 1024 * 1024


def test_an_honest_gzipped_image_is_read(server):
    server.fail_images("gzip", layers=1)
    with _client(server) as c:
        gen = c.generate(prompt="x", seed=1)
    assert gen.images[0].data == small_image(gen.request, 0)


@pytest.mark.parametrize("encodings", [("gzip", "gzip"), ("gzip",)])
def test_an_api_answer_that_inflates_past_its_cap(server, encodings):
    server.answer("POST", r"^/v1/generate$", b"[" + ZEROS[:16_000_000] + b"]", encodings=encodings)
    with _client(server) as c, pytest.raises(fluxpanel.APIError, match=r"stacked|over the"):
        c.generate(prompt="x")


# -- answers of the wrong shape, at every provider ------------------------------------

DEEP = b"[" * 200_000 + b"]" * 200_000


def _hosted(kind):
    fake = {
        "bfl": FakeBFL(pending_polls=1),
        "replicate": FakeReplicate(processing_polls=1),
        "fal": FakeFal(queue_polls=1),
    }[kind].start()
    cls = {"bfl": BlackForestLabs, "replicate": Replicate, "fal": Fal}[kind]
    provider = cls(api_key=fake.api_key, base_url=fake.base_url)
    provider.poll_first = 0.01
    return fake, provider


SUBMIT = {"bfl": r"^/v1/flux", "replicate": r"/predictions$", "fal": r"^/fal-ai/"}
POLL = {"bfl": r"^/v1/get_result", "replicate": r"^/v1/predictions/\w+$", "fal": r"/status$"}
BAD_BODIES = {
    "nested success": (200, DEEP),
    "nested error": (500, DEEP),
    "a list": (200, b"[1, 2]"),
    "a string": (200, b'"Ready"'),
}


@pytest.mark.parametrize("kind", ["bfl", "replicate", "fal"])
@pytest.mark.parametrize("case", list(BAD_BODIES))
def test_a_submit_answer_of_the_wrong_shape_is_an_api_error(kind, case):
    fake, provider = _hosted(kind)
    status, body = BAD_BODIES[case]
    fake.answer("POST", SUBMIT[kind], body, status=status)
    try:
        with fluxpanel.FluxClient(provider=provider, cache=False, retry=FAST_RETRY) as c:
            with pytest.raises(fluxpanel.APIError):
                c.generate(model=next(iter(provider.models)), prompt="x")
    finally:
        fake.stop()


@pytest.mark.parametrize("kind", ["bfl", "replicate", "fal"])
@pytest.mark.parametrize("status", [{"nested": 1}, ["IN_QUEUE"], 7, None, True])
def test_a_status_of_the_wrong_type_is_an_api_error(kind, status):
    fake, provider = _hosted(kind)
    body = {"id": "x", "status": status}
    if kind == "fal":  # fal's status comes as a stream of events
        fake.answer("GET", r"/status/stream$", b"data: " + json.dumps(body).encode() + b"\n\n")
    else:
        fake.answer("GET", POLL[kind], body)
    try:
        with fluxpanel.FluxClient(provider=provider, cache=False, retry=FAST_RETRY) as c:
            with pytest.raises(fluxpanel.APIError, match="cannot read"):
                c.generate(model=next(iter(provider.models)), prompt="x")
    finally:
        fake.stop()


@pytest.mark.parametrize("flags", [True, "false", [1], {"0": False}])
def test_fal_safety_flags_of_the_wrong_type(flags):
    fake, provider = _hosted("fal")
    image = fake.store(small_image(fluxpanel.GenerationRequest(prompt="x", seed=1), 0))
    body = {"images": [{"url": image}], "seed": 1, "has_nsfw_concepts": flags}
    fake.answer("GET", r"/requests/\w+$", body)
    try:
        with fluxpanel.FluxClient(provider=provider, cache=False, retry=FAST_RETRY) as c:
            with pytest.raises(fluxpanel.APIError, match="has_nsfw_concepts"):
                c.generate(model="flux_dev", prompt="x")
    finally:
        fake.stop()


# -- time ---------------------------------------------------------------------------


def test_the_deadline_bounds_an_answer_that_drips():
    with ReferenceServer(image_factory=small_image) as server:
        server.fail("slow", chunk=1, interval=0.5)  # about a minute for the whole answer
        started = time.monotonic()
        with _client(server, deadline=2) as c, pytest.raises(fluxpanel.RequestTimeout) as e:
            c.generate(prompt="x")
    assert time.monotonic() - started < 10
    assert "within 2 s" in str(e.value)


def test_one_download_has_one_budget_whatever_the_retries(server):
    server.fail_images("slow", chunk=16, interval=0.2, times=4)
    with _client(server, download_timeout=1.0) as c:
        with pytest.raises(fluxpanel.RequestTimeout, match="all attempts"):
            c.generate(prompt="x")
    assert len(server.image_requests) == 1  # the budget went on the first attempt


# -- result URLs that point inside -----------------------------------------------------


def _public_api(server):
    """The reference server answering as a public host, as a real API would be."""
    routes = HostRoutes({"https://api.flux.example": server, "https://images.flux.example": server})
    server.public_url = "https://api.flux.example"
    client = fluxpanel.FluxClient(
        provider=FluxAPI(api_key=server.api_key, url="https://api.flux.example/v1/generate"),
        transport=routes,
        cache=False,
        retry=FAST_RETRY,
    )
    return client, routes


@pytest.mark.parametrize(
    "images_url",
    [
        "http://169.254.169.254",
        "http://127.0.0.1:9",
        "http://10.0.0.8",
        "http://[::1]:80",
        "http://localhost:8080",
        "http://2130706433",
    ],
)
def test_a_result_url_on_a_private_address_is_not_fetched(server, images_url):
    server.images_url = images_url
    client, routes = _public_api(server)
    with client, pytest.raises(fluxpanel.APIError, match="private or local network"):
        client.generate(prompt="x")
    assert [s for s in routes.seen if "flux.example" not in s[0]] == []
    assert server.image_requests == []


def test_a_redirect_to_loopback_is_not_followed(server):
    server.images_url = "https://images.flux.example"
    server.fail_images("redirect", location=f"{server.base_url}/admin", times=4)
    client, _ = _public_api(server)
    with client, pytest.raises(fluxpanel.APIError, match="private or local network"):
        client.generate(prompt="x")
    assert not [r for r in server.requests if r.path.startswith("/admin")]


def test_a_public_result_url_is_fetched(server):
    server.images_url = "https://images.flux.example"
    client, _ = _public_api(server)
    with client:
        gen = client.generate(prompt="x", seed=3)
    assert gen.images[0].data == small_image(gen.request, 0)
