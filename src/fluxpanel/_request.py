"""``GenerationRequest``: an immutable request, validated against a capability table."""

from __future__ import annotations

import difflib
import json
import os
import random
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ValidationError
from ._files import read_file
from ._input_records import recorded_inputs, restore_inputs
from ._kinds import DROP, KINDS
from ._metadata import read
from ._relations import check_together, fit_together
from ._snippet import request_code
from ._spec import ModelSpec, ParamSpec
from .tables import table_for, table_name
from .tables.flux_api import MODELS

if TYPE_CHECKING:
    from .providers import Provider

DEFAULT_MODEL = "flux_schnell"
#: The parameter that says how many images a request makes (one without it).
COUNT = "num_images"

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
    return KINDS[spec.kind].coerce(spec, value, model)


def _missing(p: ParamSpec, model: str) -> ValidationError:
    error = p.invalid(model, None, f"{p.name} is required for {model}")
    error.missing = True
    return error


def _known(models: Mapping[str, ModelSpec], model: Any, params: Mapping[str, Any]) -> ModelSpec:
    """The spec of ``model``, once every name in ``params`` is one it takes
    (a name another model takes may be given as ``None``)."""
    if not isinstance(model, str) or model not in models:
        allowed = ", ".join(models)
        raise ValidationError(
            f"model={model!r} is not available; allowed: {allowed}",
            field="model",
            value=model,
            allowed=allowed,
        )
    spec = models[model]
    if spec.status.state == "retired":  # refused before anything is sent
        served = [m for m, s in models.items() if s.status.state != "retired"]
        raise ValidationError(
            f"model={model!r}: {spec.status.words(spec.label)}",
            field="model",
            value=model,
            allowed=", ".join(served),
        )
    known = all_param_names(models)
    for name, value in params.items():
        if name in spec.params or (name in known and value is None):
            continue
        if name in known:
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
    return spec


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
    ``require_inputs=False`` a required value a person brings may be missing
    (a panel's settings before its image or finetune is chosen).
    """
    spec = _known(models, model, params)
    out: dict[str, Any] = {}
    # Parameters that depend on another's value come after it in the table.
    for name, p in spec.params.items():
        value = params.get(name)
        if not p.applies(out):
            if value is not None:
                raise p.refused(model, value, out)
            continue
        if value is None:
            brought = KINDS[p.kind].brought
            if p.needed(out) and (require_inputs or not brought):
                raise _missing(p, model)
            if p.is_image or (p.required and brought):
                continue  # an image (or a required finetune) not given (yet)
            if p.random:  # drawn here, so the request records it
                value = _rng.randint(int(p.min or 0), int(p.max or 0))
            else:
                value = p.default
        out[name] = _coerce(p, value, model)
    check_together(spec, out)
    return out


def field_errors(
    models: Mapping[str, ModelSpec], model: Any, params: Mapping[str, Any]
) -> dict[str, str]:
    """Every problem with ``params`` for ``model``, by field (empty when valid).

    The same checks as :func:`resolve`, run field by field so a form can show
    each message beside its control. Parameters the model does not take are
    ignored here (a form hides them).
    """
    return {name: str(e) for name, e in field_problems(models, model, params).items()}


def field_problems(
    models: Mapping[str, ModelSpec], model: Any, params: Mapping[str, Any]
) -> dict[str, ValidationError]:
    """:func:`field_errors` as the errors themselves (the panel says them in
    a person's words, and waits for a Generate before asking for what is missing)."""
    if not isinstance(model, str) or model not in models or models[model].status.state == "retired":
        try:
            resolve(models, model, {})
        except ValidationError as e:
            return {"model": e}
    spec = models[model]
    errors: dict[str, ValidationError] = {}
    for name, p in spec.params.items():
        if not p.applies(params):
            continue  # hidden: its value is not used
        value = params.get(name)
        try:
            if value is None:
                if p.needed(params):
                    raise _missing(p, model)
            else:
                _coerce(p, value, model)
        except ValidationError as e:
            errors[name] = e
    applies = {
        k: v
        for k, v in params.items()
        if k not in errors and (k not in spec.params or spec.params[k].applies(params))
    }  # a hidden offset is not where the image goes
    try:
        check_together(spec, applies)
    except ValidationError as e:
        errors.setdefault(e.field or "mask", e)
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
        value = KINDS[p.kind].fit(p, value)
        if value is not DROP:
            out[name] = value
    fit_together(spec, out)  # a limit an image sets (Kontext's tolerance)
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
        """The parameters as a host takes them: each kind's host form (FLUX
        3's boxes written into the prompt as the host documents,
        :func:`fluxpanel.compose_prompt`)."""
        params = dict(self._params)
        for name, p in self.spec.params.items():
            if name in params:
                KINDS[p.kind].for_host(self.spec, p, params)
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
        parameters say, by its host's rule for the model
        (:mod:`fluxpanel._sizes`): a width and height, a size (``1024x768``,
        fal's ``landscape_4_3``), a ratio at about a megapixel (or a tier's
        pixels), the edited image's own size, or the first input image's shape."""
        return self.spec.size.size(self)

    @property
    def count(self) -> int:
        """How many images this request makes."""
        return int(self._params.get(COUNT, 1))

    @property
    def caveats(self) -> list[str]:
        """What is true of this request at its host that people must be told
        (for instance that the same seed will not give the same image)."""
        return self.spec.caveats_for(self._params)

    @property
    def reproducible(self) -> bool:
        """Whether the host promises the same image for the same request."""
        return not any(c.varies and c.applies(self._params) for c in self.spec.caveats)

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
        kinds = {name: KINDS[p.kind] for name, p in self.spec.params.items()}
        return {"model": self._model, **{k: kinds[k].json(v) for k, v in self._params.items()}}

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
        in the folder ``inputs`` or in ``fluxpanel-inputs``; an input given as
        a path is refused (a restored request never picks a file to read).
        """
        if not isinstance(payload, Mapping):
            raise ValidationError(
                f"a request must be a JSON object, got {type(payload).__name__}",
                field=None,
                value=payload,
            )
        data = {str(k): v for k, v in payload.items()}
        model = data.pop("model", None)
        if model is None:
            raise ValidationError("model is required", field="model", value=None)
        table = models if models is not None else table_for(provider)
        spec = table.get(model) if isinstance(model, str) else None
        if spec is not None:
            data = restore_inputs(data, spec.params, [inputs] if inputs is not None else [])
        return cls._build(model, data, table)

    @classmethod
    def from_ledger(
        cls, payload: Mapping[str, Any], models: Mapping[str, ModelSpec]
    ) -> GenerationRequest:
        """A request as the ledger of paid tasks keeps it, validated against
        ``models``: its inputs known by their records (never read, never
        sent), enough to follow its tasks again and to name its result."""
        data = {str(k): v for k, v in payload.items()}
        model = data.pop("model", None)
        spec = models.get(model) if isinstance(model, str) else None
        if spec is None:
            raise ValidationError(f"model {model!r} is not offered here", field="model")
        return cls._build(model, recorded_inputs(data, spec.params), models)

    @classmethod
    def from_image(
        cls, image: str | os.PathLike[str] | bytes, *, models: Mapping[str, ModelSpec] | None = None
    ) -> GenerationRequest:
        """The request saved in an image's metadata by fluxpanel (PNG, JPEG or
        WebP), validated like any other input against the table of the
        provider that made it."""
        data = image if isinstance(image, bytes) else read_file(Path(image))
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

    def to_code(self, provider: Provider | str | None = None, *, inputs: str = "") -> str:
        """A runnable Python snippet that reproduces this request with fluxpanel.

        ``provider`` is the provider (or its name) the snippet should use; the
        key is always read from the environment, never written. ``inputs``
        names input images by their copies in that folder (an export's).
        """
        return request_code(self, provider, inputs=inputs)

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


def _rebuild(
    model: str, params: dict[str, Any], table: str | dict[str, ModelSpec] | None = None
) -> GenerationRequest:
    models = table_for(table) if table is None or isinstance(table, str) else table
    return GenerationRequest._build(model, params, models)
