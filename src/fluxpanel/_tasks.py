"""A generation's tasks in the ledger: each written as its host accepts it,
then ended as it ends, or released for :func:`fluxpanel.resume` when the run
stops waiting for it (a lost connection, a deadline, a cancel, a restart).

How a task ends is the host's verdict where there is one (moderated,
failed, expired), "done" once its images are in hand, and otherwise it is
still at the host, paid for: released, never forgotten.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Generator, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from ._errors import ModerationError, ResultExpiredError
from ._flow import TaskRef, Tasks
from ._ledger import DONE, EXPIRED, FAILED, MODERATED, Id, Ledger, Row

if TYPE_CHECKING:
    from ._request import GenerationRequest
    from ._results import Generation
    from .providers import Provider


def verdict(error: BaseException) -> str:
    """How a task the host ended without images is kept."""
    if isinstance(error, ModerationError):
        return MODERATED
    if isinstance(error, ResultExpiredError):
        return EXPIRED
    return FAILED


#: Creates still on their way after their run was cancelled, by ledger file
#: and request: a run of the same request waits for them (see :meth:`Kept.arrived`).
_ON_THE_WAY: dict[tuple[str, str], asyncio.Future[None]] = {}


class Kept:
    """The ledger's side of one generation (a :class:`~fluxpanel._flow.TaskLog`)."""

    def __init__(
        self,
        ledger: Ledger,
        provider: Provider,
        request: GenerationRequest,
        cache_key: str,
        estimate: float | None,
    ) -> None:
        self.ledger = ledger
        self._provider = provider
        self._request = request
        self.key = cache_key
        self._estimate = estimate
        self._ids: dict[int, Id] = {}

    def accepted(
        self, part: int, parts: int, task: TaskRef, slot: int | None = None
    ) -> Awaitable[int | None]:
        written = self.ledger.record(
            provider=self._provider.name,
            endpoint=self._provider.identity,
            model=self._request.model,
            cache_key=self.key,
            request=self._request.to_payload(),
            part=part,
            parts=parts,
            task=task,
            keep_for=self._provider.kept_for(self._request),
            estimate=None if self._estimate is None else self._estimate / parts,
            slot=slot,
        )
        self._ids[part] = written
        return _Written(written)

    def sending(self, answer: Awaitable[None]) -> None:
        where = (str(self.ledger.path), self.key)
        future = asyncio.ensure_future(answer)
        _ON_THE_WAY[where] = future

        def gone(_: object) -> None:
            if _ON_THE_WAY.get(where) is future:
                del _ON_THE_WAY[where]

        future.add_done_callback(gone)

    async def arrived(self) -> None:
        """Once a create of this request that a cancelled run left on its way
        has its answer written (so the task it started can be joined)."""
        answer = _ON_THE_WAY.get((str(self.ledger.path), self.key))
        if answer is not None and not answer.done():
            if answer.get_loop() is asyncio.get_running_loop():
                await asyncio.shield(answer)

    def join(self, rows: list[Row]) -> Mapping[int, TaskRef]:
        """Tasks of this request already at the host, followed from here now:
        by part, one each (the newest)."""
        found: dict[int, Row] = {}
        for row in rows:
            found[row.part] = row
        for part, row in found.items():
            self._ids[part] = row.id
        if found:
            self.ledger.claim(row.id for row in found.values())
        return {part: row.task for part, row in found.items()}

    def finish(self, tasks: Tasks, generation: Generation | None) -> Future[None] | None:
        """Each task's end, once the run is over: the host's verdict, done
        when its images are in hand, else released (still at the host)."""
        ended: dict[str, list[Id]] = {}
        released: list[Id] = []
        errors = generation.errors if generation is not None else []
        verdicts = list(tasks.final.values())
        # Images that could not be fetched are still at the host: collect them later.
        fetched = generation is not None and all(
            e in verdicts or isinstance(e, ResultExpiredError) for e in errors
        )
        for part, row in self._ids.items():
            if part in tasks.final:
                ended.setdefault(verdict(tasks.final[part]), []).append(row)
            elif part in tasks.done and fetched:
                ended.setdefault(DONE, []).append(row)
            else:
                released.append(row)
        last = None
        for status, rows in ended.items():
            last = self.ledger.end(rows, status)
        if released:
            last = self.ledger.release(released)
        return last


class _Written:
    """A task's row once written, to await before its first poll. The write
    is usually done by then, so the loop is seldom woken for it; a task that
    ended with its create is never polled, and nothing waits."""

    def __init__(self, future: Future[int | None]) -> None:
        self.future = future

    def __await__(self) -> Generator[Any, None, int | None]:
        if not self.future.done():
            yield from asyncio.wrap_future(self.future).__await__()
        return self.future.result()
