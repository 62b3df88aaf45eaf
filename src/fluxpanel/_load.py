"""Reading an export (a folder :meth:`Generation.save` wrote) back."""

from __future__ import annotations

import calendar
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from ._bodies import DEFAULT_MAX_IMAGE_BYTES as MAX_IMAGE
from ._errors import FluxError, ImageError
from ._export import FORMAT, INPUTS, MANIFEST, TIME_FORMAT, batch_fields
from ._files import FileReadError, MissingFileError, read_file
from ._imaging import sniff_mime
from ._inputs import MAX_INPUT_BYTES
from ._request import GenerationRequest
from ._results import GeneratedImage, Generation

#: A manifest is a few KB; a larger one is not ours.
MAX_MANIFEST = 10_000_000


def load(folder: str | Path) -> Generation:
    """Read a folder written by :meth:`Generation.save` back into a ``Generation``.

    Every file is checked against the sha256 in the manifest, and the request
    is validated like any other input.
    """

    folder = Path(folder)
    try:
        manifest = json.loads(read_file(folder / MANIFEST, limit=MAX_MANIFEST, own=True))
    except MissingFileError:
        raise FluxError(f"{folder} has no {MANIFEST}: not a fluxpanel export") from None
    except (ValueError, RecursionError) as e:
        raise FluxError(f"{folder / MANIFEST} is not valid JSON: {e}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FluxError(f"{folder / MANIFEST} is not a fluxpanel export ({FORMAT})")
    try:
        return _read(folder, manifest)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        if isinstance(e, FluxError):
            raise
        raise FluxError(f"{folder / MANIFEST} is not readable: {type(e).__name__}: {e}") from None


def _read(folder: Path, manifest: dict[str, Any]) -> Generation:
    provider = manifest.get("provider", "")
    provider = provider if isinstance(provider, str) else ""
    _check_inputs(folder, manifest.get("inputs") or {})
    # Validated against the table of the provider that made it; inputs found
    # by content beside the manifest.
    request = GenerationRequest.from_payload(
        manifest["request"], provider=provider or None, inputs=folder / INPUTS
    )
    images = []
    for meta in manifest["images"]:
        name = Path(str(meta["file"])).name  # never outside the folder
        data = read_file(folder / name, limit=MAX_IMAGE, own=True)
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise ImageError(f"{name} does not match the sha256 in the manifest")
        images.append(
            GeneratedImage(
                data,
                sniff_mime(data),  # from the bytes, never from the manifest
                _int(meta["width"]),
                _int(meta["height"]),
                None if meta.get("seed") is None else _int(meta["seed"]),
                _int(meta["index"]),
                request,
                provider,
            )
        )
    created = float(calendar.timegm(time.strptime(manifest["created"], TIME_FORMAT)))
    endpoint = manifest.get("endpoint", "")
    return Generation(
        request=request,
        images=images,
        provider=provider,
        endpoint=endpoint if isinstance(endpoint, str) else "",
        timings={str(k): float(v) for k, v in dict(manifest.get("timings", {})).items()},
        cached=bool(manifest.get("cached", False)),
        # Rebuilt from the validated request: never the manifest's own text.
        code=request.to_code(provider or None),
        cost=float(manifest.get("cost_estimate_usd", 0.0)),
        created=created,
        **batch_fields(manifest),
    )


def _check_inputs(folder: Path, inputs: dict[str, Any]) -> None:
    """Each input file of an export holds the bytes its sha256 names (each
    file read once, however often the manifest names it)."""
    checked: set[tuple[Path, str]] = set()
    for name, records in dict(inputs).items():
        for record in records:
            if "url" in record:
                continue
            path = folder / INPUTS / Path(str(record["file"])).name
            if (path, record["sha256"]) in checked:
                continue
            checked.add((path, record["sha256"]))
            try:
                data = read_file(path, limit=MAX_INPUT_BYTES, own=True)
            except FileReadError as e:
                raise ImageError(f"input {name} ({path.name}) is not readable: {e}") from None
            if hashlib.sha256(data).hexdigest() != record["sha256"]:
                raise ImageError(f"input {name} ({path.name}) does not match its sha256")


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected an integer, got {value!r}"[:80])
    return value
