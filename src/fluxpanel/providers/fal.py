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
  ``IN_PROGRESS``; fluxpanel shows both. Learning the result: fal's status
  stream (``GET <status_url>/stream``, server-sent events, one ``data:``
  object per change of status, as fal-js's ``streamStatus`` reads it) is one
  request held open that says COMPLETED the moment it is: fluxpanel follows
  it, showing each event's queue position as it comes, then fetches the
  result. Should the stream end without COMPLETED, it polls the status URL
  from 0.25 s growing by half to 4 s. (fal's Python client polls every
  0.1 s.)
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

The FLUX family beyond FLUX.1 (fal-js ``types/endpoints.ts`` at 381105e):

- FLUX1.1 [pro] ``fal-ai/flux-pro/v1.1`` (``FluxProV11Input``): the
  ``image_size`` names, ``num_images``, ``safety_tolerance`` "1" to "6",
  ``enhance_prompt``, ``seed``.
- FLUX1.1 [pro] Ultra ``fal-ai/flux-pro/v1.1-ultra``
  (``FluxProV11UltraInput``): ``aspect_ratio`` 21:9 to 9:21 (default 16:9),
  ``raw``, ``image_url`` (an image prompt) with ``image_prompt_strength``
  (0.1), ``num_images``, ``safety_tolerance``, ``enhance_prompt``, ``seed``.
- FLUX.1 Kontext [pro] ``fal-ai/flux-pro/kontext`` and [max]
  ``fal-ai/flux-pro/kontext/max`` (``FluxKontextInput``): ``image_url``
  (required), ``aspect_ratio`` (nine ratios; unset keeps the input's),
  ``guidance_scale`` (3.5; 1 to 20 on the model page), ``num_images``,
  ``safety_tolerance``, ``enhance_prompt``, ``seed``.
- Without an input image, Kontext [pro] and [max] make an image from the
  prompt on ``fal-ai/flux-pro/kontext/text-to-image`` and
  ``.../kontext/max/text-to-image`` (``FluxProKontextTextToImageInput``: the
  same fields without ``image_url``; ``aspect_ratio`` defaults to 1:1), as
  Black Forest Labs' Kontext does without one.
- With more images, Kontext [pro] and [max] go to ``fal-ai/flux-pro/kontext/multi``
  and ``fal-ai/flux-pro/kontext/max/multi`` ("Experimental version of FLUX.1
  Kontext [pro] with multi image handling capabilities"; the API reference
  pages fal.ai/docs/model-api-reference/image-generation-api/flux-pro-kontext-multi
  and fal.ai/models/fal-ai/flux-pro/kontext/max/multi/llms.txt; fal-js's
  ``FluxKontextMultiInput``): the fields of
  ``FluxKontextInput`` with ``image_urls`` (required) in place of
  ``image_url``; fluxpanel sends the input image first. fal publishes no
  count: fluxpanel allows Black Forest Labs' four (the input and three more).
- FLUX.1 Kontext [dev] ``fal-ai/flux-kontext/dev`` (``DevKontextEditInput``):
  ``image_url``, ``resolution_mode`` (``match_input``), ``guidance_scale``
  (2.5), ``num_inference_steps`` (28), ``acceleration``,
  ``enable_safety_checker``, ``num_images``, ``seed``.
- FLUX.1 Fill [pro] ``fal-ai/flux-pro/v1/fill`` (``FluxProFillInput``):
  ``image_url`` and ``mask_url`` ("Needs to match the dimensions"),
  ``num_images``, ``safety_tolerance``, ``enhance_prompt``, ``seed``.
- FLUX Erase ``fal-ai/flux-pro/v1/erase`` (``FluxProEraseInput``, and the
  model page fal.ai/models/fal-ai/flux-pro/v1/erase/llms.txt for the range):
  ``image_url`` and ``mask_url`` (required; "white (255) marks pixels to
  erase and black (0) marks pixels to keep. Needs to match the dimensions of
  the input image"), ``dilate_pixels`` 0 to 100 (10), ``output_format`` jpeg
  or png, ``sync_mode``. No prompt, no seed, one image.
- FLUX Virtual Try-On ``fal-ai/flux-pro/v1/vto`` (``FluxProVtoInput``; the
  model page fal.ai/models/fal-ai/flux-pro/v1/vto/llms.txt): ``prompt``
  (required, "how the garment should be worn"), ``human_image_url`` ("The
  output keeps this image's aspect ratio. Maximum 2 megapixels") and
  ``garment_image_url`` ("Maximum 1 megapixel"), both required; larger
  inputs are scaled down first. ``seed``, ``output_format``, ``sync_mode``.
- FLUX.2 [pro] and [max] ``fal-ai/flux-2-pro`` / ``fal-ai/flux-2-max``, and
  with reference images their ``/edit`` routes (``Flux2MaxInput``,
  ``Flux2MaxEditInput``): ``image_urls`` (edit), ``image_size`` (``auto``
  on edit), ``safety_tolerance`` "1" to "5", ``enable_safety_checker``,
  ``seed``. The number of references is not in fal's types; fluxpanel allows
  Black Forest Labs' 8.
- FLUX.2 [flex] ``fal-ai/flux-2-flex`` and ``/edit`` (``Flux2FlexInput``,
  ``Flux2FlexEditInput``): as [pro], with ``guidance_scale`` (3.5) and
  ``num_inference_steps`` (28); fal's types give no range, so fluxpanel
  keeps the model's own at Black Forest Labs (1 to 50 steps, guidance 1.5 to
  10).
- FLUX.2 [dev] ``fal-ai/flux-2`` and ``fal-ai/flux-2/edit`` (``Flux2Input``,
  ``Flux2EditInput``; the ranges from fal.ai/models/fal-ai/flux-2-dev/llms.txt,
  the same fields): ``image_urls`` ("A maximum of 4 images are allowed, if
  more are provided, only the first 4 will be used": fluxpanel refuses a
  fifth rather than drop it), ``image_size``, ``num_inference_steps`` 4 to
  50 (28), ``guidance_scale`` 0 to 20 (2.5), ``num_images`` 1 to 4,
  ``acceleration`` none, regular or high (regular),
  ``enable_prompt_expansion``, ``enable_safety_checker``, ``seed``,
  ``output_format``.
- FLUX.2 [klein] 4B and 9B ``fal-ai/flux-2/klein/4b``, ``/9b`` and their
  ``/edit`` routes (``Flux2Klein4bInput``, ``Flux2Klein4bEditInput``; 9B's
  types are the same): ``image_urls`` ("A maximum of 4 images are allowed"),
  ``image_size`` (landscape_4_3; the input's size on edit),
  ``num_inference_steps`` 4 to 8 (4), ``num_images`` 1 to 4, ``seed``,
  ``enable_safety_checker``, ``output_format``; no safety tolerance (the
  ranges from fal.ai/models/fal-ai/flux-2/klein/9b/llms.txt).
- FLUX 3 Image ``blackforestlabs/flux-3/text-to-image`` and, with
  references, ``blackforestlabs/flux-3/edit-image`` (the model pages,
  fal.ai/models/blackforestlabs/flux-3/edit-image/llms.txt; released after
  fal-js's types of 2026-08): ``prompt``, ``image_urls`` ("in image 1 through
  image 10 order. Each must be at least 256 pixels per dimension and at most
  4 megapixels. The first controls auto aspect ratio"), ``aspect_ratio``
  (auto and Black Forest Labs' fifteen ratios). fal's page publishes no other
  field, so fluxpanel sends no other (not even ``output_format``): resolution
  tiers, grounding and safety tolerance are Black Forest Labs' and
  Replicate's. No seed.
- Input images are URLs. fal's clients upload local files to fal's storage
  first (fal-js ``storage.ts``: ``POST https://rest.fal.ai/storage/upload/
  initiate?storage_type=fal-cdn-v3`` with ``content_type`` and ``file_name``
  answers ``upload_url`` and ``file_url``; the bytes go by ``PUT
  upload_url``, without the key); so does fluxpanel.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any

from .._errors import APIError, InsufficientCreditsError, ModerationError
from .._inputs import InputImage
from .._request import GenerationRequest
from .._spec import (
    IMAGE_PROMPT_STRENGTH,
    MATCH_INPUT,
    NUM_IMAGES,
    PROMPT,
    PROMPT_UPSAMPLING,
    RAW,
    SAFETY_CHECKER,
    SEED,
    TRY_ON_PROMPT,
    UPSAMPLING_VARIES,
    ImageLimits,
    ParamSpec,
    aspect_ratio,
    check_table,
    choice,
    erase_inputs,
    fill_inputs,
    flux3_image,
    guidance,
    image,
    image_prompt,
    model,
    more_images,
    references,
    safety_tolerance,
    steps,
    try_on_inputs,
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

#: fal publishes no per-image limit for these routes but the formats it reads.
_LIMITS = ImageLimits(("jpeg", "png", "webp", "gif"))
_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")
_TOLERANCE = safety_tolerance(2, 1, 6)
_KONTEXT_INPUT = image(
    "input_image", "Input image", "The image to edit.", _LIMITS, required=True, urls=True
)
#: Kontext [pro] and [max] make an image from the prompt alone on their
#: text-to-image routes.
_KONTEXT_OR_NOT = image(
    "input_image",
    "Input image",
    "The image to edit. Leave it empty to make a new image from the prompt.",
    _LIMITS,
    urls=True,
)
_MATCH_RATIO = choice(
    "aspect_ratio",
    "Aspect ratio",
    "Shape of the result; match_input keeps the input image's shape (1:1 without one).",
    (MATCH_INPUT, *_RATIOS),
    MATCH_INPUT,
)
_FLUX2_SIZE = aspect_ratio(
    ("auto", *_SIZES),
    "auto",
    "Image size",
    "auto follows the first reference image (landscape_4_3 without one); or fal's named sizes.",
)


def _kontext(id: str) -> Any:
    return model(
        id,
        PROMPT,
        NUM_IMAGES,
        _KONTEXT_OR_NOT,
        more_images(_LIMITS, 3),
        _MATCH_RATIO,
        SEED,
        guidance(3.5, 1, 20),
        _TOLERANCE,
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
    )


def _flux2(id: str, *extra: ParamSpec) -> Any:
    return model(
        id,
        PROMPT,
        references(_LIMITS, 8),
        _FLUX2_SIZE,
        SEED,
        *extra,
        safety_tolerance(2, 1, 5),
        SAFETY_CHECKER,
    )


def _klein(id: str) -> Any:
    """FLUX.2 [klein] at fal: a batch of up to four, 4 to 8 steps, up to four
    references, no safety tolerance."""
    return model(
        id,
        PROMPT,
        NUM_IMAGES,
        references(_LIMITS, 4),
        _FLUX2_SIZE,
        SEED,
        steps(4, 8, 4),
        SAFETY_CHECKER,
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
    "flux_pro_1_1": model(
        "flux_pro_1_1",
        PROMPT,
        NUM_IMAGES,
        _ASPECT,
        SEED,
        _TOLERANCE,
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
    ),
    "flux_pro_1_1_ultra": model(
        "flux_pro_1_1_ultra",
        PROMPT,
        NUM_IMAGES,
        choice("aspect_ratio", "Aspect ratio", "Shape of the image.", _RATIOS, "16:9"),
        RAW,
        image_prompt(_LIMITS, urls=True),
        IMAGE_PROMPT_STRENGTH,
        SEED,
        _TOLERANCE,
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
    ),
    "flux_kontext_pro": _kontext("flux_kontext_pro"),
    "flux_kontext_max": _kontext("flux_kontext_max"),
    "flux_kontext_dev": model(
        "flux_kontext_dev",
        PROMPT,
        NUM_IMAGES,
        _KONTEXT_INPUT,
        choice(
            "resolution_mode",
            "Resolution",
            "match_input keeps the input's size (in multiples of 16); auto picks the "
            "nearest size the model was trained on; or a ratio.",
            (
                "match_input",
                "auto",
                "1:1",
                "16:9",
                "21:9",
                "3:2",
                "2:3",
                "4:5",
                "5:4",
                "3:4",
                "4:3",
                "9:16",
                "9:21",
            ),
            "match_input",
        ),
        SEED,
        steps(28, 50),
        guidance(2.5, 1, 20),
        _ACCELERATION,
        SAFETY_CHECKER,
    ),
    "flux_fill_pro": model(
        "flux_fill_pro",
        PROMPT,
        NUM_IMAGES,
        *fill_inputs(_LIMITS, urls=True),
        SEED,
        _TOLERANCE,
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
    ),
    "flux_erase": model("flux_erase", *erase_inputs(_LIMITS, 100, urls=True)),
    "flux_vto": model(
        "flux_vto",
        TRY_ON_PROMPT,
        *try_on_inputs(
            dataclasses.replace(_LIMITS, max_megapixels=2),
            dataclasses.replace(_LIMITS, max_megapixels=1),
            urls=True,
        ),
        SEED,
    ),
    "flux_2_pro": _flux2("flux_2_pro"),
    "flux_2_max": _flux2("flux_2_max"),
    # fal's defaults (28 steps, guidance 3.5); its types give no range, so
    # the model's own at Black Forest Labs (1 to 50, 1.5 to 10).
    "flux_2_flex": _flux2("flux_2_flex", steps(28, 50), guidance(3.5, 1.5, 10)),
    # FLUX.2 [dev]: fal's acceleration on by default ("regular"), four references
    "flux_2_dev": model(
        "flux_2_dev",
        PROMPT,
        NUM_IMAGES,
        references(_LIMITS, 4),
        _FLUX2_SIZE,
        SEED,
        steps(28, 50, 4),
        guidance(2.5, 0, 20),
        dataclasses.replace(_ACCELERATION, default="regular"),
        PROMPT_UPSAMPLING,
        SAFETY_CHECKER,
        caveats=(UPSAMPLING_VARIES,),
    ),
    "flux_2_klein_4b": _klein("flux_2_klein_4b"),
    "flux_2_klein_9b": _klein("flux_2_klein_9b"),
    "flux_3_image": flux3_image(ImageLimits(_LIMITS.formats, max_megapixels=4, min_side=256)),
}
check_table(MODELS)

#: Each model's route at fal; where a second is given, the route used when the
#: request has input images (the first makes an image from the prompt alone).
ROUTES: dict[str, str | tuple[str, str]] = {
    "flux_schnell": "fal-ai/flux/schnell",
    "flux_dev": "fal-ai/flux/dev",
    "flux_pro": "fal-ai/flux-pro/new",
    "flux_pro_1_1": "fal-ai/flux-pro/v1.1",
    "flux_pro_1_1_ultra": "fal-ai/flux-pro/v1.1-ultra",
    "flux_kontext_pro": ("fal-ai/flux-pro/kontext/text-to-image", "fal-ai/flux-pro/kontext"),
    "flux_kontext_max": (
        "fal-ai/flux-pro/kontext/max/text-to-image",
        "fal-ai/flux-pro/kontext/max",
    ),
    "flux_kontext_dev": "fal-ai/flux-kontext/dev",
    "flux_fill_pro": "fal-ai/flux-pro/v1/fill",
    "flux_erase": "fal-ai/flux-pro/v1/erase",
    "flux_vto": "fal-ai/flux-pro/v1/vto",
    "flux_2_pro": ("fal-ai/flux-2-pro", "fal-ai/flux-2-pro/edit"),
    "flux_2_max": ("fal-ai/flux-2-max", "fal-ai/flux-2-max/edit"),
    "flux_2_flex": ("fal-ai/flux-2-flex", "fal-ai/flux-2-flex/edit"),
    "flux_2_dev": ("fal-ai/flux-2", "fal-ai/flux-2/edit"),
    "flux_2_klein_4b": ("fal-ai/flux-2/klein/4b", "fal-ai/flux-2/klein/4b/edit"),
    "flux_2_klein_9b": ("fal-ai/flux-2/klein/9b", "fal-ai/flux-2/klein/9b/edit"),
    "flux_3_image": ("blackforestlabs/flux-3/text-to-image", "blackforestlabs/flux-3/edit-image"),
}
#: Kontext with more images: fal's multi-image routes, which take every image
#: as ``image_urls`` (the input image first) in place of ``image_url``.
MULTI = {
    "flux_kontext_pro": "fal-ai/flux-pro/kontext/multi",
    "flux_kontext_max": "fal-ai/flux-pro/kontext/max/multi",
}
#: Routes whose published schema has no ``output_format``.
_NO_FORMAT = {"flux_3_image"}
#: fal's default storage for uploads (fal-js ``getRestApiUrl``).
STORAGE_URL = "https://rest.fal.ai"
#: The models whose sizes are fal's named ``image_size`` (the others take
#: an ``aspect_ratio``).
_NAMED_SIZES = {
    "flux_schnell",
    "flux_dev",
    "flux_pro",
    "flux_pro_1_1",
    "flux_2_pro",
    "flux_2_max",
    "flux_2_flex",
    "flux_2_dev",
    "flux_2_klein_4b",
    "flux_2_klein_9b",
}
_WIRE = {
    "steps": "num_inference_steps",
    "guidance": "guidance_scale",
    "safety_checker": "enable_safety_checker",
    "prompt_upsampling": "enhance_prompt",
    "input_image": "image_url",
    "image_prompt": "image_url",
    "image": "image_url",
    "mask": "mask_url",
    "input_images": "image_urls",
    "person": "human_image_url",
    "garment": "garment_image_url",
}
#: Where one model's route names a parameter otherwise (FLUX.2 [dev]'s prompt
#: expansion is ``enable_prompt_expansion``, FLUX.1's ``enhance_prompt``).
_WIRE_FOR = {"flux_2_dev": {"prompt_upsampling": "enable_prompt_expansion"}}
_WAITING = {"IN_QUEUE", "IN_PROGRESS"}
KEY_HOSTS = re.compile(r"queue\.fal\.run|rest\.fal\.ai")


def _last_event(body: bytes, *, waiting: bool = False) -> dict[str, Any] | None:
    """The last whole event of a server-sent event stream, as JSON (with
    ``waiting``, the last that says the request is queued or running)."""
    text = body.decode("utf-8", "replace").replace("\r\n", "\n")
    for block in reversed(text.split("\n\n")[:-1]):  # the text after the last blank line is partial
        data = "\n".join(
            line[5:].lstrip() for line in block.split("\n") if line.startswith("data:")
        )
        if not data:
            continue  # a comment or a keep-alive
        try:
            event = json.loads(data)
        except ValueError:
            return None
        if not isinstance(event, dict):
            return None
        if waiting and not _is_waiting(event):
            continue
        return event
    return None


def _is_waiting(data: dict[str, Any]) -> bool:
    status = data.get("status")
    return isinstance(status, str) and status in _WAITING


def _progress(data: dict[str, Any] | None) -> Progress | None:
    """What a status says of the request: queued at a position, or running."""
    if not data or not _is_waiting(data):
        return None
    position = data.get("queue_position")
    queued = data["status"] == "IN_QUEUE"
    ok = queued and isinstance(position, int) and not isinstance(position, bool)
    return Progress("queued" if queued else "running", position=position if ok else None)


def route(request: GenerationRequest) -> str:
    """The request's route at fal (an ``/edit`` route when it has references,
    Kontext's ``/multi`` with more images)."""
    if request.model in MULTI and request.params.get("more_images"):
        return MULTI[request.model]
    entry = ROUTES[request.model]
    if isinstance(entry, tuple):
        return entry[1] if request.inputs else entry[0]
    return entry


def _image(image: InputImage, uploaded: Any) -> str:
    """An input as fal takes it: a URL (its own, or the uploaded file's; a
    data URI only in :meth:`Fal.wire`'s preview, before any upload)."""
    if image.url is not None:
        return image.url
    return uploaded.get(image.sha256) or image.data_uri()


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

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        storage_url: str | None = None,
    ) -> None:
        super().__init__(api_key, base_url)
        # A gateway (or the loopback fake) given as base_url serves uploads too.
        self._storage = (storage_url or (base_url if base_url else STORAGE_URL)).rstrip("/")

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The request's input (our names mapped to fal's)."""
        return self._input(request, {})

    def _input(self, request: GenerationRequest, uploaded: Any) -> dict[str, Any]:
        body: dict[str, Any] = {}
        for k, v in request.host_params.items():
            if v in (MATCH_INPUT, "auto") and k in ("aspect_ratio",):
                continue  # unset: the host keeps the input's shape
            if isinstance(v, InputImage):
                v = _image(v, uploaded)
            elif isinstance(v, tuple):
                v = [_image(item, uploaded) for item in v]
            named = k == "aspect_ratio" and request.model in _NAMED_SIZES
            wire = _WIRE_FOR.get(request.model, {}).get(k) or _WIRE.get(k, k)
            body["image_size" if named else wire] = v
        if "more_images" in body:  # the multi route: every image in one list
            body["image_urls"] = [body.pop("image_url"), *body.pop("more_images")]
        if "safety_tolerance" in body:
            body["safety_tolerance"] = str(body["safety_tolerance"])  # fal takes "1".."6"
        if request.model not in _NO_FORMAT:
            body["output_format"] = "png"  # lossless originals
        return body

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Key {self._api_key}"}

    def needs_upload(self, image: InputImage) -> bool:
        return True  # fal takes URLs; its clients upload every local file

    def upload(self, image: InputImage) -> Call:
        return Call(
            "POST",
            f"{self._storage}/storage/upload/initiate?storage_type=fal-cdn-v3",
            json={"content_type": image.mime, "file_name": image.filename},
            headers=self._headers(),
        )

    def uploaded(self, image: InputImage, call: Call, reply: Reply) -> Call | str:
        if call.method == "PUT":
            return call.state["file_url"]
        data = self.json_object(reply)
        put, url = data.get("upload_url"), data.get("file_url")
        if not isinstance(put, str) or not isinstance(url, str):
            raise self.unreadable(reply, "the upload answer has no upload_url and file_url")
        if not put.startswith(("https://", "http://")) or not url.startswith(
            ("https://", "http://")
        ):
            raise self.unreadable(reply, "the upload URLs are not http(s)")
        # The bytes go to the signed upload URL without the key.
        return Call(
            "PUT",
            put,
            content=image.data,
            headers={"Content-Type": image.mime},
            state={**call.state, "file_url": url},
        )

    def submit(self, request: GenerationRequest, uploaded: Any) -> Call:
        return Call(
            "POST",
            f"{self._base}/{route(request)}",
            json=self._input(request, uploaded),
            headers=self._headers(),
            billable=True,
        )

    def _url(self, reply: Reply, data: dict[str, Any], key: str) -> str:
        url = data.get(key)
        if not isinstance(url, str) or not self.on_site(url):
            raise self.unreadable(reply, f"the answer has no usable {key}")
        return url

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        step = self.upload_step(request, call, reply)
        if step is not None:
            return step
        phase = call.state.get("phase") if isinstance(call.state, dict) else "submit"
        if phase == "stream":
            last = _last_event(reply.body)
            state = {**call.state, "phase": "status"}
            if last is not None and not isinstance(last.get("status"), str):
                raise self.unreadable(reply, f"request {call.task} has no status")
            if last is not None and last.get("status") == "COMPLETED":
                state["phase"] = "result"
                return Call(
                    "GET", state["response"], headers=self._headers(), task=call.task, state=state
                )
            # The stream ended early: poll the status URL.
            return self._poll(state["status"], call.task or "?", state, _progress(last))
        data = self.json_object(reply)
        if phase == "submit":
            task = str(data.get("request_id", "?"))
            status_url = self._url(reply, data, "status_url")
            state = {
                "phase": "stream",
                "n": 0,
                "status": status_url,
                "response": self._url(reply, data, "response_url"),
                "cancel": data.get("cancel_url"),
            }
            return Call(
                "GET",
                status_url.split("?")[0] + "/stream",
                headers={**self._headers(), "Accept": "text/event-stream"},
                task=task,
                state=state,
                until=lambda body: (_last_event(body) or {}).get("status") == "COMPLETED",
                watch=lambda body: _progress(_last_event(body, waiting=True)),
            )
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
                progress = _progress(data)
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
