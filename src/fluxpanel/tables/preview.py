"""The preview's table: every model fluxpanel knows, each once.

The API page's three as the API page has them, the others as their maker
publishes them (Black Forest Labs), else as Replicate does. Placeholders are
drawn on this machine, so no host's caveats apply and a batch is one seed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType

from .._spec import ModelSpec
from . import bfl, flux_api, replicate
from ._params import NUM_IMAGES


def every_model() -> Mapping[str, ModelSpec]:
    """Every model fluxpanel knows, each once: the API page's first, then the
    others from their maker's table (Black Forest Labs), else Replicate's."""
    table: dict[str, ModelSpec] = dict(flux_api.MODELS)
    for source in (bfl.MODELS, replicate.MODELS):
        for id, spec in source.items():
            if id in table:
                continue
            params = {k: NUM_IMAGES if k == "num_images" else p for k, p in spec.params.items()}
            table[id] = dataclasses.replace(spec, params=params, caveats=(), batch_seeds="batch")
    return MappingProxyType(table)


MODELS = every_model()
