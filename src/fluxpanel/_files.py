"""Local files: the one unit that writes fluxpanel's files (atomically, never
through a link planted where a file goes)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


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
