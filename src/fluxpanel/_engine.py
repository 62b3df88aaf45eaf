"""The engine: the one place that sends HTTP, retries, times out and downloads.

Providers describe calls and read replies (:mod:`fluxpanel.providers._base`);
the engine runs them. Two httpx clients: one for the provider's API, and one
for image downloads that never carries an ``Authorization`` header.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import inspect
import ipaddress
import os
import random
import ssl
import time
import warnings
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import httpx

from ._errors import (
    APIError,
    ConfigError,
    ConnectError,
    FluxError,
    ImageError,
    ModerationError,
    RateLimitError,
    RequestTimeout,
    ResultExpiredError,
    TransportError,
    error_for_status,
    redact,
)
from .providers._base import Call, Outputs, Progress, Provider, Reply, is_public_host

if TYPE_CHECKING:
    from ._request import GenerationRequest
    from ._results import GeneratedImage, Generation

#: connect / read / write / pool. The read timeout is generous: the generation
#: call is held open while the model runs.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=180.0, write=30.0, pool=30.0)
#: Longest an image download may take, however slowly its bytes drip in
#: (counted from when it gets one of its host's lanes).
DEFAULT_DOWNLOAD_TIMEOUT = 120.0
#: Images fetched at once from one image host: a browser's limit for one
#: HTTP/1.1 host. The rest wait their turn in the order they were asked for,
#: so the generation whose images came first is finished first, rather than
#: every generation sharing the CPU and the link and all finishing late.
DEFAULT_DOWNLOADS_PER_HOST = 6
#: Largest image accepted, and largest API response read.
DEFAULT_MAX_IMAGE_BYTES = 32 * 1024 * 1024
MAX_API_BYTES = 8 * 1024 * 1024
#: Redirects followed for one image download (each hop checked).
MAX_REDIRECTS = 5
#: Images up to this size are checked on the loop's thread (see ``_image``).
INLINE_CHECK_BYTES = 8 * 1024 * 1024
#: Content encodings the engine decodes itself, with a bound on the output.
_ENCODINGS = {"gzip", "x-gzip", "deflate"}

#: Called with each image as it arrives; may be a coroutine function.
ImageCallback = Callable[["GeneratedImage"], Any]
#: Called with each :class:`Progress` of a generation; may be a coroutine function.
ProgressCallback = Callable[[Progress], Any]


async def notify(callback: ImageCallback | None, image: GeneratedImage) -> None:
    """Tell ``callback`` an image arrived. The image is paid for: a callback
    that raises is reported as a warning and the image is kept."""
    if callback is None:
        return
    try:
        result = callback(image)
        if inspect.isawaitable(result):
            await result
    except Exception as e:
        warnings.warn(
            f"on_image callback raised {type(e).__name__}: {e}; the image is kept",
            RuntimeWarning,
            stacklevel=2,
        )


class Phases:
    """The phases of one generation: each change is told to ``callback`` (a
    raising callback is a warning, never a failure) and timed."""

    def __init__(
        self, callback: ProgressCallback | None, started: float, expected: float | None = None
    ) -> None:
        self.callback = callback
        self.started = started
        self.expected = expected
        self._phase: str | None = None
        self._since = started
        self.durations: dict[str, float] = {}

    async def emit(self, progress: Progress) -> None:
        now = time.perf_counter()
        if progress.phase != self._phase:
            if self._phase is not None:
                spent = now - self._since
                self.durations[self._phase] = self.durations.get(self._phase, 0.0) + spent
            self._phase, self._since = progress.phase, now
        if self.callback is None:
            return
        from dataclasses import replace

        event = replace(progress, elapsed=now - self.started, expected=self.expected)
        try:
            result = self.callback(event)
            if inspect.isawaitable(result):
                await result
        except Exception as e:
            warnings.warn(
                f"on_progress callback raised {type(e).__name__}: {e}", RuntimeWarning, stacklevel=2
            )

    def finish(self) -> dict[str, float]:
        """Seconds spent in each phase (``queued``, ``running``, ``downloading``, ...)."""
        if self._phase is not None:
            now = time.perf_counter()
            self.durations[self._phase] = self.durations.get(self._phase, 0.0) + now - self._since
            self._phase = None
        return dict(self.durations)


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying again.

    Exponential backoff with full jitter: the n-th wait is uniform in
    ``[0, min(cap, base * 2**n)]``. A ``Retry-After`` is honoured up to
    ``max_retry_after`` seconds; beyond it :class:`RateLimitError` is raised.
    """

    max_retries: int = 3
    base: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """The wait before retry ``attempt`` (from 0), with full jitter."""
        return rng.uniform(0.0, min(self.cap, self.base * (2**attempt)))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class _Retry(Exception):
    """Internal: this attempt failed in a way that may be retried."""

    def __init__(self, error: FluxError, wait: float | None = None) -> None:
        self.error = error
        self.wait = wait


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
    ) -> None:
        if (
            not isinstance(downloads_per_host, int)
            or isinstance(downloads_per_host, bool)
            or downloads_per_host < 1
        ):
            raise ConfigError(f"downloads_per_host={downloads_per_host!r} must be an integer >= 1")
        self.provider = provider
        if timeout is None:
            timeout = DEFAULT_TIMEOUT
        elif not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(float(timeout), connect=min(10.0, float(timeout)))
        self.timeout = timeout
        self.download_timeout = float(download_timeout)
        self.downloads_per_host = downloads_per_host
        self.retry = retry or RetryPolicy()
        self.max_image_bytes = int(max_image_bytes)
        self.deadline = float(deadline)
        self._transport = transport
        self._rng = rng or random.Random()
        self._api: httpx.AsyncClient | None = None
        self._downloads: httpx.AsyncClient | None = None
        self._shared: httpx.AsyncBaseTransport | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active: asyncio.Semaphore | None = None
        self._lanes: dict[str, asyncio.Semaphore] = {}

    # -- clients -------------------------------------------------------------------

    def _headers(self, encodings: str) -> dict[str, str]:
        from . import __version__

        # Only the encodings the engine inflates itself, with a bound.
        return {"User-Agent": f"fluxpanel/{__version__}", "Accept-Encoding": encodings}

    def _check_loop(self) -> None:
        """httpx clients belong to the loop that made them: on another loop
        (a kernel subshell, a second ``asyncio.run``), start fresh ones."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        old, self._api, self._downloads = (self._api, self._downloads), None, None
        self._shared = None
        self._lanes = {}
        old_loop, self._loop = self._loop, loop
        limit = self.provider.max_active
        self._active = asyncio.Semaphore(limit) if limit else None
        if old_loop is not None and not old_loop.is_closed() and old_loop.is_running():
            for client in old:
                if client is not None:
                    old_loop.call_soon_threadsafe(lambda c=client: old_loop.create_task(c.aclose()))

    def _pool(self) -> httpx.AsyncBaseTransport | None:
        """The connections both clients draw from. One pool, so an image
        served from the API's own origin rides the API's open connection
        (each request still carries only its own client's headers: the key
        never goes with a download). Where the environment names a proxy,
        each client keeps its own pool, as httpx honours proxies only then."""
        if self._transport is not None:
            return self._transport
        if _environment_proxies():
            return None
        if self._shared is None:
            self._shared = httpx.AsyncHTTPTransport(verify=_tls())
        return self._shared

    @property
    def api(self) -> httpx.AsyncClient:
        self._check_loop()
        if self._api is None:
            self._api = httpx.AsyncClient(
                timeout=self.timeout,
                headers=self._headers("gzip, deflate"),
                follow_redirects=False,  # never resend a billable POST elsewhere
                transport=self._pool(),
                verify=_tls(),
            )
        return self._api

    @property
    def downloads(self) -> httpx.AsyncClient:
        # A separate client: nothing configured for the API (auth, cookies)
        # can reach an image host.
        self._check_loop()
        if self._downloads is None:
            self._downloads = httpx.AsyncClient(
                timeout=self.timeout,
                # Images are compressed already: ask for them as they are.
                headers=self._headers("identity"),
                follow_redirects=False,  # followed by download(), each hop checked
                transport=self._pool(),
                verify=_tls(),
            )
        return self._downloads

    async def aclose(self) -> None:
        clients = (self._api, self._downloads)
        self._api = self._downloads = self._shared = None
        if self._loop is not asyncio.get_running_loop():
            return  # made on another loop, which owns (and closes) them
        for client in clients:
            if client is not None:
                await client.aclose()

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
        download and check every image. ``on_image`` is called as each
        arrives; ``on_progress`` with each :class:`Progress` (``expected``:
        the seconds a run usually takes here, passed along)."""
        from ._results import Generation

        started = time.perf_counter()
        self._check_loop()
        phases = Phases(on_progress, started, expected)
        try:
            withheld, expanded = 0, ""
            if self.provider.offline:
                await phases.emit(Progress("running", fraction=0.0))
                images, errors = await self._render(request, on_image, phases)
                submitted = time.perf_counter()
            else:
                await phases.emit(Progress("submitting"))
                seen: list[str] = []  # the host's task ids, to name them if time runs out
                flow = self._run_flow(request, started, seen, phases)
                outputs = await self._within_deadline(flow, seen)
                submitted = time.perf_counter()
                left = self.deadline - (submitted - started)
                withheld, expanded = outputs.withheld, outputs.prompt
                images, errors = await self._fetch(request, outputs, on_image, left, phases)
        except FluxError as e:
            raise self._scrub(e) from None
        done = time.perf_counter()
        spent = phases.finish()
        return Generation(
            request=request,
            images=images,
            provider=self.provider.name,
            endpoint=self.provider.endpoint,
            timings={
                "submit": submitted - started,
                "download": done - submitted,
                "total": done - started,
                **spent,
            },
            errors=[self._scrub(e) for e in errors],
            code=request.to_code(self.provider),
            requested=request.count,
            withheld=withheld,
            withheld_by=self.provider.withheld_by if withheld else "",
            expanded_prompt=expanded,
        )

    async def _within_deadline(self, flow: Any, seen: list[str]) -> Outputs:
        """``flow`` (submitting and following the provider's task) bounded by
        the deadline as a whole: a server dripping its answer a byte at a time
        cannot hold a generation past it. The provider is told to cancel."""
        try:
            async with asyncio.timeout(self.deadline):
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
        ok = [r for r in results if isinstance(r, Outputs)]
        failed = [r for r in results if isinstance(r, BaseException)]
        if not ok:
            raise failed[0]
        for error in failed:
            if not isinstance(error, FluxError):
                raise error
        # One image per task: keep every task's seed, and what failed; a task
        # refused by moderation is an image withheld, not a failure.
        urls, seeds = [], []
        for task, result in zip(tasks, results, strict=True):
            if isinstance(result, Outputs):
                urls += result.urls
                seeds += list(result.seeds or [task.seed] * len(result.urls))
        withheld = [e for e in failed if isinstance(e, ModerationError)]
        return Outputs(
            urls=urls,
            seeds=seeds,
            errors=[e for e in failed if isinstance(e, FluxError) and e not in withheld],
            withheld=len(withheld) + sum(r.withheld for r in ok),
        )

    async def _run_task(
        self, request: GenerationRequest, started: float, seen: list[str], phases: Phases
    ) -> Outputs:
        if self._active is None:
            return await self._follow(request, started, seen, phases)
        async with self._active:
            return await self._follow(request, started, seen, phases)

    async def _follow(
        self, request: GenerationRequest, started: float, seen: list[str], phases: Phases
    ) -> Outputs:
        step = self.provider.start(request)
        while isinstance(step, Call):
            call = step
            if call.task and call.task not in seen:
                seen.append(call.task)
            cancelled = False
            try:
                if call.delay:
                    if time.perf_counter() + call.delay - started > self.deadline:
                        cancelled = True  # once: the deadline may fire while it is sent
                        await self._cancel(call)  # stop it running (and billing) where we can
                        task = f" (task {call.task})" if call.task else ""
                        raise RequestTimeout(
                            f"{self.provider.label} did not finish within "
                            f"{self.deadline:g} s{task}; giving up"
                        )
                    await asyncio.sleep(call.delay)
                if call.until is not None:
                    reply = await self._held(call, phases)
                else:
                    reply = await self.send(call, phases)
            except asyncio.CancelledError:
                if not cancelled:
                    await self._cancel(call)
                raise
            step = self._advance(request, call, reply)
            if isinstance(step, Call) and step.progress is not None:
                await phases.emit(step.progress)
        return step

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
        sent = asyncio.ensure_future(self._attempt_api(undo))
        # Shielded, it outlives a deadline; its outcome is read either way.
        sent.add_done_callback(lambda t: t.cancelled() or t.exception())
        try:
            await asyncio.shield(sent)
        except Exception:  # best effort: the task is being abandoned anyway
            pass

    async def _render(
        self, request: GenerationRequest, on_image: ImageCallback | None, phases: Phases
    ) -> tuple[list[GeneratedImage], list[FluxError]]:
        from ._results import GeneratedImage

        width, height = request.size
        images = []
        for i in range(request.count):
            delay = getattr(self.provider, "delay", 0.0)
            if delay:
                await asyncio.sleep(delay)
            data = await asyncio.to_thread(self.provider.render, request, i)
            image = GeneratedImage(
                data, "image/png", width, height, request.seed, i, request, self.provider.name
            )
            images.append(image)
            await notify(on_image, image)
            await phases.emit(Progress("running", fraction=(i + 1) / request.count))
        return images, []

    # -- sending with retries -----------------------------------------------------------

    async def send(self, call: Call, phases: Phases | None = None) -> Reply:
        """Send one provider call with the retry policy; error statuses raise.
        A held stream's progress goes to ``phases`` as it comes."""
        reply = await self._with_retries(
            lambda: self._attempt_api(call, phases), billable=call.billable
        )
        if reply.status >= 400:
            ra = parse_retry_after(reply.headers.get("retry-after"))
            try:
                error = self.provider.error(call, reply, retry_after=ra)
            except (TypeError, ValueError, KeyError, IndexError, AttributeError) as e:
                error = error_for_status(
                    reply.status,
                    f"{self.provider.label} answered {reply.status} with a body fluxpanel "
                    f"cannot read ({type(e).__name__})",
                    request_id=reply.request_id,
                )
            raise error
        return reply

    async def _held(self, call: Call, phases: Phases) -> Reply:
        """A held stream is a quicker way to learn what polling also learns:
        if it fails (an error status, a broken connection after the retries),
        the provider gets an empty reply and goes on by polling. It never
        fails a generation."""
        try:
            reply = await self._with_retries(
                lambda: self._attempt_api(call, phases), billable=call.billable
            )
        except FluxError:
            return Reply(0, {}, b"")
        return reply if reply.status < 400 else Reply(reply.status, reply.headers, b"")

    async def _attempt_api(self, call: Call, phases: Phases | None = None) -> Reply:
        request = self.api.build_request(
            call.method,
            call.url,
            json=call.json,
            content=call.content,
            files=dict(call.files) if call.files else None,
            headers=dict(call.headers),
        )
        if call.until is None:
            return await self._exchange(self.api, request, MAX_API_BYTES, APIError)

        async def seen(body: bytes) -> bool:
            progress = call.watch(body) if call.watch else None
            if progress is not None and phases is not None:
                await phases.emit(progress)
            return call.until(body) if call.until else False

        return await self._exchange(self.api, request, MAX_API_BYTES, APIError, seen)

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        request: httpx.Request,
        cap: int,
        error: type[FluxError],
        until: Callable[[bytes], Awaitable[bool]] | None = None,
    ) -> Reply:
        """Send ``request`` and read at most ``cap`` bytes of the body, decoded.

        The body is read as it came off the wire and inflated here with a
        bound on the output, so no encoding (stacked gzip included) can make
        it larger in memory than ``cap``. ``error`` is raised when it would be.
        A held stream is read only ``until`` the body so far says enough.
        """
        response = await client.send(request, stream=True)
        try:
            length = response.headers.get("content-length")
            if response.status_code < 400 and length and length.isdigit() and int(length) > cap:
                raise error(f"the response is {int(length)} bytes, over the {cap}-byte limit")
            inflater = _Inflater.for_encoding(response.headers.get("content-encoding"), error)
            chunks, size = [], 0
            async for raw in response.aiter_raw():
                chunk = inflater.feed(raw, cap - size + 1) if inflater else raw
                size += len(chunk)
                if size > cap:
                    raise error(f"the response is over the {cap}-byte limit")
                chunks.append(chunk)
                if until is not None and response.status_code < 400 and chunk:
                    if await until(b"".join(chunks)):
                        break
            else:
                if inflater:
                    chunks.append(inflater.end(error))
        finally:
            await response.aclose()
        return Reply(response.status_code, response.headers, b"".join(chunks))

    async def _with_retries(self, attempt: Callable[[], Any], *, billable: bool) -> Reply:
        policy = self.retry
        n = 0
        while True:
            try:
                reply = await attempt()
                _classify_status(reply, billable, policy)
                return reply
            except httpx.HTTPError as e:
                error = self._transport_error(e, billable)
                if not _retryable_transport(e, billable) or n >= policy.max_retries:
                    raise error from None
                wait = None
            except _Retry as r:
                if n >= policy.max_retries:
                    if isinstance(r.error, _StatusReply):
                        return r.error.reply
                    raise r.error from None
                error, wait = r.error, r.wait
            if wait is None:
                wait = policy.backoff(n, self._rng)
            n += 1
            await asyncio.sleep(wait)

    def _transport_error(self, e: httpx.HTTPError, billable: bool) -> TransportError:
        where = _host(e)
        if isinstance(e, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
            # Refused on this side (httpx quotes the offending header, which may
            # be the key, so its words are not passed on).
            return TransportError(
                f"the request to {where} was not sent: it could not be written as HTTP "
                "(a header value with a line break or another character HTTP does not allow)"
            )
        if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout)):
            return ConnectError(f"could not connect to {where}: {_reason(e)}")
        if isinstance(e, httpx.PoolTimeout):
            return ConnectError(f"no free connection to {where} in time")
        if isinstance(e, httpx.TimeoutException):
            extra = (
                "; the request may have reached the server, so it was not "
                "sent again (that could bill twice)"
                if billable
                else ""
            )
            return RequestTimeout(f"{where} did not answer in time{extra}")
        extra = (
            "; the request may have reached the server, so it was not sent again"
            if billable
            else ""
        )
        return TransportError(f"the connection to {where} failed: {_reason(e)}{extra}")

    # -- downloads ---------------------------------------------------------------

    async def _fetch(
        self,
        request: GenerationRequest,
        outputs: Outputs,
        on_image: ImageCallback | None,
        left: float | None = None,
        phases: Phases | None = None,
    ) -> tuple[list[GeneratedImage], list[FluxError]]:
        """Download every image at once (up to the host's lanes). Each has its
        own budget, and none waits or runs past ``left``, what remains of the
        deadline; the images that arrive are kept whatever happens to the others."""
        seeds = list(outputs.seeds or [])
        total, done = len(outputs.urls), 0
        if phases is not None:
            await phases.emit(Progress("downloading", done=0, total=total))

        async def one(i: int, url: str) -> GeneratedImage:
            nonlocal done
            data = await self.download(url, within=left)
            image = await self._image(request, i, data, seeds[i] if i < len(seeds) else None)
            await notify(on_image, image)
            done += 1
            if phases is not None:
                await phases.emit(Progress("downloading", done=done, total=total))
            return image

        results = await asyncio.gather(
            *(one(i, u) for i, u in enumerate(outputs.urls)), return_exceptions=True
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
        from ._imaging import inspect_image
        from ._results import GeneratedImage

        # Checking an image reads it once (about 0.3 ms a megabyte): handing a
        # usual one to a thread costs more than that in switches and the GIL
        # while the loop is reading the other downloads; a large one would
        # hold the loop too long, so it goes to a thread.
        source = f"image {index + 1}"
        if len(data) <= INLINE_CHECK_BYTES:
            info = inspect_image(data, source)
        else:
            info = await asyncio.to_thread(inspect_image, data, source)
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

    async def download(
        self, url: str, *, budget: float | None = None, within: float | None = None
    ) -> bytes:
        """Fetch one image URL: no credentials, http(s) only, public addresses
        only (unless the API itself is local), size-capped, retried on
        transport errors, 408, 429 and 5xx, all within one time budget
        (``download_timeout`` unless given), counted from when one of the
        host's :data:`lanes <DEFAULT_DOWNLOADS_PER_HOST>` is free. ``within``
        (seconds) bounds the whole of it, the wait for a lane included."""
        budget = self.download_timeout if budget is None else budget
        host = urlsplit(url).hostname or "the image host"
        self._check_loop()
        lane = self._lane(url)
        asked = time.perf_counter()
        try:
            async with asyncio.timeout(within):
                await lane.acquire()
        except TimeoutError:
            raise RequestTimeout(
                f"the image at {host} did not arrive within {within:g} s "
                "(it was still waiting for a connection to its host)"
            ) from None
        try:
            if within is not None:
                budget = min(budget, max(within - (time.perf_counter() - asked), 0.001))
            return await self._download(url, host, budget)
        finally:
            lane.release()

    def _lane(self, url: str) -> asyncio.Semaphore:
        """The semaphore for ``url``'s image host (scheme, host and port)."""
        parts = urlsplit(url)
        try:
            port = parts.port
        except ValueError:  # refused when checked; it needs a lane all the same
            port = None
        origin = f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"
        lane = self._lanes.get(origin)
        if lane is None:
            lane = self._lanes[origin] = asyncio.Semaphore(self.downloads_per_host)
        return lane

    async def _download(self, url: str, host: str, budget: float) -> bytes:
        async def attempt() -> Reply:
            target = url
            for _ in range(MAX_REDIRECTS + 1):
                await self._check_image_url(target)
                request = self.downloads.build_request("GET", target)
                reply = await self._exchange(
                    self.downloads, request, self.max_image_bytes, ImageError
                )
                location = reply.headers.get("location")
                if reply.status not in (301, 302, 303, 307, 308) or not location:
                    return reply
                target = urljoin(target, location)
            raise APIError(f"the image at {host} redirected more than {MAX_REDIRECTS} times")

        try:
            async with asyncio.timeout(budget):
                reply = await self._with_retries(attempt, billable=False)
        except TimeoutError:
            raise RequestTimeout(
                f"the image at {host} did not arrive within {budget:g} s (all attempts)"
            ) from None
        if reply.status in (403, 404, 410):
            raise ResultExpiredError(
                f"the image at {host} is gone ({reply.status}); result URLs are "
                "short-lived, so generate again"
            )
        if reply.status >= 400:
            raise error_for_status(
                reply.status, f"downloading the image from {host} failed ({reply.status})"
            )
        return reply.body

    async def _check_image_url(self, url: str) -> None:
        """Refuse an image address (or a redirect's target) that is not http(s)
        or not on the public internet: cloud metadata services and admin pages
        on loopback are not fetched for a remote API."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise APIError(
                f"{self.provider.label} gave an image address with scheme "
                f"{scheme or '(none)'!r}; only http and https are downloaded"
            )
        if self.provider.local:
            return  # the API itself is on this machine or network (tests, a gateway)
        if not await _resolves_public(parts.hostname):
            raise APIError(
                f"{self.provider.label} gave an image address on a private or local network "
                f"({parts.hostname}); fluxpanel only fetches images from public addresses"
            )

    # -- keeping secrets out of messages ------------------------------------------------

    def _scrub(self, error: FluxError) -> FluxError:
        secrets = [s for s in self.provider.secrets() if s]
        if not secrets:
            return error

        def clean(value: Any) -> Any:
            if isinstance(value, str):
                return redact(value, secrets)
            if isinstance(value, dict):
                return {clean(k): clean(v) for k, v in value.items()}
            if isinstance(value, list):
                return [clean(v) for v in value]
            return value

        error.args = tuple(clean(a) for a in error.args)
        if isinstance(error, APIError):
            error.body = clean(error.body)
        return error


class _StatusReply(FluxError):
    """Internal: a retryable status whose retries ran out; the reply is returned."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def _classify_status(reply: Reply, billable: bool, policy: RetryPolicy) -> None:
    """Raise :class:`_Retry` for a status worth trying again."""
    status = reply.status
    if status == 429:
        wait = parse_retry_after(reply.headers.get("retry-after"))
        if wait is not None and wait > policy.max_retry_after:
            raise RateLimitError(
                f"rate limited: the server asks to wait {wait:.0f} s, longer than "
                f"fluxpanel waits ({policy.max_retry_after:.0f} s); try again later",
                retry_after=wait,
                status=429,
                request_id=reply.request_id,
            )
        raise _Retry(_StatusReply(reply), wait)
    if not billable and (status == 408 or status >= 500):
        raise _Retry(_StatusReply(reply))


def _tls() -> ssl.SSLContext:
    """One TLS context for every client this process makes, as httpx would
    make it (``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` honoured): building one
    reads the whole certificate bundle (about 25 ms), and a context holds no
    per-connection state, so it is safely shared."""
    return _tls_for(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _tls_for(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context()


def _environment_proxies() -> bool:
    """Whether the environment names a proxy (``HTTPS_PROXY`` and the like)."""
    import urllib.request

    return any(scheme != "no" for scheme in urllib.request.getproxies())


def _retryable_transport(e: httpx.HTTPError, billable: bool) -> bool:
    if isinstance(e, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
        return False  # it will not go better a second time
    if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True  # the request never left: safe even when billable
    return not billable and isinstance(e, httpx.TransportError)


async def _resolves_public(host: str) -> bool:
    """Whether ``host`` and every address it resolves to are public. A name
    that does not resolve cannot be fetched either, so it passes here."""
    if not is_public_host(host):
        return False
    try:
        ipaddress.ip_address(host.strip("[]"))
        return True  # an address, checked above
    except ValueError:
        pass
    try:
        async with asyncio.timeout(5):
            infos = await asyncio.get_running_loop().getaddrinfo(host, None)
    except (OSError, TimeoutError, UnicodeError):
        return True
    for *_, sockaddr in infos:
        try:
            if not ipaddress.ip_address(str(sockaddr[0]).split("%")[0]).is_global:
                return False
        except ValueError:
            return False
    return True


class _Inflater:
    """One content coding undone with a bound on what it may produce."""

    def __init__(self, wbits: int, raw_fallback: bool, error: type[FluxError]) -> None:
        self._z = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._started = False
        self._error = error

    @classmethod
    def for_encoding(cls, header: str | None, error: type[FluxError]) -> _Inflater | None:
        codings = [c.strip().lower() for c in (header or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if not codings:
            return None
        if len(codings) > 1:
            raise error(
                f"the server encoded its answer {len(codings)} times ({', '.join(codings)}); "
                "fluxpanel refuses stacked encodings"
            )
        if codings[0] not in _ENCODINGS:
            raise error(f"the server sent an encoding fluxpanel does not read ({codings[0]})")
        if codings[0] == "deflate":
            return cls(zlib.MAX_WBITS, True, error)
        return cls(16 + zlib.MAX_WBITS, False, error)

    def feed(self, data: bytes, limit: int) -> bytes:
        """Up to ``limit`` bytes of output for ``data``: producing ``limit``
        means the body is over its cap."""
        try:
            try:
                out = self._z.decompress(data, max(limit, 1))
            except zlib.error:
                if not (self._raw_fallback and not self._started):
                    raise
                # "deflate" sent as a raw stream, as some servers do.
                self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                out = self._z.decompress(data, max(limit, 1))
        except zlib.error as e:
            raise self._error(f"the answer could not be decoded: {e}") from None
        self._started = True
        return out

    def end(self, error: type[FluxError]) -> bytes:
        """What is left once the body has ended (input all consumed: small)."""
        try:
            return self._z.flush(64 * 1024)
        except zlib.error as e:
            raise error(f"the answer could not be decoded: {e}") from None


def _host(e: httpx.HTTPError) -> str:
    try:
        return e.request.url.host or "the server"
    except RuntimeError:
        return "the server"


def _reason(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text[:200]
