"""fluxpanel: Jupyter widgets and a Python client for FLUX image models.

The public API is re-exported here. The widget and Pillow load only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._batch import Batch, Item, grid
from ._boxes import Box, compose_prompt, parse_prompt
from ._cache import CacheWarning, ResultCache, clear_cache
from ._client import AsyncFluxClient, FluxClient, resume
from ._compare import Comparison, acompare, compare
from ._errors import (
    APIError,
    AuthError,
    BadRequestError,
    ConfigError,
    ConnectError,
    CostLimitError,
    FluxError,
    ImageError,
    InsufficientCreditsError,
    ModelNotServedError,
    ModerationError,
    RateLimitError,
    RequestTimeout,
    ResultExpiredError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._export import ExportError, ExportExistsError
from ._files import FileReadError
from ._inputs import InputImage
from ._limits import HostLimits
from ._load import load
from ._loras import Lora
from ._pricing import PerMegapixel, PerTier, UpTo, estimate_cost
from ._request import GenerationRequest
from ._results import GeneratedImage, Generation
from ._retry import RetryPolicy
from ._row import side_by_side
from ._spec import ImageLimits, ModelSpec, ParamSpec
from ._version import __version__
from .tables._family import PRICES
from .tables.flux_api import MODELS

__all__ = [
    "MODELS",
    "PRICES",
    "APIError",
    "AsyncFluxClient",
    "AuthError",
    "BadRequestError",
    "Batch",
    "Box",
    "CacheWarning",
    "Comparison",
    "ConfigError",
    "ConnectError",
    "CostLimitError",
    "ExportError",
    "ExportExistsError",
    "FileReadError",
    "FluxClient",
    "FluxError",
    "FluxPanel",
    "GeneratedImage",
    "Generation",
    "GenerationRequest",
    "HostLimits",
    "ImageError",
    "ImageLimits",
    "InputImage",
    "InsufficientCreditsError",
    "Item",
    "Lora",
    "ModelNotServedError",
    "ModelSpec",
    "ModerationError",
    "ParamSpec",
    "PerMegapixel",
    "PerTier",
    "RateLimitError",
    "RequestTimeout",
    "ResultCache",
    "ResultExpiredError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "UpTo",
    "ValidationError",
    "__version__",
    "acompare",
    "clear_cache",
    "compare",
    "compose_prompt",
    "estimate_cost",
    "grid",
    "load",
    "parse_prompt",
    "resume",
    "side_by_side",
]

if TYPE_CHECKING:
    from ._panel import FluxPanel


def __getattr__(name: str) -> Any:
    # The widget pulls in anywidget and ipywidgets: load it on first use.
    if name == "FluxPanel":
        from ._panel import FluxPanel  # noqa: PLC0415 - the widget brings anywidget

        return FluxPanel
    raise AttributeError(f"module 'fluxpanel' has no attribute {name!r}")
