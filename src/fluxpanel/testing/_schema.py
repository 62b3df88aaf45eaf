"""Checking a request body against a host's published input schema, for the
fakes. Each fake writes its host's schema with these (from the host's
material, never from the adapters' tables) and answers in its host's words."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One input field as a schema publishes it."""

    type: str  # "string", "integer", "number", "boolean", "object"
    min: float | None = None
    max: float | None = None
    enum: tuple[Any, ...] | None = None
    required: bool = False
    multiple_of: int | None = None
    nullable: bool = False


def check(schema: Mapping[str, Field], data: Any, *, extra: bool = False) -> list[tuple[str, str]]:
    """``(field, problem)`` for each way ``data`` breaks ``schema``; unknown
    fields are problems unless ``extra``."""
    if not isinstance(data, dict):
        return [("body", "must be an object")]
    problems = [
        (name, "is required") for name, f in schema.items() if f.required and name not in data
    ]
    for name, value in data.items():
        f = schema.get(name)
        if f is None:
            if not extra:
                problems.append((name, "is not a field of this endpoint"))
            continue
        if value is None and f.nullable:
            continue
        problem = _problem(f, value)
        if problem:
            problems.append((name, problem))
    return problems


def _problem(f: Field, value: Any) -> str:
    if f.type == "boolean":
        return "" if isinstance(value, bool) else "must be a boolean"
    if f.type == "string":
        if not isinstance(value, str):
            return "must be a string"
    elif f.type == "object":
        return "" if isinstance(value, dict) else "must be an object"
    elif f.type in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a{'n integer' if f.type == 'integer' else ' number'}"
        if f.type == "integer" and not float(value).is_integer():
            return "must be an integer"
        if f.min is not None and value < f.min:
            return f"must be greater than or equal to {f.min:g}"
        if f.max is not None and value > f.max:
            return f"must be less than or equal to {f.max:g}"
        if f.multiple_of and value % f.multiple_of:
            return f"must be a multiple of {f.multiple_of}"
    if f.enum is not None and value not in f.enum:
        return "must be one of " + ", ".join(repr(e) for e in f.enum)
    return ""
