"""Kinds of value: one class per kind, owning every rule about it.

A parameter's ``kind`` names one of these (``KINDS["integer"]``). The kind
says how a Python value is checked and brought to canonical form
(:meth:`Kind.coerce`), how a value carries over to a model with other limits
(:meth:`Kind.fit`), what is allowed in words (:meth:`Kind.allowed`), how a
value is written in requests' JSON (:meth:`Kind.json`), what the view is told
about the parameter (:meth:`Kind.view`), which trait holds it in the panel
(:meth:`Kind.trait`), how a snippet writes it (:meth:`Kind.snippet`) and how
the docs' table describes it (:meth:`Kind.doc`). Callers ask the table; none
of them branches on a kind. A new kind of value is a class here (or beside its
kin in :mod:`fluxpanel._image_kinds`) and a row in
:data:`KINDS` (see docs/site/architecture.md, "Add a kind").
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from ._boxes import Box
from ._errors import ValidationError
from ._image_kinds import Boxes, Image, Images, Layout, Naming, file_of, in_folder
from ._keys import url_secrets
from ._kind import DROP, Kind, _bounds, _plain_trait, grouped, number
from ._loras import (
    FINETUNES,
    MAX_LORAS,
    SOURCES,
    Lora,
    entries,
    scale_problem,
    shown,
    source_problem,
)
from ._sizes import FAL_SIZES
from ._words import choice_label, in_words, reason

if TYPE_CHECKING:
    import traitlets

    from ._spec import ModelSpec, ParamSpec


class Text(Kind):
    """A string of ``min`` to ``max`` characters (the prompt)."""

    name = family = "text"
    empty = ""

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        if not isinstance(value, str):
            raise self.fail(p, model, value, f"expected a string, got {type(value).__name__}")
        n = len(value)
        if (p.min is not None and n < p.min) or (p.max is not None and n > p.max):
            # Don't echo a 10,000-character prompt back in the message.
            shown = value if n <= 60 else value[:57] + "..."
            error = p.invalid(model, value, f"{p.name} has {n} characters ({shown!r})")
            error.missing = not value.strip()  # nothing written yet
            raise error
        return value

    def fit(self, p: ParamSpec, value: Any) -> Any:
        if isinstance(value, str) and p.max is not None:
            return value[: int(p.max)]
        return value

    def allowed(self, p: ParamSpec) -> str:
        return f"a string of {number(p.min)} to {number(p.max)} characters"

    def ask(self, p: ParamSpec) -> str:
        return f"Write the {p.label.lower()}."

    def say(self, spec: ModelSpec, p: ParamSpec, error: ValidationError) -> str:
        n = len(error.value) if isinstance(error.value, str) else None
        if error.missing or (n is not None and p.min is not None and n < p.min):
            return self.ask(p)
        if n is not None and p.max is not None and n > p.max:
            return f"Shorten the {p.label.lower()} to {int(p.max):,} characters (it has {n:,})."
        return super().say(spec, p, error)

    def view(self, p: ParamSpec) -> dict[str, Any]:
        return _bounds(p)

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        return _plain_trait("Unicode", "", help)


class Choice(Kind):
    """One of a list of strings (an aspect ratio, a resolution tier)."""

    name = "choice"
    family = "text"
    empty = ""

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        if not isinstance(value, str) or value not in (p.choices or ()):
            raise self.fail(p, model, value, "not one of the choices")
        return value

    def fit(self, p: ParamSpec, value: Any) -> Any:
        return value if value in (p.choices or ()) else DROP

    def allowed(self, p: ParamSpec) -> str:
        return "one of " + ", ".join(repr(c) for c in p.choices or ())

    def ask(self, p: ParamSpec) -> str:
        return f"Choose {p.label.lower()} from the list."

    def check(self, p: ParamSpec) -> None:
        assert p.default is None or p.default in (p.choices or ()), p.name

    def view(self, p: ParamSpec) -> dict[str, Any]:
        choices = list(p.choices or ())
        labels = [choice_label(p.name, c, FAL_SIZES) for c in choices]
        return {"choices": choices, **({"labels": labels} if labels != choices else {})}

    def doc(self, p: ParamSpec) -> str:
        choices = list(p.choices or ())
        shown = ", ".join(choices) if len(choices) <= 4 else f"{len(choices)} choices"
        return f"`{p.name}` {shown} ({p.default})"

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        return _plain_trait("Unicode", "", help)


class Boolean(Kind):
    """True or False (a switch)."""

    name = family = "boolean"
    empty = False

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        if not isinstance(value, bool):
            raise self.fail(p, model, value, f"expected True or False, got {type(value).__name__}")
        return value

    def fit(self, p: ParamSpec, value: Any) -> Any:
        return value if isinstance(value, bool) else DROP

    def allowed(self, p: ParamSpec) -> str:
        return "True or False"

    def check(self, p: ParamSpec) -> None:
        assert p.default is None or isinstance(p.default, bool), p.name

    def doc(self, p: ParamSpec) -> str:
        return f"`{p.name}` ({'on' if p.default else 'off'})"

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        return _plain_trait("Bool", False, help)


class Number(Kind):
    """A finite number from ``min`` to ``max`` (a multiple of ``multiple_of``
    where the host asks for one)."""

    name = family = "number"
    noun = "a number"
    empty = 0.0

    def canonical(self, p: ParamSpec, value: Any, model: str) -> Any:
        if not isinstance(value, numbers.Real):
            raise self.fail(p, model, value, f"expected a number, got {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value):
            raise self.fail(p, model, value, "not a finite number")
        return value

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        if isinstance(value, bool):
            raise self.fail(p, model, value, "expected a number, got a bool")
        value = self.canonical(p, value, model)
        if (p.min is not None and value < p.min) or (p.max is not None and value > p.max):
            raise self.fail(p, model, value, "out of range")
        if p.multiple_of and value % p.multiple_of:
            raise self.fail(p, model, value, f"not a multiple of {p.multiple_of}")
        return value

    def fit(self, p: ParamSpec, value: Any) -> Any:
        if not isinstance(value, numbers.Real):
            return value  # not a number: checked (and refused) when used
        if isinstance(value, bool) or not math.isfinite(value):
            return DROP
        lo = p.min if p.min is not None else value
        hi = p.max if p.max is not None else value
        value = self.rounded(min(max(value, lo), hi))
        if p.multiple_of:
            value = max(int(lo), min(int(hi), round(value / p.multiple_of) * p.multiple_of))
        return value

    def rounded(self, value: float) -> Any:
        return float(value)

    def say(self, spec: ModelSpec, p: ParamSpec, error: ValidationError) -> str:
        if error.missing or "out of range" not in str(error) or p.min is None:
            return super().say(spec, p, error)
        step = f", in steps of {p.multiple_of}" if p.multiple_of else ""
        return f"Set {p.label} between {number(p.min)} and {number(p.max)}{step}."

    def allowed(self, p: ParamSpec) -> str:
        text = f"{self.noun} from {number(p.min)} to {number(p.max)}"
        if p.multiple_of:
            text += f", a multiple of {p.multiple_of}"
        return text

    def check(self, p: ParamSpec) -> None:
        if p.default is None:
            return
        assert p.min is not None and p.max is not None, p.name
        assert math.isfinite(p.default) and p.min <= p.default <= p.max, p.name
        assert not p.multiple_of or p.default % p.multiple_of == 0, p.name

    def view(self, p: ParamSpec) -> dict[str, Any]:
        return _bounds(p)

    def doc(self, p: ParamSpec) -> str:
        text = f"`{p.name}` {grouped(p.min)}–{grouped(p.max)} ({grouped(p.default)})"
        return text + (f" ×{p.multiple_of}" if p.multiple_of else "")

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        return _plain_trait("Float", 0.0, help)


class Integer(Number):
    """A whole number from ``min`` to ``max`` (steps, sizes, seeds)."""

    name = family = "integer"
    wider = "number"
    noun = "an integer"
    empty = 0

    def canonical(self, p: ParamSpec, value: Any, model: str) -> Any:
        if not isinstance(value, numbers.Integral):
            raise self.fail(p, model, value, f"expected an integer, got {type(value).__name__}")
        return int(value)

    def rounded(self, value: float) -> Any:
        return round(value)

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        return _plain_trait("Int", 0, help)


class Loras(Kind):
    """LoRAs a host loads on top of the model: a tuple of
    :class:`~fluxpanel.Lora` (an https URL or a name such as ``owner/lora``,
    and a scale), at most ``max``; ``each`` is the rule for a scale."""

    name = family = "loras"
    many = True
    empty = ()
    #: Whether a source is the host's finetune id rather than weights to fetch.
    finetune: ClassVar[bool] = False
    #: What one entry is called in messages.
    noun: ClassVar[str] = "LoRA"

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        try:
            given = entries(value)
        except ValidationError as e:
            raise p.invalid(model, value, f"{p.name}: {e}") from None
        most = int(p.max) if p.max is not None else MAX_LORAS
        if len(given) > most:
            raise p.invalid(
                model,
                f"{len(given)} {self.noun}s",
                f"{p.name}: {len(given)} {self.noun}s given, and {model} takes at most {most}",
            )
        if p.min and len(given) < p.min:
            error = p.invalid(model, (), f"{p.name}: {model} needs a {self.noun}")
            error.missing = True
            raise error
        each = p.each
        assert each is not None and each.min is not None and each.max is not None
        out: list[Lora] = []
        for i, lora in enumerate(given, 1):
            scale = each.default if lora.scale is None else lora.scale
            problem = source_problem(lora.source, self.finetune) or scale_problem(
                scale, each.min, each.max, each.label.lower()
            )
            if problem:
                shown_as = Lora(shown(lora.source), lora.scale)
                raise p.invalid(model, shown_as, f"{p.name}: {self.noun} {i}: {problem}")
            if any(lora.source == other.source for other in out):
                raise p.invalid(model, lora, f"{p.name}: {shown(lora.source)!r} is given twice")
            out.append(Lora(lora.source, float(scale)))
        return tuple(out)

    def fit(self, p: ParamSpec, value: Any) -> Any:
        try:
            given = entries(value)
        except ValidationError:
            return DROP
        each, most = p.each, int(p.max) if p.max is not None else MAX_LORAS
        if each is None or each.min is None or each.max is None:
            return DROP
        out = []
        for lora in given[:most]:
            scale = lora.scale
            if isinstance(scale, numbers.Real) and not isinstance(scale, bool):
                scale = min(max(float(scale), each.min), each.max)
            out.append(Lora(lora.source, scale))
        return tuple(out)

    def allowed(self, p: ParamSpec) -> str:
        each = p.each
        scale = f"a {each.label.lower()} from {number(each.min)} to {number(each.max)}"
        what = FINETUNES if self.finetune else SOURCES
        if p.max == 1:
            return f"one {self.noun}: {what}, with {scale}"
        most = number(p.max) if p.max is not None else str(MAX_LORAS)
        return f"up to {most} {self.noun}s: {what}, each with {scale}"

    def check(self, p: ParamSpec) -> None:
        assert p.each is not None and p.default in (None, ()), p.name
        KINDS[p.each.kind].check(p.each)

    def json(self, value: Any) -> Any:
        return [lora.to_json() for lora in value] if isinstance(value, tuple) else value

    def for_host(self, spec: ModelSpec, p: ParamSpec, params: dict[str, Any]) -> None:
        loras = params.pop(p.name) or ()
        if spec.wire.pairs:  # one field each for the source and the scale
            for lora, (source, scale) in zip(loras, spec.wire.pairs, strict=False):
                params[source], params[scale] = lora.source, lora.scale
        elif loras:  # a list, as fal reads it
            params[p.name] = [{"path": lora.source, "scale": lora.scale} for lora in loras]

    def view(self, p: ParamSpec) -> dict[str, Any]:
        each = p.each.to_json() if p.each else {}
        return {**_bounds(p), "each": each, "finetune": self.finetune, "noun": self.noun}

    def snippet(self, name: str, value: Any, files: Naming | None = None) -> list[str]:
        if not value:
            return []
        lines = [f"    {name}=[", *(f"        fluxpanel.{lora!r}," for lora in value), "    ],"]
        if any(url_secrets(lora.source) for lora in value if "://" in lora.source):
            lines.insert(
                0, "    # a LoRA address's credentials are not written here: pass it whole"
            )
        return lines

    def doc(self, p: ParamSpec) -> str:
        each = p.each
        scale = (
            f" at {grouped(each.min)}–{grouped(each.max)} ({grouped(each.default)})" if each else ""
        )
        return f"`{p.name}` up to {grouped(p.max)}{scale}"

    def ask(self, p: ParamSpec) -> str:
        what = "its id" if self.finetune else "a URL or a name such as owner/lora"
        return f"Add a {self.noun}: {what}."

    def say(self, spec: ModelSpec, p: ParamSpec, error: ValidationError) -> str:
        if error.missing:
            return self.ask(p)
        text = reason(error)
        text = in_words(spec, text.removeprefix(f"{p.name}: "))
        return text[0].upper() + text[1:] + "." if text else super().say(spec, p, error)

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        from ._traits import LorasTrait  # noqa: PLC0415 - brings traitlets: the panel's

        return LorasTrait(help=help).tag(sync=True)


class Finetunes(Loras):
    """A host's finetunes: the same entries, each naming weights the host
    keeps by its id (Black Forest Labs' ``finetune_id``)."""

    name = "finetunes"
    finetune = True
    brought = True
    noun = "finetune"


_BY_NAME: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Text(),
        Choice(),
        Boolean(),
        Integer(),
        Number(),
        Image(),
        Images(),
        Boxes(),
        Layout(),
        Loras(),
        Finetunes(),
    )
}
#: Every kind, by the name tables give it (a new kind: a class above and a row here).
KINDS: Mapping[str, Kind] = MappingProxyType(_BY_NAME)

__all__ = [
    "DROP",
    "KINDS",
    "Box",
    "Kind",
    "Naming",
    "file_of",
    "grouped",
    "in_folder",
    "number",
]
