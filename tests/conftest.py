from __future__ import annotations

import os
import tempfile
import zlib

import pytest

import fluxpanel
from fluxpanel.testing import ReferenceServer, solid_png

#: Backoff that keeps retry tests fast while exercising the same code.
FAST_RETRY = fluxpanel.RetryPolicy(max_retries=3, base=0.01, cap=0.05)


def pytest_configure(config):
    # Results the tests cache go to a throwaway folder (kernels started by the
    # tests inherit it), never to the user's cache.
    os.environ["FLUXPANEL_CACHE_DIR"] = tempfile.mkdtemp(prefix="fluxpanel-test-cache-")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    """Tests never see a developer's real keys."""
    from fluxpanel.providers import PROVIDERS

    for name in {"FLUX_API_URL", *(c.key_env for c in PROVIDERS.values() if c.key_env)}:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def anyio_backend():
    return "asyncio"


class _Quick:
    """Hosts' adapters polling fast, for tests against their fakes."""

    poll_first, poll_growth, poll_max = 0.01, 1.5, 0.05


def quick(cls):
    """``cls`` (a hosted provider) polling from 10 ms to 50 ms."""
    return type(f"Quick{cls.__name__}", (_Quick, cls), {})


def run_snippet(code: str, cwd, **env: str) -> None:
    """Run a generation's snippet in a fresh Python, as a reader would, with
    ``env`` added (a key); fails the test with its error output if it fails."""
    import subprocess
    import sys

    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


def small_image(request, index):
    """A distinct small PNG per request and index (fast to make and check)."""
    c = zlib.crc32(f"{request.seed}:{index}".encode())
    return solid_png(32, 32, (c & 255, (c >> 8) & 255, (c >> 16) & 255))


@pytest.fixture
def server():
    with ReferenceServer(image_factory=small_image) as s:
        yield s


@pytest.fixture
def client(server):
    # No cache: these tests count what reaches the server (the cache has its own tests).
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, retry=FAST_RETRY, cache=False
    ) as c:
        yield c
