"""Batches: many requests at a host's limits, each result as it finishes.

``client.map(requests)`` (``client.amap`` in async code) takes requests
from a list (of :class:`GenerationRequest` or of dicts of parameters), a
:func:`grid`, or the rows of a pandas DataFrame, and yields an :class:`Item`
as each finishes. Requests are read one at a time as turns free up, so a
batch of 100,000 costs what the host's limits allow at once and no more
(:mod:`fluxpanel._limits`). For each item:

- a result already in the cache is returned without a request;
- a seed is drawn where the model takes one and none was given, and
  recorded, so the batch run again makes the same images (from the cache);
- ``max_cost`` is checked before it is sent (past it, the item is skipped);
- a failure is kept in the item (a typed error, ``retry_failed()`` for
  those alone) and never ends the batch; a moderated result is its own
  outcome, with what the host billed for it;
- with ``folder``, its images are written there and a row (request, seed,
  files, cost, status) is added to ``manifest.jsonl`` as it finishes: the
  batch stopped halfway and run again reads what is done from the folder
  and makes only the rest. A drawn seed is written there before its item is
  sent, so an item that was at the host when the batch stopped is asked
  again the same way, and collected (from the ledger) rather than paid
  again. Results are not all kept in memory.

Progress shows as a bar (tqdm where it is installed, else a line of text).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import math
import os
import sys
import threading
import time
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _loop
from ._cache import CacheWarning
from ._errors import CostLimitError, FluxError, ModerationError, ValidationError
from ._kinds import KINDS
from ._pricing import format_cost
from ._request import GenerationRequest
from ._results import Generation
from .tables.preview import MODELS as EVERY_MODEL

if TYPE_CHECKING:
    from ._client import AsyncFluxClient

MANIFEST = "manifest.jsonl"
#: How an item ended.
DONE, CACHED, FAILED, MODERATED, SKIPPED = "done", "cached", "failed", "moderated", "skipped"
#: An item sent with the seed drawn for it (its manifest row, before it ends).
SENT = "sent"


def grid(prompt: str | None = None, **params: Any) -> list[dict[str, Any]]:
    """The cross product of every list-valued parameter, as dicts of
    parameters for :meth:`~fluxpanel.FluxClient.map`:
    ``grid("a fox", model=["flux_schnell", "flux_dev"], seed=[1, 2, 3])`` is
    six. A parameter that takes a list (references, boxes) varies only when
    given a list of lists."""
    varying = varying_params(params, EVERY_MODEL)
    fixed = {k: v for k, v in params.items() if k not in varying}
    if prompt is not None:
        fixed["prompt"] = prompt
    return [
        {**fixed, **dict(zip(varying, combo, strict=True))}
        for combo in itertools.product(*varying.values())
    ]


def varying_params(params: Mapping[str, Any], models: Mapping[str, Any]) -> dict[str, list[Any]]:
    """The parameters given as lists of values to go through (a list of
    references, or of boxes, is one value; a list of such lists varies)."""
    lists = {n for m in models.values() for n, p in m.params.items() if KINDS[p.kind].many}
    varying = {
        k: list(v)
        for k, v in params.items()
        if isinstance(v, (list, tuple))
        and (k not in lists or all(isinstance(x, (list, tuple)) for x in v))
    }
    for name, values in varying.items():
        if not values:
            raise ValidationError(f"{name}=[] has no values to go through", field=name)
    return varying


@dataclass
class Item:
    """One item of a batch and how it ended: ``done``, ``cached``,
    ``failed``, ``moderated`` or ``skipped`` (over ``max_cost``)."""

    index: int
    params: dict[str, Any]
    request: GenerationRequest | None = None
    status: str = "waiting"
    generation: Generation | None = field(default=None, repr=False)
    error: FluxError | None = None
    #: Its images in the batch's folder.
    files: tuple[str, ...] = ()
    cost: float = 0.0
    billed: float | None = None
    seed: int | None = None

    @property
    def ok(self) -> bool:
        """Whether its images are in hand (made now, or from the cache or folder)."""
        return self.status in (DONE, CACHED)

    def row(self) -> dict[str, Any]:
        """The item's line in ``manifest.jsonl``."""
        return {
            "index": self.index,
            "asked": asked_digest(self.params),
            "status": self.status,
            "request": self.request.to_payload() if self.request is not None else None,
            "seed": self.seed,
            "files": list(self.files),
            "cost": self.cost,
            "billed": self.billed,
            "error": f"{type(self.error).__name__}: {self.error}" if self.error else None,
        }


def asked_digest(params: Mapping[str, Any]) -> str:
    """What an item asked for, as given (its seed only if one was given)."""
    text = json.dumps(params, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    to_json = getattr(value, "to_json", None)
    return to_json() if callable(to_json) else repr(value)


def as_params(value: Any) -> dict[str, Any]:
    """An item's parameters: a request's, a dict's, or a DataFrame row's
    (empty cells left out)."""
    if isinstance(value, GenerationRequest):
        return {"model": value.model, **value.params}
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items() if not _empty(v)}
    raise ValidationError(
        f"a batch item must be a GenerationRequest or a dict of parameters, not "
        f"{type(value).__name__}",
        field=None,
    )


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def rows_of(requests: Any) -> Iterable[Any]:
    """The items of ``requests``: a DataFrame's rows as dicts, else itself."""
    if hasattr(requests, "to_dict") and hasattr(requests, "iterrows"):  # a pandas DataFrame
        return (row.to_dict() for _, row in requests.iterrows())
    return requests


class Batch:
    """Items made at a host's limits, yielded as each finishes (``async
    for`` in async code, ``for`` from :meth:`FluxClient.map`). What each
    ended as is kept in :attr:`items` (without its images)."""

    def __init__(
        self,
        client: AsyncFluxClient,
        requests: Any,
        *,
        max_cost: float | None = None,
        folder: str | os.PathLike[str] | None = None,
        progress: bool = True,
        in_flight: int | None = None,
    ) -> None:
        self._client = client
        self._source = rows_of(requests)
        self._total = len(self._source) if hasattr(self._source, "__len__") else None
        self.max_cost = max_cost
        self.folder = Path(folder) if folder is not None else None
        self.spent = 0.0
        self.items: list[Item] = []
        self._progress = progress
        self._in_flight = in_flight or client._engine.gate().limits.in_flight
        self._done = self._read_manifest()
        self._writing = threading.Lock()
        self._warned = False

    # -- what it holds ----------------------------------------------------------------------

    @property
    def failed(self) -> list[Item]:
        """The items that failed or were moderated (:meth:`retry_failed` runs them again)."""
        return [i for i in self.items if i.status in (FAILED, MODERATED)]

    def summary(self) -> str:
        """How many items ended how, and what they cost."""
        ends = (DONE, CACHED, FAILED, MODERATED, SKIPPED)
        counts = {s: sum(1 for i in self.items if i.status == s) for s in ends}
        said = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        billed = [i.billed for i in self.items if i.billed is not None]
        money = f"estimated {format_cost(self.spent)}"
        if billed:
            money += f" · billed {format_cost(sum(billed))}"
        return f"{len(self.items)} items ({said or 'none yet'}); {money}"

    def __repr__(self) -> str:
        return f"<Batch {self.summary()}>"

    # -- running ------------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Item]:
        return self._run(enumerate(self._source))

    async def _run(self, source: Iterator[tuple[int, Any]]) -> AsyncIterator[Item]:
        finished: asyncio.Queue[Item | None] = asyncio.Queue()
        bar = ProgressBar(self._total, self._progress)

        async def worker() -> None:
            try:
                for index, value in source:  # one at a time, as turns free up
                    await finished.put(await self._one(index, value))
            finally:
                await finished.put(None)

        workers = [asyncio.ensure_future(worker()) for _ in range(self._in_flight)]
        running = len(workers)
        try:
            while running:
                item = await finished.get()
                if item is None:
                    running -= 1
                    continue
                self.items.append(_summary(item))
                bar.show(self)
                yield item
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            bar.close(self)

    async def _one(self, index: int, value: Any) -> Item:
        try:
            params = as_params(value)
        except FluxError as e:
            return Item(index, {}, status=FAILED, error=e)
        item = Item(index, params)
        earlier = self._done.get(index)
        if earlier is not None and earlier.get("asked") == asked_digest(params):
            if earlier.get("status") in (DONE, CACHED) and self._files_here(earlier):
                return _from_row(item, earlier)
            if "seed" not in params and isinstance(earlier.get("seed"), int):
                params = {**params, "seed": earlier["seed"]}  # the seed it was given before
        try:
            item.request = self._client.request(**params)
        except FluxError as e:
            return self._ended(item, FAILED, e)
        item.seed = item.request.seed
        return await self._generate(item)

    async def _generate(self, item: Item) -> Item:
        client, request = self._client, item.request
        assert request is not None
        cache = client.cache
        cached = cache is not None and cache.contains(request, client.provider)
        estimate = 0.0 if cached else client.estimate_cost(request)
        if self.max_cost is not None and self.spent + estimate > self.max_cost + 1e-9:
            error = CostLimitError(
                f"item {item.index + 1} would pass max_cost={format_cost(self.max_cost)} "
                f"(spent {format_cost(self.spent)}, this {format_cost(estimate)}); not sent"
            )
            return self._ended(item, SKIPPED, error)
        self.spent += estimate
        if self.folder is not None and not cached and "seed" not in item.params and item.seed:
            self._append({**item.row(), "status": SENT})  # the seed, before it is paid for
        try:
            generation = await client.generate(request)
        except ModerationError as e:
            item.billed = getattr(e, "billed", None)
            return self._ended(item, MODERATED, e)
        except FluxError as e:
            return self._ended(item, FAILED, e)
        item.generation, item.cost, item.billed = generation, generation.cost, generation.billed
        if not generation.images:
            return self._ended(item, FAILED, generation.errors[0] if generation.errors else None)
        if self.folder is not None:
            item.files = await asyncio.to_thread(self._save, item.index, generation)
        return self._ended(item, CACHED if generation.cached else DONE, None)

    async def retry_failed(self) -> list[Item]:
        """Run the failed and moderated items again (only those)."""
        again = [(i.index, i.params) for i in self.failed]
        self.items = [i for i in self.items if i.status not in (FAILED, MODERATED)]
        return [item async for item in self._run(iter(again))]

    # -- the folder --------------------------------------------------------------------------

    def _ended(self, item: Item, status: str, error: FluxError | None) -> Item:
        item.status, item.error = status, error
        if self.folder is not None:
            self._append(item.row())
        return item

    def _save(self, index: int, generation: Generation) -> tuple[str, ...]:
        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        names = []
        for image in generation.images:
            name = f"{index:05d}-{image.index}-{image.seed}{image.extension}"
            image.save(self.folder / name)
            names.append(name)
        return tuple(names)

    def _append(self, row: dict[str, Any]) -> None:
        assert self.folder is not None
        line = json.dumps(row, ensure_ascii=False, default=str) + "\n"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with self._writing, open(self.folder / MANIFEST, "a", encoding="utf-8") as f:
                f.write(line)
        except OSError as e:  # the images are returned all the same
            if not self._warned:
                self._warned = True
                warnings.warn(
                    f"fluxpanel could not write {self.folder / MANIFEST} ({e}); the batch goes "
                    "on, but run again it will not know what is done",
                    CacheWarning,
                    stacklevel=2,
                )

    def _read_manifest(self) -> dict[int, dict[str, Any]]:
        """What a run of this batch into the same folder already made, by index."""
        if self.folder is None:
            return {}
        done: dict[int, dict[str, Any]] = {}
        try:
            with open(self.folder / MANIFEST, encoding="utf-8") as f:
                for line in f:
                    try:
                        row = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by a stop mid-write
                    if isinstance(row, dict) and isinstance(row.get("index"), int):
                        done[row["index"]] = row
        except OSError:
            pass
        return done

    def _files_here(self, row: Mapping[str, Any]) -> bool:
        assert self.folder is not None
        files = row.get("files") or []
        return bool(files) and all(
            isinstance(f, str) and (self.folder / Path(f).name).is_file() for f in files
        )


def _from_row(item: Item, row: Mapping[str, Any]) -> Item:
    """An item a previous run finished, as its manifest row says."""
    item.status = row["status"]
    item.files = tuple(row.get("files") or ())
    item.seed = row.get("seed") if isinstance(row.get("seed"), int) else None
    item.cost = 0.0  # paid for then, not now
    return item


def _summary(item: Item) -> Item:
    """The item without its images, as the batch keeps it."""
    return Item(
        item.index,
        item.params,
        item.request,
        item.status,
        None,
        item.error,
        item.files,
        item.cost,
        item.billed,
        item.seed,
    )


class ProgressBar:
    """A batch's progress: tqdm where it is installed, else a line of text
    (on stderr) rewritten at most five times a second."""

    def __init__(self, total: int | None, enabled: bool) -> None:
        self._bar: Any = None
        self._enabled = enabled
        self._last = 0.0
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm  # noqa: PLC0415 - optional: used where it is installed
        except ImportError:
            return
        self._bar = tqdm(total=total, desc="fluxpanel", unit="item")

    def show(self, batch: Batch) -> None:
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix_str(_short(batch), refresh=False)
            return
        now = time.monotonic()
        if now - self._last >= 0.2:
            self._last = now
            sys.stderr.write(f"\rfluxpanel: {_short(batch)}")
            sys.stderr.flush()

    def close(self, batch: Batch) -> None:
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.set_postfix_str(_short(batch))
            self._bar.close()
            return
        sys.stderr.write(f"\rfluxpanel: {batch.summary()}\n")
        sys.stderr.flush()


def _short(batch: Batch) -> str:
    bad = len(batch.failed)
    failed = f", {bad} failed" if bad else ""
    return f"{len(batch.items)} done{failed}, {format_cost(batch.spent)}"


class SyncBatch:
    """A :class:`Batch` driven from ordinary code: ``for item in
    client.map(...)`` runs it on the client's background loop."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch

    def __iter__(self) -> Iterator[Item]:
        return _loop.iterate(self.batch.__aiter__())

    @property
    def items(self) -> list[Item]:
        """What each item ended as, without its images."""
        return self.batch.items

    @property
    def failed(self) -> list[Item]:
        """The items that failed or were moderated."""
        return self.batch.failed

    def retry_failed(self) -> list[Item]:
        """Run the failed and moderated items again (only those), waiting for them."""
        return _loop.run(self.batch.retry_failed())

    def summary(self) -> str:
        """How many items ended how, and what they cost."""
        return self.batch.summary()

    def __repr__(self) -> str:
        return repr(self.batch)
