"""One call to a host's API, as the engine sends it: its guard (where the
key may go, which addresses may be sent to), its retries, its byte bound, a
held stream read as it comes, and a billable create in its turn at the host
account's gate (:mod:`fluxpanel._limits`), with every 429 that names its
wait waited out.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any

from ._bodies import MAX_API_BYTES, read_body
from ._errors import APIError, FluxError, error_for_status
from ._flow import Call, Reply
from ._http import Clients
from ._keys import public_url
from ._limits import Gate
from ._phases import Phases
from ._retry import RetryPolicy, too_long, with_retries
from .providers._base import Provider

#: Given a create still on its way when its run was cancelled: the reply to come.
Late = Callable[["asyncio.Future[Reply]"], None]


async def seen_through(
    work: Coroutine[Any, Any, Reply], late: Late | None, deadline: asyncio.Timeout | None
) -> Reply:
    """A create once it has gone out. If its run is cancelled meanwhile (a
    stop, a batch left early), the create goes on to its reply, which
    ``late`` is handed to keep (the host may have started, and billed, a
    task it names), and the cancel goes on at once. The run's ``deadline``
    gives up on it."""
    out = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(out)
    except asyncio.CancelledError:
        if late is None or (deadline is not None and deadline.expired()):
            out.cancel()
        else:
            late(out)
        raise


def not_counted(deadline: asyncio.Timeout | None, seconds: float) -> None:
    """Time spent waiting for this process's own turn at a host's gate is
    given back to the ``deadline``: it bounds the host's time, not the queue."""
    when = deadline.when() if deadline is not None else None
    if deadline is not None and when is not None and seconds > 0.001:
        deadline.reschedule(when + seconds)


class Sender:
    """Sends a provider's calls with one retry policy, through the clients
    and the gate of the running loop."""

    def __init__(
        self,
        provider: Provider,
        retry: RetryPolicy,
        rng: random.Random,
        clients: Callable[[], Clients],
        gate: Callable[[], Gate],
    ) -> None:
        self.provider = provider
        self.retry = retry
        self._rng = rng
        self.clients = clients
        self.gate = gate

    async def step(
        self,
        call: Call,
        phases: Phases,
        deadline: asyncio.Timeout | None = None,
        late: Late | None = None,
    ) -> Reply:
        """A step of a flow: a held stream, a create (within ``deadline``,
        which its wait for a turn does not count against; once sent, seen
        through to its reply, given to ``late`` if the run is cancelled
        meanwhile), or a plain call."""
        if call.until:
            return await self._held(call, phases)
        if call.billable:
            return await self._create(call, phases, deadline, late)
        return await self.send(call, phases)

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

    async def _create(
        self, call: Call, phases: Phases, deadline: asyncio.Timeout | None, late: Late | None
    ) -> Reply:
        """A billable create, in its turn at the host's gate. A 429 that names
        its wait (``Retry-After``, or the host's own words) is waited out,
        every create to the host waiting with it, as often as it comes
        within the deadline; one that names none is backed off a few times."""
        gate, backoffs = self.gate(), 0
        while True:
            asked = time.monotonic()
            async with gate.create():
                not_counted(deadline, time.monotonic() - asked)  # our queue, not the host
                sent = self._retried(call, phases, retry_429=False)
                reply = await seen_through(sent, late, deadline)
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
            lambda: self.attempt(call, phases),
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

    async def attempt(self, call: Call, phases: Phases | None = None) -> Reply:
        """One try of ``call``, guarded, its body read with a bound."""
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
