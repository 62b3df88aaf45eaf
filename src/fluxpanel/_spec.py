"""The capability spec: which parameters each FLUX model takes, as data.

This table is the only place a model's rules are written. Request validation,
the reference server, the panel's controls (which read it as JSON from a synced
trait), the code snippets and the docs all read it.

Source: ../shared/API_CONTRACT.md, our reading of the provider's API page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

Kind = Literal["text", "integer", "number", "choice"]

#: Bounds of a seed, shared by every model (the API page: ``x < 2147483647``).
SEED_MAX = 2_147_483_646


@dataclass(frozen=True)
class ParamSpec:
    """One parameter of one model.

    ``min``/``max`` are inclusive. For ``text`` they bound the length in
    characters; for ``integer``/``number`` the value. ``default`` is ``None``
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

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "kind": self.kind,
            "label": self.label,
            "help": self.help,
            "default": self.default,
            "required": self.required,
        }
        for key in ("min", "max", "step"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.choices is not None:
            out["choices"] = list(self.choices)
        return out

    def allowed(self) -> str:
        """What this parameter accepts, in words (used in error messages)."""
        if self.kind == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices or ())
        if self.kind == "text":
            return f"a string of {_num(self.min)} to {_num(self.max)} characters"
        noun = "an integer" if self.kind == "integer" else "a number"
        return f"{noun} from {_num(self.min)} to {_num(self.max)}"


def _num(x: float | None) -> str:
    if x is None:
        return "?"
    if isinstance(x, float) and x.is_integer():
        return str(int(x))
    return str(x)


@dataclass(frozen=True)
class ModelSpec:
    """A model: its id, a short description and its parameters in display order."""

    id: str
    label: str
    description: str
    params: Mapping[str, ParamSpec] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def supports(self, name: str) -> bool:
        return name in self.params

    def __reduce__(self) -> tuple[Any, ...]:
        return (ModelSpec, (self.id, self.label, self.description, dict(self.params)))

    def defaults(self) -> dict[str, Any]:
        return {name: p.default for name, p in self.params.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "description": self.description,
            "params": [p.to_json() for p in self.params.values()],
        }


def models_to_json(models: Mapping[str, ModelSpec]) -> dict[str, Any]:
    """The table as plain JSON, the form the front end reads."""
    return {"models": [m.to_json() for m in models.values()]}


def check_table(models: Mapping[str, ModelSpec]) -> None:
    """Assert a table is self-consistent: every default lies inside its range."""
    for model in models.values():
        for p in model.params.values():
            if p.default is None:
                continue
            if p.kind == "choice":
                assert p.default in (p.choices or ()), (model.id, p.name)
            elif p.kind in ("integer", "number"):
                assert p.min is not None and p.max is not None
                assert math.isfinite(p.default) and p.min <= p.default <= p.max, (
                    model.id,
                    p.name,
                )


# --- The parameters shared by every model -------------------------------------

PROMPT = ParamSpec(
    "prompt",
    "text",
    "Prompt",
    "What to draw. Describe the subject, style, lighting and composition.",
    min=1,
    max=4000,
    required=True,
)
ASPECT_RATIO = ParamSpec(
    "aspect_ratio",
    "choice",
    "Aspect ratio",
    "Size of the image in pixels: square, portrait or landscape.",
    default="1024x1024",
    choices=("1024x1024", "768x1344", "1344x768"),
)
SEED = ParamSpec(
    "seed",
    "integer",
    "Seed",
    "Starting noise. The same seed and settings give the same image; "
    "leave it random to explore, fix it to reproduce.",
    default=None,
    min=0,
    max=SEED_MAX,
    step=1,
)
NUM_IMAGES = ParamSpec(
    "num_images",
    "integer",
    "Images",
    "How many images to make from this prompt (each gets its own seed from the first).",
    default=1,
    min=1,
    max=4,
    step=1,
)
# --- Parameters whose ranges differ by model and host: one definition each ------


def steps(default: int, high: int, low: int = 1) -> ParamSpec:
    return ParamSpec(
        "steps",
        "integer",
        "Steps",
        "Denoising steps. More steps add detail and take longer.",
        default=default,
        min=low,
        max=high,
        step=1,
    )


def guidance(default: float, low: float, high: float) -> ParamSpec:
    return ParamSpec(
        "guidance",
        "number",
        "Guidance",
        "How closely the image follows the prompt. Higher values match the prompt more "
        "closely but may reduce quality; lower values give more creative freedom.",
        default=float(default),
        min=float(low),
        max=float(high),
        step=0.1,
    )


def interval(default: float = 2.0, low: float = 1.0, high: float = 4.0) -> ParamSpec:
    return ParamSpec(
        "interval",
        "number",
        "Interval",
        "Variance in possible outputs. Low values follow the prompt strongly and "
        "consistently; high values give more dynamic, varied results.",
        default=float(default),
        min=float(low),
        max=float(high),
        step=0.1,
    )


def safety_tolerance(default: int, low: int, high: int) -> ParamSpec:
    return ParamSpec(
        "safety_tolerance",
        "integer",
        "Safety tolerance",
        f"Moderation level: {low} is the most strict, {high} the most permissive.",
        default=default,
        min=low,
        max=high,
        step=1,
    )


def aspect_ratio(choices: tuple[str, ...], default: str, label: str, help: str) -> ParamSpec:
    return ParamSpec("aspect_ratio", "choice", label, help, default=default, choices=choices)


#: Every host's names and descriptions for the three models.
LABELS = {
    "flux_schnell": ("FLUX.1 [schnell]", "Entry-level model, optimised for speed."),
    "flux_dev": ("FLUX.1 [dev]", "Developer-focused variant with flexible parameters."),
    "flux_pro": ("FLUX.1 [pro]", "Professional-grade model, highest quality in the series."),
}


def model(id: str, *params: ParamSpec) -> ModelSpec:
    """A model's spec: its id, the label and description every host shares, and
    its parameters in display order."""
    label, description = LABELS[id]
    return ModelSpec(id, label, description, {p.name: p for p in params})


# --- The FLUX API of API_CONTRACT.md -------------------------------------------

MODELS: Mapping[str, ModelSpec] = MappingProxyType(
    {
        "flux_schnell": model("flux_schnell", PROMPT, NUM_IMAGES, ASPECT_RATIO, SEED, steps(4, 4)),
        "flux_dev": model(
            "flux_dev", PROMPT, NUM_IMAGES, ASPECT_RATIO, SEED, steps(28, 50), guidance(3.5, 0, 10)
        ),
        "flux_pro": model(
            "flux_pro",
            PROMPT,
            ASPECT_RATIO,
            SEED,
            steps(25, 50),
            guidance(3.0, 2, 5),
            interval(),
            safety_tolerance(2, 1, 6),
        ),
    }
)

check_table(MODELS)
