"""How long generations of each model took on this machine, so a panel can
say what to expect where a host says nothing of its progress. Kept in the
cache folder, best-effort (a folder that cannot be written is no failure)."""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

#: Runs remembered per provider and model.
KEEP = 20


class RecentRuns:
    """Seconds of the last runs, by provider and model, in ``path`` (JSON)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _read(self) -> dict[str, list[float]]:
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

    def expected(self, key: str) -> float | None:
        """The median of the recent runs under ``key``, or ``None`` with fewer than 2."""
        runs = self._read().get(key, [])
        return statistics.median(runs) if len(runs) >= 2 else None

    def record(self, key: str, seconds: float) -> None:
        """Remember one run (the oldest go past :data:`KEEP`); never raises."""
        try:
            data = self._read()
            data[key] = [*data.get(key, []), round(float(seconds), 3)][-KEEP:]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".runs-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(tmp, self.path)
        except OSError:
            pass
