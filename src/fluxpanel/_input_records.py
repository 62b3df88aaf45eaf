"""Input images in a request read back from a file (an export, a dropped
image, a saved history) and written beside one: a restored input is a record
found by its digest, or an https URL, never a path.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._files import holds, write_file
from ._inputs import InputImage, _refuse, from_record

if TYPE_CHECKING:
    from ._spec import ParamSpec


def _is_record(value: Any) -> bool:
    return isinstance(value, Mapping) and ("sha256" in value or "url" in value)


def restore_inputs(
    payload: Mapping[str, Any],
    params: Mapping[str, ParamSpec],
    folders: Iterable[str | os.PathLike[str]] = (),
) -> dict[str, Any]:
    """``payload`` (a request read back from a file, an export, a dropped
    image) with each input record replaced by the image it names. In a
    restored request an input is a record found by its sha256, or an https
    URL: a path is never read (a crafted file must not pick one of the
    reader's files). A list's length is checked before anything is read, and
    each distinct image is read once."""
    folders, found = list(folders), {}

    def one(value: Any, field: str) -> InputImage:
        if isinstance(value, str) and value.lower().startswith("https://"):
            value = {"url": value}
        if not _is_record(value):
            raise _refuse(
                field,
                "in a restored request an input is named by its sha256 (a file fluxpanel "
                "kept) or an https URL; a path is not read",
                str(value)[:80] if isinstance(value, str) else type(value).__name__,
            )
        key = json.dumps(value, sort_keys=True, default=str)[:200]
        if key not in found:
            found[key] = from_record(value, field, folders)
        return found[key]

    out = dict(payload)
    for name, p in params.items():
        value = payload.get(name)
        if value is None or not p.is_image:
            continue
        items = value if isinstance(value, list) else None
        if items is not None and p.max is not None and len(items) > p.max:
            raise _refuse(name, f"{len(items)} images, at most {int(p.max)}", len(items))
        out[name] = (
            [one(v, f"{name}[{i}]") for i, v in enumerate(items)] if items else one(value, name)
        )
    return out


def write_inputs(request: Any, folder: Path) -> dict[str, list[dict[str, Any]]]:
    """Write each input image of ``request`` (bytes, not URLs) into ``folder``
    by content; returns the records for a manifest: file, sha256, size."""
    records: dict[str, list[dict[str, Any]]] = {}
    for name, value in request.inputs.items():
        for image in value if isinstance(value, tuple) else (value,):
            if image.url is not None:
                records.setdefault(name, []).append(image.to_json())
                continue
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / image.filename
            if not holds(target, image.sha256):  # a file planted by name is not it
                write_file(target, image.data, overwrite=True)
            records.setdefault(name, []).append(
                {"file": f"{folder.name}/{image.filename}", **image.to_json()}
            )
    return records


class RecordedImage(InputImage):
    """An input known only by its record (its digest, format, shape and
    size), as the ledger keeps a request: enough to name the request and
    follow its task again, never to send."""

    __slots__ = ("recorded_size",)

    @classmethod
    def of_record(cls, record: Mapping[str, Any], field: str) -> RecordedImage:
        try:
            image = cls(b"", str(record["format"]), int(record["width"]), int(record["height"]))
            image.sha256, image.recorded_size = str(record["sha256"]), int(record["bytes"])
        except (KeyError, TypeError, ValueError):
            raise _refuse(
                field, "an input record needs its sha256, format, size and bytes"
            ) from None
        return image

    @property
    def size(self) -> int:
        return self.recorded_size

    def fitted(self, spec: ParamSpec, model: str) -> InputImage:
        return self  # recorded as it was sent: already fitted


def recorded_inputs(payload: Mapping[str, Any], params: Mapping[str, ParamSpec]) -> dict[str, Any]:
    """``payload`` (a request as the ledger keeps it) with each input record
    as a :class:`RecordedImage` (or its URL): nothing is read."""

    def one(value: Any, field: str) -> InputImage:
        if isinstance(value, Mapping) and "url" in value:
            return from_record(value, field)
        if not isinstance(value, Mapping):
            raise _refuse(field, "an input in the ledger is a record", type(value).__name__)
        return RecordedImage.of_record(value, field)

    out = dict(payload)
    for name, p in params.items():
        value = payload.get(name)
        if value is None or not p.is_image:
            continue
        if isinstance(value, list):
            out[name] = [one(v, f"{name}[{i}]") for i, v in enumerate(value[: int(p.max or 1)])]
        else:
            out[name] = one(value, name)
    return out
