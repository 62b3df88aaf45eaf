"""The panel's parameter traits, made from capability tables (data), so no
parameter is written by hand in the widget class."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import traitlets as t

from ._spec import ModelSpec

#: The value a trait holds before a model's default is set.
_EMPTY = {"integer": 0, "number": 0.0, "boolean": False, "text": "", "choice": ""}


def param_kinds(tables: Iterable[Mapping[str, ModelSpec]]) -> dict[str, str]:
    """Each parameter any model in ``tables`` takes, with the kind of trait it
    needs: an integer here and a number there is a number; anything else that
    differs between hosts is a mistake in a table."""
    kinds: dict[str, str] = {}
    for table in tables:
        for spec in table.values():
            for name, p in spec.params.items():
                kind = "text" if p.kind == "choice" else p.kind
                known = kinds.setdefault(name, kind)
                if known == kind:
                    continue
                if {known, kind} == {"integer", "number"}:
                    kinds[name] = "number"
                    continue
                raise TypeError(f"{name} is {known} in one table and {kind} in another")
    return kinds


def make_trait(name: str, kind: str) -> t.TraitType[Any, Any]:
    """A synced trait for one parameter."""
    help = f"The {name.replace('_', ' ')} parameter (its range and default come from the model)."
    trait: t.TraitType[Any, Any]
    if kind == "integer":
        trait = t.Int(_EMPTY[kind], help=help)
    elif kind == "number":
        trait = t.Float(_EMPTY[kind], help=help)
    elif kind == "boolean":
        trait = t.Bool(_EMPTY[kind], help=help)
    else:
        trait = t.Unicode("", help=help)
    return trait.tag(sync=True)
