"""FLUX 3's parameters and rows, shared by every host that offers it: FLUX 3
Image and Klein (boxes written into the prompt, resolution tiers, no seed)
and FLUX 3.1 Image (a mask on the first reference, boxes as a field of
fractions that can move an object, exact sizes). Sources: each host's table.
"""

from __future__ import annotations

import dataclasses

from .._inputs import ImageLimits
from .._sizes import BY_TIER, FLUX31
from .._spec import Caveat, ModelSpec, ParamSpec, Wire
from ._params import PROMPT, choice, image, model, references

#: FLUX 3's boxes: where each element goes, written into the prompt on the way
#: to the host (see :mod:`fluxpanel._boxes`).
BOXES = ParamSpec(
    "boxes",
    "boxes",
    "Boxes",
    "Where each element goes: draw a box, name it (cite it in the prompt as <name>) and "
    "describe it. Coordinates are on a 0-1000 grid from the top-left corner.",
    default=(),
    backdrop=("input_images", "aspect_ratio"),
)
#: FLUX 3 takes no seed: said wherever it is offered.
NO_SEED = Caveat(
    "FLUX 3 takes no seed: the same settings make a different image each time. "
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


def flux3_image(
    limits: ImageLimits,
    *params: ParamSpec,
    wire: Wire | None = None,
    id: str = "flux_3_image",
    caveats: tuple[Caveat, ...] = (),
) -> ModelSpec:
    """FLUX 3 Image (or Klein, its small sibling with the same fields) at a
    host: the prompt, one to ten references (named in the prompt as image 1
    ... image 10), the boxes, the aspect ratio and the host's other
    ``params``. No seed: it takes none."""
    return model(
        id,
        PROMPT,
        references(limits, 10),
        BOXES,
        flux3_ratio(),
        *params,
        caveats=(NO_SEED, *caveats),
        size=BY_TIER,
        wire=wire,
    )


#: FLUX 3.1 Image's boxes: FLUX 3's, sent as a field of fractions, and able
#: to move an object (see :mod:`fluxpanel._boxes`).
LAYOUT = dataclasses.replace(
    BOXES,
    kind="layout",
    help="Where each element goes: draw a box, name it (cite it in the prompt as <name>) and "
    "describe it; draw where an object is on a reference first to move it there. Up to 32.",
    max=32,
)
#: FLUX 3.1 Image's ratios: FLUX 3's, with the first reference's own shape.
FLUX31_RATIOS = (FLUX3_RATIOS[0], "match_first_image", *FLUX3_RATIOS[1:])
#: The exact sizes FLUX 3.1 Image makes: up to 16 megapixels (its 4k preset,
#: 4096 x 4096) and 8:1, so no side past 11,585 pixels; from 256, the least
#: a reference may have (the host's schema says from 1).
_FLUX31_SIDE = {"min": 256, "max": 11584, "step": 16, "only_with": ("resolution", "custom")}


MODE = choice(
    "mode",
    "Mode",
    "quality is better at text, many references and fine detail; fast costs less.",
    ("quality", "fast"),
    "quality",
)
FLUX31_RATIO = choice(
    "aspect_ratio",
    "Aspect ratio",
    "Shape of the image; auto lets the model choose from the prompt, "
    "match_first_image keeps the first reference's shape.",
    FLUX31_RATIOS,
    "auto",
)
FLUX31_RESOLUTION = choice(
    "resolution",
    "Resolution",
    "Size of the image: 1k (about 1 megapixel), 2k (4) or 4k (16); match_first_image "
    "keeps image 1's (with its aspect ratio, its very size); custom gives an exact "
    "width and height. Larger sizes cost more.",
    ("1k", "2k", "4k", "match_first_image", "custom"),
    "1k",
)
FLUX31_WIDTH = ParamSpec(
    "width", "integer", "Width", "Width of the image in pixels.", default=2048, **_FLUX31_SIDE
)
FLUX31_HEIGHT = ParamSpec(
    "height",
    "integer",
    "Height",
    "Height of the image in pixels; with the width, at most 16 megapixels and 8:1.",
    default=1024,
    area_with=("width", 16, 8),
    **_FLUX31_SIDE,
)
#: The host's ``grounding`` (FLUX 3's is a switch of that name, so it is not one here).
SEARCH = choice(
    "search",
    "Web search",
    "Let the model search the web for reference images and facts first: off, auto "
    "(when the prompt needs it) or force.",
    ("off", "auto", "force"),
    "off",
)


def first_mask(limits: ImageLimits) -> ParamSpec:
    """A mask over the first reference (white may change), of its shape."""
    mask = image(
        "mask",
        "Mask",
        "Paint over image 1 what may change: white changes, black is kept.",
        limits,
        urls=True,
        mask_of="input_images",
    )
    return dataclasses.replace(mask, needs="input_images")


def flux31_image(
    limits: ImageLimits,
    *params: ParamSpec,
    wire: Wire | None = None,
    caveats: tuple[Caveat, ...] = (),
) -> ModelSpec:
    """FLUX 3.1 Image at a host: the prompt, one to ten references (at most
    nine with a mask), a mask on the first, its boxes, a mode, a shape and a
    preset size or an exact one, web search, and the host's other
    ``params``. No seed and no steps: the endpoint refuses them."""
    return model(
        "flux_3_1_image",
        PROMPT,
        dataclasses.replace(references(limits, 10), most_with=("mask", 9)),
        first_mask(limits),
        LAYOUT,
        MODE,
        FLUX31_RATIO,
        FLUX31_RESOLUTION,
        FLUX31_WIDTH,
        FLUX31_HEIGHT,
        SEARCH,
        *params,
        caveats=(NO_SEED, *caveats),
        size=FLUX31,
        wire=wire,
    )
