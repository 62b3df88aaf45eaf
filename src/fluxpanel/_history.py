"""A panel's history on disk: full-resolution originals are not kept in memory.

Each generation is written to a folder of a per-panel temporary directory
(original bytes, byte for byte, and a small JSON record) and read back only
when asked for. The directory goes when the panel is closed or collected, or
when the kernel exits.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import FluxError
from ._export import batch_fields, batch_record
from ._files import read_file
from ._input_records import write_inputs
from ._request import GenerationRequest
from ._results import GeneratedImage, Generation

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._spec import ModelSpec


class HistoryStore:
    """Generations by id, on disk."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._ids: list[int] = []
        self._finalizer: weakref.finalize | None = None

    def _root(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="fluxpanel-history-"))
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._dir, True)
        return self._dir

    @property
    def ids(self) -> list[int]:
        return list(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, entry: int, gen: Generation) -> None:
        folder = self._root() / str(entry)
        folder.mkdir()
        images = []
        for img in gen.images:
            name = f"{img.index}{img.extension}"
            (folder / name).write_bytes(img.data)
            images.append(
                {
                    "file": name,
                    "mime": img.mime,
                    "width": img.width,
                    "height": img.height,
                    "seed": img.seed,
                    "index": img.index,
                }
            )
        write_inputs(gen.request, self._root() / "inputs")  # once per content
        record = {
            "request": gen.request.to_payload(),
            "provider": gen.provider,
            "endpoint": gen.endpoint,
            "timings": gen.timings,
            "errors": [str(e) for e in gen.errors],
            "cached": gen.cached,
            "code": gen.code,
            "cost": gen.cost,
            "created": gen.created,
            **batch_record(gen),
            "images": images,
        }
        (folder / "record.json").write_text(json.dumps(record), encoding="utf-8")
        self._ids.append(entry)

    def load(self, entry: int, models: Mapping[str, ModelSpec] | None = None) -> Generation:
        """The generation stored under ``entry``, read from disk."""
        if entry not in self._ids or self._dir is None:
            raise KeyError(entry)
        folder = self._dir / str(entry)
        record = json.loads(read_file(folder / "record.json", own=True))
        request = GenerationRequest.from_payload(
            record["request"], models=models, inputs=self._dir / "inputs"
        )
        images = [
            GeneratedImage(
                read_file(folder / m["file"], own=True),
                m["mime"],
                m["width"],
                m["height"],
                m["seed"],
                m["index"],
                request,
                record["provider"],
            )
            for m in record["images"]
        ]
        return Generation(
            request=request,
            images=images,
            provider=record["provider"],
            endpoint=record["endpoint"],
            timings=record["timings"],
            errors=[FluxError(e) for e in record["errors"]],
            cached=record["cached"],
            code=record["code"],
            cost=record["cost"],
            created=record["created"],
            **batch_fields(record),
        )

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._ids.clear()
