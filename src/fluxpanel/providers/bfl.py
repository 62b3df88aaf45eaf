"""``BlackForestLabs``: the FLUX models at Black Forest Labs' own API.

Where each rule comes from (Black Forest Labs' API reference, late 2026):

- "Generate an image with FLUX.1 [pro]" (``POST /v1/flux-pro``) and
  "... FLUX.1 [dev]" (``POST /v1/flux-dev``), the ``FluxProInputs`` and
  ``FluxDevInputs`` of api.bfl.ai/openapi.json (the same fields as
  black-forest-labs/blackforest's ``GenericDimensionInput``): ``prompt``,
  ``width``/``height`` (256 to 1440, multiples of 32; default 1024 x 768),
  ``steps`` (1 to 50; default 40 for pro, 28 for dev), ``guidance`` (1.5 to
  5; default 2.5 for pro, 3 for dev), ``interval`` (pro only, 1 to 4, default
  2), ``safety_tolerance`` (0 strict to 6 permissive, default 2),
  ``prompt_upsampling`` (false), ``seed`` and ``output_format`` (jpeg or
  png). Unknown fields are refused (422). The answer is ``{"id",
  "polling_url"}``.
- FLUX.1 [schnell] is not offered.
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

The FLUX family beyond FLUX.1 (api.bfl.ai/openapi.json as the API reference
pages embed it, and black-forest-labs/blackforest ``types/inputs``; every
endpoint refuses unknown fields):

- FLUX1.1 [pro], ``POST /v1/flux-pro-1.1`` (``FluxPro11Inputs``): ``prompt``,
  ``image_prompt`` (an image, base64), ``width``/``height`` as FLUX.1,
  ``seed``, ``safety_tolerance`` 0 to 6 (2), ``prompt_upsampling``.
- FLUX1.1 [pro] Ultra, ``POST /v1/flux-pro-1.1-ultra`` (``FluxUltraInput``):
  ``prompt``, ``aspect_ratio`` "between 21:9 and 9:21" (default 16:9),
  ``raw`` (false), ``image_prompt`` (base64) with ``image_prompt_strength``
  0 to 1 (0.1), ``seed``, ``safety_tolerance`` 0 to 6, ``prompt_upsampling``.
- FLUX.1 Kontext [pro] and [max], ``POST /v1/flux-kontext-pro`` and
  ``/v1/flux-kontext-max`` (``FluxKontextProInputs``, one class for both):
  ``prompt`` (required), ``input_image`` (base64 or an http(s) URL; the SDK's
  ``_images.py``), ``aspect_ratio`` between 21:9 and 9:21, "the input image's
  ratio" when not sent, ``seed``, ``safety_tolerance`` 0 to 6 ("Limit of 2 for
  Image to Image": at most 2 with an input image, refused above),
  ``prompt_upsampling``; and ``input_image_2`` to ``_4``,
  "Base64 encoded image or URL to use with Kontext. *Experimental Multiref*"
  (the API reference pages "Edit or create an image with Flux Kontext Pro"
  and "... Max", docs.bfl.ml/api-reference, which embed api.bfl.ai/openapi.json;
  not in the mid-2025 copy, added since): fluxpanel's ``more_images``, sent
  only with an input image. Marked legacy ("For new integrations, use FLUX.2
  [pro]") and still served.
- FLUX.1 Fill [pro], ``POST /v1/flux-pro-1.0-fill`` (``FluxProFillInputs``):
  ``image`` (required, base64), ``mask`` (base64, "the same dimensions as the
  image ... black areas ... no modification, white areas ... inpainting";
  "The endpoint verifies that the dimensions of the mask match"), ``prompt``,
  ``steps`` 15 to 50 (50), ``guidance`` 1.5 to 100 (60), ``seed``,
  ``safety_tolerance`` 0 to 6, ``prompt_upsampling``. Legacy, still served.
- FLUX.1 Expand [pro], ``POST /v1/flux-pro-1.0-expand``
  (``FluxProExpandInputs``; "Expand an image by adding pixels on any side",
  docs.bfl.ml/api-reference, which embeds api.bfl.ai/openapi.json): ``image``
  (required, base64), ``top``, ``bottom``, ``left``, ``right`` 0 to 2048
  (0), ``prompt`` (optional, default ""), ``steps`` 15 to 50 (50),
  ``guidance`` 1.5 to 100 (60), ``prompt_upsampling``, ``seed``,
  ``output_format``, ``safety_tolerance`` 0 to 6 (2). Legacy ("replaced by
  the FLUX Tools" in the SDK's 0.2.0 changelog), still documented. No price
  was found for it (see :mod:`fluxpanel._pricing`).
- FLUX Erase, ``POST /v1/flux-tools/erase-v1`` (``Flux2EraseInputs``; "Erase
  an object from an image", docs.bfl.ml/api-reference, which embeds
  api.bfl.ai/openapi.json, and the guide docs.bfl.ml/flux_erase): ``image``
  and ``mask`` (both required, base64 or an http(s) URL; "White pixels
  indicate the object to remove; black pixels are preserved. Must have the
  same dimensions as the input image"), ``dilate_pixels`` 0 to 25 (10),
  ``seed``, ``safety_tolerance`` 0 to 5 (2), ``output_format`` jpeg, png or
  webp. No prompt ("the model uses a built-in erase instruction"); a prompt
  sent is an unknown field. One of the FLUX Tools the SDK's ``_catalog.py``
  lists beside FLUX.2.
- FLUX Deblur, ``POST /v1/flux-tools/deblur-v1`` (``Flux2DeblurInputs``; the
  SDK's ``DeblurParams`` in ``src/bfl/_models.py``, "No prompt or mask: the
  server sharpens the entire image with a fixed instruction"): ``image``
  (required, base64 or URL, "Max 4MP": larger inputs are scaled down first),
  ``seed``, ``safety_tolerance`` 0 to 5 (2), ``output_format``.
- FLUX Virtual Try-On, ``POST /v1/flux-tools/vto-v1``
  (``Flux2KleinTryonInputs``; the SDK's ``VtoParams``): ``prompt``
  (required, the styling), ``person`` and ``garment`` (required, base64 or
  URL; "The server maps person to input_image and garment to
  input_image_2"), ``seed``, ``safety_tolerance`` (0 to 5 for public use:
  "Values 6-7 require an allowlisted organization"), ``output_format``.
- FLUX Outpainting, ``POST /v1/flux-tools/outpainting-v1``
  (``FluxOutpaintingInputs``; "Outpaint or extend an image",
  docs.bfl.ml/api-reference, and the SDK's ``OutpaintParams``): "The input
  image is placed on a (width, height) canvas at the given offset, and the
  surrounding region is generated". ``input_image`` (required, base64 or
  URL), ``width`` and ``height`` (required, at least 64; "width*height must
  be <= 4MP": fluxpanel allows 64 to 2048 a side), ``reference_offset_x``
  and ``_y`` (the image's top-left corner, "Negative values are allowed.
  None = center"; fluxpanel's ``placement`` chooses centred or custom and is
  not sent), ``auto_crop`` ("If False, an error is raised instead" when the
  image runs past the canvas: refused before sending here too), ``mode``
  high or fast (high), ``prompt`` ("Experimental: optional text guidance";
  not sent when empty), ``safety_tolerance`` 0 to 5, ``output_format``. No
  seed and no webhook fields ("Outpainting is extra=forbid").
- FLUX.2 [pro], [max] and [flex], ``POST /v1/flux-2-pro``, ``/v1/flux-2-max``,
  ``/v1/flux-2-flex`` (``Flux2FlexInputs``; the SDK's ``_models.py`` for pro
  and max): ``prompt``, ``input_image`` and ``input_image_2`` to ``_8``
  (base64 or URL; at most 8 references, ``_catalog.py``), ``width``/``height``
  at least 64, multiples of 16, at most 4 megapixels ("0 = model chooses",
  matching the input), ``seed``, ``safety_tolerance`` 0 to 5 (2); [flex] adds
  ``steps`` 1 to 50 (50), ``guidance`` 1.5 to 10 (5) and
  ``prompt_upsampling`` (default true). FLUX.2 [klein] 4B and 9B,
  ``POST /v1/flux-2-klein-4b`` and ``/v1/flux-2-klein-9b``
  (``Flux2KleinInputs``, "Input model for FLUX.2 Klein (non-base) - like Pro
  but max 4 images", on the API reference pages for 4B and for the 9B
  preview): the same fields with ``input_image`` to ``input_image_4``, and
  no prompt upsampling. The SDK's ``_catalog.py`` gives 9B five references,
  but the published schema has no ``input_image_5`` and the endpoints refuse
  unknown fields, so fluxpanel sends at most four to either.
- FLUX 3 Image, ``POST /v1/flux-3-image`` (the API reference "Generate an
  image with FLUX 3", ``openapi/flux-3-image.json``; the guides
  docs.bfl.ai/flux_3/flux3_image_generate, _overview, _layout and
  _bounding_boxes): "Only prompt is required"; ``images``, one string or a
  list of 1 to 10 (http(s) URL or base64; "each image must be at least
  256x256 pixels and at most 16 megapixels, with a base64 payload at most 20
  MB"); ``aspect_ratio`` auto, 21:9, 2:1, 16:9, 3:2, 7:5, 4:3, 5:4, 1:1, 4:5,
  3:4, 5:7, 2:3, 9:16, 1:2, 9:21 (default auto: "auto follows the first
  reference image when one is present"); ``resolution`` 768sq, 1k, 1.5k, 2k,
  4k (1k); ``grounding`` (true); ``safety_tolerance`` 0 to 4 (2);
  ``version`` ("latest"; not sent). "The endpoint rejects unknown fields with
  HTTP 422, so fields from other BFL endpoints, such as seed, width, and
  input_image, don't work here": no seed, no ``output_format``. Boxes are
  written into the prompt (:mod:`fluxpanel._boxes`). The answer's
  ``result.prompt`` is the prompt as the model expanded it, with the boxes it
  added; ``result.sample`` "expires after 1 hour ... don't send your x-key
  header to it".
- Input images (the SDK's ``GenericImageValidation``): at most 20 MB of
  base64 (15 MB of image), 20 megapixels, 256 px a side; JPEG, PNG or WebP.
  Sent as bare base64, as the SDK sends them.
- Prices (docs.bfl.ai/quick_start/pricing): see :mod:`fluxpanel._pricing`.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass
from typing import Any

from .._errors import APIError, ModerationError, ServerError
from .._inputs import InputImage
from .._request import GenerationRequest
from .._spec import (
    FLUX3_RESOLUTION,
    GROUNDING,
    IMAGE_PROMPT_STRENGTH,
    MATCH_INPUT,
    OPTIONAL_PROMPT,
    PROMPT,
    PROMPT_UPSAMPLING,
    RATIOS,
    RAW,
    SEED,
    SEED_MAX,
    TRY_ON_PROMPT,
    UPSAMPLING_VARIES,
    ImageLimits,
    ParamSpec,
    check_table,
    choice,
    erase_inputs,
    expand_inputs,
    fill_inputs,
    flux3_image,
    guidance,
    image,
    image_prompt,
    interval,
    model,
    more_images,
    outpaint_inputs,
    prompt_upsampling,
    references,
    safety_tolerance,
    size,
    steps,
    try_on_inputs,
)
from ._base import Call, HostedProvider, Outputs, Progress, Reply

KEY_ENV = "BFL_API_KEY"
DEFAULT_URL = "https://api.bfl.ai"

_WIDTH = size("width", 256, 1440, 32, 1024)
_HEIGHT = size("height", 256, 1440, 32, 768)
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

#: The SDK's ``GenericImageValidation``: 20 MB of base64 is 15 MB of image.
_LIMITS = ImageLimits(
    ("jpeg", "png", "webp"), max_bytes=15_000_000, max_megapixels=20, min_side=256
)
_RATIOS = RATIOS
_IMAGE_PROMPT = image_prompt(_LIMITS)
_KONTEXT_INPUT = image(
    "input_image",
    "Input image",
    "The image to edit. Leave it empty to make a new image from the prompt.",
    _LIMITS,
    urls=True,
)
_KONTEXT_RATIO = choice(
    "aspect_ratio",
    "Aspect ratio",
    "Shape of the result; match_input keeps the input image's shape (1:1 without one).",
    (MATCH_INPUT, *_RATIOS),
    MATCH_INPUT,
)


_SIZE_MODE = choice(
    "image_size",
    "Size",
    "auto lets the model choose (the input's size when editing); custom takes a width and height.",
    ("auto", "custom"),
    "auto",
)
_CUSTOM = ("image_size", "custom")
#: Outpainting's prompt: optional, loosely followed, not sent when empty.
_OUTPAINT_PROMPT = dataclasses.replace(
    OPTIONAL_PROMPT,
    help="Optional and experimental: what the new space might hold (loosely followed); "
    "left empty, the image continues itself.",
)


def _flux2(id: str, *extra: ParamSpec, caveats: tuple = (), most: int = 8) -> Any:
    return model(
        id,
        PROMPT,
        _IMAGES,
        references(_LIMITS, most),
        _SIZE_MODE,
        size("width", 64, 2048, 16, 1024, _CUSTOM),
        size("height", 64, 2048, 16, 1024, _CUSTOM),
        SEED,
        *extra,
        safety_tolerance(2, 0, 5),
        caveats=caveats,
        batch_seeds="each",
    )


def _tool(id: str, *inputs: ParamSpec) -> Any:
    """FLUX.1 Fill and Expand [pro] (the FLUX.1 Tools): their inputs, then the
    steps, guidance and tolerance they share."""
    return model(
        id,
        *inputs,
        SEED,
        steps(50, 50, 15),
        guidance(60, 1.5, 100),
        safety_tolerance(2, 0, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
        batch_seeds="each",
    )


MODELS = {
    "flux_dev": model(
        "flux_dev",
        PROMPT,
        _IMAGES,
        _WIDTH,
        _HEIGHT,
        SEED,
        steps(28, 50),
        guidance(3.0, 1.5, 5),
        safety_tolerance(2, 0, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
        batch_seeds="each",
    ),
    "flux_pro": model(
        "flux_pro",
        PROMPT,
        _IMAGES,
        _WIDTH,
        _HEIGHT,
        SEED,
        steps(40, 50),
        guidance(2.5, 1.5, 5),
        interval(),
        safety_tolerance(2, 0, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
        batch_seeds="each",
    ),
    "flux_pro_1_1": model(
        "flux_pro_1_1",
        PROMPT,
        _IMAGES,
        _IMAGE_PROMPT,
        _WIDTH,
        _HEIGHT,
        SEED,
        safety_tolerance(2, 0, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
        batch_seeds="each",
    ),
    "flux_pro_1_1_ultra": model(
        "flux_pro_1_1_ultra",
        PROMPT,
        _IMAGES,
        choice("aspect_ratio", "Aspect ratio", "Shape of the image.", _RATIOS, "16:9"),
        RAW,
        _IMAGE_PROMPT,
        IMAGE_PROMPT_STRENGTH,
        SEED,
        safety_tolerance(2, 0, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
        batch_seeds="each",
    ),
    **{
        id: model(
            id,
            PROMPT,
            _IMAGES,
            _KONTEXT_INPUT,
            more_images(_LIMITS, 3),
            _KONTEXT_RATIO,
            SEED,
            safety_tolerance(2, 0, 6, most_with=("input_image", 2)),
            PROMPT_UPSAMPLING,
            caveats=(UPSAMPLING_VARIES,),
            batch_seeds="each",
        )
        for id in ("flux_kontext_pro", "flux_kontext_max")
    },
    "flux_fill_pro": _tool("flux_fill_pro", PROMPT, _IMAGES, *fill_inputs(_LIMITS)),
    "flux_expand_pro": _tool(
        "flux_expand_pro", OPTIONAL_PROMPT, _IMAGES, *expand_inputs(_LIMITS, 2048)
    ),
    "flux_erase": model(
        "flux_erase",
        _IMAGES,
        *erase_inputs(_LIMITS, 25, urls=True),
        SEED,
        safety_tolerance(2, 0, 5),
        batch_seeds="each",
    ),
    "flux_deblur": model(
        "flux_deblur",
        _IMAGES,
        image(
            "image",
            "Image",
            "The blurry image to sharpen (over 4 megapixels, scaled down first).",
            dataclasses.replace(_LIMITS, max_megapixels=4),
            required=True,
            urls=True,
            keeps_size=True,
        ),
        SEED,
        safety_tolerance(2, 0, 5),
        batch_seeds="each",
    ),
    "flux_vto": model(
        "flux_vto",
        TRY_ON_PROMPT,
        _IMAGES,
        *try_on_inputs(_LIMITS, _LIMITS, urls=True),
        SEED,
        safety_tolerance(2, 0, 5),
        batch_seeds="each",
    ),
    "flux_outpaint": model(
        "flux_outpaint",
        _OUTPAINT_PROMPT,
        *outpaint_inputs(_LIMITS, 2048, urls=True),
        choice(
            "mode",
            "Mode",
            "high for the best result, fast for a quicker one.",
            ("high", "fast"),
            "high",
        ),
        safety_tolerance(2, 0, 5),
    ),
    "flux_2_pro": _flux2("flux_2_pro"),
    "flux_2_max": _flux2("flux_2_max"),
    # [klein]: four references (Flux2KleinInputs), no prompt upsampling
    "flux_2_klein_4b": _flux2("flux_2_klein_4b", most=4),
    "flux_2_klein_9b": _flux2("flux_2_klein_9b", most=4),
    "flux_2_flex": _flux2(
        "flux_2_flex",
        steps(50, 50),
        guidance(5, 1.5, 10),
        prompt_upsampling(True),
        caveats=(UPSAMPLING_VARIES,),
    ),
    # 256 px a side, 16 megapixels, 20 MB of base64 (15 MB of image) each.
    "flux_3_image": flux3_image(
        ImageLimits(("jpeg", "png", "webp"), max_bytes=15_000_000, max_megapixels=16, min_side=256),
        FLUX3_RESOLUTION,
        GROUNDING,
        safety_tolerance(2, 0, 4),
    ),
}
check_table(MODELS)

_ENDPOINTS = {
    "flux_dev": "/v1/flux-dev",
    "flux_pro": "/v1/flux-pro",
    "flux_pro_1_1": "/v1/flux-pro-1.1",
    "flux_pro_1_1_ultra": "/v1/flux-pro-1.1-ultra",
    "flux_kontext_pro": "/v1/flux-kontext-pro",
    "flux_kontext_max": "/v1/flux-kontext-max",
    "flux_fill_pro": "/v1/flux-pro-1.0-fill",
    "flux_expand_pro": "/v1/flux-pro-1.0-expand",
    "flux_erase": "/v1/flux-tools/erase-v1",
    "flux_deblur": "/v1/flux-tools/deblur-v1",
    "flux_vto": "/v1/flux-tools/vto-v1",
    "flux_outpaint": "/v1/flux-tools/outpainting-v1",
    "flux_2_pro": "/v1/flux-2-pro",
    "flux_2_max": "/v1/flux-2-max",
    "flux_2_flex": "/v1/flux-2-flex",
    "flux_2_klein_4b": "/v1/flux-2-klein-4b",
    "flux_2_klein_9b": "/v1/flux-2-klein-9b",
    "flux_3_image": "/v1/flux-3-image",
}
#: FLUX 3 refuses every field it does not list (no output_format).
_STRICT = {"flux_3_image"}
#: Models whose prompt is left out when empty (Outpainting's is optional).
_UNSET_EMPTY = {"flux_outpaint"}
#: The documented waiting states: poll again.
WAITING = frozenset({"Pending", "Reasoning", "Generating"})
#: Black Forest Labs' API hosts: global, regional and their clusters.
KEY_HOSTS = re.compile(r"api(\.(eu|us)[0-9]*)?\.bfl\.ai")


def _image(image: InputImage) -> str:
    """An input as Black Forest Labs takes it: its URL, or bare base64."""
    return image.url if image.url is not None else image.base64()


class BlackForestLabs(HostedProvider):
    """Black Forest Labs' API. ``api_key`` defaults to ``$BFL_API_KEY``."""

    name = "bfl"
    label = "Black Forest Labs"
    key_env = KEY_ENV
    default_url = DEFAULT_URL
    models = MODELS
    key_hosts = KEY_HOSTS
    max_active = 24
    withheld_by = "Black Forest Labs' moderation"
    cancel_note = (
        "Black Forest Labs cannot cancel a task once submitted: fluxpanel stopped "
        "waiting, but the task may still run and be billed."
    )

    # -- mapping ours to theirs -----------------------------------------------------

    def wire(self, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body for one task (our names mapped to Black Forest Labs')."""
        body: dict[str, Any] = {}
        for k, v in request.host_params.items():
            if k in ("num_images", "image_size", "placement") or v == MATCH_INPUT:
                continue  # not sent: one task per image; the model chooses; ours
            if k == "prompt" and v == "" and request.model in _UNSET_EMPTY:
                continue  # "Leave unset for default behavior"
            if isinstance(v, InputImage):
                body[k] = _image(v)
            elif request.model in _STRICT and k == "input_images":  # FLUX 3: a list
                body["images"] = [_image(item) for item in v]
            elif isinstance(v, tuple):
                # input_images -> input_image, input_image_2, ...; Kontext's
                # more_images -> input_image_2, _3, _4 (after its input_image)
                first = request.spec.params[k].first_number
                for i, item in enumerate(v, first):
                    body["input_image" + (f"_{i}" if i > 1 else "")] = _image(item)
            else:
                body[k] = v
        if request.model not in _STRICT:
            body["output_format"] = "png"  # lossless originals
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
        data = self.json_object(reply)
        if call.method == "POST":
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
        status = data.get("status")
        task = call.task or str(data.get("id") or "?")
        if not isinstance(status, str):
            raise self.unreadable(reply, f"task {task} has no status")
        if status == "Ready":
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
        if status not in WAITING:
            raise APIError(
                f"Black Forest Labs answered task {task} with a status fluxpanel does not know "
                f"({status[:80]!r}); the documented ones are Pending, Reasoning, Generating, "
                "Ready, Request Moderated, Content Moderated, Task not found and Error",
                body=data,
            )
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
