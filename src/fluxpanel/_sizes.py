"""How a host sizes a model's image: small named rules a table row picks.

A request's :attr:`~fluxpanel.GenerationRequest.size` (for cost estimates,
the preview's placeholders and the panel's layout) asks its row's rule. Each
rule reads the request's parameters and input images; where what it reads is
not given it falls back to the first input image's shape at about a
megapixel (or its tier's pixels), else a square.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

from ._inputs import InputImage

#: About a megapixel: the size hosts make when given only a shape.
MEGAPIXEL = 1024 * 1024


class Sized(Protocol):
    """What a rule reads of a request."""

    @property
    def params(self) -> dict[str, Any]: ...

    @property
    def inputs(self) -> dict[str, Any]: ...


def near(ratio: float, area: int = MEGAPIXEL) -> tuple[int, int]:
    """About ``area`` pixels at ``ratio`` (width / height), in multiples of 16."""
    h = (area / ratio) ** 0.5
    return max(16, round(h * ratio / 16) * 16), max(16, round(h / 16) * 16)


def first_input(request: Sized) -> InputImage | None:
    """The request's first input image whose size is known (not a URL)."""
    for value in request.inputs.values():
        first = value[0] if isinstance(value, tuple) else value
        if isinstance(first, InputImage) and first.width and first.height:
            return first
    return None


class SizeRule:
    """A host's way of sizing a model's image."""

    def size(self, request: Sized) -> tuple[int, int]:
        """``(width, height)`` in pixels that ``request`` asks for, as near
        as its parameters say."""
        return self.shape_of_input(request, MEGAPIXEL)

    def placed(self, params: Mapping[str, Any]) -> tuple[int, int] | None:
        """Where the input image sits on the result, when the result is it
        grown; ``None`` otherwise."""
        return None

    @staticmethod
    def shape_of_input(request: Sized, area: int) -> tuple[int, int]:
        image = first_input(request)
        return near(image.width / image.height if image else 1.0, area)


@dataclass(frozen=True)
class Ratio(SizeRule):
    """A ratio (``16:9``) at about a megapixel, or at the pixels of a tier
    (FLUX 3's ``resolution``); a ratio that is not one (``auto``,
    ``match_input``) follows the first input image. The tier ``own`` names
    (FLUX 3.1's ``match_first_image``) takes the first input image's pixels:
    its very size, unless a ratio is given."""

    param: str = "aspect_ratio"
    tiers: Mapping[str, int] = field(default_factory=dict)
    tier: str = "resolution"
    #: The pixels without a tier (Ultra's four megapixels).
    area: int = MEGAPIXEL
    own: str = ""

    def size(self, request: Sized) -> tuple[int, int]:
        params = request.params
        area = self.tiers.get(str(params.get(self.tier)), self.area)
        image = first_input(request) if self.own else None
        if image is not None and params.get(self.tier) == self.own:
            area = image.width * image.height
        w, colon, h = str(params.get(self.param, "")).partition(":")
        if colon and w.isdigit() and h.isdigit() and int(h):
            return near(int(w) / int(h), area)
        if image is not None and params.get(self.tier) == self.own:
            return image.width, image.height
        return self.shape_of_input(request, area)


@dataclass(frozen=True)
class Pixels(SizeRule):
    """A width and a height in pixels; when they do not apply (a size the
    model chooses), ``otherwise``."""

    width: str = "width"
    height: str = "height"
    otherwise: SizeRule = field(default_factory=Ratio)

    def size(self, request: Sized) -> tuple[int, int]:
        w, h = request.params.get(self.width), request.params.get(self.height)
        if isinstance(w, int) and isinstance(h, int):
            return w, h
        return self.otherwise.size(request)


@dataclass(frozen=True)
class Named(SizeRule):
    """Sizes by name (fal's ``landscape_4_3``) or written out (the API page's
    ``1024x768``); any other value, ``otherwise``."""

    names: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    param: str = "aspect_ratio"
    otherwise: SizeRule = field(default_factory=Ratio)

    def size(self, request: Sized) -> tuple[int, int]:
        value = str(request.params.get(self.param, ""))
        w, x, h = value.partition("x")
        if x and w.isdigit() and h.isdigit():
            return int(w), int(h)
        if value in self.names:
            return self.names[value]
        return self.otherwise.size(request)


@dataclass(frozen=True)
class Keeps(SizeRule):
    """The size of an input image (inpainting, erasing and deblurring keep
    their image's)."""

    param: str = "image"

    def size(self, request: Sized) -> tuple[int, int]:
        image = request.params.get(self.param)
        if isinstance(image, InputImage) and image.width:
            return image.width, image.height
        return super().size(request)


@dataclass(frozen=True)
class Grown(SizeRule):
    """An input image grown by pixels on its sides (FLUX.1 Expand)."""

    param: str = "image"
    sides: tuple[str, str, str, str] = ("top", "bottom", "left", "right")

    def size(self, request: Sized) -> tuple[int, int]:
        p = request.params
        image = p.get(self.param)
        if not isinstance(image, InputImage) or not image.width:
            return super().size(request)
        top, bottom, left, right = (int(p.get(side) or 0) for side in self.sides)
        return image.width + left + right, image.height + top + bottom

    def placed(self, params: Mapping[str, Any]) -> tuple[int, int] | None:
        if not any(params.get(side) for side in self.sides):
            return None
        return int(params.get(self.sides[2]) or 0), int(params.get(self.sides[0]) or 0)


@dataclass(frozen=True)
class Megapixels(SizeRule):
    """A ratio at a number of megapixels (Replicate's FLUX.2 ``resolution``,
    ``"2 MP"``), or at the first input image's own (``match_input_image``,
    kept between ``least`` and ``most``); no side past ``longest`` ("The
    maximum image size is 2048x2048")."""

    param: str = "resolution"
    least: float = 0.5
    most: float = 4.0
    longest: int = 2048

    def size(self, request: Sized) -> tuple[int, int]:
        value = str(request.params.get(self.param, ""))
        image = first_input(request)
        if value.endswith(" MP"):
            area = float(value[:-3]) * MEGAPIXEL
        elif image is not None:
            own = image.width * image.height
            area = min(max(own, self.least * MEGAPIXEL), self.most * MEGAPIXEL)
        else:
            area = MEGAPIXEL
        w, h = Ratio(area=int(area)).size(request)
        scale = min(1.0, self.longest / max(w, h))
        return max(16, int(w * scale) // 16 * 16), max(16, int(h * scale) // 16 * 16)


#: fal's named sizes (fal-js ``ImageSize``; the model pages give the pixels).
FAL_SIZES: Mapping[str, tuple[int, int]] = MappingProxyType(
    {
        "square_hd": (1024, 1024),
        "square": (512, 512),
        "portrait_4_3": (768, 1024),
        "portrait_16_9": (576, 1024),
        "landscape_4_3": (1024, 768),
        "landscape_16_9": (1024, 576),
    }
)

#: FLUX 3's resolution tiers, in pixels (768 x 768 to about 16 megapixels;
#: the tiers as Black Forest Labs' reference and the ComfyUI node name them).
FLUX3_TIERS: Mapping[str, int] = MappingProxyType(
    {
        "768sq": 768 * 768,
        "1k": 1024 * 1024,
        "1.5k": 1536 * 1536,
        "2k": 2048 * 2048,
        "4k": 4096 * 4096,
    }
)

#: FLUX 3.1 Image's resolution presets, in pixels (1k, 2k and 4k: about
#: 1, 4 and 16 megapixels, as its prices by size say).
FLUX31_TIERS: Mapping[str, int] = MappingProxyType(
    {"1k": 1024 * 1024, "2k": 2048 * 2048, "4k": 4096 * 4096}
)

#: The rules rows pick most.
BY_RATIO = Ratio()
BY_PIXELS = Pixels()
BY_TIER = Ratio(tiers=FLUX3_TIERS)
#: FLUX1.1 [pro] Ultra: a ratio at about four megapixels.
ULTRA = Ratio(area=4 * MEGAPIXEL)
#: Replicate's ``megapixels`` and ``output_megapixels``, as strings.
BY_MEGAPIXELS = Ratio(
    tiers=MappingProxyType({m: int(float(m) * MEGAPIXEL) for m in ("0.25", "0.5", "1", "2", "4")}),
    tier="megapixels",
)
#: Replicate's FLUX.2: a width and height with ``custom``, else a ratio at
#: the megapixels of its ``resolution``.
BY_RESOLUTION = Pixels(otherwise=Megapixels())
#: The image the model edits keeps its size (Fill, Erase, Deblur).
KEEPS_IMAGE = Keeps("image")
#: FLUX.1 Expand: the image grown on its sides.
GROWN_IMAGE = Grown("image")
#: FLUX 3.1 Image: an exact width and height, else a ratio at a preset's
#: pixels or at the first image's (``match_first_image``).
FLUX31 = Pixels(otherwise=Ratio(tiers=FLUX31_TIERS, own="match_first_image"))
