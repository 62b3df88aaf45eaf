"""The panel's answers to its view: a table from each message's type to what
the panel does, and the rule that every message is handled on the panel's
home loop, in the order it came.

The view sends a message only to ask the kernel to act (Generate, Cancel, a
file's parts, an original for Download); everything it shows comes from
traits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._editing import Editing

if TYPE_CHECKING:
    from ._panel import FluxPanel

#: A message's handler: the panel, the message, its binary buffers.
Handler = Callable[["FluxPanel", dict[str, Any], list[Any]], None]


def _restore(panel: FluxPanel, content: dict[str, Any], buffers: list[Any]) -> None:
    try:
        panel.restore(int(content.get("id", -1)))
    except (TypeError, ValueError):
        pass


def _upload(step: Callable[..., Any]) -> Handler:
    """A handler for one message of a file on its way from the view."""
    return lambda panel, content, buffers: panel._editing.upload(step, content, buffers)


#: What the panel does for each message of its view.
MESSAGES: Mapping[str, Handler] = MappingProxyType(
    {
        "generate": lambda panel, content, buffers: panel._runs.from_view(content.get("edits")),
        "cancel": lambda panel, content, buffers: panel.cancel() and None,
        "restore": _restore,
        "original": lambda panel, content, buffers: panel._runs.send_original(content),
        "before": lambda panel, content, buffers: panel._runs.send_before(content),
        "dropped": lambda panel, content, buffers: panel._editing.apply_dropped(
            content.get("request"), str(content.get("name", "the image"))
        ),
        "save": lambda panel, content, buffers: panel._runs.save_from_view(),
        "use-input": lambda panel, content, buffers: panel._editing.use_as_input(content),
        "preview-input": lambda panel, content, buffers: panel._editing.send_preview(content),
        "use-prompt": lambda panel, content, buffers: panel.use_expanded_prompt(),
        "edit-box": lambda panel, content, buffers: panel.edit_box(str(content.get("name", ""))),
        # A view (re)connected: files on their way from an earlier one are gone.
        "view": lambda panel, content, buffers: panel._editing.uploads.reset(),
        "input-begin": _upload(Editing.begin),
        "input-chunk": _upload(Editing.part),
        "input-end": _upload(Editing.end),
        "input-cancel": _upload(Editing.abandon),
        "input-remove": _upload(Editing.remove),
        "input-move": _upload(Editing.move),
    }
)


class Inbox:
    """Messages from the view, each handled on the panel's home loop's thread
    (whichever thread the kernel delivered it on) and in the order they came:
    marimo delivers messages with buffers (a file's parts) on another thread
    than those without (its first and last message), so while any is waiting
    for the loop, the next waits behind it."""

    def __init__(self, panel: FluxPanel) -> None:
        self.panel = panel
        self._queued = 0
        self._lock = threading.Lock()

    def receive(self, widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        runs = self.panel._runs
        home = runs.home() if runs.loop is not None or here is not None else None
        with self._lock:
            later = home is not None and (here is not home or self._queued > 0)
            if later:
                self._queued += 1
        if later:
            home.call_soon_threadsafe(self._queued_handle, content, buffers)
        else:
            self.handle(content, buffers)

    def _queued_handle(self, content: dict[str, Any], buffers: list[Any] | None) -> None:
        with self._lock:
            self._queued -= 1
        self.handle(content, buffers)

    def handle(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """Do what ``content`` asks (a message of an unknown type is ignored)."""
        handler = MESSAGES.get(content.get("type")) if isinstance(content, dict) else None
        if handler is not None:
            handler(self.panel, content, buffers or [])
