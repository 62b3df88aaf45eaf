"""Export with provenance: a folder of images and a manifest, and reading it back."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import FluxError
from ._files import write_file
from ._inputs import write_inputs
from ._version import __version__

if TYPE_CHECKING:
    from ._results import GeneratedImage, Generation


def batch_record(gen: Generation) -> dict[str, Any]:
    """How many images were asked for and withheld, and the prompt as the host
    expanded it, as history, exports and the cache store them."""
    return {
        "requested": gen.requested,
        "withheld": gen.withheld,
        "withheld_by": gen.withheld_by,
        "expanded_prompt": gen.expanded_prompt,
    }


def batch_fields(record: Any) -> dict[str, Any]:
    """:func:`batch_record` read back, checked (a missing or odd field is none)."""

    def count(value: Any) -> int:
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 10_000
        return value if ok else 0

    by = record.get("withheld_by") if isinstance(record, dict) else ""
    expanded = record.get("expanded_prompt") if isinstance(record, dict) else ""
    return {
        "requested": count(record.get("requested")) if isinstance(record, dict) else 0,
        "withheld": count(record.get("withheld")) if isinstance(record, dict) else 0,
        "withheld_by": by[:200] if isinstance(by, str) else "",
        "expanded_prompt": expanded[:100_000] if isinstance(expanded, str) else "",
    }


MANIFEST = "manifest.json"
FORMAT = "fluxpanel-export/1"


class ExportExistsError(FluxError):
    """The folder already holds an export; nothing was overwritten."""


def save(gen: Generation, folder: str | Path) -> Path:
    """Write ``gen``'s images and a manifest into ``folder`` (created if needed).

    An export is never written over another: a folder that holds a manifest,
    or a file (or symlink) where an image would go, is refused with
    :class:`ExportExistsError` and nothing is changed.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    names = [img.default_name() for img in gen.images]
    taken = [n for n in [MANIFEST, *names] if os.path.lexists(folder / n)]
    if taken:
        raise ExportExistsError(
            f"{folder} already holds {', '.join(taken)}; choose another folder "
            "(fluxpanel never overwrites an export)"
        )
    images = [_write_image(folder, img, name) for img, name in zip(gen.images, names, strict=True)]
    # The inputs of an edit, by content, so the export reproduces it alone.
    inputs = write_inputs(gen.request, folder / INPUTS)
    path = folder / MANIFEST
    text = json.dumps(manifest(gen, images, inputs), indent=2, ensure_ascii=False) + "\n"
    try:
        write_file(path, text.encode("utf-8"), overwrite=False)
    except FileExistsError:
        raise ExportExistsError(f"{path} appeared while saving; not overwritten") from None
    return path


def _write_image(folder: Path, img: GeneratedImage, name: str) -> dict[str, Any]:
    """Write one image (its request embedded) and return its manifest record."""
    data = img.to_bytes()
    try:
        write_file(folder / name, data, overwrite=False)
    except FileExistsError:
        raise ExportExistsError(f"{folder / name} appeared while saving; not overwritten") from None
    return {
        "file": name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "original_sha256": hashlib.sha256(img.data).hexdigest(),
        "mime": img.mime,
        "width": img.width,
        "height": img.height,
        "seed": img.seed,
        "index": img.index,
    }


def manifest(gen: Generation, images: list[dict[str, Any]], inputs: Any) -> dict[str, Any]:
    """The manifest of an export: everything needed to read it back and reproduce it."""
    return {
        "format": FORMAT,
        "fluxpanel": __version__,
        "created": time.strftime(TIME_FORMAT, time.gmtime(gen.created)),
        **batch_record(gen),
        "notes": gen.notes,
        "provider": gen.provider,
        "endpoint": gen.endpoint,
        "request": gen.request.to_payload(),
        "seeds": [img.seed for img in gen.images],
        "timings": gen.timings,
        "cost_estimate_usd": gen.cost,
        "cached": gen.cached,
        "images": images,
        "inputs": inputs,
        "errors": [f"{type(e).__name__}: {e}" for e in gen.errors],
        "code": gen.to_code(),
    }


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: The folder of an export that holds its input images.
INPUTS = "inputs"
