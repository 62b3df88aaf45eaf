"""The HTTP clients of one event loop: one for the provider's API, one for
image downloads that never carries the API's headers, drawing from one pool.

httpx clients belong to the loop that made them; an engine used from
another loop (a kernel subshell, a second ``asyncio.run``) makes fresh
:class:`Clients` there. They are made only when a request is sent.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import urllib.request

import httpx

from ._bodies import API_ENCODINGS, IMAGE_ENCODINGS
from ._version import __version__

#: connect / read / write / pool. The read timeout is generous: the generation
#: call is held open while the model runs.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=180.0, write=30.0, pool=30.0)


def timeout_of(timeout: httpx.Timeout | float | None) -> httpx.Timeout:
    """A timeout as httpx takes it: seconds for each phase (at most 10 to connect)."""
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(float(timeout), connect=min(10.0, float(timeout)))


def tls() -> ssl.SSLContext:
    """One TLS context for every client this process makes, as httpx would
    make it (``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` honoured): building one
    reads the whole certificate bundle (about 25 ms), and a context holds no
    per-connection state, so it is safely shared."""
    return _tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_for(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def environment_proxies() -> bool:
    """Whether the environment names a proxy (``HTTPS_PROXY`` and the like)."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())


def _headers(encodings: str) -> dict[str, str]:
    # Only the encodings read with a bound on what they produce (see _bodies).
    return {"User-Agent": f"fluxpanel/{__version__}", "Accept-Encoding": encodings}


class Clients:
    """The clients and the download lanes of one loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        timeout: httpx.Timeout,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self.loop = loop
        self._timeout = timeout
        self._transport = transport
        self._shared: httpx.AsyncBaseTransport | None = None
        self._api: httpx.AsyncClient | None = None
        self._downloads: httpx.AsyncClient | None = None
        #: Semaphores by image host (scheme, host, port): see fluxpanel._downloads.
        self.lanes: dict[str, asyncio.Semaphore] = {}

    def _pool(self) -> httpx.AsyncBaseTransport | None:
        """The connections both clients draw from. One pool, so an image
        served from the API's own origin rides the API's open connection
        (each request still carries only its own client's headers: the key
        never goes with a download). Where the environment names a proxy,
        each client keeps its own pool, as httpx honours proxies only then."""
        if self._transport is not None:
            return self._transport
        if environment_proxies():
            return None
        if self._shared is None:
            self._shared = httpx.AsyncHTTPTransport(verify=tls())
        return self._shared

    def _client(self, encodings: str) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self._timeout,
            headers=_headers(encodings),
            # Never resend a billable POST elsewhere; downloads follow each hop themselves.
            follow_redirects=False,
            transport=self._pool(),
            verify=tls(),
        )

    @property
    def made(self) -> bool:
        """Whether any client has been made (a request sent)."""
        return self._api is not None or self._downloads is not None

    @property
    def api(self) -> httpx.AsyncClient:
        """The client for the provider's API (its calls carry their own headers)."""
        if self._api is None:
            self._api = self._client(API_ENCODINGS)
        return self._api

    @property
    def downloads(self) -> httpx.AsyncClient:
        """A separate client for images: nothing configured for the API (auth,
        cookies) can reach an image host."""
        if self._downloads is None:
            self._downloads = self._client(IMAGE_ENCODINGS)
        return self._downloads

    async def aclose(self) -> None:
        clients = [c for c in (self._api, self._downloads) if c is not None]
        self._api = self._downloads = self._shared = None
        for client in clients:
            await client.aclose()

    def close_later(self) -> None:
        """Close the clients on their own loop (from another one)."""
        if self.made and not self.loop.is_closed() and self.loop.is_running():
            self.loop.call_soon_threadsafe(lambda: self.loop.create_task(self.aclose()))
