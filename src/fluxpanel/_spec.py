"""The capability spec: which parameters each FLUX model takes, as data.

This table is the only place a model's rules are written. Request validation,
the reference server, the panel's controls (which read it as JSON from a synced
trait), the code snippets and the docs all read it.

Source: ../shared/API_CONTRACT.md, our reading of the provider's API page.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ._errors import ValidationError

Kind = Literal["text", "integer", "number", "choice", "boolean", "image", "images", "boxes"]

#: Bounds of a seed, shared by every model (the API page: ``x < 2147483647``).
SEED_MAX = 2_147_483_646


@dataclass(frozen=True)
class ImageLimits:
    """What a host accepts for one input image, as it publishes it.

    ``formats`` are the image formats it takes (lower case: ``jpeg``, ``png``,
    ``webp``, ``gif``); ``max_bytes`` the largest encoded file; ``max_megapixels``
    the most pixels (in millions); ``min_side`` the shortest width or height.
    ``None`` means the host publishes no limit.
    """

    formats: tuple[str, ...] = ("jpeg", "png", "webp")
    max_bytes: int | None = None
    max_megapixels: float | None = None
    min_side: int | None = None

    def describe(self) -> str:
        """The limits in words, as error messages and the docs say them."""
        parts = ["/".join(f.upper() for f in self.formats)]
        if self.min_side:
            parts.append(f"at least {self.min_side} px a side")
        if self.max_megapixels:
            parts.append(f"at most {_num(self.max_megapixels)} megapixels")
        if self.max_bytes:
            parts.append(f"at most {self.max_bytes // 1_000_000} MB")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The limits as plain JSON, as the front end reads them."""
        return {
            "formats": list(self.formats),
            "max_bytes": self.max_bytes,
            "max_megapixels": self.max_megapixels,
            "min_side": self.min_side,
        }


#: The formats every host here takes, when it publishes no other limit.
ANY_IMAGE = ImageLimits()


@dataclass(frozen=True)
class Canvas:
    """An image placed on a larger canvas (FLUX Outpainting): the parameters
    holding the canvas's width and height, the image's top-left corner (the
    image is centred when they do not apply), and the switch that crops what
    runs past the edges (the host refuses such a placement otherwise)."""

    width: str = "width"
    height: str = "height"
    x: str = "reference_offset_x"
    y: str = "reference_offset_y"
    crop: str = "auto_crop"

    def place(self, values: Mapping[str, Any], w: int, h: int) -> tuple[int, int]:
        """The top-left corner of a ``w`` x ``h`` image on the canvas."""
        x, y = values.get(self.x), values.get(self.y)
        return (
            (int(values[self.width]) - w) // 2 if x is None else int(x),
            (int(values[self.height]) - h) // 2 if y is None else int(y),
        )


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of one model.

    ``min``/``max`` are inclusive. For ``text`` they bound the length in
    characters; for ``integer``/``number`` the value; for ``images`` (a list
    of reference images) the count. An ``image`` or ``images`` parameter has
    the host's ``limits`` for each image, takes http(s) URLs when ``urls``,
    and is a mask over another image parameter when ``mask_of`` names it. ``default`` is ``None``
    only for parameters with no fixed default (the prompt, and the seed, which
    is drawn at random and recorded).
    """

    name: str
    kind: Kind
    label: str
    help: str
    default: Any = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] | None = None
    required: bool = False
    #: Integers that must be a multiple of this (widths and heights).
    multiple_of: int | None = None
    #: ``(other, value)``: the parameter applies only while ``other`` has
    #: ``value`` (a width with ``aspect_ratio="custom"``); otherwise it is not
    #: shown, not sent and may not be given.
    only_with: tuple[str, Any] | None = None
    #: Image parameters: what the host accepts for each image.
    limits: ImageLimits | None = None
    #: Image parameters: whether the host takes an http(s) URL as well as bytes.
    urls: bool = False
    #: A mask: the image parameter it masks (same width and height).
    mask_of: str | None = None
    #: The image parameter this one follows: it applies only once that one is
    #: given (Kontext's more images, after its input image).
    needs: str | None = None
    #: A list of images: the number the prompt calls its first one ("image 2"
    #: when another image is image 1).
    first_number: int = 1
    #: An image the result has the size of (FLUX Deblur returns its input's).
    keeps_size: bool = False
    #: (an image parameter, the most this value may be once it is given):
    #: Kontext's safety tolerance is at most 2 with an input image.
    most_with: tuple[str, float] | None = None
    #: An image placed on a canvas the model fills around it (Outpainting).
    canvas: Canvas | None = None

    @property
    def is_image(self) -> bool:
        """Whether the parameter takes images (one, or a list)."""
        return self.kind in ("image", "images")

    def to_json(self) -> dict[str, Any]:
        """The parameter as plain JSON, as the front end reads it."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "help": self.help,
            "default": self.default,
            "required": self.required,
        }
        for key in ("min", "max", "step", "multiple_of"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.choices is not None:
            out["choices"] = list(self.choices)
        if self.only_with is not None:
            out["only_with"] = {"param": self.only_with[0], "value": self.only_with[1]}
        if self.limits is not None:
            out["limits"] = self.limits.to_json()
            out["urls"] = self.urls
        if self.mask_of is not None:
            out["mask_of"] = self.mask_of
        if self.needs is not None:
            out["needs"] = self.needs
        if self.first_number != 1:
            out["first_number"] = self.first_number
        if self.most_with is not None:
            out["most_with"] = {"param": self.most_with[0], "most": self.most_with[1]}
        return out

    def allowed(self) -> str:
        """What this parameter accepts, in words (used in error messages)."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices or ())
        if self.kind == "boolean":
            return "True or False"
        if self.kind == "boxes":
            from ._boxes import ALLOWED

            return ALLOWED
        if self.is_image:
            what = "an image (a path, bytes, a Pillow image, a NumPy array or a GeneratedImage"
            what += ", or an http(s) URL)" if self.urls else ")"
            if self.kind == "images":
                what = (
                    f"a list of {_num(self.min or 1)} to {_num(self.max)} images, each " + what[3:]
                )
            limits = (self.limits or ANY_IMAGE).describe()
            if self.mask_of:
                limits += f", the size of {self.mask_of}"
            return f"{what}: {limits}"
        if self.kind == "text":
            return f"a string of {_num(self.min)} to {_num(self.max)} characters"
        noun = "an integer" if self.kind == "integer" else "a number"
        text = f"{noun} from {_num(self.min)} to {_num(self.max)}"
        if self.multiple_of:
            text += f", a multiple of {self.multiple_of}"
        return text

    def invalid(self, model: str, value: Any, message: str) -> ValidationError:
        """A :class:`ValidationError` for this parameter: ``message``, then
        what is allowed."""
        return ValidationError(
            f"{message}; allowed: {self.allowed()}",
            field=self.name,
            value=value,
            model=model,
            allowed=self.allowed(),
        )

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter applies, given the other parameters' values."""
        if self.needs is not None and values.get(self.needs) is None:
            return False
        return self.only_with is None or values.get(self.only_with[0]) == self.only_with[1]


def _num(x: float | None) -> str:
    if x is None:
        return "?"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


@dataclass(frozen=True)
class Caveat:
    """Something true of a model at a host that people must be told, such as
    "the same seed does not give the same image". ``when`` names parameter
    values it depends on (every one must match); empty means always."""

    text: str
    when: Mapping[str, Any] = field(default_factory=dict)

    def applies(self, values: Mapping[str, Any]) -> bool:
        return all(values.get(k) == v for k, v in self.when.items())

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "when": dict(self.when)}


#: How a host seeds a batch: ``"batch"``, one seed for the whole request (an
#: image of the batch is reproduced by running the batch again); ``"each"``,
#: seed, seed + 1, ... one per image (each can be made again alone).
BatchSeeds = Literal["batch", "each"]


@dataclass(frozen=True)
class ModelSpec:
    """A model: its id, a short description and its parameters in display order.

    ``caveats`` are what people must be told about the model at this host
    (determinism, seeds); ``batch_seeds`` how the host seeds a batch.
    """

    id: str
    label: str
    description: str
    params: Mapping[str, ParamSpec] = field(default_factory=dict)
    caveats: tuple[Caveat, ...] = ()
    batch_seeds: BatchSeeds = "batch"

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def supports(self, name: str) -> bool:
        """Whether the model takes parameter ``name``."""
        return name in self.params

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.id, self.label, self.description, dict(self.params))
        return (ModelSpec, (*args, self.caveats, self.batch_seeds))

    def defaults(self) -> dict[str, Any]:
        """Each parameter's default (``None`` for the prompt and the seed)."""
        return {name: p.default for name, p in self.params.items()}

    def applicable(self, values: Mapping[str, Any]) -> list[str]:
        """The parameters that apply with these values (see ``only_with``)."""
        return [name for name, p in self.params.items() if p.applies(values)]

    def caveats_for(self, values: Mapping[str, Any]) -> list[str]:
        """The caveats that hold for these parameter values."""
        return [c.text for c in self.caveats if c.applies(values)]

    @property
    def reproducible(self) -> bool:
        """Whether the host promises the same image for the same seed and
        settings, whatever the settings (no caveat about determinism)."""
        return not self.caveats

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON, as the front end reads it."""
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "params": [p.to_json() for p in self.params.values()],
            "caveats": [c.to_json() for c in self.caveats],
            "batch_seeds": self.batch_seeds,
        }


def models_to_json(models: Mapping[str, ModelSpec]) -> dict[str, Any]:
    """The table as plain JSON, the form the front end reads."""
    return {"models": [m.to_json() for m in models.values()]}


def check_table(models: Mapping[str, ModelSpec]) -> None:
    """Assert a table is self-consistent: every default lies inside its range
    (and on its step), every ``only_with`` names an earlier parameter."""
    for model in models.values():
        seen: list[str] = []
        for p in model.params.values():
            if p.only_with is not None:
                assert p.only_with[0] in seen, (model.id, p.name, "only_with")
            if p.mask_of is not None:
                assert p.mask_of in seen and p.kind == "image", (model.id, p.name, "mask_of")
            if p.needs is not None:
                assert p.needs in seen and model.params[p.needs].is_image, (model.id, p.name)
            if p.canvas is not None:
                c = p.canvas
                names = (c.width, c.height, c.x, c.y, c.crop)
                assert all(n in model.params for n in names), (model.id, p.name, "canvas")
            if p.most_with is not None:
                other = model.params.get(p.most_with[0])
                assert other is not None and other.is_image, (model.id, p.name, "most_with")
            if p.is_image:
                assert p.limits is not None and p.default is None, (model.id, p.name)
                if p.kind == "images":
                    assert p.max is not None and p.max >= (p.min or 1), (model.id, p.name)
            seen.append(p.name)
            if p.default is None:
                continue
            if p.kind == "choice":
                assert p.default in (p.choices or ()), (model.id, p.name)
            elif p.kind == "boolean":
                assert isinstance(p.default, bool), (model.id, p.name)
            elif p.kind in ("integer", "number"):
                assert p.min is not None and p.max is not None
                assert math.isfinite(p.default) and p.min <= p.default <= p.max, (
                    model.id,
                    p.name,
                )
                if p.multiple_of:
                    assert p.default % p.multiple_of == 0, (model.id, p.name)


# --- The parameters shared by every model -------------------------------------

PROMPT = ParamSpec(
    "prompt",
    "text",
    "Prompt",
    "What to draw. Describe the subject, style, lighting and composition.",
    min=1,
    max=4000,
    required=True,
)
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
SAFETY_CHECKER = ParamSpec(
    "safety_checker",
    "boolean",
    "Safety checker",
    "Check each image for unsafe content; flagged images are withheld by the host.",
    default=True,
)


#: Every host's names and descriptions for the three models.
LABELS = {
    "flux_schnell": ("FLUX.1 [schnell]", "Entry-level model, optimised for speed."),
    "flux_dev": ("FLUX.1 [dev]", "Developer-focused variant with flexible parameters."),
    "flux_pro": ("FLUX.1 [pro]", "Professional-grade model, highest quality in the series."),
    "flux_pro_1_1": (
        "FLUX1.1 [pro]",
        "Faster and better than FLUX.1 [pro]; takes an image prompt.",
    ),
    "flux_pro_1_1_ultra": (
        "FLUX1.1 [pro] Ultra",
        "Four-megapixel images; raw mode for a natural, less processed look.",
    ),
    "flux_kontext_pro": ("FLUX.1 Kontext [pro]", "Edit an image with words, or make one."),
    "flux_kontext_max": (
        "FLUX.1 Kontext [max]",
        "Kontext's strongest model: better prompt following and typography.",
    ),
    "flux_kontext_dev": ("FLUX.1 Kontext [dev]", "Open-weights Kontext: edit an image with words."),
    "flux_fill_pro": (
        "FLUX.1 Fill [pro]",
        "Inpainting: repaint the white part of a mask over an image.",
    ),
    "flux_erase": (
        "FLUX Erase",
        "Remove what a mask covers; the scene behind it is rebuilt. No prompt.",
    ),
    "flux_deblur": (
        "FLUX Deblur",
        "Sharpen a blurry image, keeping its scene, faces and colours. No prompt.",
    ),
    "flux_vto": (
        "FLUX Virtual Try-On",
        "Dress the person of one image in the garment of another.",
    ),
    "flux_outpaint": (
        "FLUX Outpainting",
        "Place an image on a larger canvas; the rest is filled in keeping with it.",
    ),
    "flux_expand_pro": (
        "FLUX.1 Expand [pro]",
        "Outpainting: grow an image on any side, the new pixels in keeping with it.",
    ),
    "flux_2_pro": (
        "FLUX.2 [pro]",
        "FLUX.2's production model: generate, or edit with several reference images.",
    ),
    "flux_2_max": ("FLUX.2 [max]", "FLUX.2's highest quality, with several reference images."),
    "flux_2_flex": (
        "FLUX.2 [flex]",
        "FLUX.2 with steps and guidance under your control; strong on text.",
    ),
    "flux_2_dev": ("FLUX.2 [dev]", "Open-weights FLUX.2, with up to four reference images."),
    "flux_2_klein_4b": (
        "FLUX.2 [klein] 4B",
        "The smallest, fastest FLUX.2; edits with references.",
    ),
    "flux_2_klein_9b": ("FLUX.2 [klein] 9B", "Small and fast FLUX.2, a step up from 4B."),
    "flux_3_image": (
        "FLUX 3 Image",
        "Black Forest Labs' flagship: generate, edit with words, combine up to ten "
        "references, and place each element with a box.",
    ),
}


def image(
    name: str,
    label: str,
    help: str,
    limits: ImageLimits,
    *,
    required: bool = False,
    urls: bool = False,
    mask_of: str | None = None,
    keeps_size: bool = False,
) -> ParamSpec:
    """An input image (or, with ``mask_of``, a mask over another image
    parameter; with ``keeps_size``, the image whose size the result has)."""
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
        keeps_size=keeps_size,
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
    limits: ImageLimits, *, urls: bool = False, verb: str = "repainted"
) -> tuple[ParamSpec, ParamSpec]:
    """An image and its mask: FLUX.1 Fill's (white is ``verb``, black kept),
    FLUX Erase's (white is removed)."""
    what = "repaint part of" if verb == "repainted" else "remove something from"
    return (
        image("image", "Image", f"The image to {what}.", limits, required=True, urls=urls),
        image(
            "mask",
            "Mask",
            f"White (what you paint) is {verb}, black is kept; the size of the image.",
            limits,
            required=True,
            urls=urls,
            mask_of="image",
        ),
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

#: A prompt a model does without (FLUX.1 Expand continues the image).
OPTIONAL_PROMPT = ParamSpec(
    "prompt",
    "text",
    "Prompt",
    "What the new space should hold (optional: left empty, the image is continued).",
    default="",
    min=0,
    max=PROMPT.max,
)


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


#: The sides an image is grown by (FLUX.1 Expand), in the host's order.
MARGINS = ("top", "bottom", "left", "right")


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


def image_prompt(limits: ImageLimits, *, urls: bool = False) -> ParamSpec:
    """FLUX1.1's image prompt: an image whose look guides the new one."""
    return image(
        "image_prompt",
        "Image prompt",
        "An image to remix: its look and composition guide the new image.",
        limits,
        urls=urls,
    )


#: FLUX 3's boxes: where each element goes, written into the prompt on the way
#: to the host (see :mod:`fluxpanel._boxes`).
BOXES = ParamSpec(
    "boxes",
    "boxes",
    "Boxes",
    "Where each element goes: draw a box, name it (cite it in the prompt as <name>) and "
    "describe it. Coordinates are on a 0-1000 grid from the top-left corner.",
    default=(),
)
#: FLUX 3 takes no seed: said wherever it is offered.
NO_SEED = Caveat(
    "FLUX 3 Image takes no seed: the same settings make a different image each time. "
    "fluxpanel's cache keeps the image you paid for, so re-running this code returns it; "
    "with cache=False (or Generate in the panel) the host draws a new one."
)


def flux3_ratio() -> ParamSpec:
    """FLUX 3's aspect ratios: auto (the first reference's shape) and fifteen more."""
    return choice(
        "aspect_ratio",
        "Aspect ratio",
        "Shape of the image; auto follows the first reference image (1:1 without one).",
        FLUX3_RATIOS,
        "auto",
    )


#: docs.bfl.ai's FLUX 3 API reference: auto, then widest to tallest.
FLUX3_RATIOS = tuple("auto 21:9 2:1 16:9 3:2 7:5 4:3 5:4 1:1 4:5 3:4 5:7 2:3 9:16 1:2 9:21".split())
#: The resolution tiers (about 0.6, 1, 2.4, 4.2 and 16 megapixels).
FLUX3_RESOLUTION = ParamSpec(
    "resolution",
    "choice",
    "Resolution",
    "Size tier of the image: 768sq (about 0.6 MP), 1k (1 MP), 1.5k, 2k or 4k (about 16 MP). "
    "Larger tiers cost more.",
    default="1k",
    choices=("768sq", "1k", "1.5k", "2k", "4k"),
)
GROUNDING = ParamSpec(
    "grounding",
    "boolean",
    "Grounding",
    "Let the model search the web and images for what the prompt names before drawing.",
    default=True,
)


def flux3_image(limits: ImageLimits, *params: ParamSpec) -> ModelSpec:
    """FLUX 3 Image at a host: the prompt, one to ten references (named in
    the prompt as image 1 ... image 10), the boxes, the aspect ratio and the
    host's other ``params``. No seed: it takes none."""
    return model(
        "flux_3_image",
        PROMPT,
        references(limits, 10),
        BOXES,
        flux3_ratio(),
        *params,
        caveats=(NO_SEED,),
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
) -> ModelSpec:
    """A model's spec: its id, the label and description every host shares, and
    its parameters in display order."""
    label, description = LABELS[id]
    return ModelSpec(id, label, description, {p.name: p for p in params}, caveats, batch_seeds)


# --- The FLUX API of API_CONTRACT.md -------------------------------------------

MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "flux_schnell": model("flux_schnell", PROMPT, NUM_IMAGES, ASPECT_RATIO, SEED, steps(4, 4)),
        "flux_dev": model(
            "flux_dev", PROMPT, NUM_IMAGES, ASPECT_RATIO, SEED, steps(28, 50), guidance(3.5, 0, 10)
        ),
        "flux_pro": model(
            "flux_pro",
            PROMPT,
            ASPECT_RATIO,
            SEED,
            steps(25, 50),
            guidance(3.0, 2, 5),
            interval(),
            safety_tolerance(2, 1, 6),
        ),
    }
)

check_table(MODELS)
