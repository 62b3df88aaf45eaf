"""``BlackForestLabs``: the flow of a task at Black Forest Labs' own API.

The models, their endpoints and fields are rows of
:mod:`fluxpanel.tables.bfl`. Where each rule of the flow comes from (Black
Forest Labs' API reference, late 2026):

- Each endpoint answers ``{"id", "polling_url"}``.
- "Errors": ``get_result`` answers ``Ready``, ``Pending``, ``Request
  Moderated`` (the input was refused before generating), ``Content
  Moderated`` (the output was refused), ``Task not found`` and ``Error``;
  402 means no credits, 429 too many requests.
- One image per task; signed result URLs last 10 minutes; at most 24 active
  tasks per account, then 429.
- Authentication is the ``x-key`` header; there is no way to cancel a task.
- Hosts ("Integration guidelines", docs.bfl.ai/integration_guidelines, and
  "Generating images", docs.bfl.ai/quick_start/generating_images): the
  global ``api.bfl.ai``, the regional ``api.eu.bfl.ai`` and ``api.us.bfl.ai``
  and the single-cluster ``api.eu1.bfl.ai``/``api.us1.bfl.ai``; "always use
  the polling_url returned in responses", which may name another cluster of
  the region (``api.eu2.bfl.ai``). The key goes to those hosts over https and
  nowhere else; ``result.sample`` is a signed URL on a delivery host, fetched
  without it.
- Progress and waiting: "Get result" answers ``progress`` ("optional
  generation progress", 0 to 1) beside the status; fluxpanel shows it. Black
  Forest Labs offers no status stream (only webhooks, which need a public
  address a notebook does not have), so fluxpanel polls the ``polling_url``
  from a short first wait (0.25 s) growing by half each time to 4 s. Once
  the task reports how far it is, the next poll is timed for when that
  progress says it will be done (the rate between two readings, or the time
  since submitting over the first one), so a run costs a poll or two once it
  is under way and its end is seen within a few tens of milliseconds.
- Statuses ("Get result", the ``StatusResponse`` enum of
  api.bfl.ai/openapi.json): ``Task not found``, ``Pending``, ``Request
  Moderated``, ``Content Moderated``, ``Ready``, ``Error``; FLUX 3 adds the
  waiting states ``Reasoning`` and ``Generating`` (vercel/ai,
  ``@ai-sdk/black-forest-labs@1.0.68``: "Handle reasoning and generating poll
  statuses"). The official SDK (black-forest-labs/blackforest) fails at once
  on a status it does not know; so does this adapter.
- FLUX 3's answer: ``result.prompt`` is the prompt as the model expanded it,
  with the boxes it added; ``result.sample`` "expires after 1 hour ... don't
  send your x-key header to it".
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from .._errors import APIError, FluxError, ModerationError, ServerError
from .._inputs import InputImage
from .._limits import HostLimits
from .._request import GenerationRequest
from .._spec import SEED_MAX
from ..tables.bfl import MODELS
from ._base import Call, HostedProvider, Outputs, Progress, Reply, TaskRef
from ._wire import spell

__all__ = ["KEY_HOSTS", "MODELS", "WAITING", "BlackForestLabs"]

KEY_ENV = "BFL_API_KEY"
DEFAULT_URL = "https://api.bfl.ai"
#: The documented waiting states: poll again.
WAITING = frozenset({"Pending", "Reasoning", "Generating"})
#: Black Forest Labs' API hosts: global, regional and their clusters.
KEY_HOSTS = re.compile(r"api(\.(eu|us)[0-9]*)?\.bfl\.ai")


def _image(image: InputImage) -> str:
    """An input as Black Forest Labs takes it: its URL, or bare base64."""
    return image.url if image.url is not None else image.base64()


class BlackForestLabs(HostedProvider):
    """Black Forest Labs' API. ``api_key`` defaults to ``$BFL_API_KEY``."""

    #: What it takes, in a line of the README's table of providers.
    summary = (
        "`width` and `height` 256–1440 in multiples of 32; guidance 1.5–5; safety "
        "tolerance 0–6; one image per task, so `num_images` runs parallel tasks with "
        "seeds `seed`, `seed+1`, ...; at most 24 active tasks per client; regional "
        "hosts (`https://api.eu.bfl.ai`) and their clusters; input images as bare "
        "base64 (or URLs for Kontext, the FLUX Tools and FLUX.2); cannot cancel a "
        "submitted task"
    )

    name = "bfl"
    label = "Black Forest Labs"
    key_env = KEY_ENV
    default_url = DEFAULT_URL
    models = MODELS
    key_hosts = KEY_HOSTS
    #: "You have exceeded the number of active tasks (24)": per account, from
    #: the create until the task is done (Black Forest Labs' API reference).
    limits = HostLimits(
        active=24, in_flight=24, source="docs.bfl.ai: at most 24 active tasks per account"
    )
    withheld_by = "Black Forest Labs' moderation"
    cancel_note = (
        "Black Forest Labs cannot cancel a task once submitted: fluxpanel stopped "
        "waiting, but the task may still run and be billed."
    )

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body for one task (our names mapped to Black Forest Labs')."""
        return spell(request, _image)

    def tasks(self, request: GenerationRequest) -> list[GenerationRequest]:
        if request.count == 1:
            return [request]
        return [
            request.replace(num_images=1, seed=(request.seed + i) % (SEED_MAX + 1))
            for i in range(request.count)
        ]

    # -- the flow -------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"x-key": self._api_key}

    def start(self, request: GenerationRequest) -> Call:
        return Call(
            "POST",
            self._base + request.spec.wire.route,
            json=self.wire(request),
            headers=self._headers(),
            billable=True,
        )

    # -- tasks that outlive the process ---------------------------------------------------

    def accepted(self, request: GenerationRequest, call: Call, reply: Reply) -> TaskRef | None:
        """The task and its polling URL; ``cost`` is what Black Forest Labs
        bills for it, in credits of $0.01 ("Every create answer carries
        ``cost``")."""
        data = self.json_object(reply)
        task, url = data.get("id"), data.get("polling_url")
        if not isinstance(task, str) or not isinstance(url, str) or not self.on_site(url):
            return None
        cost = data.get("cost")
        billed = (
            cost / 100 if isinstance(cost, (int, float)) and not isinstance(cost, bool) else None
        )
        return TaskRef(task, {"url": url}, billed)

    def rejoin(self, request: GenerationRequest, task: TaskRef) -> Call:
        url = task.follow.get("url")
        if not isinstance(url, str) or not self.on_site(url):
            raise FluxError(f"task {task.id} has no polling URL on Black Forest Labs' hosts")
        return self._poll(url, task.id, 0)

    def kept_for(self, request: GenerationRequest) -> float:
        """The result's signed URL is "valid for 10 minutes"; FLUX 3's "expires
        after 1 hour" (Black Forest Labs' reference)."""
        return 3600.0 if request.spec.wire.route.startswith("/v1/flux-3") else 600.0

    # -- the flow ------------------------------------------------------------------------

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        data = self.json_object(reply)
        if call.method == "POST":
            return self._submitted(reply, data)
        status = data.get("status")
        task = call.task or str(data.get("id") or "?")
        if not isinstance(status, str):
            raise self.unreadable(reply, f"task {task} has no status")
        if status == "Ready":
            return self._ready(request, reply, data, task)
        if status in _ENDED:
            raise _ENDED[status](task, data)
        if status not in WAITING:
            raise APIError(
                f"Black Forest Labs answered task {task} with a status fluxpanel does not know "
                f"({status[:80]!r}); the documented ones are Pending, Reasoning, Generating, "
                "Ready, Request Moderated, Content Moderated, Task not found and Error",
                body=data,
            )
        return self._waiting(call, data, status, task)

    def _submitted(self, reply: Reply, data: dict[str, Any]) -> Call:
        """The task is accepted: poll the URL it names (one of the API hosts)."""
        task, url = data.get("id"), data.get("polling_url")
        if not isinstance(task, str) or not isinstance(url, str):
            raise self.unreadable(reply, "the answer has no 'id' and 'polling_url'")
        if not self.on_site(url):
            raise self.unreadable(
                reply,
                "the polling URL is not one of Black Forest Labs' API hosts (over https); "
                "the key was not sent there",
            )
        return self._poll(url, task, 0)

    def _ready(
        self, request: GenerationRequest, reply: Reply, data: dict[str, Any], task: str
    ) -> Outputs:
        result = data.get("result") or {}
        sample = result.get("sample") if isinstance(result, dict) else None
        if not isinstance(sample, str):
            raise self.unreadable(reply, f"task {task} is Ready but has no result sample")
        seed = result.get("seed", request.seed)
        expanded = result.get("prompt")
        return Outputs(
            urls=[sample],
            seeds=[seed if isinstance(seed, int) else request.seed],
            prompt=expanded if isinstance(expanded, str) else "",
        )

    def _waiting(self, call: Call, data: dict[str, Any], status: str, task: str) -> Call:
        """Still running: the next poll, timed by the progress it reports."""
        state = call.state if isinstance(call.state, _Polling) else _Polling(0, time.monotonic())
        fraction = data.get("progress")
        ok = isinstance(fraction, (int, float)) and not isinstance(fraction, bool)
        fraction = min(max(float(fraction), 0.0), 1.0) if ok else None
        detail = "" if status == "Pending" else status  # FLUX 3: Reasoning, Generating
        # "Pending" with no progress yet is a task waiting its turn.
        phase = "running" if fraction or detail else "queued"
        progress = Progress(phase, fraction=fraction, detail=detail)
        now = time.monotonic()
        delay = state.until_done(now, fraction)
        seen = (now, fraction) if fraction else state.seen
        return self._poll(call.url, task, _Polling(state.n + 1, state.since, seen), progress, delay)

    def _poll(
        self,
        url: str,
        task: str,
        state: _Polling | int,
        progress: Progress | None = None,
        delay: float | None = None,
    ) -> Call:
        if isinstance(state, int):  # the first poll, just after submitting
            state = _Polling(state, time.monotonic())
        wait = self.poll_delay(state.n) if delay is None else min(delay, self.poll_max)
        return Call(
            "GET",
            url,
            headers=self._headers(),
            delay=wait,
            task=task,
            state=state,
            progress=progress,
        )


def _moderated_request(task: str, data: Any) -> FluxError:
    return ModerationError(
        f"Black Forest Labs' moderation refused the request before generating "
        f"(task {task}, Request Moderated); change the prompt or raise safety_tolerance",
        body=data,
    )


def _moderated_content(task: str, data: Any) -> FluxError:
    return ModerationError(
        f"Black Forest Labs' moderation refused the generated image "
        f"(task {task}, Content Moderated); try another seed or prompt",
        body=data,
    )


def _not_found(task: str, data: Any) -> FluxError:
    return APIError(
        f"Black Forest Labs does not know task {task} (Task not found): it may have expired",
        body=data,
    )


def _failed(task: str, data: Any) -> FluxError:
    return ServerError(f"Black Forest Labs' task {task} failed (Error)", body=data)


#: The statuses that end a task without an image, and the error each is.
_ENDED = {
    "Request Moderated": _moderated_request,
    "Content Moderated": _moderated_content,
    "Task not found": _not_found,
    "Error": _failed,
}


@dataclass(frozen=True)
class _Polling:
    """Where polling a task stands: polls made, when it was submitted, and
    the last progress reading ``(time, fraction)``."""

    n: int
    since: float
    seen: tuple[float, float] | None = None

    def until_done(self, now: float, fraction: float | None) -> float | None:
        """Seconds until the task should be done, from its progress (the rate
        between two readings, else the time since submitting over this one);
        ``None`` while it says nothing."""
        if not fraction:
            return None
        if fraction >= 1:
            return 0.02
        if self.seen is not None and fraction > self.seen[1] and now > self.seen[0]:
            rate = (fraction - self.seen[1]) / (now - self.seen[0])
        else:
            rate = fraction / max(now - self.since, 1e-3)
        return max(0.02, (1 - fraction) / rate + 0.01)
