"""The base of every kind of value (see :mod:`fluxpanel._kinds`): what a kind
may say of a parameter, and the helpers the kinds share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ._errors import ValidationError
from ._words import in_words, reason

if TYPE_CHECKING:
    import traitlets

    from ._image_kinds import Naming
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
    #: Whether a required value is one a person brings (an image, a
    #: finetune's id): a panel's settings may lack it until Generate.
    brought: ClassVar[bool] = False
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


def _bounds(p: ParamSpec) -> dict[str, Any]:
    return {
        key: getattr(p, key)
        for key in ("min", "max", "step", "multiple_of")
        if getattr(p, key) is not None
    }
