"""What a generation gives back: ``Generation`` and its ``GeneratedImage`` s."""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _html
from ._boxes import Box, parse_prompt
from ._errors import FluxError
from ._export import save
from ._files import write_file
from ._metadata import embed
from ._version import __version__

if TYPE_CHECKING:
    from PIL.Image import Image as PILImage

    from ._request import GenerationRequest

_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


def parameters_line(request: GenerationRequest) -> str:
    """The request as the one human-readable block other image tools write."""
    rest = ", ".join(
        f"{k.replace('_', ' ').capitalize()}: {v}"
        for k, v in request.params.items()
        if k != "prompt"
    )
    return f"{request.prompt or ''}\n{rest}, Model: {request.model}"


@dataclass(frozen=True, eq=False)
class GeneratedImage:
    """One image: the original bytes as received, and what made it."""

    data: bytes = field(repr=False)
    mime: str
    width: int
    height: int
    seed: int | None
    index: int = 0
    request: GenerationRequest | None = field(default=None, repr=False)
    provider: str = ""

    @property
    def extension(self) -> str:
        """The file extension of the image's format (``.png``, ``.jpg``, ``.webp``)."""
        return _EXT.get(self.mime, ".bin")

    def metadata(self) -> dict[str, str]:
        """The text written into saved files: the request as JSON, and a
        human-readable parameters block."""
        if self.request is None:
            return {}
        doc = {
            "request": self.request.to_payload(),
            "provider": self.provider,
            "index": self.index,
            "fluxpanel": __version__,
        }
        return {
            "fluxpanel": json.dumps(doc, ensure_ascii=False, sort_keys=True),
            "parameters": parameters_line(self.request),
        }

    def to_bytes(self) -> bytes:
        """The bytes :meth:`save` writes: the original image, unchanged, with
        the request added to its metadata (PNG text chunks, a JPEG comment or
        WebP XMP)."""
        if self.request is None:
            return self.data
        return embed(self.data, self.metadata())

    def save(self, path: str | Path) -> Path:
        """Write the image to ``path`` (a file, or a folder to put it in).

        The original pixels are written unchanged, with the request added to
        the file's metadata, so :meth:`GenerationRequest.from_image` can read
        it back.
        """
        path = Path(path)
        if path.is_dir():
            path = path / self.default_name()
        elif not path.suffix:
            path = path.with_suffix(self.extension)
        # Atomic, and a symlink at ``path`` is replaced, never written through.
        write_file(path, self.to_bytes(), overwrite=True)
        return path

    def default_name(self) -> str:
        """``<model>-<seed>-<index><extension>``: the name :meth:`save` uses in a folder."""
        model = self.request.model if self.request is not None else "image"
        seed = "" if self.seed is None else f"-{self.seed}"
        return f"{model}{seed}-{self.index}{self.extension}"

    def to_pil(self) -> PILImage:
        """The image as a Pillow ``Image`` (decoded on demand)."""
        from PIL import Image  # noqa: PLC0415 - Pillow loads when an image is read

        img = Image.open(io.BytesIO(self.data))
        img.load()
        return img

    def data_uri(self) -> str:
        """The image as a ``data:`` URI (for HTML that must stand alone)."""
        return _html.data_uri(self.data, self.mime)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        bundle: dict[str, Any] = {"text/plain": repr(self)}
        if self.mime in ("image/png", "image/jpeg"):
            bundle[self.mime] = base64.b64encode(self.data).decode("ascii")
        else:
            src = _html.text(self.data_uri())
            bundle["text/html"] = f'<img src="{src}" alt="generated image">'
        return bundle


@dataclass(eq=False)
class Generation:
    """The result of one request: its images, timings and where it ran.

    ``errors`` holds what failed when only some images could be fetched: the
    images that succeeded are kept.
    """

    request: GenerationRequest
    images: list[GeneratedImage]
    provider: str
    endpoint: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    errors: list[FluxError] = field(default_factory=list)
    cached: bool = False
    #: The snippet that reproduces this generation (never holds a key).
    code: str = field(default="", repr=False)
    #: Estimated cost in dollars (0 for the preview provider and cache hits).
    cost: float = 0.0
    #: When it was made (seconds since the epoch; kept by the cache).
    created: float = field(default_factory=time.time)
    #: Images asked for, and how many of them the host made but withheld
    #: (its safety filter), and who withheld them.
    requested: int = 0
    withheld: int = 0
    withheld_by: str = ""
    #: The prompt as the host expanded it before drawing, when it says so
    #: (FLUX 3 Image), with the boxes it added; see :attr:`boxes`.
    expanded_prompt: str = ""
    #: What the host said it billed for this run (dollars), where it says
    #: (Black Forest Labs' ``cost``); ``None`` where it does not, and for a
    #: result from the cache (which cost nothing this time).
    billed: float | None = None

    @property
    def boxes(self) -> tuple[Box, ...]:
        """Where each element of the picture is: the boxes of the host's
        expanded prompt (FLUX 3 adds its own), else the request's."""
        found = parse_prompt(self.expanded_prompt)[1] if self.expanded_prompt else ()
        return found or tuple(self.request.params.get("boxes") or ())

    @property
    def withheld_note(self) -> str:
        """ "1 of 4 images was withheld by Replicate's safety filter", or ""."""
        if not self.withheld:
            return ""
        asked = self.requested or len(self.images) + self.withheld
        verb = "was" if self.withheld == 1 else "were"
        noun = "image" if asked == 1 else "images"
        return f"{self.withheld} of {asked} {noun} {verb} withheld by " + (
            self.withheld_by or "the host"
        )

    @property
    def notes(self) -> list[str]:
        """What a person should know about this result: images withheld, and
        the host's caveats (determinism, batch seeds)."""
        notes = [self.withheld_note] if self.withheld else []
        notes += self.request.caveats
        if self.request.count > 1 and self.request.spec.batch_seeds == "batch":
            notes.append(
                f"One seed ({self.request.seed}) made the whole batch: run the batch again "
                f"({self.request.count} images) to make one of its images again."
            )
        return notes

    def __iter__(self) -> Iterator[GeneratedImage]:
        return iter(self.images)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> GeneratedImage:
        return self.images[i]

    @property
    def image(self) -> GeneratedImage:
        """The first image."""
        return self.images[0]

    @property
    def seed(self) -> int | None:
        """The seed of the request (each image's own is on the image); ``None``
        for a model that takes none (FLUX 3 Image)."""
        seed = self.request.seed
        return None if seed is None else int(seed)

    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write every image, its input images and a ``manifest.json``
        (request, seeds, provider, endpoint, timings, cost, sha256 of each
        file, fluxpanel version) into ``folder``; :func:`fluxpanel.load`
        reads it back.

        Saving this result again where it already is does nothing, so a
        report can be re-run. Another export in ``folder`` is never written
        over unless ``overwrite=True`` (else :class:`ExportExistsError`); a
        failed save (:class:`ExportError`) leaves nothing half-written."""
        return save(self, folder, overwrite=overwrite)

    def to_code(self) -> str:
        """Python that reproduces this generation exactly."""
        return self.code or self.request.to_code(self.provider or None)

    def __repr__(self) -> str:
        t = self.timings.get("total")
        took = f", {t:.2f}s" if t is not None else ""
        errs = f", {len(self.errors)} failed" if self.errors else ""
        errs += f", {self.withheld} withheld" if self.withheld else ""
        cached = ", cached" if self.cached else ""
        return (
            f"<Generation {self.request.model} seed={self.request.seed} "
            f"{len(self.images)} image(s) via {self.provider}{took}{cached}{errs}>"
        )

    def _repr_html_(self) -> str:
        return generation_html(self)


def seed_words(seed: Any) -> str:
    """ "seed 42" for a caption, or "no seed" for a model that takes none."""
    return "no seed" if seed is None else f"seed {seed}"


def generation_html(gen: Generation, *, width: int = 256) -> str:
    """Self-contained HTML (images inline) that shows without a kernel."""
    cells = [
        _html.figure(
            img.data_uri(),
            gen.request.caption,
            f"{seed_words(img.seed)} · {gen.request.model}"
            + (f" · #{img.index + 1}" if len(gen.images) > 1 else ""),
            width,
        )
        for img in gen.images
    ]
    cells += [_html.failed(str(err), width) for err in gen.errors]
    note = " (from cache)" if gen.cached else ""
    return (
        '<div class="fluxpanel-generation">'
        + _html.grid(cells)
        + _html.notes(gen.notes)
        + f"<details><summary>{_html.text(gen.provider)}{note}: parameters</summary>"
        + _html.params_table(gen.request.to_payload())
        + "</details></div>"
    )
