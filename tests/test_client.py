"""FluxClient and AsyncFluxClient against the ReferenceServer over real HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import subprocess
import sys

import httpx
import pytest
from hypothesis import HealthCheck, given, settings

import fluxpanel
from fluxpanel import GenerationRequest
from fluxpanel.testing import ReferenceServer

from .conftest import FAST_RETRY, small_image
from .strategies import valid_params


def test_generate_returns_the_servers_images(server, client):
    gen = client.generate(model="flux_dev", prompt="a fox", num_images=3, seed=11)
    assert len(gen) == 3 and len(server.posts) == 1
    assert server.posts[0].json() == gen.request.to_payload()
    for i, img in enumerate(gen):
        assert img.data == small_image(gen.request, i)
        assert (img.mime, img.width, img.height, img.seed, img.index) == (
            "image/png",
            32,
            32,
            11,
            i,
        )
        assert img.to_pil().size == (32, 32)
    assert gen.provider == "flux-api" and gen.endpoint == server.url
    # The phases as they happened (the FLUX API says nothing of queueing).
    assert set(gen.timings) == {"submit", "download", "total", "submitting", "downloading"}
    assert gen.timings["total"] >= gen.timings["submit"] > 0


def test_validation_happens_before_the_network(server, client):
    with pytest.raises(fluxpanel.ValidationError):
        client.generate(model="flux_schnell", prompt="x", guidance=2)
    with pytest.raises(fluxpanel.ValidationError):
        client.generate(model="flux_dev", prompt="")
    assert server.requests == []


def test_request_object_and_overrides(server, client):
    req = GenerationRequest(model="flux_pro", prompt="a fox", seed=3)
    gen = client.generate(req)
    assert gen.request == req
    gen2 = client.generate(req, steps=10)
    assert gen2.request == req.replace(steps=10)
    assert server.posts[1].json()["steps"] == 10


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=valid_params())
def test_any_valid_request_is_accepted_by_the_server(server, client, case):
    model, params = case
    gen = client.generate(model=model, **params)
    assert len(gen) == gen.request.count
    assert server.posts[-1].json() == gen.request.to_payload()


def test_snippet_reproduces_the_exact_body(server, tmp_path):
    req = GenerationRequest(
        model="flux_dev", prompt="quotes \" ' and \\ and\nnewlines <b>é</b>", seed=99, guidance=2.5
    )
    script = tmp_path / "snippet.py"
    script.write_text(req.to_code())
    env = {**os.environ, **server.env()}
    subprocess.run([sys.executable, str(script)], check=True, env=env, timeout=60)
    assert server.posts[-1].json() == req.to_payload()
    assert server.api_key not in req.to_code()


@pytest.mark.parametrize("wrapper", ["list", "images", "data", "output"])
def test_response_wrappers(wrapper):
    with ReferenceServer(image_factory=small_image, response=wrapper) as server:
        with fluxpanel.FluxClient(api_key=server.api_key, url=server.url) as client:
            assert len(client.generate(model="flux_dev", prompt="x", num_images=2)) == 2


def test_connections_are_reused(server, client):
    for _ in range(4):
        client.generate(model="flux_schnell", prompt="x", num_images=1)
    # Images at the API's own origin ride the API's connection: one in all.
    assert server.connections == 1


def test_images_at_the_apis_origin_reuse_its_connection_without_its_key(server, client):
    client.generate(model="flux_schnell", prompt="x", num_images=1)
    post, get = server.posts[0], server.image_requests[0]
    assert post.peer and get.peer == post.peer  # one connection, no second handshake
    assert "Authorization" in post.headers
    assert not any(k.lower() == "authorization" for k in get.headers)


def test_a_proxy_named_by_the_environment_is_still_honoured(server, monkeypatch):
    # One shared pool would make httpx ignore HTTP_PROXY; with a proxy set,
    # every request must go to it (here a closed port, so nothing arrives).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, retry=FAST_RETRY, cache=False
    ) as c:
        with pytest.raises(fluxpanel.ConnectError):
            c.generate(prompt="x", seed=1)
    assert server.posts == []


def test_no_authorization_header_reaches_image_urls(server, client):
    client.generate(model="flux_dev", prompt="x", num_images=4)
    assert len(server.image_requests) == 4
    for rec in server.image_requests:
        assert not any(k.lower() == "authorization" for k in rec.headers)
        assert server.api_key not in str(rec.headers)
    assert server.posts[0].headers["Authorization"] == f"Bearer {server.api_key}"


@pytest.mark.anyio
async def test_async_client_runs_concurrently(server):
    server.latency = 0.3
    async with fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url) as client:
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        gens = await asyncio.gather(
            *(client.generate(model="flux_schnell", prompt=f"p{i}") for i in range(4))
        )
        took = loop.time() - t0
    assert len(gens) == 4 and len(server.posts) == 4
    assert took < 1.0  # four 0.3 s calls overlapped, not 1.2 s in a row


@pytest.mark.anyio
async def test_on_image_sees_each_image_as_it_arrives(server):
    seen = []
    async with fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url) as client:
        gen = await client.generate(
            model="flux_dev", prompt="x", num_images=3, on_image=seen.append
        )
    assert sorted(i.index for i in seen) == [0, 1, 2]
    assert {hashlib.sha256(i.data).hexdigest() for i in seen} == {
        hashlib.sha256(i.data).hexdigest() for i in gen
    }


@pytest.mark.anyio
async def test_sync_client_works_inside_a_running_loop(server):
    # As in Jupyter, where the kernel's loop is already running.
    with fluxpanel.FluxClient(api_key=server.api_key, url=server.url) as client:
        assert len(client.generate(model="flux_schnell", prompt="x")) == 1


def test_sync_client_wraps_the_async_one():
    c = fluxpanel.FluxClient(provider="preview")
    assert isinstance(c._async, fluxpanel.AsyncFluxClient)
    # No second implementation of generate: the sync one delegates.
    assert "send" not in fluxpanel.FluxClient.__dict__


def test_config_errors(monkeypatch):
    with pytest.raises(fluxpanel.ConfigError, match="FLUX_API_URL"):
        fluxpanel.FluxClient(api_key="k")
    with pytest.raises(fluxpanel.ConfigError, match="FLUX_API_KEY"):
        fluxpanel.FluxClient(provider="flux-api", url="http://127.0.0.1:9/")
    with pytest.raises(fluxpanel.ConfigError, match="not an http"):
        fluxpanel.FluxClient(api_key="k", url="ftp://example.invalid/")
    with pytest.raises(fluxpanel.ConfigError, match="not known"):
        fluxpanel.FluxClient(provider="nope")
    with pytest.raises(fluxpanel.ConfigError, match="max_retries"):
        fluxpanel.FluxClient(provider="preview", max_retries=-1)
    monkeypatch.setenv("FLUX_API_KEY", "env-key")
    monkeypatch.setenv("FLUX_API_URL", "http://127.0.0.1:9/v1/generate")
    assert fluxpanel.FluxClient().provider.name == "flux-api"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CountingTransport(httpx.AsyncHTTPTransport):
    def __init__(self):
        super().__init__()
        self.calls = 0

    async def handle_async_request(self, request):
        self.calls += 1
        return await super().handle_async_request(request)


def test_connection_refused_is_retried_then_raised():
    transport = CountingTransport()
    url = f"http://127.0.0.1:{free_port()}/v1/generate"
    with fluxpanel.FluxClient(api_key="k", url=url, retry=FAST_RETRY, transport=transport) as c:
        with pytest.raises(fluxpanel.ConnectError, match="could not connect"):
            c.generate(prompt="x")
    assert transport.calls == FAST_RETRY.max_retries + 1


def test_connect_error_then_success_sends_one_post(server):
    # The first attempt goes to a dead port (connect error, safe to retry),
    # the retry reaches the server: one billable POST in all.
    dead = f"http://127.0.0.1:{free_port()}"

    class Flaky(httpx.AsyncHTTPTransport):
        first = True

        async def handle_async_request(self, request):
            if Flaky.first:
                Flaky.first = False
                request.url = httpx.URL(dead + request.url.raw_path.decode())
            return await super().handle_async_request(request)

    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, retry=FAST_RETRY, transport=Flaky()
    ) as c:
        assert len(c.generate(prompt="x")) == 1
    assert len(server.posts) == 1
