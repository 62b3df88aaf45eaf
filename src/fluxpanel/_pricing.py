"""Estimated cost of a request, from a per-model price table the user can override.

The defaults are the hosts' published list prices in late 2026, the lowest
where hosts differ; they are estimates, and the provider's bill is what
counts. Sources:

- FLUX.1 [schnell] about $0.003, [dev] $0.025, [pro] $0.05 per image (Black
  Forest Labs and Replicate).
- FLUX1.1 [pro] $0.04, [pro] Ultra $0.06, FLUX.1 Kontext [pro] $0.04 and [max]
  $0.08, FLUX.1 Fill [pro] $0.05 per image (Black Forest Labs' pricing page,
  docs.bfl.ml/quick_start/pricing; fal lists Kontext [max] at $0.08 too).
- FLUX.2 is priced by the megapixel, input images counted with the output
  (docs.bfl.ai/quick_start/pricing): [pro] 3 cents for the first megapixel
  and 1.5 for each further one, [max] 7 and 3, [flex] 5 and 5, [klein] 4B
  1.4 and 0.1, [klein] 9B 1.5 and 0.2.
- FLUX 3 Image by resolution tier: 768sq $0.041, 1k $0.048, 2k $0.10 and
  4k $0.607 per image (Black Forest Labs' list prices as Runware publishes
  them, runware.ai/docs/models/bfl-flux-3-image; fal lists 1k at $0.048,
  fal.ai/models/blackforestlabs/flux-3/edit-image). No price for 1.5k was
  found; it estimates at the 2k price, the next tier up.
- FLUX Erase by the megapixel: 3 cents for the first generated, 0.4 for each
  further one and for each megapixel of the input image (fal's model page,
  fal.ai/models/fal-ai/flux-pro/v1/erase/llms.txt; Runware publishes the same
  for Black Forest Labs' endpoint). The mask is not counted.
- FLUX Virtual Try-On: 3.75 cents for the first input megapixel, 0.5 for each
  further input megapixel and each output megapixel (fal's model page,
  fal.ai/models/fal-ai/flux-pro/v1/vto/llms.txt): the same sum as 3.75 cents
  for the first megapixel and 0.5 for each other, inputs and output together.
- No published price was found for FLUX Deblur and FLUX Outpainting (Black
  Forest Labs), nor for Kontext [dev] and FLUX.2 [dev] (run on
  Replicate's and fal's own hardware), nor for FLUX.1 Expand [pro] (Black
  Forest Labs' pricing pages list Fill but not Expand); they estimate at $0
  until set here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
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
class PerTier:
    """A price by the value of one parameter (FLUX 3's ``resolution``):
    ``prices`` maps each value to dollars per image; a request without the
    parameter (a host that does not offer it) pays ``default``'s price."""

    param: str
    prices: Mapping[str, float]
    default: str

    def per_image(self, request: GenerationRequest) -> float:
        """Dollars for one image of ``request``."""
        tier = request.params.get(self.param, self.default)
        return float(self.prices.get(tier, self.prices[self.default]))


Price = float | PerMegapixel | PerTier

#: US dollars per image (or a :class:`PerMegapixel` or :class:`PerTier`), by model id.
PRICES: Mapping[str, Price] = MappingProxyType(
    {
        "flux_schnell": 0.003,
        "flux_dev": 0.025,
        "flux_pro": 0.05,
        "flux_pro_1_1": 0.04,
        "flux_pro_1_1_ultra": 0.06,
        "flux_kontext_pro": 0.04,
        "flux_kontext_max": 0.08,
        "flux_fill_pro": 0.05,
        "flux_erase": PerMegapixel(0.03, 0.004),
        "flux_vto": PerMegapixel(0.0375, 0.005),
        "flux_2_pro": PerMegapixel(0.03, 0.015),
        "flux_2_max": PerMegapixel(0.07, 0.03),
        "flux_2_flex": PerMegapixel(0.05, 0.05),
        "flux_2_klein_4b": PerMegapixel(0.014, 0.001),
        "flux_2_klein_9b": PerMegapixel(0.015, 0.002),
        "flux_3_image": PerTier(
            "resolution",
            MappingProxyType({"768sq": 0.041, "1k": 0.048, "1.5k": 0.10, "2k": 0.10, "4k": 0.607}),
            "1k",
        ),
    }
)


def estimate_cost(request: GenerationRequest, prices: Mapping[str, Price] | None = None) -> float:
    """Dollars this request is expected to cost (0 for a model with no price)."""
    table = PRICES if prices is None else prices
    price = table.get(request.model, 0.0)
    each = price.per_image(request) if isinstance(price, (PerMegapixel, PerTier)) else float(price)
    return each * request.count


def format_cost(dollars: float) -> str:
    if dollars == 0:
        return "$0"
    return f"${dollars:.3f}" if dollars < 1 else f"${dollars:,.2f}"
