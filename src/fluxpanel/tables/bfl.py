"""Black Forest Labs' models: one row per model (its parameters, endpoint,
spelling, size rule, price and status).

Where each rule comes from (Black Forest Labs' API reference, late 2026,
api.bfl.ai/openapi.json as the reference pages embed it, and
black-forest-labs/blackforest ``types/inputs``; every endpoint refuses
unknown fields with 422):

- FLUX.1 [pro] ``POST /v1/flux-pro`` and [dev] ``/v1/flux-dev``
  (``FluxProInputs``, ``FluxDevInputs``; the SDK's
  ``GenericDimensionInput``): ``prompt``, ``width``/``height`` (256 to
  1440, multiples of 32; default 1024 x 768), ``steps`` (1 to 50; default 40
  for pro, 28 for dev), ``guidance`` (1.5 to 5; default 2.5 for pro, 3 for
  dev), ``interval`` (pro only, 1 to 4, default 2), ``safety_tolerance`` (0
  strict to 6 permissive, default 2), ``prompt_upsampling`` (false),
  ``seed`` and ``output_format`` (jpeg or png). FLUX.1 [schnell] is not
  offered. One image per task: ``num_images`` is fluxpanel's, made as that
  many tasks with seeds seed, seed + 1, ...
- FLUX1.1 [pro] ``POST /v1/flux-pro-1.1`` (``FluxPro11Inputs``): ``prompt``,
  ``image_prompt`` (an image, base64), ``width``/``height`` as FLUX.1,
  ``seed``, ``safety_tolerance`` 0 to 6 (2), ``prompt_upsampling``.
- FLUX1.1 [pro] Ultra ``POST /v1/flux-pro-1.1-ultra`` (``FluxUltraInput``):
  ``prompt``, ``aspect_ratio`` "between 21:9 and 9:21" (default 16:9),
  ``raw`` (false), ``image_prompt`` (base64) with ``image_prompt_strength``
  0 to 1 (0.1), ``seed``, ``safety_tolerance`` 0 to 6, ``prompt_upsampling``.
- FLUX.1 [pro] with a finetune ``POST /v1/flux-pro-finetuned`` (the API
  reference page "Generate an image with FLUX [pro] finetune"):
  ``finetune_id`` (required), ``finetune_strength`` 0 to 2 (1.1), then
  FLUX.1 [pro]'s fields without ``interval``: ``steps`` 1 to 50 (40),
  ``guidance`` 1.5 to 5 (2.5), ``image_prompt``, ``width``/``height``,
  ``prompt_upsampling``, ``seed``, ``safety_tolerance``, ``output_format``.
- FLUX1.1 [pro] Ultra with a finetune ``POST /v1/flux-pro-1.1-ultra-finetuned``
  (``FinetuneFluxUltraInput``, the API reference page "Generate an image
  with FLUX 1.1 [pro] finetune with ultra mode"): ``finetune_id``
  (required; "Name of the LoRA to use. For LoRAs from other organizations
  (public or shared), use the format 'org-id/lora-name'"),
  ``finetune_strength`` 0 to 2 (1.2), then Ultra's fields without ``raw``
  (the page lists none). Finetunes are served only from the regional
  endpoint they were trained at, ``api.us1.bfl.ai`` or ``api.eu1.bfl.ai``
  ("Cross-region inference will not find your finetuned model",
  docs.bfl.ai/finetuning).
- FLUX.1 Kontext [pro] and [max] ``POST /v1/flux-kontext-pro`` and
  ``/v1/flux-kontext-max`` (``FluxKontextProInputs``, one class for both):
  ``prompt`` (required), ``input_image`` (base64 or an http(s) URL; the SDK's
  ``_images.py``), ``aspect_ratio`` between 21:9 and 9:21, "the input image's
  ratio" when not sent, ``seed``, ``safety_tolerance`` 0 to 6 ("Limit of 2
  for Image to Image": at most 2 with an input image, refused above),
  ``prompt_upsampling``; and ``input_image_2`` to ``_4``, "Base64 encoded
  image or URL to use with Kontext. *Experimental Multiref*" (the API
  reference pages "Edit or create an image with Flux Kontext Pro" and "...
  Max", docs.bfl.ml/api-reference; not in the mid-2025 copy, added since):
  fluxpanel's ``more_images``, sent only with an input image. Marked legacy
  ("For new integrations, use FLUX.2 [pro]") and still served.
- FLUX.1 Fill [pro] ``POST /v1/flux-pro-1.0-fill`` (``FluxProFillInputs``;
  the route "using an input image and mask. Mask can be applied to alpha
  channel or submitted as a separate image"): ``image`` (required, base64,
  "Can contain alpha mask"), ``mask`` (base64, "the same dimensions as the
  image ... black areas ... no modification, white areas ... inpainting";
  "Optional if you provide an alpha mask in the original image"; "The
  endpoint verifies that the dimensions of the mask match"), ``prompt``
  (optional, ""), ``steps`` 15 to 50 (50), ``guidance`` 1.5 to 100 (60),
  ``seed``, ``safety_tolerance`` 0 to 6, ``prompt_upsampling``. fluxpanel
  asks for a mask unless the image has transparent areas (checked before
  sending). Legacy, still served.
- FLUX.1 Expand [pro] ``POST /v1/flux-pro-1.0-expand``
  (``FluxProExpandInputs``; "Expand an image by adding pixels on any side"):
  ``image`` (required, base64), ``top``, ``bottom``, ``left``, ``right`` 0
  to 2048 (0), ``prompt`` (optional, default ""), ``steps`` 15 to 50 (50),
  ``guidance`` 1.5 to 100 (60), ``prompt_upsampling``, ``seed``,
  ``output_format``, ``safety_tolerance`` 0 to 6 (2). Legacy ("replaced by
  the FLUX Tools" in the SDK's 0.2.0 changelog), still documented. No price
  was found for it.
- FLUX Erase ``POST /v1/flux-tools/erase-v1`` (``Flux2EraseInputs``; "Erase
  an object from an image", and the guide docs.bfl.ml/flux_erase): ``image``
  and ``mask`` (both required, base64 or an http(s) URL; "White pixels
  indicate the object to remove; black pixels are preserved. Must have the
  same dimensions as the input image"), ``dilate_pixels`` 0 to 25 (10),
  ``seed``, ``safety_tolerance`` 0 to 5 (2), ``output_format`` jpeg, png or
  webp. No prompt ("the model uses a built-in erase instruction"); a prompt
  sent is an unknown field.
- FLUX Deblur ``POST /v1/flux-tools/deblur-v1`` (``Flux2DeblurInputs``; the
  SDK's ``DeblurParams`` in ``src/bfl/_models.py``, "No prompt or mask: the
  server sharpens the entire image with a fixed instruction"): ``image``
  (required, base64 or URL, "Max 4MP": larger inputs are scaled down first),
  ``seed``, ``safety_tolerance`` 0 to 5 (2), ``output_format``. The result
  has the input's size.
- FLUX Virtual Try-On ``POST /v1/flux-tools/vto-v1``
  (``Flux2KleinTryonInputs``; the SDK's ``VtoParams``): ``prompt``
  (required, the styling), ``person`` and ``garment`` (required, base64 or
  URL; "The server maps person to input_image and garment to
  input_image_2"), ``seed``, ``safety_tolerance`` (0 to 5 for public use:
  "Values 6-7 require an allowlisted organization"), ``output_format``.
- FLUX Outpainting ``POST /v1/flux-tools/outpainting-v1``
  (``FluxOutpaintingInputs``; "Outpaint or extend an image", and the SDK's
  ``OutpaintParams``): "The input image is placed on a (width, height)
  canvas at the given offset, and the surrounding region is generated".
  ``input_image`` (required, base64 or URL), ``width`` and ``height``
  (required, at least 64; "width*height must be <= 4MP": fluxpanel allows 64
  to 2048 a side), ``reference_offset_x`` and ``_y`` (the image's top-left
  corner, "Negative values are allowed. None = center"; fluxpanel's
  ``placement`` chooses centred or custom and is not sent), ``auto_crop``
  ("If False, an error is raised instead" when the image runs past the
  canvas: refused before sending here too), ``mode`` high or fast (high),
  ``prompt`` ("Experimental: optional text guidance"; not sent when empty),
  ``safety_tolerance`` 0 to 5, ``output_format``. No seed and no webhook
  fields ("Outpainting is extra=forbid").
- FLUX.2 [pro], [max] and [flex] ``POST /v1/flux-2-pro``, ``/v1/flux-2-max``,
  ``/v1/flux-2-flex`` (``Flux2FlexInputs``; the SDK's ``_models.py`` for pro
  and max): ``prompt`` ("up to 32K tokens", the skills repository's
  ``endpoints.md``), ``input_image`` and ``input_image_2`` to ``_8``
  (base64 or URL; at most 8 references, ``_catalog.py``),
  ``width``/``height`` at least 64, multiples of 16, at most 4 megapixels
  together, no side limited on its own ("0 = model chooses", matching the
  input; fluxpanel offers sides up to 4096, so 4096 x 1024 but not 2048 x
  4096), ``seed``, ``safety_tolerance``
  0 to 5 (2); [flex] adds ``steps`` 1 to 50 (50), ``guidance`` 1.5 to 10 (5)
  and ``prompt_upsampling`` (default true). [pro] and [max] take
  ``disable_pup`` instead, its opposite (black-forest-labs/blackforest's
  ``_requests.py``, ``_translate_flux2_upsampling``: "[pro] / [max] accept
  disable_pup (the inverse), not prompt_upsampling"): the panel's *Prompt
  upsampling* switch, on by default as at [flex] (Comfy Router's schema for
  ``bfl/flux-2-max`` gives its switch a default of true). FLUX.2 [klein] 4B and 9B ``POST
  /v1/flux-2-klein-4b`` and ``/v1/flux-2-klein-9b`` (``Flux2KleinInputs``,
  "Input model for FLUX.2 Klein (non-base) - like Pro but max 4 images", on
  the API reference pages for 4B and for the 9B preview): the same fields
  with ``input_image`` to ``input_image_4``, and no prompt upsampling. The
  SDK's ``_catalog.py`` gives 9B five references, but the published schema
  has no ``input_image_5`` and the endpoints refuse unknown fields, so
  fluxpanel sends at most four to either.
- FLUX 3 Image ``POST /v1/flux-3-image`` (the API reference "Generate an
  image with FLUX 3", ``openapi/flux-3-image.json``; the guides
  docs.bfl.ai/flux_3/flux3_image_generate, _overview, _layout and
  _bounding_boxes): "Only prompt is required"; ``images``, one string or a
  list of 1 to 10 (http(s) URL or base64; "each image must be at least
  256x256 pixels and at most 16 megapixels, with a base64 payload at most 20
  MB"); ``aspect_ratio`` auto, 21:9, 2:1, 16:9, 3:2, 7:5, 4:3, 5:4, 1:1,
  4:5, 3:4, 5:7, 2:3, 9:16, 1:2, 9:21 (default auto: "auto follows the first
  reference image when one is present"); ``resolution`` 768sq, 1k, 1.5k,
  2k, 4k (1k); ``grounding`` (true); ``safety_tolerance`` 0 to 4 (2);
  ``version`` ("latest"; not sent). "The endpoint rejects unknown fields
  with HTTP 422, so fields from other BFL endpoints, such as seed, width,
  and input_image, don't work here": no seed, no ``output_format``. Boxes
  are written into the prompt (:mod:`fluxpanel._boxes`).
- FLUX 3 Image Klein ``POST /v1/flux-3-image-klein`` (docs.bfl.ai/flux_3/flux3_image_klein,
  linked from vercel.com/ai-gateway/models/flux-3-image-klein, "five
  resolution classes from 768 x 768 to 4K"; the open model's README,
  github.com/black-forest-labs/flux-3-image-klein: up to 10 references and
  boxes). Its path is known only by the pattern of FLUX 3 Image's, and its
  fields from a reseller's reading (docs.laozhang.ai, flux-3-image: "the two
  models take exactly the same request fields"); the fake follows the same.
  Safety tolerance: 0 to 4, as BFL's own schema for FLUX 3 Image says;
  vercel/ai ``@ai-sdk/black-forest-labs@2.0.63`` speaks of "the documented
  0-7 range for FLUX 3 Image models", which no page of BFL's found says.
- FLUX 3.1 Image ``POST /v1/flux-3.1-image`` (released 2026-12-03). Boxes
  and mask from Black Forest Labs' guides (docs.bfl.ai/flux_3_1/
  flux31_image_bounding_boxes and _edit), the other fields from
  docs.comfy.org's page for ``bfl/flux-3.1-image`` (generated from the
  host's schema; its en, zh, ja, ko and ru copies agree), the path only by
  the pattern of ``/v1/flux-3-image``; the fake follows the same. ``prompt``;
  ``mode`` fast | quality (quality); ``images`` 1 to 10 ("at most nine with
  a mask"), each at most 20 MB; ``mask`` ("matching the aspect ratio of
  images[0] ... White marks what can change, black is composited verbatim");
  ``bounding_boxes`` ("1 to 32 entries": a unique ``id``, ``[y_min, x_min,
  y_max, x_max]`` from 0 to 1, an optional ``desc``; ``bbox`` on a new
  image; with ``images``, ``from`` ``target`` or ``ref_image_N`` and
  ``tgt_bbox``, and ``src_bbox`` to move one, a 422 with ``from: target``;
  Comfy Router's schema says ``boxes`` and ``name``); ``aspect_ratio`` auto
  (chosen from the prompt), match_first_image and FLUX 3's fifteen;
  ``resolution`` presets (vercel/ai 1.0.82: "megapixel, 1k/2k/4k and
  video-frame presets", unlisted; fluxpanel offers 1k, 2k, 4k and, from BFL's
  edit guide, ``match_first_image``: "Set resolution and aspect_ratio to
  match_first_image to keep the input image's dimensions"); ``width`` and
  ``height`` together "override aspect_ratio and resolution, up to 16 MP and
  8:1"; ``grounding``
  off | auto | force (off; fluxpanel's ``search``, FLUX 3's ``grounding``
  being a switch). No ``seed`` or ``steps`` ("the endpoint rejects" them,
  vercel/ai's release notes), and no safety tolerance or output format.
- Input images (the SDK's ``GenericImageValidation``): at most 20 MB of
  base64 (15 MB of image), 20 megapixels, 256 px a side; JPEG, PNG or WebP.
  Sent as bare base64, as the SDK sends them.
- Prices (docs.bfl.ai/quick_start/pricing): see :mod:`fluxpanel.tables._family`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .._inputs import ImageLimits
from .._sizes import BY_PIXELS, GROWN_IMAGE, KEEPS_IMAGE, ULTRA
from .._spec import Caveat, ModelSpec, ParamSpec, Wire, check_table
from ._flux3 import FLUX3_RESOLUTION, GROUNDING, flux3_image, flux31_image
from ._params import (
    FILL_PROMPT,
    FLUX2_PROMPT,
    IMAGE_PROMPT_STRENGTH,
    MATCH_INPUT,
    OPTIONAL_PROMPT,
    PROMPT,
    PROMPT_UPSAMPLING,
    RATIOS,
    RAW,
    REGIONAL,
    SEED,
    TRY_ON_PROMPT,
    UPSAMPLING_VARIES,
    choice,
    erase_inputs,
    expand_inputs,
    fill_inputs,
    finetune,
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

#: How Black Forest Labs' endpoints are spelt unless a row says otherwise:
#: one task per image (``num_images`` is fluxpanel's), the size mode and the
#: placement are fluxpanel's own, "match the input" is a ratio not sent, a
#: list of images is spread over ``input_image``, ``input_image_2``, ...,
#: and originals come back lossless.
WIRE = Wire(
    omit=frozenset({"num_images", "image_size", "placement"}),
    unset={"aspect_ratio": (MATCH_INPUT,)},
    extra={"output_format": "png"},
    spread="input_image",
)


def at(endpoint: str, **changes: Any) -> Wire:
    """The spelling of the endpoint at ``endpoint`` (``/v1/flux-dev``)."""
    return dataclasses.replace(WIRE, route=endpoint, **changes)


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
    (MATCH_INPUT, *RATIOS),
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


#: Where a finetune's id and strength go.
FINETUNED = (("finetune_id", "finetune_strength"),)


def _flux1(id: str, endpoint: str, *params: ParamSpec, tuned: ParamSpec | None = None) -> ModelSpec:
    """FLUX.1 and FLUX1.1: the prompt (and a ``tuned`` model's finetune), a
    batch of tasks, the host's tolerance and prompt upsampling."""
    return model(
        id,
        PROMPT,
        *((tuned,) if tuned else ()),
        _IMAGES,
        *params,
        safety_tolerance(2, 0, 6),
        PROMPT_UPSAMPLING,
        caveats=(REGIONAL, UPSAMPLING_VARIES) if tuned else (UPSAMPLING_VARIES,),
        batch_seeds="each",
        size=BY_PIXELS,
        wire=at(endpoint, pairs=FINETUNED if tuned else ()),
    )


#: FLUX.2's sides: any multiple of 16 from 64 whose image is at most 4
#: megapixels (no side of its own is limited: 4096 x 1024 is allowed).
_FLUX2_WIDTH = size("width", 64, 4096, 16, 1024, _CUSTOM)
_FLUX2_HEIGHT = dataclasses.replace(
    size("height", 64, 4096, 16, 1024, _CUSTOM), area_with=("width", 4, 64)
)


def _flux2(
    id: str,
    endpoint: str,
    *extra: ParamSpec,
    caveats: tuple = (),
    most: int = 8,
    negate: Mapping[str, str] = MappingProxyType({}),
) -> Any:
    return model(
        id,
        FLUX2_PROMPT,
        _IMAGES,
        references(_LIMITS, most),
        _SIZE_MODE,
        _FLUX2_WIDTH,
        _FLUX2_HEIGHT,
        SEED,
        *extra,
        safety_tolerance(2, 0, 5),
        caveats=caveats,
        batch_seeds="each",
        size=BY_PIXELS,
        wire=at(endpoint, negate=negate),
    )


#: FLUX.2 [pro] and [max] upsample the prompt unless sent ``disable_pup``.
_UPSAMPLED = {
    "caveats": (UPSAMPLING_VARIES,),
    "negate": MappingProxyType({"prompt_upsampling": "disable_pup"}),
}


def _kontext(id: str, endpoint: str) -> ModelSpec:
    return model(
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
        wire=at(endpoint),
    )


def _tool(id: str, endpoint: str, *inputs: ParamSpec, **kw: Any) -> Any:
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
        wire=at(endpoint),
        **kw,
    )


# 256 px a side, 16 megapixels, 20 MB of base64 (15 MB of image) each.
_FLUX3_LIMITS = ImageLimits(
    ("jpeg", "png", "webp"), max_bytes=15_000_000, max_megapixels=16, min_side=256
)


def _flux3(endpoint: str, **kw: Any) -> ModelSpec:
    """FLUX 3 Image (or Klein) here: it refuses every field it does not list
    (no output_format), and its references are one list, ``images``."""
    return flux3_image(
        _FLUX3_LIMITS,
        FLUX3_RESOLUTION,
        GROUNDING,
        safety_tolerance(2, 0, 4),
        wire=at(endpoint, names={"input_images": "images"}, extra={}, spread=""),
        **kw,
    )


#: Said with FLUX 3 Image Klein, whose request is known second-hand.
KLEIN_FROM_RESELLER = Caveat(
    "FLUX 3 Image Klein's address and fields at Black Forest Labs are known from the "
    "FLUX 3 Image they share, as a reseller documents it; a change at the host may show "
    "first as a refused request.",
    varies=False,
)

#: Said with FLUX 3.1 Image, whose request is known in part from a mirror.
FLUX31_FROM_MIRROR = Caveat(
    "FLUX 3.1 Image's boxes and mask follow Black Forest Labs' guides, its other fields a "
    "reseller's page made from its schema, its address FLUX 3 Image's pattern: a change "
    "at the host may show first as a refused request.",
    varies=False,
)

MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "flux_dev": _flux1(
            "flux_dev",
            "/v1/flux-dev",
            _WIDTH,
            _HEIGHT,
            SEED,
            steps(28, 50),
            guidance(3.0, 1.5, 5),
        ),
        "flux_pro": _flux1(
            "flux_pro",
            "/v1/flux-pro",
            _WIDTH,
            _HEIGHT,
            SEED,
            steps(40, 50),
            guidance(2.5, 1.5, 5),
            interval(),
        ),
        "flux_pro_finetuned": _flux1(
            "flux_pro_finetuned",
            "/v1/flux-pro-finetuned",
            _IMAGE_PROMPT,
            _WIDTH,
            _HEIGHT,
            SEED,
            steps(40, 50),
            guidance(2.5, 1.5, 5),
            tuned=finetune(0, 2, 1.1),
        ),
        "flux_pro_1_1": _flux1(
            "flux_pro_1_1", "/v1/flux-pro-1.1", _IMAGE_PROMPT, _WIDTH, _HEIGHT, SEED
        ),
        "flux_pro_1_1_ultra": model(
            "flux_pro_1_1_ultra",
            PROMPT,
            _IMAGES,
            choice("aspect_ratio", "Aspect ratio", "Shape of the image.", RATIOS, "16:9"),
            RAW,
            _IMAGE_PROMPT,
            IMAGE_PROMPT_STRENGTH,
            SEED,
            safety_tolerance(2, 0, 6),
            PROMPT_UPSAMPLING,
            caveats=(UPSAMPLING_VARIES,),
            batch_seeds="each",
            size=ULTRA,
            wire=at("/v1/flux-pro-1.1-ultra"),
        ),
        "flux_pro_1_1_ultra_finetuned": model(
            "flux_pro_1_1_ultra_finetuned",
            PROMPT,
            finetune(0, 2, 1.2),
            _IMAGES,
            choice("aspect_ratio", "Aspect ratio", "Shape of the image.", RATIOS, "16:9"),
            _IMAGE_PROMPT,
            IMAGE_PROMPT_STRENGTH,
            SEED,
            safety_tolerance(2, 0, 6),
            PROMPT_UPSAMPLING,
            caveats=(REGIONAL, UPSAMPLING_VARIES),
            batch_seeds="each",
            size=ULTRA,
            wire=at("/v1/flux-pro-1.1-ultra-finetuned", pairs=FINETUNED),
        ),
        "flux_kontext_pro": _kontext("flux_kontext_pro", "/v1/flux-kontext-pro"),
        "flux_kontext_max": _kontext("flux_kontext_max", "/v1/flux-kontext-max"),
        "flux_fill_pro": _tool(
            "flux_fill_pro",
            "/v1/flux-pro-1.0-fill",
            FILL_PROMPT,
            _IMAGES,
            *fill_inputs(_LIMITS, alpha=True),
            size=KEEPS_IMAGE,
        ),
        "flux_expand_pro": _tool(
            "flux_expand_pro",
            "/v1/flux-pro-1.0-expand",
            OPTIONAL_PROMPT,
            _IMAGES,
            *expand_inputs(_LIMITS, 2048),
            size=GROWN_IMAGE,
        ),
        "flux_erase": model(
            "flux_erase",
            _IMAGES,
            *erase_inputs(_LIMITS, 25, urls=True),
            SEED,
            safety_tolerance(2, 0, 5),
            batch_seeds="each",
            size=KEEPS_IMAGE,
            wire=at("/v1/flux-tools/erase-v1"),
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
            ),
            SEED,
            safety_tolerance(2, 0, 5),
            batch_seeds="each",
            size=KEEPS_IMAGE,
            wire=at("/v1/flux-tools/deblur-v1"),
        ),
        "flux_vto": model(
            "flux_vto",
            TRY_ON_PROMPT,
            _IMAGES,
            *try_on_inputs(_LIMITS, _LIMITS, urls=True),
            SEED,
            safety_tolerance(2, 0, 5),
            batch_seeds="each",
            wire=at("/v1/flux-tools/vto-v1"),
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
            size=BY_PIXELS,
            # "Leave unset for default behavior": an empty prompt is not sent.
            wire=at("/v1/flux-tools/outpainting-v1", empty=frozenset({"prompt"})),
        ),
        "flux_2_pro": _flux2("flux_2_pro", "/v1/flux-2-pro", prompt_upsampling(True), **_UPSAMPLED),
        "flux_2_max": _flux2("flux_2_max", "/v1/flux-2-max", prompt_upsampling(True), **_UPSAMPLED),
        # [klein]: four references (Flux2KleinInputs), no prompt upsampling
        "flux_2_klein_4b": _flux2("flux_2_klein_4b", "/v1/flux-2-klein-4b", most=4),
        "flux_2_klein_9b": _flux2("flux_2_klein_9b", "/v1/flux-2-klein-9b", most=4),
        "flux_2_flex": _flux2(
            "flux_2_flex",
            "/v1/flux-2-flex",
            steps(50, 50),
            guidance(5, 1.5, 10),
            prompt_upsampling(True),
            caveats=(UPSAMPLING_VARIES,),
        ),
        "flux_3_image": _flux3("/v1/flux-3-image"),
        "flux_3_1_image": flux31_image(
            _FLUX3_LIMITS,
            wire=at(
                "/v1/flux-3.1-image",
                names={"input_images": "images", "search": "grounding", "boxes": "bounding_boxes"},
                unset={"resolution": ("custom",)},
                extra={},
                spread="",
            ),
            caveats=(FLUX31_FROM_MIRROR,),
        ),
        "flux_3_image_klein": _flux3(
            "/v1/flux-3-image-klein", id="flux_3_image_klein", caveats=(KLEIN_FROM_RESELLER,)
        ),
    }
)
check_table(MODELS)
