"""``ReferenceServer``: the FLUX API of API_CONTRACT.md on 127.0.0.1, for tests.

A real HTTP/1.1 server on a free loopback port, in a background thread. It
checks the Bearer key (401), validates bodies with the same capability table
as the client (422), serves the images it makes itself, records every request,
and can be told to misbehave in every way a real host does.
"""

from __future__ import annotations

import collections
import io
import json
import secrets
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from .._errors import ValidationError
from .._request import GenerationRequest
from .._spec import MODELS, ModelSpec

ImageFactory = Callable[[GenerationRequest, int], bytes]

#: Faults for the generation endpoint.
API_FAULTS = {
    "status",  # answer ``status`` (with ``retry_after`` and ``body`` if given)
    "drop",  # read the request, close the connection without answering
    "reset",  # send headers and half the body, then reset the connection
    "hang",  # wait ``seconds`` before answering (a read timeout for the client)
    "slow",  # answer, dripping the body ``chunk`` bytes every ``interval`` s
    "malformed",  # a body that is not JSON
    "truncated",  # valid JSON cut short
    "empty",  # an empty list of images
    "body",  # answer 200 with ``body`` (any JSON) as is
}
#: Faults for image downloads.
IMAGE_FAULTS = {
    "status",  # answer ``status``
    "reset",  # half the body, then reset
    "slow",  # drip the body
    "truncated",  # the first half of the image, as a whole response
    "not_image",  # HTML instead of an image
    "oversized",  # more bytes than ``size`` (default 40 MiB) of junk
    "bomb",  # a small PNG that claims to be enormous
}


@dataclass
class Recorded:
    """One request the server saw."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    time: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class _Fault:
    kind: str
    options: dict[str, Any]


class ReferenceServer:
    """The FLUX API on loopback. Use as a context manager::

        with ReferenceServer() as server:
            client = FluxClient(api_key=server.api_key, url=server.url)

    ``latency`` delays every generation answer (seconds); ``image_factory``
    makes the image bytes (default: the preview provider's placeholders);
    ``ttl`` is how long image URLs live.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        latency: float = 0.0,
        image_latency: float = 0.0,
        image_factory: ImageFactory | None = None,
        ttl: float = 600.0,
        models: Mapping[str, ModelSpec] = MODELS,
        response: str = "list",
    ) -> None:
        self.api_key = api_key or "sk-test-" + secrets.token_hex(16)
        self.latency = latency
        self.image_latency = image_latency
        self.image_factory = image_factory or _default_factory()
        self.ttl = ttl
        self.models = models
        #: How a success is wrapped: ``list``, ``images``, ``data`` or ``output``.
        self.response = response
        self.requests: list[Recorded] = []
        self.connections = 0
        #: Generation calls being answered now, and the most there ever were at once.
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults: collections.deque[_Fault] = collections.deque()
        self._image_faults: collections.deque[_Fault] = collections.deque()
        self._images: dict[str, tuple[bytes, float, str]] = {}
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> ReferenceServer:
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> ReferenceServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "the server is not running"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def url(self) -> str:
        """The generation endpoint."""
        return self.base_url + "/v1/generate"

    def env(self) -> dict[str, str]:
        """Environment variables that point fluxpanel at this server."""
        return {"FLUX_API_KEY": self.api_key, "FLUX_API_URL": self.url}

    # -- faults ----------------------------------------------------------------------

    def fail(self, kind: str, times: int = 1, **options: Any) -> None:
        """Make the next ``times`` generation calls misbehave (see API_FAULTS)."""
        if kind not in API_FAULTS:
            raise ValueError(f"unknown fault {kind!r}; one of {sorted(API_FAULTS)}")
        with self._lock:
            self._faults.extend(_Fault(kind, options) for _ in range(times))

    def fail_images(self, kind: str, times: int = 1, **options: Any) -> None:
        """Make the next ``times`` image downloads misbehave (see IMAGE_FAULTS)."""
        if kind not in IMAGE_FAULTS:
            raise ValueError(f"unknown image fault {kind!r}; one of {sorted(IMAGE_FAULTS)}")
        with self._lock:
            self._image_faults.extend(_Fault(kind, options) for _ in range(times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._image_faults.clear()

    def expire_images(self) -> None:
        """Make every image URL handed out so far answer 410 Gone."""
        with self._lock:
            self._images = {k: (b"", 0.0, m) for k, (_, _, m) in self._images.items()}

    # -- what was seen --------------------------------------------------------------

    @property
    def posts(self) -> list[Recorded]:
        """The billable generation calls received."""
        return [r for r in self.requests if r.method == "POST"]

    @property
    def image_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.startswith("/images/")]

    # -- internals used by the handler -------------------------------------------------

    def _next_fault(self, images: bool) -> _Fault | None:
        with self._lock:
            queue = self._image_faults if images else self._faults
            return queue.popleft() if queue else None

    def _record(self, rec: Recorded) -> None:
        with self._lock:
            self.requests.append(rec)

    def _store(self, data: bytes, mime: str = "image/png") -> str:
        token = secrets.token_urlsafe(12)
        with self._lock:
            self._images[token] = (data, time.monotonic() + self.ttl, mime)
        return token

    def _image(self, token: str) -> tuple[bytes, float, str] | None:
        with self._lock:
            return self._images.get(token)


def _default_factory() -> ImageFactory:
    cache: dict[tuple[GenerationRequest, int], bytes] = {}
    lock = threading.Lock()

    def make(request: GenerationRequest, index: int) -> bytes:
        from ..providers.preview import draw_placeholder

        key = (request, index)
        with lock:
            if key in cache:
                return cache[key]
        data = draw_placeholder(request, index)
        with lock:
            if len(cache) > 256:
                cache.clear()
            cache[key] = data
        return data

    return make


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: ReferenceServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def setup(self) -> None:
        super().setup()
        with self.server.owner._lock:
            self.server.owner.connections += 1

    # -- helpers ----------------------------------------------------------------------

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(
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

    def _json(self, status: int, data: Any, headers: Mapping[str, str] | None = None) -> None:
        self._send(status, json.dumps(data).encode(), headers=headers)

    def _reset(self, status: int, body: bytes, ctype: str) -> None:
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

    def _slow(self, status: int, body: bytes, ctype: str, options: Mapping[str, Any]) -> None:
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

    # -- routes -------------------------------------------------------------------------

    def do_POST(self) -> None:
        owner = self.server.owner
        with owner._lock:
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
        try:
            self._generate()
        finally:
            with owner._lock:
                owner.in_flight -= 1

    def _generate(self) -> None:
        owner = self.server.owner
        body = self._body()
        owner._record(Recorded("POST", self.path, dict(self.headers), body))
        if self.path != "/v1/generate":
            self._json(404, {"detail": f"no such endpoint: {self.path}"})
            return
        if self.headers.get("Authorization") != f"Bearer {owner.api_key}":
            self._json(401, {"detail": "invalid or missing API key"})
            return
        fault = owner._next_fault(images=False)
        if fault and fault.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault and fault.kind == "hang":
            time.sleep(float(fault.options.get("seconds", 5.0)))
        if fault and fault.kind == "status":
            status = int(fault.options.get("status", 500))
            headers = {}
            if fault.options.get("retry_after") is not None:
                headers["Retry-After"] = str(fault.options["retry_after"])
            detail = fault.options.get("body", {"detail": f"injected {status}"})
            self._json(status, detail, headers)
            return
        try:
            payload = json.loads(body)
            request = GenerationRequest.from_payload(payload, models=owner.models)
        except ValueError as e:  # ValidationError and JSON errors
            detail = str(e) if isinstance(e, ValidationError) else f"invalid JSON: {e}"
            self._json(422, {"detail": detail})
            return
        if owner.latency:
            time.sleep(owner.latency)
        urls = []
        for i in range(request.count):
            token = owner._store(owner.image_factory(request, i))
            urls.append(f"{owner.base_url}/images/{token}.png")
        answer: Any = urls
        if owner.response == "images":
            answer = {"images": urls}
        elif owner.response == "data":
            answer = {"data": [{"url": u} for u in urls]}
        elif owner.response == "output":
            answer = {"output": urls}
        data = json.dumps(answer).encode()
        if fault is None or fault.kind == "hang":
            self._send(200, data)
        elif fault.kind == "reset":
            self._reset(200, data, "application/json")
        elif fault.kind == "slow":
            self._slow(200, data, "application/json", fault.options)
        elif fault.kind == "malformed":
            self._send(200, b"<html>not json</html>", "text/html")
        elif fault.kind == "truncated":
            self._send(200, data[: len(data) // 2])
        elif fault.kind == "empty":
            self._json(200, [])
        elif fault.kind == "body":
            self._json(200, fault.options.get("body"))

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._record(Recorded("GET", self.path, dict(self.headers), b""))
        if not self.path.startswith("/images/"):
            self._json(405 if self.path == "/v1/generate" else 404, {"detail": "not found"})
            return
        token = self.path[len("/images/") :].split(".")[0]
        if owner.image_latency:
            time.sleep(owner.image_latency)
        fault = owner._next_fault(images=True)
        entry = owner._image(token)
        if entry is None:
            self._json(404, {"detail": "no such image"})
            return
        data, expires, mime = entry
        if time.monotonic() > expires:
            self._json(410, {"detail": "this image has expired"})
            return
        if fault is None:
            self._send(200, data, mime)
        elif fault.kind == "status":
            self._json(int(fault.options.get("status", 404)), {"detail": "injected"})
        elif fault.kind == "reset":
            self._reset(200, data, mime)
        elif fault.kind == "slow":
            self._slow(200, data, mime, fault.options)
        elif fault.kind == "truncated":
            self._send(200, data[: len(data) // 2], mime)
        elif fault.kind == "not_image":
            self._send(200, b"<html><body>Access denied</body></html>", mime)
        elif fault.kind == "oversized":
            size = int(fault.options.get("size", 40 * 1024 * 1024))
            self._slow(200, b"\0" * size, mime, {"chunk": 1 << 20, "interval": 0})
        elif fault.kind == "bomb":
            self._send(200, bomb_png(), mime)


def bomb_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels."""
    sig = b"\x89PNG\r\n\x1a\n"

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return sig + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def solid_png(
    width: int = 64, height: int = 64, colour: tuple[int, int, int] = (90, 120, 200)
) -> bytes:
    """A small valid PNG (for tests that don't need full-size images)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()
