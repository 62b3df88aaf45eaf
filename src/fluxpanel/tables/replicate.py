"""Replicate's official FLUX models: one row per model (its parameters,
slug, spelling, size rule, price and status).

Where each rule comes from (each model's version page,
replicate.com/black-forest-labs/<model>/versions/<id>/api, and for the
cog-run models replicate/cog-flux):

- flux-schnell and flux-dev run replicate/cog-flux (``predict.py``, the
  ``SchnellPredictor`` and ``DevPredictor`` inputs): ``aspect_ratio`` one of
  the eleven ratios of ``ASPECT_RATIOS`` (default 1:1), ``num_outputs`` 1 to
  4, ``num_inference_steps`` 1 to 4 (default 4) and 1 to 50 (default 28),
  ``guidance`` 0 to 10 (default 3, dev), ``megapixels`` "1" or "0.25",
  ``disable_safety_checker`` (false), ``go_fast`` (true), ``seed``,
  ``output_format`` webp, jpg or png. The output is a list of URLs.
- Determinism (the models' pages, replicate.com/black-forest-labs/flux-schnell):
  ``go_fast`` "Run faster predictions with model optimized for speed
  (currently fp8 quantized) ... Note that outputs will not be deterministic
  when this is enabled, even if you set a seed." Seeds (cog-flux
  ``bf16_predict``): ``if not seed`` draws a random one, so 0 is no seed
  here and seeds start at 1; one seed makes the whole batch
  (``get_noise(num_outputs, ..., seed=seed)``).
- flux-dev-lora runs cog-flux's ``DevLoraPredictor``: flux-dev's inputs
  with ``lora_weights`` ("Replicate models in the format <owner>/<username>
  ..., HuggingFace URLs ..., CivitAI URLs ..., or arbitrary .safetensors
  URLs from the Internet, including signed URLs") and ``lora_scale``, then
  ``extra_lora`` and ``extra_lora_scale`` (each scale -1 to 3, default 1;
  "For go_fast we apply a 1.5x multiplier"): two LoRAs at most.
- flux-pro is run by Black Forest Labs (its version page, and the
  flux-1.1-pro version 96ccd0e7 that shares its schema): ``aspect_ratio``
  one of custom, 1:1, 16:9, 3:2, 2:3, 4:5, 5:4, 9:16, 3:4, 4:3 (default
  1:1); ``width``/``height`` 256 to 1440 "only used when
  aspect_ratio=custom. Must be a multiple of 32"; ``steps`` 1 to 50 (25)
  and ``interval`` 1 to 4 (2), both marked deprecated; ``guidance`` 2 to 5
  (3); ``safety_tolerance`` 1 to 6 (2); ``prompt_upsampling`` (false);
  ``seed``; ``output_format`` webp, jpg or png. The output is one URL.
- flux-1.1-pro (version 96ccd0e7, the flux-pro schema without steps,
  guidance and interval): ``image_prompt`` (an image), ``aspect_ratio`` as
  flux-pro with ``custom`` width and height, ``safety_tolerance`` 1 to 6,
  ``prompt_upsampling``, ``seed``. Its other version page, a91bed9b, has no
  ``image_prompt``, sides in multiples of 16 and a tolerance of 1 to 5; the
  live schema as a reseller compiled it (lumenfall.ai/models/
  black-forest-labs/flux1.1-pro/llms.txt: ``image_prompt`` "Only available
  via replicate", sides "a multiple of 32") is 96ccd0e7's.
- flux-1.1-pro-ultra (versions 5ea10f73 and 352185db; known from a
  schema-generated mirror of Replicate's own ``openapi_schema``, nodetool-ai/
  nodetool ``src/nodetool/nodes/replicate/image/generate.py``, class
  ``Flux_1_1_Pro_Ultra``, not from a Replicate page): ``prompt``,
  ``aspect_ratio`` 21:9, 16:9, 3:2, 4:3, 5:4, 1:1, 4:5, 3:4, 2:3, 9:16, 9:21
  (default 1:1), ``raw`` (false), ``image_prompt`` (jpeg, png, gif, webp) with
  ``image_prompt_strength`` 0 to 1 (0.1), ``safety_tolerance`` 1 to 6 (2),
  ``seed``, ``output_format`` jpg or png. No width, height or batch; one URL.
- flux-pro-finetuned (3412257f) and flux-1.1-pro-ultra-finetuned (1ab8454c),
  run by Black Forest Labs: ``finetune_id`` ("Only IDs from trainings made
  using Replicate's Flux Pro fine-tuning model are supported") and
  ``finetune_strength`` (0 to 2, default 1), then flux-pro's fields without
  ``interval`` (``steps`` 1 to 50, default 40; ``guidance`` 2 to 5, 3;
  ``image_prompt``; ``aspect_ratio`` with ``custom`` width and height;
  ``prompt_upsampling``; ``safety_tolerance`` 1 to 6) and flux-1.1-pro-ultra's
  (its eleven ratios, default 1:1; ``raw``; ``image_prompt`` and its
  strength; ``safety_tolerance`` 1 to 6). The page lists no ratios for
  flux-pro-finetuned: fluxpanel offers flux-pro's.
- flux-kontext-pro (0a138193) and flux-kontext-max (b94039e5): ``prompt``,
  ``input_image``, ``aspect_ratio`` (default ``match_input_image``; the
  version pages list no ratios: the cog ratios and 2:1 and 1:2, as
  Replicate's own Kontext app flux-kontext-apps/multi-image-kontext-pro
  (6d14f9b3) lists them and a reseller's copy of flux-kontext-pro's schema,
  docs.kkiai.com, does),
  ``seed``, ``prompt_upsampling``, ``safety_tolerance`` 0 to 6 (2; "2 is
  currently the maximum allowed when input images are used": refused above
  2 with an input image).
- flux-kontext-dev (a1408d2c): ``input_image`` (required), ``aspect_ratio``
  (``match_input_image``), ``num_inference_steps`` 4 to 50 (30),
  ``guidance`` 0 to 10 (2.5), ``seed``, ``go_fast``,
  ``disable_safety_checker``.
- flux-fill-pro (9609ba73): ``image`` ("Can contain an alpha mask"),
  ``mask`` ("Black areas will be preserved while white areas will be
  inpainted. Must have the same size as image. Optional if you provide an
  alpha mask"), ``prompt`` (optional), ``steps`` 1 to
  50 (50), ``guidance`` 2 to 5 (3), ``safety_tolerance`` 1 to 6,
  ``prompt_upsampling``, ``seed``.
- flux-2-pro (00b07c32) and flux-2-max (9c23b0aa): ``input_images``
  ("Maximum 8 images"), ``aspect_ratio`` (1:1; with ``match_input_image``
  and ``custom``), ``width``/``height`` 256 to 2048 with ``custom``
  (multiples of 16), ``safety_tolerance`` 1 to 5, ``seed``. flux-2-flex
  (74299cd6) adds ``steps`` (1 to 50; default 30 in a listing of
  Replicate's live schema, cloudernative.com/ai-models/model/black-forest-labs/
  flux-2-flex: the version page gives no default), ``guidance`` (1.5 to 10,
  4.5) and ``prompt_upsampling`` (default true) and takes 10 images, sized in
  multiples of 32. [pro], [max] and [flex] also take ``resolution`` ("1 MP";
  "Resolution in megapixels. Up to 4 MP is possible ... The maximum image
  size is 2048x2048 ... not used when aspect_ratio is 'custom' ... use
  'match_input_image' to match the input image's resolution (clamped to
  0.5-4 MP)", the version page of flux-2-pro 285631b5; the values
  ``match_input_image``, ``0.5 MP``, ``1 MP``, ``2 MP``, ``4 MP`` from a
  listing of the live schema, cinemasetfree.com/guides/generators/
  black-forest-labs/flux-2-pro and flux-2-flex), which sizes an image given
  by its ratio (and so its estimate). flux-2-dev (7bba46bd): 4 images,
  ``go_fast``, sizes 256 to 1440 in multiples of 32, ``disable_safety_checker``,
  no ``resolution``.
- flux-2-klein-4b (version 8e9c42d7: fields and defaults on its version page,
  replicate.com/black-forest-labs/flux-2-klein-4b/versions/8e9c42d7.../api;
  the enums from two schema-generated readings of the live schema, not from
  a Replicate page): ``images`` (at most 5, "jpeg, png, gif, or webp"),
  ``aspect_ratio`` the cog ratios and ``match_input_image`` (1:1),
  ``output_megapixels`` the strings "0.25", "0.5", "1", "2", "4" ("1"),
  ``seed``, ``go_fast`` (false), ``output_format`` webp, jpg or png,
  ``output_quality`` 0 to 100 (95), ``disable_safety_checker``. No safety
  tolerance, no width or height. The output is a list of URLs.
- flux-2-klein-9b: Replicate serves it (a reseller's listing names the
  provider model black-forest-labs/flux-2-klein-9b, lumenfall.ai/models/
  black-forest-labs/flux.2-klein-9b/llms.txt), but no page of its schema was
  found. Its fields are taken to be 4B's: Replicate's page of the 9B base
  model (flux-2-klein-9b-base, b037b94b) has exactly 4B's fields plus the
  guidance only an undistilled model takes, and Black Forest Labs' own
  [klein] 4B and 9B take the same fields. Said in its caveat; the fake
  follows the same.
- flux-3-image (version ec84b8fb; the model page
  replicate.com/black-forest-labs/flux-3-image): ``prompt``, ``images``
  ("up to 10 reference images (jpeg, png, gif, or webp)", "at least 256x256
  px and at most 16 MP"), ``aspect_ratio`` (auto, then 21:9 down to 9:21),
  ``resolution`` 768sq, 1k, 1.5k, 2k or 4k (1k), ``grounding`` (true),
  ``safety_tolerance`` 0 to 4 (2), ``output_format``, ``output_quality``.
  No seed. Boxes go into the prompt as Black Forest Labs documents.
- Input images ("Input files", replicate.com/docs/topics/predictions/
  input-files): "Must be jpeg, png, gif, or webp"; an http(s) URL, a data
  URI or a file uploaded with ``POST /v1/files`` ("files up to 100MB").
- Pricing is per output image ("$3 per thousand output images" for
  flux-schnell), so a withheld image is not billed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from .._inputs import ImageLimits
from .._sizes import BY_MEGAPIXELS, BY_PIXELS, BY_RESOLUTION, KEEPS_IMAGE, ULTRA
from .._spec import Caveat, ModelSpec, ParamSpec, Wire, check_table
from ._flux3 import FLUX3_RESOLUTION, GROUNDING, flux3_image
from ._params import (
    FILL_PROMPT,
    FLUX2_PROMPT,
    HOST_FETCHES,
    IMAGE_PROMPT_STRENGTH,
    NUM_IMAGES,
    PROMPT,
    PROMPT_UPSAMPLING,
    RAW,
    SAFETY_CHECKER,
    SEED,
    UPSAMPLING_VARIES,
    aspect_ratio,
    choice,
    fill_inputs,
    finetune,
    guidance,
    image,
    image_prompt,
    interval,
    loras,
    model,
    prompt_upsampling,
    references,
    safety_tolerance,
    seed,
    size,
    steps,
)

#: How Replicate's models are spelt unless a row says otherwise: the safety
#: checker is ``disable_safety_checker`` (its opposite), and originals come
#: back lossless.
WIRE = Wire(negate={"safety_checker": "disable_safety_checker"}, extra={"output_format": "png"})
#: cog-flux's own names for the batch and the steps.
COG_NAMES = {"num_images": "num_outputs", "steps": "num_inference_steps"}


def slug(name: str, **changes: Any) -> Wire:
    """The spelling of the model ``black-forest-labs/<name>``."""
    return dataclasses.replace(WIRE, route=name, **changes)


def _klein(id: str, name: str, *caveats: Caveat) -> ModelSpec:
    """FLUX.2 [klein] at Replicate: up to five references, a ratio or the
    first image's, the megapixels as strings, go_fast off by default, no
    safety tolerance and no exact size; the output is a list of URLs."""
    return model(
        id,
        FLUX2_PROMPT,
        references(_LIMITS, 5),
        aspect_ratio((*_COG_RATIOS, _MATCH), "1:1", "Aspect ratio", _HELP),
        choice(
            "output_megapixels",
            "Megapixels",
            "About how many megapixels the image has.",
            ("0.25", "0.5", "1", "2", "4"),
            "1",
        ),
        SEED,
        dataclasses.replace(_GO_FAST, default=False),
        SAFETY_CHECKER,
        caveats=(_NOT_DETERMINISTIC, *caveats),
        size=dataclasses.replace(BY_MEGAPIXELS, tier="output_megapixels"),
        wire=slug(name, names={"input_images": "images"}),
    )


_ULTRA_RATIOS = ("21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16", "9:21")
_ULTRA_HELP = "Shape of the image (about four megapixels)."
#: Where a finetune's id and strength go.
FINETUNED = (("finetune_id", "finetune_strength"),)
_COG_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
_PRO_RATIOS = ("custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3")
_HELP = "Shape of the image, as width:height (Replicate sizes it to about one megapixel)."
_CUSTOM = ("aspect_ratio", "custom")
_GO_FAST = ParamSpec(
    "go_fast",
    "boolean",
    "Go fast",
    "Replicate's faster fp8 path. Its images are not the same for the same seed; "
    "turn it off (bf16) to reproduce an image exactly.",
    default=True,
)
_MEGAPIXELS = choice(
    "megapixels", "Megapixels", "About how many megapixels the image has.", ("1", "0.25"), "1"
)
_COG_SEED = seed(1, "Replicate reads 0 as no seed, so seeds start at 1.")
_KLEIN_9B_BY_PATTERN = Caveat(
    "No page of FLUX.2 [klein] 9B's schema at Replicate was found: its fields are taken "
    "to be [klein] 4B's, which the 9B base model's page also has. A change at the host "
    "may show first as a refused request.",
    varies=False,
)
_NOT_DETERMINISTIC = Caveat(
    "With go_fast on, Replicate does not promise the same image for the same seed "
    "and settings; turn go_fast off to reproduce an image exactly.",
    {"go_fast": True},
)


def _cog(id: str, name: str, *params: ParamSpec, **wire: Any) -> ModelSpec:
    caveats = (_NOT_DETERMINISTIC, *((HOST_FETCHES,) if wire.get("pairs") else ()))
    return model(
        id,
        PROMPT,
        NUM_IMAGES,
        aspect_ratio(_COG_RATIOS, "1:1", "Aspect ratio", _HELP),
        _COG_SEED,
        *params,
        _GO_FAST,
        _MEGAPIXELS,
        SAFETY_CHECKER,
        caveats=caveats,
        batch_seeds="batch",
        size=BY_MEGAPIXELS,
        wire=slug(name, names=COG_NAMES, **wire),
    )


#: "Must be jpeg, png, gif, or webp"; uploads up to 100 MB.
_LIMITS = ImageLimits(("jpeg", "png", "gif", "webp"), max_bytes=100_000_000)
_MATCH = "match_input_image"
_KONTEXT_RATIOS = (
    _MATCH,
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
)
_FLUX2_RATIOS = (_MATCH, "custom", "1:1", "16:9", "3:2", "2:3", "4:5", "5:4", "9:16", "3:4", "4:3")
_INPUT = image(
    "input_image",
    "Input image",
    "The image to edit. Leave it empty to make a new image from the prompt.",
    _LIMITS,
    urls=True,
)


def _kontext_ratio(default: str = _MATCH, more: tuple[str, ...] = ()) -> ParamSpec:
    return aspect_ratio(
        (*_KONTEXT_RATIOS, *more),
        default,
        "Aspect ratio",
        "Shape of the result; match_input_image keeps the input image's shape.",
    )


def _custom_ratio(choices: tuple[str, ...]) -> ParamSpec:
    return aspect_ratio(
        choices, "1:1", "Aspect ratio", _HELP + " 'custom' takes a width and height."
    )


#: FLUX.2 [pro], [max] and [flex]: megapixels for a ratio (version 285631b5's
#: page; the values from a listing of the live schema).
_RESOLUTION = choice(
    "resolution",
    "Resolution",
    "About how many megapixels the image has (up to 2048 a side; not used with a "
    "custom size). Same as the input follows the first image's, between 0.5 and 4.",
    ("match_input_image", "0.5 MP", "1 MP", "2 MP", "4 MP"),
    "1 MP",
)


def _flux2(
    id: str,
    name: str,
    most: int,
    high: int,
    multiple: int,
    *extra: ParamSpec,
    resolution: bool = True,
    **kw: Any,
) -> ModelSpec:
    return model(
        id,
        FLUX2_PROMPT,
        references(_LIMITS, most),
        _custom_ratio(_FLUX2_RATIOS),
        *((_RESOLUTION,) if resolution else ()),
        size("width", 256, high, multiple, 1024, _CUSTOM),
        size("height", 256, high, multiple, 1024, _CUSTOM),
        SEED,
        *extra,
        size=BY_RESOLUTION if resolution else BY_PIXELS,
        wire=slug(name),
        **kw,
    )


def _pro(
    id: str,
    name: str,
    default_steps: int,
    *extra: ParamSpec,
    first: tuple[ParamSpec, ...] = (),
    **wire: Any,
) -> ModelSpec:
    """FLUX.1 [pro], run by Black Forest Labs (``first``: a finetune and an
    image prompt, where the model takes them)."""
    return model(
        id,
        PROMPT,
        *first,
        _custom_ratio(_PRO_RATIOS),
        size("width", 256, 1440, 32, 1024, _CUSTOM),
        size("height", 256, 1440, 32, 1024, _CUSTOM),
        SEED,
        steps(default_steps, 50),
        guidance(3.0, 2, 5),
        *extra,
        safety_tolerance(2, 1, 6),
        PROMPT_UPSAMPLING,
        caveats=(UPSAMPLING_VARIES,),
        size=BY_PIXELS,
        wire=slug(name, **wire),
    )


def _ultra(id: str, name: str, *first: ParamSpec, **wire: Any) -> ModelSpec:
    """FLUX1.1 [pro] Ultra (``first``: its finetune, where it takes one)."""
    return model(
        id,
        PROMPT,
        *first,
        aspect_ratio(_ULTRA_RATIOS, "1:1", "Aspect ratio", _ULTRA_HELP),
        RAW,
        image_prompt(_LIMITS, urls=True),
        IMAGE_PROMPT_STRENGTH,
        SEED,
        safety_tolerance(2, 1, 6),
        size=ULTRA,
        wire=slug(name, **wire),
    )


def _kontext(id: str, name: str) -> ModelSpec:
    return model(
        id,
        PROMPT,
        _INPUT,
        _kontext_ratio(more=("2:1", "1:2")),
        SEED,
        PROMPT_UPSAMPLING,
        safety_tolerance(2, 0, 6, most_with=("input_image", 2)),
        caveats=(UPSAMPLING_VARIES,),
        wire=slug(name),
    )


MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "flux_schnell": _cog("flux_schnell", "flux-schnell", steps(4, 4)),
        "flux_dev": _cog("flux_dev", "flux-dev", steps(28, 50), guidance(3.0, 0, 10)),
        "flux_dev_lora": _cog(
            "flux_dev_lora",
            "flux-dev-lora",
            loras(2, -1, 3),
            steps(28, 50),
            guidance(3.0, 0, 10),
            pairs=(("lora_weights", "lora_scale"), ("extra_lora", "extra_lora_scale")),
        ),
        "flux_pro": _pro("flux_pro", "flux-pro", 25, interval()),
        "flux_pro_1_1": model(
            "flux_pro_1_1",
            PROMPT,
            image_prompt(_LIMITS, urls=True),
            _custom_ratio(_PRO_RATIOS),
            size("width", 256, 1440, 32, 1024, _CUSTOM),
            size("height", 256, 1440, 32, 1024, _CUSTOM),
            SEED,
            safety_tolerance(2, 1, 6),
            PROMPT_UPSAMPLING,
            caveats=(UPSAMPLING_VARIES,),
            size=BY_PIXELS,
            wire=slug("flux-1.1-pro"),
        ),
        # Known from a schema-generated mirror of Replicate's schema (see above).
        "flux_pro_1_1_ultra": _ultra("flux_pro_1_1_ultra", "flux-1.1-pro-ultra"),
        "flux_pro_finetuned": _pro(
            "flux_pro_finetuned",
            "flux-pro-finetuned",
            40,
            first=(finetune(0, 2, 1.0), image_prompt(_LIMITS, urls=True)),
            pairs=FINETUNED,
        ),
        "flux_pro_1_1_ultra_finetuned": _ultra(
            "flux_pro_1_1_ultra_finetuned",
            "flux-1.1-pro-ultra-finetuned",
            finetune(0, 2, 1.0),
            pairs=FINETUNED,
        ),
        "flux_kontext_pro": _kontext("flux_kontext_pro", "flux-kontext-pro"),
        "flux_kontext_max": _kontext("flux_kontext_max", "flux-kontext-max"),
        "flux_kontext_dev": model(
            "flux_kontext_dev",
            PROMPT,
            image(
                "input_image",
                "Input image",
                "The image to edit.",
                _LIMITS,
                required=True,
                urls=True,
            ),
            _kontext_ratio(),
            _COG_SEED,
            steps(30, 50, 4),
            guidance(2.5, 0, 10),
            _GO_FAST,
            SAFETY_CHECKER,
            caveats=(_NOT_DETERMINISTIC,),
            wire=slug("flux-kontext-dev", names=COG_NAMES),
        ),
        "flux_fill_pro": model(
            "flux_fill_pro",
            FILL_PROMPT,
            *fill_inputs(_LIMITS, urls=True, alpha=True),
            SEED,
            steps(50, 50),
            guidance(3, 2, 5),
            safety_tolerance(2, 1, 6),
            PROMPT_UPSAMPLING,
            caveats=(UPSAMPLING_VARIES,),
            size=KEEPS_IMAGE,
            wire=slug("flux-fill-pro"),
        ),
        "flux_2_pro": _flux2("flux_2_pro", "flux-2-pro", 8, 2048, 16, safety_tolerance(2, 1, 5)),
        "flux_2_max": _flux2("flux_2_max", "flux-2-max", 8, 2048, 16, safety_tolerance(2, 1, 5)),
        "flux_2_flex": _flux2(
            "flux_2_flex",
            "flux-2-flex",
            10,
            2048,
            32,
            steps(30, 50),
            guidance(4.5, 1.5, 10),
            safety_tolerance(2, 1, 5),
            prompt_upsampling(True),
            caveats=(UPSAMPLING_VARIES,),
        ),
        "flux_2_dev": _flux2(
            "flux_2_dev",
            "flux-2-dev",
            4,
            1440,
            32,
            _GO_FAST,
            SAFETY_CHECKER,
            resolution=False,
            caveats=(_NOT_DETERMINISTIC,),
        ),
        # Known from its version page and two readings of its schema (see above).
        "flux_2_klein_4b": _klein("flux_2_klein_4b", "flux-2-klein-4b"),
        # Its fields by 4B's and the 9B base model's (see above).
        "flux_2_klein_9b": _klein("flux_2_klein_9b", "flux-2-klein-9b", _KLEIN_9B_BY_PATTERN),
        "flux_3_image": flux3_image(
            ImageLimits(
                ("jpeg", "png", "gif", "webp"), 100_000_000, max_megapixels=16, min_side=256
            ),
            FLUX3_RESOLUTION,
            GROUNDING,
            safety_tolerance(2, 0, 4),
            wire=slug("flux-3-image", names={"input_images": "images"}),
        ),
    }
)
check_table(MODELS)
