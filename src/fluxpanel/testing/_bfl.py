"""``FakeBFL``: Black Forest Labs' API on loopback, as its documentation says.

Written from Black Forest Labs' API reference (``FluxDevInputs`` and
``FluxProInputs`` of api.bfl.ai/openapi.json; "Get result" and its
``StatusResponse``), never from the adapter's tables.
``POST /v1/flux-dev`` and ``/v1/flux-pro`` with the ``x-key`` header return
``{"id", "polling_url"}``; a body breaking the schema (an unknown field
included) is 422 with FastAPI's ``detail`` list. Polling answers ``Pending``
(and, told so, FLUX 3's ``Reasoning`` and ``Generating``) a few times, then
``Ready`` with ``result.sample`` (a URL that expires), or a moderation or
failure state. ``polling_base`` makes the polling URL name another cluster
(``https://api.eu1.bfl.ai`` behind ``https://api.eu.bfl.ai``), as regional
hosts do. More active tasks than the account allows answer 429.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ._flux3 import ADDED_BOX, B64_URL, FLUX3_SCHEMAS, WAITING, expand, flux31_problems
from ._schema import (
    Field,
    check,
    decode_image,
    image_field,
    image_size,
    ratio_field,
)
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
        "unknown_status",  # polling answers ``status`` (default "Queued, maybe")
    }
)
_TASK_FAULTS = {
    "request_moderated",
    "content_moderated",
    "error",
    "not_found",
    "never_ready",
    "unknown_status",
}
_FINAL = {
    "request_moderated": "Request Moderated",
    "content_moderated": "Content Moderated",
    "error": "Error",
    "not_found": "Task not found",
}
#: The published input schemas (FluxDevInputs, FluxProInputs).
_DEV = {
    "prompt": Field("string", nullable=True),
    "image_prompt": Field("string", nullable=True),
    "width": Field("integer", 256, 1440, multiple_of=32),
    "height": Field("integer", 256, 1440, multiple_of=32),
    "steps": Field("integer", 1, 50, nullable=True),
    "prompt_upsampling": Field("boolean"),
    "seed": Field("integer", nullable=True),
    "guidance": Field("number", 1.5, 5, nullable=True),
    "safety_tolerance": Field("integer", 0, 6),
    "output_format": Field("string", enum=("jpeg", "png"), nullable=True),
    "webhook_url": Field("string", nullable=True),
    "webhook_secret": Field("string", nullable=True),
}
#: Input images (the SDK's GenericImageValidation): base64 (or a URL where
#: the reference says so), 20 MB of base64, 20 megapixels, 256 px a side.
_B64 = ("base64",)
_LIMITS = {"max_bytes": 15_000_000, "max_megapixels": 20, "min_side": 256}
_COMMON = {
    k: _DEV[k]
    for k in (
        "prompt",
        "seed",
        "safety_tolerance",
        "prompt_upsampling",
        "output_format",
        "webhook_url",
        "webhook_secret",
    )
}
_FLUX2 = {
    **{k: v for k, v in _COMMON.items() if k != "prompt_upsampling"},
    "prompt": Field("string", required=True),
    "width": Field("integer", 64, None, multiple_of=16, nullable=True),
    "height": Field("integer", 64, None, multiple_of=16, nullable=True),
    "safety_tolerance": Field("integer", 0, 5),
    **{
        "input_image" + (f"_{i}" if i > 1 else ""): image_field(B64_URL, nullable=True, **_LIMITS)
        for i in range(1, 9)
    },
}
#: What the FLUX Tools (erase, deblur, try-on) take beside their own fields:
#: tolerance 0 to 5 (6 and 7 only for allowlisted organisations), webp too.
_TOOL = {
    "user": Field("string", nullable=True),
    "seed": _DEV["seed"],
    "safety_tolerance": Field("integer", 0, 5),
    "output_format": Field("string", enum=("jpeg", "png", "webp"), nullable=True),
    "webhook_url": _DEV["webhook_url"],
    "webhook_secret": _DEV["webhook_secret"],
}
SCHEMAS = {
    "/v1/flux-dev": _DEV,
    "/v1/flux-pro": {**_DEV, "interval": Field("number", 1, 4, nullable=True)},
    # FluxPro11Inputs
    "/v1/flux-pro-1.1": {
        **_COMMON,
        "width": _DEV["width"],
        "height": _DEV["height"],
        "image_prompt": image_field(_B64, nullable=True, **_LIMITS),
    },
    # FluxUltraInput: aspect_ratio is free text "between 21:9 and 9:21"
    "/v1/flux-pro-1.1-ultra": {
        **_COMMON,
        "aspect_ratio": ratio_field("21:9", "9:21", nullable=True),
        "raw": Field("boolean"),
        "image_prompt": image_field(_B64, nullable=True, **_LIMITS),
        "image_prompt_strength": Field("number", 0, 1),
    },
    # FLUX [pro] finetune: FLUX.1 [pro]'s fields without interval, and the finetune
    "/v1/flux-pro-finetuned": {
        **_DEV,
        "image_prompt": image_field(_B64, nullable=True, **_LIMITS),
        "finetune_id": Field("string", required=True),
        "finetune_strength": Field("number", 0, 2),
    },
    # FinetuneFluxUltraInput: Ultra's fields without raw, and the finetune
    # ("Name of the LoRA to use ... 'org-id/lora-name'"), its strength 0 to 2
    "/v1/flux-pro-1.1-ultra-finetuned": {
        **_COMMON,
        "aspect_ratio": ratio_field("21:9", "9:21", nullable=True),
        "image_prompt": image_field(_B64, nullable=True, **_LIMITS),
        "image_prompt_strength": Field("number", 0, 1),
        "finetune_id": Field("string", required=True),
        "finetune_strength": Field("number", 0, 2),
    },
    # FluxKontextProInputs (pro and max), with input_image_2 to _4
    # ("Experimental Multiref", docs.bfl.ml/api-reference); the tolerance
    # "Limit of 2 for Image to Image"
    **{
        path: {
            **_COMMON,
            "prompt": Field("string", required=True),
            "safety_tolerance": Field("integer", 0, 6, most_with=("input_image", 2)),
            **{
                "input_image" + (f"_{i}" if i > 1 else ""): image_field(
                    B64_URL, nullable=True, **_LIMITS
                )
                for i in range(1, 5)
            },
            "aspect_ratio": ratio_field("21:9", "9:21", nullable=True),
        }
        for path in ("/v1/flux-kontext-pro", "/v1/flux-kontext-max")
    },
    # FluxProFillInputs: the mask the image's size, or none with an alpha mask
    "/v1/flux-pro-1.0-fill": {
        **_COMMON,
        "image": image_field(_B64, required=True, **_LIMITS),
        "mask": image_field(_B64, nullable=True, same_size_as="image", alpha_of="image", **_LIMITS),
        "steps": Field("integer", 15, 50, nullable=True),
        "guidance": Field("number", 1.5, 100, nullable=True),
    },
    # FluxProExpandInputs: only the image is required, the prompt may be empty
    "/v1/flux-pro-1.0-expand": {
        **_COMMON,
        "prompt": Field("string", nullable=True),
        "image": image_field(_B64, required=True, **_LIMITS),
        **{
            side: Field("integer", 0, 2048, nullable=True)
            for side in ("top", "bottom", "left", "right")
        },
        "steps": Field("integer", 15, 50, nullable=True),
        "guidance": Field("number", 1.5, 100, nullable=True),
    },
    # Flux2EraseInputs ("Erase an object from an image"): no prompt at all
    # (one sent is an unknown field), the mask the image's size, 0 to 25
    # pixels of dilation.
    "/v1/flux-tools/erase-v1": {
        **_TOOL,
        "image": image_field(B64_URL, required=True, **_LIMITS),
        "mask": image_field(B64_URL, required=True, same_size_as="image", **_LIMITS),
        "dilate_pixels": Field("integer", 0, 25),
    },
    # Flux2DeblurInputs (the SDK's DeblurParams): the image only, no prompt
    "/v1/flux-tools/deblur-v1": {
        **_TOOL,
        "image": image_field(B64_URL, required=True, **{**_LIMITS, "max_megapixels": 4}),
    },
    # Flux2KleinTryonInputs (the SDK's VtoParams): a prompt, a person and a garment
    "/v1/flux-tools/vto-v1": {
        **_TOOL,
        "prompt": Field("string", required=True),
        "person": image_field(B64_URL, required=True, **_LIMITS),
        "garment": image_field(B64_URL, required=True, **_LIMITS),
    },
    # FluxOutpaintingInputs (the SDK's OutpaintParams): no seed, no webhooks
    "/v1/flux-tools/outpainting-v1": {
        "input_image": image_field(B64_URL, required=True, **_LIMITS),
        "width": Field("integer", 64, None, required=True),
        "height": Field("integer", 64, None, required=True),
        "reference_offset_x": Field("integer", nullable=True),
        "reference_offset_y": Field("integer", nullable=True),
        "auto_crop": Field("boolean"),
        "mode": Field("string", enum=("high", "fast")),
        "prompt": Field("string", nullable=True),
        "safety_tolerance": Field("integer", 0, 5),
        "output_format": Field("string", enum=("jpeg", "png", "webp"), nullable=True),
    },
    "/v1/flux-2-pro": {**_FLUX2, "disable_pup": Field("boolean")},  # the SDK's _requests.py
    "/v1/flux-2-max": {**_FLUX2, "disable_pup": Field("boolean")},
    # Flux2FlexInputs
    "/v1/flux-2-flex": {
        **_FLUX2,
        "steps": Field("integer", 1, 50, nullable=True),
        "guidance": Field("number", 1.5, 10, nullable=True),
        "prompt_upsampling": Field("boolean"),
    },
}
SCHEMAS.update(FLUX3_SCHEMAS)


# FLUX.2 [klein] 4B and 9B (Flux2KleinInputs, "like Pro but max 4 images"):
# the FLUX.2 fields with input_image to input_image_4; a fifth is unknown.
for _path in ("/v1/flux-2-klein-4b", "/v1/flux-2-klein-9b"):
    SCHEMAS[_path] = {
        k: v
        for k, v in _FLUX2.items()
        if not k.startswith("input_image") or k == "input_image" or int(k.rsplit("_", 1)[1]) <= 4
    }
#: The endpoints whose width and height together may not pass 4 megapixels.
_FOUR_MP = {p for p in SCHEMAS if p.startswith("/v1/flux-2-")} | {"/v1/flux-tools/outpainting-v1"}


def _placement_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Outpainting: the image, at its offset (centred where none is given),
    must lie on the canvas unless ``auto_crop`` ("If False, an error is
    raised instead")."""
    if data.get("auto_crop"):
        return []
    data_ = decode_image(data["input_image"], B64_URL, None)
    if data_ is None:
        return []  # a URL, not fetched here: taken on trust
    w, h = image_size(data_)
    problems = []
    for axis, size, side in (
        ("reference_offset_x", w, "width"),
        ("reference_offset_y", h, "height"),
    ):
        room = data[side]
        at = data.get(axis)
        at = (room - size) // 2 if at is None else at
        if at < 0 or at + size > room:
            problems.append((axis, f"the image runs past the canvas's {side} (auto_crop is off)"))
    return problems


@dataclass
class _Task:
    id: str
    model: str
    body: dict[str, Any]
    polls_left: int
    fault: str | None = None
    done: bool = False
    options: dict[str, Any] | None = None
    polls: int = 0
    created: float = field(default_factory=time.monotonic)
    #: When the task was done (``time.monotonic``), as the fake saw it.
    ready_at: float | None = None


#: What each route costs in credits of $0.01, as the create answers it: Black
#: Forest Labs' price list (docs.bfl.ai pricing; FLUX.2 and FLUX 3 at their
#: first megapixel or 1K tier).
CREDITS = {
    "flux-dev": 2.5,
    "flux-pro": 5.0,
    "flux-pro-1.1": 4.0,
    "flux-pro-1.1-ultra": 6.0,
    "flux-kontext-pro": 4.0,
    "flux-kontext-max": 8.0,
    "flux-pro-1.0-fill": 5.0,
    "flux-2-pro": 3.0,
    "flux-2-max": 7.0,
    "flux-2-flex": 5.0,
    "flux-2-klein-4b": 1.4,
    "flux-2-klein-9b": 1.5,
    "flux-3-image": 4.8,
    "flux-3-image-klein": 0.9,
    "flux-3.1-image": 3.0,
}


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
        #: The most tasks that were active at once, and creates refused past them.
        self.max_active_seen = 0
        self.refused_active = 0
        #: With a number, each task runs this many seconds (its progress is the
        #: share of that time gone), else it is ready after ``pending_polls``.
        self.run_seconds: float | None = None
        #: Whether polls say how far a task is (``progress`` is optional in
        #: Black Forest Labs' reference).
        self.report_progress = True
        #: The waiting states a task passes through, in order, before Ready
        #: (FLUX 3 answers "Reasoning" then "Generating").
        self.waiting = ("Pending",)
        #: The row FLUX 3 adds to the prompt it sends back (None: none).
        self.added_box: dict[str, Any] | None = dict(ADDED_BOX)
        #: Where polling URLs point, when not at this server's own address: a
        #: cluster of the region, as Black Forest Labs' regional hosts answer.
        self.polling_base: str | None = None
        self._task_lock = threading.Lock()

    @property
    def active(self) -> int:
        """Tasks running at the host: not yet polled Ready, and (when tasks
        run for ``run_seconds``) not yet past their time."""
        now = time.monotonic()
        timed = self.run_seconds
        return sum(
            1
            for t in self.tasks.values()
            if not t.done and (timed is None or t.fault == "never_ready" or now - t.created < timed)
        )

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
        schema = SCHEMAS.get(h.path)
        model = h.path.rsplit("/", 1)[-1]
        if schema is None:
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
        problems = check(schema, data)
        if h.path in _FOUR_MP and isinstance(data, dict):
            w, h_ = data.get("width"), data.get("height")
            if isinstance(w, int) and isinstance(h_, int) and w * h_ > 2048 * 2048:
                for side in ("width", "height"):
                    problems.append((side, "width x height must be at most 4 megapixels"))
        if h.path == "/v1/flux-tools/outpainting-v1" and not problems:
            problems += _placement_problems(data)
        if h.path == "/v1/flux-3.1-image" and not problems:
            problems += flux31_problems(data)
        if problems:
            detail = [{"loc": ["body", f], "msg": m, "type": "value_error"} for f, m in problems]
            h.send_json(422, {"detail": detail})
            return
        with self._task_lock:
            if self.active >= self.max_active:
                self.refused_active += 1
                h.send_json(429, {"detail": "You have reached the maximum number of active tasks"})
                return
            task = _Task(
                secrets.token_hex(8),
                model,
                data,
                self.pending_polls,
                fault.kind if fault and fault.kind in _TASK_FAULTS else None,
                options=fault.options if fault else None,
            )
            self.tasks[task.id] = task
            self.max_active_seen = max(self.max_active_seen, self.active)
        h.send_json(
            200,
            {
                "id": task.id,
                "polling_url": f"{self.polling_base or self.url_base}/v1/get_result?id={task.id}",
                # "cost" in credits of $0.01, with the megapixels in and out.
                "cost": CREDITS.get(model, 4.0),
                "input_mp": 0.0,
                "output_mp": 1.0,
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
            if task.fault == "unknown_status":
                status = (task.options or {}).get("status", "Queued, maybe")
                h.send_json(200, {"id": task.id, "status": status, "result": None})
                return
            now = time.monotonic()
            timed = self.run_seconds is not None and task.fault != "never_ready"
            running = timed and now - task.created < (self.run_seconds or 0)
            if running or (not timed and (task.fault == "never_ready" or task.polls_left > 0)):
                task.polls_left -= 1
                waiting = WAITING.get(task.model, self.waiting)
                state = waiting[min(task.polls, len(waiting) - 1)]
                # Waiting its turn first (no progress yet), then how far it is.
                total = task.polls + max(task.polls_left, 0) + 1
                progress = None if task.polls == 0 else round(task.polls / total, 3)
                if timed:
                    progress = round((now - task.created) / (self.run_seconds or 1), 3)
                if not self.report_progress:
                    progress = None
                task.polls += 1
                h.send_json(200, {"id": task.id, "status": state, "progress": progress})
                return
            task.done = True
            if task.ready_at is None:
                task.ready_at = task.created + self.run_seconds if timed else now
        if task.fault in _FINAL:
            h.send_json(200, {"id": task.id, "status": _FINAL[task.fault], "result": None})
            return
        # FLUX 3 takes no seed: each task draws its own image.
        seed = task.id if task.model in WAITING else task.body.get("seed")
        image = seeded_png(task.model, task.body.get("prompt"), seed)
        if task.model in WAITING:  # FLUX 3: no seed; the prompt as it was expanded
            result = {
                "sample": self.store(image),
                "prompt": expand(task.body["prompt"], self.added_box),
            }
        else:
            result = {"sample": self.store(image), "seed": task.body.get("seed")}
            if "prompt" in task.body:  # FLUX Erase takes none
                result["prompt"] = task.body["prompt"]
        h.send_json(200, {"id": task.id, "status": "Ready", "result": result})
