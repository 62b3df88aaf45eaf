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
