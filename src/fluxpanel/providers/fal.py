"""``Fal``: the FLUX models on fal's queue API.

Where each rule comes from (fal's queue documentation and the API pages of
fal-ai/flux/schnell, fal-ai/flux/dev and fal-ai/flux-pro, late 2026):

- ``POST https://queue.fal.run/<app>`` with the input as the JSON body and
  ``Authorization: Key <key>`` submits a request and answers ``request_id``,
  ``status_url``, ``response_url`` and ``cancel_url``.
- ``GET status_url`` answers ``IN_QUEUE`` (with ``queue_position``),
  ``IN_PROGRESS`` or ``COMPLETED``; then ``GET response_url`` gives the
  result: ``images`` (``url``, ``width``, ``height``, ``content_type``),
  ``seed`` and ``has_nsfw_concepts`` (one flag per image). ``PUT cancel_url``
  cancels a request that has not finished. Extra requests queue, not fail.
- Inputs: ``image_size`` (``square_hd``, ``square``, ``portrait_4_3``,
  ``portrait_16_9``, ``landscape_4_3``, ``landscape_16_9``; default
  ``landscape_4_3``), ``num_images`` 1 to 4, ``seed``,
  ``num_inference_steps`` (schnell 1 to 12, default 4; dev and pro 1 to 50,
  default 28), ``guidance_scale`` (dev and pro, 1 to 20, default 3.5),
  ``safety_tolerance`` (pro, ``"1"`` to ``"6"``, default ``"2"``),
  ``enable_safety_checker`` and ``output_format`` (``jpeg`` or ``png``).
"""

from __future__ import annotations

import os
from typing import Any

from .._errors import ConfigError, ModerationError
from .._request import GenerationRequest
from .._spec import NUM_IMAGES, PROMPT, SEED, ModelSpec, ParamSpec, check_table
from ._base import Call, Outputs, Provider, Reply, same_site

KEY_ENV = "FAL_KEY"
DEFAULT_URL = "https://queue.fal.run"

_SIZES = ("square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9")
_ASPECT = ParamSpec(
    "aspect_ratio",
    "choice",
    "Image size",
    "fal's named sizes: square_hd is 1024x1024, landscape_16_9 is 1024x576, ...",
    default="landscape_4_3",
    choices=_SIZES,
)
_STEPS_HELP = "Denoising steps. More steps add detail and take longer."


def _steps(high: int, default: int) -> ParamSpec:
    return ParamSpec(
        "steps", "integer", "Steps", _STEPS_HELP, default=default, min=1, max=high, step=1
    )


_GUIDANCE = ParamSpec(
    "guidance",
    "number",
    "Guidance",
    "How closely the image follows the prompt (fal's guidance_scale).",
    default=3.5,
    min=1.0,
    max=20.0,
    step=0.1,
)


def _model(id: str, label: str, description: str, *params: ParamSpec) -> ModelSpec:
    return ModelSpec(id, label, description, {p.name: p for p in params})


MODELS = {
    "flux_schnell": _model(
        "flux_schnell",
        "FLUX.1 [schnell]",
        "Entry-level model, optimised for speed.",
        PROMPT,
        NUM_IMAGES,
        _ASPECT,
        SEED,
        _steps(12, 4),
    ),
    "flux_dev": _model(
        "flux_dev",
        "FLUX.1 [dev]",
        "Developer-focused variant with flexible parameters.",
        PROMPT,
        NUM_IMAGES,
        _ASPECT,
        SEED,
        _steps(50, 28),
        _GUIDANCE,
    ),
    "flux_pro": _model(
        "flux_pro",
        "FLUX.1 [pro]",
        "Professional-grade model, highest quality in the series.",
        PROMPT,
        NUM_IMAGES,
        _ASPECT,
        SEED,
        _steps(50, 28),
        _GUIDANCE,
        ParamSpec(
            "safety_tolerance",
            "integer",
            "Safety tolerance",
            "Moderation level: 1 is the most strict, 6 the most permissive.",
            default=2,
            min=1,
            max=6,
            step=1,
        ),
    ),
}
check_table(MODELS)

_APPS = {
    "flux_schnell": "fal-ai/flux/schnell",
    "flux_dev": "fal-ai/flux/dev",
    "flux_pro": "fal-ai/flux-pro",
}
_WIRE = {"aspect_ratio": "image_size", "steps": "num_inference_steps", "guidance": "guidance_scale"}
_WAITING = {"IN_QUEUE", "IN_PROGRESS"}


class Fal(Provider):
    """fal's queue API. ``api_key`` defaults to ``$FAL_KEY``."""

    name = "fal"
    label = "fal"
    key_env = KEY_ENV
    models = MODELS
    poll_first, poll_growth, poll_max = 0.5, 1.5, 4.0

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key if api_key is not None else os.environ.get(KEY_ENV)
        if not key:
            raise ConfigError(f"no API key for fal: set {KEY_ENV} or pass api_key=")
        self._api_key = key
        self._base = (base_url or DEFAULT_URL).rstrip("/")
        self._base_given = base_url is not None

    @property
    def endpoint(self) -> str:
        return self._base

    def secrets(self) -> list[str]:
        return [self._api_key]

    def client_code(self) -> tuple[str, str]:
        args = "provider='fal'"
        if self._base_given:
            args = f"provider=fluxpanel.providers.Fal(base_url={self._base!r})"
        return args, f"The key is read from ${KEY_ENV}."

    def __repr__(self) -> str:
        return f"Fal(base_url={self._base!r})"

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The request's input (our names mapped to fal's)."""
        body: dict[str, Any] = {_WIRE.get(k, k): v for k, v in request.params.items()}
        if "safety_tolerance" in body:
            body["safety_tolerance"] = str(body["safety_tolerance"])  # fal takes "1".."6"
        else:
            body["enable_safety_checker"] = True
        body["output_format"] = "png"  # lossless originals
        return body

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._api_key}"}

    def start(self, request: GenerationRequest) -> Call:
        return Call(
            "POST",
            f"{self._base}/{_APPS[request.model]}",
            json=self.wire(request),
            headers=self._headers(),
            billable=True,
        )

    def _url(self, reply: Reply, data: dict[str, Any], key: str) -> str:
        url = data.get(key)
        if not isinstance(url, str) or not same_site(url, self._base):
            raise self.unreadable(reply, f"the answer has no usable {key}")
        return url

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        try:
            data = reply.json()
        except ValueError:
            raise self.unreadable(reply, "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise self.unreadable(reply, "expected a JSON object")
        phase = call.state.get("phase") if isinstance(call.state, dict) else "submit"
        if phase == "submit":
            task = str(data.get("request_id", "?"))
            state = {
                "phase": "status",
                "n": 0,
                "response": self._url(reply, data, "response_url"),
                "cancel": data.get("cancel_url"),
            }
            return self._poll(self._url(reply, data, "status_url"), task, state)
        if phase == "status":
            status = data.get("status")
            if status == "COMPLETED":
                state = {**call.state, "phase": "result"}
                return Call(
                    "GET", state["response"], headers=self._headers(), task=call.task, state=state
                )
            if status in _WAITING:
                return self._poll(
                    call.url, call.task or "?", {**call.state, "n": call.state["n"] + 1}
                )
            raise self.unreadable(reply, f"request {call.task} has an unknown status {status!r}")
        return self._outputs(request, call, reply, data)

    def _outputs(
        self, request: GenerationRequest, call: Call, reply: Reply, data: dict[str, Any]
    ) -> Outputs:
        images = data.get("images")
        if not isinstance(images, list) or not images:
            raise self.unreadable(reply, f"request {call.task} has no images")
        flags = data.get("has_nsfw_concepts") or [False] * len(images)
        seed = data.get("seed") if isinstance(data.get("seed"), int) else request.seed
        urls, refused = [], []
        for i, item in enumerate(images):
            url = item.get("url") if isinstance(item, dict) else None
            if not isinstance(url, str):
                raise self.unreadable(reply, f"image {i + 1} of request {call.task} has no url")
            if i < len(flags) and flags[i]:
                refused.append(
                    ModerationError(
                        f"fal's safety checker refused image {i + 1} of request {call.task} "
                        "(it was replaced by a black image)"
                    )
                )
            else:
                urls.append(url)
        if not urls:
            raise refused[0]
        return Outputs(urls=urls, seeds=[seed] * len(urls), errors=refused)

    def _poll(self, url: str, task: str, state: dict[str, Any]) -> Call:
        delay = min(self.poll_max, self.poll_first * self.poll_growth ** state["n"])
        return Call("GET", url, headers=self._headers(), delay=delay, task=task, state=state)

    def cancel(self, call: Call) -> Call | None:
        cancel = call.state.get("cancel") if isinstance(call.state, dict) else None
        if isinstance(cancel, str) and same_site(cancel, self._base):
            return Call("PUT", cancel, headers=self._headers())
        return None
