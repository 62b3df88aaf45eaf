"""The capability spec's shapes: a parameter, a model at a host, and how the
host spells it. The tables themselves are data in :mod:`fluxpanel.tables`
(one row per model at a host); validation, the panel's traits and controls,
snippets and the docs all read them. The rules of each kind of value are in
:mod:`fluxpanel._kinds`, of each relation between parameters in
:mod:`fluxpanel._relations`, of each way of sizing an image in
:mod:`fluxpanel._sizes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

from ._errors import ValidationError
from ._inputs import ANY_IMAGE, ImageLimits
from ._kinds import KINDS
from ._pricing import Price
from ._relations import Canvas, Relation, check_together, relations_of
from ._sizes import BY_RATIO, SizeRule

__all__ = [
    "ANY_IMAGE",
    "SEED_MAX",
    "Canvas",
    "Caveat",
    "ImageLimits",
    "ModelSpec",
    "ParamSpec",
    "Status",
    "Wire",
    "check_table",
    "check_together",
    "models_to_json",
]

Kind = Literal["text", "integer", "number", "choice", "boolean", "image", "images", "boxes"]

#: Bounds of a seed, shared by every model (the API page: ``x < 2147483647``).
SEED_MAX = 2_147_483_646


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of one model.

    ``min``/``max`` are inclusive. For ``text`` they bound the length in
    characters; for ``integer``/``number`` the value; for ``images`` (a list
    of reference images) the count. An ``image`` or ``images`` parameter has
    the host's ``limits`` for each image, takes http(s) URLs when ``urls``,
    and is a mask over another image parameter when ``mask_of`` names it. ``default`` is ``None``
    only for parameters with no fixed default (the prompt, and the seed, which
    is drawn at random and recorded).
    """

    name: str
    kind: Kind
    label: str
    help: str
    default: Any = None
    min: float | None = None
    max: float | None = None
    step: float | None = None
    choices: tuple[str, ...] | None = None
    required: bool = False
    #: Integers that must be a multiple of this (widths and heights).
    multiple_of: int | None = None
    #: ``(other, value)``: the parameter applies only while ``other`` has
    #: ``value`` (a width with ``aspect_ratio="custom"``); otherwise it is not
    #: shown, not sent and may not be given.
    only_with: tuple[str, Any] | None = None
    #: Image parameters: what the host accepts for each image.
    limits: ImageLimits | None = None
    #: Image parameters: whether the host takes an http(s) URL as well as bytes.
    urls: bool = False
    #: A mask: the image parameter it masks (same width and height).
    mask_of: str | None = None
    #: A mask its image's transparent areas may stand for (FLUX.1 Fill at
    #: Black Forest Labs and Replicate): not needed when they are there.
    alpha_mask: bool = False
    #: The image parameter this one follows: it applies only once that one is
    #: given (Kontext's more images, after its input image).
    needs: str | None = None
    #: A list of images: the number the prompt calls its first one ("image 2"
    #: when another image is image 1).
    first_number: int = 1
    #: (an image parameter, the most this value may be once it is given):
    #: Kontext's safety tolerance is at most 2 with an input image.
    most_with: tuple[str, float] | None = None
    #: An image placed on a canvas the model fills around it (Outpainting).
    canvas: Canvas | None = None
    #: (the other side's parameter, most megapixels, most ratio): a height
    #: whose image, with that width, is at most so large and so long (FLUX
    #: 3.1 Image: 16 megapixels, 8:1).
    area_with: tuple[str, float, float] | None = None
    #: What the parameter is to the panel: ``"prompt"`` for the text a person
    #: writes first (Ctrl/Cmd+Enter generates; cited images and boxes go into it).
    role: str = ""
    #: Drawn at random when not given, and recorded (the seed).
    random: bool = False
    #: Boxes: ``(the image list the editor draws over, the parameter whose
    #: value gives the canvas's shape)``.
    backdrop: tuple[str, str] | None = None
    #: A list of LoRAs: the rule for each entry's scale (a number parameter).
    each: ParamSpec | None = None
    #: The relations the fields above name (see :mod:`fluxpanel._relations`).
    relations: tuple[Relation, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "relations", relations_of(self))

    @property
    def is_image(self) -> bool:
        """Whether the parameter takes images (one, or a list)."""
        return KINDS[self.kind].takes_images

    def to_json(self) -> dict[str, Any]:
        """The parameter as plain JSON, as the front end reads it."""
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "help": self.help,
            "default": self.default,
            "required": self.required,
            **KINDS[self.kind].view(self),
        }
        for relation in self.relations:
            out.update(relation.view())
        if self.role:
            out["role"] = self.role
        if self.random:
            out["random"] = True
        if self.backdrop is not None:
            out["backdrop"] = {"images": self.backdrop[0], "shape": self.backdrop[1]}
        return out

    def allowed(self) -> str:
        """What this parameter accepts, in words (used in error messages)."""
        return KINDS[self.kind].allowed(self)

    def invalid(self, model: str, value: Any, message: str) -> ValidationError:
        """A :class:`ValidationError` for this parameter: ``message``, then
        what is allowed."""
        return ValidationError(
            f"{message}; allowed: {self.allowed()}",
            field=self.name,
            value=value,
            model=model,
            allowed=self.allowed(),
        )

    def applies(self, values: Mapping[str, Any]) -> bool:
        """Whether this parameter applies, given the other parameters' values."""
        return all(r.applies(values) for r in self.relations)

    def needed(self, values: Mapping[str, Any]) -> bool:
        """Whether a value must be given, with the others' values: a required
        parameter, unless a relation stands in for it (a mask, where its
        image has transparent areas)."""
        return self.required and not any(r.excuses(values) for r in self.relations)

    def refused(self, model: str, value: Any, values: Mapping[str, Any]) -> ValidationError:
        """The error for a value given where the parameter does not apply."""
        relation = next(r for r in self.relations if not r.applies(values))
        return relation.refused(self, model, value)


@dataclass(frozen=True)
class Caveat:
    """Something true of a model at a host that people must be told, such as
    "the same seed does not give the same image". ``when`` names parameter
    values it depends on (every one must match); empty means always.
    ``varies`` says whether it means the same request may give another image
    (most do); one that only informs (where a finetune is served, where a
    table's facts come from) leaves a model reproducible."""

    text: str
    when: Mapping[str, Any] = field(default_factory=dict)
    varies: bool = True

    def applies(self, values: Mapping[str, Any]) -> bool:
        return all(values.get(k) == v for k, v in self.when.items())

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "when": dict(self.when)}


#: How a host seeds a batch: ``"batch"``, one seed for the whole request (an
#: image of the batch is reproduced by running the batch again); ``"each"``,
#: seed, seed + 1, ... one per image (each can be made again alone).
BatchSeeds = Literal["batch", "each"]


@dataclass(frozen=True)
class Wire:
    """How a host spells a model: where requests go and the names and forms
    of their fields. Each adapter reads the parts its host uses.

    ``route`` is the endpoint's path (Black Forest Labs), the app's route
    (fal) or the model's slug (Replicate); ``edit`` the route used when the
    request has input images, ``multi`` the one used with Kontext's more
    images. ``names`` maps fluxpanel's parameter names to the host's;
    ``omit`` names parameters never sent (fluxpanel's own, or made by
    separate tasks); ``unset`` values that are not sent so the host chooses
    (``{"aspect_ratio": ("match_input",)}``); ``empty`` parameters left out
    when empty; ``text`` numbers sent as strings; ``negate`` switches sent as
    their opposite under another name; ``extra`` fields always sent;
    ``spread`` the field a list of images is spread over (``input_image``,
    ``input_image_2``, ...) where the host takes no list; ``pairs`` the
    (source, scale) fields each LoRA is written to where the host takes no
    list of them (Replicate's ``lora_weights``/``lora_scale`` then
    ``extra_lora``/``extra_lora_scale``).
    """

    route: str = ""
    edit: str = ""
    multi: str = ""
    names: Mapping[str, str] = field(default_factory=dict)
    omit: frozenset[str] = frozenset()
    unset: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    empty: frozenset[str] = frozenset()
    text: frozenset[str] = frozenset()
    negate: Mapping[str, str] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    spread: str = ""
    pairs: tuple[tuple[str, str], ...] = ()

    def route_for(self, has_inputs: bool, has_more: bool = False) -> str:
        """The route for a request with (or without) input images."""
        if has_more and self.multi:
            return self.multi
        return self.edit if has_inputs and self.edit else self.route


@dataclass(frozen=True)
class Status:
    """Where a model stands at a host: ``current``; ``legacy`` (still served,
    superseded by ``instead``); or ``retired`` (no longer served, since
    ``since``), with the ``source`` that says so."""

    state: Literal["current", "legacy", "retired"] = "current"
    since: str = ""
    instead: str = ""
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "since": self.since, "instead": self.instead}

    def words(self, model: str) -> str:
        """What people are told of a model that is not current."""
        instead = f"; use {self.instead} instead" if self.instead else ""
        if self.state == "retired":
            since = f" since {self.since}" if self.since else ""
            return f"{model} is retired here{since}: this host no longer serves it{instead}"
        if self.state == "legacy":
            return f"{model} is a legacy model: still served, but superseded{instead}"
        return ""


CURRENT = Status()


@dataclass(frozen=True)
class ModelSpec:
    """A model at a host: its id, a short description and its parameters in
    display order, with what the host says of it.

    ``caveats`` are what people must be told about the model at this host
    (determinism, seeds); ``batch_seeds`` how the host seeds a batch;
    ``size`` how the host sizes its image (:mod:`fluxpanel._sizes`);
    ``price`` its list price (:mod:`fluxpanel._pricing`), ``status`` where it
    stands, and ``wire`` how the host spells it.
    """

    id: str
    label: str
    description: str
    params: Mapping[str, ParamSpec] = field(default_factory=dict)
    caveats: tuple[Caveat, ...] = ()
    batch_seeds: BatchSeeds = "batch"
    size: SizeRule = BY_RATIO
    price: Price | None = None
    status: Status = CURRENT
    wire: Wire = field(default_factory=Wire)
    #: The family it belongs to ("FLUX 3", "FLUX.2", ...) and its place in
    #: the model selector (newest family first, newest first within it).
    family: str = ""
    rank: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def supports(self, name: str) -> bool:
        """Whether the model takes parameter ``name``."""
        return name in self.params

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.id, self.label, self.description, dict(self.params), self.caveats)
        rest = (self.batch_seeds, self.size, self.price, self.status, self.wire)
        return (ModelSpec, (*args, *rest, self.family, self.rank))

    def defaults(self) -> dict[str, Any]:
        """Each parameter's default (``None`` for the prompt and the seed)."""
        return {name: p.default for name, p in self.params.items()}

    def applicable(self, values: Mapping[str, Any]) -> list[str]:
        """The parameters that apply with these values (see ``only_with``)."""
        return [name for name, p in self.params.items() if p.applies(values)]

    def caveats_for(self, values: Mapping[str, Any]) -> list[str]:
        """The caveats that hold for these parameter values."""
        return [c.text for c in self.caveats if c.applies(values)]

    def role(self, role: str) -> str | None:
        """The parameter that plays ``role`` (``"prompt"``), if the model has one."""
        return next((n for n, p in self.params.items() if p.role == role), None)

    @property
    def reproducible(self) -> bool:
        """Whether the host promises the same image for the same seed and
        settings, whatever the settings (no caveat about determinism)."""
        return not any(c.varies for c in self.caveats)

    def _told(self) -> tuple[Caveat, ...]:
        """The caveats, after where the model stands if it is not current."""
        words = self.status.words(self.label)
        return (Caveat(words + ".", varies=False), *self.caveats) if words else self.caveats

    def to_json(self) -> dict[str, Any]:
        """The model as plain JSON, as the front end reads it."""
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "params": [p.to_json() for p in self.params.values()],
            "caveats": [c.to_json() for c in self._told()],
            "batch_seeds": self.batch_seeds,
            "family": self.family,
            "status": self.status.to_json(),
            # As the model selector shows it.
            "choice": self.label + (" (legacy)" if self.status.state == "legacy" else ""),
        }


def models_to_json(
    models: Mapping[str, ModelSpec], *, retired: bool = False, keep: str = ""
) -> dict[str, Any]:
    """The table as plain JSON, the form the front end reads: in the order
    the model selector shows them (newest family first, newest first in
    each), retired models left out unless ``retired`` (or it is ``keep``,
    the model chosen now)."""
    shown = [m for m in models.values() if retired or m.status.state != "retired" or m.id == keep]
    return {"models": [m.to_json() for m in sorted(shown, key=lambda m: m.rank)]}


def check_table(models: Mapping[str, ModelSpec]) -> None:
    """Assert a table is self-consistent: every default lies inside its range
    (and on its step), every relation names a parameter of the model (one
    that comes before it where a value depends on it)."""
    for model in models.values():
        seen: list[str] = []
        for p in model.params.values():
            for relation in p.relations:
                relation.declared(model, p, seen)
            KINDS[p.kind].check(p)
            seen.append(p.name)
