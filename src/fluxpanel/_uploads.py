"""Files that arrive from the browser in chunks, for the panel's image fields.

A file is sent as binary buffers of at most 8 MiB each (the Jupyter server
refuses a message over 10 MiB; a 20 MB photo is three messages), each at its
offset and acknowledged so the view can show how far it is. Parts may arrive
in any order, and after the view's last message (marimo delivers messages
with buffers apart from the others); the file is whole when every byte has
come. Nothing is kept once it is: it becomes an :class:`InputImage` or a
clear error.
"""

from __future__ import annotations

import bisect
import concurrent.futures
import hashlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from ._errors import ValidationError
from ._inputs import MAX_INPUT_BYTES

#: The largest chunk the view sends (a comm message stays under the Jupyter
#: server's 10 MiB limit, with room for its header).
CHUNK = 8 << 20
#: The longest side of the thumbnails the view shows.
THUMB_SIDE = 192
#: At most this many uploads in flight per panel (a stuck view cannot pile them up).
MAX_UPLOADS = 8


#: An upload no part of which came for this long is dropped.
IDLE_SECONDS = 120.0
#: Finished or cancelled uploads remembered, so their late parts are dropped.
REMEMBERED = 256
#: Most parts one upload may come in (the view sends a file in parts of
#: :data:`CHUNK`: a 100 MB file is 12 of them). Each part costs a check of its
#: two neighbours, so an upload costs at most this many small steps.
MAX_PARTS = 1024
#: The view is told how much of a file has come at most this often: over
#: loopback a 20 MB file ends before a bar could be seen to move, and each
#: message costs the page and the server a round of work while the file's
#: parts are still on their way (a 20 MB drop took 10 to 15% longer with
#: one per part); over a slow link each part is still told.
PROGRESS_EVERY = 0.5


_hashing: concurrent.futures.ThreadPoolExecutor | None = None
_hashing_lock = threading.Lock()


def _hasher() -> concurrent.futures.ThreadPoolExecutor:
    """One thread that hashes uploads' bytes in the order they are given
    (hashlib lets go of the interpreter for large buffers, so the loop's
    thread takes the next part meanwhile)."""
    global _hashing
    with _hashing_lock:
        if _hashing is None:
            _hashing = concurrent.futures.ThreadPoolExecutor(1, "fluxpanel-hash")
        return _hashing


@dataclass
class Upload:
    """One file on its way from the browser: its parts written into a buffer
    of the size the view announced (no copy to join them), their extents kept
    by offset (at most :data:`MAX_PARTS`, none overlapping another), and the
    bytes hashed in order as they come, on a thread of their own, so the
    loop's thread is free for the next part and the whole file's sha256 is
    ready soon after its last part."""

    param: str
    name: str
    size: int
    append: bool
    received: int = 0
    #: The view has sent everything (its last message came).
    ended: bool = False
    #: When a message of it last came (``time.monotonic()``).
    seen: float = field(default_factory=lambda: time.monotonic())
    #: When the view was last told how much has come (or the upload began).
    told: float = field(default_factory=lambda: time.monotonic())
    #: The parts' offsets, in order, and each part's length by offset.
    starts: list[int] = field(default_factory=list)
    lengths: dict[int, int] = field(default_factory=dict)
    #: The bytes (zeros where no part has come yet: the system gives them
    #: lazily, so an announced size costs nothing until it arrives).
    buffer: bytearray = field(init=False)
    _hash: Any = field(init=False, repr=False)
    #: The last range given to the hashing thread (waited for by :attr:`sha256`).
    _hashing: concurrent.futures.Future[None] | None = field(default=None, repr=False)
    #: How many bytes from the start are hashed (or given to be, in order).
    hashed: int = 0

    def __post_init__(self) -> None:
        self.buffer = bytearray(self.size)
        self._hash = hashlib.sha256()

    @property
    def parts(self) -> int:
        return len(self.starts)

    @property
    def whole(self) -> bool:
        """Every byte has come and the view has said it is done."""
        return self.ended and self.received == self.size

    def fits(self, offset: int, length: int) -> bool:
        """Whether a part at ``offset`` overlaps none already here: only its
        neighbours in the order of offsets are looked at."""
        at = bisect.bisect_right(self.starts, offset)
        if at and self.starts[at - 1] + self.lengths[self.starts[at - 1]] > offset:
            return False
        return at == len(self.starts) or self.starts[at] >= offset + length

    def put(self, offset: int, data: memoryview) -> None:
        """A part, written in place; the bytes now in order from the start
        are hashed (parts come in order, so each is hashed as it comes)."""
        self.buffer[offset : offset + len(data)] = data
        bisect.insort(self.starts, offset)
        self.lengths[offset] = len(data)
        self.received += len(data)
        start = self.hashed
        while (n := self.lengths.get(self.hashed)) is not None:
            self.hashed += n
        if self.hashed > start:  # the bytes now in order from the start
            self._hashing = _hasher().submit(
                self._hash.update, memoryview(self.buffer)[start : self.hashed]
            )

    def progress_due(self) -> bool:
        """Whether to tell the view how much has come now: once
        :data:`PROGRESS_EVERY` seconds have passed since it was last told."""
        now = time.monotonic()
        if now - self.told < PROGRESS_EVERY:
            return False
        self.told = now
        return True

    @property
    def sha256(self) -> str | None:
        """The file's sha256, once every byte is hashed (waiting for the
        hashing thread to finish the last part)."""
        if self.hashed != self.size:
            return None
        if self._hashing is not None:
            self._hashing.result()
        return self._hash.hexdigest()


class UploadError(ValidationError):
    """A file from the browser that cannot be taken (too large, out of order)."""


class Uploads:
    """Files arriving from the browser, by the id the view gave each. Work
    and memory per part are bounded: a part is checked against its two
    neighbours, and an upload comes in at most :data:`MAX_PARTS` parts."""

    def __init__(self, max_bytes: int = MAX_INPUT_BYTES, idle: float = IDLE_SECONDS) -> None:
        self.max_bytes = max_bytes
        self.idle = idle
        self._open: dict[str, Upload] = {}
        #: Parts that came before their upload's first message, by upload id.
        self._early: dict[str, list[tuple[Any, bytes]]] = {}
        #: Ids of uploads that ended (taken, cancelled, refused): late parts go.
        self._closed: dict[str, None] = {}

    def reset(self) -> None:
        """A view (re)connected: what was on its way is gone."""
        for upload_id in [*self._open, *self._early]:
            self._close(upload_id)

    def _sweep(self) -> None:
        """Uploads that went quiet (a view that went away) are dropped."""
        now = time.monotonic()
        for upload_id, upload in list(self._open.items()):
            if now - upload.seen > self.idle:
                self._close(upload_id)

    def begin(self, content: dict[str, Any], params: set[str]) -> Upload:
        self._sweep()
        upload_id = _id(content)
        param = str(content.get("param", ""))
        name = str(content.get("name") or "the file")[:200]
        size = content.get("size")
        if param not in params:
            raise UploadError(f"{param!r} is not an image parameter here", field=param or None)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise UploadError(f"{name}: the view sent no size", field=param)
        if size > self.max_bytes:
            raise UploadError(
                f"{name} is {size:,} bytes, more than fluxpanel takes ({self.max_bytes:,})",
                field=param,
                value=size,
            )
        if len(self._open) >= MAX_UPLOADS:
            raise UploadError("too many files at once; wait for the others", field=param)
        upload = Upload(param, name, size, bool(content.get("append")))
        self._open[upload_id] = upload
        for offset, data in self._early.pop(upload_id, []):
            self._add(content, upload, offset, data)
        return upload

    def chunk(self, content: dict[str, Any], buffers: list[Any]) -> Upload | None:
        """Take one part; the upload it belongs to (``None`` for a part that
        came before its upload's first message, kept until it comes, or for a
        late part of one that ended, dropped)."""
        data = _view(buffers[0]) if buffers else memoryview(b"")
        upload_id = _id(content)
        upload = self._open.get(upload_id)
        if upload is None:
            if upload_id in self._closed:
                return None  # a late part of an upload that ended: dropped
            if len(data) > CHUNK:
                raise UploadError("a file part larger than a part may be")
            early = self._early.setdefault(upload_id, [])
            waiting = sum(len(d) for parts in self._early.values() for _, d in parts)
            if len(self._early) > MAX_UPLOADS or waiting + len(data) > self.max_bytes:
                self._close(upload_id)
                raise UploadError("a file part arrived for no upload (it was cancelled)")
            early.append((content.get("offset"), bytes(data)))  # its buffer is not ours to keep
            return None
        self._add(content, upload, content.get("offset"), data)
        return upload

    def _add(self, content: dict[str, Any], upload: Upload, offset: Any, data: Any) -> None:
        upload.seen = time.monotonic()
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            self.drop(content)
            raise UploadError(f"{upload.name} arrived out of order; try again", field=upload.param)
        if offset + len(data) > upload.size:
            self.drop(content)
            raise UploadError(f"{upload.name} is larger than the view said", field=upload.param)
        if upload.parts >= MAX_PARTS:
            self.drop(content)
            raise UploadError(
                f"{upload.name} came in more than {MAX_PARTS} parts; try again",
                field=upload.param,
            )
        if not data or len(data) > CHUNK or not upload.fits(offset, len(data)):
            self.drop(content)
            raise UploadError(f"{upload.name} arrived out of order; try again", field=upload.param)
        upload.put(offset, memoryview(data))

    def end(self, content: dict[str, Any]) -> Upload:
        """The view's last message: the upload, whole or still waiting for
        parts (see :attr:`Upload.whole`)."""
        upload = self._get(content)
        upload.ended = True
        upload.seen = time.monotonic()
        return upload

    def take(self, content: dict[str, Any], upload: Upload) -> Upload:
        """A whole upload, which is closed: its :attr:`~Upload.buffer` and
        :attr:`~Upload.sha256` are the file's."""
        self.drop(content)
        return upload

    def drop(self, content: dict[str, Any]) -> None:
        """The upload ends (taken, cancelled by the view, or refused)."""
        self._close(_id(content))

    def _close(self, upload_id: str) -> None:
        self._open.pop(upload_id, None)
        self._early.pop(upload_id, None)
        self._closed[upload_id] = None
        while len(self._closed) > REMEMBERED:
            self._closed.pop(next(iter(self._closed)))

    @property
    def waiting(self) -> int:
        """Uploads on their way now."""
        return len(self._open)

    def _get(self, content: dict[str, Any]) -> Upload:
        upload = self._open.get(_id(content))
        if upload is None:
            raise UploadError("a file part arrived for no upload (it was cancelled)")
        return upload


def _id(content: dict[str, Any]) -> str:
    return str(content.get("upload", ""))[:64]


def _view(buffer: Any) -> memoryview:
    """A comm buffer as bytes to read (not copied)."""
    view = memoryview(buffer)
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view
