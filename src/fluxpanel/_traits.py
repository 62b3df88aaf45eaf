"""The panel's trait types for values a plain trait cannot hold: input images,
FLUX 3's boxes and LoRAs. Which trait a parameter has is its kind's choice
(:meth:`fluxpanel._kinds.Kind.trait`)."""

from __future__ import annotations

from typing import Any, ClassVar

import traitlets as t

from ._boxes import MAX_BOXES, Box, boxes_json, coerce_boxes
from ._errors import ValidationError
from ._inputs import InputImage
from ._loras import entries


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
        if value is None or (isinstance(value, (list, tuple)) and not value):
            return None
        name = self.name or "image"
        if self.many:
            items = value if isinstance(value, (list, tuple)) else [value]
            return tuple(InputImage.of(v, f"{name}[{i}]") for i, v in enumerate(items))
        if isinstance(value, (list, tuple)):
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
        return () if value is None else coerce_boxes(value)


def boxes_to_json(value: Any, widget: Any) -> list[dict[str, Any]]:
    return boxes_json(value or ())


def boxes_from_json(rows: Any, widget: Any) -> tuple[Any, ...]:
    """The editor's rows: it sends only valid boxes; any other row is
    dropped rather than stopping the sync."""
    out: list[Box] = []
    names: set[str] = set()
    for row in rows[:MAX_BOXES] if isinstance(rows, list) else ():
        try:
            box = Box.from_json(row)
        except (ValidationError, TypeError, AttributeError):
            continue
        if box.name not in names:
            names.add(box.name)
            out.append(box)
    return tuple(out)


class LorasTrait(t.TraitType[Any, Any]):
    """LoRAs as the panel holds them: a list of ``{"source", "scale"}`` rows,
    as typed (checked when a request is made, so a half-written source is
    kept and its message shown beside it). Anything
    :func:`~fluxpanel._loras.entries` reads may be assigned (a source, a
    :class:`~fluxpanel.Lora`, rows or pairs)."""

    default_value: ClassVar[Any] = []
    info_text = "a list of LoRAs (a source, a fluxpanel.Lora, or rows)"

    def validate(self, obj: Any, value: Any) -> Any:
        if isinstance(value, list) and all(_is_row(v) for v in value):
            return [{"source": v["source"], "scale": v.get("scale")} for v in value]
        try:
            given = entries(value)
        except ValidationError as e:
            raise t.TraitError(f"{self.name}: {e}") from None
        return [{"source": lora.source, "scale": lora.scale} for lora in given]


def _is_row(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("source"), str)
