"""Files that arrive from the browser in chunks, for the panel's image fields.

A file is sent as binary buffers of at most 8 MiB each (the Jupyter server
refuses a message over 10 MiB; a 20 MB photo is three messages), each at its
offset and acknowledged so the view can show how far it is. Parts may arrive
in any order, and after the view's last message (marimo delivers messages
with buffers apart from the others); the file is whole when every byte has
come. Nothing is kept once it is: it becomes an :class:`InputImage` or a
clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._errors import ValidationError
from ._inputs import MAX_INPUT_BYTES

#: The largest chunk the view sends (a comm message stays under the Jupyter
#: server's 10 MiB limit, with room for its header).
CHUNK = 8 << 20
#: The longest side of the thumbnails the view shows.
THUMB_SIDE = 192
#: At most this many uploads in flight per panel (a stuck view cannot pile them up).
MAX_UPLOADS = 8


@dataclass
class Upload:
    """One file on its way from the browser."""

    param: str
    name: str
    size: int
    append: bool
    parts: dict[int, bytes] = field(default_factory=dict)
    received: int = 0
    #: The view has sent everything (its last message came).
    ended: bool = False

    @property
    def whole(self) -> bool:
        """Every byte has come and the view has said it is done."""
        return self.ended and self.received == self.size

    def data(self) -> bytes:
        return b"".join(self.parts[offset] for offset in sorted(self.parts))


class UploadError(ValidationError):
    """A file from the browser that cannot be taken (too large, out of order)."""


class Uploads:
    """Files arriving from the browser, by the id the view gave each."""

    def __init__(self, max_bytes: int = MAX_INPUT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._open: dict[str, Upload] = {}
        #: Parts that came before their upload's first message, by upload id.
        self._early: dict[str, list[tuple[Any, bytes]]] = {}

    def begin(self, content: dict[str, Any], params: set[str]) -> Upload:
        upload_id = str(content.get("upload", ""))[:64]
        param = str(content.get("param", ""))
        name = str(content.get("name") or "the file")[:200]
        size = content.get("size")
        if param not in params:
            raise UploadError(f"{param!r} is not an image parameter here", field=param or None)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise UploadError(f"{name}: the view sent no size", field=param)
        if size > self.max_bytes:
            raise UploadError(
                f"{name} is {size:,} bytes, more than fluxpanel takes ({self.max_bytes:,})",
                field=param,
                value=size,
            )
        if len(self._open) >= MAX_UPLOADS:
            raise UploadError("too many files at once; wait for the others", field=param)
        upload = Upload(param, name, size, bool(content.get("append")))
        self._open[upload_id] = upload
        for offset, data in self._early.pop(upload_id, []):
            self._add(content, upload, offset, data)
        return upload

    def chunk(self, content: dict[str, Any], buffers: list[Any]) -> Upload | None:
        """Take one part; the upload it belongs to (``None`` for a part that
        came before its upload's first message: kept until it comes)."""
        data = bytes(buffers[0]) if buffers else b""
        upload_id = str(content.get("upload", ""))[:64]
        upload = self._open.get(upload_id)
        if upload is None:
            early = self._early.setdefault(upload_id, [])
            waiting = sum(len(d) for parts in self._early.values() for _, d in parts)
            if len(self._early) > MAX_UPLOADS or waiting + len(data) > self.max_bytes:
                self._early.pop(upload_id, None)
                raise UploadError("a file part arrived for no upload (it was cancelled)")
            early.append((content.get("offset"), data))
            return None
        self._add(content, upload, content.get("offset"), data)
        return upload

    def _add(self, content: dict[str, Any], upload: Upload, offset: Any, data: bytes) -> None:
        if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
            self.drop(content)
            raise UploadError(f"{upload.name} arrived out of order; try again", field=upload.param)
        if offset + len(data) > upload.size:
            self.drop(content)
            raise UploadError(f"{upload.name} is larger than the view said", field=upload.param)
        overlaps = any(
            offset < o + len(d) and o < offset + len(data) for o, d in upload.parts.items()
        )
        if not data or len(data) > CHUNK or overlaps:
            self.drop(content)
            raise UploadError(f"{upload.name} arrived out of order; try again", field=upload.param)
        upload.parts[offset] = data
        upload.received += len(data)

    def end(self, content: dict[str, Any]) -> Upload:
        """The view's last message: the upload, whole or still waiting for
        parts (see :attr:`Upload.whole`)."""
        upload = self._get(content)
        upload.ended = True
        return upload

    def take(self, content: dict[str, Any], upload: Upload) -> bytes:
        """The bytes of a whole upload, which is closed."""
        self.drop(content)
        return upload.data()

    def drop(self, content: dict[str, Any]) -> None:
        upload_id = str(content.get("upload", ""))[:64]
        self._open.pop(upload_id, None)
        self._early.pop(upload_id, None)

    def _get(self, content: dict[str, Any]) -> Upload:
        upload = self._open.get(str(content.get("upload", ""))[:64])
        if upload is None:
            raise UploadError("a file part arrived for no upload (it was cancelled)")
        return upload
