"""A panel's session state: the providers it can switch between (a client
for each), the settings each model was left with, how settings carry over to
another model or provider, and the view's picture of the current settings
(their problems, their code, their cost).

The rules are the tables' (:func:`fluxpanel._request.fit`), never a
parameter's name: the prompt and the seed, which every model shares, are
known by their role in the table.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._client import AsyncFluxClient
from ._editing import editing_target
from ._errors import ConfigError, ValidationError
from ._kinds import KINDS, Kind, file_of
from ._panel_view import FIX, off_loop, provider_info
from ._pricing import estimate_cost, format_cost
from ._request import (
    GenerationRequest,
    all_param_names,
    default_model,
    field_problems,
    fit,
    resolve,
)
from ._snippet import request_code
from ._spec import ModelSpec, ParamSpec, models_to_json
from ._words import reason
from .providers import Provider, configured, get_provider

if TYPE_CHECKING:
    from ._inputs import InputImage
    from ._panel import FluxPanel

#: Reads a parameter's current value.
Getter = Callable[[str], Any]
#: The panel's text, kept across models (a model without one keeps it aside).
PROMPT = "prompt"
#: Traits a user may pass to the constructor besides the model's parameters.
EXTRA_ARGS = ("model", "seed_mode")


def shared(p: ParamSpec) -> bool:
    """Whether every model shares ``p`` (the prompt, the seed): it stays as it
    is when the model changes and is not remembered per model."""
    return bool(p.role or p.random)


def defaults(spec: ModelSpec) -> dict[str, Any]:
    """Each parameter's default, where it has one (not the prompt or the seed)."""
    return {k: p.default for k, p in spec.params.items() if p.default is not None}


def _own_defaults(spec: ModelSpec) -> dict[str, Any]:
    return {k: p.default for k, p in spec.params.items() if not shared(p)}


def _changed(spec: ModelSpec | None, get: Getter, within: ModelSpec) -> dict[str, Any]:
    """What the user set on ``spec`` (values that are not its defaults) that
    ``within`` also takes."""
    if spec is None:
        return {}
    return {
        k: get(k)
        for k, p in spec.params.items()
        if not shared(p) and within.supports(k) and get(k) != p.default
    }


def carry_input(old: ModelSpec | None, new: ModelSpec, get: Getter) -> dict[str, Any]:
    """The image being edited, carried to the new model's own input parameter
    (Kontext's ``input_image`` to FLUX.2's ``input_images``) when the names differ."""
    source, target = (editing_target(old) if old else None), editing_target(new)
    if source is None or target is None or source == target:
        return {}
    value = get(source)
    if value is None:
        return {}
    p = new.params[target]
    first = value[0] if isinstance(value, tuple) else value
    return {target: KINDS[p.kind].fit(p, first)}


class Settings:
    """The settings each model was left with, so coming back to a model finds
    them; and what a model's parameters become when it is chosen."""

    def __init__(self) -> None:
        self._left: dict[str, dict[str, Any]] = {}

    def leave(self, spec: ModelSpec, get: Getter) -> None:
        """Remember what ``spec``'s parameters are as the user leaves it."""
        self._left[spec.id] = {k: get(k) for k, p in spec.params.items() if not shared(p)}

    def arrive(self, old: ModelSpec | None, new: ModelSpec, get: Getter) -> dict[str, Any]:
        """The values of ``new``'s parameters when the user picks it: what they
        were left with, or on a first visit its defaults with what the user
        set on ``old`` brought into its ranges (and the image being edited)."""
        left = self._left.get(new.id)
        if left is not None:
            return left
        carried = _changed(old, get, new) if old is not None else {}
        return {**_own_defaults(new), **fit(new, carried), **carry_input(old, new, get)}

    def switch(
        self, before: ModelSpec | None, spec: ModelSpec, get: Getter
    ) -> tuple[dict[str, Any], list[str]]:
        """Another provider's table: the values of ``spec``'s parameters, and
        in words what could not carry over. Memory is per provider's ranges,
        so it is forgotten."""
        self._left.clear()
        kept = _changed(before, get, spec)
        values = {**_own_defaults(spec), **fit(spec, kept)}
        lost = [
            f"{k.replace('_', ' ')} {kept[k]} → {v}"
            for k, v in values.items()
            if k in kept and kept[k] != v
        ]
        return values, lost


class Offered:
    """The providers a panel can switch between, each with its client (made
    once, when first used)."""

    def __init__(
        self, client: AsyncFluxClient, providers: list[Provider | str] | None = None
    ) -> None:
        self.client = client
        self._clients = {client.provider.name: client}
        self._providers = _offered(client.provider, providers)

    def __iter__(self) -> Iterator[Provider]:
        return iter(self._providers.values())

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def names(self) -> list[str]:
        return list(self._providers)

    def describe(self) -> list[dict[str, str]]:
        """The providers as the view lists them."""
        return [{"name": n, "label": p.label} for n, p in self._providers.items()]

    def use(self, provider: Provider | str) -> AsyncFluxClient:
        """Make ``provider`` (one offered, or any by name or object) the one in
        use; returns its client."""
        if isinstance(provider, str):
            provider = self._providers.get(provider) or get_provider(provider)
        self._providers.setdefault(provider.name, provider)
        client = self._clients.get(provider.name)
        if client is None or client.provider is not provider:
            client = self._clients[provider.name] = AsyncFluxClient(provider=provider)
        self.client = client
        return client

    def tables(self) -> Iterator[Mapping[str, ModelSpec]]:
        """Every offered provider's table (the panel has a trait for each parameter of each)."""
        return (p.models for p in self)


def _offered(current: Provider, providers: list[Provider | str] | None) -> dict[str, Provider]:
    """The providers a panel can switch between: those given, else the one in
    use, every provider whose key is set, and the preview."""
    offered: dict[str, Provider] = {current.name: current}
    names: list[Provider | str] = (
        list(providers) if providers is not None else [*configured(), "preview"]
    )
    for item in names:
        if isinstance(item, Provider):
            offered.setdefault(item.name, item)
            continue
        if item in offered:
            continue
        try:
            offered[item] = get_provider(item)
        except ConfigError:
            continue  # a key without its endpoint, say: not offered
    return offered


def param_traits(tables: Iterable[Mapping[str, ModelSpec]]) -> dict[str, tuple[Kind, ParamSpec]]:
    """Each parameter any model in ``tables`` takes, with the kind of trait
    it needs (an integer here and a number there is a number; anything else
    that differs between hosts is a mistake in a table) and the first
    declaration of it (whose label and help document the trait)."""
    found: dict[str, tuple[Kind, ParamSpec]] = {}
    for table in tables:
        for spec in table.values():
            for name, p in spec.params.items():
                kind = KINDS[KINDS[p.kind].family]
                if name not in found:
                    found[name] = (kind, p)
                    continue
                known, first = found[name]
                joined = known.joins(kind)
                if joined is None:
                    raise TypeError(
                        f"{name} is {known.family} in one table and {kind.family} in another"
                    )
                found[name] = (KINDS[joined], first)
    return found


def starting_values(
    models: Mapping[str, ModelSpec], params: dict[str, Any]
) -> tuple[str, str, dict[str, Any]]:
    """``(model, seed_mode, values)`` for a panel made with ``params``,
    validated exactly as a request would be (a :class:`ValidationError`); a
    keyword no table knows is a :class:`TypeError` with the nearest name."""
    allowed = [*EXTRA_ARGS, *all_param_names(models)]
    unknown = [k for k in params if k not in allowed]
    if unknown:
        hints = [difflib.get_close_matches(k, allowed, n=1) for k in unknown]
        hint = "".join(f" (did you mean {h[0]!r}?)" for h in hints if h)
        raise TypeError(
            f"FluxPanel() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}"
            f"{hint}; it takes provider=, client= and: {', '.join(allowed)}"
        )
    params = dict(params)
    model = params.pop("model", default_model(models))
    seed_mode = params.pop("seed_mode", "fixed" if params.get("seed") is not None else "random")
    # An image a model requires may come later, from the view; the prompt is
    # the panel's for every model, kept aside by one that takes none.
    spec = models.get(model) if isinstance(model, str) else None
    if spec is not None and not spec.supports(PROMPT):
        checked = {k: v for k, v in params.items() if k != PROMPT}
    else:
        checked = {PROMPT: "x", **params}
    preset = resolve(models, model, checked, require_inputs=False)
    values = {
        **defaults(models[model]),
        **{k: v for k, v in preset.items() if k in params or k != PROMPT},
    }
    values[PROMPT] = params.get(PROMPT, "")
    return model, seed_mode, values


class Session:
    """What the panel keeps between runs: the offered providers with their
    clients, each model's remembered settings, and what the view shows of the
    current settings (their problems, the code for them, their cost)."""

    def __init__(self, panel: FluxPanel, offered: Offered) -> None:
        self.panel = panel
        self.offered = offered
        self.settings = Settings()
        #: While set, a change of model or provider carries nothing over.
        self.switching = True
        #: The panel's image parameters (their traits are not synced: the view
        #: sees their thumbnails).
        self.images: list[str] = []

    @property
    def client(self) -> AsyncFluxClient:
        return self.offered.client

    def get(self, name: str) -> Any:
        return getattr(self.panel, name)

    def model_changed(self, old: str, new: str) -> None:
        """The user chose another model: remember the old one's settings and
        set the new one's (remembered, or carried over into its ranges)."""
        models = self.client.provider.models
        was, now = models.get(old), models.get(new)
        if was is not None:
            self.settings.leave(was, self.get)
        if now is not None:
            self.set_params(self.settings.arrive(was, now, self.get))
        self.panel._runs.attempted = False  # a new model: nothing asked for yet
        if self.panel.status == "error" and self.panel.status_text == FIX:
            self.panel.set_trait("status_text", "")
            self.panel.set_trait("status", "idle")
        self.revalidate()

    def set_params(self, values: dict[str, Any], model: str | None = None) -> None:
        """Set parameters (and the model) at once, as one change: nothing
        carries over while they are set."""
        self.switching = True
        try:
            with self.panel.hold_trait_notifications():
                if model is not None:
                    self.panel.model = model
                for k, v in values.items():
                    setattr(self.panel, k, v)
        finally:
            self.switching = False

    def params(self) -> dict[str, Any]:
        """The current value of every parameter the current model takes (those
        that apply with the others' values)."""
        spec = self.client.provider.models.get(self.panel.model)
        if spec is None:
            return {}
        values = {name: getattr(self.panel, name) for name in spec.params}
        return {name: values[name] for name in spec.applicable(values)}

    def request(self) -> GenerationRequest:
        """The request for the current settings (a fresh random seed in random mode)."""
        params = self.params()
        spec = self.client.provider.models.get(self.panel.model)
        if spec is not None and self.panel.seed_mode == "random":
            params.update({n: None for n, p in spec.params.items() if p.random})
        return self.client.request(model=self.panel.model, **params)

    # -- providers --------------------------------------------------------------------

    def add_traits(self) -> None:
        """A synced trait for every parameter of every offered provider's
        table not yet a trait of the panel, documented by its row:
        ``panel.raw = True``, ``observe`` and ``traitlets.link`` work for each."""
        panel = self.panel
        kinds = param_traits(self.offered.tables())
        new = {
            n: kind.trait(f"{p.label}: {p.help}")
            for n, (kind, p) in kinds.items()
            if not panel.has_trait(n)
        }
        if new:
            panel.add_traits(**new)
            images = [n for n in new if kinds[n][0].takes_images]
            self.images += images
            panel.observe(panel._on_param, names=[n for n in new if n not in images])
            panel.observe(panel._on_input, names=images)
        panel.set_trait("param_names", list(dict.fromkeys([*panel.param_names, *kinds])))

    def show_provider(self) -> None:
        """Tell the view the provider in use, its table and the others offered."""
        panel, provider = self.panel, self.client.provider
        shown = models_to_json(provider.models, retired=panel.show_retired, keep=panel.model)
        panel.set_trait("spec", shown)
        panel.set_trait("provider_info", provider_info(provider))
        panel.set_trait("providers", self.offered.describe())
        self.switching, was = True, self.switching
        try:
            panel.provider_name = provider.name
        finally:
            self.switching = was

    def provider_chosen(self, name: str) -> None:
        """The view (or Python) chose provider ``name``: switch to it, or put
        the selector back and say why not."""
        if name == self.client.provider.name:
            return
        provider = self.offered.get(name)
        if provider is not None and not self.panel.running:
            self.switch(provider)
            return
        self.show_provider()  # put the selector back
        why = (
            "cancel the running generation before switching provider"
            if provider is not None
            else f"provider {name!r} is not offered here; choose one of: "
            + ", ".join(self.offered.names())
        )
        self.panel._runs.fail(ConfigError(why))

    def switch(self, provider: Provider | str) -> None:
        """Use another provider: the controls follow its table, and the
        settings carry over as closely as its ranges allow (what could not is
        said)."""
        panel = self.panel
        before = self.client.provider.models.get(panel.model)
        client = self.offered.use(provider)
        self.add_traits()  # a provider given here may take new parameters
        models = client.provider.models
        model = panel.model if panel.model in models else next(iter(models))
        values, lost = self.settings.switch(before, models[model], self.get)
        self.set_params(values, model)
        self.show_provider()
        panel.set_trait("error", {})
        note = f"; no equivalent there for {', '.join(lost)}" if lost else ""
        panel.set_trait("status_text", f"Now using {client.provider.label}{note}")
        self.revalidate()

    def revalidate(self) -> None:
        """Tell the view what is wrong with the current settings, the code for
        them and what they would cost."""
        panel, provider = self.panel, self.client.provider
        models, params = provider.models, panel.params
        problems = field_problems(models, panel.model, params)
        asked = panel._runs.attempted  # what is missing is asked for after a Generate
        shown = {k: self.words(k, e) for k, e in problems.items() if asked or not e.missing}
        panel.set_trait("field_errors", shown)
        if problems:
            panel.set_trait("code", "# The code appears here once the settings are complete.\n")
            return
        if panel.status == "error" and panel.status_text == FIX:  # fixed: the status goes
            panel.set_trait("status_text", "")
            panel.set_trait("status", "idle")
        request = GenerationRequest(panel.model, models=models, **params)
        self._show_code(request)
        cost = self.client.estimate_cost(request)
        if provider.offline:  # what it would cost for real, so cost is never a surprise
            listed = estimate_cost(request)
            estimate = f"a real run costs about {format_cost(listed)}" if listed else ""
        else:
            estimate = f"≈ {format_cost(cost)} at {provider.label}"
        panel.set_trait("estimate_text", estimate)

    def _show_code(self, request: GenerationRequest, *, wait: bool = False) -> None:
        """The code for the current settings. An input image it names by a
        file not written yet (a large upload) is written off the loop, so
        showing the image does not wait for the disk; a write that fails
        shows the code again with its note (``wait``: written here)."""
        panel, writes = self.panel, []

        def named(image: InputImage) -> tuple[str, list[str]]:
            if wait or image.url is not None:
                return file_of(image)
            path, write = image.file_later()
            if write is not None:
                writes.append(write)
            return repr(path), []

        fixed = panel.seed_mode == "fixed"
        code = request_code(request, self.client.provider, seed=fixed, files=named)
        panel.set_trait("code", code)
        if writes:
            off_loop(
                lambda: [write() for write in writes],
                lambda done: self._written(code, done),
                background=True,
            )

    def _written(self, code: str, done: Callable[[], Any]) -> None:
        try:
            done()
        except OSError:  # said in the code, as a file that could not be written is
            if self.panel.code == code:  # the settings are still those
                self._show_code(self.panel.request, wait=True)

    def words(self, name: str, error: ValidationError) -> str:
        """``error`` as the panel says it beside field ``name``."""
        spec = self.client.provider.models.get(self.panel.model)
        p = spec.params.get(name) if spec is not None else None
        if spec is None or p is None:
            return reason(error)
        return KINDS[p.kind].say(spec, p, error)
