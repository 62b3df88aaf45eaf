"""Checking downloaded bytes are an image, and PNG text chunks. Pillow is
imported only when these run."""

from __future__ import annotations

import asyncio
import io
import struct
import warnings
import zlib
from dataclasses import dataclass

from ._errors import ImageError

#: Larger than any FLUX output by far; above it an image is treated as a bomb.
MAX_PIXELS = 40_000_000

_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class ImageInfo:
    mime: str
    width: int
    height: int


#: Images up to this size are checked on the loop's thread (see check_image).
INLINE_CHECK_BYTES = 8 * 1024 * 1024


async def check_image(data: bytes, source: str = "image") -> ImageInfo:
    """:func:`inspect_image` from async code. Checking an image reads it once
    (about 0.3 ms a megabyte): handing a usual one to a thread costs more than
    that in switches and the GIL while the loop reads other downloads; a large
    one would hold the loop too long, so it goes to a thread."""
    if len(data) <= INLINE_CHECK_BYTES:
        return inspect_image(data, source)
    return await asyncio.to_thread(inspect_image, data, source)


def inspect_image(data: bytes, source: str = "image") -> ImageInfo:
    """Check ``data`` is a whole PNG, JPEG or WebP image of sane size.

    Cheap by design: headers are parsed and the structure checked (PNG chunk
    CRCs, JPEG end marker, WebP length) without decoding the pixels.
    """
    from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

    if not data:
        raise ImageError(f"{source} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt, (w, h) = img.format, img.size
                if fmt not in _MIME:
                    raise ImageError(f"{source} is {fmt}, not PNG, JPEG or WebP")
                if w * h > MAX_PIXELS:
                    raise ImageError(
                        f"{source} claims {w}x{h} pixels, more than fluxpanel "
                        "accepts (a decompression bomb?)"
                    )
                img.verify()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(f"{source} is too large to decode safely: {e}") from None
    except Exception as e:  # Pillow raises many kinds for bad data
        raise ImageError(f"{source} is not a valid image ({e})") from None
    if fmt == "JPEG" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise ImageError(f"{source} is a truncated JPEG")
    if fmt == "WEBP" and len(data) < 8 + struct.unpack("<I", data[4:8])[0]:
        raise ImageError(f"{source} is a truncated WebP")
    return ImageInfo(_MIME[fmt], w, h)


_CLEAR: dict[str, bool] = {}


def transparent_areas(data: bytes, key: str) -> bool:
    """Whether some pixel of the image ``data`` is not wholly opaque: an
    alpha mask, where FLUX.1 Fill repaints. An image with no alpha channel is
    known at once from its header; one with a channel is decoded once and
    remembered by ``key`` (its digest)."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

    if key in _CLEAR:
        return _CLEAR[key]
    with Image.open(io.BytesIO(data)) as img:
        if img.mode not in ("RGBA", "LA", "PA") and "transparency" not in img.info:
            found = False
        else:
            alpha = img.convert("RGBA").getchannel("A")
            found = alpha.getextrema()[0] < 255
    if len(_CLEAR) > 256:
        _CLEAR.clear()
    _CLEAR[key] = found
    return found


def sniff_mime(data: bytes) -> str:
    """The type of an image from its first bytes (PNG, JPEG or WebP), never
    from what a file or a header claims. ``ImageError`` for anything else."""
    if data.startswith(PNG_SIGNATURE):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    raise ImageError("not a PNG, JPEG or WebP image")


def png_chunk(chunk: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(chunk + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + chunk + payload + struct.pack(">I", crc)


def itxt(key: str, text: str) -> bytes:
    """An uncompressed, UTF-8 ``iTXt`` chunk."""
    payload = key.encode("latin-1") + b"\x00\x00\x00" + b"\x00" + b"\x00" + text.encode("utf-8")
    return png_chunk(b"iTXt", payload)


def add_png_text(data: bytes, texts: dict[str, str]) -> bytes:
    """``data`` with text chunks added after IHDR; the pixels are untouched."""
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("not a PNG")
    (ihdr_len,) = struct.unpack(">I", data[8:12])
    end = 8 + 12 + ihdr_len
    chunks = b"".join(itxt(k, v) for k, v in texts.items())
    return data[:end] + chunks + data[end:]


def read_png_text(data: bytes) -> dict[str, str]:
    """Every tEXt/iTXt/zTXt chunk of a PNG, without decoding pixels."""
    if not data.startswith(PNG_SIGNATURE):
        raise ImageError("not a PNG")
    out: dict[str, str] = {}
    pos = 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunk = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if chunk == b"IEND" or chunk == b"IDAT":
            if chunk == b"IEND":
                break
            continue
        try:
            if chunk == b"tEXt":
                k, _, v = body.partition(b"\x00")
                out[k.decode("latin-1")] = v.decode("latin-1")
            elif chunk == b"zTXt":
                k, _, rest = body.partition(b"\x00")
                out[k.decode("latin-1")] = _inflate(rest[1:]).decode("latin-1")
            elif chunk == b"iTXt":
                k, _, rest = body.partition(b"\x00")
                compressed, rest = rest[0], rest[2:]
                _lang, _, rest = rest.partition(b"\x00")
                _tkey, _, text = rest.partition(b"\x00")
                if compressed:
                    text = _inflate(text)
                out[k.decode("latin-1")] = text.decode("utf-8")
        except (ValueError, IndexError, zlib.error):
            continue
    return out


def _inflate(data: bytes, limit: int = 1 << 20) -> bytes:
    """Decompress at most ``limit`` bytes: metadata is small, bombs are not."""
    return zlib.decompressobj().decompress(data, limit)
