"""Prices and estimated cost: a price per image, by the megapixel or by tier.

Each model's price at a host is part of its row (:mod:`fluxpanel.tables`);
the list prices and their sources are in :mod:`fluxpanel.tables._family`
(:data:`fluxpanel.PRICES`). They are estimates: the provider's bill is what
counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._request import GenerationRequest


@dataclass(frozen=True)
class PerMegapixel:
    """A price by the megapixel: ``first`` dollars for the first, ``more`` for
    each further one, each begun megapixel counted; with ``inputs``, the
    input images' megapixels count too (as FLUX.2 is billed; a mask is not
    an input image here)."""

    first: float
    more: float
    inputs: bool = True

    def per_image(self, request: GenerationRequest) -> float:
        """Dollars for one image of ``request``."""
        width, height = request.size
        megapixels = math.ceil(width * height / 1_000_000)
        if self.inputs:
            for name, value in request.inputs.items():
                if request.spec.params[name].mask_of:
                    continue
                for image in value if isinstance(value, tuple) else (value,):
                    if image.width:
                        megapixels += math.ceil(image.width * image.height / 1_000_000)
        return self.first + self.more * max(megapixels - 1, 0)


@dataclass(frozen=True)
class UpTo:
    """A price by the image's size: each of ``sizes`` is ``(megapixels,
    dollars)``, smallest first, and an image pays the first that holds it
    (FLUX 3.1 Image: 1, 4 and 16 megapixels)."""

    sizes: tuple[tuple[float, float], ...]

    def per_image(self, request: GenerationRequest) -> float:
        """Dollars for one image of ``request``."""
        width, height = request.size
        megapixels = width * height / 1_000_000
        for most, dollars in self.sizes:
            if megapixels <= most * 1.05:  # a preset's "1 MP" is 1024 x 1024
                return dollars
        return self.sizes[-1][1]


@dataclass(frozen=True)
class PerTier:
    """A price by the value of one parameter (FLUX 3's ``resolution``, FLUX
    3.1's ``mode``): ``prices`` maps each value to dollars per image, or to a
    price of its own; a request without the parameter (a host that does not
    offer it) pays ``default``'s price."""

    param: str
    prices: Mapping[str, Price]
    default: str

    def per_image(self, request: GenerationRequest) -> float:
        """Dollars for one image of ``request``."""
        tier = request.params.get(self.param, self.default)
        return _each(self.prices.get(tier, self.prices[self.default]), request)


Price = float | PerMegapixel | PerTier | UpTo


def _each(price: Price, request: GenerationRequest) -> float:
    return float(price) if isinstance(price, (int, float)) else price.per_image(request)


def estimate_cost(request: GenerationRequest, prices: Mapping[str, Price] | None = None) -> float:
    """Dollars this request is expected to cost (0 for a model with no price):
    by its row's price, or by ``prices`` (dollars per image by model) when given."""
    price = request.spec.price if prices is None else prices.get(request.model)
    price = 0.0 if price is None else price
    return _each(price, request) * request.count


def format_cost(dollars: float) -> str:
    if dollars == 0:
        return "$0"
    return f"${dollars:.3f}" if dollars < 1 else f"${dollars:,.2f}"
