"""The tasks a host accepted: which task a part of a generation follows, what
is kept of each one the host accepted, and a create answered after its run
was cancelled. The engine asks this unit; the ledger
(:class:`~fluxpanel._flow.TaskLog`) is where accepted tasks are written.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass

from ._errors import FluxError
from ._flow import Call, Reply, Step, Tasks
from ._request import GenerationRequest
from .providers._base import Provider

#: Creates kept after their run was cancelled, held until they are written.
_KEEPING: set[asyncio.Future[None]] = set()


@dataclass(frozen=True)
class Accepting:
    """One part of a generation, as far as its task is concerned: the
    ``provider`` that reads the host's answers, the ``request``, which
    ``part`` of how many ``parts``, and the run's ``tasks``."""

    provider: Provider
    request: GenerationRequest
    part: int
    parts: int
    tasks: Tasks

    def first(self) -> Step:
        """A task followed again (never created twice), or a new one."""
        known = self.tasks.rejoin.get(self.part)
        if known is not None:
            self.tasks.accepted[self.part] = known
            return self.provider.rejoin(self.request, known)
        if self.tasks.only_rejoin:
            raise FluxError(
                f"task {self.part + 1} of this request was never sent; nothing to collect"
            )
        return self.provider.start(self.request)

    def accepted(self, call: Call, reply: Reply) -> Awaitable[None] | None:
        """The host accepted a task: kept in ``tasks`` and written to its log
        (the write to wait for before the first poll, if there is a log)."""
        try:
            task = self.provider.accepted(self.request, call, reply)
        except (TypeError, ValueError, KeyError, AttributeError, FluxError):
            task = None  # an answer the flow will call unreadable
        if task is None:
            return None
        tasks = self.tasks
        tasks.accepted[self.part] = task
        if tasks.log is None:
            return None
        return tasks.log.accepted(self.part, self.parts, task, tasks.slots.get(self.part))

    def keep_late(self, call: Call, reply: asyncio.Future[Reply]) -> None:
        """A create whose run was cancelled while it was on its way: its reply
        is waited for apart from the run, and the task it names written to
        the ledger and left for the next run of the request (which waits for
        this first) or :func:`fluxpanel.resume`."""

        async def keep() -> None:
            try:
                answer = await reply
            except (asyncio.CancelledError, Exception):  # never sent, or no answer: nothing
                return
            if answer.status >= 400:
                return
            written = self.accepted(call, answer)
            if written is not None and self.tasks.log is not None:
                await quietly(written)
                self.tasks.log.finish(self.tasks, None)  # released: nobody follows it now

        kept = asyncio.ensure_future(keep())
        _KEEPING.add(kept)
        kept.add_done_callback(_KEEPING.discard)
        if self.tasks.log is not None:
            self.tasks.log.sending(kept)


async def quietly(written: Awaitable[None]) -> None:
    """Wait for the ledger's write; its failure is its own (a warning)."""
    try:
        await written
    except Exception:
        pass
