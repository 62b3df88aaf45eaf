"""Bounding boxes for FLUX 3 Image: where each element of a picture goes.

FLUX 3 Image takes no box field: boxes are written into the prompt. Black
Forest Labs' guide ("Bounding boxes", docs.bfl.ai/flux_3/flux3_image_bounding_boxes)
describes the form: a paragraph about the whole image that names each element
by an id in angle brackets (``<logo_1>``: lowercase, with a number), then a
JSON list with one row per id, ``{"id": "logo_1", "bbox": [top, left, bottom,
right], "desc": "..."}``. "Every box is [top, left, bottom, right] in integers
from 0 to 1000, measured from the top-left corner. [0, 0, 500, 500] is the
top-left quarter of the image, whatever its size or aspect ratio." The model
sends back the prompt as it expanded it (``result.prompt``), with the boxes it
added itself; :func:`parse_prompt` reads them.

FLUX 3.1 Image takes them as a field of its own, ``bounding_boxes`` (Black
Forest Labs' guide, docs.bfl.ai/flux_3_1/flux31_image_bounding_boxes): "1 to
32 entries", each with "a unique ``id`` (letters, digits, and ``_``,
starting with a letter), ``[y_min, x_min, y_max, x_max]`` coordinates from 0
to 1, and an optional ``desc``", cited in the prompt as ``<id>``. "When
``images`` is set, use ``from``, ``src_bbox``, and ``tgt_bbox`` instead of
``bbox``. ``src_bbox`` uses the input image (``ref_image_0`` for
``images[0]``...) and ``tgt_bbox`` uses the output frame. Omit ``src_bbox``
when ``from`` is ``"target"``, since sending both returns HTTP 422."
:func:`structured` writes that form from the same boxes.

fluxpanel keeps boxes as data (:class:`Box`, on the 0-1000 grid whichever
form the host reads) everywhere a request goes (its identity, snippets,
image metadata, history, exports) and writes them in the host's form only
on the way to it.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ._errors import ValidationError

#: The grid the host reads: 0 to 1000 on each axis, whatever the image's size.
GRID = 1000
#: The most of a prompt's end searched for its list of rows (characters).
MAX_ROWS_TEXT = 100_000
#: An element id as the guide writes them: lowercase, then ``_`` and a number
#: (matched whole: a trailing line break is not part of a name).
NAME = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*_[0-9]+")
#: Most boxes read where a row gives no count (the work to check them is
#: linear; the composed prompt's length is the host's real bound).
MAX_BOXES = 64
#: The longest name and description of one box (a whole prompt's worth).
MAX_NAME = 64
MAX_DESC = 4000
#: The most reference images a move can come from (``image`` 1 to 10).
MAX_IMAGE = 10


@dataclass(frozen=True)
class Box:
    """One element of a FLUX 3 layout: its ``name`` (an id such as
    ``logo_1``, cited in the prompt as ``<logo_1>``), its place as ``top``,
    ``left``, ``bottom`` and ``right`` on the host's 0-1000 grid (measured from
    the top-left corner, whatever the image's size) and a ``desc`` of what
    goes there.

    ``Box("logo_1", 50, 100, 300, 400, "a red fox logo")`` is the element
    ``logo_1`` from 5% to 30% of the height and 10% to 40% of the width.
    Out-of-range or inverted coordinates raise :class:`ValidationError`.

    A box with a ``source`` moves an object (FLUX 3.1 Image): ``source`` is
    where it is now, ``(top, left, bottom, right)`` on reference ``image``
    (1 for the first), and the box is where it goes.
    """

    name: str
    top: int
    left: int
    bottom: int
    right: int
    desc: str = ""
    source: tuple[int, int, int, int] | None = None
    image: int = 1

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise ValidationError(
                f"boxes: {problem}; allowed: {ALLOWED}",
                field="boxes",
                value=self.to_json() if not problem.startswith("name") else self.name,
                allowed=ALLOWED,
            )

    @property
    def bbox(self) -> list[int]:
        """``[top, left, bottom, right]``, as the host reads it."""
        return [self.top, self.left, self.bottom, self.right]

    @property
    def moves(self) -> bool:
        """Whether the box moves an object from a reference."""
        return self.source is not None

    def to_json(self) -> dict[str, Any]:
        """The row FLUX 3 reads, ``{"id", "bbox", "desc"}``; a move adds
        where the object is now, ``src_bbox``, and the reference it is in,
        ``from`` (``ref_image_0`` for image 1)."""
        row: dict[str, Any] = {"id": self.name, "bbox": self.bbox, "desc": self.desc}
        if self.source is not None:
            row["src_bbox"] = list(self.source)
            row["from"] = f"ref_image_{self.image - 1}"
        return row

    @classmethod
    def from_json(cls, row: Mapping[str, Any]) -> Box:
        """A box from its row (``{"id", "bbox", "desc"}``) or from its fields
        by name (``{"name", "top", "left", "bottom", "right", "desc"}``)."""
        if "bbox" in row:
            bbox = _four(row, "bbox")
            return cls(
                str(row.get("id", "")), *bbox, desc=str(row.get("desc") or ""), **_move_of(row)
            )
        try:
            return cls(
                row["name"],
                row["top"],
                row["left"],
                row["bottom"],
                row["right"],
                str(row.get("desc") or ""),
                **_move_of(row),
            )
        except KeyError as e:
            raise ValidationError(
                f"boxes: a box needs {e.args[0]!r}; allowed: {ALLOWED}",
                field="boxes",
                value=dict(row),
                allowed=ALLOWED,
            ) from None

    def __repr__(self) -> str:
        move = ""
        if self.source is not None:
            move = f", source={self.source!r}" + (
                f", image={self.image}" if self.image != 1 else ""
            )
        return (
            f"Box({self.name!r}, {self.top}, {self.left}, {self.bottom}, {self.right}, "
            f"{self.desc!r}{move})"
        )


def _four(row: Mapping[str, Any], key: str) -> Any:
    """``row[key]``, which must be ``[top, left, bottom, right]``."""
    value = row[key]
    if not isinstance(value, (list, tuple)) or len(value) != 4:
        raise ValidationError(
            f"boxes: {key}={value!r} is not [top, left, bottom, right]; allowed: {ALLOWED}",
            field="boxes",
            value=value,
            allowed=ALLOWED,
        )
    return value


def _move_of(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row's move, if it has one: ``src_bbox`` and ``from`` (``ref_image_N``)
    as the host writes them, or ``source`` and ``image`` by name."""
    if row.get("src_bbox", row.get("source")) is None:
        return {}
    source = _four(row, "src_bbox" if "src_bbox" in row else "source")
    image: Any = row.get("image", 1)
    where = row.get("from")
    if isinstance(where, str) and where.startswith("ref_image_") and where[10:].isdigit():
        image = int(where[10:]) + 1
    return {"source": tuple(source), "image": image}


ALLOWED = (
    "a list of Box(name, top, left, bottom, right, desc): a name like logo_1 (lowercase, "
    f"ending in _ and a number, each name once), and integers from 0 to {GRID} with top < "
    "bottom and left < right; a move (FLUX 3.1 Image) adds source=(top, left, bottom, right) "
    f"on reference image=1 to {MAX_IMAGE}"
)


def _problem(box: Box) -> str:
    if not isinstance(box.name, str) or len(box.name) > MAX_NAME or not NAME.fullmatch(box.name):
        return f"name {box.name[:MAX_NAME]!r} is not an id like logo_1"
    for side in ("top", "left", "bottom", "right"):
        v = getattr(box, side)
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= GRID:
            return f"{box.name}.{side}={v!r} is not an integer from 0 to {GRID}"
    if box.top >= box.bottom or box.left >= box.right:
        return (
            f"{box.name} has top {box.top}, bottom {box.bottom}, left {box.left}, right {box.right}"
        )
    if box.source is not None:
        src = box.source
        if len(src) != 4 or not all(not isinstance(v, bool) and isinstance(v, int) for v in src):
            return f"{box.name}.source={src!r} is not four integers (top, left, bottom, right)"
        if not all(0 <= v <= GRID for v in src) or src[0] >= src[2] or src[1] >= src[3]:
            return f"{box.name}.source={src!r} is not 0 to {GRID}, top < bottom, left < right"
        image = box.image
        if isinstance(image, bool) or not isinstance(image, int) or not 1 <= image <= MAX_IMAGE:
            return f"{box.name}.image={image!r} is not a reference from 1 to {MAX_IMAGE}"
    if not isinstance(box.desc, str):
        return f"{box.name}.desc is not a string"
    if len(box.desc) > MAX_DESC:
        return f"{box.name}.desc has {len(box.desc)} characters, at most {MAX_DESC}"
    return ""


def coerce_boxes(value: Any, most: int | None = None) -> tuple[Box, ...]:
    """A request's boxes from what a caller gives: :class:`Box` values, rows
    as the host reads them or dictionaries of fields (the JSON the panel and
    saved requests carry). Names must be distinct."""
    if isinstance(value, (Box, Mapping)):
        value = [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ValidationError(
            f"boxes={value!r} is not a list of boxes; allowed: {ALLOWED}",
            field="boxes",
            value=value,
            allowed=ALLOWED,
        )
    cap = most if most is not None else MAX_BOXES
    items = list(itertools.islice(value, cap + 1))
    if len(items) > cap:  # counted before any is read
        raise ValidationError(
            f"boxes: more than {cap} boxes; allowed: {ALLOWED}",
            field="boxes",
            value=len(items),
            allowed=ALLOWED,
        )
    out: list[Box] = []
    for item in items:
        if isinstance(item, Box):
            out.append(item)
        elif isinstance(item, Mapping):
            out.append(Box.from_json(item))
        else:
            raise ValidationError(
                f"boxes: {item!r} is not a Box; allowed: {ALLOWED}",
                field="boxes",
                value=item,
                allowed=ALLOWED,
            )
    seen: set[str] = set()
    for box in out:
        if box.name in seen:
            raise ValidationError(
                f"boxes: the name {box.name} is used twice; allowed: {ALLOWED}",
                field="boxes",
                value=box.name,
                allowed=ALLOWED,
            )
        seen.add(box.name)
    return tuple(out)


def compose_prompt(prompt: str, boxes: Iterable[Box]) -> str:
    """The prompt as the host reads it: the description, with each element's
    ``<id>`` added at its end if the text does not cite it, then the JSON
    list of rows. Without boxes, the prompt as it is (a prompt written by hand
    with its own list is sent as written)."""
    boxes = tuple(boxes)
    if not boxes:
        return prompt
    text = prompt.rstrip()
    for box in boxes:
        if f"<{box.name}>" not in text:
            text += f" <{box.name}>"
    rows = json.dumps([b.to_json() for b in boxes], ensure_ascii=False)
    return f"{text} {rows}"


def fraction(v: int) -> float:
    """A place on the 0-1000 grid as a fraction of the image (250 is 0.25)."""
    return v / GRID


def structured(box: Box, edit: bool) -> dict[str, Any]:
    """A box as FLUX 3.1 Image reads it: its id, its place in fractions and,
    when it has one, what goes there. On a new image the place is ``bbox``;
    on an ``edit`` (images sent) it is ``tgt_bbox`` in the output's frame,
    ``from`` ``target`` for a new object, or ``from`` the reference it is
    moved out of (``ref_image_0`` for image 1) with ``src_bbox`` there."""
    row: dict[str, Any] = {"id": box.name}
    if not edit:
        row["bbox"] = [fraction(v) for v in box.bbox]
    elif box.source is not None:
        row["from"] = f"ref_image_{box.image - 1}"
        row["src_bbox"] = [fraction(v) for v in box.source]
        row["tgt_bbox"] = [fraction(v) for v in box.bbox]
    else:
        row["from"] = "target"
        row["tgt_bbox"] = [fraction(v) for v in box.bbox]
    if box.desc:
        row["desc"] = box.desc
    return row


def parse_prompt(prompt: str) -> tuple[str, tuple[Box, ...]]:
    """``(description, boxes)`` from a prompt that ends with a list of rows,
    such as the expanded prompt FLUX 3 sends back. Rows that are not boxes
    (an edit's removed element has no target box) are skipped; a prompt
    without a list is all description."""
    if not isinstance(prompt, str):
        return "", ()
    text = prompt.rstrip()
    if not text.endswith("]"):
        return prompt, ()
    decoder = json.JSONDecoder()
    # Where a list of rows may start: "[{", in the prompt's tail, a bounded
    # number of them (a host's text is not trusted to be small or tame).
    tail = max(0, len(text) - MAX_ROWS_TEXT)
    starts, at = [], text.find("[{", tail)
    while at != -1 and len(starts) < 64:
        starts.append(at)
        at = text.find("[{", at + 1)
    for start in starts:
        try:
            rows, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            continue
        if end != len(text) or not isinstance(rows, list) or not rows:
            continue
        boxes = []
        for row in rows:
            if not isinstance(row, dict):
                break
            row = dict(row)
            if "bbox" not in row and isinstance(row.get("tgt_bbox"), list):
                row["bbox"] = row["tgt_bbox"]  # an edit row: where the element ends up
            row.pop("src_bbox", None)  # FLUX 3's rows are read as places, not moves
            try:
                boxes.append(Box.from_json(row))
            except (ValidationError, TypeError):
                continue
        else:
            if boxes:
                return text[:start].rstrip(), tuple(boxes)
    return prompt, ()


def boxes_json(boxes: Iterable[Box]) -> list[dict[str, Any]]:
    """Boxes as plain JSON rows (requests, metadata, the panel's trait)."""
    return [b.to_json() for b in boxes]


_REFERENCE = re.compile(r"\b([Ii]mage) ([0-9]+)\b")


def renumber_references(prompt: str, order: list[int], first: int = 1) -> str:
    """``prompt`` with its references ("image 1" ... "image 10", named by
    their place in the order sent) following a new ``order`` of the images:
    ``order[k]`` is the old 0-based place of the image now at ``k``. The
    list's first image is "image ``first``" (2 after Kontext's input image)."""
    moved = {old + first: new + first for new, old in enumerate(order)}

    def follow(m: re.Match[str]) -> str:
        n = int(m.group(2))
        return f"{m.group(1)} {moved.get(n, n)}"

    return _REFERENCE.sub(follow, prompt)
