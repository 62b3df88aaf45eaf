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


class InputTrait(t.TraitType[Any, Any]):
    """An image parameter: ``None``, an :class:`InputImage` or, for a list of
    references, a tuple of them. Anything :meth:`InputImage.of` reads may be
    assigned (a path, bytes, a Pillow image, a NumPy array, a GeneratedImage,
    a URL); it is read and checked at once. Not synced: the browser sees the
    ``inputs`` trait (thumbnails and digests), never the bytes."""

    default_value = None
    allow_none = True
    info_text = "an image (a path, bytes, a Pillow image, a NumPy array or a URL), or None"

    def __init__(self, many: bool, **kwargs: Any) -> None:
        super().__init__(None, allow_none=True, **kwargs)
        self.many = many

    def validate(self, obj: Any, value: Any) -> Any:
        from ._inputs import InputImage

        if value is None or (isinstance(value, (list, tuple)) and not value):
            return None
        name = self.name or "image"
        if self.many:
            items = value if isinstance(value, (list, tuple)) else [value]
            return tuple(InputImage.of(v, f"{name}[{i}]") for i, v in enumerate(items))
        if isinstance(value, (list, tuple)):
            from ._errors import ValidationError

            raise ValidationError(f"{name} takes one image, not a list", field=name)
        return InputImage.of(value, name)


class BoxesTrait(t.TraitType[Any, Any]):
    """FLUX 3's boxes: a tuple of :class:`~fluxpanel.Box`. Anything
    :func:`~fluxpanel._boxes.coerce_boxes` reads may be assigned (boxes, or
    their rows as JSON). Synced as the rows the host reads, so the box
    editor in the browser and Python see the same boxes."""

    default_value: Any = ()
    info_text = "a list of fluxpanel.Box"

    def validate(self, obj: Any, value: Any) -> Any:
        from ._boxes import coerce_boxes

        return () if value is None else coerce_boxes(value)


def _boxes_to_json(value: Any, widget: Any) -> list[dict[str, Any]]:
    from ._boxes import boxes_json

    return boxes_json(value or ())


def _boxes_from_json(rows: Any, widget: Any) -> tuple[Any, ...]:
    """The editor's rows: it sends only valid boxes; any other row is
    dropped rather than stopping the sync."""
    from ._boxes import Box
    from ._errors import ValidationError

    out: list[Box] = []
    for row in rows if isinstance(rows, list) else ():
        try:
            box = Box.from_json(row)
        except (ValidationError, TypeError, AttributeError):
            continue
        if all(b.name != box.name for b in out):
            out.append(box)
    return tuple(out)


def make_trait(name: str, kind: str) -> t.TraitType[Any, Any]:
    """A trait for one parameter: synced, or for images an :class:`InputTrait`."""
    help = f"The {name.replace('_', ' ')} parameter (its range and default come from the model)."
    if kind in ("image", "images"):
        return InputTrait(kind == "images", help=help)
    if kind == "boxes":
        return BoxesTrait(help=help).tag(
            sync=True, to_json=_boxes_to_json, from_json=_boxes_from_json
        )
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
