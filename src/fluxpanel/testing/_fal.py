"""``FakeFal``: fal's queue API on loopback, as documented.

Written from fal's material, never from the adapter's tables: the queue
protocol (fal-ai/fal-js ``queue.ts``) and the input types fal generates into
fal-js ``types/endpoints.ts`` (``FluxDevInput``, which ``FluxSchnellInput``
is, and ``FluxProNewInput``). ``POST /<route>`` submits and answers the
request's status, response and cancel URLs; the status moves ``IN_QUEUE`` ->
``IN_PROGRESS`` -> ``COMPLETED``; the response holds ``images``, ``seed`` (one
for the request) and ``has_nsfw_concepts``, or, for input that breaks the
schema, 422 with FastAPI's ``detail`` list; ``PUT`` on the cancel URL cancels
a request that has not finished. An account out of credit is answered 403
"User is locked. Reason: Exhausted balance. ..." at submit.
"""

from __future__ import annotations

import bisect
import heapq
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ._schema import FLUX3_RATIOS, Field, check, image_field, ratio_field
from ._server import LoopbackServer, _Handler, seeded_png

FAL_FAULTS = frozenset(
    {
        "status",  # answer the submit with ``status`` (402, 429 with ``retry_after``, 5xx)
        "drop",  # close the submit's connection without answering
        "nsfw",  # flag image ``index`` (default: all) as NSFW
        "failed",  # the result answers 500 with a detail
        "never_done",  # the request stays IN_QUEUE for ever
        "exhausted",  # the account has no credit: 403 at submit
    }
)
EXHAUSTED = (
    "User is locked. Reason: Exhausted balance. Top up your balance at fal.ai/dashboard/billing"
)
_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
_COMMON = {
    "prompt": Field("string", required=True),
    "image_size": Field("string", enum=tuple(_SIZES)),  # or {"width", "height"}
    "num_images": Field("integer", 1, 4),
    "seed": Field("integer"),
    "output_format": Field("string", enum=("jpeg", "png")),
    "sync_mode": Field("boolean"),
    "num_inference_steps": Field("integer", 1, 50),
    "guidance_scale": Field("number", 1, 20),
}
_DEV = {
    **_COMMON,
    "acceleration": Field("string", enum=("none", "regular", "high")),
    "enable_safety_checker": Field("boolean"),
}
#: Image inputs are URLs (or data URIs, which "some models also accept").
_URL = ("url", "data_uri")
_PRO = {
    "prompt": Field("string", required=True),
    "num_images": Field("integer", 1, 4),
    "seed": Field("integer"),
    "output_format": Field("string", enum=("jpeg", "png")),
    "sync_mode": Field("boolean"),
    "safety_tolerance": Field("string", enum=("1", "2", "3", "4", "5", "6")),
    "enhance_prompt": Field("boolean"),
}
_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")
_ULTRA = {
    **_PRO,
    "aspect_ratio": ratio_field("21:9", "9:21"),
    "raw": Field("boolean"),
    "image_url": image_field(_URL),
    "image_prompt_strength": Field("number", 0, 1),
}
# FluxKontextInput
_KONTEXT = {
    **_PRO,
    "image_url": image_field(_URL, required=True),
    "aspect_ratio": Field("string", enum=_RATIOS),
    "guidance_scale": Field("number", 1, 20),
}
# Flux2MaxInput / Flux2MaxEditInput
_FLUX2 = {
    "prompt": Field("string", required=True),
    "image_size": Field("string", enum=tuple(_SIZES)),
    "output_format": Field("string", enum=("jpeg", "png")),
    "safety_tolerance": Field("string", enum=("1", "2", "3", "4", "5")),
    "enable_safety_checker": Field("boolean"),
    "seed": Field("integer"),
    "sync_mode": Field("boolean"),
}
_FLUX2_EDIT = {
    **_FLUX2,
    "image_urls": Field("images", 1, None, forms=_URL, required=True),
    "image_size": Field("string", enum=("auto", *_SIZES)),
}
# fal's types give no ranges for [flex]: the model's own (Black Forest Labs').
_FLEX = {
    "guidance_scale": Field("number", 1.5, 10),
    "num_inference_steps": Field("integer", 1, 50),
}
# [klein]: 4 to 8 steps, a batch of 1 to 4, at most 4 references; no
# safety tolerance (fal.ai/models/fal-ai/flux-2/klein/9b/llms.txt).
_KLEIN = {
    "prompt": Field("string", required=True),
    "image_size": Field("string", enum=tuple(_SIZES)),
    "num_images": Field("integer", 1, 4),
    "num_inference_steps": Field("integer", 4, 8),
    "output_format": Field("string", enum=("jpeg", "png", "webp")),
    "enable_safety_checker": Field("boolean"),
    "seed": Field("integer"),
    "sync_mode": Field("boolean"),
}
_FLUX2_DEV = {
    "prompt": Field("string", required=True),
    "image_size": Field("string", enum=tuple(_SIZES)),
    "num_images": Field("integer", 1, 4),
    "num_inference_steps": Field("integer", 4, 50),
    "guidance_scale": Field("number", 0, 20),
    "acceleration": Field("string", enum=("none", "regular", "high")),
    "enable_prompt_expansion": Field("boolean"),
    "enable_safety_checker": Field("boolean"),
    "output_format": Field("string", enum=("jpeg", "png", "webp")),
    "seed": Field("integer"),
    "sync_mode": Field("boolean"),
}
_KLEIN_EDIT = {**_KLEIN, "image_urls": Field("images", 1, 4, forms=_URL, required=True)}
SCHEMAS: dict[str, dict[str, Field]] = {
    "fal-ai/flux/schnell": {**_DEV, "num_inference_steps": Field("integer", 1, 12)},
    "fal-ai/flux/dev": _DEV,
    "fal-ai/flux-pro/new": {
        **_COMMON,
        "safety_tolerance": Field("string", enum=("1", "2", "3", "4", "5", "6")),
        "enhance_prompt": Field("boolean"),
    },
    # FluxProV11Input
    "fal-ai/flux-pro/v1.1": {**_PRO, "image_size": Field("string", enum=tuple(_SIZES))},
    # FluxProV11UltraInput (aspect_ratio: the nine ratios "| string")
    "fal-ai/flux-pro/v1.1-ultra": _ULTRA,
    # FluxProV11UltraFinetunedInput: Ultra's fields and the finetune (both required)
    "fal-ai/flux-pro/v1.1-ultra-finetuned": {
        **_ULTRA,
        "finetune_id": Field("string", required=True),
        "finetune_strength": Field("number", required=True),
    },
    # FluxLoraInput: loras (LoraWeight: path, scale), guidance 0 to 35, and
    # acceleration none or regular (fal.ai/docs .../flux-lora for the ranges)
    "fal-ai/flux-lora": {
        **_COMMON,
        "guidance_scale": Field("number", 0, 35),
        "acceleration": Field("string", enum=("none", "regular")),
        "enable_safety_checker": Field("boolean"),
        "loras": Field("loras"),
    },
    "fal-ai/flux-pro/kontext": _KONTEXT,
    "fal-ai/flux-pro/kontext/max": _KONTEXT,
    # FluxProKontextTextToImageInput: Kontext without an input image
    **{
        route: {k: v for k, v in _KONTEXT.items() if k != "image_url"}
        for route in (
            "fal-ai/flux-pro/kontext/text-to-image",
            "fal-ai/flux-pro/kontext/max/text-to-image",
        )
    },
    # Kontext's multi-image routes: image_urls (required) for image_url
    **{
        route: {
            **{k: v for k, v in _KONTEXT.items() if k != "image_url"},
            "image_urls": Field("images", 1, None, forms=_URL, required=True),
        }
        for route in ("fal-ai/flux-pro/kontext/multi", "fal-ai/flux-pro/kontext/max/multi")
    },
    # DevKontextEditInput
    "fal-ai/flux-kontext/dev": {
        **{k: _DEV[k] for k in ("prompt", "num_images", "seed", "output_format", "sync_mode")},
        "image_url": image_field(_URL, required=True),
        "acceleration": _DEV["acceleration"],
        "enable_safety_checker": Field("boolean"),
        "guidance_scale": Field("number", 1, 20),
        "num_inference_steps": Field("integer", 1, 50),
        "resolution_mode": Field("string", enum=("auto", "match_input", "4:5", "5:4", *_RATIOS)),
    },
    # FluxProFillInput: "Needs to match the dimensions of the mask"
    "fal-ai/flux-pro/v1/fill": {
        **_PRO,
        "image_url": image_field(_URL, required=True),
        "mask_url": image_field(_URL, required=True, same_size_as="image_url"),
    },
    # FluxProEraseInput: no prompt, no seed; 0 to 100 pixels of dilation
    # (fal.ai/models/fal-ai/flux-pro/v1/erase/llms.txt)
    "fal-ai/flux-pro/v1/erase": {
        "image_url": image_field(_URL, required=True),
        "mask_url": image_field(_URL, required=True, same_size_as="image_url"),
        "dilate_pixels": Field("integer", 0, 100),
        "output_format": Field("string", enum=("jpeg", "png")),
        "sync_mode": _DEV["sync_mode"],
    },
    # FluxProVtoInput: a prompt, a person and a garment
    "fal-ai/flux-pro/v1/vto": {
        "prompt": Field("string", required=True),
        "human_image_url": image_field(_URL, required=True),
        "garment_image_url": image_field(_URL, required=True),
        "seed": _DEV["seed"],
        "output_format": Field("string", enum=("jpeg", "png")),
        "sync_mode": _DEV["sync_mode"],
    },
    "fal-ai/flux-2-pro": _FLUX2,
    "fal-ai/flux-2-pro/edit": _FLUX2_EDIT,
    "fal-ai/flux-2-max": _FLUX2,
    "fal-ai/flux-2-max/edit": _FLUX2_EDIT,
    # Flux2FlexInput / Flux2FlexEditInput: as [pro], with steps and guidance
    "fal-ai/flux-2-flex": {**_FLUX2, **_FLEX},
    "fal-ai/flux-2-flex/edit": {**_FLUX2_EDIT, **_FLEX},
    # Flux2Input / Flux2EditInput: FLUX.2 [dev] (fal.ai/models/fal-ai/flux-2-dev/llms.txt)
    "fal-ai/flux-2": _FLUX2_DEV,
    "fal-ai/flux-2/edit": {
        **_FLUX2_DEV,
        "image_urls": Field("images", 1, None, forms=_URL, required=True),
    },
    # Flux2Klein4bInput / Flux2Klein4bEditInput (9B's are the same)
    **{
        f"fal-ai/flux-2/klein/{size}{edit}": _KLEIN_EDIT if edit else _KLEIN
        for size in ("4b", "9b")
        for edit in ("", "/edit")
    },
}
# FLUX 3 Image (fal.ai/models/blackforestlabs/flux-3/edit-image): the fields
# its page publishes, and no others; each reference 256 px a side to 4 MP.
SCHEMAS["blackforestlabs/flux-3/text-to-image"] = {
    "prompt": Field("string", required=True),
    "aspect_ratio": Field("string", enum=FLUX3_RATIOS),
}
SCHEMAS["blackforestlabs/flux-3/edit-image"] = {
    **SCHEMAS["blackforestlabs/flux-3/text-to-image"],
    "image_urls": Field("images", 1, 10, forms=_URL, required=True, min_side=256, max_megapixels=4),
}


@dataclass
class _Request:
    id: str
    app: str
    model: str
    input: dict[str, Any]
    polls_left: int
    fault: Any = None
    canceled: bool = False
    result: Any = None
    problems: list[dict[str, Any]] | None = None
    created: float = field(default_factory=time.monotonic)
    #: When the request was done (``time.monotonic``), as the fake saw it.
    ready_at: float | None = None
    #: When it leaves fal's queue and starts to run (past the account's
    #: concurrency it waits for a running one to end).
    started: float = field(default_factory=time.monotonic)


class FakeFal(LoopbackServer):
    """fal on loopback. ``queue_polls`` is how many status polls answer
    ``IN_QUEUE``/``IN_PROGRESS`` before ``COMPLETED``."""

    api_faults = FAL_FAULTS

    def __init__(
        self, *, api_key: str | None = None, queue_polls: int = 2, ttl: float = 600.0
    ) -> None:
        super().__init__(api_key=api_key, ttl=ttl)
        self.queue_polls = queue_polls
        self.queue: dict[str, _Request] = {}
        #: Uploaded files by token, and how many uploads carried the key.
        self.uploads: dict[str, bytes] = {}
        self.keys_sent_to_storage = 0
        #: The account's concurrency: with ``run_seconds``, requests past it
        #: wait in fal's queue (IN_QUEUE) for a running one to end, never
        #: refused ("Requests are never rejected due to concurrency limits",
        #: docs.fal.ai concurrency limits). ``None``: no limit.
        self.concurrency: int | None = None
        self._slots: list[float] = []
        self._starts: list[float] = []  # every start, in order (for queue positions)
        #: Where the upload URLs it hands out point (this server when ``None``):
        #: a test sets another address to play a storage answer gone wrong.
        self.upload_base: str | None = None
        #: With a number, each request runs this many seconds after it is
        #: submitted (then it is done), else it is done after ``queue_polls``.
        self.run_seconds: float | None = None
        self._qlock = threading.Lock()

    @property
    def submits(self) -> list[Any]:
        return self.posts

    @property
    def polls(self) -> list[Any]:
        return [r for r in self.requests if r.path.split("?")[0].endswith("/status")]

    @property
    def streams(self) -> list[Any]:
        """Requests for a status stream (``GET .../status/stream``)."""
        return [r for r in self.requests if r.path.split("?")[0].endswith("/status/stream")]

    @property
    def cancels(self) -> list[Any]:
        return [r for r in self.requests if r.method == "PUT"]

    def _authorised(self, h: _Handler) -> bool:
        body = {"detail": "No user found for Key ID and Secret"}
        return self.authorised(h, "Authorization", f"Key {self.api_key}", 401, body)

    # -- fal's storage (fal-js storage.ts): initiate, then PUT the bytes ----------

    def _initiate(self, h: _Handler, body: bytes) -> None:
        if not self._authorised(h):
            return
        ok, data = self.json_body(h, body)
        if not ok:
            return
        if not isinstance(data, dict) or not isinstance(data.get("content_type"), str):
            h.send_json(422, {"detail": [{"loc": ["body", "content_type"], "msg": "required"}]})
            return
        token = secrets.token_hex(8)
        self.uploads[token] = b""
        h.send_json(
            200,
            {
                "upload_url": f"{self.upload_base or self.url_base}/fal-upload/{token}",
                "file_url": f"{self.url_base}/files/{token}/{data.get('file_name', 'file')}",
            },
        )

    def _receive(self, h: _Handler, body: bytes) -> None:
        token = h.path.split("/")[2]
        if token not in self.uploads:
            h.send_json(404, {"detail": "Unknown upload"})
            return
        if h.headers.get("Authorization"):
            self.keys_sent_to_storage += 1  # a signed URL needs no key: never send it
        self.uploads[token] = body
        h.send_response(200)
        h.send_header("Content-Length", "0")
        h.end_headers()

    def resolve(self, url: str) -> bytes | None:
        """The bytes behind a file URL this fake handed out (None for others)."""
        prefix = f"{self.url_base}/files/"
        if not url.startswith(prefix):
            return None
        data = self.uploads.get(url[len(prefix) :].split("/")[0])
        if not data:
            raise ValueError("is a file URL whose upload never arrived")
        return data

    def handle_post(self, h: _Handler, body: bytes) -> None:
        if h.path.startswith("/storage/upload/initiate"):
            self._initiate(h, body)
            return
        app = h.path.strip("/")
        if app not in SCHEMAS:
            h.send_json(404, {"detail": "Application not found"})
            return
        if not self._authorised(h):
            return
        answered, fault = self.answered_by_fault(h)
        if answered:
            return
        if fault is not None and fault.kind == "exhausted":
            h.send_json(403, {"detail": EXHAUSTED})
            return
        ok, data = self.json_body(h, body)
        if not ok:
            return
        req = _Request(secrets.token_hex(8), app, app, data, self.queue_polls, fault)
        # Checked when run: the result answers 422, as fal's queue does.
        req.problems = _problems(app, data, self.resolve)
        if req.problems:
            req.polls_left = 0
        with self._qlock:
            self._schedule(req)
            self.queue[req.id] = req
        # Status and result live under the app's owner/name, without the endpoint.
        root = f"{self.url_base}/{'/'.join(app.split('/')[:2])}/requests/{req.id}"
        h.send_json(
            200,
            {
                "request_id": req.id,
                "status_url": root + "/status",
                "response_url": root,
                "cancel_url": root + "/cancel",
            },
        )

    def _schedule(self, req: _Request) -> None:
        """When ``req`` starts: at once, or when one of the account's
        ``concurrency`` running requests ends (first come, first served)."""
        if self.concurrency is None or self.run_seconds is None:
            return
        if len(self._slots) < self.concurrency:
            heapq.heappush(self._slots, req.created + self.run_seconds)
            return
        req.started = max(req.created, heapq.heappop(self._slots))
        heapq.heappush(self._slots, req.started + self.run_seconds)
        bisect.insort(self._starts, req.started)

    def _find(self, h: _Handler) -> tuple[_Request | None, str]:
        parts = h.path.strip("/").split("/")
        if "requests" not in parts:
            return None, ""
        i = parts.index("requests")
        rest = "/".join(parts[i + 2 :]).split("?")[0]
        with self._qlock:
            return self.queue.get(parts[i + 1] if len(parts) > i + 1 else ""), rest

    def handle_get(self, h: _Handler) -> None:
        req, rest = self._find(h)
        if req is None:
            h.send_json(404, {"detail": "Request not found"})
            return
        if not self._authorised(h):
            return
        if rest == "status":
            state = self._status(req)
            h.send_json(200 if state["status"] == "COMPLETED" else 202, state)
            return
        if rest == "status/stream":
            self._stream(h, req)
            return
        if rest:
            h.send_json(404, {"detail": "Not found"})
            return
        if req.canceled:
            h.send_json(400, {"detail": "Request was cancelled"})
            return
        running = (
            time.monotonic() - req.started < self.run_seconds
            if self.run_seconds is not None
            else req.polls_left > 0
        )
        if running:
            h.send_json(400, {"detail": "Request is still in progress"})
            return
        if req.problems:
            h.send_json(422, {"detail": req.problems})
            return
        if req.fault is not None and req.fault.kind == "failed":
            h.send_json(
                500,
                {
                    "detail": req.fault.options.get(
                        "detail", "Internal error while running the model"
                    )
                },
            )
            return
        h.send_json(200, self._result(req))

    def _status(self, req: _Request) -> dict[str, Any]:
        """The request's status as ``GET .../status`` answers it (a poll
        counts toward ``queue_polls``): ``logs`` is null unless asked for."""
        with self._qlock:
            base = {"request_id": req.id, "logs": None}
            if req.canceled:
                return {**base, "status": "COMPLETED", "metrics": {}}
            never = req.fault is not None and req.fault.kind == "never_done"
            if self.run_seconds is not None and not never:
                now = time.monotonic()
                if now < req.started:  # waiting for the account's concurrency
                    starts = self._starts
                    ahead = bisect.bisect_left(starts, req.started) - bisect.bisect_right(
                        starts, now
                    )
                    return {**base, "status": "IN_QUEUE", "queue_position": ahead}
                if now - req.started < self.run_seconds:
                    return {**base, "status": "IN_PROGRESS"}
                req.ready_at = req.ready_at or req.started + self.run_seconds
                return {**base, "status": "COMPLETED", "metrics": {}}
            if never or req.polls_left > 0:
                req.polls_left -= 1
                if never or req.polls_left >= 1:
                    position = max(req.polls_left, 0)
                    return {**base, "status": "IN_QUEUE", "queue_position": position}
                return {**base, "status": "IN_PROGRESS"}
            req.ready_at = req.ready_at or time.monotonic()
            return {**base, "status": "COMPLETED", "metrics": {}}

    def _stream(self, h: _Handler, req: _Request) -> None:
        """``GET .../status/stream``: server-sent events, one per change of
        status (``data: {...}``), ending after COMPLETED (fal-js's
        ``streamStatus``; the same objects as the status URL answers)."""
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        h.close_connection = True
        last = None
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            state = self._status(req)
            if state != last:
                h.wfile.write(b"data: " + json.dumps(state).encode() + b"\n\n")
                h.wfile.flush()
                last = state
            if state["status"] == "COMPLETED":
                return
            # Timed: look when it may have changed, say only changes. Counted:
            # each look is a step.
            if self.run_seconds is None:
                time.sleep(0.03)
            elif time.monotonic() < req.started:
                time.sleep(min(0.1, req.started - time.monotonic()) + 0.001)
            else:
                time.sleep(0.005)

    def _result(self, req: _Request) -> dict[str, Any]:
        if req.result is None:
            size = req.input.get("image_size", "landscape_4_3")
            if isinstance(size, dict):
                w, h = size["width"], size["height"]
            else:
                w, h = _SIZES.get(size, (1024, 768))  # auto, or an aspect_ratio route
            n = int(req.input.get("num_images", 1))
            # FLUX 3 takes no seed: each request draws its own image.
            seed = req.id if req.app.startswith("blackforestlabs/") else req.input.get("seed", 1234)
            images = [
                {
                    "url": self.store(seeded_png(req.model, req.input.get("prompt"), seed, i)),
                    "width": w,
                    "height": h,
                    "content_type": "image/png",
                }
                for i in range(n)
            ]
            flags = [False] * n
            if req.fault is not None and req.fault.kind == "nsfw":
                index = req.fault.options.get("index")
                flags = [index is None or i == index for i in range(n)]
            req.result = {
                "images": images,
                "seed": seed,
                "has_nsfw_concepts": flags,
                "prompt": req.input.get("prompt"),
                "timings": {"inference": 0.1},
            }
        return req.result

    def handle_put(self, h: _Handler, body: bytes) -> None:
        if h.path.startswith("/fal-upload/"):
            self._receive(h, body)
            return
        req, rest = self._find(h)
        if req is None or rest != "cancel":
            h.send_json(404, {"detail": "Request not found"})
            return
        if not self._authorised(h):
            return
        with self._qlock:
            done = req.polls_left <= 0 and not (req.fault and req.fault.kind == "never_done")
            if done:
                h.send_json(400, {"status": "ALREADY_COMPLETED"})
                return
            req.canceled = True
        h.send_json(202, {"status": "CANCELLATION_REQUESTED"})


def _problems(route: str, data: Any, resolve: Any = None) -> list[dict[str, Any]]:
    """FastAPI's ``detail`` list for input that breaks the route's schema."""
    if isinstance(data, dict) and isinstance(data.get("image_size"), dict):
        size = data["image_size"]
        ok = all(
            isinstance(size.get(k), int) and not isinstance(size.get(k), bool)
            for k in ("width", "height")
        )
        data = {k: v for k, v in data.items() if k != "image_size"} if ok else data
    return [
        {"loc": ["body", f], "msg": m, "type": "value_error"}
        for f, m in check(SCHEMAS[route], data, resolve=resolve)
    ]
