"""``FakeReplicate``: Replicate's predictions API on loopback, as documented.

Creating a prediction with ``Prefer: wait`` answers when it finishes (or with
its current state, when it takes more polls than the server is told to hold);
``GET /v1/predictions/<id>`` polls it; ``POST .../cancel`` cancels it. Outputs
are URLs that expire after an hour.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass
from typing import Any

from ._server import LoopbackServer, _Handler, seeded_png

REPLICATE_FAULTS = frozenset(
    {
        "status",  # answer the create with ``status`` (402, 429 with ``retry_after``, 5xx)
        "drop",  # close the create's connection without answering
        "failed",  # the prediction fails with ``error`` (default "CUDA out of memory")
        "nsfw",  # the prediction fails: "NSFW content detected"
        "never_done",  # the prediction stays "processing" for ever
    }
)
_MODELS = {"flux-schnell", "flux-dev", "flux-pro"}
_RATIOS = {"1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21"}
_INPUTS: dict[str, dict[str, tuple[type, float, float]]] = {
    "flux-schnell": {"num_outputs": (int, 1, 4), "num_inference_steps": (int, 1, 4)},
    "flux-dev": {
        "num_outputs": (int, 1, 4),
        "num_inference_steps": (int, 1, 50),
        "guidance": (float, 0, 10),
    },
    "flux-pro": {
        "steps": (int, 1, 50),
        "guidance": (float, 2, 5),
        "interval": (float, 1, 4),
        "safety_tolerance": (int, 1, 6),
    },
}


@dataclass
class _Prediction:
    id: str
    model: str
    input: dict[str, Any]
    polls_left: int
    fault: Any = None
    status: str = "starting"
    output: Any = None


class FakeReplicate(LoopbackServer):
    """Replicate on loopback. ``processing_polls`` is how many polls answer
    ``processing`` before a prediction succeeds; with 0, the create call
    (held open by ``Prefer: wait``) answers with the finished prediction."""

    api_faults = REPLICATE_FAULTS

    def __init__(
        self, *, api_key: str | None = None, processing_polls: int = 0, ttl: float = 3600.0
    ) -> None:
        super().__init__(api_key=api_key, ttl=ttl)
        self.processing_polls = processing_polls
        self.predictions: dict[str, _Prediction] = {}
        self._plock = threading.Lock()

    @property
    def creates(self) -> list[Any]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("/predictions")]

    @property
    def cancels(self) -> list[Any]:
        return [r for r in self.requests if r.path.endswith("/cancel")]

    @property
    def polls(self) -> list[Any]:
        return [
            r for r in self.requests if r.method == "GET" and r.path.startswith("/v1/predictions/")
        ]

    def _authorised(self, h: _Handler) -> bool:
        body = {
            "title": "Unauthenticated",
            "detail": "You did not pass a valid authentication token",
            "status": 401,
        }
        return self.authorised(h, "Authorization", f"Bearer {self.api_key}", 401, body)

    def _view(self, p: _Prediction) -> dict[str, Any]:
        base = f"{self.url_base}/v1/predictions/{p.id}"
        out: dict[str, Any] = {
            "id": p.id,
            "model": f"black-forest-labs/{p.model}",
            "input": p.input,
            "status": p.status,
            "output": None,
            "error": None,
            "urls": {"get": base, "cancel": base + "/cancel"},
        }
        if p.status == "succeeded":
            if p.output is None:  # made once, then the same URLs on every read
                n = int(p.input.get("num_outputs", 1))
                key = (p.model, p.input.get("prompt"), p.input.get("seed"))
                urls = [self.store(seeded_png(*key, i)) for i in range(n)]
                p.output = urls[0] if p.model == "flux-pro" else urls
            out["output"] = p.output
        elif p.status == "failed":
            out["error"] = p.fault
        return out

    def _advance(self, p: _Prediction) -> None:
        """One step of a prediction's life, as seen by a poll."""
        if p.status in ("succeeded", "failed", "canceled"):
            return
        if p.fault == "never_done" or p.polls_left > 0:
            p.polls_left -= 1
            p.status = "processing"
            return
        if p.fault:
            p.status = "failed"
        else:
            p.status = "succeeded"

    def handle_post(self, h: _Handler, body: bytes) -> None:
        parts = h.path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["v1", "predictions"] and parts[3] == "cancel":
            if not self._authorised(h):
                return
            with self._plock:
                p = self.predictions.get(parts[2])
                if p is None:
                    h.send_json(404, {"detail": "Not found."})
                    return
                if p.status in ("starting", "processing"):
                    p.status = "canceled"
                view = self._view(p)
            h.send_json(200, view)
            return
        if not (
            len(parts) == 5
            and parts[:3] == ["v1", "models", "black-forest-labs"]
            and parts[3] in _MODELS
            and parts[4] == "predictions"
        ):
            h.send_json(404, {"detail": "Not found."})
            return
        if not self._authorised(h):
            return
        answered, fault = self.answered_by_fault(h)
        if answered:
            return
        model = parts[3]
        try:
            data = json.loads(body)["input"]
        except (ValueError, KeyError, TypeError):
            h.send_json(
                422,
                {
                    "title": "Input validation failed",
                    "detail": "- input is required",
                    "status": 422,
                },
            )
            return
        problem = _check(model, data)
        if problem:
            h.send_json(
                422,
                {
                    "title": "Input validation failed",
                    "detail": f"- input: {problem}",
                    "status": 422,
                },
            )
            return
        kind = fault.kind if fault else None
        reason = {
            "failed": fault.options.get("error", "CUDA out of memory") if fault else None,
            "nsfw": "NSFW content detected. Try running it again, or try a different prompt.",
            "never_done": "never_done",
        }.get(kind or "")
        p = _Prediction(secrets.token_hex(10), model, data, self.processing_polls, reason)
        with self._plock:
            self.predictions[p.id] = p
            if "wait" in (h.headers.get("Prefer") or ""):
                self._advance(p)  # held open: finished if it could be
            view = self._view(p)
        h.send_json(201, view)

    def handle_get(self, h: _Handler) -> None:
        parts = h.path.strip("/").split("/")
        if len(parts) != 3 or parts[:2] != ["v1", "predictions"]:
            h.send_json(404, {"detail": "Not found."})
            return
        if not self._authorised(h):
            return
        with self._plock:
            p = self.predictions.get(parts[2])
            if p is None:
                h.send_json(404, {"detail": "Not found."})
                return
            self._advance(p)
            view = self._view(p)
        h.send_json(200, view)


def _check(model: str, data: Any) -> str:
    if not isinstance(data, dict):
        return "must be an object"
    if not isinstance(data.get("prompt"), str):
        return "prompt is required"
    ranges = _INPUTS[model]
    for key, value in data.items():
        if key in ("prompt", "seed", "output_format", "output_quality", "go_fast"):
            continue
        if key == "aspect_ratio":
            if value not in _RATIOS:
                return f"aspect_ratio must be one of {sorted(_RATIOS)}"
            continue
        if key not in ranges:
            return f"Additional property {key} is not allowed"
        kind, low, high = ranges[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"{key}: Invalid type"
        if kind is int and not float(value).is_integer():
            return f"{key}: Invalid type. Expected: integer"
        if not low <= value <= high:
            return f"{key} must be between {low} and {high}"
    if data.get("output_format", "webp") not in ("webp", "jpg", "png"):
        return "output_format must be one of webp, jpg, png"
    return ""
