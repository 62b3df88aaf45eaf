"""Providers: the hosts fluxpanel can generate with, behind one small interface."""

from __future__ import annotations

import os
import sys
import warnings

from .._errors import ConfigError
from ._base import Call, Outputs, Progress, Provider, Reply
from .bfl import BlackForestLabs
from .fal import Fal
from .flux_api import FluxAPI
from .preview import Preview
from .replicate import Replicate

__all__ = [
    "PROVIDERS",
    "Call",
    "Fal",
    "FluxAPI",
    "Outputs",
    "Preview",
    "PreviewNotice",
    "Progress",
    "Provider",
    "Replicate",
    "Reply",
    "get_provider",
]

#: Provider classes by name, in the order a provider is chosen from the environment.
PROVIDERS: dict[str, type[Provider]] = {
    "flux-api": FluxAPI,
    "bfl": BlackForestLabs,
    "replicate": Replicate,
    "fal": Fal,
    "preview": Preview,
}

#: How to set up a hosted provider, in words (for the notice and the panel's banner).
SETUP = (
    "BFL_API_KEY (Black Forest Labs), REPLICATE_API_TOKEN (Replicate), FAL_KEY (fal), "
    "or FLUX_API_KEY and FLUX_API_URL"
)


def configured() -> list[str]:
    """Names of the hosted providers whose key is set in the environment."""
    return [name for name, cls in PROVIDERS.items() if cls.key_env and os.environ.get(cls.key_env)]


class PreviewNotice(UserWarning):
    """Said once when no key is configured and the preview provider is used."""


_notice_given = False


def _preview_notice() -> None:
    global _notice_given
    if not _notice_given:
        _notice_given = True
        warnings.warn(
            "No API key is set, so fluxpanel is using the offline preview provider: "
            "placeholder images, no network, no cost. To generate real images, set "
            f"{SETUP} and restart the kernel.",
            PreviewNotice,
            stacklevel=_caller_level(),
        )


def _caller_level() -> int:
    """The stack level of the first frame outside fluxpanel (for warnings)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("fluxpanel"):
        frame, level = frame.f_back, level + 1
    return level


def get_provider(
    provider: Provider | str | None = None,
    *,
    api_key: str | None = None,
    url: str | None = None,
) -> Provider:
    """The provider to use, from an object, a name, or the environment.

    With none named: the FLUX API when ``api_key``/``url`` are given, else the
    first provider whose key is set in the environment (``$FLUX_API_KEY``,
    ``$BFL_API_KEY``, ``$REPLICATE_API_TOKEN``, ``$FAL_KEY``, in that order),
    else the offline preview, said once.
    """
    if isinstance(provider, Provider):
        if api_key is not None or url is not None:
            raise ConfigError("pass api_key= and url= to the provider object, not to the client")
        return provider
    if provider is None:
        if api_key is not None or url is not None:
            return FluxAPI(api_key=api_key, url=url)
        names = configured()
        if names:
            return PROVIDERS[names[0]]()
        _preview_notice()
        return Preview()
    if isinstance(provider, str):
        cls = PROVIDERS.get(provider)
        if cls is None:
            raise ConfigError(
                f"provider={provider!r} is not known; choose one of: " + ", ".join(PROVIDERS)
            )
        if cls is FluxAPI:
            return FluxAPI(api_key=api_key, url=url)
        if cls is Preview:
            if api_key is not None or url is not None:
                raise ConfigError("the preview provider takes no api_key or url")
            return Preview()
        return cls(api_key=api_key, base_url=url)  # type: ignore[call-arg]
    raise ConfigError(f"provider must be a Provider, a name or None, not {type(provider).__name__}")
