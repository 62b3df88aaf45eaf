"""The static copy of a panel's latest result, shown after the live panel so
saved notebooks (nbconvert's HTML, GitHub) show the images and their code
without a kernel. It is kept up to date, and hidden where the live panel
renders (the view hides exactly the copy named by the panel's token)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from IPython.display import display

from . import _html
from ._previews import PREVIEW_SIDE
from ._results import seed_words

if TYPE_CHECKING:
    from ._panel import FluxPanel


class StaticCopy:
    """The copies of one panel's result, one per time it was displayed."""

    def __init__(self, panel: FluxPanel) -> None:
        self.panel = panel
        #: Names this panel's copy, so the live view hides exactly that copy
        #: in any front end (JupyterLab, Notebook 7, nbclassic, Voila, marimo).
        self.token = secrets.token_hex(8)
        self._handles: list[Any] = []

    def live(self, bundle: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The live panel's display data: where widgets cannot render
        (nbconvert, GitHub), a note shows in its place, and the static copy
        displayed after it."""
        if bundle is None:
            return None
        data, metadata = bundle
        data["text/plain"] = repr(self.panel)
        data["text/html"] = (
            "<p><em>FluxPanel: an interactive panel, shown live when the notebook runs.</em></p>"
        )
        return data, metadata

    def display(self, data: dict[str, Any], metadata: dict[str, Any]) -> None:
        """Show the live panel (``data``), then the copy in an output of its own."""
        display(data, metadata=metadata, raw=True)
        handle = display(self.bundle(), raw=True, display_id=True)
        if handle is not None:
            self._handles.append(handle)

    def bundle(self) -> dict[str, str]:
        gen = self.panel._runs.results.current
        text = f"FluxPanel: {gen!r}" if gen is not None else ""
        return {"text/html": self.html(), "text/plain": text}

    def refresh(self) -> None:
        if self._handles:
            bundle = self.bundle()
            for handle in self._handles:
                handle.update(bundle, raw=True)

    def html(self) -> str:
        panel = self.panel
        gen = panel._runs.results.current
        if gen is None:
            return f'<div class="fluxpanel-static" data-fluxpanel-static="{self.token}"></div>'
        tiles = {tile["index"]: tile for tile in panel._tiles}
        cells = []
        for img in gen.images:
            tile = tiles.get(img.index)
            data = tile["ref"].value if tile is not None else img.data
            mime = tile["mime"] if tile is not None else img.mime
            caption = f"{seed_words(img.seed)} · {gen.request.model}"
            if len(gen.images) > 1:
                caption += f" · #{img.index + 1}"
            width = PREVIEW_SIDE if len(gen.images) == 1 else PREVIEW_SIDE // 2
            cells.append(
                _html.figure(_html.data_uri(data, mime), gen.request.caption, caption, width)
            )
        cells += [_html.failed(str(e), 200) for e in gen.errors]
        return (
            f'<div class="fluxpanel-static" data-fluxpanel-static="{self.token}" '
            'style="font-family:system-ui,sans-serif">'
            f"<p><strong>FluxPanel</strong> · {_html.text(panel._client.provider.label)}"
            " · the latest result</p>"
            + _html.grid(cells)
            + _html.notes(gen.notes)
            + "<p style='margin:8px 0 2px'>Reproduce it with:</p>"
            + _html.code_block(gen.to_code())
            + "</div>"
        )
