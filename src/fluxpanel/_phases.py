"""What a person is told while a generation runs: each image as it arrives
and each phase as the host reports it, timed. Callbacks are the caller's:
one that raises is a warning, never a lost image."""

from __future__ import annotations

import dataclasses
import inspect
import time
import warnings
from collections.abc import Callable
from typing import Any

from ._flow import Progress
from ._results import GeneratedImage

#: Called with each image as it arrives; may be a coroutine function.
ImageCallback = Callable[[GeneratedImage], Any]
#: Called with each :class:`Progress` of a generation; may be a coroutine function.
ProgressCallback = Callable[[Progress], Any]


async def notify(callback: ImageCallback | None, image: GeneratedImage) -> None:
    """Tell ``callback`` an image arrived. The image is paid for: a callback
    that raises is reported as a warning and the image is kept."""
    if callback is None:
        return
    try:
        result = callback(image)
        if inspect.isawaitable(result):
            await result
    except Exception as e:
        warnings.warn(
            f"on_image callback raised {type(e).__name__}: {e}; the image is kept",
            RuntimeWarning,
            stacklevel=2,
        )


class Phases:
    """The phases of one generation: each change is told to ``callback`` (a
    raising callback is a warning, never a failure) and timed."""

    def __init__(
        self, callback: ProgressCallback | None, started: float, expected: float | None = None
    ) -> None:
        self.callback = callback
        self.started = started
        self.expected = expected
        self._phase: str | None = None
        self._since = started
        self.durations: dict[str, float] = {}

    async def emit(self, progress: Progress) -> None:
        now = time.perf_counter()
        if progress.phase != self._phase:
            if self._phase is not None:
                spent = now - self._since
                self.durations[self._phase] = self.durations.get(self._phase, 0.0) + spent
            self._phase, self._since = progress.phase, now
        if self.callback is None:
            return
        event = dataclasses.replace(progress, elapsed=now - self.started, expected=self.expected)
        try:
            result = self.callback(event)
            if inspect.isawaitable(result):
                await result
        except Exception as e:
            warnings.warn(
                f"on_progress callback raised {type(e).__name__}: {e}", RuntimeWarning, stacklevel=2
            )

    def finish(self) -> dict[str, float]:
        """Seconds spent in each phase (``queued``, ``running``, ``downloading``, ...)."""
        if self._phase is not None:
            now = time.perf_counter()
            self.durations[self._phase] = self.durations.get(self._phase, 0.0) + now - self._since
            self._phase = None
        return dict(self.durations)
