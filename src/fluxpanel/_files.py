"""Local files: the one unit that reads and writes fluxpanel's files.

Every file fluxpanel reads goes through :func:`read_file`: it must be a
regular file (not a directory, a FIFO, a device such as ``/dev/zero``), it is
read with a bound on its bytes, and where fluxpanel chose its name (an input
kept by content, an export's files, a cache entry) a link planted there is
not followed. Anything else is a :class:`FileReadError` naming the file,
never a hang, a flood of memory or an ``IsADirectoryError``.

Files are written through a temporary file and an atomic rename
(:func:`write_file`), never through a link planted where a file goes. What
a file was found to hold is remembered by its stamp (:func:`digest_of`), so
the same file is not read and hashed again while it is unchanged.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from pathlib import Path

from ._errors import FluxError

#: Most bytes read from one file unless the caller says otherwise.
DEFAULT_LIMIT = 100_000_000
_READ = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class FileReadError(FluxError):
    """A file fluxpanel was asked to read is not one it reads: not a regular
    file, a link where fluxpanel chose the name, too large, or unreadable."""

    def __init__(self, path: str | os.PathLike[str], why: str) -> None:
        super().__init__(f"{os.fspath(path)} {why}")
        self.path = os.fspath(path)


class MissingFileError(FileReadError, FileNotFoundError):
    """The file is not there."""


def read_file(
    path: str | os.PathLike[str], *, limit: int = DEFAULT_LIMIT, own: bool = False
) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    ``own``: fluxpanel chose the name (an input by content, an export's
    file), so a symbolic link there is refused rather than followed. A FIFO
    is opened without waiting for a writer, and refused.
    """
    flags = _READ | (_NOFOLLOW if own else 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise MissingFileError(path, "is not there") from None
    except OSError as e:
        if own and _NOFOLLOW and os.path.islink(path):
            raise FileReadError(
                path, "is a link, not a file fluxpanel wrote; not followed"
            ) from None
        raise FileReadError(path, f"cannot be read ({e.strerror or e})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise FileReadError(path, f"is {_what(info.st_mode)}, not a file")
        if info.st_size > limit:
            raise FileReadError(path, f"is {info.st_size:,} bytes, more than {limit:,}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew while being read
        raise FileReadError(path, f"is more than {limit:,} bytes")
    return data


def _what(mode: int) -> str:
    for test, words in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a pipe"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return words
    return "not a regular file"


#: What files were found to hold, by their stamp: path -> ((size, mtime_ns, ino), sha256).
_DIGESTS: dict[str, tuple[tuple[int, int, int], str]] = {}


def digest_of(
    path: str | os.PathLike[str], *, limit: int = DEFAULT_LIMIT, own: bool = False
) -> str:
    """The sha256 of the file at ``path``, read once while its stamp (size,
    modification time, inode) stays the same; :class:`FileReadError` as
    :func:`read_file`."""
    key = os.fspath(path)
    try:
        info = os.stat(key) if not own else os.lstat(key)
    except OSError as e:
        raise FileReadError(path, f"cannot be read ({e.strerror or e})") from None
    stamp = (info.st_size, info.st_mtime_ns, info.st_ino)
    known = _DIGESTS.get(key)
    if known is not None and known[0] == stamp:
        return known[1]
    digest = hashlib.sha256(read_file(path, limit=limit, own=own)).hexdigest()
    if len(_DIGESTS) > 256:
        _DIGESTS.clear()
    _DIGESTS[key] = (stamp, digest)
    return digest


def holds(path: str | os.PathLike[str], sha256: str, *, own: bool = True) -> bool:
    """Whether the file at ``path`` holds exactly the bytes named by ``sha256``
    (a missing or unreadable file holds nothing)."""
    try:
        return digest_of(path, own=own) == sha256
    except FileReadError:
        return False


def write_file(path: Path, data: bytes, *, overwrite: bool) -> None:
    """Write ``data`` to ``path`` through a temporary file and an atomic rename.

    Never through a symlink planted at ``path``: with ``overwrite`` the link
    itself is replaced; without it, anything already at ``path`` (a file or a
    link) is refused with :class:`FileExistsError`.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".fluxpanel-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if overwrite:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # fails if anything, a symlink included, is there
        except FileExistsError:
            raise
        except (OSError, NotImplementedError):  # a file system without hard links
            if os.path.lexists(path):
                raise FileExistsError(path) from None
            os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
