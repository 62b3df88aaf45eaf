"""``Fal``: the FLUX models on fal's queue API.

Where each rule comes from (fal's queue documentation; the input types fal
generates from its registry into fal-ai/fal-js,
``libs/client/src/types/endpoints.ts``: ``FluxSchnellInput``,
``FluxDevInput`` at 381105e, 2026-08-02, and ``FluxProNewInput`` at 9830f25,
2026-04-07; the model pages fal.ai/models/<route> for ranges):

- Routes: FLUX.1 [schnell] ``fal-ai/flux/schnell``, [dev] ``fal-ai/flux/dev``,
  [pro] ``fal-ai/flux-pro/new`` ("FLUX.1 [pro] new is an accelerated version
  of FLUX.1 [pro]"; the 2026-08 types no longer list it, the model page
  still does). Kept in :data:`ROUTES`, the one table of routes.

- ``POST https://queue.fal.run/<app>`` with the input as the JSON body and
  ``Authorization: Key <key>`` submits a request and answers ``request_id``,
  ``status_url``, ``response_url`` and ``cancel_url``.
- ``GET status_url`` answers ``IN_QUEUE`` (with ``queue_position``),
  ``IN_PROGRESS`` or ``COMPLETED``; then ``GET response_url`` gives the
  result: ``images`` (``url``, ``width``, ``height``, ``content_type``),
  ``seed`` and ``has_nsfw_concepts`` (one flag per image). ``PUT cancel_url``
  cancels a request that has not finished. Extra requests queue, not fail.
- An account without credit is answered 403 with ``{"detail": "User is
  locked. Reason: Exhausted balance. Top up your balance at
  fal.ai/dashboard/billing"}`` (recorded by several integrations; the status
  says "forbidden", the words say "out of credit").
- Progress: a status of ``IN_QUEUE`` carries ``queue_position``; then
  ``IN_PROGRESS``; fluxpanel shows both. Learning the result: fal also offers
  a status stream (``GET <status_url>/stream``, server-sent events); fluxpanel
  polls the status URL instead, from 0.25 s growing by half to 4 s (one
  request per wait, none held open).
- The queue, status, result and cancel URLs are on ``queue.fal.run`` (fal-js,
  ``libs/client/src/queue.ts``); the key goes there over https and nowhere else.
- Inputs: ``image_size`` (``square_hd``, ``square``, ``portrait_4_3``,
  ``portrait_16_9``, ``landscape_4_3``, ``landscape_16_9``; default
  ``landscape_4_3``), ``num_images`` 1 to 4, ``seed``,
  ``num_inference_steps`` (schnell 1 to 12, default 4; dev and pro 1 to 50,
  default 28), ``guidance_scale`` (dev and pro, 1 to 20, default 3.5),
  ``acceleration`` (schnell and dev: ``none``, ``regular``, ``high``; default
  ``none``), ``enable_safety_checker`` (schnell and dev, default true),
  ``safety_tolerance`` (pro, the strings ``"1"`` to ``"6"``, default
  ``"2"``), ``enhance_prompt`` (pro, default false), ``output_format``
  (``jpeg`` or ``png``), ``sync_mode``.
- Seeds: "Seed of the generated Image. It will be the same value of the one
  passed in the input": one seed for the whole request. Flagged images are
  replaced by black ones and marked in ``has_nsfw_concepts``; fal bills them
  (they were made), and fluxpanel withholds them.
"""

from __future__ import annotations

import re
from typing import Any

from .._errors import APIError, InsufficientCreditsError, ModerationError
from .._request import GenerationRequest
from .._spec import (
    NUM_IMAGES,
    PROMPT,
    PROMPT_UPSAMPLING,
    SAFETY_CHECKER,
    SEED,
    UPSAMPLING_VARIES,
    aspect_ratio,
    check_table,
    choice,
    guidance,
    model,
    safety_tolerance,
    steps,
)
from ._base import Call, HostedProvider, Outputs, Progress, Reply

KEY_ENV = "FAL_KEY"
DEFAULT_URL = "https://queue.fal.run"

_SIZES = ("square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3", "landscape_16_9")
_ASPECT = aspect_ratio(
    _SIZES,
    "landscape_4_3",
    "Image size",
    "fal's named sizes: square_hd is 1024x1024, landscape_16_9 is 1024x576, ...",
)

_ACCELERATION = choice(
    "acceleration",
    "Acceleration",
    "fal's speed-ups: faster generations, slightly different images.",
    ("none", "regular", "high"),
    "none",
)

MODELS = {
    "flux_schnell": model(
        "flux_schnell",
        PROMPT,
        NUM_IMAGES,
        _ASPECT,
        SEED,
        steps(4, 12),
        _ACCELERATION,
        SAFETY_CHECKER,
    ),
    "flux_dev": model(
        "flux_dev",
        PROMPT,
        NUM_IMAGES,
        _ASPECT,
        SEED,
        steps(28, 50),
        guidance(3.5, 1, 20),
        _ACCELERATION,
        SAFETY_CHECKER,
    ),
    "flux_pro": model(
        "flux_pro",
        PROMPT,
        NUM_IMAGES,
        _ASPECT,
        SEED,
        steps(28, 50),
        guidance(3.5, 1, 20),
        safety_tolerance(2, 1, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
    ),
}
check_table(MODELS)

#: Each model's route at fal.
ROUTES = {
    "flux_schnell": "fal-ai/flux/schnell",
    "flux_dev": "fal-ai/flux/dev",
    "flux_pro": "fal-ai/flux-pro/new",
}
_WIRE = {
    "aspect_ratio": "image_size",
    "steps": "num_inference_steps",
    "guidance": "guidance_scale",
    "safety_checker": "enable_safety_checker",
    "prompt_upsampling": "enhance_prompt",
}
_WAITING = {"IN_QUEUE", "IN_PROGRESS"}
KEY_HOSTS = re.compile(r"queue\.fal\.run")


class Fal(HostedProvider):
    """fal's queue API. ``api_key`` defaults to ``$FAL_KEY``."""

    name = "fal"
    label = "fal"
    key_env = KEY_ENV
    default_url = DEFAULT_URL
    key_hosts = KEY_HOSTS
    models = MODELS
    withheld_by = "fal's safety checker"
    bills_withheld = True

    def error_class(self, status: int, detail: str) -> tuple[type[APIError], str] | None:
        if "exhausted balance" in detail.lower():
            return InsufficientCreditsError, "Top up at fal.ai/dashboard/billing."
        return None

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The request's input (our names mapped to fal's)."""
        body: dict[str, Any] = {_WIRE.get(k, k): v for k, v in request.params.items()}
        if "safety_tolerance" in body:
            body["safety_tolerance"] = str(body["safety_tolerance"])  # fal takes "1".."6"
        body["output_format"] = "png"  # lossless originals
        return body

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._api_key}"}

    def start(self, request: GenerationRequest) -> Call:
        return Call(
            "POST",
            f"{self._base}/{ROUTES[request.model]}",
            json=self.wire(request),
            headers=self._headers(),
            billable=True,
        )

    def _url(self, reply: Reply, data: dict[str, Any], key: str) -> str:
        url = data.get(key)
        if not isinstance(url, str) or not self.on_site(url):
            raise self.unreadable(reply, f"the answer has no usable {key}")
        return url

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        data = self.json_object(reply)
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
            if not isinstance(status, str):
                raise self.unreadable(reply, f"request {call.task} has no status")
            if status == "COMPLETED":
                state = {**call.state, "phase": "result"}
                return Call(
                    "GET", state["response"], headers=self._headers(), task=call.task, state=state
                )
            if status in _WAITING:
                position = data.get("queue_position")
                queued = status == "IN_QUEUE"
                progress = Progress(
                    "queued" if queued else "running",
                    position=position if queued and isinstance(position, int) else None,
                )
                state = {**call.state, "n": call.state["n"] + 1}
                return self._poll(call.url, call.task or "?", state, progress)
            raise self.unreadable(
                reply, f"request {call.task} has an unknown status {status[:80]!r}"
            )
        return self._outputs(request, call, reply, data)

    def _outputs(
        self, request: GenerationRequest, call: Call, reply: Reply, data: dict[str, Any]
    ) -> Outputs:
        images = data.get("images")
        if not isinstance(images, list) or not images:
            raise self.unreadable(reply, f"request {call.task} has no images")
        flags = data.get("has_nsfw_concepts")
        if flags is None:
            flags = [False] * len(images)
        if not isinstance(flags, list) or not all(isinstance(f, bool) for f in flags):
            raise self.unreadable(
                reply, f"has_nsfw_concepts of request {call.task} is not a list of true/false"
            )
        seed = data.get("seed")
        if not isinstance(seed, int) or isinstance(seed, bool):
            seed = request.seed
        urls, refused = [], 0
        for i, item in enumerate(images):
            url = item.get("url") if isinstance(item, dict) else None
            if not isinstance(url, str):
                raise self.unreadable(reply, f"image {i + 1} of request {call.task} has no url")
            if i < len(flags) and flags[i]:
                refused += 1  # replaced by a black image: withheld, not downloaded
            else:
                urls.append(url)
        if not urls:
            raise ModerationError(
                f"fal's safety checker withheld every image of request {call.task} "
                "(each was replaced by a black image); try another prompt or seed"
            )
        return Outputs(urls=urls, seeds=[seed] * len(urls), withheld=refused)

    def _poll(
        self, url: str, task: str, state: dict[str, Any], progress: Progress | None = None
    ) -> Call:
        delay = self.poll_delay(state["n"])
        return Call(
            "GET",
            url,
            headers=self._headers(),
            delay=delay,
            task=task,
            state=state,
            progress=progress,
        )

    def cancel(self, call: Call) -> Call | None:
        cancel = call.state.get("cancel") if isinstance(call.state, dict) else None
        if isinstance(cancel, str) and self.on_site(cancel):
            return Call("PUT", cancel, headers=self._headers())
        return None
