"""The engine: the one place that drives a provider's flow over HTTP.

Providers describe calls and read replies (:mod:`fluxpanel.providers._base`);
the engine sends them and keeps the flow: submit, follow the task, the
deadline, cancelling, the phases a person sees, and fetching the images. It
asks small units for every rule: :mod:`fluxpanel._retry` when to try again,
:mod:`fluxpanel._bodies` how many bytes may arrive, :mod:`fluxpanel._downloads`
(with :mod:`fluxpanel._addresses`) which images may be fetched, and the
provider's :class:`~fluxpanel._keys.KeyRule` what no error may carry.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
from contextvars import ContextVar
from typing import Any

import httpx

from ._bodies import DEFAULT_MAX_IMAGE_BYTES, MAX_API_BYTES, read_body
from ._downloads import DEFAULT_DOWNLOAD_TIMEOUT, DEFAULT_DOWNLOADS_PER_HOST, Downloads
from ._errors import APIError, ConfigError, FluxError, RequestTimeout, error_for_status
from ._flow import Call, Outputs, Progress, Reply, Source
from ._http import Clients, timeout_of
from ._imaging import check_image
from ._keys import public_url
from ._limits import Gate, HostLimits, gate_for
from ._phases import ImageCallback, Phases, ProgressCallback, notify
from ._request import GenerationRequest
from ._results import GeneratedImage, Generation
from ._retry import RetryPolicy, parse_retry_after, too_long, with_retries
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
    ) -> Generation:
        """Run ``request`` to the end: submit, follow the provider's flow,
        fetch and check every image. ``on_image`` is called as each arrives;
        ``on_progress`` with each :class:`Progress` (``expected``: the seconds
        a run usually takes here, passed along). It waits its turn among
        the generations in flight to this host first (see
        :mod:`fluxpanel._limits`)."""
        async with self.gate().generation():
            return await self._generate(request, on_image, on_progress, expected)

    async def _generate(
        self,
        request: GenerationRequest,
        on_image: ImageCallback | None,
        on_progress: ProgressCallback | None,
        expected: float | None,
    ) -> Generation:
        started = time.perf_counter()
        phases = Phases(on_progress, started, expected)
        try:
            await phases.emit(Progress("submitting"))
            seen: list[str] = []  # the host's task ids, to name them if time runs out
            outputs = await self._within_deadline(
                self._run_flow(request, started, seen, phases), seen
            )
            submitted = time.perf_counter()
            left = self.deadline - (submitted - started)
            images, errors = await self._fetch(request, outputs, on_image, left, phases)
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
        )

    async def _within_deadline(self, flow: Any, seen: list[str]) -> Outputs:
        """``flow`` (submitting and following the provider's task) bounded by
        the deadline as a whole: a server dripping its answer a byte at a time
        cannot hold a generation past it. The provider is told to cancel."""
        try:
            async with asyncio.timeout(self.deadline) as deadline:
                _DEADLINE.set(deadline)
                return await flow
        except TimeoutError:
            tasks = f" (task {', '.join(seen)})" if seen else ""
            raise RequestTimeout(
                f"{self.provider.label} did not finish within {self.deadline:g} s{tasks}; giving up"
            ) from None

    async def _run_flow(
        self, request: GenerationRequest, started: float, seen: list[str], phases: Phases
    ) -> Outputs:
        tasks = self.provider.tasks(request)
        if len(tasks) == 1:
            return await self._run_task(tasks[0], started, seen, phases)
        results = await asyncio.gather(
            *(self._run_task(t, started, seen, phases) for t in tasks), return_exceptions=True
        )
        return Outputs.of_tasks([t.seed for t in tasks], results)

    async def _run_task(
        self, request: GenerationRequest, started: float, seen: list[str], phases: Phases
    ) -> Outputs:
        asked = time.monotonic()
        async with self.gate().task():  # the host's active tasks
            _not_counted(time.monotonic() - asked)
            return await self._follow(request, started, seen, phases)

    async def _follow(
        self, request: GenerationRequest, started: float, seen: list[str], phases: Phases
    ) -> Outputs:
        step = self.provider.start(request)
        while isinstance(step, Call):
            call = step
            if call.task and call.task not in seen:
                seen.append(call.task)
            giving_up = False  # the deadline may fire while its cancel is sent: once is enough
            try:
                if call.delay:
                    if time.perf_counter() + call.delay - started > self.deadline:
                        giving_up = True
                        await self._give_up(call)
                    await asyncio.sleep(call.delay)
                if call.until:
                    reply = await self._held(call, phases)
                elif call.billable:
                    reply = await self._create(call, phases)
                else:
                    reply = await self.send(call, phases)
            except asyncio.CancelledError:
                if not giving_up:
                    await self._cancel(call)
                raise
            step = self._advance(request, call, reply)
            if isinstance(step, Call) and step.progress is not None:
                await phases.emit(step.progress)
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
        sent = asyncio.ensure_future(self._attempt(undo))
        # Shielded, it outlives a deadline; its outcome is read either way.
        sent.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            await asyncio.shield(sent)
        except Exception:  # best effort: the task is being abandoned anyway
            pass

    # -- sending ------------------------------------------------------------------------

    async def send(self, call: Call, phases: Phases | None = None) -> Reply:
        """Send one provider call with the retry policy; error statuses raise.
        A held stream's progress goes to ``phases`` as it comes."""
        reply = await self._retried(call, phases)
        if reply.status < 400:
            return reply
        raise self._error(call, reply)

    def _error(self, call: Call, reply: Reply) -> FluxError:
        try:
            return self.provider.error(call, reply, retry_after=self.provider.retry_after(reply))
        except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
            return error_for_status(
                reply.status,
                f"{self.provider.label} answered {reply.status} with a body fluxpanel "
                f"cannot read ({type(e).__name__})",
                request_id=reply.request_id,
            )

    async def _create(self, call: Call, phases: Phases) -> Reply:
        """A billable create, in its turn at the host's gate. A 429 that names
        its wait (``Retry-After``, or the host's own words) is waited out,
        every create to the host waiting with it, as often as it comes
        within the deadline; one that names none is backed off a few times."""
        gate, backoffs = self.gate(), 0
        while True:
            asked = time.monotonic()
            async with gate.create():
                _not_counted(time.monotonic() - asked)  # our own queue, not the host's time
                reply = await self._retried(call, phases, retry_429=False)
            if reply.status != 429:
                break
            wait = self.provider.retry_after(reply)
            if wait is not None and wait > self.retry.max_retry_after:
                raise too_long(wait, self.retry, reply)
            if not wait:
                if backoffs >= self.retry.max_retries:
                    break
                wait = self.retry.backoff(backoffs, self._rng)
                backoffs += 1
            gate.throttled(wait)
            await asyncio.sleep(wait)
        if reply.status >= 400:
            raise self._error(call, reply)
        return reply

    async def _held(self, call: Call, phases: Phases) -> Reply:
        """A held stream is a quicker way to learn what polling also learns:
        if it fails (an error status, a broken connection after the retries),
        the provider gets an empty reply and goes on by polling. It never
        fails a generation."""
        try:
            reply = await self._retried(call, phases)
        except FluxError:
            return Reply(0, {}, b"")
        return reply if reply.status < 400 else Reply(reply.status, reply.headers, b"")

    async def _retried(self, call: Call, phases: Phases | None, *, retry_429: bool = True) -> Reply:
        return await with_retries(
            lambda: self._attempt(call, phases),
            billable=call.billable,
            policy=self.retry,
            rng=self._rng,
            retry_429=retry_429,
        )

    async def _guard(self, call: Call) -> None:
        """A call to an address the API handed back that is not one of its own
        (fal's upload URL): the key may not go there, and the address must
        pass the same rule as an image's (http(s), public for a remote API)."""
        keys = self.provider.keys
        if keys.may_go(call.url):
            return
        if keys.carried_by(call.headers):
            raise APIError(
                f"{self.provider.label}'s call to {public_url(call.url)} would carry the key "
                "to an address it may not go to; not sent"
            )
        await self.provider.addresses.check(call.url, "an address to send to", sends=True)

    async def _attempt(self, call: Call, phases: Phases | None = None) -> Reply:
        await self._guard(call)
        api = self.clients().api
        request = api.build_request(
            call.method,
            call.url,
            json=call.json,
            content=call.content,
            files=dict(call.files) if call.files else None,
            headers=dict(call.headers),
        )
        if call.until is None:
            return await read_body(api, request, MAX_API_BYTES, APIError)

        async def enough(body: bytes) -> bool:
            progress = call.watch(body) if call.watch else None
            if progress is not None and phases is not None:
                await phases.emit(progress)
            return call.until(body) if call.until else False

        return await read_body(api, request, MAX_API_BYTES, APIError, enough)

    # -- the images ------------------------------------------------------------------

    async def download(
        self, url: str, *, budget: float | None = None, within: float | None = None
    ) -> bytes:
        """Fetch one image address (see :mod:`fluxpanel._downloads`)."""
        return await self.downloads.fetch(self.clients(), url, budget=budget, within=within)

    async def _fetch(
        self,
        request: GenerationRequest,
        outputs: Outputs,
        on_image: ImageCallback | None,
        left: float | None = None,
        phases: Phases | None = None,
    ) -> tuple[list[GeneratedImage], list[FluxError]]:
        """Fetch every image at once (up to the host's lanes). Each has its
        own budget, and none waits or runs past ``left``, what remains of the
        deadline; the images that arrive are kept whatever happens to the others."""
        seeds = list(outputs.seeds or [])
        sources = outputs.sources
        total, done = len(sources), 0

        async def step() -> None:
            if phases is not None:
                word = outputs.detail
                await phases.emit(Progress("downloading", done=done, total=total, detail=word))

        async def fetch(url: str) -> bytes:
            return await self.download(url, within=left)

        async def one(i: int, source: Source) -> GeneratedImage:
            nonlocal done
            data = await source.read(fetch)
            image = await self._image(request, i, data, seeds[i] if i < len(seeds) else None)
            await notify(on_image, image)
            done += 1
            await step()
            return image

        await step()
        results = await asyncio.gather(
            *(one(i, s) for i, s in enumerate(sources)), return_exceptions=True
        )
        images: list[GeneratedImage] = []
        errors: list[FluxError] = list(outputs.errors)
        for r in results:
            if isinstance(r, FluxError):
                errors.append(r)
            elif isinstance(r, BaseException):
                raise r
            else:
                images.append(r)
        if not images and errors:
            raise errors[0]
        return images, errors

    async def _image(
        self, request: GenerationRequest, index: int, data: bytes, seed: int | None
    ) -> GeneratedImage:
        info = await check_image(data, f"image {index + 1}")
        return GeneratedImage(
            data,
            info.mime,
            info.width,
            info.height,
            request.seed if seed is None else seed,
            index,
            request,
            self.provider.name,
        )


#: The deadline of the generation under way (in its task's context).
_DEADLINE: ContextVar[asyncio.Timeout | None] = ContextVar("fluxpanel_deadline", default=None)


def _not_counted(seconds: float) -> None:
    """Time spent waiting for this process's own turn at a host's gate is
    given back to the deadline: it bounds the host's time, not the queue."""
    deadline = _DEADLINE.get()
    when = deadline.when() if deadline is not None else None
    if deadline is not None and when is not None and seconds > 0.001:
        deadline.reschedule(when + seconds)
