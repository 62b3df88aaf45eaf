"""Checking a request body against a host's published input schema, for the
fakes. Each fake writes its host's schema with these (from the host's
material, never from the adapters' tables) and answers in its host's words."""

from __future__ import annotations

import base64
import binascii
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

#: Looks up a URL the fake itself handed out (an upload) and returns its bytes.
Resolver = Callable[[str], "bytes | None"]


@dataclass(frozen=True)
class Field:
    """One input field as a schema publishes it."""

    type: str  # "string", "integer", "number", "boolean", "object", "ratio", "image(s)", "loras"
    min: float | None = None
    max: float | None = None
    enum: tuple[Any, ...] | None = None
    required: bool = False
    multiple_of: int | None = None
    nullable: bool = False
    #: Images: the forms a host takes ("base64", "data_uri", "url"), the
    #: smallest side, the most megapixels and bytes, and the field whose image
    #: this one (a mask) must match in size. ``type="images"`` is a list of
    #: ``min`` to ``max`` such images.
    forms: tuple[str, ...] = ()
    min_side: int | None = None
    max_megapixels: float | None = None
    max_bytes: int | None = None
    same_size_as: str | None = None
    #: ``images``: one string is taken as a one-item list.
    single: bool = False
    #: ``loras`` (``max`` of them): the range of an item's scale.
    min_scale: float | None = None
    max_scale: float | None = None
    #: (another field, the most this one may be once that one is given):
    #: Kontext's tolerance is at most 2 with an input image.
    most_with: tuple[str, float] | None = None
    #: A mask the named image's alpha mask may stand for: needed unless that
    #: image has transparent areas (FLUX.1 Fill: "Optional if you provide an
    #: alpha mask").
    alpha_of: str | None = None


#: FLUX 3 Image's aspect ratios as Black Forest Labs' reference lists them
#: (Replicate's and fal's pages list the same).
FLUX3_RATIOS = ("auto", "21:9", "2:1", "16:9", "3:2", "7:5", "4:3", "5:4", "1:1", "4:5", "3:4")
FLUX3_RATIOS += ("5:7", "2:3", "9:16", "1:2", "9:21")


def ratio_field(low: str, high: str, **kw: Any) -> Field:
    """An aspect ratio as free text ``W:H`` between ``low`` and ``high``."""

    def value(r: str) -> float:
        w, h = r.split(":")
        return int(w) / int(h)

    lo, hi = sorted((value(low), value(high)))
    return Field("ratio", lo, hi, enum=(high, low), **kw)


def image_field(forms: tuple[str, ...], **kw: Any) -> Field:
    return Field("image", forms=forms, **kw)


def images_field(forms: tuple[str, ...], most: int, **kw: Any) -> Field:
    return Field("images", 1, most, forms=forms, **kw)


def check(
    schema: Mapping[str, Field],
    data: Any,
    *,
    extra: bool = False,
    resolve: Resolver | None = None,
) -> list[tuple[str, str]]:
    """``(field, problem)`` for each way ``data`` breaks ``schema``; unknown
    fields are problems unless ``extra``. Images are decoded and checked;
    ``resolve`` gives the bytes behind URLs the fake handed out (others are
    taken on trust, as the fake cannot fetch them)."""
    if not isinstance(data, dict):
        return [("body", "must be an object")]
    problems = [
        (name, "is required") for name, f in schema.items() if f.required and name not in data
    ]
    for name, f in schema.items():
        other = data.get(f.alpha_of or "")
        if f.alpha_of and data.get(name) is None and isinstance(other, str):
            try:
                raw = decode_image(other, schema[f.alpha_of].forms, resolve)
            except ValueError:
                continue  # the image's own problem, said under its name
            if raw is not None and not _see_through(raw):
                problems.append((name, f"is required unless {f.alpha_of} has an alpha mask"))
    for name, value in data.items():
        f = schema.get(name)
        if f is None:
            if not extra:
                problems.append((name, "is not a field of this endpoint"))
            continue
        if value is None and f.nullable:
            continue
        if f.type in ("image", "images"):
            problems.extend(_image_problems(name, f, value, data, schema, resolve))
            continue
        problem = _problem(f, value)
        if not problem and f.most_with and data.get(f.most_with[0]) is not None:
            other, most = f.most_with
            if isinstance(value, (int, float)) and value > most:
                problem = f"must be at most {most:g} when {other} is given"
        if problem:
            problems.append((name, problem))
    return problems


def decode_image(value: str, forms: tuple[str, ...], resolve: Resolver | None) -> bytes | None:
    """The bytes of an image given as a host takes them; ``None`` for a URL the
    fake cannot fetch; ``ValueError`` saying what is wrong otherwise."""
    if value.startswith("data:"):
        if "data_uri" not in forms:
            raise ValueError("a data URI is not accepted here")
        head, _, payload = value.partition(",")
        if not head.endswith(";base64"):
            raise ValueError("the data URI is not base64")
        value = payload
    elif value.startswith(("http://", "https://")):
        if "url" not in forms:
            raise ValueError("a URL is not accepted here")
        return resolve(value) if resolve is not None else None
    elif "base64" not in forms:
        raise ValueError("must be a URL" + (" or a data URI" if "data_uri" in forms else ""))
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("is not valid base64") from None


def image_size(data: bytes) -> tuple[int, int]:
    """(width, height) of an image; ``ValueError`` for anything that is not one."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in ("PNG", "JPEG", "WEBP", "GIF"):
                raise ValueError(f"is {img.format}, not jpeg, png, gif or webp")
            img.load()
            return img.size
    except ValueError:
        raise
    except Exception:
        raise ValueError("is not an image") from None


def _see_through(data: bytes) -> bool:
    """Whether some pixel of an image is not wholly opaque."""
    from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.convert("RGBA").getchannel("A").getextrema()[0] < 255
    except Exception:
        return False  # not an image: said where it is checked


def _image_problems(
    name: str,
    f: Field,
    value: Any,
    data: Mapping[str, Any],
    schema: Mapping[str, Field],
    resolve: Resolver | None,
) -> list[tuple[str, str]]:
    if f.type == "images" and f.single and isinstance(value, str):
        value = [value]
    items = value if f.type == "images" else [value]
    if f.type == "images":
        if not isinstance(value, list):
            return [(name, "must be an array")]
        if f.max is not None and len(value) > f.max:
            return [(name, f"must have at most {int(f.max)} items")]
        if f.min is not None and len(value) < f.min:
            return [(name, f"must have at least {int(f.min)} items")]
    for item in items:
        if not isinstance(item, str):
            return [(name, "must be a string")]
        try:
            raw = decode_image(item, f.forms, resolve)
            if raw is None:
                continue
            if f.max_bytes is not None and len(raw) > f.max_bytes:
                raise ValueError(f"is more than {f.max_bytes} bytes")
            w, h = image_size(raw)
            if f.min_side is not None and min(w, h) < f.min_side:
                raise ValueError(f"must be at least {f.min_side}x{f.min_side} pixels")
            if f.max_megapixels is not None and w * h > f.max_megapixels * 1e6:
                raise ValueError(f"must be at most {f.max_megapixels:g} megapixels")
            other = data.get(f.same_size_as or "")
            if f.same_size_as and isinstance(other, str):
                theirs = decode_image(other, schema[f.same_size_as].forms, resolve)
                if theirs is not None and image_size(theirs) != (w, h):
                    raise ValueError(f"must have the same dimensions as {f.same_size_as}")
        except ValueError as e:
            return [(name, str(e))]
    return []


def _problem(f: Field, value: Any) -> str:
    if f.type == "boolean":
        return "" if isinstance(value, bool) else "must be a boolean"
    if f.type == "string":
        if not isinstance(value, str):
            return "must be a string"
    elif f.type == "ratio":  # "W:H" between min and max (21:9 to 9:21)
        w, sep, h = value.partition(":") if isinstance(value, str) else ("", "", "")
        if not (sep and w.isdigit() and h.isdigit() and int(h)):
            return "must be a ratio such as 16:9"
        if not (f.min or 0) <= int(w) / int(h) <= (f.max or float("inf")):
            return f"must be between {f.enum[0]} and {f.enum[1]}" if f.enum else "is out of range"
        return ""
    elif f.type == "object":
        return "" if isinstance(value, dict) else "must be an object"
    elif f.type == "list":
        return "" if isinstance(value, list) else "must be an array"
    elif f.type == "loras":  # [{"path": ..., "scale": ...}], as fal's LoraWeight
        return _loras_problem(f, value)
    elif f.type in ("integer", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a{'n integer' if f.type == 'integer' else ' number'}"
        if f.type == "integer" and not float(value).is_integer():
            return "must be an integer"
        if f.min is not None and value < f.min:
            return f"must be greater than or equal to {f.min:g}"
        if f.max is not None and value > f.max:
            return f"must be less than or equal to {f.max:g}"
        if f.multiple_of and value % f.multiple_of:
            return f"must be a multiple of {f.multiple_of}"
    if f.enum is not None and value not in f.enum:
        return "must be one of " + ", ".join(repr(e) for e in f.enum)
    return ""


def _loras_problem(f: Field, value: Any) -> str:
    if not isinstance(value, list):
        return "must be an array"
    if f.max is not None and len(value) > f.max:
        return f"must have at most {int(f.max)} items"
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            return f"item {i}: path is required and must be a string"
        scale = item.get("scale", 1)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)):
            return f"item {i}: scale must be a number"
        if (f.min_scale is not None and scale < f.min_scale) or (
            f.max_scale is not None and scale > f.max_scale
        ):
            return f"item {i}: scale is out of range"
        if set(item) - {"path", "scale", "force"}:
            return f"item {i}: unknown field"
    return ""
