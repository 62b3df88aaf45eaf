"""Images side by side, for notebooks that teach by showing: an input, its
mask and the result in one row, each with a caption. The row is plain HTML
with display-size copies in it, so a saved notebook shows it without a
kernel (and stays small)."""

from __future__ import annotations

import base64
import html
from typing import Any

from ._inputs import InputImage
from ._previews import shrink

#: The longest side of each image in a row, in pixels.
SIDE = 320


class Row:
    """Images in a row, each with its caption (see :func:`side_by_side`)."""

    def __init__(self, images: list[Any], captions: list[str], side: int) -> None:
        self.items = [(InputImage.of(image, "image"), caption) for image, caption in
                      zip(images, captions, strict=True)]  # fmt: skip
        self.side = side

    def _repr_html_(self) -> str:
        cells = []
        for image, caption in self.items:
            small = shrink(image.data, self.side)
            src = f"data:{small.mime};base64,{base64.b64encode(small.data).decode('ascii')}"
            alt = html.escape(caption or image.name or "image")
            size = f"{image.width} x {image.height}"
            cells.append(
                '<figure style="margin:0;text-align:center">'
                f'<img src="{src}" alt="{alt}" width="{small.width}" height="{small.height}"'
                ' style="max-width:100%;height:auto;background:#eee">'
                f'<figcaption style="font-size:12px">{alt}<br><small>{size}</small>'
                "</figcaption></figure>"
            )
        style = "display:flex;gap:12px;flex-wrap:wrap;align-items:flex-start"
        return f'<div style="{style}">{"".join(cells)}</div>'

    def __repr__(self) -> str:
        return f"<Row of {len(self.items)} images: {', '.join(c for _, c in self.items)}>"


def side_by_side(*images: Any, captions: list[str] | None = None, side: int = SIDE) -> Row:
    """``images`` in a row, each captioned: ``side_by_side(base.image, mask,
    edit.image, captions=["input", "mask", "result"])``. An image is anything
    an image parameter takes (a path, bytes, Pillow, NumPy, a ``GeneratedImage``)."""
    names = (
        list(captions) if captions is not None else [f"image {i + 1}" for i in range(len(images))]
    )
    if len(names) != len(images):
        raise ValueError(f"{len(images)} images but {len(names)} captions")
    return Row(list(images), names, side)
