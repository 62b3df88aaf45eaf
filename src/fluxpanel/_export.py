"""Export with provenance: a folder of images and a manifest, and reading it back."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import FluxError
from ._files import read_file, write_file
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
    """The folder already holds another export; nothing was overwritten."""


class ExportError(FluxError):
    """An export could not be written (a full disk, a file in the way);
    nothing half-written was left behind."""


def save(gen: Generation, folder: str | Path, *, overwrite: bool = False) -> Path:
    """Write ``gen``'s images, its input images (``inputs/``) and a manifest
    into ``folder``; returns the manifest's path.

    Saving the same result again where it already is does nothing (a report
    re-run). A folder that holds another export is refused with
    :class:`ExportExistsError` unless ``overwrite``, which replaces it. The
    export is written beside the folder and moved into place, so a failure
    (an :class:`ExportError`) leaves nothing half-written.
    """
    folder = Path(folder)
    files = contents(gen)
    ours = json.loads(files[MANIFEST])
    old = _manifest_in(folder)
    if old is not None and _same_result(old, ours):
        return folder / MANIFEST
    if old is not None and not overwrite:
        raise ExportExistsError(
            f"{folder} already holds another export (a different result), and fluxpanel "
            "never overwrites an export unasked: pass overwrite=True to replace it, or "
            "choose another folder"
        )
    try:
        if old is not None:
            _replace(folder, old, files)
        elif folder.is_dir() and any(folder.iterdir()):
            _add(folder, files)
        else:
            _create(folder, files)
    except OSError as e:
        raise ExportError(
            f"could not save the export to {folder} ({e.strerror or e}); nothing was left there"
        ) from None
    return folder / MANIFEST


def contents(gen: Generation) -> dict[str, bytes]:
    """Every file of ``gen``'s export by its name in the folder, the
    manifest last: the images (request embedded), its input images by
    content, and the manifest, whose code names the inputs ``inputs/<sha>``."""
    files: dict[str, bytes] = {}
    images = []
    for img in gen.images:
        data = img.to_bytes()
        files[img.default_name()] = data
        images.append(_record(img, img.default_name(), data))
    inputs: dict[str, list[dict[str, Any]]] = {}
    for name, value in gen.request.inputs.items():
        for image in value if isinstance(value, tuple) else (value,):
            if image.url is None:
                files[f"{INPUTS}/{image.filename}"] = image.data
                inputs.setdefault(name, []).append(
                    {"file": f"{INPUTS}/{image.filename}", **image.to_json()}
                )
            else:
                inputs.setdefault(name, []).append(image.to_json())
    text = json.dumps(manifest(gen, images, inputs), indent=2, ensure_ascii=False) + "\n"
    files[MANIFEST] = text.encode("utf-8")
    return files


def _record(img: GeneratedImage, name: str, data: bytes) -> dict[str, Any]:
    """An image's line in the manifest."""
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
        # Inputs named by the export's own copies, never the author's paths.
        "code": gen.request.to_code(gen.provider or None, inputs=INPUTS),
    }


def _manifest_in(folder: Path) -> dict[str, Any] | None:
    """The manifest of the export in ``folder``, if it holds one (an
    unreadable one is an export all the same: never written over unasked)."""
    path = folder / MANIFEST
    if not os.path.lexists(path):
        return None
    try:
        data = json.loads(read_file(path, limit=10_000_000, own=True))
    except (FluxError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _same_result(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two manifests are of the same result: the same request at the
    same provider and endpoint, and the same images, byte for byte (a cached
    re-run differs only in its cost and its ``cached`` flag)."""
    keys = ("format", "provider", "endpoint", "request", "seeds", "inputs")
    shas = [i.get("sha256") for i in new["images"]]
    try:
        return (
            all(old.get(k) == new[k] for k in keys)
            and [i.get("sha256") for i in old.get("images", [])] == shas
        )
    except AttributeError:
        return False


def _write_all(folder: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, data, overwrite=False)


def _create(folder: Path, files: dict[str, bytes]) -> None:
    """A new export: written into a folder beside it, renamed into place."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.fluxpanel-"))
    try:
        _write_all(tmp, files)
        os.rename(tmp, folder)  # an empty folder there is replaced; anything else refused
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _replace(folder: Path, old: dict[str, Any], files: dict[str, bytes]) -> None:
    """Another export in place of the one in ``folder`` (overwrite): written
    whole beside it first, then the old export's files go and the new ones
    are moved in, the manifest last; the folder's other files stay."""
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.fluxpanel-"))
    try:
        _write_all(tmp, files)
        records = old.get("images") if isinstance(old.get("images"), list) else []
        gone = [MANIFEST, *(str(i.get("file", "")) for i in records if isinstance(i, dict))]
        for name in gone:
            path = folder / Path(name).name
            if name and os.path.lexists(path) and not path.is_dir():
                path.unlink()
        for name in files:  # the manifest is last: until then the folder holds no export
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / name, folder / name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _add(folder: Path, files: dict[str, bytes]) -> None:
    """The export's files into a folder holding other files: each written
    whole (never over a file fluxpanel did not write), the manifest last; on
    failure every file written is taken back."""
    written: list[Path] = []
    try:
        for name, data in files.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                # An input by content holds these bytes whoever wrote it.
                write_file(path, data, overwrite=name.startswith(f"{INPUTS}/"))
            except FileExistsError:
                raise ExportExistsError(
                    f"{path} is in the way (fluxpanel never writes over a file it did not "
                    "write); choose another folder"
                ) from None
            written.append(path)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
#: The folder of an export that holds its input images.
INPUTS = "inputs"
