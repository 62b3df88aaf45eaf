"""The ledger: every task a host accepted (and so may bill), written before
the first poll, in one SQLite file beside the cache.

A task is recorded when the host accepts it: the provider and endpoint, the
model, the request as its JSON (inputs by digest, URLs without their
credentials, never the key), which of the request's tasks it is, the host's
task id and what is needed to follow it again, when, until when the host
keeps its results, and what it should cost; then how it ended (its images
in hand, an error, moderated, expired) and what the host said it billed.

A kernel that restarts, or a notebook closed mid-run, leaves its tasks
unfinished here: :func:`fluxpanel.resume` collects them, and a re-run of
the same request joins its task instead of paying again. A task that was
only waiting when its run stopped (a lost connection, a deadline) is
released for the same.

SQLite in WAL mode is safe for several kernels at once. Every query runs on
one worker thread per ledger, in order, so the event loop never waits on the
disk; a ledger that cannot be written is a warning, never a lost result.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import os
import queue
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ._cache import CacheWarning
from ._flow import TaskRef
from ._owners import ME, alive

T = TypeVar("T")

FILE = "ledger.sqlite3"
#: How long a write may wait to be committed with others (its caller does
#: not wait for it: a task's row is needed by its first poll, seconds later,
#: and a process that exits commits what waits first: :func:`_close_all`).
LINGER = 0.1
#: The longest an exiting process waits for its ledgers' last commits.
EXIT_WAIT = 5.0
#: How a task ended.
PENDING, DONE, FAILED, MODERATED, EXPIRED = "pending", "done", "failed", "moderated", "expired"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY,
    provider TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    model TEXT NOT NULL,
    cache_key TEXT NOT NULL,
    request TEXT NOT NULL,
    part INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    task TEXT NOT NULL,
    follow TEXT NOT NULL,
    owner TEXT NOT NULL,
    submitted REAL NOT NULL,
    keep_until REAL,
    estimate REAL,
    billed REAL,
    status TEXT NOT NULL DEFAULT 'pending',
    ended REAL,
    note TEXT NOT NULL DEFAULT '',
    running INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS tasks_open ON tasks (status, provider, endpoint);
CREATE INDEX IF NOT EXISTS tasks_key ON tasks (cache_key, status);
"""


@dataclass(frozen=True)
class Row:
    """One task as the ledger holds it."""

    id: int
    provider: str
    endpoint: str
    model: str
    cache_key: str
    request: dict[str, Any]
    part: int
    parts: int
    task: TaskRef
    owner: str
    submitted: float
    keep_until: float | None
    estimate: float | None
    status: str

    @property
    def expired(self) -> bool:
        return self.keep_until is not None and time.time() > self.keep_until


class Ledger:
    """The tasks of one cache folder. Every method returns at once with a
    future of its answer (the work is done in order on the ledger's thread);
    the ``a``-prefixed ones await it."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.path = Path(folder) / FILE
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._db: sqlite3.Connection | None = None
        self._warned = False
        self._lock = threading.Lock()
        self._readers = threading.local()
        #: Tasks whose end is asked for but not yet committed (row ids, or
        #: the futures of them).
        self._ending: set[Id] = set()
        #: The answers of the transaction being written (on the ledger's thread).
        self._written: dict[Future[Any], Any] = {}
        #: CPU seconds its thread has spent on the database (for the benchmarks).
        self.cpu = 0.0

    # -- the worker ------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Two kernels may make the file at the same moment: setting it up
            # (its journal mode, its table) can find the other at it, and does
            # not wait its turn on its own, so it is tried again for a while.
            for _ in range(100):
                db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
                try:
                    self._set_up(db)
                except sqlite3.OperationalError as e:
                    db.close()
                    if "locked" not in str(e) and "busy" not in str(e):
                        raise
                    time.sleep(0.02)
                    continue
                self._db = db
                break
            else:
                raise sqlite3.OperationalError("the ledger stayed locked while being set up")
        return self._db

    @staticmethod
    def _set_up(db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(tasks)")}
        if "running" not in columns:  # a ledger from before tasks were settled
            db.execute("ALTER TABLE tasks ADD COLUMN running INTEGER NOT NULL DEFAULT 1")

    def _run(
        self,
        work: Callable[[sqlite3.Connection], T],
        default: T,
        *,
        now: bool = False,
    ) -> Future[T]:
        """``work`` on the ledger's thread, in order; its answer, or
        ``default`` (and a warning) if the database cannot be used.
        Work the caller waits for ``now`` is not held back to be written
        with more."""
        done: Future[T] = Future()
        # Running from the start, so it cannot be cancelled: a caller that stops
        # waiting (a cancelled run) must not take the answer from later writes
        # that name this row.
        done.set_running_or_notify_cancel()
        with self._lock:
            if self._closed:
                done.set_result(default)
                return done
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="fluxpanel-ledger", daemon=True
                )
                self._thread.start()
        self._jobs.put(_Job(work, default, done, now))
        return done

    def _work(self) -> None:
        """The ledger's thread: writes are held for up to :data:`LINGER` and
        run together, in one transaction (a commit for a burst of
        generations, not one each)."""
        while True:
            job = self._jobs.get()
            if job is None:
                if self._db is not None:  # closed on the thread that made it
                    self._db.close()
                    self._db = None
                return
            jobs = [job]
            until = time.monotonic() + (0.0 if job.now else LINGER)
            while len(jobs) < 256:
                wait = 0.0 if any(j.now for j in jobs[-1:]) else until - time.monotonic()
                try:
                    more = self._jobs.get(timeout=wait) if wait > 0 else self._jobs.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._jobs.put(None)  # stop after these
                    break
                jobs.append(more)
            started = time.thread_time()
            self._together(jobs)
            self.cpu += time.thread_time() - started

    def _together(self, jobs: list[_Job]) -> None:
        # Always a write transaction taken at once, waiting its turn: a lone
        # statement that took its lock later could find another kernel's
        # commit in the way and fail without waiting.
        try:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
        except (sqlite3.Error, OSError) as e:
            self._warn(e)
            for job in jobs:
                job.done.set_result(job.default)
            return
        answers: list[tuple[_Job, Any]] = []
        self._written = {}
        for job in jobs:
            try:
                answer = job.work(db)
            except (sqlite3.Error, OSError, ValueError) as e:
                self._warn(e)
                answer = job.default
            answers.append((job, answer))
            self._written[job.done] = answer
        try:
            db.execute("COMMIT")
        except sqlite3.Error as e:
            self._warn(e)
            answers = [(job, job.default) for job, _ in answers]
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        self._written = {}
        for job, answer in answers:
            job.done.set_result(answer)

    def _known(self, ids: Iterable[Id]) -> list[int]:
        """The ids, each future's now that the ledger's thread has written
        it (in this transaction, or an earlier one)."""
        out = []
        for i in ids:
            value = (
                (self._written[i] if i in self._written else i.result())
                if isinstance(i, Future)
                else i
            )
            if value is not None:
                out.append(value)
        return out

    def _warn(self, error: Exception) -> None:
        with self._lock:
            if self._warned:
                return
            self._warned = True
        warnings.warn(
            f"fluxpanel could not keep its ledger of paid tasks at {self.path} "
            f"({type(error).__name__}: {error}); results are returned as usual, but a "
            "task interrupted now could not be collected after a restart",
            CacheWarning,
            stacklevel=2,
        )

    async def _await(self, future: Future[T]) -> T:
        return await asyncio.wrap_future(future)

    # -- writing -----------------------------------------------------------------------------

    def record(
        self,
        *,
        provider: str,
        endpoint: str,
        model: str,
        cache_key: str,
        request: dict[str, Any],
        part: int,
        parts: int,
        task: TaskRef,
        keep_for: float | None,
        estimate: float | None,
        slot: Id | None = None,
    ) -> Future[int | None]:
        """A task the host just accepted (in the account ``slot`` it was
        given, if any); the future is the row's id."""
        now = time.time()
        values = (
            provider,
            endpoint,
            model,
            cache_key,
            json.dumps(request, sort_keys=True, default=str),
            part,
            parts,
            task.id,
            json.dumps(dict(task.follow)),
            ME,
            now,
            None if keep_for is None else now + keep_for,
            estimate,
            task.billed,
        )

        def insert(db: sqlite3.Connection) -> int | None:
            row = self._known([slot]) if slot is not None else []
            if row:  # the slot's row becomes the task's
                cursor = db.execute(
                    f"UPDATE tasks SET ({_COLUMNS}, status) = ({_MARKS}, 'pending')"
                    " WHERE id = ? AND status = 'reserved'",
                    (*values, row[0]),
                )
                if cursor.rowcount:
                    return row[0]
            cursor = db.execute(f"INSERT INTO tasks ({_COLUMNS}) VALUES ({_MARKS})", values)
            return cursor.lastrowid

        return self._run(insert, None)

    def end(self, ids: Iterable[Id], status: str, note: str = "") -> Future[None]:
        """Tasks that ended: ``done`` (images in hand), ``failed``,
        ``moderated`` or ``expired``, with a ``note`` saying why. An id may be
        the future :meth:`record` gave (it is known by the time this runs)."""
        ids, ended = list(ids), time.time()

        def update(db: sqlite3.Connection) -> None:
            rows = [(status, ended, note[:500], i) for i in self._known(ids)]
            db.executemany("UPDATE tasks SET status = ?, ended = ?, note = ? WHERE id = ?", rows)

        with self._lock:
            self._ending.update(ids)  # no longer pending for this process, written or not
        done = self._run(update, None)
        done.add_done_callback(lambda _: self._ended(ids))
        return done

    def _ended(self, ids: list[Id]) -> None:
        with self._lock:
            self._ending.difference_update(ids)

    def release(self, ids: Iterable[Id]) -> Future[None]:
        """Tasks still at the host that nobody follows now (the run stopped
        waiting): :func:`fluxpanel.resume` may collect them."""
        ids = list(ids)

        def update(db: sqlite3.Connection) -> None:
            rows = [(i,) for i in self._known(ids)]
            db.executemany("UPDATE tasks SET owner = '' WHERE id = ? AND status = 'pending'", rows)

        return self._run(update, None)

    def claim(self, ids: Iterable[Id]) -> Future[None]:
        """This process follows these tasks now."""
        ids = list(ids)

        def update(db: sqlite3.Connection) -> None:
            rows = [(ME, i) for i in self._known(ids)]
            db.executemany("UPDATE tasks SET owner = ? WHERE id = ?", rows)

        return self._run(update, None)

    # -- an account's active tasks, across processes ------------------------------------------

    def take(self, provider: str, endpoint: str, limit: int) -> Future[int | None]:
        """A slot of the account's ``limit`` active tasks at this host, taken
        in one transaction (two kernels never both take the last one): its
        row's id, ``None`` when every slot is taken, -1 when no count can be
        kept. Tasks of live processes count, and released ones of the last
        five minutes (they may still run at the host)."""

        def take(db: sqlite3.Connection) -> int | None:
            # Within the worker's transaction, which holds the write lock.
            now = time.time()
            running = db.execute(
                "SELECT owner, COUNT(*) FROM tasks WHERE provider = ? AND endpoint = ?"
                " AND status IN ('pending', 'reserved') AND running = 1"
                " AND submitted > CASE owner WHEN '' THEN ? ELSE ? END GROUP BY owner",
                (provider, endpoint, now - 300, now - 3600),
            ).fetchall()
            if sum(n for owner, n in running if not owner or alive(owner)) >= limit:
                return None
            return db.execute(
                _RESERVED,
                (provider, endpoint, ME, now),
            ).lastrowid

        return self._run(take, -1, now=True)

    def settled(self, ids: Iterable[Id]) -> Future[None]:
        """Tasks the host has finished with (their images are being fetched):
        they no longer count among the account's active tasks."""
        ids = list(ids)

        def update(db: sqlite3.Connection) -> None:
            with self._lock:  # those ended by now need no second write
                ending = {_settled(i) for i in self._ending}
            rows = [(i,) for i in self._known(ids) if i not in ending]
            if rows:
                db.executemany("UPDATE tasks SET running = 0 WHERE id = ?", rows)

        return self._run(update, None)

    def give_back(self, slot: Id) -> None:
        """A slot no task took (the create was refused, or never sent)."""

        def delete(db: sqlite3.Connection) -> None:
            rows = [(i,) for i in self._known([slot])]
            db.executemany("DELETE FROM tasks WHERE id = ? AND status = 'reserved'", rows)

        self._run(delete, None)

    def reserve(self, provider: str, endpoint: str) -> Future[int | None]:
        """A slot this process passes from a task that ended to one that
        waits: a reserved row, written with the next writes (and before the
        ended task's row says it no longer runs, so it is never counted free)."""
        now = time.time()

        def insert(db: sqlite3.Connection) -> int | None:
            return db.execute(
                _RESERVED,
                (provider, endpoint, ME, now),
            ).lastrowid

        return self._run(insert, None)

    # -- reading -----------------------------------------------------------------------------

    def pending(self, cache_key: str) -> list[Row]:
        """The tasks of this request still at the host (to join, not pay
        again). Read at once on the caller's thread: in WAL mode a read waits
        for no writer, and a ledger not yet written holds nothing."""
        if not self.path.exists():
            return []
        try:
            db = self._reader()
            found = db.execute(
                "SELECT * FROM tasks WHERE cache_key = ? AND status = 'pending' ORDER BY id",
                (cache_key,),
            ).fetchall()
        except sqlite3.Error as e:
            if "no such table" not in str(e):  # else: being made this moment, so empty
                self._warn(e)
            return []
        with self._lock:
            ending = {_settled(i) for i in self._ending}
        return [r for r in map(_row, found) if not r.expired and r.id not in ending]

    def _reader(self) -> sqlite3.Connection:
        """This thread's connection for reading (the worker's is its own)."""
        db = getattr(self._readers, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=0.5, isolation_level=None)
            db.execute("PRAGMA query_only=1")
            self._readers.db = db
        return db

    def unfinished(
        self, provider: str | None = None, endpoint: str | None = None
    ) -> Future[list[Row]]:
        """Tasks nobody alive follows: released ones, and those of a process
        that is gone (a restarted kernel). ``provider`` and ``endpoint``
        narrow them to one host."""

        def select(db: sqlite3.Connection) -> list[Row]:
            cursor = db.execute("SELECT * FROM tasks WHERE status = 'pending' ORDER BY id")
            rows = [_row(r) for r in cursor.fetchall()]
            return [
                r
                for r in rows
                if (provider is None or r.provider == provider)
                and (endpoint is None or r.endpoint == endpoint)
                and (not r.owner or not alive(r.owner))
            ]

        return self._run(select, [], now=True)

    def tasks(self) -> list[dict[str, Any]]:
        """Every task, newest first, as plain dicts (for people and tests)."""

        def select(db: sqlite3.Connection) -> list[dict[str, Any]]:
            db.row_factory = sqlite3.Row
            try:
                return [dict(r) for r in db.execute("SELECT * FROM tasks ORDER BY id DESC")]
            finally:
                db.row_factory = None

        return self._run(select, [], now=True).result()

    def flush(self) -> Future[None]:
        """Done once every write asked for so far is committed."""
        return self._run(lambda db: None, None, now=True)

    def close(self, timeout: float | None = None) -> None:
        """Finish the writes waiting (for at most ``timeout`` seconds), and
        close the database."""
        with self._lock:
            self._closed, thread = True, self._thread
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout)
        reader = getattr(self._readers, "db", None)
        if reader is not None:
            reader.close()
            self._readers.db = None


@dataclass
class _Job:
    work: Callable[[sqlite3.Connection], Any]
    default: Any
    done: Future[Any]
    #: The caller waits for it now.
    now: bool = False


_COLUMNS = (
    "provider, endpoint, model, cache_key, request, part, parts, task, follow, owner,"
    " submitted, keep_until, estimate, billed"
)
_MARKS = ", ".join("?" * 14)
#: A slot of an account's active tasks, reserved for a task about to be sent.
_RESERVED = (
    "INSERT INTO tasks (provider, endpoint, model, cache_key, request, part, parts, task,"
    " follow, owner, submitted, status) VALUES"
    " (?, ?, '', '', '{}', 0, 0, '', '{}', ?, ?, 'reserved')"
)


#: A row's id, or the future of it that :meth:`Ledger.record` gave.
Id = int | Future[int | None]


def _settled(i: Id) -> int | None:
    """A row's id, if known now."""
    if isinstance(i, Future):
        return i.result() if i.done() else None
    return i


def _row(values: tuple[Any, ...]) -> Row:
    (id_, provider, endpoint, model, cache_key, request, part, parts, task, follow, owner,
     submitted, keep_until, estimate, billed, status, *_) = values  # fmt: skip
    return Row(
        id_,
        provider,
        endpoint,
        model,
        cache_key,
        json.loads(request),
        part,
        parts,
        TaskRef(task, json.loads(follow), billed),
        owner,
        submitted,
        keep_until,
        estimate,
        status,
    )


_LEDGERS: dict[Path, Ledger] = {}
_LEDGERS_LOCK = threading.Lock()


def ledger_at(folder: str | os.PathLike[str]) -> Ledger:
    """The ledger of a cache folder, one per folder in the process."""
    path = Path(folder).resolve()
    with _LEDGERS_LOCK:
        ledger = _LEDGERS.get(path)
        if ledger is None:
            ledger = _LEDGERS[path] = Ledger(path)
        return ledger


@atexit.register
def _close_all() -> None:
    """At exit (a kernel shut down or restarted), commit the writes still
    held back: a ledger's thread is a daemon, stopped with the process, and
    a task the host accepted a moment before would be lost with it."""
    with _LEDGERS_LOCK:
        ledgers = list(_LEDGERS.values())
    for ledger in ledgers:
        ledger.close(EXIT_WAIT)
