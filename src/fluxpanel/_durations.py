"""How long generations of each model took on this machine, so a panel can
say what to expect where a host says nothing of its progress. Kept in the
cache folder, best-effort (a folder that cannot be written is no failure)."""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
import threading
from pathlib import Path

from ._errors import FluxError
from ._files import read_file

#: Runs remembered per provider and model.
KEEP = 20
#: The file is small; a larger one is not ours.
MAX_BYTES = 1_000_000
#: A run longer than a day is no run.
LONGEST = 86_400.0


def _seconds(value: object) -> float | None:
    """A run's seconds as read back: a finite, positive number of at most a
    day (a 400-digit integer or Infinity is no run)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        seconds = float(value)
    except OverflowError:
        return None
    return seconds if math.isfinite(seconds) and 0 < seconds <= LONGEST else None


class RecentRuns:
    """Seconds of the last runs, by provider and model, in ``path`` (JSON).

    The runs are held in memory and read again only when the file changed
    (another process wrote it), so asking costs a ``stat``; :meth:`add` is
    instant and :meth:`save` writes the file (from a thread, off the path of
    the generation that was timed)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._runs: dict[str, list[float]] | None = None
        self._stamp: tuple[int, int] | None = None
        self._dirty = False
        self._lock = threading.Lock()  # the runs in memory
        self._writing = threading.Lock()  # the file

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _load(self) -> dict[str, list[float]]:
        """The runs the file holds. Any problem with it (unreadable, not a
        file, not JSON, numbers too large or not finite) means no estimate."""
        try:
            data = json.loads(read_file(self.path, limit=MAX_BYTES, own=True))
        except (FluxError, ValueError, RecursionError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            k: [s for s in map(_seconds, v) if s is not None][-KEEP:]
            for k, v in data.items()
            if isinstance(k, str) and isinstance(v, list)
        }

    def _current(self) -> dict[str, list[float]]:
        stamp = self._stat()
        if self._runs is None or (stamp != self._stamp and not self._dirty):
            self._runs, self._stamp = self._load(), stamp
        return self._runs

    def expected(self, key: str) -> float | None:
        """The median of the recent runs under ``key``, or ``None`` with fewer than 2."""
        with self._lock:
            runs = list(self._current().get(key, []))
        return statistics.median(runs) if len(runs) >= 2 else None

    def add(self, key: str, seconds: float) -> None:
        """Remember one run (the oldest go past :data:`KEEP`), in memory."""
        with self._lock:
            runs = self._current()
            runs[key] = [*runs.get(key, []), round(float(seconds), 3)][-KEEP:]
            self._dirty = True

    @property
    def dirty(self) -> bool:
        """Whether runs were added since the file was last written."""
        return self._dirty

    def save(self) -> None:
        """Write what :meth:`add` remembered, if anything; never raises."""
        with self._writing:
            with self._lock:
                if not self._dirty or self._runs is None:
                    return
                text = json.dumps(self._runs)
                self._dirty = False
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".runs-", suffix=".tmp")
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                with self._lock:  # our own write is not news to read back
                    os.replace(tmp, self.path)
                    self._stamp = self._stat()
            except OSError:
                return
