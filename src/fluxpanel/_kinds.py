"""Kinds of value: one class per kind, owning every rule about it.

A parameter's ``kind`` names one of these (``KINDS["integer"]``). The kind
says how a Python value is checked and brought to canonical form
(:meth:`Kind.coerce`), how a value carries over to a model with other limits
(:meth:`Kind.fit`), what is allowed in words (:meth:`Kind.allowed`), how a
value is written in requests' JSON (:meth:`Kind.json`), what the view is told
about the parameter (:meth:`Kind.view`), which trait holds it in the panel
(:meth:`Kind.trait`), how a snippet writes it (:meth:`Kind.snippet`) and how
the docs' table describes it (:meth:`Kind.doc`). Callers ask the table; none
of them branches on a kind. A new kind of value is a class here and a row in
:data:`KINDS` (see docs/site/architecture.md, "Add a kind").
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from ._boxes import ALLOWED as BOXES_ALLOWED
from ._boxes import Box, coerce_boxes, compose_prompt
from ._errors import ValidationError
from ._inputs import ANY_IMAGE, InputImage
from ._keys import url_secrets
from ._words import in_words, reason

if TYPE_CHECKING:
    import traitlets

    from ._spec import ModelSpec, ParamSpec

#: What :meth:`Kind.fit` returns for a value the new model cannot take at all.
DROP: Any = object()


def number(x: float | None) -> str:
    """A bound as people write it: ``5``, not ``5.0``."""
    if x is None:
        return "?"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


def grouped(x: float | None) -> str:
    """A bound as the docs' table writes it: ``2,147,483,646``."""
    if x is None:
        return "?"
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


class Kind:
    """The rules of one kind of value. Subclasses set :attr:`name` and
    override what differs from these defaults (a value taken as it is)."""

    #: The name tables use (``ParamSpec.kind``).
    name: ClassVar[str] = ""
    #: The kind of trait that holds it in the panel; parameters of one name
    #: must agree on it across hosts (see :meth:`joins`).
    family: ClassVar[str] = ""
    #: A family this one widens to when another host's table has it (an
    #: integer here and a number there is a number).
    wider: ClassVar[str] = ""
    #: Whether values are input images (one, or a list).
    takes_images: ClassVar[bool] = False
    #: Whether a value is itself a list (references, boxes): ``compare()``
    #: varies a list of such lists, not the list.
    many: ClassVar[bool] = False
    #: The value a trait holds before a model's default is set.
    empty: ClassVar[Any] = None

    # -- checking ---------------------------------------------------------------------

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        """``value`` checked against ``p`` and in canonical form; a
        :class:`ValidationError` naming the field, the value and what is allowed."""
        return value

    def fit(self, p: ParamSpec, value: Any) -> Any:
        """``value`` brought as close as ``p`` allows, without raising, or
        :data:`DROP` (a setting carried over to another model)."""
        return value

    def allowed(self, p: ParamSpec) -> str:
        """What ``p`` accepts, in words (error messages end with it)."""
        raise NotImplementedError

    def check(self, p: ParamSpec) -> None:
        """Assert ``p``'s declaration is consistent (its default allowed)."""

    # -- writing ----------------------------------------------------------------------

    def json(self, value: Any) -> Any:
        """The value in requests' JSON (exports, metadata, caches, cache keys)."""
        return value

    def for_host(self, spec: ModelSpec, p: ParamSpec, params: dict[str, Any]) -> None:
        """Put ``p``'s value of ``params`` in the form the host reads (in place)."""

    def together(self, spec: ModelSpec, p: ParamSpec, values: Mapping[str, Any]) -> None:
        """Raise :class:`ValidationError` when ``p``'s value does not go with
        the others' (FLUX 3's boxes must leave the prompt within its length)."""

    def view(self, p: ParamSpec) -> dict[str, Any]:
        """What the view needs of ``p`` beyond its name, label and help."""
        return {}

    def snippet(self, name: str, value: Any, files: Naming | None = None) -> list[str]:
        """The lines of a ``generate(...)`` call that give ``value`` (``files``
        names an input image in code: a file holding its bytes, by default)."""
        return [f"    {name}={value!r},"]

    def doc(self, p: ParamSpec) -> str:
        """``p`` in the docs' table of what each host takes."""
        return f"`{p.name}`"

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        """The panel's trait for a parameter of this kind (synced to the view)."""
        raise NotImplementedError

    # -- across hosts --------------------------------------------------------------------

    def joins(self, other: Kind) -> str | None:
        """The trait family a parameter has when one host's table gives it
        this kind and another's ``other``; ``None`` when they cannot agree."""
        if other.family == self.family:
            return self.family
        if self.wider == other.family:
            return other.family
        if other.wider == self.family:
            return self.family
        return None

    def fail(self, p: ParamSpec, model: str, value: Any, why: str) -> ValidationError:
        return p.invalid(model, value, f"{p.name}={value!r} is not allowed for {model}: {why}")

    # -- in a person's words (the panel) ----------------------------------------------

    def ask(self, p: ParamSpec) -> str:
        """What to do when ``p`` is required and empty."""
        return f"Set {p.label}."

    def say(self, spec: ModelSpec, p: ParamSpec, error: ValidationError) -> str:
        """``error`` as the panel says it beside ``p``'s field: its label and
        the fix, without Python's names (the error keeps them for code)."""
        if error.missing:
            return self.ask(p)
        text = in_words(spec, reason(error))
        if text.startswith(p.label):
            return f"{text}."
        return f"{p.label} {text}." if text.startswith(("is ", "has ")) else f"{p.label}: {text}."


def _plain_trait(cls_name: str, default: Any, help: str) -> traitlets.TraitType[Any, Any]:
    # traitlets loads with the panel, never with the client.
    import traitlets  # noqa: PLC0415 - the panel's, not the client's

    return getattr(traitlets, cls_name)(default, help=help).tag(sync=True)


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
        return {"choices": list(p.choices or ())}

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


class Image(Kind):
    """One input image: whatever :meth:`InputImage.of` reads, checked against
    the host's limits and held as the bytes the host will receive."""

    name = family = "image"
    takes_images = True

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        if isinstance(value, (list, tuple)):
            raise p.invalid(
                model, f"a list of {len(value)}", f"{p.name} takes one image (for {model})"
            )
        return InputImage.of(value, p.name).fitted(p, model)

    def fit(self, p: ParamSpec, value: Any) -> Any:
        if isinstance(value, tuple):
            value = value[0] if value else None
        return value if isinstance(value, InputImage) else DROP

    def ask(self, p: ParamSpec) -> str:
        return f"Add the {p.label.lower()}: drop, paste or pick an image."

    def what(self, p: ParamSpec) -> str:
        what = "an image (a path, bytes, a Pillow image, a NumPy array or a GeneratedImage"
        return what + (", or an http(s) URL)" if p.urls else ")")

    def allowed(self, p: ParamSpec) -> str:
        limits = (p.limits or ANY_IMAGE).describe()
        if p.mask_of:
            limits += f", the size of {p.mask_of}"
        return f"{self.what(p)}: {limits}"

    def check(self, p: ParamSpec) -> None:
        assert p.limits is not None and p.default is None, p.name

    def json(self, value: Any) -> Any:
        return value.to_json() if isinstance(value, InputImage) else value

    def view(self, p: ParamSpec) -> dict[str, Any]:
        return {"limits": (p.limits or ANY_IMAGE).to_json(), "urls": p.urls}

    def snippet(self, name: str, value: Any, files: Naming | None = None) -> list[str]:
        path, note = (files or file_of)(value)
        return [*(f"    # {n}" for n in note), f"    {name}={path},"]

    def count(self, p: ParamSpec) -> str:
        return "image"

    def cited(self, p: ParamSpec, index: int) -> str:
        """What the prompt calls image ``index`` of ``p``'s value."""
        return p.label

    def doc(self, p: ParamSpec) -> str:
        what = self.count(p)
        if p.needs:
            what += f" after `{p.needs}`"
        if p.mask_of:
            what = f"mask over `{p.mask_of}`"
        limits = p.limits.describe() if p.limits else ""
        text = f"`{p.name}` {what}{' (required)' if p.required else ''}: {limits}"
        return text + (", URLs too" if p.urls else "")

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        from ._traits import InputTrait  # noqa: PLC0415 - brings traitlets: the panel's

        return InputTrait(False, help=help)


class Images(Image):
    """A list of ``min`` to ``max`` input images (references, named in the
    prompt as image 1, image 2, ...)."""

    name = family = "images"
    many = True

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        low, high = int(p.min or 1), int(p.max or 1)
        if not low <= len(items) <= high:
            raise p.invalid(
                model, f"{len(items)} images", f"{p.name} has {len(items)} images (for {model})"
            )
        return tuple(
            InputImage.of(v, f"{p.name}[{i}]").fitted(p, model) for i, v in enumerate(items)
        )

    def fit(self, p: ParamSpec, value: Any) -> Any:
        items = tuple(value if isinstance(value, tuple) else (value,))[: int(p.max or 1)]
        ok = items and all(isinstance(v, InputImage) for v in items)
        return items if ok else DROP

    def allowed(self, p: ParamSpec) -> str:
        each = self.what(p)[3:]
        return f"a list of {number(p.min or 1)} to {number(p.max)} images, each " + (
            f"{each}: {(p.limits or ANY_IMAGE).describe()}"
        )

    def check(self, p: ParamSpec) -> None:
        super().check(p)
        assert p.max is not None and p.max >= (p.min or 1), p.name

    def json(self, value: Any) -> Any:
        return [v.to_json() for v in value] if isinstance(value, tuple) else value

    def view(self, p: ParamSpec) -> dict[str, Any]:
        out = {**super().view(p), **_bounds(p)}
        if p.first_number != 1:
            out["first_number"] = p.first_number
        return out

    def snippet(self, name: str, value: Any, files: Naming | None = None) -> list[str]:
        named = [(files or file_of)(image) for image in value]
        notes = [f"    # {n}" for _, note in named for n in note]
        return [*notes, f"    {name}=[{', '.join(path for path, _ in named)}],"]

    def count(self, p: ParamSpec) -> str:
        return f"up to {grouped(p.max)} images"

    def cited(self, p: ParamSpec, index: int) -> str:
        return f"image {p.first_number + index}"

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        from ._traits import InputTrait  # noqa: PLC0415 - brings traitlets: the panel's

        return InputTrait(True, help=help)


class Boxes(Kind):
    """FLUX 3's boxes: where each element of the picture goes (a tuple of
    :class:`~fluxpanel.Box`), at most ``max`` of them."""

    name = family = "boxes"
    many = True
    empty = ()

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        try:
            return coerce_boxes(value, int(p.max) if p.max else None)
        except ValidationError as e:
            raise p.invalid(model, e.value, str(e).split("; allowed:")[0]) from None

    def allowed(self, p: ParamSpec) -> str:
        return BOXES_ALLOWED

    def json(self, value: Any) -> Any:
        return [b.to_json() for b in value] if isinstance(value, tuple) else value

    def for_host(self, spec: ModelSpec, p: ParamSpec, params: dict[str, Any]) -> None:
        # Written into the prompt, as Black Forest Labs documents it for FLUX 3.
        prompt = spec.role("prompt") or "prompt"
        params[prompt] = compose_prompt(params.get(prompt) or "", params.pop(p.name))

    def together(self, spec: ModelSpec, p: ParamSpec, values: Mapping[str, Any]) -> None:
        name = spec.role("prompt")
        boxes, text = values.get(p.name), values.get(name or "")
        if not boxes or not isinstance(text, str) or name is None:
            return
        most = spec.params[name].max
        sent = len(compose_prompt(text, boxes))
        if most is not None and sent > most:
            raise p.invalid(
                spec.id,
                f"{len(boxes)} boxes",
                f"the prompt with its boxes written in has {sent} characters, more than the "
                f"{number(most)} the host takes; shorten the descriptions or use fewer boxes",
            )

    def view(self, p: ParamSpec) -> dict[str, Any]:
        return _bounds(p)

    def snippet(self, name: str, value: Any, files: Naming | None = None) -> list[str]:
        if not value:
            return []
        # Each element's place, as data (written into the prompt when sent).
        return [f"    {name}=[", *(f"        fluxpanel.{box!r}," for box in value), "    ],"]

    def doc(self, p: ParamSpec) -> str:
        return f"`{p.name}` (written into the prompt)"

    def trait(self, help: str) -> traitlets.TraitType[Any, Any]:
        from ._traits import BoxesTrait, boxes_from_json, boxes_to_json  # noqa: PLC0415 - brings traitlets: the panel's

        return BoxesTrait(help=help).tag(
            sync=True, to_json=boxes_to_json, from_json=boxes_from_json
        )


def _bounds(p: ParamSpec) -> dict[str, Any]:
    return {
        key: getattr(p, key)
        for key in ("min", "max", "step", "multiple_of")
        if getattr(p, key) is not None
    }


#: Names an input image in code: ``(expression, notes)``.
Naming = Callable[[InputImage], tuple[str, list[str]]]


def file_of(image: InputImage) -> tuple[str, list[str]]:
    """An input as a snippet names it: a file holding its exact bytes (written
    by content when it came from memory), or its URL (without credentials a
    signed one carries); a note where the code cannot hold it all."""
    if image.url is not None:
        note = ["the address's credentials are not written here: pass it whole"]
        return repr(image.file()), note if url_secrets(image.url) else []
    try:
        return repr(image.file()), []
    except OSError as e:  # best effort: a read-only folder still gets a snippet
        return "None", [f"{image!r} could not be written ({e.strerror or e}): pass it here"]


def in_folder(folder: str) -> Naming:
    """Inputs named by their copies in ``folder`` (an export's ``inputs/``):
    nothing of where the author kept them."""

    def name(image: InputImage) -> tuple[str, list[str]]:
        if image.url is not None:
            return file_of(image)
        return repr(f"{folder}/{image.filename}"), []

    return name


_BY_NAME: dict[str, Kind] = {
    kind.name: kind
    for kind in (Text(), Choice(), Boolean(), Integer(), Number(), Image(), Images(), Boxes())
}
#: Every kind, by the name tables give it (a new kind: a class above and a row here).
KINDS: Mapping[str, Kind] = MappingProxyType(_BY_NAME)

__all__ = ["DROP", "KINDS", "Box", "Kind"]
