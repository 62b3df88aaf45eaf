"""The kinds of value that are pictures, or drawn over them: input images (one,
or a list of references) and boxes (FLUX 3's, written into the prompt, and
FLUX 3.1's, a field of fractions that can move an object). See
:mod:`fluxpanel._kinds`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from ._boxes import ALLOWED as BOXES_ALLOWED
from ._boxes import coerce_boxes, compose_prompt, structured
from ._errors import ValidationError
from ._inputs import ANY_IMAGE, InputImage
from ._keys import url_secrets
from ._kind import DROP, Kind, _bounds, grouped, number

if TYPE_CHECKING:
    import traitlets

    from ._spec import ModelSpec, ParamSpec


class Image(Kind):
    """One input image: whatever :meth:`InputImage.of` reads, checked against
    the host's limits and held as the bytes the host will receive."""

    name = family = "image"
    takes_images = True
    brought = True

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
        if p.alpha_mask:
            return (
                f"Add the {p.label.lower()}: paint it, or drop, paste or pick one; "
                "or use an image with transparent areas, which are repainted."
            )
        return f"Add the {p.label.lower()}: drop, paste or pick an image."

    def what(self, p: ParamSpec) -> str:
        what = "an image (a path, bytes, a Pillow image, a NumPy array or a GeneratedImage"
        return what + (", or an http(s) URL)" if p.urls else ")")

    def allowed(self, p: ParamSpec) -> str:
        limits = (p.limits or ANY_IMAGE).describe()
        if p.mask_of:
            limits += f", the size of {p.mask_of}"
        if p.alpha_mask:
            limits += f"; or none, where {p.mask_of} has transparent areas (repainted)"
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

    #: Whether a box may move an object from a reference (FLUX 3.1's field).
    moves: ClassVar[bool] = False

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        try:
            boxes = coerce_boxes(value, int(p.max) if p.max else None)
        except ValidationError as e:
            raise p.invalid(model, e.value, str(e).split("; allowed:")[0]) from None
        moved = next((b for b in boxes if b.moves), None)
        if moved is not None and not self.moves:
            raise p.invalid(
                model,
                moved.name,
                f"{moved.name} moves an object (it has a source), which {model} cannot do; "
                "FLUX 3.1 Image can, or draw the box without a source",
            )
        return boxes

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


class Layout(Boxes):
    """FLUX 3.1 Image's boxes: the same drawn boxes, sent as a field of their
    own in fractions of the image (:func:`~fluxpanel._boxes.structured`), at
    most ``max``; a box may move an object from one of the references."""

    name = "layout"
    moves = True

    def for_host(self, spec: ModelSpec, p: ParamSpec, params: dict[str, Any]) -> None:
        boxes = params.pop(p.name)
        edit = bool(p.backdrop and params.get(p.backdrop[0]))  # references given
        if boxes:  # none: the field is left out
            params[p.name] = [structured(box, edit) for box in boxes]

    def together(self, spec: ModelSpec, p: ParamSpec, values: Mapping[str, Any]) -> None:
        given = values.get(p.backdrop[0] if p.backdrop else "") or ()  # the references
        for box in values.get(p.name) or ():
            if box.moves and box.image > len(given):
                raise p.invalid(
                    spec.id,
                    box.name,
                    f"{box.name} moves an object from image {box.image}, but "
                    f"{len(given) or 'no'} reference image{'s' if len(given) != 1 else ''} "
                    "are given; add it, or move from one that is",
                )

    def view(self, p: ParamSpec) -> dict[str, Any]:
        return {**_bounds(p), "moves": True}

    def doc(self, p: ParamSpec) -> str:
        return f"`{p.name}` (in fractions; a box may move an object)"


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
