"""Display-size previews and thumbnails of generated images (Pillow, on demand)."""

from __future__ import annotations

import io
from dataclasses import dataclass

#: Longest side of the images shown in the panel and in saved notebooks.
PREVIEW_SIDE = 640
#: Longest side of history thumbnails.
THUMB_SIDE = 96


@dataclass(frozen=True)
class Shrunk:
    data: bytes
    mime: str
    width: int
    height: int


def shrink(data: bytes, max_side: int, quality: int = 80) -> Shrunk:
    """``data`` scaled to fit ``max_side`` and encoded as WebP (JPEG if Pillow
    lacks WebP). Images already small enough are re-encoded, not enlarged."""
    from PIL import Image, features  # noqa: PLC0415 - Pillow loads when an image is read

    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (max_side, max_side))  # JPEG: decode at a reduced scale
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
        img.thumbnail((max_side, max_side), Image.Resampling.BICUBIC, reducing_gap=2.0)
        out = io.BytesIO()
        if features.check("webp"):
            img.save(out, "WEBP", quality=quality, method=4)
            mime = "image/webp"
        else:  # pragma: no cover - every Pillow wheel has WebP
            img.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
            mime = "image/jpeg"
        return Shrunk(out.getvalue(), mime, img.width, img.height)
