"""``LoopbackServer``: what every fake API here shares.

A real HTTP/1.1 server on 127.0.0.1 and a free port, in a background thread.
It records every request, hosts the images it makes under ``/images/`` (they
expire after ``ttl`` seconds, as real result URLs do), and misbehaves on
demand: queued faults for the API's routes and for image downloads.
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import re
import secrets
import socket
import ssl
import struct
import sys
import threading
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import httpx

#: Faults for image downloads, on every server.
IMAGE_FAULTS = {
    "status",  # answer ``status``
    "reset",  # half the body, then reset
    "slow",  # drip the body ``chunk`` bytes every ``interval`` s
    "truncated",  # the first half of the image, as a whole response
    "not_image",  # HTML instead of an image
    "oversized",  # more bytes than ``size`` (default 40 MiB) of junk
    "bomb",  # a small PNG that claims to be enormous
    "gzip",  # the image gzipped ``layers`` times, each layer named in Content-Encoding
    "redirect",  # 302 to ``location``
}


@dataclass
class Recorded:
    """One request a server saw."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float = field(default_factory=time.monotonic)
    #: The client's address and port: requests on one connection share it.
    peer: str = ""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    kind: str
    options: dict[str, Any]


@dataclass
class _Answer:
    method: str
    path: str
    status: int
    body: bytes
    headers: dict[str, str]
    encodings: tuple[str, ...]


class HostRoutes(httpx.AsyncBaseTransport):
    """An httpx transport that takes requests for public origins to loopback
    servers, so a fake can answer as ``https://api.eu1.bfl.ai`` and the client
    sees exactly the hostnames the host would hand out. An origin with no
    route fails to connect, as an unknown host would: nothing leaves loopback.

    ``HostRoutes({"https://api.eu.bfl.ai": fake, "https://api.eu1.bfl.ai": fake})``
    """

    def __init__(self, routes: Mapping[str, LoopbackServer | str]) -> None:
        self.routes = {k.rstrip("/").lower(): v for k, v in routes.items()}
        #: (origin, method, path, headers) of every request, as the client sent it.
        self.seen: list[tuple[str, str, str, dict[str, str]]] = []
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = f"{url.scheme}://{url.netloc.decode('ascii')}".lower()
        self.seen.append((origin, request.method, url.raw_path.decode(), dict(request.headers)))
        target = self.routes.get(origin)
        if target is None:
            raise httpx.ConnectError(f"no route to {origin} (loopback tests)", request=request)
        base = target.base_url if isinstance(target, LoopbackServer) else target
        port = urlsplit(base).port
        request.url = url.copy_with(scheme="http", host="127.0.0.1", port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


class LoopbackServer:
    """Base of the loopback servers. Subclasses set ``api_faults`` and
    override :meth:`handle_post` / :meth:`handle_get` / :meth:`handle_put`."""

    #: The faults :meth:`fail` accepts.
    api_faults: frozenset[str] = frozenset()

    def __init__(
        self, *, api_key: str | None = None, ttl: float = 600.0, image_latency: float = 0.0
    ):
        self.api_key = api_key or "sk-test-" + secrets.token_hex(16)
        self.ttl = ttl
        self.image_latency = image_latency
        self.requests: list[Recorded] = []
        self.connections = 0
        #: Calls to the API being answered now, and the most there were at once.
        self.in_flight = 0
        self.max_in_flight = 0
        #: Images being served now, and the most there were at once.
        self.images_in_flight = 0
        self.max_images_in_flight = 0
        self._faults: collections.deque[Fault] = collections.deque()
        self._image_faults: collections.deque[Fault] = collections.deque()
        self._images: dict[str, tuple[bytes, float, str]] = {}
        self._answers: collections.deque[_Answer] = collections.deque()
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._port: int | None = None
        self._scheme = "http"
        #: The address the server says it is at in the URLs it hands out
        #: (``https://api.eu.bfl.ai``, say, reached through :class:`HostRoutes`);
        #: its own loopback address when ``None``.
        self.public_url: str | None = None
        #: Where it says its images are (a delivery host), likewise.
        self.images_url: str | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self, ssl_context: ssl.SSLContext | None = None) -> LoopbackServer:
        """Serve on a free loopback port, in a thread; over TLS with
        ``ssl_context`` (a client that only speaks https, such as fal's,
        trusts its certificate through ``SSL_CERT_FILE``)."""
        httpd = _Server(("127.0.0.1", 0), _Handler)
        if ssl_context is not None:
            httpd.socket = ssl_context.wrap_socket(httpd.socket, server_side=True)
        self._scheme = "https" if ssl_context is not None else "http"
        httpd.owner = self
        self._httpd = httpd
        self._port = httpd.server_address[1]
        thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Where it serves; after :meth:`stop`, where it served (a request
        still being answered as the test ends names the same place)."""
        assert self._port is not None, "the server has not been started"
        return f"{self._scheme}://127.0.0.1:{self._port}"

    @property
    def url_base(self) -> str:
        """The base of the URLs this server hands out (its public name, if set)."""
        return self.public_url or self.base_url

    def answer(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        encodings: tuple[str, ...] = (),
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` ``method`` requests whose path matches the
        regular expression ``path`` (``re.search``) with ``body`` (bytes as
        they are, anything else as JSON), before the route sees them: a hostile
        host in a line. ``encodings`` compresses the body that many times and
        says so in Content-Encoding."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        with self._lock:
            for _ in range(times):
                self._answers.append(
                    _Answer(method, path, status, data, dict(headers or {}), encodings)
                )

    def take_answer(self, method: str, path: str) -> _Answer | None:
        with self._lock:
            for item in self._answers:
                if item.method == method and re.search(item.path, path):
                    self._answers.remove(item)
                    return item
        return None

    # -- faults ----------------------------------------------------------------------

    def fail(self, kind: str, times: int = 1, **options: Any) -> None:
        """Make the next ``times`` API calls misbehave (see ``api_faults``)."""
        if kind not in self.api_faults:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(self.api_faults)}")
        with self._lock:
            self._faults.extend(Fault(kind, options) for _ in range(times))

    def fail_images(self, kind: str, times: int = 1, **options: Any) -> None:
        """Make the next ``times`` image downloads misbehave (see IMAGE_FAULTS)."""
        if kind not in IMAGE_FAULTS:
            raise ValueError(f"unknown image fault {kind!r}; one of {sorted(IMAGE_FAULTS)}")
        with self._lock:
            self._image_faults.extend(Fault(kind, options) for _ in range(times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._image_faults.clear()

    def expire_images(self) -> None:
        """Make every image URL handed out so far answer 410 Gone."""
        with self._lock:
            self._images = {k: (b"", 0.0, m) for k, (_, _, m) in self._images.items()}

    def next_fault(self, images: bool = False) -> Fault | None:
        with self._lock:
            queue = self._image_faults if images else self._faults
            return queue.popleft() if queue else None

    # -- what was seen ---------------------------------------------------------------

    @property
    def posts(self) -> list[Recorded]:
        """The calls that may bill: every POST."""
        return [r for r in self.requests if r.method == "POST"]

    @property
    def image_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/images/")]

    def record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    # -- images ------------------------------------------------------------------------

    def store(self, data: bytes, mime: str = "image/png") -> str:
        """Host ``data``; returns its URL."""
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._images[token] = (data, time.monotonic() + self.ttl, mime)
        return f"{self.images_url or self.url_base}/images/{token}.png"

    def serve_image(self, h: _Handler) -> None:
        token = h.path[len("/images/") :].split(".")[0]
        if self.image_latency:
            time.sleep(self.image_latency)
        fault = self.next_fault(images=True)
        with self._lock:
            entry = self._images.get(token)
        if entry is None:
            h.send_json(404, {"detail": "no such image"})
            return
        data, expires, mime = entry
        if time.monotonic() > expires:
            h.send_json(410, {"detail": "this image has expired"})
            return
        if fault is None:
            h.send_body(200, data, mime)
        elif fault.kind == "status":
            h.send_json(int(fault.options.get("status", 404)), {"detail": "injected"})
        elif fault.kind == "reset":
            h.send_reset(200, data, mime)
        elif fault.kind == "slow":
            h.send_slow(200, data, mime, fault.options)
        elif fault.kind == "truncated":
            h.send_body(200, data[: len(data) // 2], mime)
        elif fault.kind == "not_image":
            h.send_body(200, b"<html><body>Access denied</body></html>", mime)
        elif fault.kind == "oversized":
            size = int(fault.options.get("size", 40 * 1024 * 1024))
            h.send_slow(200, b"\0" * size, mime, {"chunk": 1 << 20, "interval": 0})
        elif fault.kind == "bomb":
            h.send_body(200, bomb_png(), mime)
        elif fault.kind == "gzip":
            layers = int(fault.options.get("layers", 1))
            h.send_encoded(200, fault.options.get("body", data), mime, ("gzip",) * layers)
        elif fault.kind == "redirect":
            h.send_body(302, b"", "text/plain", {"Location": fault.options["location"]})

    def answered_by_fault(self, h: _Handler) -> tuple[bool, Fault | None]:
        """Take the next queued fault for this call: ``drop`` and ``status``
        answer it here (``True``); any other is returned for the route to apply."""
        fault = self.next_fault()
        if fault and fault.kind == "drop":
            h.drop()
            return True, fault
        if fault and fault.kind == "status":
            h.send_status_fault(fault)
            return True, fault
        return False, fault

    def json_body(self, h: _Handler, body: bytes) -> tuple[bool, Any]:
        """``(True, data)`` for a JSON body; otherwise answers 422 in FastAPI's
        shape (as Black Forest Labs and fal do) and returns ``(False, None)``."""
        try:
            return True, json.loads(body)
        except ValueError:
            h.send_json(422, {"detail": [{"loc": ["body"], "msg": "invalid JSON"}]})
            return False, None

    def authorised(self, h: _Handler, header: str, expected: str, status: int, body: Any) -> bool:
        """Whether ``header`` is ``expected``; if not, answers ``status`` with ``body``."""
        if h.headers.get(header) == expected:
            return True
        h.send_json(status, body)
        return False

    # -- routes (subclasses) -------------------------------------------------------------

    def handle_post(self, h: _Handler, body: bytes) -> None:
        h.send_json(404, {"detail": f"no such endpoint: {h.path}"})

    def handle_put(self, h: _Handler, body: bytes) -> None:
        h.send_json(405, {"detail": "method not allowed"})

    def handle_get(self, h: _Handler) -> None:
        h.send_json(404, {"detail": "not found"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    #: socketserver's default backlog is 5: a burst of new connections (a
    #: batch's image downloads) overflows it and the dropped SYNs are resent
    #: a second later, a stall no real host's listener adds.
    request_queue_size = 128
    owner: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (a timeout, a cancel) is part of the test, not an error.

        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Reads requests and hands them to the server's owner; writes answers,
    well-formed or (for faults) not."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        # Headers and body go as separate writes: without this, Nagle's
        # algorithm holds the body for the client's delayed ACK (about 40 ms),
        # a delay no real host adds.
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        with self.server.owner._lock:
            self.server.owner.connections += 1

    def _read(self, method: str) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        host, port = self.client_address[:2]
        peer = f"{host}:{port}"
        self.server.owner.record(Recorded(method, self.path, dict(self.headers), body, peer=peer))
        return body

    def _answered(self, method: str) -> bool:
        """A queued :meth:`LoopbackServer.answer` for this request, sent."""
        item = self.server.owner.take_answer(method, self.path)
        if item is None:
            return False
        self.send_encoded(item.status, item.body, "application/json", item.encodings, item.headers)
        return True

    def do_POST(self) -> None:
        owner = self.server.owner
        with owner._lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        try:
            body = self._read("POST")
            if not self._answered("POST"):
                owner.handle_post(self, body)
        finally:
            with owner._lock:
                owner.in_flight -= 1

    def do_PUT(self) -> None:
        body = self._read("PUT")
        if not self._answered("PUT"):
            self.server.owner.handle_put(self, body)

    def do_GET(self) -> None:
        self._read("GET")
        if self._answered("GET"):
            return
        if self.path.startswith("/images/"):
            owner = self.server.owner
            with owner._lock:
                owner.images_in_flight += 1
                owner.max_images_in_flight = max(owner.max_images_in_flight, owner.images_in_flight)
            try:
                owner.serve_image(self)
            finally:
                with owner._lock:
                    owner.images_in_flight -= 1
        else:
            self.server.owner.handle_get(self)

    # -- answers -----------------------------------------------------------------------

    def send_body(
        self,
        status: int,
        body: bytes,
        ctype: str = "application/json",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Request-Id", "req_" + secrets.token_hex(6))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def send_encoded(
        self,
        status: int,
        body: bytes,
        ctype: str,
        encodings: tuple[str, ...],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """``body`` gzipped once per name in ``encodings``, all of them named
        in Content-Encoding (a stacked encoding when there are several)."""
        for _ in encodings:
            body = gzip.compress(body, compresslevel=9)
        extra = dict(headers or {})
        if encodings:
            extra["Content-Encoding"] = ", ".join(encodings)
        self.send_body(status, body, ctype, extra)

    def send_json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        self.send_body(status, json.dumps(data).encode(), headers=headers)

    def send_status_fault(self, fault: Fault) -> None:
        """Answer an injected ``status`` fault (with ``retry_after`` and ``body``)."""
        status = int(fault.options.get("status", 500))
        headers = {}
        if fault.options.get("retry_after") is not None:
            headers["Retry-After"] = str(fault.options["retry_after"])
        self.send_json(status, fault.options.get("body", {"detail": f"injected {status}"}), headers)

    def drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def send_reset(self, status: int, body: bytes, ctype: str) -> None:
        """Promise ``body``, send half of it, then reset the connection."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def send_slow(self, status: int, body: bytes, ctype: str, options: Mapping[str, Any]) -> None:
        chunk = int(options.get("chunk", 64))
        interval = float(options.get("interval", 0.05))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            for i in range(0, len(body), chunk):
                self.wfile.write(body[i : i + chunk])
                self.wfile.flush()
                time.sleep(interval)
        except OSError:
            self.close_connection = True


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def solid_png(
    width: int = 64, height: int = 64, colour: tuple[int, int, int] = (90, 120, 200)
) -> bytes:
    """A small valid PNG (for tests that don't need full-size images)."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


def seeded_png(*parts: Any, size: int = 32) -> bytes:
    """A small PNG whose colour is a function of ``parts`` (deterministic)."""
    c = zlib.crc32(repr(parts).encode())
    return solid_png(size, size, (c & 255, (c >> 8) & 255, (c >> 16) & 255))
