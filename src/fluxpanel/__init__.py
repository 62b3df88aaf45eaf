"""fluxpanel: Jupyter widgets and a Python client for FLUX image models.

The public API is re-exported here. Pillow loads only when used.
"""

from __future__ import annotations

from ._client import AsyncFluxClient, FluxClient
from ._engine import RetryPolicy
from ._errors import (
    APIError,
    AuthError,
    BadRequestError,
    ConfigError,
    ConnectError,
    FluxError,
    ImageError,
    InsufficientCreditsError,
    ModerationError,
    RateLimitError,
    RequestTimeout,
    ResultExpiredError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._request import GenerationRequest
from ._results import GeneratedImage, Generation
from ._spec import MODELS, ModelSpec, ParamSpec

__version__ = "0.1.0"

__all__ = [
    "MODELS",
    "APIError",
    "AsyncFluxClient",
    "AuthError",
    "BadRequestError",
    "ConfigError",
    "ConnectError",
    "FluxClient",
    "FluxError",
    "GeneratedImage",
    "Generation",
    "GenerationRequest",
    "ImageError",
    "InsufficientCreditsError",
    "ModelSpec",
    "ModerationError",
    "ParamSpec",
    "RateLimitError",
    "RequestTimeout",
    "ResultExpiredError",
    "RetryPolicy",
    "ServerError",
    "TransportError",
    "ValidationError",
    "__version__",
]
