"""``FakeFal``: fal's queue API on loopback, as documented.

``POST /<app>`` submits and answers the request's status, response and
cancel URLs; the status moves ``IN_QUEUE`` -> ``IN_PROGRESS`` -> ``COMPLETED``;
the response holds ``images``, ``seed`` and ``has_nsfw_concepts``; ``PUT``
on the cancel URL cancels a request that has not finished.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any

from ._server import LoopbackServer, _Handler, seeded_png

FAL_FAULTS = frozenset(
    {
        "status",  # answer the submit with ``status`` (402, 429 with ``retry_after``, 5xx)
        "drop",  # close the submit's connection without answering
        "nsfw",  # flag image ``index`` (default: all) as NSFW
        "failed",  # the result answers 500 with a detail
        "never_done",  # the request stays IN_QUEUE for ever
    }
)
_APPS = {"fal-ai/flux/schnell": "schnell", "fal-ai/flux/dev": "dev", "fal-ai/flux-pro": "pro"}
_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
_INPUTS: dict[str, dict[str, tuple[float, float]]] = {
    "schnell": {"num_inference_steps": (1, 12), "num_images": (1, 4)},
    "dev": {"num_inference_steps": (1, 50), "num_images": (1, 4), "guidance_scale": (1, 20)},
    "pro": {"num_inference_steps": (1, 50), "num_images": (1, 4), "guidance_scale": (1, 20)},
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
        self._qlock = threading.Lock()

    @property
    def submits(self) -> list[Any]:
        return self.posts

    @property
    def polls(self) -> list[Any]:
        return [r for r in self.requests if r.path.endswith("/status")]

    @property
    def cancels(self) -> list[Any]:
        return [r for r in self.requests if r.method == "PUT"]

    def _authorised(self, h: _Handler) -> bool:
        body = {"detail": "No user found for Key ID and Secret"}
        return self.authorised(h, "Authorization", f"Key {self.api_key}", 401, body)

    def handle_post(self, h: _Handler, body: bytes) -> None:
        app = h.path.strip("/")
        if app not in _APPS:
            h.send_json(404, {"detail": "Application not found"})
            return
        if not self._authorised(h):
            return
        answered, fault = self.answered_by_fault(h)
        if answered:
            return
        ok, data = self.json_body(h, body)
        if not ok:
            return
        problems = _check(_APPS[app], data)
        if problems:
            h.send_json(422, {"detail": problems})
            return
        req = _Request(secrets.token_hex(8), app, _APPS[app], data, self.queue_polls, fault)
        with self._qlock:
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

    def _find(self, h: _Handler) -> tuple[_Request | None, str]:
        parts = h.path.strip("/").split("/")
        if "requests" not in parts:
            return None, ""
        i = parts.index("requests")
        rest = parts[i + 2] if len(parts) > i + 2 else ""
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
            with self._qlock:
                if req.canceled:
                    h.send_json(200, {"status": "COMPLETED", "request_id": req.id})
                    return
                never = req.fault is not None and req.fault.kind == "never_done"
                if never or req.polls_left > 0:
                    req.polls_left -= 1
                    status = "IN_QUEUE" if never or req.polls_left >= 1 else "IN_PROGRESS"
                    h.send_json(
                        202,
                        {
                            "status": status,
                            "request_id": req.id,
                            "queue_position": max(req.polls_left, 0),
                        },
                    )
                    return
            h.send_json(200, {"status": "COMPLETED", "request_id": req.id})
            return
        if rest:
            h.send_json(404, {"detail": "Not found"})
            return
        if req.canceled:
            h.send_json(400, {"detail": "Request was cancelled"})
            return
        if req.polls_left > 0:
            h.send_json(400, {"detail": "Request is still in progress"})
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

    def _result(self, req: _Request) -> dict[str, Any]:
        if req.result is None:
            w, h = _SIZES.get(req.input.get("image_size", "landscape_4_3"), (1024, 768))
            n = int(req.input.get("num_images", 1))
            seed = req.input.get("seed", 1234)
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


def _check(model: str, data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict):
        return [{"loc": ["body"], "msg": "expected an object"}]
    problems = []
    if not isinstance(data.get("prompt"), str):
        problems.append({"loc": ["body", "prompt"], "msg": "field required"})
    ranges = _INPUTS[model]
    for key, value in data.items():
        if key in ("prompt", "seed", "enable_safety_checker", "output_format", "sync_mode"):
            continue
        if key == "image_size":
            if value not in _SIZES:
                problems.append({"loc": ["body", key], "msg": "unexpected value"})
            continue
        if key == "safety_tolerance" and model == "pro":
            if value not in {"1", "2", "3", "4", "5", "6"}:
                problems.append({"loc": ["body", key], "msg": "must be '1' to '6'"})
            continue
        if key not in ranges:
            problems.append({"loc": ["body", key], "msg": "extra fields not permitted"})
            continue
        low, high = ranges[key]
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not low <= value <= high
        ):
            problems.append({"loc": ["body", key], "msg": f"must be between {low} and {high}"})
    return problems
