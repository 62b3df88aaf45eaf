"""``AsyncFluxClient`` and ``FluxClient``: the Python API, with or without the widget.

The async client drives the engine; the sync client runs the very same async
client on a background event loop, so there is one implementation of every
behaviour.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from . import _loop
from ._account import AccountSlots
from ._batch import Batch, SyncBatch
from ._cache import CacheWarning, ResultCache, default_dir, get_cache
from ._durations import RecentRuns
from ._engine import (
    DEFAULT_DOWNLOAD_TIMEOUT,
    DEFAULT_DOWNLOADS_PER_HOST,
    DEFAULT_MAX_IMAGE_BYTES,
    Engine,
    ImageCallback,
    ProgressCallback,
    RetryPolicy,
    notify,
)
from ._errors import ConfigError, ModerationError
from ._flow import Tasks
from ._ledger import ledger_at
from ._limits import HostLimits
from ._pricing import estimate_cost
from ._request import GenerationRequest
from ._results import Generation
from ._resume import collect
from ._tasks import Kept
from .providers import Provider, get_provider

#: Seconds a finished run waits before the recent runs are written, so runs
#: finishing together are written once (they are in memory at once either way).
RUNS_WRITE_DELAY = 1.0


class AsyncFluxClient:
    """Generate images from async code (and from the panel).

    ``AsyncFluxClient(api_key=None, url=None, *, provider=None, timeout=None,
    max_retries=3, retry=None, transport=None)``. The key defaults to ``$FLUX_API_KEY``
    and the endpoint to ``$FLUX_API_URL``; with neither set nor a provider
    named, the offline preview provider is used. ``retry`` (a
    :class:`RetryPolicy`) tunes backoff beyond ``max_retries``. ``transport``
    is an httpx transport (for tests). Use as ``async with`` to close connections.

    ``cache`` (on by default) returns a stored result for a request already
    made at the same provider and endpoint, without any HTTP call: ``False``
    turns it off, a path or :class:`ResultCache` puts it elsewhere. ``prices``
    (dollars per image by model) overrides :data:`fluxpanel.PRICES` for the
    cost estimate every :class:`Generation` carries. ``deadline`` (seconds)
    bounds a whole generation, polling included. ``downloads_per_host`` (6,
    as a browser) is how many images are fetched from one image host at once;
    the rest wait their turn in order, so the first generation is finished first.
    ``limits`` (a :class:`HostLimits`) replaces the host's published limits
    (active tasks, creates a minute, generations in flight), which every
    client of the process shares for one account.

    ``ledger`` (on by default) keeps every task a host accepts in a small
    database beside the cache until its images are in hand: a run stopped
    by a restart is collected by :meth:`resume`, and the same request sent
    again while its task is still at the host joins that task instead of
    paying again.
    """

    def __init__(
        self,
        api_key: str | None = None,
        url: str | None = None,
        *,
        provider: Provider | str | None = None,
        timeout: httpx.Timeout | float | None = None,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
        downloads_per_host: int = DEFAULT_DOWNLOADS_PER_HOST,
        max_retries: int = 3,
        retry: RetryPolicy | None = None,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: ResultCache | bool | str | Path | None = True,
        prices: Mapping[str, float] | None = None,
        deadline: float = 600.0,
        limits: HostLimits | None = None,
        ledger: bool = True,
    ) -> None:
        if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
            raise ConfigError(f"max_retries={max_retries!r} must be an integer >= 0")
        self._provider = get_provider(provider, api_key=api_key, url=url)
        self._engine = Engine(
            self._provider,
            timeout=timeout,
            download_timeout=download_timeout,
            downloads_per_host=downloads_per_host,
            retry=retry or RetryPolicy(max_retries=max_retries),
            max_image_bytes=max_image_bytes,
            deadline=deadline,
            transport=transport,
            limits=limits,
        )
        # The preview provider is free and deterministic: nothing to save.
        self._cache = None if self._provider.offline else get_cache(cache)
        self._prices = prices
        # How long runs took here, beside the cache (or in the default cache folder).
        folder = self._cache.path if self._cache is not None else default_dir()
        self._runs = RecentRuns(folder / "recent-runs.json")
        self._saving: dict[asyncio.Future[None], asyncio.Event] = {}
        #: Generations handed over whose cache write and ledger end are
        #: still under way (the cache's own methods wait for its writes).
        self._storing: set[asyncio.Future[None]] = set()
        # Every task a host accepts, kept beside the cache until it ends.
        self._ledger = ledger_at(folder) if ledger and not self._provider.offline else None
        # An account's active tasks, counted across the kernels of this machine.
        self._slots = (
            AccountSlots(self._ledger, self._provider.name, self._provider.identity)
            if self._ledger is not None
            else None
        )

    @property
    def provider(self) -> Provider:
        """The provider this client generates with."""
        return self._provider

    @property
    def cache(self) -> ResultCache | None:
        """The result cache, or ``None`` when it is off (and for the preview)."""
        return self._cache

    def estimate_cost(self, request: GenerationRequest) -> float:
        """Dollars ``request`` is expected to cost at this client's provider."""
        if self._provider.offline:
            return 0.0
        return estimate_cost(request, self._prices)

    def _cost(self, request: GenerationRequest, generation: Generation) -> float:
        """What a finished generation is expected to have cost: every image
        the host made (one that failed to download was still made), less those
        it withheld where it does not bill them."""
        billed = request.count
        if not self._provider.bills_withheld:
            billed -= generation.withheld
        per_image = self.estimate_cost(request) / max(request.count, 1)
        return per_image * max(billed, 0)

    def request(
        self, request: GenerationRequest | None = None, /, **params: Any
    ) -> GenerationRequest:
        """A validated request for this client's provider, from a request
        (optionally changed by ``params``) or from parameters alone."""
        models = self._provider.models
        if request is None:
            return GenerationRequest(models=models, **params)
        if not isinstance(request, GenerationRequest):
            raise TypeError(
                f"expected a GenerationRequest or keyword parameters, got {type(request).__name__}"
            )
        base = GenerationRequest(request.model, models=models, **request.params)
        return base.replace(**params) if params else base

    def expected_seconds(self, request: GenerationRequest) -> float | None:
        """How long a run of ``request``'s model usually takes at this
        provider on this machine (the median of the recent runs), if known."""
        if self._provider.offline:
            return None
        return self._runs.expected(self._runs_key(request))

    def _runs_key(self, request: GenerationRequest) -> str:
        where = hashlib.sha256(self._provider.identity.encode()).hexdigest()[:12]
        return f"{self._provider.name}:{where}:{request.model}"

    async def generate(
        self,
        request: GenerationRequest | None = None,
        /,
        *,
        on_image: ImageCallback | None = None,
        on_progress: ProgressCallback | None = None,
        fresh: bool = False,
        **params: Any,
    ) -> Generation:
        """Generate images. ``generate(model="flux_dev", prompt="...")`` or
        ``generate(request)``. Bad parameters raise before any network call;
        ``on_image`` is called with each image as it arrives, ``on_progress``
        with each :class:`~fluxpanel.providers.Progress` (queued and its
        position, running and how far when the host says, downloading n of m,
        with the elapsed and expected seconds). With ``fresh``, the host makes
        a new result even when the cache holds one for this request (which it
        then replaces): a new draw from a model that takes no seed."""
        req = self.request(request, **params)
        if self._cache is not None and not fresh:
            try:
                hit = await asyncio.to_thread(self._cache.get, req, self._provider)
            except Exception as e:  # an unreadable cache is a miss, never a failure
                _cache_warning("read", self._cache, e)
                hit = None
            if hit is not None:
                for image in hit.images:
                    await notify(on_image, image)
                return hit
        tasks = Tasks()
        kept = await self._keep(req, tasks, join=not fresh)
        return await self._run(req, tasks, kept, on_image=on_image, on_progress=on_progress)

    async def _keep(self, req: GenerationRequest, tasks: Tasks, *, join: bool) -> Kept | None:
        """The ledger's side of a run of ``req``: its accepted tasks written,
        and (``join``) its tasks already at the host followed, not paid again."""
        if self._ledger is None:
            return None
        self._engine.gate().shared = self._slots
        kept = Kept(self._ledger, self._provider, req, ResultCache.key(req, self._provider),
                    self.estimate_cost(req))  # fmt: skip
        tasks.log = kept
        if join:
            await kept.arrived()  # a create a cancelled run of it left on its way
            tasks.rejoin = kept.join(self._ledger.pending(kept.key))
        return kept

    async def _run(
        self,
        req: GenerationRequest,
        tasks: Tasks,
        kept: Kept | None,
        *,
        on_image: ImageCallback | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> Generation:
        """One run at the host, and everything after billing, none of which
        may lose the images: the cost, the recent runs, the cache, the ledger."""
        try:
            generation = await self._engine.generate(
                req,
                on_image=on_image,
                on_progress=on_progress,
                expected=self.expected_seconds(req),
                tasks=tasks,
            )
        except BaseException as e:
            if kept is not None:
                kept.finish(tasks, None)  # what is still at the host is released
            if isinstance(e, ModerationError):
                e.billed = tasks.billed  # what the host says it billed for it, if it says
            raise
        generation.cost = self._cost(req, generation)
        # The host has billed: nothing from here on may lose the images.
        total = generation.timings.get("total")
        if not self._provider.offline and not generation.errors and total is not None:
            try:  # remembered at once, written to disk off this generation's path
                self._runs.add(self._runs_key(req), total)
                self._save_runs()
            except Exception:
                pass  # an estimate for next time, never worth a paid result
        if self._cache is not None or kept is not None:
            self._store(generation, tasks, kept)
        return generation

    def _store(self, generation: Generation, tasks: Tasks, kept: Kept | None) -> None:
        """The images are handed over first; then they are written to the
        cache and, once they are, the ledger says the tasks are done (a
        process that dies between leaves them to :func:`resume`)."""

        async def store() -> None:
            if self._cache is not None:
                try:
                    await asyncio.wrap_future(self._cache.put_soon(generation, self._provider))
                except Exception as e:
                    _cache_warning("write", self._cache, e)
            if kept is not None:
                kept.finish(tasks, generation)

        future = asyncio.ensure_future(store())
        self._storing.add(future)
        future.add_done_callback(self._storing.discard)

    # -- batches ------------------------------------------------------------------------------

    def amap(
        self,
        requests: Any,
        *,
        max_cost: float | None = None,
        folder: str | os.PathLike[str] | None = None,
        progress: bool = True,
        in_flight: int | None = None,
    ) -> Batch:
        """Many requests at the host's limits: ``async for item in
        client.amap(requests)`` yields each :class:`~fluxpanel.Item` as it
        finishes. ``requests``: a list of :class:`GenerationRequest` or of
        dicts of parameters, :func:`fluxpanel.grid`, or a pandas DataFrame
        (a row a request). ``max_cost`` (dollars) skips what would pass it;
        ``folder`` keeps each item's images and a ``manifest.jsonl`` there,
        so the batch run again makes only what is missing. See
        :mod:`fluxpanel._batch`."""
        return Batch(
            self, requests, max_cost=max_cost, folder=folder, progress=progress,
            in_flight=in_flight,
        )  # fmt: skip

    # -- tasks paid for before a restart ---------------------------------------------------

    async def unfinished(self) -> int:
        """How many paid generations at this host nobody follows now (from
        before a restart, or a run that stopped waiting): what
        :meth:`resume` collects."""
        if self._ledger is None:
            return 0
        found = self._ledger.unfinished(self._provider.name, self._provider.identity)
        return len({row.cache_key for row in await asyncio.wrap_future(found)})

    async def resume(
        self, *, on_generation: Callable[[Generation], object] | None = None
    ) -> list[Generation]:
        """Collect every paid task of this host that nobody follows now (a
        kernel restarted mid-run, a notebook closed, a lost connection):
        each is followed again, never created again, and its images put in
        the cache, so running the same request again pays nothing. Tasks the
        host no longer keeps are marked expired in the ledger. Returns the
        generations collected (``on_generation`` is told of each)."""
        if self._ledger is None:
            return []
        rows = self._ledger.unfinished(self._provider.name, self._provider.identity)
        return await collect(self, await asyncio.wrap_future(rows), on_generation)

    def _save_runs(self) -> None:
        """Write the recent runs soon, from a thread, one write at a time:
        runs that finish within :data:`RUNS_WRITE_DELAY` of each other go in
        one write (a burst of generations costs a write, not one each)."""
        loop = asyncio.get_running_loop()
        if any(f.get_loop() is loop for f in self._saving):
            return  # the write waiting or under way is followed by another if needed
        now = asyncio.Event()
        saving = asyncio.ensure_future(self._write_runs(now))
        self._saving[saving] = now

        def done(future: asyncio.Future[None]) -> None:
            self._saving.pop(future, None)
            if self._runs.dirty and not future.cancelled():
                self._save_runs()

        saving.add_done_callback(done)

    async def _write_runs(self, now: asyncio.Event) -> None:
        try:
            try:
                await asyncio.wait_for(now.wait(), RUNS_WRITE_DELAY)
            except TimeoutError:
                pass
        except asyncio.CancelledError:
            self._runs.save()  # the loop is closing: written now, as it goes
            raise
        await asyncio.to_thread(self._runs.save)

    async def aclose(self) -> None:
        """Close the client's connections (once what it remembers is written)."""
        loop = asyncio.get_running_loop()
        while storing := [f for f in self._storing if f.get_loop() is loop]:
            await asyncio.gather(*storing, return_exceptions=True)
        while pending := [f for f in self._saving if f.get_loop() is loop]:
            for future in pending:
                self._saving[future].set()  # no more waiting: write it now
            await asyncio.gather(*pending, return_exceptions=True)
        if self._ledger is not None:
            self._engine.gate().free_spares()  # slots kept for a next task are free
            await asyncio.wrap_future(self._ledger.flush())
        await self._engine.aclose()

    async def __aenter__(self) -> AsyncFluxClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(provider={self._provider!r})"


def _cache_warning(what: str, cache: ResultCache, error: Exception) -> None:
    warnings.warn(
        f"fluxpanel could not {what} its result cache at {cache.path} "
        f"({type(error).__name__}: {error}); the result is not "
        + ("stored, so the same request would be paid for again" if what == "write" else "used"),
        CacheWarning,
        stacklevel=3,
    )


class FluxClient:
    """Generate images from ordinary (blocking) code; works in Jupyter too.

    Takes the same arguments as :class:`AsyncFluxClient`, which it runs on a
    background event loop. Use as ``with FluxClient() as client:``.
    """

    def __init__(self, api_key: str | None = None, url: str | None = None, **kwargs: Any) -> None:
        self._async = AsyncFluxClient(api_key, url, **kwargs)

    @property
    def provider(self) -> Provider:
        """The provider this client generates with."""
        return self._async.provider

    @property
    def cache(self) -> ResultCache | None:
        """The result cache, or ``None`` when it is off (and for the preview)."""
        return self._async.cache

    def request(
        self, request: GenerationRequest | None = None, /, **params: Any
    ) -> GenerationRequest:
        """A validated request for this client's provider (see
        :meth:`AsyncFluxClient.request`)."""
        return self._async.request(request, **params)

    def estimate_cost(self, request: GenerationRequest) -> float:
        """Dollars ``request`` is expected to cost at this client's provider."""
        return self._async.estimate_cost(request)

    def generate(
        self,
        request: GenerationRequest | None = None,
        /,
        *,
        on_image: ImageCallback | None = None,
        on_progress: ProgressCallback | None = None,
        fresh: bool = False,
        **params: Any,
    ) -> Generation:
        """Generate images and wait for them. See :meth:`AsyncFluxClient.generate`
        (the callbacks run on the client's background thread)."""
        req = self._async.request(request, **params)  # validate here, before any I/O
        run = self._async.generate(req, on_image=on_image, on_progress=on_progress, fresh=fresh)
        return _loop.run(run)

    def map(
        self,
        requests: Any,
        *,
        max_cost: float | None = None,
        folder: str | os.PathLike[str] | None = None,
        progress: bool = True,
        in_flight: int | None = None,
    ) -> SyncBatch:
        """Many requests at the host's limits: ``for item in
        client.map(requests)`` gives each item as it finishes; see
        :meth:`AsyncFluxClient.amap`."""
        return SyncBatch(
            self._async.amap(
                requests, max_cost=max_cost, folder=folder, progress=progress, in_flight=in_flight
            )
        )

    def resume(
        self, *, on_generation: Callable[[Generation], object] | None = None
    ) -> list[Generation]:
        """Collect the paid tasks of this host nobody follows now; see
        :meth:`AsyncFluxClient.resume`."""
        return _loop.run(self._async.resume(on_generation=on_generation))

    def unfinished(self) -> int:
        """How many paid generations :meth:`resume` would collect."""
        return _loop.run(self._async.unfinished())

    def close(self) -> None:
        """Close the client's connections."""
        _loop.run(self._async.aclose())

    def __enter__(self) -> FluxClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FluxClient(provider={self.provider!r})"


def resume(cache: ResultCache | bool | str | Path | None = True) -> list[Generation]:
    """Collect every paid task the ledger holds that nobody follows now, at
    every host whose key is set in the environment (a kernel restarted
    mid-run, a notebook closed while it waited): each task is followed
    again, never paid again, and its images land in the cache, so the
    notebook's own cells, run again, pay nothing. Returns the generations
    collected; tasks the hosts no longer keep are marked expired."""
    store = get_cache(cache)
    folder = store.path if store is not None else default_dir()
    rows = ledger_at(folder).unfinished().result()
    found: list[Generation] = []
    for name, endpoint in sorted({(r.provider, r.endpoint) for r in rows}):
        try:
            provider = get_provider(name)
        except ConfigError:
            continue  # no key for that host here: its tasks wait for one
        if provider.identity != endpoint:
            continue  # another endpoint of that host: not this environment's
        with FluxClient(provider=provider, cache=cache) as client:
            found += client.resume()
    return found
