"""fal's FLUX models: one row per model (its parameters, routes, spelling,
size rule, price and status).

Where each rule comes from (the input types fal generates from its registry
into fal-ai/fal-js, ``libs/client/src/types/endpoints.ts``:
``FluxSchnellInput``, ``FluxDevInput`` at 381105e, 2026-08-02, and
``FluxProNewInput`` at 9830f25, 2026-04-07; the model pages
fal.ai/models/<route> for ranges):

- Routes: FLUX.1 [schnell] ``fal-ai/flux/schnell``, [dev] ``fal-ai/flux/dev``,
  [pro] ``fal-ai/flux-pro/new`` ("FLUX.1 [pro] new is an accelerated version
  of FLUX.1 [pro]"; the 2026-08 types no longer list it, the model page
  still does). Each row names its route (and the route it takes with
  input images).
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

LoRAs and finetunes (fal-js ``types/endpoints.ts`` at 381105e):

- FLUX.1 [dev] with LoRAs ``fal-ai/flux-lora`` (``FluxLoraInput``, and the
  API reference fal.ai/docs/model-api-reference/image-generation-api/flux-lora
  for the ranges): ``loras``, a list of ``LoraWeight`` ``{path, scale}``
  ("URL or path to a LoRA safetensors file. Or HF model name"; scale
  default 1; "You can use any number of LoRAs and they will be merged
  together"), ``image_size``, ``num_inference_steps`` 1 to 50 (28),
  ``guidance_scale`` 0 to 35 (3.5), ``num_images`` 1 to 4,
  ``acceleration`` none or regular (none), ``enable_safety_checker``,
  ``output_format``, ``seed``, ``sync_mode``. fal gives no range for a
  scale: fluxpanel keeps 0 to 4 (what a client generated from fal's API
  JSON states, a lead rather than fal's word) and at most five LoRAs.
- FLUX1.1 [pro] Ultra with a finetune ``fal-ai/flux-pro/v1.1-ultra-finetuned``
  (``FluxProV11UltraFinetunedInput``): Ultra's fields with ``finetune_id``
  and ``finetune_strength`` (both required; no range or default given:
  fluxpanel keeps Black Forest Labs' 0 to 2, default 1.2).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .._inputs import ImageLimits
from .._sizes import FAL_SIZES, KEEPS_IMAGE, ULTRA, Named
from .._spec import ModelSpec, ParamSpec, Wire, check_table
from ._flux3 import flux3_image
from ._params import (
    FLUX2_PROMPT,
    HOST_FETCHES,
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
    aspect_ratio,
    choice,
    erase_inputs,
    fill_inputs,
    finetune,
    guidance,
    image,
    image_prompt,
    loras,
    model,
    more_images,
    references,
    safety_tolerance,
    steps,
    try_on_inputs,
)

#: How fal's apps are spelt unless a row says otherwise: its own names for
#: steps, guidance, the safety checker, prompt expansion and image URLs; a
#: ratio that follows the input is not sent; the tolerance is a string
#: ("1" to "6"); originals come back lossless.
WIRE = Wire(
    names={
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
    },
    unset={"aspect_ratio": (MATCH_INPUT, "auto")},
    text=frozenset({"safety_tolerance"}),
    extra={"output_format": "png"},
)


def app(route: str, edit: str = "", *, names: Mapping[str, str] = {}, **changes: Any) -> Wire:
    """The spelling of fal's app at ``route`` (and at ``edit`` with input
    images); ``names`` adds to or changes fal's usual names."""
    return dataclasses.replace(
        WIRE, route=route, edit=edit, names={**WIRE.names, **names}, **changes
    )


#: Sizes by fal's names, sent as ``image_size``.
NAMED = {"aspect_ratio": "image_size"}
_SIZES = tuple(FAL_SIZES)
_NAMED_SIZE = Named(FAL_SIZES)
_ASPECT = aspect_ratio(
    _SIZES,
    "landscape_4_3",
    "Image size",
    "Shape and size of the image, as fal names them (square_hd is 1024 x 1024).",
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


def _kontext(id: str, route: str) -> ModelSpec:
    """Kontext [pro] or [max]: from the prompt alone on ``route``/text-to-image,
    an edit on ``route``, with more images on ``route``/multi (every image
    in ``image_urls``)."""
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
        wire=app(f"{route}/text-to-image", route, multi=f"{route}/multi"),
    )


def _flux2(id: str, route: str, *extra: ParamSpec) -> ModelSpec:
    return model(
        id,
        FLUX2_PROMPT,
        references(_LIMITS, 8),
        _FLUX2_SIZE,
        SEED,
        *extra,
        safety_tolerance(2, 1, 5),
        SAFETY_CHECKER,
        size=_NAMED_SIZE,
        wire=app(route, f"{route}/edit", names=NAMED),
    )


def _klein(id: str, route: str) -> ModelSpec:
    """FLUX.2 [klein] at fal: a batch of up to four, 4 to 8 steps, up to four
    references, no safety tolerance."""
    return model(
        id,
        FLUX2_PROMPT,
        NUM_IMAGES,
        references(_LIMITS, 4),
        _FLUX2_SIZE,
        SEED,
        steps(4, 8, 4),
        SAFETY_CHECKER,
        size=_NAMED_SIZE,
        wire=app(route, f"{route}/edit", names=NAMED),
    )


def _ultra(id: str, route: str, *first: ParamSpec, **wire: Any) -> ModelSpec:
    """FLUX1.1 [pro] Ultra at ``route`` (``first``: its finetune, where it takes one)."""
    return model(
        id,
        PROMPT,
        *first,
        NUM_IMAGES,
        choice("aspect_ratio", "Aspect ratio", "Shape of the image.", _RATIOS, "16:9"),
        RAW,
        image_prompt(_LIMITS, urls=True),
        IMAGE_PROMPT_STRENGTH,
        SEED,
        _TOLERANCE,
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
        size=ULTRA,
        wire=app(route, **wire),
    )


def _named(id: str, route: str, *params: ParamSpec, **kw: Any) -> ModelSpec:
    """A FLUX.1 model sized by fal's names."""
    return model(id, *params, size=_NAMED_SIZE, wire=app(route, names=NAMED), **kw)


MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "flux_schnell": _named(
            "flux_schnell",
            "fal-ai/flux/schnell",
            PROMPT,
            NUM_IMAGES,
            _ASPECT,
            SEED,
            steps(4, 12),
            _ACCELERATION,
            SAFETY_CHECKER,
        ),
        "flux_dev": _named(
            "flux_dev",
            "fal-ai/flux/dev",
            PROMPT,
            NUM_IMAGES,
            _ASPECT,
            SEED,
            steps(28, 50),
            guidance(3.5, 1, 20),
            _ACCELERATION,
            SAFETY_CHECKER,
        ),
        # FLUX.1 [dev] with LoRAs: guidance 0 to 35, acceleration none or regular.
        "flux_dev_lora": _named(
            "flux_dev_lora",
            "fal-ai/flux-lora",
            PROMPT,
            loras(5, 0, 4),
            NUM_IMAGES,
            _ASPECT,
            SEED,
            steps(28, 50),
            guidance(3.5, 0, 35),
            dataclasses.replace(_ACCELERATION, choices=("none", "regular")),
            SAFETY_CHECKER,
            caveats=(HOST_FETCHES,),
        ),
        "flux_pro": _named(
            "flux_pro",
            "fal-ai/flux-pro/new",
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
        "flux_pro_1_1": _named(
            "flux_pro_1_1",
            "fal-ai/flux-pro/v1.1",
            PROMPT,
            NUM_IMAGES,
            _ASPECT,
            SEED,
            _TOLERANCE,
            PROMPT_UPSAMPLING,
            caveats=(UPSAMPLING_VARIES,),
        ),
        "flux_pro_1_1_ultra": _ultra("flux_pro_1_1_ultra", "fal-ai/flux-pro/v1.1-ultra"),
        "flux_pro_1_1_ultra_finetuned": _ultra(
            "flux_pro_1_1_ultra_finetuned",
            "fal-ai/flux-pro/v1.1-ultra-finetuned",
            finetune(0, 2, 1.2),
            pairs=(("finetune_id", "finetune_strength"),),
        ),
        "flux_kontext_pro": _kontext("flux_kontext_pro", "fal-ai/flux-pro/kontext"),
        "flux_kontext_max": _kontext("flux_kontext_max", "fal-ai/flux-pro/kontext/max"),
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
            wire=app("fal-ai/flux-kontext/dev"),
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
            size=KEEPS_IMAGE,
            wire=app("fal-ai/flux-pro/v1/fill"),
        ),
        "flux_erase": model(
            "flux_erase",
            *erase_inputs(_LIMITS, 100, urls=True),
            size=KEEPS_IMAGE,
            wire=app("fal-ai/flux-pro/v1/erase"),
        ),
        "flux_vto": model(
            "flux_vto",
            TRY_ON_PROMPT,
            *try_on_inputs(
                dataclasses.replace(_LIMITS, max_megapixels=2),
                dataclasses.replace(_LIMITS, max_megapixels=1),
                urls=True,
            ),
            SEED,
            wire=app("fal-ai/flux-pro/v1/vto"),
        ),
        "flux_2_pro": _flux2("flux_2_pro", "fal-ai/flux-2-pro"),
        "flux_2_max": _flux2("flux_2_max", "fal-ai/flux-2-max"),
        # fal's defaults (28 steps, guidance 3.5); its types give no range, so
        # the model's own at Black Forest Labs (1 to 50, 1.5 to 10).
        "flux_2_flex": _flux2(
            "flux_2_flex", "fal-ai/flux-2-flex", steps(28, 50), guidance(3.5, 1.5, 10)
        ),
        # FLUX.2 [dev]: fal's acceleration on by default ("regular"), four
        # references, prompt expansion named enable_prompt_expansion.
        "flux_2_dev": model(
            "flux_2_dev",
            FLUX2_PROMPT,
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
            size=_NAMED_SIZE,
            wire=app(
                "fal-ai/flux-2",
                "fal-ai/flux-2/edit",
                names={**NAMED, "prompt_upsampling": "enable_prompt_expansion"},
            ),
        ),
        "flux_2_klein_4b": _klein("flux_2_klein_4b", "fal-ai/flux-2/klein/4b"),
        "flux_2_klein_9b": _klein("flux_2_klein_9b", "fal-ai/flux-2/klein/9b"),
        # Its published schema has no output_format: none is sent.
        "flux_3_image": flux3_image(
            ImageLimits(_LIMITS.formats, max_megapixels=4, min_side=256),
            wire=app(
                "blackforestlabs/flux-3/text-to-image",
                "blackforestlabs/flux-3/edit-image",
                extra={},
            ),
        ),
    }
)
check_table(MODELS)
