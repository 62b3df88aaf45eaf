"""``GenerationRequest``: an immutable request, validated against a capability table."""

from __future__ import annotations

import difflib
import math
import numbers
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ._errors import ValidationError
from ._spec import MARGINS, MODELS, Canvas, ModelSpec, ParamSpec, _num

DEFAULT_MODEL = "flux_schnell"

_rng = random.SystemRandom()


def all_param_names(models: Mapping[str, ModelSpec]) -> list[str]:
    """Every parameter any model in the table takes, in first-seen order."""
    names: dict[str, None] = {}
    for m in models.values():
        names.update(dict.fromkeys(m.params))
    return list(names)


def _models_supporting(models: Mapping[str, ModelSpec], name: str) -> list[str]:
    return [m.id for m in models.values() if m.supports(name)]


def _coerce(spec: ParamSpec, value: Any, model: str) -> Any:
    """Check one value against its spec and return it in canonical form."""

    def fail(why: str) -> ValidationError:
        return spec.invalid(
            model, value, f"{spec.name}={value!r} is not allowed for {model}: {why}"
        )

    if spec.is_image:
        from ._inputs import coerce

        return coerce(spec, value, model)
    if spec.kind == "boxes":
        from ._boxes import coerce_boxes

        try:
            return coerce_boxes(value, int(spec.max) if spec.max else None)
        except ValidationError as e:
            raise spec.invalid(model, e.value, str(e).split("; allowed:")[0]) from None
    if spec.kind == "text":
        if not isinstance(value, str):
            raise fail(f"expected a string, got {type(value).__name__}")
        n = len(value)
        if (spec.min is not None and n < spec.min) or (spec.max is not None and n > spec.max):
            # Don't echo a 10,000-character prompt back in the message.
            shown = value if n <= 60 else value[:57] + "..."
            raise spec.invalid(model, value, f"{spec.name} has {n} characters ({shown!r})")
        return value
    if spec.kind == "choice":
        if not isinstance(value, str) or value not in (spec.choices or ()):
            raise fail("not one of the choices")
        return value
    if spec.kind == "boolean":
        if not isinstance(value, bool):
            raise fail(f"expected True or False, got {type(value).__name__}")
        return value
    # integer / number
    if isinstance(value, bool):
        raise fail("expected a number, got a bool")
    if spec.kind == "integer":
        if not isinstance(value, numbers.Integral):
            raise fail(f"expected an integer, got {type(value).__name__}")
        value = int(value)
    else:
        if not isinstance(value, numbers.Real):
            raise fail(f"expected a number, got {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value):
            raise fail("not a finite number")
    if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
        raise fail("out of range")
    if spec.multiple_of and value % spec.multiple_of:
        raise fail(f"not a multiple of {spec.multiple_of}")
    return value


def _inapplicable(
    p: ParamSpec, model: str, value: Any, values: Mapping[str, Any]
) -> ValidationError:
    if p.needs is not None and values.get(p.needs) is None:
        return ValidationError(
            f"{p.name} follows {p.needs} (for {model}): give {p.needs} too, or leave {p.name} out",
            field=p.name,
            value=value,
            model=model,
            allowed=f"only with {p.needs}",
        )
    other, wanted = p.only_with or ("", None)
    return ValidationError(
        f"{p.name} applies only when {other} is {wanted!r} (for {model}); "
        f"set {other}={wanted!r} or leave {p.name} out",
        field=p.name,
        value=value,
        model=model,
        allowed=f"only with {other}={wanted!r}",
    )


def _missing(p: ParamSpec, model: str) -> ValidationError:
    return p.invalid(model, None, f"{p.name} is required for {model}")


def resolve(
    models: Mapping[str, ModelSpec],
    model: Any,
    params: Mapping[str, Any],
    *,
    require_inputs: bool = True,
) -> dict[str, Any]:
    """Validate ``params`` for ``model`` and fill in defaults and a random seed.

    ``None`` means "not given". Returns every parameter the model takes, in the
    table's order. This is the one place request rules are enforced. With
    ``require_inputs=False`` a required image may be missing (a panel's
    settings before its image is chosen).
    """
    if not isinstance(model, str) or model not in models:
        allowed = ", ".join(models)
        raise ValidationError(
            f"model={model!r} is not available; allowed: {allowed}",
            field="model",
            value=model,
            allowed=allowed,
        )
    spec = models[model]
    known = all_param_names(models)
    for name, value in params.items():
        if name in spec.params:
            continue
        if name in known:
            if value is None:
                continue
            others = _models_supporting(models, name)
            raise ValidationError(
                f"{name} is supported only by {', '.join(others)}, not {model}",
                field=name,
                value=value,
                model=model,
                allowed=f"omit {name} for {model}",
            )
        hint = difflib.get_close_matches(name, known, n=1)
        raise ValidationError(
            f"unknown parameter {name!r}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
            + f"; {model} takes: {', '.join(spec.params)}",
            field=name,
            value=value,
            model=model,
            allowed=", ".join(spec.params),
        )
    out: dict[str, Any] = {}
    # Parameters that depend on another's value come after it in the table.
    for name, p in spec.params.items():
        value = params.get(name)
        if not p.applies(out):
            if value is not None:
                raise _inapplicable(p, model, value, out)
            continue
        if value is None:
            if p.required and (require_inputs or not p.is_image):
                raise _missing(p, model)
            if p.is_image:
                continue  # an image not given (yet)
            if name == "seed":
                value = _rng.randint(int(p.min or 0), int(p.max or 0))
            else:
                value = p.default
        out[name] = _coerce(p, value, model)
    _check_together(spec, out)
    return out


def _check_together(spec: ModelSpec, values: Mapping[str, Any]) -> None:
    """What one parameter allows given another: an image placed on a canvas
    must lie on it (unless cropped), a value with a ``most_with`` limit
    (Kontext's tolerance once an input image is given) may not pass it, and a
    mask must have its image's width and height. The hosts refuse all three."""
    from ._inputs import InputImage

    for name, p in spec.params.items():
        image = values.get(name)
        if p.canvas is not None and isinstance(image, InputImage) and image.width:
            _check_placement(spec, name, p.canvas, image, values)
    for name, p in spec.params.items():
        value = values.get(name)
        if p.most_with is None or values.get(p.most_with[0]) is None:
            continue
        other, most = p.most_with
        if isinstance(value, (int, float)) and value > most:
            allowed = f"{_num(p.min)} to {_num(most)} with {other}"
            raise ValidationError(
                f"{name}={value!r} is over {_num(most)}, the most {spec.id} allows with "
                f"{other}; allowed: {allowed}",
                field=name,
                value=value,
                model=spec.id,
                allowed=allowed,
            )
    for name, p in spec.params.items():
        mask, image = values.get(name), values.get(p.mask_of or "")
        if p.mask_of is None or not isinstance(mask, InputImage):
            continue
        if not isinstance(image, InputImage) or mask.url or image.url:
            continue
        if (mask.width, mask.height) != (image.width, image.height):
            raise p.invalid(
                spec.id,
                f"{mask.width}x{mask.height}",
                f"{name} is {mask.width}x{mask.height} but {p.mask_of} is "
                f"{image.width}x{image.height}; a mask must be the size of its image",
            )


def _check_placement(
    spec: ModelSpec, name: str, canvas: Canvas, image: Any, values: Mapping[str, Any]
) -> None:
    """The image must lie on its canvas unless what runs past is cropped
    (Black Forest Labs refuses such a placement otherwise)."""
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
            f"the {w}x{h} {name} placed {where} runs past the canvas ({side} {room}: its "
            f"{edge} edge at {at}, its {far} edge at {at + size}); allowed for {field}: "
            f"{allowed}",
            field=field,
            value=value,
            model=spec.id,
            allowed=allowed,
        )


def field_errors(
    models: Mapping[str, ModelSpec], model: Any, params: Mapping[str, Any]
) -> dict[str, str]:
    """Every problem with ``params`` for ``model``, by field (empty when valid).

    The same checks as :func:`resolve`, run field by field so a form can show
    each message beside its control. Parameters the model does not take are
    ignored here (a form hides them).
    """
    if not isinstance(model, str) or model not in models:
        try:
            resolve(models, model, {})
        except ValidationError as e:
            return {"model": str(e)}
    spec = models[model]
    errors: dict[str, str] = {}
    for name, p in spec.params.items():
        if not p.applies(params):
            continue  # hidden: its value is not used
        value = params.get(name)
        try:
            if value is None:
                if p.required:
                    raise _missing(p, model)
            else:
                _coerce(p, value, model)
        except ValidationError as e:
            errors[name] = str(e)
    applies = {
        k: v
        for k, v in params.items()
        if k not in errors and (k not in spec.params or spec.params[k].applies(params))
    }  # a hidden offset is not where the image goes
    try:
        _check_together(spec, applies)
    except ValidationError as e:
        errors.setdefault(e.field or "mask", str(e))
    return errors


def default_model(models: Mapping[str, ModelSpec]) -> str:
    """The model used when none is named: flux_schnell where offered, else the first."""
    return DEFAULT_MODEL if DEFAULT_MODEL in models else next(iter(models))


def fit(spec: ModelSpec, params: Mapping[str, Any]) -> dict[str, Any]:
    """Bring ``params`` into what ``spec`` allows, without raising.

    Parameters the model does not take are dropped, numbers are clamped into
    range and an unknown choice falls back to the default. Used when the user
    switches model, so a setting carries over as closely as the new model allows.
    """
    out: dict[str, Any] = {}
    for name, value in params.items():
        p = spec.params.get(name)
        if p is None or value is None:
            continue
        if p.kind == "boolean":
            if not isinstance(value, bool):
                continue
        elif p.is_image:
            from ._inputs import InputImage

            if p.kind == "images":
                items = value if isinstance(value, tuple) else (value,)
                value = tuple(items)[: int(p.max or 1)]
            elif isinstance(value, tuple):
                value = value[0] if value else None
            if value is None or not all(
                isinstance(v, InputImage) for v in (value if isinstance(value, tuple) else (value,))
            ):
                continue
        elif p.kind in ("integer", "number") and isinstance(value, numbers.Real):
            if isinstance(value, bool) or not math.isfinite(value):
                continue
            lo = p.min if p.min is not None else value
            hi = p.max if p.max is not None else value
            value = min(max(value, lo), hi)
            value = round(value) if p.kind == "integer" else float(value)
            if p.multiple_of:
                value = max(int(lo), min(int(hi), round(value / p.multiple_of) * p.multiple_of))
        elif p.kind == "choice" and value not in (p.choices or ()):
            continue
        elif p.kind == "text" and isinstance(value, str) and p.max is not None:
            value = value[: int(p.max)]
        out[name] = value
    for name, p in spec.params.items():  # a limit an image sets (Kontext's tolerance)
        if p.most_with and out.get(p.most_with[0]) is not None and name in out:
            out[name] = min(out[name], p.most_with[1])
    return out


class GenerationRequest:
    """A validated, immutable request for one generation.

    ``GenerationRequest(model="flux_dev", prompt="a fox", steps=30)``: the model
    defaults to ``flux_schnell`` (or the table's first model); parameters
    not given take the model's default; a seed is drawn at random when none is
    given and recorded, so the request always says exactly what will be made.
    ``models`` is the capability table to validate against (a provider's; by
    default :data:`fluxpanel.MODELS`). Bad input raises :class:`ValidationError`.
    """

    __slots__ = ("_hash", "_model", "_models", "_params")

    def __init__(
        self,
        model: str | None = None,
        prompt: str | None = None,
        *,
        models: Mapping[str, ModelSpec] | None = None,
        **params: Any,
    ) -> None:
        self._setup(model, {"prompt": prompt, **params}, MODELS if models is None else models)

    def _setup(self, model: Any, params: Mapping[str, Any], table: Mapping[str, ModelSpec]) -> None:
        if model is None:
            model = default_model(table)
        resolved = resolve(table, model, params)
        object.__setattr__(self, "_model", model)
        object.__setattr__(self, "_params", resolved)
        object.__setattr__(self, "_models", table)
        object.__setattr__(self, "_hash", hash((model, tuple(sorted(resolved.items())))))

    @classmethod
    def _build(
        cls, model: Any, params: Mapping[str, Any], table: Mapping[str, ModelSpec]
    ) -> GenerationRequest:
        """A request from a mapping of parameters: any key at all (``models``,
        ``self``) is checked as a parameter name, never taken as an argument."""
        request = cls.__new__(cls)
        request._setup(model, params, table)
        return request

    # -- access -----------------------------------------------------------------

    @property
    def model(self) -> str:
        """The model id."""
        return self._model

    @property
    def params(self) -> dict[str, Any]:
        """Every parameter of the request (prompt and seed included), resolved."""
        return dict(self._params)

    @property
    def host_params(self) -> dict[str, Any]:
        """The parameters as a host takes them: FLUX 3's boxes written into
        the prompt as the host documents (:func:`fluxpanel.compose_prompt`)."""
        params = dict(self._params)
        if "boxes" in params:
            from ._boxes import compose_prompt

            params["prompt"] = compose_prompt(params["prompt"], params.pop("boxes"))
        return params

    @property
    def spec(self) -> ModelSpec:
        """The model's spec in the table the request was validated against."""
        return self._models[self._model]

    @property
    def caption(self) -> str:
        """What captions and alt text show: the prompt, or the model's name
        when it has none (FLUX Erase takes no prompt; Expand's may be empty)."""
        return self._params.get("prompt") or self.spec.label

    def __getattr__(self, name: str) -> Any:
        # Parameters read as attributes: request.steps, request.seed, ...
        # A parameter the model does not take reads as None.
        if name.startswith("_"):
            raise AttributeError(name)
        params = object.__getattribute__(self, "_params")
        if name in params:
            return params[name]
        if name in all_param_names(object.__getattribute__(self, "_models")):
            return None
        raise AttributeError(f"GenerationRequest has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(all_param_names(self._models)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("GenerationRequest is immutable; use .replace(...)")

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels the request asks for, as near as the
        parameters say: a width and height, a size (``1024x768``, fal's
        ``landscape_4_3``), a ratio at about a megapixel, or the first input
        image's shape (an edit that keeps it)."""
        p = self._params
        if isinstance(p.get("width"), int) and isinstance(p.get("height"), int):
            return p["width"], p["height"]
        for q in self.spec.params.values():
            # Inpainting keeps the image's size, as does a model that says so.
            kept = p.get(q.mask_of or "") or (p.get(q.name) if q.keeps_size else None)
            if kept is not None and kept.width:
                return kept.width, kept.height
        if any(side in p for side in MARGINS):  # an image grown on its sides
            grown = next(iter(self.inputs.values()), None)
            if grown is not None and not isinstance(grown, tuple) and grown.width:
                return (
                    grown.width + p.get("left", 0) + p.get("right", 0),
                    grown.height + p.get("top", 0) + p.get("bottom", 0),
                )
        shape = str(p.get("aspect_ratio", ""))
        w, x, h = shape.partition("x")
        if x and w.isdigit() and h.isdigit():
            return int(w), int(h)
        if shape in NAMED_SIZES:
            return NAMED_SIZES[shape]
        area = TIER_PIXELS.get(str(p.get("resolution")), 1_048_576)
        w, colon, h = shape.partition(":")
        if colon and w.isdigit() and h.isdigit() and int(h):
            return _megapixel(int(w) / int(h), area)
        for value in self.inputs.values():
            first = value[0] if isinstance(value, tuple) else value
            if first.width and first.height:
                return _megapixel(first.width / first.height, area)
        return _megapixel(1.0, area)

    @property
    def count(self) -> int:
        """How many images this request makes."""
        return int(self._params.get("num_images", 1))

    @property
    def caveats(self) -> list[str]:
        """What is true of this request at its host that people must be told
        (for instance that the same seed will not give the same image)."""
        return self.spec.caveats_for(self._params)

    @property
    def reproducible(self) -> bool:
        """Whether the host promises the same image for the same request."""
        return not self.caveats

    # -- transforms ---------------------------------------------------------------

    def replace(self, **changes: Any) -> GenerationRequest:
        """A copy with some parameters changed (validated again).

        Changing the model keeps the parameters the new model takes, brought
        into its ranges; values that were only the old model's defaults take
        the new model's defaults. Values given in ``changes`` are checked as is.
        """
        model = changes.pop("model", self._model)
        params = dict(self._params)
        if model != self._model and model in self._models:
            old = self.spec
            kept = {k: v for k, v in params.items() if v != old.params[k].default}
            params = fit(self._models[model], kept)
        params.update(changes)
        spec = self._models.get(model)
        if spec is not None:
            # Parameters that no longer apply (a width once the size is not
            # custom) go, unless given here.
            keep = set(spec.applicable(params)) | set(changes)
            params = {k: v for k, v in params.items() if k in keep or k not in spec.params}
        return GenerationRequest._build(model, params, self._models)

    def to_payload(self) -> dict[str, Any]:
        """The request as JSON: the exact body sent to the FLUX API. Input
        images appear by their sha256 (or URL), never as bytes."""
        from ._inputs import json_form

        return {"model": self._model, **{k: json_form(v) for k, v in self._params.items()}}

    @property
    def inputs(self) -> dict[str, Any]:
        """The request's input images by parameter (an :class:`InputImage`,
        or a tuple of them for a list of references)."""
        return {k: v for k, v in self._params.items() if self.spec.params[k].is_image}

    @classmethod
    def from_payload(
        cls,
        payload: Mapping[str, Any],
        *,
        models: Mapping[str, ModelSpec] | None = None,
        provider: str | None = None,
        inputs: str | os.PathLike[str] | None = None,
    ) -> GenerationRequest:
        """Read a request back from a JSON body (validated like any other input).

        ``provider`` names the provider whose table the request was made for
        (as exports and image metadata record it); ``models`` gives a table.
        Input images, named in the JSON by their sha256, are found by content
        in the folder ``inputs`` or in ``fluxpanel-inputs``.
        """
        if not isinstance(payload, Mapping):
            raise ValidationError(
                f"a request must be a JSON object, got {type(payload).__name__}",
                field=None,
                value=payload,
            )
        from ._inputs import resolve_records

        data = resolve_records(
            {str(k): v for k, v in payload.items()}, [inputs] if inputs is not None else []
        )
        model = data.pop("model", None)
        if model is None:
            raise ValidationError("model is required", field="model", value=None)
        table = models if models is not None else table_for(provider)
        return cls._build(model, data, table)

    @classmethod
    def from_image(
        cls, image: str | os.PathLike[str] | bytes, *, models: Mapping[str, ModelSpec] | None = None
    ) -> GenerationRequest:
        """The request saved in an image's metadata by fluxpanel (PNG, JPEG or
        WebP), validated like any other input against the table of the
        provider that made it."""
        import json

        from ._metadata import read

        data = image if isinstance(image, bytes) else Path(image).read_bytes()
        texts = read(data)
        if "fluxpanel" not in texts:
            raise ValidationError(
                "this image holds no fluxpanel request (it was not saved by fluxpanel, "
                "or its metadata was removed)",
                field="image",
            )
        try:
            doc = json.loads(texts["fluxpanel"])
            payload = doc["request"]
            provider = doc.get("provider")
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            raise ValidationError(
                "the fluxpanel metadata in this image is not readable", field="image"
            ) from None
        name = provider if isinstance(provider, str) else None
        return cls.from_payload(payload, models=models, provider=name)

    def to_code(self, provider: Any = None) -> str:
        """A runnable Python snippet that reproduces this request with fluxpanel.

        ``provider`` is the provider (or its name) the snippet should use; the
        key is always read from the environment, never written.
        """
        from ._snippet import request_code

        return request_code(self, provider)

    # -- identity -------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GenerationRequest):
            return NotImplemented
        return self._model == other._model and self._params == other._params

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in {"model": self._model, **self._params}.items())
        return f"GenerationRequest({inner})"

    def __reduce__(self) -> tuple[Any, ...]:
        # A provider's table travels by name; another table by value.
        name = table_name(self._models)
        table: Any = name if name is not None else dict(self._models)
        return (_rebuild, (self._model, self._params, table))


#: fal's named sizes (fal-js ``ImageSize``; the model pages give the pixels).
NAMED_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}


#: FLUX 3's resolution tiers, in pixels (768 x 768 to about 16 megapixels;
#: the tiers as Black Forest Labs' reference and the ComfyUI node name them).
TIER_PIXELS = {
    "768sq": 768 * 768,
    "1k": 1024 * 1024,
    "1.5k": 1536 * 1536,
    "2k": 2048 * 2048,
    "4k": 4096 * 4096,
}


def _megapixel(ratio: float, area: int = 1_048_576) -> tuple[int, int]:
    """About ``area`` pixels (a megapixel) at ``ratio`` (width / height), in
    multiples of 16."""
    h = (area / ratio) ** 0.5
    return max(16, round(h * ratio / 16) * 16), max(16, round(h / 16) * 16)


def _rebuild(
    model: str, params: dict[str, Any], table: str | dict[str, ModelSpec] | None = None
) -> GenerationRequest:
    models = table_for(table) if table is None or isinstance(table, str) else table
    return GenerationRequest._build(model, params, models)


def table_for(provider: str | None) -> Mapping[str, ModelSpec]:
    """The capability table of the provider called ``provider`` (the default
    table for ``None`` or a name fluxpanel does not ship)."""
    if provider is None:
        return MODELS
    from .providers import PROVIDERS

    cls = PROVIDERS.get(provider)
    return cls.models if cls is not None else MODELS


def table_name(models: Mapping[str, ModelSpec]) -> str | None:
    """The name of the provider whose table ``models`` is, if fluxpanel ships it."""
    if models is MODELS:
        return "flux-api"
    from .providers import PROVIDERS

    return next((name for name, cls in PROVIDERS.items() if cls.models is models), None)
