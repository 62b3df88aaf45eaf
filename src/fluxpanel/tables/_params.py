"""The parameters fluxpanel's tables share, and the builders of their rows.

Each host's table (:mod:`fluxpanel.tables.bfl`, ``.replicate``, ``.fal``,
``.flux_api``) is made of these: a parameter with the same meaning
everywhere is defined once here, with its range and default given by the
row that uses it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .._inputs import ImageLimits
from .._pricing import Price
from .._relations import Canvas
from .._sizes import BY_RATIO, GROWN_IMAGE, SizeRule
from .._spec import CURRENT, SEED_MAX, BatchSeeds, Caveat, Kind, ModelSpec, ParamSpec, Status, Wire
from ._family import LABELS, PLACES, PRICES, STATUSES

# --- The parameters shared by every model -------------------------------------

PROMPT = ParamSpec(
    "prompt",
    "text",
    "Prompt",
    "What to draw. Describe the subject, style, lighting and composition.",
    min=1,
    max=4000,
    required=True,
    role="prompt",
)
#: FLUX.2's prompt, at every host: "up to 32K tokens" (Black Forest Labs' API
#: reference for FLUX.2 [flex]; black-forest-labs/skills, bfl-api's
#: endpoints.md). Neither fal nor Replicate publishes a bound of its own, so
#: the model's holds there too (another host's schema, Prodia's, allows 32,768
#: characters). fluxpanel counts characters and allows 32,000: a token is
#: seldom shorter than a character; where one is, the host has the last word.
FLUX2_PROMPT = dataclasses.replace(PROMPT, max=32_000)
ASPECT_RATIO = ParamSpec(
    "aspect_ratio",
    "choice",
    "Aspect ratio",
    "Size of the image in pixels: square, portrait or landscape.",
    default="1024x1024",
    choices=("1024x1024", "768x1344", "1344x768"),
)


def seed(low: int = 0, note: str = "") -> ParamSpec:
    """The seed, from ``low`` (a host that reads 0 as "no seed" starts at 1)."""
    return ParamSpec(
        "seed",
        "integer",
        "Seed",
        "Starting noise. The same seed and settings give the same image; "
        "leave it random to explore, fix it to reproduce." + (f" {note}" if note else ""),
        default=None,
        min=low,
        max=SEED_MAX,
        step=1,
        random=True,
    )


SEED = seed()
NUM_IMAGES = ParamSpec(
    "num_images",
    "integer",
    "Images",
    "How many images to make from this prompt, in one batch (one seed for the "
    "batch: run the batch again to make one of its images again).",
    default=1,
    min=1,
    max=4,
    step=1,
)
# --- Parameters whose ranges differ by model and host: one definition each ------


def steps(default: int, high: int, low: int = 1) -> ParamSpec:
    return ParamSpec(
        "steps",
        "integer",
        "Steps",
        "Denoising steps. More steps add detail and take longer.",
        default=default,
        min=low,
        max=high,
        step=1,
    )


def guidance(default: float, low: float, high: float) -> ParamSpec:
    return ParamSpec(
        "guidance",
        "number",
        "Guidance",
        "How closely the image follows the prompt. Higher values match the prompt more "
        "closely but may reduce quality; lower values give more creative freedom.",
        default=float(default),
        min=float(low),
        max=float(high),
        step=0.1,
    )


def interval(default: float = 2.0, low: float = 1.0, high: float = 4.0) -> ParamSpec:
    return ParamSpec(
        "interval",
        "number",
        "Interval",
        "Variance in possible outputs. Low values follow the prompt strongly and "
        "consistently; high values give more dynamic, varied results.",
        default=float(default),
        min=float(low),
        max=float(high),
        step=0.1,
    )


def safety_tolerance(
    default: int, low: int, high: int, *, most_with: tuple[str, int] | None = None
) -> ParamSpec:
    """The moderation level, ``low`` to ``high``; with ``most_with``, at most
    its number once its image is given (the hosts' limit for editing)."""
    limit = f" At most {most_with[1]} with {most_with[0]}." if most_with else ""
    return ParamSpec(
        "safety_tolerance",
        "integer",
        "Safety tolerance",
        f"Moderation level: {low} is the most strict, {high} the most permissive.{limit}",
        default=default,
        min=low,
        max=high,
        step=1,
        most_with=most_with,
    )


def aspect_ratio(choices: tuple[str, ...], default: str, label: str, help: str) -> ParamSpec:
    return ParamSpec("aspect_ratio", "choice", label, help, default=default, choices=choices)


def choice(name: str, label: str, help: str, choices: tuple[str, ...], default: str) -> ParamSpec:
    return ParamSpec(name, "choice", label, help, default=default, choices=choices)


def prompt_upsampling(default: bool = False) -> ParamSpec:
    """Prompt upsampling, off unless a host turns it on by default (FLUX.2 [flex])."""
    return ParamSpec(
        "prompt_upsampling",
        "boolean",
        "Prompt upsampling",
        "Let the host rewrite the prompt with more detail before generating. The "
        "rewritten prompt varies, so results are less predictable.",
        default=default,
    )


PROMPT_UPSAMPLING = prompt_upsampling()
RAW = ParamSpec("raw", "boolean", "Raw", "Less processed, more natural-looking images.", False)
IMAGE_PROMPT_STRENGTH = ParamSpec(
    "image_prompt_strength",
    "number",
    "Image prompt strength",
    "How much the image prompt shapes the result (0 to 1).",
    default=0.1,
    min=0.0,
    max=1.0,
    step=0.05,
)
#: The common ratios from 21:9 to 9:21, widest first (hosts list their own order).
RATIOS = ("21:9", "16:9", "3:2", "4:3", "5:4", "1:1", "4:5", "3:4", "2:3", "9:16", "9:21")
#: Prompt upsampling rewrites the prompt each time: said wherever a host offers it.
UPSAMPLING_VARIES = Caveat(
    "With prompt upsampling on, the host rewrites the prompt each time, so the same "
    "seed and settings need not give the same image; turn it off to reproduce one.",
    {"prompt_upsampling": True},
)
#: LoRAs given by address are fetched by the host, not read by fluxpanel.
HOST_FETCHES = Caveat(
    "The host fetches each LoRA itself, so the same request gives the same image only "
    "while the file behind its address stays the same."
)
#: Black Forest Labs' finetunes live in one region.
REGIONAL = Caveat(
    "Black Forest Labs serves a finetune only from the region it was made in: use "
    "base_url='https://api.us1.bfl.ai' or 'https://api.eu1.bfl.ai' as it was trained.",
    varies=False,
)
SAFETY_CHECKER = ParamSpec(
    "safety_checker",
    "boolean",
    "Safety checker",
    "Check each image for unsafe content; flagged images are withheld by the host.",
    default=True,
)


def image(
    name: str,
    label: str,
    help: str,
    limits: ImageLimits,
    *,
    required: bool = False,
    urls: bool = False,
    mask_of: str | None = None,
) -> ParamSpec:
    """An input image (or, with ``mask_of``, a mask over another image
    parameter)."""
    kind: Kind = "image"
    return ParamSpec(
        name,
        kind,
        label,
        help,
        required=required,
        limits=limits,
        urls=urls,
        mask_of=mask_of,
    )


def images(
    name: str,
    label: str,
    help: str,
    limits: ImageLimits,
    most: int,
    *,
    urls: bool = False,
    needs: str | None = None,
    first_number: int = 1,
) -> ParamSpec:
    """A list of 1 to ``most`` reference images (optional: none makes an image
    from the prompt alone)."""
    return ParamSpec(
        name,
        "images",
        label,
        help,
        min=1,
        max=most,
        limits=limits,
        urls=urls,
        needs=needs,
        first_number=first_number,
    )


#: Keeps the input image's shape: not sent, so the host matches the input.
MATCH_INPUT = "match_input"


def references(limits: ImageLimits, most: int, *, urls: bool = True) -> ParamSpec:
    """FLUX.2's reference images: up to ``most``, named in the prompt by number."""
    return images(
        "input_images",
        "Reference images",
        f"Images to edit or draw from (up to {most}), named in the prompt as image 1, image 2, ...",
        limits,
        most,
        urls=urls,
    )


def more_images(limits: ImageLimits, most: int, *, urls: bool = True) -> ParamSpec:
    """Kontext's experimental multi-reference: up to ``most`` images after its
    input image, named in the prompt from image 2."""
    return images(
        "more_images",
        "More images",
        f"Up to {most} more images for the edit to draw from, after the input image "
        "(image 2, image 3, ... in the prompt). Experimental at the host.",
        limits,
        most,
        urls=urls,
        needs="input_image",
        first_number=2,
    )


def fill_inputs(
    limits: ImageLimits, *, urls: bool = False, verb: str = "repainted", alpha: bool = False
) -> tuple[ParamSpec, ParamSpec]:
    """An image and its mask: FLUX.1 Fill's (white is ``verb``, black kept),
    FLUX Erase's (white is removed). With ``alpha``, the image's transparent
    areas may stand for the mask (the host repaints them)."""
    what = "repaint part of" if verb == "repainted" else "remove something from"
    alone = " Not needed when the image has transparent areas: they are repainted." * alpha
    mask = image(
        "mask",
        "Mask",
        f"White (what you paint) is {verb}, black is kept; the size of the image.{alone}",
        limits,
        required=True,
        urls=urls,
        mask_of="image",
    )
    return (
        image("image", "Image", f"The image to {what}.", limits, required=True, urls=urls),
        dataclasses.replace(mask, alpha_mask=alpha),
    )


def erase_inputs(
    limits: ImageLimits, most: int, *, urls: bool = False
) -> tuple[ParamSpec, ParamSpec, ParamSpec]:
    """FLUX Erase's image, its mask (white is removed) and how far the mask is
    grown first (0 to ``most`` pixels, 10 by default at every host)."""
    dilate = ParamSpec(
        "dilate_pixels",
        "integer",
        "Grow mask",
        f"Pixels the mask is grown by before erasing, 0 to {most}: covers the "
        "object's edges for a cleaner result.",
        default=10,
        min=0,
        max=most,
        step=1,
    )
    return (*fill_inputs(limits, urls=urls, verb="removed"), dilate)


def try_on_inputs(
    person: ImageLimits, garment: ImageLimits, *, urls: bool = False
) -> tuple[ParamSpec, ParamSpec]:
    """FLUX Virtual Try-On's two images: the person (whose shape the result
    keeps) and the garment put on them."""
    return (
        image(
            "person",
            "Person",
            "The person to dress; the result keeps this image's shape.",
            person,
            required=True,
            urls=urls,
        ),
        image(
            "garment",
            "Garment",
            "The garment to put on them (several garments: one image holding them all).",
            garment,
            required=True,
            urls=urls,
        ),
    )


#: Virtual try-on's prompt: how the garment is worn.
TRY_ON_PROMPT = dataclasses.replace(
    PROMPT, help="How the garment is worn: tucked in, layered, sleeves rolled up..."
)


def optional_prompt(help: str) -> ParamSpec:
    """A prompt a model does without, empty unless written: ``help`` says
    what it adds and what happens without it."""
    return dataclasses.replace(PROMPT, help=help, default="", min=0, required=False)


#: FLUX.1 Fill's prompt where its host takes none ("" by default at Black
#: Forest Labs, optional at Replicate): the masked part then follows the rest.
FILL_PROMPT = optional_prompt(
    "What goes in the masked part (optional: left empty, it is filled in keeping "
    "with the rest of the image)."
)
#: A prompt a model does without (FLUX.1 Expand continues the image).
OPTIONAL_PROMPT = optional_prompt(
    "What the new space should hold (optional: left empty, the image is continued)."
)


#: The sides an image is grown by (FLUX.1 Expand), in the host's order.
MARGINS = GROWN_IMAGE.sides


def expand_inputs(limits: ImageLimits, most: int) -> tuple[ParamSpec, ...]:
    """FLUX.1 Expand's image and the pixels to add on each side (0 to ``most``)."""
    picture = image("image", "Image", "The image to grow.", limits, required=True)
    sides = tuple(
        ParamSpec(
            side,
            "integer",
            side.capitalize(),
            f"Pixels to add at the {side} of the image, 0 to {most}.",
            default=0,
            min=0,
            max=most,
            step=1,
        )
        for side in MARGINS
    )
    return (picture, *sides)


def outpaint_inputs(limits: ImageLimits, most: int, *, urls: bool = False) -> tuple[ParamSpec, ...]:
    """FLUX Outpainting's image, the canvas it is placed on (each side 64 to
    ``most`` pixels), where on it (centred, or a top-left corner given in
    pixels, past the edges too) and whether what runs past the edges is
    cropped (or refused)."""
    canvas = Canvas()
    picture = dataclasses.replace(
        image("input_image", "Image", "The image to extend.", limits, required=True, urls=urls),
        canvas=canvas,
    )
    sides = tuple(
        ParamSpec(
            name,
            "integer",
            f"Canvas {name}",
            f"{name.capitalize()} of the result in pixels, 64 to {most}: the image is "
            "placed on it and the rest filled in.",
            default=1024,
            min=64,
            max=most,
            step=1,
        )
        for name in (canvas.width, canvas.height)
    )
    placement = choice(
        "placement",
        "Placement",
        "Where the image sits on the canvas: centred, or at a corner given in pixels.",
        ("center", "custom"),
        "center",
    )
    offsets = tuple(
        ParamSpec(
            name,
            "integer",
            f"Image {axis}",
            f"The image's {edge} edge, in pixels from the canvas's {edge} edge "
            "(negative: past it).",
            default=0,
            min=-most,
            max=most,
            step=1,
            only_with=("placement", "custom"),
        )
        for name, axis, edge in ((canvas.x, "x", "left"), (canvas.y, "y", "top"))
    )
    crop = ParamSpec(
        canvas.crop,
        "boolean",
        "Crop to the canvas",
        "Crop what of the image runs past the canvas's edges; off, such a placement is refused.",
        default=False,
    )
    return (picture, *sides, placement, *offsets, crop)


def _scale(default: float, low: float, high: float, label: str, help: str) -> ParamSpec:
    return ParamSpec("scale", "number", label, help, default=default, min=low, max=high, step=0.05)


def loras(most: int, low: float, high: float, default: float = 1.0) -> ParamSpec:
    """LoRAs the host loads by URL or name: up to ``most``, each at a scale
    from ``low`` to ``high``."""
    return ParamSpec(
        "loras",
        "loras",
        "LoRAs",
        "Weights that teach the model a style, a person or a product: an https URL of "
        "a .safetensors file, or a name such as owner/lora (Hugging Face, Replicate). "
        "The host fetches them, so the image follows whatever is there when it runs.",
        default=(),
        min=0,
        max=most,
        each=_scale(default, low, high, "Scale", "How strongly the LoRA applies."),
    )


def finetune(low: float, high: float, default: float) -> ParamSpec:
    """A finetune the host keeps (required): its id and strength."""
    return ParamSpec(
        "finetune",
        "finetunes",
        "Finetune",
        "Your finetune's id at this host (the name it was given when it was trained "
        "or uploaded) and how strongly it applies.",
        default=(),
        min=1,
        max=1,
        required=True,
        each=_scale(default, low, high, "Strength", "How strongly the finetune applies."),
    )


def image_prompt(limits: ImageLimits, *, urls: bool = False) -> ParamSpec:
    """FLUX1.1's image prompt: an image whose look guides the new one."""
    return image(
        "image_prompt",
        "Image prompt",
        "An image to remix: its look and composition guide the new image.",
        limits,
        urls=urls,
    )


def size(
    name: str, low: int, high: int, multiple: int, default: int, when: Any = None
) -> ParamSpec:
    """A width or height in pixels, optionally applying only with one value of
    another parameter (``("aspect_ratio", "custom")``)."""
    label = name.capitalize()
    return ParamSpec(
        name,
        "integer",
        label,
        f"{label} of the image in pixels, {low} to {high}, a multiple of {multiple}.",
        default=default,
        min=low,
        max=high,
        step=multiple,
        multiple_of=multiple,
        only_with=when,
    )


def model(
    id: str,
    *params: ParamSpec,
    caveats: tuple[Caveat, ...] = (),
    batch_seeds: BatchSeeds = "batch",
    size: SizeRule = BY_RATIO,
    price: Price | None = None,
    status: Status | None = None,
    wire: Wire | None = None,
) -> ModelSpec:
    """A model at a host: one row. Its id, the label, description and list
    price the family gives it (:mod:`fluxpanel.tables._family`; ``price``
    overrides), its parameters in display order, what people must be told
    (``caveats``), how the host seeds a batch, sizes its image and spells its
    request (``wire``), and where the model stands there (``status``)."""
    label, description = LABELS[id]
    family, rank = PLACES[id]
    return ModelSpec(
        id,
        label,
        description,
        {p.name: p for p in params},
        caveats,
        batch_seeds,
        size,
        PRICES.get(id) if price is None else price,
        STATUSES.get(id, CURRENT) if status is None else status,
        wire if wire is not None else Wire(),
        family,
        rank,
    )
