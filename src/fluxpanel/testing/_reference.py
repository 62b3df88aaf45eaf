"""``ReferenceServer``: the FLUX API of API_CONTRACT.md on 127.0.0.1, for tests.

It checks the Bearer key (401), validates bodies with the same capability
table as the client (422), serves the images it makes itself, records every
request, and can be told to misbehave in every way a real host does.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import ValidationError
from .._request import GenerationRequest
from .._spec import ModelSpec
from ..providers._placeholder import draw
from ..tables.flux_api import MODELS
from ._server import LoopbackServer, _Handler

ImageFactory = Callable[[GenerationRequest, int], bytes]

#: Faults for the generation endpoint.
API_FAULTS = frozenset(
    {
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
)


class ReferenceServer(LoopbackServer):
    """The FLUX API on loopback. Use as a context manager::

        with ReferenceServer() as server:
            client = FluxClient(api_key=server.api_key, url=server.url)

    ``latency`` delays every generation answer (seconds); ``image_factory``
    makes the image bytes (default: the preview provider's placeholders);
    ``ttl`` is how long image URLs live; ``response`` is how a success is
    wrapped: ``list``, ``images``, ``data`` or ``output``; ``chaos`` is the
    share of calls and downloads that fail with 503 at random.
    """

    def _chaos(self) -> bool:
        if not self.chaos:
            return False
        with self._lock:
            return self._chaos_rng.random() < self.chaos

    def serve_image(self, h: _Handler) -> None:
        if self._chaos():
            h.send_json(503, {"detail": "chaos"})
            return
        super().serve_image(h)

    api_faults = API_FAULTS

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
        chaos: float = 0.0,
        chaos_seed: int = 0,
    ) -> None:
        super().__init__(api_key=api_key, ttl=ttl, image_latency=image_latency)
        self.latency = latency
        #: Share of generation calls and of image downloads answered 503 at
        #: random (from a fixed seed, so a run can be repeated).
        self.chaos = chaos
        self._chaos_rng = random.Random(chaos_seed)
        self.image_factory = image_factory or _default_factory()
        self.models = models
        self.response = response

    @property
    def url(self) -> str:
        """The generation endpoint."""
        return self.base_url + "/v1/generate"

    def env(self) -> dict[str, str]:
        """Environment variables that point fluxpanel at this server."""
        return {"FLUX_API_KEY": self.api_key, "FLUX_API_URL": self.url}

    def handle_get(self, h: _Handler) -> None:
        h.send_json(405 if h.path == "/v1/generate" else 404, {"detail": "not found"})

    def handle_post(self, h: _Handler, body: bytes) -> None:
        if h.path.split("?")[0] != "/v1/generate":
            h.send_json(404, {"detail": f"no such endpoint: {h.path}"})
            return
        denied = {"detail": "invalid or missing API key"}
        if not self.authorised(h, "Authorization", f"Bearer {self.api_key}", 401, denied):
            return
        answered, fault = self.answered_by_fault(h)
        if answered:
            return
        if fault and fault.kind == "hang":
            time.sleep(float(fault.options.get("seconds", 5.0)))
        if self._chaos():
            h.send_json(503, {"detail": "chaos"})
            return
        try:
            request = GenerationRequest.from_payload(json.loads(body), models=self.models)
        except ValueError as e:  # ValidationError and JSON errors
            detail = str(e) if isinstance(e, ValidationError) else f"invalid JSON: {e}"
            h.send_json(422, {"detail": detail})
            return
        if self.latency:
            time.sleep(self.latency)
        urls = [self.store(self.image_factory(request, i)) for i in range(request.count)]
        answer: Any = urls
        if self.response == "images":
            answer = {"images": urls}
        elif self.response == "data":
            answer = {"data": [{"url": u} for u in urls]}
        elif self.response == "output":
            answer = {"output": urls}
        data = json.dumps(answer).encode()
        if fault is None or fault.kind == "hang":
            h.send_body(200, data)
        elif fault.kind == "reset":
            h.send_reset(200, data, "application/json")
        elif fault.kind == "slow":
            h.send_slow(200, data, "application/json", fault.options)
        elif fault.kind == "malformed":
            h.send_body(200, b"<html>not json</html>", "text/html")
        elif fault.kind == "truncated":
            h.send_body(200, data[: len(data) // 2])
        elif fault.kind == "empty":
            h.send_json(200, [])
        elif fault.kind == "body":
            h.send_json(200, fault.options.get("body"))


def _default_factory() -> ImageFactory:
    cache: dict[tuple[GenerationRequest, int], bytes] = {}
    lock = threading.Lock()

    def make(request: GenerationRequest, index: int) -> bytes:
        key = (request, index)
        with lock:
            if key in cache:
                return cache[key]
        data = draw(request, index)
        with lock:
            if len(cache) > 256:
                cache.clear()
            cache[key] = data
        return data

    return make
