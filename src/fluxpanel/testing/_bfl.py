"""``FakeBFL``: Black Forest Labs' API on loopback, as its documentation says.

``POST /v1/flux-dev`` and ``/v1/flux-pro`` with the ``x-key`` header return
``{"id", "polling_url"}``; polling answers ``Pending`` a few times, then
``Ready`` with ``result.sample`` (a URL that expires), or a moderation or
failure state. More active tasks than the account allows answer 429.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._server import LoopbackServer, _Handler, seeded_png

#: Per-task faults (the next submitted task gets it) and whole-call faults.
BFL_FAULTS = frozenset(
    {
        "status",  # answer the submit with ``status`` (402, 429 with ``retry_after``, 5xx)
        "drop",  # close the submit's connection without answering
        "request_moderated",  # the task ends in "Request Moderated"
        "content_moderated",  # the task ends in "Content Moderated"
        "error",  # the task ends in "Error"
        "not_found",  # polling the task answers "Task not found"
        "never_ready",  # the task stays "Pending" for ever
    }
)
_TASK_FAULTS = {"request_moderated", "content_moderated", "error", "not_found", "never_ready"}
_FINAL = {
    "request_moderated": "Request Moderated",
    "content_moderated": "Content Moderated",
    "error": "Error",
    "not_found": "Task not found",
}
_RANGES = {  # the documented body fields: (kind, low, high)
    "width": (int, 256, 1440),
    "height": (int, 256, 1440),
    "steps": (int, 1, 50),
    "guidance": (float, 1.5, 5.0),
    "safety_tolerance": (int, 0, 6),
    "interval": (float, 1.0, 4.0),
    "seed": (int, 0, 2**32 - 1),
}


@dataclass
class _Task:
    id: str
    model: str
    body: dict[str, Any]
    polls_left: int
    fault: str | None = None
    done: bool = False


class FakeBFL(LoopbackServer):
    """Black Forest Labs' API on loopback. ``pending_polls`` is how many polls
    answer ``Pending`` before a task is ready; ``max_active`` the account's
    limit on active tasks (24, as documented)."""

    api_faults = BFL_FAULTS

    def __init__(
        self,
        *,
        api_key: str | None = None,
        pending_polls: int = 1,
        max_active: int = 24,
        ttl: float = 600.0,
    ) -> None:
        super().__init__(api_key=api_key, ttl=ttl)
        self.pending_polls = pending_polls
        self.max_active = max_active
        self.tasks: dict[str, _Task] = {}
        #: The most tasks that were active at once.
        self.max_active_seen = 0
        #: Where polling URLs point, when not at this server's own address: a
        #: cluster of the region, as Black Forest Labs' regional hosts answer.
        self.polling_base: str | None = None
        self._task_lock = threading.Lock()

    @property
    def active(self) -> int:
        return sum(1 for t in self.tasks.values() if not t.done)

    @property
    def submits(self) -> list[Any]:
        return [r for r in self.requests if r.method == "POST"]

    @property
    def polls(self) -> list[Any]:
        return [r for r in self.requests if r.path.startswith("/v1/get_result")]

    def _authorised(self, h: _Handler) -> bool:
        body = {"detail": "Not authenticated - Invalid Authentication"}
        return self.authorised(h, "x-key", self.api_key, 403, body)

    def handle_post(self, h: _Handler, body: bytes) -> None:
        model = {"/v1/flux-dev": "flux-dev", "/v1/flux-pro": "flux-pro"}.get(h.path)
        if model is None:
            h.send_json(404, {"detail": "Not Found"})
            return
        if not self._authorised(h):
            return
        answered, fault = self.answered_by_fault(h)
        if answered:
            return
        ok, data = self.json_body(h, body)
        if not ok:
            return
        problems = _check(model, data)
        if problems:
            h.send_json(422, {"detail": problems})
            return
        with self._task_lock:
            if self.active >= self.max_active:
                h.send_json(429, {"detail": "You have reached the maximum number of active tasks"})
                return
            task = _Task(
                secrets.token_hex(8),
                model,
                data,
                self.pending_polls,
                fault.kind if fault and fault.kind in _TASK_FAULTS else None,
            )
            self.tasks[task.id] = task
            self.max_active_seen = max(self.max_active_seen, self.active)
        h.send_json(
            200,
            {
                "id": task.id,
                "polling_url": f"{self.polling_base or self.url_base}/v1/get_result?id={task.id}",
            },
        )

    def handle_get(self, h: _Handler) -> None:
        parts = urlsplit(h.path)
        if parts.path != "/v1/get_result":
            h.send_json(404, {"detail": "Not Found"})
            return
        if not self._authorised(h):
            return
        task_id = parse_qs(parts.query).get("id", [""])[0]
        with self._task_lock:
            task = self.tasks.get(task_id)
            if task is None or task.fault == "not_found":
                h.send_json(200, {"id": task_id, "status": "Task not found"})
                return
            if task.fault == "never_ready" or task.polls_left > 0:
                task.polls_left -= 1
                h.send_json(200, {"id": task.id, "status": "Pending", "progress": 0.5})
                return
            task.done = True
        if task.fault in _FINAL:
            h.send_json(200, {"id": task.id, "status": _FINAL[task.fault], "result": None})
            return
        image = seeded_png(task.model, task.body.get("prompt"), task.body.get("seed"))
        result = {
            "sample": self.store(image),
            "prompt": task.body["prompt"],
            "seed": task.body.get("seed"),
        }
        h.send_json(200, {"id": task.id, "status": "Ready", "result": result})


def _check(model: str, data: Any) -> list[dict[str, Any]]:
    """Problems with a submitted body, in FastAPI's shape."""
    if not isinstance(data, dict):
        return [{"loc": ["body"], "msg": "expected an object"}]
    problems = []
    if not isinstance(data.get("prompt"), str):
        problems.append({"loc": ["body", "prompt"], "msg": "field required"})
    allowed = set(_RANGES) | {"prompt", "output_format", "prompt_upsampling"}
    if model == "flux-dev":
        allowed.discard("interval")
    for key, value in data.items():
        if key not in allowed:
            problems.append({"loc": ["body", key], "msg": "extra fields not permitted"})
            continue
        if key in _RANGES:
            kind, low, high = _RANGES[key]
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if kind is int:
                ok = ok and float(value).is_integer()
            if not ok or not low <= value <= high:
                problems.append({"loc": ["body", key], "msg": f"must be between {low} and {high}"})
    for key in ("width", "height"):
        if isinstance(data.get(key), int) and data[key] % 32:
            problems.append({"loc": ["body", key], "msg": "must be a multiple of 32"})
    if data.get("output_format", "jpeg") not in ("jpeg", "png"):
        problems.append({"loc": ["body", "output_format"], "msg": "jpeg or png"})
    return problems
