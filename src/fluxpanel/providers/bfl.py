"""``BlackForestLabs``: the FLUX models at Black Forest Labs' own API.

Where each rule comes from (Black Forest Labs' API reference, late 2026):

- "Generate an image with FLUX.1 [pro]" (``POST /v1/flux-pro``) and
  "... FLUX.1 [dev]" (``POST /v1/flux-dev``): the body fields ``prompt``,
  ``width``/``height`` (256 to 1440, multiples of 32), ``steps`` (1 to 50;
  default 40 for pro, 28 for dev), ``guidance`` (1.5 to 5; default 2.5 for
  pro, 3 for dev), ``interval`` (pro only, 1 to 4, default 2),
  ``safety_tolerance`` (0 strict to 6 permissive, default 2), ``seed`` and
  ``output_format``. The answer is ``{"id", "polling_url"}``.
- FLUX.1 [schnell] is not offered.
- "Errors": ``get_result`` answers ``Ready``, ``Pending``, ``Request
  Moderated`` (the input was refused before generating), ``Content
  Moderated`` (the output was refused), ``Task not found`` and ``Error``;
  402 means no credits, 429 too many requests.
- One image per task; signed result URLs last 10 minutes; at most 24 active
  tasks per account, then 429.
- Authentication is the ``x-key`` header; there is no way to cancel a task.
"""

from __future__ import annotations

import os
from typing import Any

from .._errors import APIError, ConfigError, ModerationError, ServerError
from .._request import GenerationRequest
from .._spec import PROMPT, SEED, SEED_MAX, ModelSpec, ParamSpec, check_table
from ._base import Call, Outputs, Provider, Reply, same_site

KEY_ENV = "BFL_API_KEY"
DEFAULT_URL = "https://api.bfl.ai"

_SIZES = ("1024x1024", "1024x768", "768x1024", "1344x768", "768x1344", "1440x1440")
_ASPECT = ParamSpec(
    "aspect_ratio",
    "choice",
    "Size",
    "Width x height in pixels (Black Forest Labs takes multiples of 32, 256 to 1440).",
    default="1024x1024",
    choices=_SIZES,
)
_IMAGES = ParamSpec(
    "num_images",
    "integer",
    "Images",
    "How many images to make. Black Forest Labs makes one per task, so each is "
    "a task of its own, with its own seed (seed, seed + 1, ...).",
    default=1,
    min=1,
    max=4,
    step=1,
)
_SAFETY = ParamSpec(
    "safety_tolerance",
    "integer",
    "Safety tolerance",
    "Moderation level: 0 is the most strict, 6 the most permissive.",
    default=2,
    min=0,
    max=6,
    step=1,
)


def _steps(default: int) -> ParamSpec:
    return ParamSpec(
        "steps",
        "integer",
        "Steps",
        "Denoising steps. More steps add detail and take longer.",
        default=default,
        min=1,
        max=50,
        step=1,
    )


def _guidance(default: float) -> ParamSpec:
    return ParamSpec(
        "guidance",
        "number",
        "Guidance",
        "How closely the image follows the prompt (1.5 to 5 at Black Forest Labs).",
        default=default,
        min=1.5,
        max=5.0,
        step=0.1,
    )


def _model(id: str, label: str, description: str, *params: ParamSpec) -> ModelSpec:
    return ModelSpec(id, label, description, {p.name: p for p in params})


MODELS = {
    "flux_dev": _model(
        "flux_dev",
        "FLUX.1 [dev]",
        "Developer-focused variant with flexible parameters.",
        PROMPT,
        _IMAGES,
        _ASPECT,
        SEED,
        _steps(28),
        _guidance(3.0),
        _SAFETY,
    ),
    "flux_pro": _model(
        "flux_pro",
        "FLUX.1 [pro]",
        "Professional-grade model, highest quality in the series.",
        PROMPT,
        _IMAGES,
        _ASPECT,
        SEED,
        _steps(40),
        _guidance(2.5),
        ParamSpec(
            "interval",
            "number",
            "Interval",
            "Variance in possible outputs. Low values follow the prompt strongly and "
            "consistently; high values give more dynamic, varied results.",
            default=2.0,
            min=1.0,
            max=4.0,
            step=0.1,
        ),
        _SAFETY,
    ),
}
check_table(MODELS)

_ENDPOINTS = {"flux_dev": "/v1/flux-dev", "flux_pro": "/v1/flux-pro"}
_PENDING = {"Pending", "Queued", "Processing"}


class BlackForestLabs(Provider):
    """Black Forest Labs' API. ``api_key`` defaults to ``$BFL_API_KEY``."""

    name = "bfl"
    label = "Black Forest Labs"
    key_env = KEY_ENV
    models = MODELS
    max_active = 24
    cancel_note = (
        "Black Forest Labs cannot cancel a task once submitted: fluxpanel stopped "
        "waiting, but the task may still run and be billed."
    )
    #: Seconds before the first poll, growth per poll, and the longest wait.
    poll_first, poll_growth, poll_max = 0.5, 1.5, 5.0

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key if api_key is not None else os.environ.get(KEY_ENV)
        if not key:
            raise ConfigError(f"no API key for Black Forest Labs: set {KEY_ENV} or pass api_key=")
        self._api_key = key
        self._base = (base_url or DEFAULT_URL).rstrip("/")
        self._base_given = base_url is not None

    @property
    def endpoint(self) -> str:
        return self._base

    def secrets(self) -> list[str]:
        return [self._api_key]

    def client_code(self) -> tuple[str, str]:
        args = "provider='bfl'"
        if self._base_given:
            args = f"provider=fluxpanel.providers.BlackForestLabs(base_url={self._base!r})"
        return args, f"The key is read from ${KEY_ENV}."

    def __repr__(self) -> str:
        return f"BlackForestLabs(base_url={self._base!r})"

    # -- mapping ours to theirs -----------------------------------------------------

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body for one task (our names mapped to Black Forest Labs')."""
        width, height = request.size
        body: dict[str, Any] = {
            "prompt": request.prompt,
            "width": width,
            "height": height,
            "steps": request.steps,
            "guidance": request.guidance,
            "safety_tolerance": request.safety_tolerance,
            "seed": request.seed,
            "output_format": "png",  # lossless originals
        }
        if request.interval is not None:
            body["interval"] = request.interval
        return body

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
            self._base + _ENDPOINTS[request.model],
            json=self.wire(request),
            headers=self._headers(),
            billable=True,
        )

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        try:
            data = reply.json()
        except ValueError:
            raise self.unreadable(reply, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise self.unreadable(reply, "expected a JSON object")
        if call.method == "POST":
            task, url = data.get("id"), data.get("polling_url")
            if not isinstance(task, str) or not isinstance(url, str):
                raise self.unreadable(reply, "the answer has no 'id' and 'polling_url'")
            if not self._same_site(url):
                raise self.unreadable(
                    reply, "the polling URL is not on the API's site; the key is not sent there"
                )
            return self._poll(url, task, 0)
        status = data.get("status")
        task = call.task or data.get("id") or "?"
        if status == "Ready":
            result = data.get("result") or {}
            sample = result.get("sample") if isinstance(result, dict) else None
            if not isinstance(sample, str):
                raise self.unreadable(reply, f"task {task} is Ready but has no result sample")
            seed = result.get("seed", request.seed)
            return Outputs(urls=[sample], seeds=[seed if isinstance(seed, int) else request.seed])
        if status == "Request Moderated":
            raise ModerationError(
                f"Black Forest Labs' moderation refused the request before generating "
                f"(task {task}, Request Moderated); change the prompt or raise safety_tolerance",
                body=data,
            )
        if status == "Content Moderated":
            raise ModerationError(
                f"Black Forest Labs' moderation refused the generated image "
                f"(task {task}, Content Moderated); try another seed or prompt",
                body=data,
            )
        if status == "Task not found":
            raise APIError(
                f"Black Forest Labs does not know task {task} (Task not found): it may "
                "have expired",
                body=data,
            )
        if status == "Error":
            raise ServerError(f"Black Forest Labs' task {task} failed (Error)", body=data)
        # Pending, or a waiting state this adapter does not know yet: keep polling
        # (the engine's deadline bounds it).
        state = call.state if isinstance(call.state, int) else 0
        return self._poll(call.url, task, state + 1)

    def _poll(self, url: str, task: str, n: int) -> Call:
        delay = min(self.poll_max, self.poll_first * self.poll_growth**n)
        return Call("GET", url, headers=self._headers(), delay=delay, task=task, state=n)

    def _same_site(self, url: str) -> bool:
        return same_site(url, self._base)
