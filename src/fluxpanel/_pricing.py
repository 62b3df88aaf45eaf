"""Estimated cost of a request, from a per-model price table the user can override.

The defaults are the published per-image list prices of the FLUX hosts in
late 2026 (Black Forest Labs and Replicate list FLUX.1 [schnell] at about
$0.003, [dev] at $0.025 and [pro] at $0.05 per image). They are estimates:
the provider's bill is what counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._request import GenerationRequest

#: US dollars per image, by model id.
PRICES: Mapping[str, float] = MappingProxyType(
    {"flux_schnell": 0.003, "flux_dev": 0.025, "flux_pro": 0.05}
)


def estimate_cost(request: GenerationRequest, prices: Mapping[str, float] | None = None) -> float:
    """Dollars this request is expected to cost (0 for a model with no price)."""
    table = PRICES if prices is None else prices
    return float(table.get(request.model, 0.0)) * request.count


def format_cost(dollars: float) -> str:
    if dollars == 0:
        return "$0"
    return f"${dollars:.3f}" if dollars < 1 else f"${dollars:,.2f}"
