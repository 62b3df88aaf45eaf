"""How long generations of each model took on this machine, so a panel can
say what to expect where a host says nothing of its progress. Kept in the
cache folder, best-effort (a folder that cannot be written is no failure)."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import threading
from pathlib import Path

#: Runs remembered per provider and model.
KEEP = 20


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
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {
            k: [float(x) for x in v if isinstance(x, (int, float)) and not isinstance(x, bool)]
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
