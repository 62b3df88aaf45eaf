"""The FLUX 3 family at ``FakeBFL``: FLUX 3 Image, FLUX 3 Image Klein and
FLUX 3.1 Image, as Black Forest Labs' reference and guides (and, where they
are silent, the pages named beside each) have them; see
:mod:`fluxpanel.tables.bfl` for the sources."""

from __future__ import annotations

import json
import re
from typing import Any

from ._schema import FLUX3_RATIOS, Field, decode_image, image_size, images_field

#: How images may come to Black Forest Labs: base64 or an http(s) address.
B64_URL = ("base64", "url")

# FLUX 3 Image ("Generate an image with FLUX 3", openapi/flux-3-image.json):
# only these fields, any other is a 422; images one string or 1 to 10, each
# 256 x 256 to 16 megapixels with at most 20 MB of base64.
FLUX3_SCHEMAS: dict[str, dict[str, Field]] = {}
FLUX3_SCHEMAS["/v1/flux-3-image"] = {
    "prompt": Field("string", required=True),
    "images": images_field(
        B64_URL, 10, single=True, max_bytes=15_000_000, max_megapixels=16, min_side=256
    ),
    "aspect_ratio": Field("string", enum=FLUX3_RATIOS),
    "resolution": Field("string", enum=("768sq", "1k", "1.5k", "2k", "4k")),
    "grounding": Field("boolean"),
    "safety_tolerance": Field("integer", 0, 4),
    "version": Field("string"),
}
# FLUX 3 Image Klein: the same fields, as a reseller documents it (see
# fluxpanel.tables.bfl); its path by the pattern of FLUX 3 Image's.
FLUX3_SCHEMAS["/v1/flux-3-image-klein"] = dict(FLUX3_SCHEMAS["/v1/flux-3-image"])
# FLUX 3.1 Image, as Black Forest Labs' guides (boxes, mask) and docs.comfy.org's
# generated page for bfl/flux-3.1-image (the rest) have it (see
# fluxpanel.tables.bfl): at most nine images with a mask, the mask of the first
# image's shape, 1 to 32 bounding boxes in fractions, an exact size up to 16
# megapixels and 8:1; no seed, no steps.
FLUX3_SCHEMAS["/v1/flux-3.1-image"] = {
    "prompt": Field("string", required=True),
    "mode": Field("string", enum=("fast", "quality")),
    "images": images_field(
        B64_URL, 10, single=True, max_bytes=15_000_000, max_megapixels=16, min_side=256
    ),
    "mask": Field("image", forms=B64_URL, max_bytes=15_000_000),
    "bounding_boxes": Field("list"),
    "aspect_ratio": Field("string", enum=("auto", "match_first_image", *FLUX3_RATIOS[1:])),
    "resolution": Field("string", enum=("1MP", "1k", "2k", "4k", "match_first_image")),
    "width": Field("integer", 1),
    "height": Field("integer", 1),
    "grounding": Field("string", enum=("off", "auto", "force")),
}
#: FLUX 3 passes "Reasoning" and "Generating" before "Ready".
WAITING = {
    m: ("Pending", "Reasoning", "Generating")
    for m in ("flux-3-image", "flux-3-image-klein", "flux-3.1-image")
}
#: The box FLUX 3 adds itself when it expands a prompt (the guide: "for many
#: edits it also finds the element you named and adds a box for it").
ADDED_BOX = {"id": "light_1", "bbox": [0, 0, 180, 1000], "desc": "soft daylight from above"}


def expand(prompt: str, added: dict[str, Any] | None) -> str:
    """The prompt as FLUX 3 sends it back: the description and its rows, with
    ``added`` as one more row (the guide's form: a JSON list after the text)."""

    text, rows = prompt, []
    cut = prompt.find(' [{"')
    if cut != -1 and prompt.rstrip().endswith("]"):
        try:
            rows = json.loads(prompt[cut + 1 :])
            text = prompt[:cut]
        except ValueError:
            rows = []
    if added is None:
        return prompt
    text += f" <{added['id']}>"
    return f"{text} {json.dumps([*rows, added])}"


def flux31_problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    """FLUX 3.1 Image's rules across fields: nine images with a mask, the
    mask the shape of the first, width and height together within 16
    megapixels and 8:1, and its boxes."""
    problems: list[tuple[str, str]] = []
    images = data.get("images") or []
    images = [images] if isinstance(images, str) else images
    if "mask" in data:
        if not images:
            problems.append(("mask", "a mask needs images (it covers the first)"))
        elif len(images) > 9:
            problems.append(("images", "at most 9 images with a mask"))
        else:
            mask = decode_image(data["mask"], B64_URL, None)
            first = decode_image(images[0], B64_URL, None)
            if mask is not None and first is not None:
                (mw, mh), (iw, ih) = image_size(mask), image_size(first)
                if abs(mw * ih - iw * mh) > 0.01 * iw * mh:
                    problems.append(("mask", "must have the aspect ratio of the first image"))
    w, h = data.get("width"), data.get("height")
    if (w is None) != (h is None):
        problems.append(("width", "width and height are set together"))
    elif isinstance(w, int) and isinstance(h, int):
        if w * h > 4096 * 4096 or max(w / h, h / w) > 8:
            problems += [
                (side, "width x height: at most 16 MP and 8:1") for side in ("width", "height")
            ]
    boxes = data.get("bounding_boxes")
    if boxes is not None:
        problems += _boxes_problems(boxes, len(images))
    return problems


#: A box's id, as the guide allows: letters, digits and ``_``, from a letter.
_BOX_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _boxes_problems(boxes: Any, images: int) -> list[tuple[str, str]]:
    """FLUX 3.1's ``bounding_boxes``: 1 to 32 rows, their ids unique."""
    if not isinstance(boxes, list) or not 1 <= len(boxes) <= 32:
        return [("bounding_boxes", "1 to 32 boxes")]
    ids = [row.get("id") for row in boxes if isinstance(row, dict)]
    if len(set(map(str, ids))) != len(ids):
        return [("bounding_boxes", "each id once")]
    return [("bounding_boxes", m) for row in boxes for m in _box_problems(row, images)]


def _box_problems(row: Any, images: int) -> list[str]:
    """One row of FLUX 3.1's ``bounding_boxes``: its ``id``, then ``bbox`` on a
    new image, or with images ``from`` and ``tgt_bbox``, and ``src_bbox`` in
    ``ref_image_N`` for a move (never with ``from: target``)."""
    if not isinstance(row, dict):
        return ["each box must be an object"]
    unknown = set(row) - {"id", "desc", "from", "bbox", "src_bbox", "tgt_bbox"}
    if unknown:
        return [f"unknown field {sorted(unknown)[0]}"]
    if not isinstance(row.get("id"), str) or not _BOX_ID.fullmatch(row["id"]):
        return ["id: letters, digits and _, starting with a letter"]
    if not images:
        if set(row) & {"from", "src_bbox", "tgt_bbox"}:
            return ["from, src_bbox and tgt_bbox need images; a new image takes bbox"]
        places: tuple[str, ...] = ("bbox",)
    elif "bbox" in row:
        return ["with images, use from and tgt_bbox instead of bbox"]
    elif row.get("from") == "target":
        if "src_bbox" in row:
            return ["src_bbox with from=target"]
        places = ("tgt_bbox",)
    else:
        where = row.get("from")
        n = where[10:] if isinstance(where, str) and where.startswith("ref_image_") else ""
        if not n.isdigit() or int(n) >= images:
            return [f"from={where!r} names no image"]
        places = ("src_bbox", "tgt_bbox")
    problems = []
    for key in places:
        box = row.get(key)
        if not (isinstance(box, list) and len(box) == 4):
            problems.append(f"{key} must be [y_min, x_min, y_max, x_max]")
        elif not all(isinstance(v, (int, float)) and 0 <= v <= 1 for v in box):
            problems.append(f"{key} must be fractions from 0 to 1")
        elif box[0] >= box[2] or box[1] >= box[3]:
            problems.append(f"{key} must have y_min < y_max and x_min < x_max")
    return problems
