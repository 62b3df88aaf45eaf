"""``Preview``: an offline provider that draws placeholders.

No network, no key, no cost. The same request always gives the same bytes, and
every image says plainly that it is a preview and shows the prompt (or the
model's name), model and seed, so teaching demos, docs and CI run without an
account. It offers every model fluxpanel knows (the API page's three as the API
page has them, the rest as Black Forest Labs, or else Replicate, publish them);
an edit's placeholder is drawn over its input image: with a mask only the
masked part changes (filled in from around it for FLUX Erase), an image grown
or placed on a canvas keeps its pixels where it lies, and FLUX Deblur's input
comes back sharpened. FLUX 3's boxes are drawn where they are,
each with its name and description, so a layout can be shown and tried
without a key.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .._flow import Fetch, Outputs
from .._request import GenerationRequest
from ..tables.preview import MODELS as PREVIEW_MODELS
from ._base import Provider


class Preview(Provider):
    """Placeholder images made on this machine. ``delay`` (seconds per image)
    imitates a remote model's pace for demos."""

    #: What it takes, in a line of the README's table of providers.
    summary = (
        "offline placeholders, no cost; every model, an edit drawn over its input "
        "(only the masked part changes), FLUX 3's boxes drawn with their names"
    )

    name = "preview"
    label = "Preview (offline placeholders)"
    models = PREVIEW_MODELS
    offline = True

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = float(delay)

    @property
    def endpoint(self) -> str:
        return "preview:"

    def start(self, request: GenerationRequest) -> Outputs:
        """Nothing to send: the images are drawn here, one after another."""
        turn = asyncio.Lock()
        drawings = [Drawing(self, request, i, turn) for i in range(request.count)]
        return Outputs(urls=drawings, detail="Drawing")

    def __repr__(self) -> str:
        return f"Preview(delay={self.delay})" if self.delay else "Preview()"


@dataclass(frozen=True)
class Drawing:
    """One placeholder, drawn off the loop's thread when it is read; the
    images of a request are drawn in turn, ``delay`` seconds each."""

    preview: Preview
    request: GenerationRequest
    index: int
    turn: asyncio.Lock

    async def read(self, fetch: Fetch) -> bytes:
        async with self.turn:
            if self.preview.delay:
                await asyncio.sleep(self.preview.delay)
            # Pillow loads when a placeholder is first drawn, not with fluxpanel.
            from ._placeholder import draw  # noqa: PLC0415 - Pillow loads when a placeholder is drawn

            return await asyncio.to_thread(draw, self.request, self.index)
