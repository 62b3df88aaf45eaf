"""The engine: the one place that drives a provider's flow over HTTP.

Providers describe calls and read replies (:mod:`fluxpanel.providers._base`);
the engine sends them and keeps the flow: submit, follow the task, the
deadline, cancelling, the phases a person sees, and fetching the images. It
asks small units for every rule: :mod:`fluxpanel._retry` when to try again,
:mod:`fluxpanel._bodies` how many bytes may arrive, :mod:`fluxpanel._downloads`
(with :mod:`fluxpanel._addresses`) which images may be fetched,
:mod:`fluxpanel._accepting` which task a part follows and what is kept of
each task the host accepted, and the provider's
:class:`~fluxpanel._keys.KeyRule` what no error may carry.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from ._accepting import Accepting, quietly
from ._bodies import DEFAULT_MAX_IMAGE_BYTES
from ._downloads import DEFAULT_DOWNLOAD_TIMEOUT, DEFAULT_DOWNLOADS_PER_HOST, Downloads
from ._errors import APIError, ConfigError, FluxError, RequestTimeout
from ._flow import Call, Outputs, Progress, Reply, Tasks
from ._http import Clients, timeout_of
from ._limits import Gate, HostLimits, gate_for
from ._phases import ImageCallback, Phases, ProgressCallback, notify
from ._request import GenerationRequest
from ._results import Generation
from ._retry import RetryPolicy, parse_retry_after
from ._sending import Sender, not_counted
from .providers._base import Provider

__all__ = [
    "DEFAULT_DOWNLOADS_PER_HOST",
    "DEFAULT_DOWNLOAD_TIMEOUT",
    "DEFAULT_MAX_IMAGE_BYTES",
    "Engine",
    "ImageCallback",
    "Phases",
    "ProgressCallback",
    "RetryPolicy",
    "notify",
    "parse_retry_after",
]


class Engine:
    """Runs a provider's calls with one retry policy and one set of timeouts."""

    def __init__(
        self,
        provider: Provider,
        *,
        timeout: httpx.Timeout | float | None = None,
        download_timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
        downloads_per_host: int = DEFAULT_DOWNLOADS_PER_HOST,
        retry: RetryPolicy | None = None,
        max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
        deadline: float = 600.0,
        transport: httpx.AsyncBaseTransport | None = None,
        rng: random.Random | None = None,
        limits: HostLimits | None = None,
    ) -> None:
        per_host = downloads_per_host
        if not isinstance(per_host, int) or isinstance(per_host, bool) or per_host < 1:
            raise ConfigError(f"downloads_per_host={per_host!r} must be an integer >= 1")
        self.provider = provider
        self.timeout = timeout_of(timeout)
        self.retry = retry or RetryPolicy()
        self.deadline = float(deadline)
        self._transport = transport
        self._rng = rng or random.Random()
        #: The host's limits this engine keeps (the provider's published ones by default).
        self.limits = limits
        self.sender = Sender(provider, self.retry, self._rng, self.clients, self.gate)
        self.downloads = Downloads(
            provider.addresses,
            self.retry,
            self._rng,
            budget=float(download_timeout),
            max_bytes=int(max_image_bytes),
            per_host=per_host,
        )
        self._clients: Clients | None = None

    # -- the clients of the running loop ---------------------------------------------

    def clients(self) -> Clients:
        """The HTTP clients of the running loop (fresh ones on a new loop)."""
        loop = asyncio.get_running_loop()
        if self._clients is None or self._clients.loop is not loop:
            if self._clients is not None:
                self._clients.close_later()
            self._clients = Clients(loop, self.timeout, self._transport)
        return self._clients

    def gate(self) -> Gate:
        """The gate of this host account, shared by every client of the process."""
        secrets = "\0".join(s for s in self.provider.keys.secrets if s)
        account = (
            self.provider.name,
            self.provider.identity,
            hashlib.sha256(secrets.encode()).hexdigest(),  # held in memory only
        )
        return gate_for(account, self.limits or self.provider.limits)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, None
        if clients is not None and clients.loop is asyncio.get_running_loop():
            await clients.aclose()  # made on another loop, which owns (and closes) them

    # -- one generation ------------------------------------------------------------

    async def generate(
        self,
        request: GenerationRequest,
        *,
        on_image: ImageCallback | None = None,
        on_progress: ProgressCallback | None = None,
        expected: float | None = None,
        tasks: Tasks | None = None,
    ) -> Generation:
        """Run ``request`` to the end: submit, follow the provider's flow,
        fetch and check every image. ``on_image`` is called as each arrives;
        ``on_progress`` with each :class:`Progress` (``expected``: the seconds
        a run usually takes here, passed along). ``tasks`` says which tasks to
        follow again instead of creating, and where accepted ones are
        written (the ledger); it is filled in as the run goes. It waits its
        turn among the generations in flight to this host first (see
        :mod:`fluxpanel._limits`)."""
        async with self.gate().generation():
            started = time.perf_counter()
            run = _Run(Phases(on_progress, started, expected), tasks or Tasks(), started)
            return await self._generate(request, on_image, run)

    async def _generate(
        self, request: GenerationRequest, on_image: ImageCallback | None, run: _Run
    ) -> Generation:
        started, phases = run.started, run.phases
        try:
            await phases.emit(Progress("submitting"))
            outputs = await self._within_deadline(self._run_flow(request, run), run)
            submitted = time.perf_counter()
            left = self.deadline - (submitted - started)
            images, errors = await self.downloads.images(
                self.clients(),
                request,
                outputs,
                provider=self.provider.name,
                on_image=on_image,
                within=left,
                phases=phases,
            )
        except FluxError as e:
            raise self.provider.keys.scrub(e) from None
        done = time.perf_counter()
        timings = {"submit": submitted - started, "download": done - submitted}
        return Generation(
            request=request,
            images=images,
            provider=self.provider.name,
            endpoint=self.provider.endpoint,
            timings={**timings, "total": done - started, **phases.finish()},
            errors=[self.provider.keys.scrub(e) for e in errors],
            code=request.to_code(self.provider),
            requested=request.count,
            withheld=outputs.withheld,
            withheld_by=self.provider.withheld_by if outputs.withheld else "",
            expanded_prompt=outputs.prompt,
            billed=run.tasks.billed,
        )

    async def _within_deadline(self, flow: Any, run: _Run) -> Outputs:
        """``flow`` (submitting and following the provider's task) bounded by
        the deadline as a whole: a server dripping its answer a byte at a time
        cannot hold a generation past it. The provider is told to cancel."""
        try:
            async with asyncio.timeout(self.deadline) as deadline:
                run.deadline = deadline
                return await flow
        except TimeoutError:
            tasks = f" (task {', '.join(run.seen)})" if run.seen else ""
            raise RequestTimeout(
                f"{self.provider.label} did not finish within {self.deadline:g} s{tasks}; giving up"
            ) from None

    async def _run_flow(self, request: GenerationRequest, run: _Run) -> Outputs:
        parts = self.provider.tasks(request)
        if len(parts) == 1:
            return await self._run_task(parts[0], 0, 1, run)
        results = await asyncio.gather(
            *(self._run_task(t, i, len(parts), run) for i, t in enumerate(parts)),
            return_exceptions=True,
        )
        return Outputs.of_tasks([t.seed for t in parts], results)

    async def _run_task(
        self, request: GenerationRequest, part: int, parts: int, run: _Run
    ) -> Outputs:
        asked = time.monotonic()
        async with self.gate().task() as turn:  # the host account's active tasks
            not_counted(run.deadline, time.monotonic() - asked)
            run.tasks.slots[part] = turn.slot
            try:
                outputs = await self._follow(request, part, parts, run)
            finally:
                # a task created here holds the slot now (one joined was counted already)
                turn.taken = part in run.tasks.accepted and part not in run.tasks.rejoin
        run.tasks.done.add(part)
        return outputs

    async def _follow(
        self, request: GenerationRequest, part: int, parts: int, run: _Run
    ) -> Outputs:
        tasks = run.tasks
        this = Accepting(self.provider, request, part, parts, tasks)
        step, written = this.first(), None

        def late(reply: asyncio.Future[Reply]) -> None:  # a create answered after a cancel
            this.keep_late(call, reply)

        while isinstance(step, Call):
            call = step
            if call.task and call.task not in run.seen:
                run.seen.append(call.task)
            giving_up = False  # the deadline may fire while its cancel is sent: once is enough
            try:
                if call.delay:
                    if time.perf_counter() + call.delay - run.started > self.deadline:
                        giving_up = True
                        await self._give_up(call)
                    await asyncio.sleep(call.delay)
                if written is not None:  # the ledger has the task before its first poll
                    await quietly(written)
                    written = None
                reply = await self.sender.step(call, run.phases, run.deadline, late)
            except asyncio.CancelledError:
                if not giving_up:
                    await self._cancel(call)
                raise
            except APIError as e:
                if part in tasks.accepted and _refused(e):
                    tasks.final[part] = e  # the host's answer on its own task
                raise
            if call.billable and reply.status < 400:
                written = this.accepted(call, reply)
            try:
                step = self._advance(request, call, reply)
            except FluxError as e:
                tasks.final[part] = e  # the host's verdict on the task
                raise
            if isinstance(step, Call) and step.progress is not None:
                await run.phases.emit(step.progress)
        # A task that ended with its create (Replicate's held create, the API
        # page's answer with the images) is written with the ledger's next
        # batch, within its LINGER: the create, during which the task ran and
        # nothing names it yet, is by far the longer time to lose it in.
        return step

    async def _give_up(self, call: Call) -> None:
        """A wait that would pass the deadline gives up now, stopping the
        task (and its billing) where the API can."""
        await self._cancel(call)
        task = f" (task {call.task})" if call.task else ""
        raise RequestTimeout(
            f"{self.provider.label} did not finish within {self.deadline:g} s{task}; giving up"
        )

    def _advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Call | Outputs:
        """The provider's next step; an answer of a shape it cannot read (a
        list where an object belongs, a flag that is not a list) is an
        :class:`APIError`, whatever the adapter tripped over."""
        try:
            return self.provider.advance(request, call, reply)
        except FluxError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            raise self.provider.unreadable(reply, f"{type(e).__name__}: {e}") from None

    async def _cancel(self, call: Call) -> None:
        undo = self.provider.cancel(call)
        if undo is None:
            return
        sent = asyncio.ensure_future(self.sender.attempt(undo))
        # Shielded, it outlives a deadline; its outcome is read either way.
        sent.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            await asyncio.shield(sent)
        except Exception:  # best effort: the task is being abandoned anyway
            pass

    # -- the images ------------------------------------------------------------------

    async def download(
        self, url: str, *, budget: float | None = None, within: float | None = None
    ) -> bytes:
        """Fetch one image address (see :mod:`fluxpanel._downloads`)."""
        return await self.downloads.fetch(self.clients(), url, budget=budget, within=within)


@dataclass
class _Run:
    """One generation under way: its phases, its tasks, when it started and
    the host's task ids seen (to name them if time runs out)."""

    phases: Phases
    tasks: Tasks
    started: float
    seen: list[str] = field(default_factory=list)
    #: The deadline of its flow, once it is under way.
    deadline: asyncio.Timeout | None = None


def _refused(error: APIError) -> bool:
    """An answer that ends a task (a 4xx on its own address: not found,
    refused, gone), not one worth coming back for (a 5xx, a 408, a 429)."""
    return error.status is not None and 400 <= error.status < 500 and error.status not in (408, 429)
