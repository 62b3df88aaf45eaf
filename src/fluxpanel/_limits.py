"""How fast a host may be asked: each host's published limits for one
account (:class:`HostLimits`), and the :class:`Gate` every generation sent
to that host passes, shared by every client in the process.

The gate keeps four rules, each from what the host publishes:

- **in flight**: at most ``in_flight`` generations of this process are under
  way at once (the rest wait their turn, in order), so 1,000 or 100,000
  requests cost the client what the host's limit allows and no more;
- **active tasks**: at most ``active`` tasks run at the host at once (Black
  Forest Labs counts them per account: tasks other kernels on this machine
  have running, as the ledger knows them, count too);
- **creates a minute**: a token bucket of ``per_minute`` with ``burst``
  (Replicate's 600 a minute);
- **told to wait**: a 429 on a create pauses every create to that host for
  the time the host names (``Retry-After``, or Replicate's "resets in ~Ns"),
  after which they go on at the published rate, so a stricter limit than
  the published one (Replicate's 6 a minute under $5 of credit) is absorbed
  by waiting instead of failing the run.

Waiting happens on whichever event loop asks (a kernel's, a blocking
client's own), so the gate's counters are guarded by a thread lock and a
turn is handed over with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import AsyncIterator
from concurrent.futures import Future
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from ._errors import ConfigError

#: How long after a 429 creates go one at a time.
CAREFUL_SECONDS = 30.0
#: The share of a published rate of creates the gate sends at.
MARGIN = 0.95
#: How long a slot a task ended with is kept for the next task of the same
#: process before it is freed for every process (seconds).
SPARE_SECONDS = 0.5
#: How often a full account is asked again for a slot (seconds).
SHARED_EVERY = 0.05


@dataclass(frozen=True)
class HostLimits:
    """A host's limits for one account, as it publishes them.

    ``active``: tasks running at the host at once; ``per_minute``: creates a
    minute, ``burst`` of them at once (``per_minute / 60`` when not given);
    ``in_flight``: generations this process keeps going at once (the rest
    wait). ``None`` is no limit. ``source`` says where the host publishes it.
    """

    active: int | None = None
    per_minute: float | None = None
    burst: int | None = None
    in_flight: int = 64
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("active", "burst"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name}={value!r} must be a whole number of at least 1")
        if self.per_minute is not None and not self.per_minute > 0:
            raise ConfigError(f"per_minute={self.per_minute!r} must be more than 0")
        if not isinstance(self.in_flight, int) or self.in_flight < 1:
            raise ConfigError(f"in_flight={self.in_flight!r} must be a whole number of at least 1")

    def describe(self) -> str:
        """The limits in words: "24 active tasks", "600 creates a minute"."""
        parts = []
        if self.active:
            parts.append(f"{self.active} active tasks")
        if self.per_minute:
            parts.append(f"{self.per_minute:g} creates a minute")
        parts.append(f"{self.in_flight} generations in flight from this process")
        return ", ".join(parts)


class Slots:
    """A semaphore any event loop (or thread) may wait on: turns are given in
    the order they were asked for."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.used = 0
        self._lock = threading.Lock()
        self._waiting: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        #: Turns handed over whose waiter has not taken them yet.
        self._given: set[asyncio.Future[None]] = set()

    async def acquire(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            if self.used < self.size and not self._waiting:
                self.used += 1
                return
            turn: asyncio.Future[None] = loop.create_future()
            self._waiting.append((loop, turn))
        try:
            await turn
        except asyncio.CancelledError:
            with self._lock:
                if (loop, turn) in self._waiting:
                    self._waiting.remove((loop, turn))
                    given = False
                else:  # handed over, taken or not
                    given = turn in self._given or (turn.done() and not turn.cancelled())
                    self._given.discard(turn)
            if given:  # handed over as it was cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        with self._lock:
            while self._waiting:
                loop, turn = self._waiting.popleft()
                if turn.done():
                    continue  # cancelled while waiting: it takes nothing
                try:
                    loop.call_soon_threadsafe(self._give, turn)
                except RuntimeError:  # that loop is closed: the next one
                    continue
                self._given.add(turn)
                return  # the slot goes to the waiter: ``used`` is unchanged
            self.used -= 1

    @property
    def waiting(self) -> bool:
        """Whether a turn is asked for and not yet given."""
        with self._lock:
            return bool(self._waiting)

    def _give(self, turn: asyncio.Future[None]) -> None:
        with self._lock:
            if turn not in self._given:
                return  # its waiter, cancelled, already passed it on
            self._given.discard(turn)
            taken = not turn.done()
            if taken:
                turn.set_result(None)
        if not taken:
            self.release()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        await self.acquire()
        try:
            yield
        finally:
            self.release()


class Bucket:
    """``rate`` tokens a second, at most ``burst`` saved: :meth:`reserve`
    takes the next token and says how long to wait for it."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            self._tokens -= 1
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate


class Shared(Protocol):
    """An account's active tasks as every process on this machine sees them
    (the ledger): :meth:`take` a slot in one transaction, so two kernels
    never both take the last one."""

    def take(self, limit: int) -> Future[int | None]:
        """A slot's id when fewer than ``limit`` tasks run, else ``None``
        (a negative id: no count could be kept, go ahead)."""
        ...

    def give_back(self, slot: Slot) -> None:
        """The slot, unless a task now holds it (then it ends with the task)."""
        ...

    def reserve(self) -> Future[int | None]:
        """A slot passed on within this process, never counted free: a new
        reserved row, written with the next writes (no count is needed, the
        slot was this process's already)."""
        ...

    def settle(self, slot: Slot) -> None:
        """The task in ``slot`` no longer runs at the host."""
        ...


#: A slot's row id, or the future of it (a slot passed on, not yet written).
Slot = int | Future[int | None]


@dataclass
class Turn:
    """One task's turn at the host."""

    #: Its slot of the account's active tasks, kept across processes (the
    #: ledger's row), if any.
    slot: Slot | None = None
    #: Whether a task the host accepted holds the slot (its row is the task's).
    taken: bool = False


class Gate:
    """The limits of one host account, kept for every client of the process.

    ``others`` (set by a client with a ledger) says how many tasks other
    kernels on this machine have running at this host."""

    def __init__(self, limits: HostLimits) -> None:
        self.limits = limits
        self._flight = Slots(limits.in_flight)
        self._active = Slots(limits.active) if limits.active else None
        rate = limits.per_minute
        burst = limits.burst or max(1, int((rate or 60) // 60))
        # A twentieth under the published rate, one under its burst: creates leave
        # in the bucket's order but arrive with the network's jitter.
        self._bucket = Bucket(rate / 60 * MARGIN, max(1, burst - 1)) if rate else None
        self._published = self._bucket
        self._paused_until = 0.0
        self._careful_until = 0.0
        #: The account's tasks across the processes of this machine (the
        #: ledger), when a client has one: see :class:`Shared`.
        self.shared: Shared | None = None
        #: Slots tasks here ended with, kept a moment for the next task here
        #: (with when each was kept).
        self._spare: deque[tuple[Slot, float]] = deque()
        #: 429s absorbed on creates, and the seconds waited for them.
        self.throttled_count = 0
        self.throttled_seconds = 0.0

    # -- generations and tasks --------------------------------------------------------

    def generation(self) -> Any:
        """Held while a generation is under way (its turn in flight)."""
        return self._flight.held()

    @asynccontextmanager
    async def task(self) -> AsyncIterator[Turn]:
        """Held while one task runs at the host (from its create to its end).
        With a :class:`Shared` account, the turn is a slot of the account
        taken for this machine's processes together (or one a task here
        ended with a moment ago): a task the host accepts takes it over
        (``turn.taken``)."""
        turn = Turn()
        if self._active is None:
            yield turn
            return
        async with self._active.held():
            turn.slot = await self._account_slot(self._active.size)
            try:
                yield turn
            finally:
                self._done_with(turn)

    def free_spares(self) -> None:
        """Every slot kept for a next task goes back now (a client closes)."""
        self._free_spares(every=True)

    def _spare_slot(self) -> Slot | None:
        """A slot a task here ended with a moment ago, if one is still kept."""
        try:
            return self._spare.popleft()[0]
        except IndexError:
            return None

    def _done_with(self, turn: Turn) -> None:
        """A task's turn is over: its slot is kept a moment for the next task
        here (most come at once in a run of many), then freed for every
        process. The spare's row is written before the ended task's row says
        it no longer runs, so the slot is never counted free meanwhile."""
        shared = self.shared
        if turn.slot is None or shared is None:
            return
        if turn.taken:
            spare: Slot = shared.reserve()
            shared.settle(turn.slot)
        else:
            spare = turn.slot  # no task took it
        self._spare.append((spare, time.monotonic()))
        asyncio.get_running_loop().call_later(SPARE_SECONDS, self._free_spares)

    def _free_spares(self, every: bool = False) -> None:
        """Spares no task took in :data:`SPARE_SECONDS` (``every`` one, when a
        client closes) go back to every process (a timer may fire a little
        early: it asks again for those left)."""
        shared, now = self.shared, time.monotonic()
        while self._spare and (every or now - self._spare[0][1] >= SPARE_SECONDS):
            slot, _ = self._spare.popleft()
            if shared is not None:
                shared.give_back(slot)
        if self._spare and not every:
            left = SPARE_SECONDS - (now - self._spare[0][1])
            asyncio.get_running_loop().call_later(max(left, 0.01), self._free_spares)

    async def _account_slot(self, size: int) -> Slot | None:
        """A slot of the account's active tasks, once one is free across
        every process on this machine; ``None`` without a shared account."""
        while (shared := self.shared) is not None:
            spare = self._spare_slot()  # one a task here has just ended with
            if spare is not None:
                return spare
            try:
                slot = await asyncio.wrap_future(shared.take(size))
            except Exception:
                return None  # a ledger that cannot be read limits nothing
            if slot is not None:
                return slot if slot >= 0 else None
            await asyncio.sleep(SHARED_EVERY)
        return None

    # -- creates ----------------------------------------------------------------------

    @asynccontextmanager
    async def create(self) -> AsyncIterator[None]:
        """A create's turn: after any pause a host asked for, and within the
        rate (the published one, or for a while after a 429 the one it said)."""
        if self._bucket is not self._published and time.monotonic() > self._careful_until:
            self._bucket = self._published  # long enough without a 429: as published
        await self._wait_out_pause()
        bucket = self._bucket
        if bucket is not None:
            wait = bucket.reserve()
            if wait > 0:
                await asyncio.sleep(wait)
                await self._wait_out_pause()
        yield

    async def _wait_out_pause(self) -> None:
        while (left := self._paused_until - time.monotonic()) > 0:
            await asyncio.sleep(left)

    def throttled(self, seconds: float) -> None:
        """The host answered a create with 429: every create waits
        ``seconds``, then they go at the published rate (one per such wait,
        for a while, where the host publishes none): a stricter limit costs
        a 429 per create that gets through, never a failed run."""
        now = time.monotonic()
        self._paused_until = max(self._paused_until, now + seconds)
        self._careful_until = max(self._careful_until, now + seconds + CAREFUL_SECONDS)
        if self._published is None and seconds > 0:
            # A host that publishes no rate: after the pause, one create per
            # wait it named, not every waiting create at once.
            self._bucket = Bucket(1 / seconds, 1)
            self._bucket.reserve()  # the pause is this token's wait
        self.throttled_count += 1
        self.throttled_seconds += seconds


_GATES: dict[tuple[str, ...], Gate] = {}
_GATES_LOCK = threading.Lock()


def gate_for(account: tuple[str, ...], limits: HostLimits) -> Gate:
    """The gate of one host account (its provider, endpoint and key, as a
    digest held only in memory), made with ``limits`` the first time; new
    limits for the same account replace the old ones for the next turns."""
    with _GATES_LOCK:
        gate = _GATES.get(account)
        if gate is None or gate.limits != limits:
            fresh = Gate(limits)
            if gate is not None:
                fresh.shared = gate.shared
            _GATES[account] = gate = fresh
        return gate
