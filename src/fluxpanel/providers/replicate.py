"""``Replicate``: the FLUX models as Replicate's official models.

Where each rule comes from (Replicate's HTTP API reference and the input
schemas of black-forest-labs/flux-schnell, flux-dev and flux-pro, late 2026):

- ``POST /v1/models/black-forest-labs/<model>/predictions`` with
  ``{"input": {...}}`` and ``Authorization: Bearer <token>`` creates a
  prediction. ``Prefer: wait=<1..60>`` holds the call open until it finishes;
  otherwise (or if it takes longer) poll ``urls.get``; ``urls.cancel`` cancels.
- A prediction's ``status`` is ``starting``, ``processing``, ``succeeded``,
  ``failed`` (with ``error``), ``canceled`` or ``aborted``. ``output`` is a
  list of URLs (schnell, dev) or one URL (pro); outputs are deleted after an
  hour, so they are downloaded at once.
- Inputs: ``aspect_ratio`` as ``1:1``, ``16:9``, ...; ``num_outputs`` 1 to 4
  (schnell, dev); ``num_inference_steps`` 1 to 4, default 4 (schnell) and 1 to
  50, default 28 (dev); ``guidance`` 0 to 10, default 3 (dev); pro takes
  ``steps`` 1 to 50 (default 25), ``guidance`` 2 to 5 (3), ``interval`` 1 to 4
  (2) and ``safety_tolerance`` 1 to 6 (2); ``output_format`` webp, jpg or png.
- 600 prediction creations a minute, then 429.
"""

from __future__ import annotations

import os
from typing import Any

from .._errors import APIError, ConfigError, FluxError, ModerationError
from .._request import GenerationRequest
from .._spec import NUM_IMAGES, PROMPT, SEED, ModelSpec, ParamSpec, check_table
from ._base import Call, Outputs, Provider, Reply, same_site

KEY_ENV = "REPLICATE_API_TOKEN"
DEFAULT_URL = "https://api.replicate.com"
#: How long the create call is held open (Replicate allows 1 to 60 seconds):
#: long enough for most generations to come back in one call, short enough
#: that a slow one moves on to polling, where Cancel can stop it.
WAIT = 10

_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_ASPECT = ParamSpec(
    "aspect_ratio",
    "choice",
    "Aspect ratio",
    "Shape of the image, as width:height (Replicate sizes it to about one megapixel).",
    default="1:1",
    choices=_RATIOS,
)
_STEPS_HELP = "Denoising steps. More steps add detail and take longer."
_GUIDANCE_HELP = "How closely the image follows the prompt."


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
        ParamSpec("steps", "integer", "Steps", _STEPS_HELP, default=4, min=1, max=4, step=1),
    ),
    "flux_dev": _model(
        "flux_dev",
        "FLUX.1 [dev]",
        "Developer-focused variant with flexible parameters.",
        PROMPT,
        NUM_IMAGES,
        _ASPECT,
        SEED,
        ParamSpec("steps", "integer", "Steps", _STEPS_HELP, default=28, min=1, max=50, step=1),
        ParamSpec(
            "guidance",
            "number",
            "Guidance",
            _GUIDANCE_HELP,
            default=3.0,
            min=0.0,
            max=10.0,
            step=0.1,
        ),
    ),
    "flux_pro": _model(
        "flux_pro",
        "FLUX.1 [pro]",
        "Professional-grade model, highest quality in the series.",
        PROMPT,
        _ASPECT,
        SEED,
        ParamSpec("steps", "integer", "Steps", _STEPS_HELP, default=25, min=1, max=50, step=1),
        ParamSpec(
            "guidance",
            "number",
            "Guidance",
            _GUIDANCE_HELP,
            default=3.0,
            min=2.0,
            max=5.0,
            step=0.1,
        ),
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

_SLUGS = {"flux_schnell": "flux-schnell", "flux_dev": "flux-dev", "flux_pro": "flux-pro"}
#: Our parameter names -> Replicate's, by model.
_WIRE = {
    "flux_schnell": {"num_images": "num_outputs", "steps": "num_inference_steps"},
    "flux_dev": {"num_images": "num_outputs", "steps": "num_inference_steps"},
    "flux_pro": {},
}
_RUNNING = {"starting", "processing"}


class Replicate(Provider):
    """Replicate's API. ``api_key`` defaults to ``$REPLICATE_API_TOKEN``."""

    name = "replicate"
    label = "Replicate"
    key_env = KEY_ENV
    models = MODELS
    poll_first, poll_growth, poll_max = 0.5, 1.5, 4.0
    cancel_note = (
        "A prediction still in Replicate's first answer cannot be cancelled from "
        "here; one being polled was cancelled at Replicate."
    )

    def __init__(self, api_key: str | None = None, base_url: str | None = None) -> None:
        key = api_key if api_key is not None else os.environ.get(KEY_ENV)
        if not key:
            raise ConfigError(f"no API token for Replicate: set {KEY_ENV} or pass api_key=")
        self._api_key = key
        self._base = (base_url or DEFAULT_URL).rstrip("/")
        self._base_given = base_url is not None

    @property
    def endpoint(self) -> str:
        return self._base

    def secrets(self) -> list[str]:
        return [self._api_key]

    def client_code(self) -> tuple[str, str]:
        args = "provider='replicate'"
        if self._base_given:
            args = f"provider=fluxpanel.providers.Replicate(base_url={self._base!r})"
        return args, f"The token is read from ${KEY_ENV}."

    def __repr__(self) -> str:
        return f"Replicate(base_url={self._base!r})"

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The prediction's ``input`` (our names mapped to Replicate's)."""
        names = _WIRE[request.model]
        body = {names.get(k, k): v for k, v in request.params.items()}
        body["output_format"] = "png"  # lossless originals
        return body

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"}

    def start(self, request: GenerationRequest) -> Call:
        return Call(
            "POST",
            f"{self._base}/v1/models/black-forest-labs/{_SLUGS[request.model]}/predictions",
            json={"input": self.wire(request)},
            headers={**self._headers(), "Prefer": f"wait={WAIT}"},
            billable=True,
        )

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        try:
            data = reply.json()
        except ValueError:
            raise self.unreadable(reply, "the body is not valid JSON") from None
        if not isinstance(data, dict) or "status" not in data:
            raise self.unreadable(reply, "expected a prediction")
        task = str(data.get("id", "?"))
        status = data["status"]
        if status == "succeeded":
            output = data.get("output")
            urls = [output] if isinstance(output, str) else output
            if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
                raise self.unreadable(reply, f"prediction {task} succeeded without output URLs")
            return Outputs(urls=urls)
        if status == "failed":
            error = str(data.get("error") or "no reason given")
            cls = ModerationError if "nsfw" in error.lower() else APIError
            raise cls(f"Replicate's prediction {task} failed: {error}", body=data)
        if status in ("canceled", "aborted"):
            raise FluxError(f"Replicate's prediction {task} was {status}")
        if status not in _RUNNING:
            raise self.unreadable(reply, f"prediction {task} has an unknown status {status!r}")
        urls = data.get("urls") or {}
        poll = urls.get("get") if isinstance(urls, dict) else None
        if not isinstance(poll, str) or not same_site(poll, self._base):
            raise self.unreadable(reply, f"prediction {task} has no usable urls.get")
        cancel = urls.get("cancel")
        n = call.state["n"] + 1 if isinstance(call.state, dict) else 0
        delay = min(self.poll_max, self.poll_first * self.poll_growth**n)
        state = {"n": n, "cancel": cancel if isinstance(cancel, str) else None}
        return Call("GET", poll, headers=self._headers(), delay=delay, task=task, state=state)

    def cancel(self, call: Call) -> Call | None:
        cancel = call.state.get("cancel") if isinstance(call.state, dict) else None
        if cancel and same_site(cancel, self._base):
            return Call("POST", cancel, headers=self._headers())
        return None
