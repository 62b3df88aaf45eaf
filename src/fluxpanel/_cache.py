"""``ResultCache``: results on disk, so the same request is never paid for twice.

A request with its seed resolved is deterministic, so a result is stored under
the hash of the full request, the provider and the endpoint. Each entry is one
file, written to a temporary name and renamed into place: readers (other
kernels included) see a whole entry or none. Reading an entry touches it; when
the cache grows past its cap, the least recently used entries go.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from ._bodies import DEFAULT_MAX_IMAGE_BYTES
from ._errors import ImageError
from ._export import batch_fields, batch_record
from ._files import FileReadError, read_file
from ._imaging import sniff_mime
from ._results import GeneratedImage, Generation

if TYPE_CHECKING:
    from ._request import GenerationRequest
    from .providers import Provider

MAGIC = b"FLUXPANEL-CACHE-1\n"


class CacheWarning(UserWarning):
    """The cache could not be read or written; the result is returned all the same."""


#: Environment variable that moves the default cache.
DIR_ENV = "FLUXPANEL_CACHE_DIR"
DEFAULT_MAX_BYTES = 2 * 1024**3
#: The largest entry read back: a batch of the largest images.
MAX_ENTRY_BYTES = 16 * DEFAULT_MAX_IMAGE_BYTES
#: Writes counted before the cache's folder is read again for its size.
RECOUNT = 1000
#: A temporary file older than this was abandoned (its writer died).
STALE_TMP_SECONDS = 600


def default_dir() -> Path:
    env = os.environ.get(DIR_ENV)
    if env:
        return Path(env)
    return Path(platformdirs.user_cache_dir("fluxpanel", appauthor=False)) / "results"


class ResultCache:
    """A folder of results. ``ResultCache()`` uses the user's cache folder
    (``$FLUXPANEL_CACHE_DIR`` moves it); ``max_bytes`` caps its size."""

    def __init__(self, path: str | Path | None = None, *, max_bytes: int = DEFAULT_MAX_BYTES):
        self.path = Path(path) if path is not None else default_dir()
        self.max_bytes = int(max_bytes)
        # The cache's size as last read, and what was written since: a write
        # costs the same with 10 entries or 10,000 (see _counted).
        self._total: int | None = None
        self._writes = 0
        self._lock = threading.Lock()
        #: Writes under way on the cache's thread (see :meth:`put_soon`).
        self._under_way: set[Future[None]] = set()

    def __repr__(self) -> str:
        return f"ResultCache({str(self.path)!r}, max_bytes={self.max_bytes})"

    # -- keys -----------------------------------------------------------------------

    @staticmethod
    def key(request: GenerationRequest, provider: Provider) -> str:
        doc = {
            "request": request.to_payload(),
            "provider": provider.name,
            "endpoint": provider.identity,
        }
        blob = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()

    def _file(self, key: str) -> Path:
        return self.path / key[:2] / f"{key}.entry"

    # -- reading and writing ------------------------------------------------------------

    def get(self, request: GenerationRequest, provider: Provider) -> Generation | None:
        """The stored result of this request at this provider, or ``None``."""
        self.flush()
        path = self._file(self.key(request, provider))
        try:
            data = read_file(path, limit=MAX_ENTRY_BYTES, own=True)
        except FileReadError:
            return None
        try:
            header, blobs = _unpack(data)
            generation = _rebuild(header, blobs, request, provider)
        except (ValueError, KeyError, TypeError, AttributeError, ImageError, RecursionError):
            # Unreadable, whatever the reason: a miss, and gone so it can be written again.
            _remove(path)
            return None
        try:
            os.utime(path)  # most recently used
        except OSError:
            pass
        return generation

    def contains(self, request: GenerationRequest, provider: Provider) -> bool:
        """Whether a result for this request is stored (without reading it)."""
        self.flush()
        return self._file(self.key(request, provider)).is_file()

    def put(self, generation: Generation, provider: Provider) -> None:
        """Store a complete result (atomically), then keep the cache under its cap."""
        if generation.errors or not generation.images:
            return  # a partial result would stop the missing images being retried
        key = self.key(generation.request, provider)
        header = {
            "key": key,
            "request": generation.request.to_payload(),
            "provider": provider.name,
            "endpoint": provider.endpoint,
            "timings": generation.timings,
            "created": generation.created,
            **batch_record(generation),
            "images": [
                {
                    "mime": i.mime,
                    "width": i.width,
                    "height": i.height,
                    "seed": i.seed,
                    "index": i.index,
                    "size": len(i.data),
                }
                for i in generation.images
            ],
        }
        path = self._file(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".entry")
        data = _pack(header, [i.data for i in generation.images])
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            _remove(Path(tmp))
            raise
        if self._counted(len(data)) > self.max_bytes:
            self._trim()

    def _counted(self, added: int) -> int:
        """The cache's size after a write of ``added`` bytes, without reading
        the folder each time: it is read once, then writes are counted; read
        again every :data:`RECOUNT` writes (other processes write here too)."""
        with self._lock:
            if self._total is None or self._writes >= RECOUNT:
                self._total, self._writes = sum(size for _, size, _ in self._entries()), 0
            else:
                self._total += added
                self._writes += 1
            return self._total

    # -- housekeeping -----------------------------------------------------------------

    def _entries(self) -> list[tuple[float, int, Path]]:
        out = []
        if not self.path.is_dir():
            return out
        stale = time.time() - STALE_TMP_SECONDS
        for shard in os.scandir(self.path):
            if not shard.is_dir():
                continue
            for entry in os.scandir(shard.path):
                if entry.name.startswith(".tmp-"):
                    # Left by a kernel killed while writing: nobody will finish it.
                    try:
                        if entry.stat().st_mtime < stale:
                            _remove(Path(entry.path))
                    except FileNotFoundError:
                        pass
                    continue
                if entry.name.endswith(".entry"):
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue
                    out.append((st.st_mtime, st.st_size, Path(entry.path)))
        return out

    def put_soon(self, generation: Generation, provider: Provider) -> Future[None]:
        """:meth:`put` on the cache's own thread, returning at once: the
        cache's other methods wait for the writes under way, so what was put
        is there for them."""
        future = _writer().submit(self.put, generation, provider)
        with self._lock:
            self._under_way.add(future)
        future.add_done_callback(self._written)
        return future

    def _written(self, future: Future[None]) -> None:
        with self._lock:
            self._under_way.discard(future)

    def flush(self) -> None:
        """Wait for the writes under way (:meth:`put_soon`)."""
        with self._lock:
            under_way = list(self._under_way)
        if under_way:
            wait(under_way)

    def trim(self) -> int:
        """Remove least recently used entries until under the cap; returns how many."""
        self.flush()
        return self._trim()

    def _trim(self) -> int:
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        removed = 0
        with self._lock:
            self._total, self._writes = total, 0
        if total <= self.max_bytes:
            return 0
        target = int(self.max_bytes * 0.9)
        for _, size, path in sorted(entries):
            if total <= target:
                break
            if _remove(path):
                total -= size
                removed += 1
        with self._lock:
            self._total = total
        return removed

    def clear(self) -> int:
        """Remove every entry; returns how many."""
        self.flush()
        n = 0
        for _, _, path in self._entries():
            n += _remove(path)
        return n

    def __len__(self) -> int:
        self.flush()
        return len(self._entries())

    @property
    def size(self) -> int:
        """Bytes on disk."""
        self.flush()
        return sum(size for _, size, _ in self._entries())


_WRITERS: list[ThreadPoolExecutor] = []
_WRITERS_LOCK = threading.Lock()


def _writer() -> ThreadPoolExecutor:
    """The thread caches write on (one, so writes keep their order; at exit
    Python waits for what it has left to write)."""
    with _WRITERS_LOCK:
        if not _WRITERS:
            _WRITERS.append(ThreadPoolExecutor(1, thread_name_prefix="fluxpanel-cache"))
        return _WRITERS[0]


def _rebuild(
    header: Any, blobs: list[bytes], request: GenerationRequest, provider: Provider
) -> Generation:
    """The stored generation. Types come from the image bytes and numbers are
    checked, so an entry planted in a shared cache folder cannot inject markup."""
    if not isinstance(header, dict):
        raise ValueError("the header is not an object")
    images = []
    for meta, blob in zip(header["images"], blobs, strict=True):
        images.append(
            GeneratedImage(
                blob,
                sniff_mime(blob),
                _int(meta["width"]),
                _int(meta["height"]),
                None if meta.get("seed") is None else _int(meta["seed"]),
                _int(meta["index"]),
                request,
                provider.name,
            )
        )
    timings = header.get("timings", {})
    created = header.get("created", 0.0)
    return Generation(
        request=request,
        images=images,
        provider=provider.name,
        endpoint=provider.endpoint,
        timings={str(k): float(v) for k, v in timings.items()},
        cached=True,
        code=request.to_code(provider),
        cost=0.0,
        created=float(created),
        **batch_fields(header),
    )


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def get_cache(cache: ResultCache | bool | str | Path | None) -> ResultCache | None:
    """``True`` -> the default cache; ``False``/``None`` -> none; a path -> a cache there."""
    if cache is True:
        return ResultCache()
    if cache is False or cache is None:
        return None
    if isinstance(cache, ResultCache):
        return cache
    if isinstance(cache, (str, Path)):
        return ResultCache(cache)
    raise TypeError(
        f"cache must be a ResultCache, a path, True or False, not {type(cache).__name__}"
    )


def clear_cache() -> int:
    """Empty the default cache; returns how many entries were removed."""
    return ResultCache().clear()


def _pack(header: dict[str, Any], blobs: list[bytes]) -> bytes:
    head = json.dumps(header, ensure_ascii=False).encode()
    return MAGIC + struct.pack(">Q", len(head)) + head + b"".join(blobs)


def _unpack(data: bytes) -> tuple[dict[str, Any], list[bytes]]:
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 8:
        raise ValueError("not a cache entry")
    pos = len(MAGIC)
    (n,) = struct.unpack(">Q", data[pos : pos + 8])
    pos += 8
    try:
        header = json.loads(data[pos : pos + n])
    except (ValueError, RecursionError):
        raise ValueError("bad header") from None
    if not isinstance(header, dict) or not isinstance(header.get("images"), list):
        raise ValueError("the header is not an entry's")
    pos += n
    blobs = []
    for meta in header["images"]:
        size = int(meta["size"])
        blob = data[pos : pos + size]
        if len(blob) != size:
            raise ValueError("truncated entry")
        blobs.append(blob)
        pos += size
    if pos != len(data) or not blobs:
        raise ValueError("entry has the wrong length")
    return header, blobs


def _remove(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except OSError:  # gone already, or a folder this process may not change
        return False
