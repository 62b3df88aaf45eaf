"""What one parameter asks of another, one class per relation.

A parameter's declaration names its relations as data (``only_with``,
``needs``, ``mask_of``, ``most_with``, ``canvas`` on
:class:`~fluxpanel.ParamSpec`); each is read here into a :class:`Relation`
that owns all of its rules: when the parameter applies, what is checked of
the two values together (before anything is sent), how a value carried over
is brought within it, what the view is told and what the docs say.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ._errors import ValidationError
from ._imaging import transparent_areas
from ._inputs import InputImage
from ._kinds import KINDS, number
from ._sizes import MEGAPIXEL

if TYPE_CHECKING:
    from ._spec import ModelSpec, ParamSpec


class Relation:
    """One parameter's tie to another. ``order`` is when its check runs
    among the others' (the first problem found is the one reported)."""

    order: ClassVar[int] = 0

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether the parameter applies with the others' values."""
        return True

    def refused(self, p: ParamSpec, model: str, value: Any) -> ValidationError:
        """The error for a value given where the parameter does not apply."""
        raise NotImplementedError

    def check(self, spec: ModelSpec, p: ParamSpec, values: Mapping[str, Any]) -> None:
        """Raise :class:`ValidationError` when the two values do not go together."""

    def fit(self, p: ParamSpec, values: dict[str, Any]) -> None:
        """Bring ``p``'s carried-over value within what the other's allows."""

    def excuses(self, values: Mapping[str, Any]) -> bool:
        """Whether the other's value stands in for a required one of ``p``."""
        return False

    def view(self) -> dict[str, Any]:
        """What the view is told of the relation."""
        return {}

    def declared(self, spec: ModelSpec, p: ParamSpec, seen: list[str]) -> None:
        """Assert the relation names parameters the model has (``seen``: the
        ones before ``p``, which a value may depend on)."""

    def doc(self) -> str:
        """The relation in the docs' table (after the parameter's own words)."""
        return ""


@dataclass(frozen=True)
class OnlyWith(Relation):
    """The parameter applies only while ``other`` has ``value`` (a width with
    ``aspect_ratio="custom"``); otherwise it is not shown, not sent and may not
    be given."""

    other: str
    value: Any

    def applies(self, values: Mapping[str, Any]) -> bool:
        return values.get(self.other) == self.value

    def refused(self, p: ParamSpec, model: str, value: Any) -> ValidationError:
        wanted = self.value
        return ValidationError(
            f"{p.name} applies only when {self.other} is {wanted!r} (for {model}); "
            f"set {self.other}={wanted!r} or leave {p.name} out",
            field=p.name,
            value=value,
            model=model,
            allowed=f"only with {self.other}={wanted!r}",
        )

    def view(self) -> dict[str, Any]:
        return {"only_with": {"param": self.other, "value": self.value}}

    def declared(self, spec: ModelSpec, p: ParamSpec, seen: list[str]) -> None:
        assert self.other in seen, (spec.id, p.name, "only_with")

    def doc(self) -> str:
        return f" with {self.other}={self.value}"


@dataclass(frozen=True)
class Follows(Relation):
    """An image parameter that applies once ``other`` is given (Kontext's more
    images, after its input image)."""

    other: str

    def applies(self, values: Mapping[str, Any]) -> bool:
        return values.get(self.other) is not None

    def refused(self, p: ParamSpec, model: str, value: Any) -> ValidationError:
        return ValidationError(
            f"{p.name} follows {self.other} (for {model}): give {self.other} too, "
            f"or leave {p.name} out",
            field=p.name,
            value=value,
            model=model,
            allowed=f"only with {self.other}",
        )

    def view(self) -> dict[str, Any]:
        return {"needs": self.other}

    def declared(self, spec: ModelSpec, p: ParamSpec, seen: list[str]) -> None:
        assert self.other in seen and spec.params[self.other].is_image, (spec.id, p.name)


@dataclass(frozen=True)
class MaskOf(Relation):
    """A mask over another image parameter: it must have that image's width
    and height (the hosts refuse any other). Over a list of references (FLUX
    3.1 Image), it covers the first, which the host may scale: it must have
    that image's shape."""

    order = 2
    other: str
    #: The image's transparent areas may stand for the mask (FLUX.1 Fill at
    #: Black Forest Labs and Replicate: "optional if you provide an alpha mask").
    alpha: bool = False

    def excuses(self, values: Mapping[str, Any]) -> bool:
        image = values.get(self.other)
        if not self.alpha or not isinstance(image, InputImage):
            return False
        # An address is read by the host, which finds its alpha mask itself.
        return image.url is not None or transparent_areas(image.data, image.sha256)

    def doc(self) -> str:
        return f" (or, instead, transparent areas of `{self.other}`)" if self.alpha else ""

    def check(self, spec: ModelSpec, p: ParamSpec, values: Mapping[str, Any]) -> None:
        mask, image = values.get(p.name), values.get(self.other)
        shape_only = isinstance(image, tuple)
        if shape_only:
            image = image[0] if image else None
        if not isinstance(mask, InputImage) or not isinstance(image, InputImage):
            return
        if mask.url or image.url or not (mask.width and image.width):
            return
        if shape_only:
            if abs(mask.width * image.height - image.width * mask.height) <= 0.01 * (
                image.width * mask.height
            ):
                return
            raise p.invalid(
                spec.id,
                f"{mask.width}x{mask.height}",
                f"{p.name} is {mask.width}x{mask.height} but image 1 is "
                f"{image.width}x{image.height}; a mask must have the shape of image 1",
            )
        if (mask.width, mask.height) == (image.width, image.height):
            return
        raise p.invalid(
            spec.id,
            f"{mask.width}x{mask.height}",
            f"{p.name} is {mask.width}x{mask.height} but {self.other} is "
            f"{image.width}x{image.height}; a mask must be the size of its image",
        )

    def view(self) -> dict[str, Any]:
        return {"mask_of": self.other}

    def declared(self, spec: ModelSpec, p: ParamSpec, seen: list[str]) -> None:
        single = p.is_image and not KINDS[p.kind].many  # a mask is one image
        assert self.other in seen and single, (spec.id, p.name, "mask_of")


@dataclass(frozen=True)
class AtMostWith(Relation):
    """A lower limit once an image is given: Kontext's safety tolerance is at
    most 2 with an input image; FLUX 3.1 Image takes at most 9 references
    with a mask (a list's limit is on its length)."""

    order = 1
    other: str
    most: float

    def check(self, spec: ModelSpec, p: ParamSpec, values: Mapping[str, Any]) -> None:
        value = values.get(p.name)
        if values.get(self.other) is None:
            return
        if isinstance(value, tuple) and len(value) > self.most:
            allowed = f"at most {number(self.most)} with {self.other}"
            raise ValidationError(
                f"{p.name} has {len(value)} images, more than the {number(self.most)} "
                f"{spec.id} takes with {self.other}; allowed: {allowed}",
                field=p.name,
                value=len(value),
                model=spec.id,
                allowed=allowed,
            )
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return
        if value > self.most:
            allowed = f"{number(p.min)} to {number(self.most)} with {self.other}"
            raise ValidationError(
                f"{p.name}={value!r} is over {number(self.most)}, the most {spec.id} allows "
                f"with {self.other}; allowed: {allowed}",
                field=p.name,
                value=value,
                model=spec.id,
                allowed=allowed,
            )

    def fit(self, p: ParamSpec, values: dict[str, Any]) -> None:
        if values.get(self.other) is None or p.name not in values:
            return
        value = values[p.name]
        if isinstance(value, tuple):
            values[p.name] = value[: int(self.most)]
        else:
            values[p.name] = min(value, self.most)

    def view(self) -> dict[str, Any]:
        return {"most_with": {"param": self.other, "most": self.most}}

    def doc(self) -> str:
        return f", at most {number(self.most)} with `{self.other}`"

    def declared(self, spec: ModelSpec, p: ParamSpec, seen: list[str]) -> None:
        other = spec.params.get(self.other)
        assert other is not None and other.is_image, (spec.id, p.name, "most_with")


@dataclass(frozen=True)
class AreaWith(Relation):
    """A side that, with the other, makes an image of at most ``megapixels``
    (of 1024 x 1024 pixels: 16 is 4096 x 4096, the largest preset) and no
    longer than ``ratio`` to 1 either way (FLUX 3.1 Image's exact sizes: 16
    megapixels, 8:1)."""

    order = 1
    other: str
    megapixels: float
    ratio: float

    def check(self, spec: ModelSpec, p: ParamSpec, values: Mapping[str, Any]) -> None:
        side, other = values.get(p.name), values.get(self.other)
        if not isinstance(side, int) or not isinstance(other, int) or not side or not other:
            return
        size = f"{other}x{side}"
        allowed = f"at most {number(self.megapixels)} megapixels and {number(self.ratio)}:1"
        problem = ""
        if side * other > self.megapixels * MEGAPIXEL:
            problem = f"{size} is {side * other / MEGAPIXEL:.1f} megapixels"
        elif max(side / other, other / side) > self.ratio:
            problem = f"{size} is longer than {number(self.ratio)}:1"
        if problem:
            raise ValidationError(
                f"{problem}, more than {spec.id} makes; allowed: {allowed}",
                field=p.name,
                value=side,
                model=spec.id,
                allowed=allowed,
            )

    def doc(self) -> str:
        return (
            f", with `{self.other}` at most {number(self.megapixels)} MP and {number(self.ratio)}:1"
        )

    def declared(self, spec: ModelSpec, p: ParamSpec, seen: list[str]) -> None:
        assert self.other in seen, (spec.id, p.name, "area_with")


@dataclass(frozen=True)
class Canvas:
    """An image placed on a larger canvas (FLUX Outpainting): the parameters
    holding the canvas's width and height, the image's top-left corner (the
    image is centred when they do not apply), and the switch that crops what
    runs past the edges (the host refuses such a placement otherwise)."""

    width: str = "width"
    height: str = "height"
    x: str = "reference_offset_x"
    y: str = "reference_offset_y"
    crop: str = "auto_crop"

    def place(self, values: Mapping[str, Any], w: int, h: int) -> tuple[int, int]:
        """The top-left corner of a ``w`` x ``h`` image on the canvas."""
        x, y = values.get(self.x), values.get(self.y)
        return (
            (int(values[self.width]) - w) // 2 if x is None else int(x),
            (int(values[self.height]) - h) // 2 if y is None else int(y),
        )

    def names(self) -> tuple[str, ...]:
        return (self.width, self.height, self.x, self.y, self.crop)


@dataclass(frozen=True)
class PlacedOn(Relation):
    """The image must lie on its canvas unless what runs past is cropped
    (Black Forest Labs refuses such a placement otherwise)."""

    canvas: Canvas

    def declared(self, spec: ModelSpec, p: ParamSpec, seen: list[str]) -> None:
        assert all(n in spec.params for n in self.canvas.names()), (spec.id, p.name, "canvas")

    def check(self, spec: ModelSpec, p: ParamSpec, values: Mapping[str, Any]) -> None:
        image, canvas = values.get(p.name), self.canvas
        if not isinstance(image, InputImage) or not image.width:
            return
        if values.get(canvas.crop) or not all(
            isinstance(values.get(k), int) for k in (canvas.width, canvas.height)
        ):
            return
        w, h = image.width, image.height
        x, y = canvas.place(values, w, h)
        for axis, at, size, side, edge, far in (
            (canvas.x, x, w, canvas.width, "left", "right"),
            (canvas.y, y, h, canvas.height, "top", "bottom"),
        ):
            room = int(values[side])
            if 0 <= at and at + size <= room:
                continue
            where = f"at {at}" if values.get(axis) is not None else "centred"
            if values.get(axis) is not None and size <= room:
                field, value, allowed = axis, at, f"0 to {room - size}, or {canvas.crop}=True"
            else:
                field, value, allowed = side, room, f"at least {size}, or {canvas.crop}=True"
            raise ValidationError(
                f"the {w}x{h} {p.name} placed {where} runs past the canvas ({side} {room}: its "
                f"{edge} edge at {at}, its {far} edge at {at + size}); allowed for {field}: "
                f"{allowed}",
                field=field,
                value=value,
                model=spec.id,
                allowed=allowed,
            )


def relations_of(p: ParamSpec) -> tuple[Relation, ...]:
    """The relations ``p``'s declaration names (the docs' table says them in this order)."""
    found: list[Relation] = []
    if p.needs is not None:
        found.append(Follows(p.needs))
    if p.mask_of is not None:
        found.append(MaskOf(p.mask_of, p.alpha_mask))
    if p.most_with is not None:
        found.append(AtMostWith(*p.most_with))
    if p.canvas is not None:
        found.append(PlacedOn(p.canvas))
    if p.area_with is not None:
        found.append(AreaWith(*p.area_with))
    if p.only_with is not None:
        found.append(OnlyWith(*p.only_with))
    return tuple(found)


def check_together(spec: ModelSpec, values: Mapping[str, Any]) -> None:
    """Every relation of ``spec``'s parameters, checked with ``values`` (the
    first problem raises): an image on its canvas, a limit an image sets, a
    mask the size of its image."""
    checks = sorted(
        ((r.order, i, r, p) for i, p in enumerate(spec.params.values()) for r in p.relations),
        key=lambda item: item[:2],
    )
    for _, _, relation, p in checks:
        relation.check(spec, p, values)
    for p in spec.params.values():  # and what a kind asks of the other values
        KINDS[p.kind].together(spec, p, values)


def fit_together(spec: ModelSpec, values: dict[str, Any]) -> None:
    """Bring carried-over values within the limits other values set."""
    for p in spec.params.values():
        for relation in p.relations:
            relation.fit(p, values)
