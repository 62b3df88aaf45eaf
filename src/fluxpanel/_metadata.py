"""The request, written into image files and read back, without re-encoding.

PNG: ``iTXt`` chunks after IHDR. JPEG: ``COM`` segments after the APPn
segments. WebP: an XMP chunk (the file becomes the extended VP8X form if it
was not). Two keys: ``fluxpanel`` (the request and provenance, as JSON) and
``parameters`` (one human-readable block, as other image tools write).
"""

from __future__ import annotations

import html
import io
import re
import struct
from xml.sax.saxutils import escape

from ._errors import ImageError
from ._imaging import PNG_SIGNATURE, add_png_text, read_png_text

KEYS = ("fluxpanel", "parameters")
_XMP_NS = "urn:fluxpanel:metadata:1"
#: Escapes for an XML attribute in double quotes (newlines kept as references).
_ATTR = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def embed(data: bytes, texts: dict[str, str]) -> bytes:
    """``data`` with ``texts`` written into its metadata (replacing ours)."""
    if data.startswith(PNG_SIGNATURE):
        return add_png_text(_strip_png(data), texts)
    if data.startswith(b"\xff\xd8"):
        return _jpeg_embed(data, texts)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_embed(data, texts)
    raise ImageError("metadata can be written into PNG, JPEG and WebP files only")


def read(data: bytes) -> dict[str, str]:
    """Our metadata from a PNG, JPEG or WebP file (empty if it has none)."""
    if data.startswith(PNG_SIGNATURE):
        return {k: v for k, v in read_png_text(data).items() if k in KEYS}
    if data.startswith(b"\xff\xd8"):
        return _jpeg_read(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_read(data)
    raise ImageError("not a PNG, JPEG or WebP file")


# -- PNG ---------------------------------------------------------------------------


def _strip_png(data: bytes) -> bytes:
    """``data`` without text chunks holding our keys (so embedding is idempotent)."""
    out, pos = [data[:8]], 8
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        chunk = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        key = data[pos + 8 : pos + 8 + min(length, 80)].split(b"\x00", 1)[0]
        if not (chunk in (b"tEXt", b"iTXt", b"zTXt") and key.decode("latin-1") in KEYS):
            out.append(data[pos:end])
        pos = end
        if chunk == b"IEND":
            break
    return b"".join(out)


# -- JPEG --------------------------------------------------------------------------


def _jpeg_segments(data: bytes):
    """(start, end, marker) of each segment before the scan data."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xDA:  # start of scan: image data follows
            return
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        yield pos, pos + 2 + length, marker
        pos += 2 + length


def _jpeg_key(segment: bytes) -> str:
    return segment[4:].split(b"\x00", 1)[0].decode("latin-1", "replace")


def _jpeg_embed(data: bytes, texts: dict[str, str]) -> bytes:
    app, rest, end_of_header = [], [], 2
    for start, end, marker in _jpeg_segments(data):
        segment, end_of_header = data[start:end], end
        if marker == 0xFE and _jpeg_key(segment) in KEYS:
            continue  # ours: replaced below
        (app if 0xE0 <= marker <= 0xEF else rest).append(segment)
    comments = []
    for key, value in texts.items():
        payload = key.encode("latin-1") + b"\x00" + value.encode("utf-8")
        if len(payload) > 65533:
            raise ImageError(f"{key} metadata is too long for a JPEG comment")
        comments.append(b"\xff\xfe" + struct.pack(">H", len(payload) + 2) + payload)
    # SOI, the APPn segments (JFIF/EXIF stay first), our comments, the rest.
    return b"".join([data[:2], *app, *comments, *rest, data[end_of_header:]])


def _jpeg_read(data: bytes) -> dict[str, str]:
    out = {}
    for start, end, marker in _jpeg_segments(data):
        if marker == 0xFE:
            key, _, value = data[start + 4 : end].partition(b"\x00")
            name = key.decode("latin-1", "replace")
            if name in KEYS:
                out[name] = value.decode("utf-8", "replace")
    return out


# -- WebP --------------------------------------------------------------------------


def _webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        fourcc = data[pos : pos + 4]
        (size,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        chunks.append((fourcc, data[pos + 8 : pos + 8 + size]))
        pos += 8 + size + (size & 1)
    return chunks


def _webp_pack(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WEBP" + b"".join(
        fourcc + struct.pack("<I", len(p)) + p + (b"\x00" if len(p) & 1 else b"")
        for fourcc, p in chunks
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _webp_embed(data: bytes, texts: dict[str, str]) -> bytes:
    chunks = [(f, p) for f, p in _webp_chunks(data) if f != b"XMP "]
    if not chunks:
        raise ImageError("an empty WebP file")
    if chunks[0][0] != b"VP8X":
        from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

        with Image.open(io.BytesIO(data)) as img:
            w, h, alpha = img.width, img.height, "A" in img.getbands()
        flags = 0x10 if alpha else 0
        vp8x = (
            bytes([flags, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
        )
        chunks.insert(0, (b"VP8X", vp8x))
    flags = chunks[0][1][0] | 0x04  # XMP present
    chunks[0] = (b"VP8X", bytes([flags]) + chunks[0][1][1:])
    attrs = " ".join(f'fluxpanel:{k}="{escape(v, _ATTR)}"' for k, v in texts.items())
    xmp = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:fluxpanel="{_XMP_NS}" {attrs}/>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    )
    chunks.append((b"XMP ", xmp.encode("utf-8")))
    return _webp_pack(chunks)


def _webp_read(data: bytes) -> dict[str, str]:
    for fourcc, payload in _webp_chunks(data):
        if fourcc == b"XMP ":
            text = payload.decode("utf-8", "replace")
            return {
                m.group(1): html.unescape(m.group(2))
                for m in re.finditer(r'fluxpanel:(\w+)="([^"]*)"', text)
                if m.group(1) in KEYS
            }
    return {}
