"""The panel's input images: files that arrive from the browser in chunks,
and what the view is shown of each input (a thumbnail, its size and digest,
never its bytes).

A file is sent as binary buffers of at most 8 MiB each (the Jupyter server
refuses a message over 10 MiB; a 20 MB photo is three messages), in order,
each acknowledged so the view can show how far it is. Nothing is kept once
the file is whole: it becomes an :class:`InputImage` or a clear error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._errors import ValidationError
from ._inputs import MAX_INPUT_BYTES, InputImage

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
    parts: list[bytes] = field(default_factory=list)
    received: int = 0


class UploadError(ValidationError):
    """A file from the browser that cannot be taken (too large, out of order)."""


class Uploads:
    """Files arriving from the browser, by the id the view gave each."""

    def __init__(self, max_bytes: int = MAX_INPUT_BYTES) -> None:
        self.max_bytes = max_bytes
        self._open: dict[str, Upload] = {}

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
        return upload

    def chunk(self, content: dict[str, Any], buffers: list[Any]) -> Upload:
        upload = self._get(content)
        data = bytes(buffers[0]) if buffers else b""
        if content.get("offset") != upload.received or len(data) > CHUNK:
            self.drop(content)
            raise UploadError(f"{upload.name} arrived out of order; try again", field=upload.param)
        if upload.received + len(data) > upload.size:
            self.drop(content)
            raise UploadError(f"{upload.name} is larger than the view said", field=upload.param)
        upload.parts.append(data)
        upload.received += len(data)
        return upload

    def end(self, content: dict[str, Any]) -> tuple[Upload, bytes]:
        upload = self._get(content)
        self.drop(content)
        if upload.received != upload.size:
            raise UploadError(
                f"{upload.name} arrived incomplete ({upload.received:,} of {upload.size:,} bytes)",
                field=upload.param,
            )
        return upload, b"".join(upload.parts)

    def drop(self, content: dict[str, Any]) -> None:
        self._open.pop(str(content.get("upload", ""))[:64], None)

    def _get(self, content: dict[str, Any]) -> Upload:
        upload = self._open.get(str(content.get("upload", ""))[:64])
        if upload is None:
            raise UploadError("a file part arrived for no upload (it was cancelled)")
        return upload


class Thumbnails:
    """What the view shows of each input, made once per content."""

    def __init__(self) -> None:
        self._made: dict[str, dict[str, Any]] = {}

    def view(self, image: InputImage, make: bool = True) -> dict[str, Any]:
        """What the view shows of ``image``; without ``make``, an entry with
        no thumbnail yet when none was made (the rest is known at once)."""
        if image.url is not None:
            return {"url": image.url, "name": image.name, "key": image.key}
        made = self._made.get(image.sha256)
        if made is None:
            if not make:
                return {**self._entry(image), "thumb": ""}
            from ._previews import shrink

            made = self._remember(image, shrink(image.data, THUMB_SIDE, quality=75))
        return {**made, "name": image.name or made["name"]}

    def ready(self, value: Any) -> bool:
        """Whether every image of ``value`` has its thumbnail."""
        items = value if isinstance(value, tuple) else (value,)
        return all(i.url is not None or i.sha256 in self._made for i in items)

    @staticmethod
    def _entry(image: InputImage) -> dict[str, Any]:
        return {
            "key": image.key,
            "sha256": image.sha256,
            "name": image.name,
            "width": image.width,
            "height": image.height,
            "bytes": image.size,
            "format": image.format,
            "note": image.note,
        }

    def _remember(self, image: InputImage, small: Any) -> dict[str, Any]:
        import base64

        made = {
            **self._entry(image),
            "thumb": f"data:{small.mime};base64,{base64.b64encode(small.data).decode()}",
        }
        if len(self._made) > 64:
            self._made.clear()
        self._made[image.sha256] = made
        return made

    def of(self, value: Any, make: bool = True) -> list[dict[str, Any]]:
        """The view of a parameter's value: one entry per image."""
        if value is None:
            return []
        items = value if isinstance(value, tuple) else (value,)
        return [self.view(image, make) for image in items]


def editing_target(spec: Any) -> str | None:
    """The parameter "Use as input" fills for a model: its first image
    parameter that is not a mask (None when it takes no image)."""
    for name, p in spec.params.items():
        if p.is_image and not p.mask_of:
            return name
    return None


def editing_model(models: dict[str, Any], current: str) -> str | None:
    """The model to switch to when the one in use takes no input image:
    FLUX.1 Kontext [pro] where offered, else the first that edits."""
    if editing_target(models[current]) is not None:
        return current
    for candidate in ("flux_kontext_pro", *models):
        spec = models.get(candidate)
        if spec is not None and editing_target(spec) is not None:
            return candidate
    return None
