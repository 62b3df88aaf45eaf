"""The capability tables: for each host, one row per model it offers.

A row (:func:`fluxpanel.tables._params.model`) holds everything about a
model at a host: its parameters with their ranges and defaults, the
endpoint or route (and the one used with input images), how the host spells
its fields, how it sizes the image, its price and its status. Validation,
the panel's traits and controls, snippets, docs and the adapters all read
these; the hosts' fakes in :mod:`fluxpanel.testing` are written from the
hosts' own documents and never read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from .._spec import ModelSpec
from . import bfl, fal, flux_api, preview, replicate

#: Each provider's table, by the provider's name.
TABLES: Mapping[str, Mapping[str, ModelSpec]] = MappingProxyType(
    {
        "flux-api": flux_api.MODELS,
        "bfl": bfl.MODELS,
        "replicate": replicate.MODELS,
        "fal": fal.MODELS,
        "preview": preview.MODELS,
    }
)


def table_for(provider: str | None) -> Mapping[str, ModelSpec]:
    """The table of the provider called ``provider`` (the API page's for
    ``None`` or a name fluxpanel does not ship)."""
    return TABLES.get(provider or "", flux_api.MODELS)


def table_name(models: Mapping[str, ModelSpec]) -> str | None:
    """The name of the provider whose table ``models`` is, if fluxpanel ships it."""
    return next((name for name, table in TABLES.items() if table is models), None)
