"""The vocabulary of a provider's flow, shared by the providers (which never
do I/O) and the engine (which does all of it): a :class:`Call` to send, the
:class:`Reply` it got, the :class:`Outputs` a flow ends with, and the
:class:`Progress` a host reports on the way.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ._errors import FluxError, ModerationError


@dataclass(frozen=True)
class Progress:
    """How far a generation is, as the host says it (or as fluxpanel sees it).

    ``phase`` is ``submitting``, ``queued``, ``running`` or ``downloading``;
    ``fraction`` (0 to 1) when the host reports how far it is; ``position`` in
    the host's queue; ``done`` of ``total`` images downloaded; ``detail`` the
    host's own word for the state (``Reasoning``); ``elapsed`` seconds since
    the generation started; ``expected`` seconds a run of this model usually
    takes here, when known (from this machine's recent runs).
    """

    phase: str
    fraction: float | None = None
    position: int | None = None
    done: int | None = None
    total: int | None = None
    detail: str = ""
    elapsed: float = 0.0
    expected: float | None = None

    def describe(self) -> str:
        """The state in a few words: "Queued, position 3", "Running, 40%"."""
        word = self.detail or self.phase.capitalize()
        if self.phase == "queued" and self.position is not None:
            return f"{word}, position {self.position + 1}"
        if self.phase == "downloading" and self.total:
            return f"{self.detail or 'Downloading'} {self.done or 0} of {self.total}"
        if self.fraction is not None:
            return f"{word}, {round(self.fraction * 100)}%"
        return word


@dataclass(frozen=True)
class Call:
    """One HTTP request a provider wants sent.

    ``billable`` marks a call that may cost money: the engine retries it only
    when the server provably never saw it (connect errors) or said so (429).
    ``delay`` is a wait before sending (polling intervals). ``task`` names the
    provider's task, for messages when a deadline passes.
    """

    method: str
    url: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    billable: bool = False
    delay: float = 0.0
    task: str | None = None
    state: Any = None
    #: What the reply that led to this call said of the task's progress.
    progress: Progress | None = None
    #: A raw body (an upload's bytes), instead of ``json``.
    content: bytes | None = field(default=None, repr=False)
    #: A multipart form: ``{name: (filename, bytes, media type)}``.
    files: Mapping[str, Any] | None = field(default=None, repr=False)
    #: A held stream (server-sent events): the body read so far is given to
    #: this as it comes; the engine stops reading when it returns True, and
    #: shows any :class:`Progress` the provider reads from it with
    #: ``watch``.
    until: Callable[[bytes], bool] | None = field(default=None, repr=False)
    watch: Callable[[bytes], Progress | None] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class Reply:
    """An HTTP response as the engine received it."""

    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON; ``ValueError`` for anything that is not (nesting
        too deep for the parser included)."""
        return parse_json(self.body)

    @property
    def request_id(self) -> str | None:
        for name in ("x-request-id", "request-id", "x-fal-request-id"):
            if name in self.headers:
                return self.headers[name]
        return None


#: Fetches an image address handed back by a host (the engine's download).
Fetch = Callable[[str], Awaitable[bytes]]


class Source(Protocol):
    """Where one image's bytes come from."""

    async def read(self, fetch: Fetch) -> bytes:
        """The image's bytes (``fetch`` downloads an address)."""
        ...


@dataclass(frozen=True)
class At:
    """An image at an address the host handed back."""

    url: str

    async def read(self, fetch: Fetch) -> bytes:
        return await fetch(self.url)


@dataclass(frozen=True)
class Outputs:
    """Where a provider's images are: addresses to download (or other
    :class:`Source` s, such as the preview's drawings), and their seeds when
    the provider says (otherwise the request's)."""

    urls: Sequence[str | Source] = ()
    seeds: Sequence[int] | None = None
    #: Tasks of the request that failed (the others' images are kept).
    errors: Sequence[FluxError] = ()
    #: Images of the batch the host made but withheld (its safety filter).
    withheld: int = 0
    #: The prompt as the host expanded it, when it says (FLUX 3's
    #: ``result.prompt``, with any boxes it added).
    prompt: str = ""
    #: How the images are had, in a word for the progress line ("Drawing").
    detail: str = ""

    @property
    def sources(self) -> list[Source]:
        """Each image's source (an address is read by downloading it)."""
        return [At(u) if isinstance(u, str) else u for u in self.urls]

    @classmethod
    def of_tasks(cls, seeds: Sequence[int | None], results: Sequence[Any]) -> Outputs:
        """One request's outputs from its tasks' (one image per task, the
        task's ``seeds``): every task's images and seeds are kept, and what
        failed; a task refused by moderation is an image withheld, not a
        failure. Raises the first failure when no task made an image, and any
        failure that is not fluxpanel's."""
        ok = [r for r in results if isinstance(r, Outputs)]
        failed = [r for r in results if isinstance(r, BaseException)]
        if not ok:
            raise failed[0]
        for error in failed:
            if not isinstance(error, FluxError):
                raise error
        urls: list[str | Source] = []
        kept: list[int] = []
        for seed, result in zip(seeds, results, strict=True):
            if isinstance(result, Outputs):
                urls += result.urls
                kept += list(result.seeds or [seed] * len(result.urls))
        withheld = [e for e in failed if isinstance(e, ModerationError)]
        return cls(
            urls=urls,
            seeds=kept,
            errors=[e for e in failed if e not in withheld],
            withheld=len(withheld) + sum(r.withheld for r in ok),
            detail=ok[0].detail,
        )


Step = Call | Outputs


class TaskLog(Protocol):
    """Where the engine writes each task a host accepts (the ledger)."""

    def accepted(self, part: int, parts: int, task: TaskRef, slot: Any) -> Awaitable[Any] | None:
        """Task ``part`` of ``parts`` was accepted (in the account ``slot``
        the gate gave it, if any); the engine awaits what this returns
        before its first poll."""
        ...

    def sending(self, answer: Awaitable[None]) -> None:
        """A create whose run was cancelled is still on its way; ``answer``
        is done once what it started is written (a run of the same request
        waits for it before looking for tasks to join)."""
        ...

    def finish(self, tasks: Tasks, generation: Any) -> Any:
        """Each task's end once the run is over (released if still at the host)."""
        ...


@dataclass
class Tasks:
    """A generation's tasks, between the engine and whoever keeps them:
    tasks to follow again instead of creating (``rejoin``, by part), whether
    to create none at all (collecting after a restart), where accepted tasks
    are written (``log``), and, as the run goes, each part's task
    (``accepted``), the parts whose flow ended with images to fetch
    (``done``) and the host's verdict on those that ended without
    (``final``)."""

    log: TaskLog | None = None
    rejoin: Mapping[int, TaskRef] = field(default_factory=dict)
    only_rejoin: bool = False
    accepted: dict[int, TaskRef] = field(default_factory=dict)
    #: The account slot each part's task runs in (hosts that count active tasks).
    slots: dict[int, int | None] = field(default_factory=dict)
    done: set[int] = field(default_factory=set)
    final: dict[int, BaseException] = field(default_factory=dict)

    @property
    def billed(self) -> float | None:
        """What the host said its tasks cost, when it said so for every one."""
        costs = [t.billed for t in self.accepted.values()]
        return sum(c for c in costs if c is not None) if costs and None not in costs else None


@dataclass(frozen=True)
class TaskRef:
    """A task the host accepted, and so may bill: its ``id`` at the host,
    what is needed to ``follow`` it again (its polling URL; plain JSON,
    never the key), and what the host said it ``billed`` (dollars), if it
    says. The ledger keeps it, so a task outlives the process that sent it."""

    id: str
    follow: Mapping[str, Any]
    billed: float | None = None


def parse_json(body: bytes) -> Any:
    """JSON from ``body``; ``ValueError`` for anything else, including nesting
    deeper than the parser can follow (which raises ``RecursionError``)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to read") from None
