"""When a request is tried again, and what a failed one is called: one retry
policy for every call the engine sends.

A billable call (a generation's submit) is retried only when the server
provably never saw it (the connection was refused) or asked for a retry
(429); a read timeout or a 5xx is never retried, since that could bill
twice. Other calls are retried on network errors, 408, 429 and 5xx, with
exponential backoff and full jitter.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from ._errors import ConnectError, FluxError, RateLimitError, RequestTimeout, TransportError
from ._flow import Reply


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
    """This attempt failed in a way that may be retried (after ``wait``)."""

    def __init__(self, error: FluxError, wait: float | None = None) -> None:
        self.error = error
        self.wait = wait


class _StatusReply(FluxError):
    """A retryable status whose retries ran out: the reply is returned."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


def too_long(wait: float, policy: RetryPolicy, reply: Reply) -> RateLimitError:
    """The error for a host that asks to wait longer than the policy waits."""
    return RateLimitError(
        f"rate limited: the server asks to wait {wait:.0f} s, longer than "
        f"fluxpanel waits ({policy.max_retry_after:.0f} s); try again later",
        retry_after=wait,
        status=429,
        request_id=reply.request_id,
    )


def _classify(reply: Reply, billable: bool, policy: RetryPolicy, retry_429: bool) -> None:
    """Raise :class:`_Retry` for a status worth trying again."""
    status = reply.status
    if status == 429 and retry_429:
        wait = parse_retry_after(reply.headers.get("retry-after"))
        if wait is not None and wait > policy.max_retry_after:
            raise too_long(wait, policy, reply)
        raise _Retry(_StatusReply(reply), wait)
    if not billable and (status == 408 or status >= 500):
        raise _Retry(_StatusReply(reply))


def _retryable(e: httpx.HTTPError, billable: bool) -> bool:
    if isinstance(e, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
        return False  # it will not go better a second time
    if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
        return True  # the request never left: safe even when billable
    return not billable and isinstance(e, httpx.TransportError)


async def with_retries(
    attempt: Callable[[], Awaitable[Reply]],
    *,
    billable: bool,
    policy: RetryPolicy,
    rng: random.Random,
    retry_429: bool = True,
) -> Reply:
    """``attempt()`` until it gives a reply not worth retrying, or the
    retries run out (the last reply is returned; a transport failure raises
    a :class:`TransportError`). Without ``retry_429`` a 429 is returned at
    once (the caller waits it out at the host's gate)."""
    n = 0
    while True:
        try:
            reply = await attempt()
            _classify(reply, billable, policy, retry_429)
            return reply
        except httpx.HTTPError as e:
            if not _retryable(e, billable) or n >= policy.max_retries:
                raise transport_error(e, billable) from None
            wait = None
        except _Retry as r:
            if n >= policy.max_retries:
                if isinstance(r.error, _StatusReply):
                    return r.error.reply
                raise r.error from None
            wait = r.wait
        if wait is None:
            wait = policy.backoff(n, rng)
        n += 1
        await asyncio.sleep(wait)


def transport_error(e: httpx.HTTPError, billable: bool) -> TransportError:
    """httpx's failure as a person reads it (never its own words where they
    may quote a header, which may be the key)."""
    where = _host(e)
    if isinstance(e, (httpx.LocalProtocolError, httpx.UnsupportedProtocol)):
        return TransportError(
            f"the request to {where} was not sent: it could not be written as HTTP "
            "(a header value with a line break or another character HTTP does not allow)"
        )
    if isinstance(e, (httpx.ConnectError, httpx.ConnectTimeout)):
        return ConnectError(f"could not connect to {where}: {_reason(e)}")
    if isinstance(e, httpx.PoolTimeout):
        return ConnectError(f"no free connection to {where} in time")
    maybe = "; the request may have reached the server, so it was not sent again"
    if isinstance(e, httpx.TimeoutException):
        extra = f"{maybe} (that could bill twice)" if billable else ""
        return RequestTimeout(f"{where} did not answer in time{extra}")
    extra = maybe if billable else ""
    return TransportError(f"the connection to {where} failed: {_reason(e)}{extra}")


def _host(e: httpx.HTTPError) -> str:
    try:
        return e.request.url.host or "the server"
    except RuntimeError:
        return "the server"


def _reason(e: Exception) -> str:
    text = str(e) or type(e).__name__
    return text[:200]
