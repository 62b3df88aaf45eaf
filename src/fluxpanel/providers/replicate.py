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
- Moderation: the partner models (flux-pro and newer, run by Black Forest
  Labs) fail with "The input or output was flagged as sensitive. Please try
  again with different inputs. (E005)"; cog-flux (replicate/cog-flux,
  ``predict.py``) fails with "NSFW content detected" when every image of a
  batch is flagged. Both are :class:`ModerationError`, in the host's words.
- Predictions are polled at ``urls.get`` on ``api.replicate.com``; the key
  goes there over https and nowhere else.
"""

from __future__ import annotations

import re
from typing import Any

from .._errors import APIError, FluxError, ModerationError
from .._request import GenerationRequest
from .._spec import (
    NUM_IMAGES,
    PROMPT,
    SEED,
    aspect_ratio,
    check_table,
    guidance,
    interval,
    model,
    safety_tolerance,
    steps,
)
from ._base import Call, HostedProvider, Outputs, Reply

KEY_ENV = "REPLICATE_API_TOKEN"
DEFAULT_URL = "https://api.replicate.com"
#: How long the create call is held open (Replicate allows 1 to 60 seconds):
#: long enough for most generations to come back in one call, short enough
#: that a slow one moves on to polling, where Cancel can stop it.
WAIT = 10

_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_ASPECT = aspect_ratio(
    _RATIOS,
    "1:1",
    "Aspect ratio",
    "Shape of the image, as width:height (Replicate sizes it to about one megapixel).",
)

MODELS = {
    "flux_schnell": model("flux_schnell", PROMPT, NUM_IMAGES, _ASPECT, SEED, steps(4, 4)),
    "flux_dev": model(
        "flux_dev", PROMPT, NUM_IMAGES, _ASPECT, SEED, steps(28, 50), guidance(3.0, 0, 10)
    ),
    "flux_pro": model(
        "flux_pro",
        PROMPT,
        _ASPECT,
        SEED,
        steps(25, 50),
        guidance(3.0, 2, 5),
        interval(),
        safety_tolerance(2, 1, 6),
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
KEY_HOSTS = re.compile(r"api\.replicate\.com")
#: Words of Replicate's moderation failures (E005, cog-flux's NSFW check).
MODERATION = re.compile(r"\(E005\)|flagged as sensitive|nsfw", re.I)


class Replicate(HostedProvider):
    """Replicate's API. ``api_key`` defaults to ``$REPLICATE_API_TOKEN``."""

    name = "replicate"
    label = "Replicate"
    key_env = KEY_ENV
    default_url = DEFAULT_URL
    key_hosts = KEY_HOSTS
    models = MODELS
    poll_max = 4.0
    cancel_note = (
        "A prediction still in Replicate's first answer cannot be cancelled from "
        "here; one being polled was cancelled at Replicate."
    )

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
        data = self.json_object(reply)
        if "status" not in data:
            raise self.unreadable(reply, "expected a prediction")
        task = str(data.get("id", "?"))[:80]
        status = data["status"]
        if not isinstance(status, str):
            raise self.unreadable(reply, f"prediction {task} has no status")
        if status == "succeeded":
            output = data.get("output")
            urls = [output] if isinstance(output, str) else output
            if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
                raise self.unreadable(reply, f"prediction {task} succeeded without output URLs")
            return Outputs(urls=urls)
        if status == "failed":
            error = str(data.get("error") or "no reason given")[:500]
            cls = ModerationError if MODERATION.search(error) else APIError
            raise cls(f"Replicate's prediction {task} failed: {error}", body=data)
        if status in ("canceled", "aborted"):
            raise FluxError(f"Replicate's prediction {task} was {status}")
        if status not in _RUNNING:
            raise self.unreadable(reply, f"prediction {task} has an unknown status {status[:80]!r}")
        urls = data.get("urls") or {}
        poll = urls.get("get") if isinstance(urls, dict) else None
        if not isinstance(poll, str) or not self.on_site(poll):
            raise self.unreadable(reply, f"prediction {task} has no usable urls.get")
        cancel = urls.get("cancel")
        n = call.state["n"] + 1 if isinstance(call.state, dict) else 0
        state = {"n": n, "cancel": cancel if isinstance(cancel, str) else None}
        return Call(
            "GET", poll, headers=self._headers(), delay=self.poll_delay(n), task=task, state=state
        )

    def cancel(self, call: Call) -> Call | None:
        cancel = call.state.get("cancel") if isinstance(call.state, dict) else None
        if cancel and self.on_site(cancel):
            return Call("POST", cancel, headers=self._headers())
        return None
