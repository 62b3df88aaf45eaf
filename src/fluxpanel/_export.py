"""Export with provenance: a folder of images and a manifest, and reading it back."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import FluxError, ImageError

if TYPE_CHECKING:
    from ._results import Generation

MANIFEST = "manifest.json"
FORMAT = "fluxpanel-export/1"


def save(gen: Generation, folder: str | Path) -> Path:
    """Write ``gen``'s images and a manifest into ``folder`` (created if needed)."""
    from . import __version__

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    images = []
    for img in gen.images:
        data = img.to_bytes()
        name = img.default_name()
        (folder / name).write_bytes(data)
        images.append(
            {
                "file": name,
                "sha256": hashlib.sha256(data).hexdigest(),
                "original_sha256": hashlib.sha256(img.data).hexdigest(),
                "mime": img.mime,
                "width": img.width,
                "height": img.height,
                "seed": img.seed,
                "index": img.index,
            }
        )
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "fluxpanel": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(gen.created)),
        "provider": gen.provider,
        "endpoint": gen.endpoint,
        "request": gen.request.to_payload(),
        "seeds": [img.seed for img in gen.images],
        "timings": gen.timings,
        "cost_estimate_usd": gen.cost,
        "cached": gen.cached,
        "images": images,
        "errors": [f"{type(e).__name__}: {e}" for e in gen.errors],
        "code": gen.to_code(),
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load(folder: str | Path) -> Generation:
    """Read a folder written by :meth:`Generation.save` back into a ``Generation``.

    Every file is checked against the sha256 in the manifest, and the request
    is validated like any other input.
    """
    from ._request import GenerationRequest
    from ._results import GeneratedImage, Generation

    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FluxError(f"{folder} has no {MANIFEST}: not a fluxpanel export") from None
    except ValueError as e:
        raise FluxError(f"{folder / MANIFEST} is not valid JSON: {e}") from None
    if manifest.get("format") != FORMAT:
        raise FluxError(f"{folder / MANIFEST} is not a fluxpanel export ({FORMAT})")
    request = GenerationRequest.from_payload(manifest["request"])
    images = []
    for meta in manifest["images"]:
        name = Path(str(meta["file"])).name  # never outside the folder
        data = (folder / name).read_bytes()
        if hashlib.sha256(data).hexdigest() != meta["sha256"]:
            raise ImageError(f"{name} does not match the sha256 in the manifest")
        images.append(
            GeneratedImage(
                data,
                meta["mime"],
                int(meta["width"]),
                int(meta["height"]),
                meta["seed"],
                int(meta["index"]),
                request,
                manifest.get("provider", ""),
            )
        )
    created = time.mktime(time.strptime(manifest["created"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    return Generation(
        request=request,
        images=images,
        provider=manifest.get("provider", ""),
        endpoint=manifest.get("endpoint", ""),
        timings=dict(manifest.get("timings", {})),
        cached=bool(manifest.get("cached", False)),
        code=manifest.get("code", ""),
        cost=float(manifest.get("cost_estimate_usd", 0.0)),
        created=created,
    )
