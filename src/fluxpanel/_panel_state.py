"""What a panel keeps besides its traits: the settings each model was left
with, how settings carry over to another model or provider, the providers
it can switch between with a client for each, and its generations (the
running one, the one shown, the history on disk).

No widget here: :class:`FluxPanel` asks these what its traits should become
and sets them. The rules are the tables' (:func:`fluxpanel._request.fit`),
never a parameter's name.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._client import AsyncFluxClient
from ._errors import ConfigError
from ._history import HistoryStore
from ._kinds import KINDS, Kind
from ._panel_inputs import editing_target
from ._request import fit
from ._spec import ModelSpec, ParamSpec
from .providers import Provider, get_provider

if TYPE_CHECKING:
    from ._results import GeneratedImage, Generation

#: Settings shared by every model: they stay as they are when the model changes.
SHARED = ("prompt", "seed")

#: Reads a parameter's current value.
Getter = Callable[[str], Any]


def defaults(spec: ModelSpec) -> dict[str, Any]:
    """Each parameter's default, where it has one (not the prompt or the seed)."""
    return {k: p.default for k, p in spec.params.items() if p.default is not None}


def _own_defaults(spec: ModelSpec) -> dict[str, Any]:
    return {k: p.default for k, p in spec.params.items() if k not in SHARED}


def _changed(spec: ModelSpec | None, get: Getter, within: ModelSpec) -> dict[str, Any]:
    """What the user set on ``spec`` (values that are not its defaults) that
    ``within`` also takes."""
    if spec is None:
        return {}
    return {
        k: get(k)
        for k in spec.params
        if k not in SHARED and within.supports(k) and get(k) != spec.params[k].default
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
        self._left[spec.id] = {k: get(k) for k in spec.params if k not in SHARED}

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


def _offered(current: Provider, providers: list[Provider | str] | None) -> dict[str, Provider]:
    """The providers a panel can switch between: those given, else the one in
    use, every provider whose key is set, and the preview."""
    from .providers import configured

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


def tables(offered: Offered) -> Iterator[Mapping[str, ModelSpec]]:
    """Every offered provider's table (the panel has a trait for each parameter of each)."""
    return (p.models for p in offered)


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


class Results:
    """A panel's generations: the one running, the one shown (with its images
    by tile), and every one made, originals on disk (only the shown one is in
    memory)."""

    def __init__(self) -> None:
        self.store = HistoryStore()
        self.current: Generation | None = None
        self.shown: dict[str, GeneratedImage] = {}
        self.task: asyncio.Task[Generation] | None = None
        #: History entry ids, from 1.
        self.ids = itertools.count(1)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()
