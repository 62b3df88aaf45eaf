"""Input images: whatever a person hands an image parameter, checked against
the host's limits and held as the exact bytes that will be sent.

An :class:`InputImage` is known by the sha256 of those bytes: requests compare,
hash, cache and record it by that digest, never by the bytes. An http(s) URL
(where a host takes URLs) is kept as the URL. Pillow is imported only when an
image is read.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import os
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._addresses import is_public_host
from ._errors import ValidationError
from ._files import FileReadError, holds, read_file, write_file
from ._keys import public_url

if TYPE_CHECKING:
    from ._spec import ParamSpec

#: The folder, beside the notebook, where inputs that came from memory or the
#: browser are written once by content, so snippets can name them.
INPUTS_FOLDER = "fluxpanel-inputs"
#: Above this many pixels a file is refused before it is decoded (a bomb).
MAX_INPUT_PIXELS = 100_000_000
#: Above this many bytes a file is refused before it is read.
MAX_INPUT_BYTES = 100_000_000

_FORMATS = {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp", "GIF": "gif"}
_MIME = {"png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
_EXT = {"png": ".png", "jpeg": ".jpg", "webp": ".webp", "gif": ".gif"}


@dataclass(frozen=True)
class ImageLimits:
    """What a host accepts for one input image, as it publishes it.

    ``formats`` are the image formats it takes (lower case: ``jpeg``, ``png``,
    ``webp``, ``gif``); ``max_bytes`` the largest encoded file; ``max_megapixels``
    the most pixels (in millions); ``min_side`` the shortest width or height.
    ``None`` means the host publishes no limit.
    """

    formats: tuple[str, ...] = ("jpeg", "png", "webp")
    max_bytes: int | None = None
    max_megapixels: float | None = None
    min_side: int | None = None

    def describe(self) -> str:
        """The limits in words, as error messages and the docs say them."""
        parts = ["/".join(f.upper() for f in self.formats)]
        if self.min_side:
            parts.append(f"at least {self.min_side} px a side")
        if self.max_megapixels:
            parts.append(f"at most {_num(self.max_megapixels)} megapixels")
        if self.max_bytes:
            parts.append(f"at most {self.max_bytes // 1_000_000} MB")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The limits as plain JSON, as the front end reads them."""
        return {
            "formats": list(self.formats),
            "max_bytes": self.max_bytes,
            "max_megapixels": self.max_megapixels,
            "min_side": self.min_side,
        }


#: The formats every host here takes, when it publishes no other limit.
ANY_IMAGE = ImageLimits()


class InputImage:
    """One input image: the bytes a host will receive (or a URL it will fetch).

    Make one with :meth:`of` from a path, ``bytes``, a Pillow image, a NumPy
    array (H x W x 3 or 4, uint8), a :class:`GeneratedImage` or an http(s) URL.
    ``sha256`` names the bytes; ``note`` says what fluxpanel did to them (turned
    upright by the EXIF orientation, re-encoded to fit the host), if anything.
    """

    __slots__ = ("data", "format", "height", "name", "note", "path", "sha256", "url", "width")

    def __init__(
        self,
        data: bytes = b"",
        format: str = "",
        width: int = 0,
        height: int = 0,
        *,
        url: str | None = None,
        name: str = "",
        path: str | None = None,
        note: str = "",
        sha256: str | None = None,
    ) -> None:
        self.data = data
        self.format = format
        self.width = width
        self.height = height
        self.url = url
        self.name = name
        self.path = path
        self.note = note
        #: The bytes' sha256 (given when already computed from these very bytes).
        self.sha256 = (sha256 or hashlib.sha256(data).hexdigest()) if url is None else ""

    # -- reading -------------------------------------------------------------------

    @classmethod
    def of(cls, value: Any, field: str = "image") -> InputImage:
        """Read ``value`` as an image, checking it is one (bombs and
        non-images refused with a :class:`ValidationError` naming ``field``)."""
        if isinstance(value, InputImage):
            return value
        if isinstance(value, Mapping):
            return from_record(value, field)
        if isinstance(value, str) and value.lower().startswith(("http://", "https://")):
            return _from_url(value, field)
        if isinstance(value, (str, os.PathLike)):
            return _from_path(Path(value), field)
        if isinstance(value, (bytes, bytearray, memoryview)):
            return _from_bytes(bytes(value), field, name="bytes")
        data = getattr(value, "data", None)
        if isinstance(data, bytes) and hasattr(value, "mime"):  # a GeneratedImage
            return _from_bytes(data, field, name=f"image {getattr(value, 'index', 0) + 1}")
        if _is_pillow(value):
            return _from_pillow(value, field, "Pillow image")
        if hasattr(value, "__array_interface__"):
            return _from_array(value, field)
        raise ValidationError(
            f"{field} cannot be read from a {type(value).__name__}; give a path, bytes, a "
            "Pillow image, a NumPy array, a GeneratedImage or an http(s) URL",
            field=field,
            value=type(value).__name__,
        )

    # -- forms the hosts take ----------------------------------------------------------

    @property
    def mime(self) -> str:
        """The media type of the bytes (``image/png``)."""
        return _MIME.get(self.format, "application/octet-stream")

    @property
    def extension(self) -> str:
        """The file extension of the format (``.png``, ``.jpg``, ...)."""
        return _EXT.get(self.format, ".bin")

    @property
    def size(self) -> int:
        """The number of bytes sent."""
        return len(self.data)

    def base64(self) -> str:
        """The bytes in base64, with no prefix (Black Forest Labs)."""
        return base64.b64encode(self.data).decode("ascii")

    def data_uri(self) -> str:
        """The bytes as a ``data:`` URI (Replicate and fal, for small files)."""
        return f"data:{self.mime};base64,{self.base64()}"

    @property
    def filename(self) -> str:
        """A name for the bytes, by content: ``<sha256 prefix>.<ext>``."""
        return self.sha256[:16] + self.extension

    # -- identity ------------------------------------------------------------------------

    @property
    def key(self) -> str:
        """What tells inputs apart: the sha256 of the bytes, or the URL."""
        return self.url if self.url is not None else "sha256:" + self.sha256

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, InputImage):
            return NotImplemented
        return self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        if self.url is not None:
            return f"InputImage(url={public_url(self.url)!r})"
        return (
            f"InputImage(sha256={self.sha256[:12]}..., {self.width}x{self.height} "
            f"{self.format}, {self.size} bytes)"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (self.data, self.url, self.name, self.path, self.note))

    def to_json(self) -> dict[str, Any]:
        """The input in requests' JSON (exports, metadata, caches): its digest
        and shape, never its bytes; a URL without the credentials a signed
        one carries in its query."""
        if self.url is not None:
            return {"url": public_url(self.url)}
        return {
            "sha256": self.sha256,
            "format": self.format,
            "width": self.width,
            "height": self.height,
            "bytes": self.size,
        }

    # -- files ---------------------------------------------------------------------------

    def file(self, folder: str | os.PathLike[str] | None = None) -> str:
        """A file that holds exactly these bytes: the one they were read from
        if it still does, else one written once by content in ``folder``
        (``fluxpanel-inputs`` in the working directory). Returns its path."""
        if self.url is not None:
            return public_url(self.url)
        # Named only once the bytes there are checked (remembered while the
        # file is unchanged): a file planted by name and size is not them.
        if self.path is not None and holds(self.path, self.sha256, own=False):
            return self.path
        target = Path(folder if folder is not None else INPUTS_FOLDER) / self.filename
        if not holds(target, self.sha256):
            target.parent.mkdir(parents=True, exist_ok=True)
            write_file(target, self.data, overwrite=True)
            holds(target, self.sha256)  # remembered by its new stamp
        return str(target)

    def file_later(self) -> tuple[str, Callable[[], str] | None]:
        """What :meth:`file` returns, without the wait: the path (known by
        content) and, when the file is not there yet, the work that writes it
        (for a worker thread; it raises what :meth:`file` raises). The
        folder is resolved now, so the work writes where the path points even
        if the working directory has changed by then."""
        if self.url is not None or self.path is not None:
            return self.file(), None
        target = Path(INPUTS_FOLDER) / self.filename
        if holds(target, self.sha256):
            return str(target), None
        return str(target), functools.partial(self.file, Path(INPUTS_FOLDER).absolute())

    # -- the host's limits ----------------------------------------------------------------

    def fitted(self, spec: ParamSpec, model: str) -> InputImage:
        """These bytes, or new ones, that the host described by ``spec`` takes:
        re-encoded only when its limits require it (``note`` says so).
        :class:`ValidationError` when no faithful fit exists. A fit is made
        once per content and limits (a panel checks its settings often)."""
        key = (self.key, spec.limits, spec.urls)
        done = _FITTED.get(key)
        if done is None:
            done = self._fit(spec, model)
            if done is self:
                return self  # as given: nothing to remember
            with _FITTING:  # fits are made on worker threads too
                while len(_FITTED) >= 32:
                    _FITTED.pop(next(iter(_FITTED)))
                _FITTED[key] = done
        return done

    def _fit(self, spec: ParamSpec, model: str) -> InputImage:
        limits = spec.limits or ANY_IMAGE
        if self.url is not None:
            if not spec.urls:
                raise _invalid(
                    spec,
                    model,
                    self.url,
                    f"{spec.name} at this host takes image bytes, not a URL; "
                    "download the image and pass the file",
                )
            return self
        if limits.min_side and min(self.width, self.height) < limits.min_side:
            raise _invalid(
                spec,
                model,
                f"{self.width}x{self.height}",
                f"{spec.name} is {self.width}x{self.height} pixels, smaller than "
                f"{limits.min_side} px a side",
            )
        image = self
        if image.format not in limits.formats:
            image = image._reencoded(limits, f"re-encoded from {self.format.upper()}")
        if limits.max_megapixels and image.width * image.height > limits.max_megapixels * 1e6:
            image = image._reencoded(
                limits,
                f"scaled down to {_num(limits.max_megapixels)} megapixels",
                limits.max_megapixels,
            )
        if limits.max_bytes and image.size > limits.max_bytes:
            image = image._reencoded(limits, "re-encoded to fit the host's size limit", jpeg=True)
            if image.size > limits.max_bytes:
                raise _invalid(
                    spec,
                    model,
                    f"{self.size} bytes",
                    f"{spec.name} is {self.size} bytes, more than {limits.max_bytes} even "
                    "re-encoded",
                )
        return image

    def _reencoded(
        self, limits: ImageLimits, why: str, megapixels: float | None = None, jpeg: bool = False
    ) -> InputImage:
        from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

        with Image.open(io.BytesIO(self.data)) as img:
            img.load()
            work: Any = img
            if megapixels:
                scale = (megapixels * 1e6 / (img.width * img.height)) ** 0.5
                size = (max(1, int(img.width * scale)), max(1, int(img.height * scale)))
                # Halved by box steps first, then Lanczos: as sharp, and a 9400 px
                # side is not filtered whole at full resolution.
                work = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
            alpha = "A" in work.getbands() or "transparency" in work.info
            if jpeg and not alpha and "jpeg" in limits.formats:
                fmt = "jpeg"
            elif self.format in limits.formats and self.format != "gif":
                fmt = self.format
            else:
                fmt = "png" if "png" in limits.formats else limits.formats[0]
            out = _encode(work, fmt)
        note = f"{why} as {fmt.upper()} ({self.width}x{self.height} -> {out.width}x{out.height})"
        if not megapixels:
            note = f"{why} as {fmt.upper()}"
        out.name, out.note = self.name, "; ".join(n for n in (self.note, note) if n)
        return out


#: Re-encodings already made, by (input, limits, URLs taken): a few, newest last.
_FITTED: dict[tuple[Any, ...], InputImage] = {}
_FITTING = threading.Lock()


def _restore(data: bytes, url: str | None, name: str, path: str | None, note: str) -> InputImage:
    if url is not None:
        return InputImage(url=url, name=name)
    image = _from_bytes(data, "image", name=name)
    image.path, image.note = path, note
    return image


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _invalid(spec: ParamSpec, model: str, value: Any, message: str) -> ValidationError:
    return spec.invalid(model, value, f"{message} (for {model})")


def _is_pillow(value: Any) -> bool:
    module = type(value).__module__ or ""
    return module.startswith("PIL.") and hasattr(value, "save")


def _refuse(field: str, why: str, value: Any = None) -> ValidationError:
    return ValidationError(f"{field}: {why}", field=field, value=value)


def _from_path(path: Path, field: str) -> InputImage:
    try:
        data = read_file(path, limit=MAX_INPUT_BYTES)
    except FileReadError as e:
        raise _refuse(field, str(e), str(path)) from None
    except ValueError:  # a NUL in the name
        raise _refuse(field, f"{str(path)[:80]!r} is not a file name", str(path)[:80]) from None
    image = _from_bytes(data, field, name=path.name)
    if not image.note:
        image.path = str(path)
    return image


def _from_url(url: str, field: str) -> InputImage:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    # A host fetches it: https, or http to a machine of its own (a local API).
    local = scheme == "http" and not is_public_host(parts.hostname or "")
    if scheme != "https" and not local:
        shown = public_url(url)[:80]
        raise _refuse(field, f"{shown!r} is not an https URL (only https images are sent)", shown)
    if not parts.hostname:
        raise _refuse(field, f"{url[:80]!r} is not a URL with a host", url[:80])
    if parts.username or parts.password:
        raise _refuse(field, "an image URL must not carry credentials (user:password@)")
    return InputImage(url=url, name=Path(parts.path).name or parts.hostname)


def _from_bytes(
    data: bytes, field: str, *, name: str, mpo: bool = True, sha256: str | None = None
) -> InputImage:
    """Check ``data`` is an image of sane size; turn it upright by its EXIF
    orientation (re-encoding only then). ``sha256`` is the digest of
    ``data``, when it was computed as the bytes came."""
    from PIL import Image, ImageOps  # noqa: PLC0415 - Pillow loads when an image is read

    if not data:
        raise _refuse(field, f"{name} is empty")
    if len(data) > MAX_INPUT_BYTES:
        raise _refuse(field, f"{name} is {len(data)} bytes, more than fluxpanel reads")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format == "MPO" and mpo:  # a phone's photo: a JPEG, then more
                    return _first_of_mpo(img, data, field, name)
                fmt = "jpeg" if img.format == "MPO" else _FORMATS.get(img.format or "")
                w, h = img.size
                if fmt is None:
                    raise _refuse(
                        field,
                        f"{name} is {img.format or 'an unknown format'}; "
                        "use PNG, JPEG, WebP or GIF",
                    )
                if w * h > MAX_INPUT_PIXELS:
                    raise _refuse(
                        field,
                        f"{name} claims {w}x{h} pixels, more than fluxpanel decodes "
                        f"({MAX_INPUT_PIXELS // 1_000_000} megapixels): a decompression bomb?",
                        f"{w}x{h}",
                    )
                # JPEG and WebP carry EXIF before the pixels; a PNG's may come
                # after them, and reading it there would decode the image.
                tagged = fmt in ("jpeg", "webp") or "exif" in img.info
                orientation = img.getexif().get(0x0112, 1) if tagged else 1
                if orientation not in (None, 1) and fmt in ("jpeg", "webp", "png"):
                    img.load()
                    upright = ImageOps.exif_transpose(img)
                    out = _encode(upright, fmt)
                    out.name = name
                    out.note = f"turned upright by its EXIF orientation ({orientation})"
                    return out
            _check_whole(data, fmt, field, name)
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _refuse(
            field, f"{name} is too large to decode safely (a decompression bomb?)"
        ) from None
    except Exception as e:  # Pillow raises many kinds for data that is not an image
        raise _refuse(
            field, f"{name} is not an image fluxpanel can read ({type(e).__name__})"
        ) from None
    return InputImage(data, fmt, w, h, name=name, sha256=sha256)


def _check_whole(data: bytes, fmt: str, field: str, name: str) -> None:
    """Whole and well formed, without decoding every pixel: PNG chunks are
    checked against their CRCs, a JPEG must end where JPEGs end."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

    with Image.open(io.BytesIO(data)) as again:
        again.verify()
    if fmt == "jpeg" and not data.rstrip(b"\x00").endswith(b"\xff\xd9"):
        raise _refuse(field, f"{name} is a truncated JPEG")


def from_upload(data: bytes, field: str, name: str, sha256: str | None) -> InputImage:
    """A file that came from the view, checked as :meth:`InputImage.of`
    checks bytes; ``sha256`` is the digest computed from them as they came."""
    return _from_bytes(data, field, name=name, sha256=sha256)


def _first_of_mpo(img: Any, data: bytes, field: str, name: str) -> InputImage:
    """An MPO file read as the JPEG it starts with: its first picture, byte
    for byte (the size the file's MP index gives), else re-encoded."""
    entries = (getattr(img, "mpinfo", None) or {}).get(0xB002) or []
    size = entries[0].get("Size") if entries and isinstance(entries[0], dict) else None
    if isinstance(size, int) and 0 < size < len(data):
        image = _from_bytes(_without_mp_index(data[:size]), field, name=name, mpo=False)
    else:
        img.seek(0)
        image = _encode(img.convert("RGB"), "jpeg")
        image.name = name
    note = "read as a JPEG: the first picture of an MPO file"
    image.note = "; ".join(n for n in (note, image.note) if n)
    return image


def _without_mp_index(jpeg: bytes) -> bytes:
    """``jpeg`` without its MP index (the APP2 ``MPF`` segment that makes a
    JPEG an MPO): a plain JPEG, every other byte as it was."""
    at = 2  # after the start-of-image marker
    while at + 4 <= len(jpeg) and jpeg[at] == 0xFF and jpeg[at + 1] not in (0xDA, 0xD9):
        length = int.from_bytes(jpeg[at + 2 : at + 4], "big")
        if jpeg[at + 1] == 0xE2 and jpeg[at + 4 : at + 8] == b"MPF\x00":
            return jpeg[:at] + jpeg[at + 2 + length :]
        at += 2 + length
    return jpeg


def _check_size(field: str, name: str, width: int, height: int) -> None:
    if width < 1 or height < 1:
        raise _refuse(field, f"the {name} is {width}x{height}: an empty image", f"{width}x{height}")
    if width * height > MAX_INPUT_PIXELS:
        raise _refuse(field, f"the {name} is {width}x{height}, too large", f"{width}x{height}")


def _from_pillow(img: Any, field: str, name: str) -> InputImage:
    _check_size(field, name, img.width, img.height)
    fmt = _FORMATS.get(getattr(img, "format", None) or "", "png")
    if fmt == "gif":
        fmt = "png"
    if img.mode not in ("RGB", "RGBA", "L", "LA") or (fmt == "jpeg" and img.mode != "RGB"):
        img = img.convert("RGBA" if "A" in img.getbands() else "RGB")
        fmt = "png" if img.mode == "RGBA" else fmt
    out = _encode(img, fmt)
    out.name = name
    return out


def _from_array(array: Any, field: str) -> InputImage:
    from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

    shape = tuple(getattr(array, "shape", ()))
    dtype = str(getattr(array, "dtype", ""))
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] not in (3, 4)) or dtype != "uint8":
        raise _refuse(
            field,
            f"a NumPy array must be H x W, H x W x 3 or H x W x 4 of uint8; got {shape} {dtype}",
            f"{shape} {dtype}",
        )
    # Its size is checked before anything is copied (a broadcast array may
    # claim billions of pixels in a few bytes).
    _check_size(field, "array", shape[1], shape[0])
    return _from_pillow(Image.fromarray(array), field, "array")


def _encode(img: Any, fmt: str) -> InputImage:
    """Encode a Pillow image losslessly where the format allows (PNG, lossless
    WebP), else as JPEG at quality 95."""
    buf = io.BytesIO()
    if fmt == "jpeg":
        img = img.convert("RGB") if img.mode != "RGB" else img
        img.save(buf, "JPEG", quality=95)
    elif fmt == "webp":
        img.save(buf, "WEBP", lossless=True)
    else:
        fmt = "png"
        if img.mode not in ("RGB", "RGBA", "L", "LA", "P", "1", "I;16"):
            img = img.convert("RGBA")
        img.save(buf, "PNG")
    return InputImage(buf.getvalue(), fmt, img.width, img.height)


def from_record(
    record: Mapping[str, Any], field: str, folders: Iterable[str | os.PathLike[str]] = ()
) -> InputImage:
    """An input named by its record (``{"sha256": ...}`` as requests' JSON
    holds it, or ``{"url": ...}``), found by content in ``folders`` and in
    ``fluxpanel-inputs``; every candidate's bytes are checked against the
    digest, and none is a link or anything but a file fluxpanel wrote."""
    url = record.get("url")
    if isinstance(url, str):
        return _from_url(url, field)
    digest = record.get("sha256")
    if not isinstance(digest, str) or len(digest) != 64 or not digest.isalnum():
        raise _refuse(field, "an input record needs a sha256 or a url", dict(record))
    for folder in [*map(Path, folders), Path(INPUTS_FOLDER)]:
        for candidate in sorted(folder.glob(digest[:16] + ".*")):
            try:
                data = read_file(candidate, limit=MAX_INPUT_BYTES, own=True)
            except FileReadError:
                continue  # not a file fluxpanel wrote: never read as the input
            if hashlib.sha256(data).hexdigest() == digest:
                image = _from_bytes(data, field, name=candidate.name)
                image.path = str(candidate)
                return image
    raise _refuse(
        field,
        f"the input with sha256 {digest[:16]}... is not in {INPUTS_FOLDER}/ (or beside the "
        "export); pass the image itself",
        digest,
    )
