"""``compare``: a labelled grid over the cross product of parameter values.

For teaching: vary the model, seed, guidance, steps (any parameter) and see
the images side by side. Combinations a model does not allow are left out
with a note and never sent; the request count and estimated cost are stated
before anything runs, and ``max_cost`` refuses to start above a limit. The
grid is plain HTML, so it shows in saved notebooks without a kernel too.
"""

from __future__ import annotations

import asyncio
import itertools
import queue
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _html, _loop
from ._batch import Batch, varying_params
from ._client import AsyncFluxClient, FluxClient
from ._errors import CostLimitError, FluxError, ValidationError
from ._previews import shrink
from ._pricing import format_cost
from ._request import GenerationRequest, default_model
from ._results import Generation, seed_words
from .providers import Provider

THUMB_SIDE = 256
CELL_WIDTH = 200  # CSS pixels; thumbnails are sharper than that on dense screens

# Labels wrap inside their cell (never cut off, however long a value), every
# column keeps its images' width, and a grid wider than the output scrolls.
_WRAP = "overflow-wrap:anywhere;white-space:normal;font-weight:600;padding:4px"
_TH = f"style='text-align:left;vertical-align:bottom;max-width:{CELL_WIDTH}px;{_WRAP}'"
_ROW_TH = f"style='text-align:left;vertical-align:middle;min-width:7em;max-width:14em;{_WRAP}'"
_TD = "style='vertical-align:top;padding:4px'"
_BOX = f"width:{CELL_WIDTH}px;font-size:12px"


@dataclass
class Cell:
    """One combination of the grid."""

    params: dict[str, Any]
    request: GenerationRequest | None = None
    generation: Generation | None = None
    error: FluxError | None = None
    #: Why the combination was left out (never sent), if it was.
    skipped: str = ""
    thumb: tuple[bytes, str] | None = field(default=None, repr=False)

    @property
    def state(self) -> str:
        if self.skipped:
            return "skipped"
        if self.error is not None:
            return "failed"
        return "done" if self.generation is not None else "pending"


class Comparison:
    """The grid: cells by row and column, filled as results arrive."""

    def __init__(
        self, prompt: str | None, varying: dict[str, list[Any]], cells: list[Cell]
    ) -> None:
        self.prompt = prompt
        self.varying = varying
        self.cells = cells
        names = list(varying)
        self.col_param = names[-1] if names else None
        self.row_params = names[:-1]
        self.estimated_cost = 0.0
        self._client: AsyncFluxClient | None = None
        self._concurrency = 4

    # -- what it holds -------------------------------------------------------------

    @property
    def to_run(self) -> list[Cell]:
        """The cells that are sent (every combination the model allows)."""
        return [c for c in self.cells if not c.skipped]

    @property
    def skipped(self) -> list[Cell]:
        """The combinations left out, each with why."""
        return [c for c in self.cells if c.skipped]

    @property
    def failed(self) -> list[Cell]:
        """The cells whose generation failed (``retry_failed`` runs them again)."""
        return [c for c in self.cells if c.state == "failed"]

    @property
    def generations(self) -> list[Generation]:
        """Every generation the grid holds, in cell order."""
        return [c.generation for c in self.cells if c.generation is not None]

    def summary(self) -> str:
        """How many requests, their estimated cost, and what was left out."""
        n, left = len(self.to_run), len(self.skipped)
        text = (
            f"{n} request{'s' if n != 1 else ''}, estimated cost {format_cost(self.estimated_cost)}"
        )
        if left:
            text += f"; {left} combination{'s' if left != 1 else ''} left out"
        return text

    # -- running ---------------------------------------------------------------------

    async def _run(self, cells: Sequence[Cell], on_update: Callable[[], None]) -> None:
        """Run ``cells`` as a batch (:mod:`fluxpanel._batch`): at the host's
        limits, at most ``concurrency`` at once, each cell filled as its
        result arrives. A cell that fails is an error cell: the others (paid
        for) are kept, and so is the grid."""
        assert self._client is not None
        batch = Batch(
            self._client,
            [c.request for c in cells],
            progress=False,
            in_flight=self._concurrency,
        )
        async for item in batch:
            cell = cells[item.index]
            cell.error, cell.generation = item.error, item.generation
            gen = item.generation
            if gen is not None and gen.images:
                try:
                    cell.thumb = await asyncio.to_thread(_thumb, gen.images[0].data)
                except Exception as e:
                    cell.error = _as_flux_error(e)
            elif cell.error is None and gen is not None and gen.errors:
                cell.error = gen.errors[0]
            try:
                on_update()
            except Exception:  # a display that cannot update loses nothing
                pass

    async def aretry_failed(self, *, display: bool = True) -> Comparison:
        """Run the failed cells again (only those)."""
        cells = self.failed
        await _drive(self, cells, display)
        return self

    def retry_failed(self, *, display: bool = True) -> Comparison:
        """Run the failed cells again (only those), waiting for them."""
        _drive_sync(self, self.failed, display)
        return self

    # -- display -----------------------------------------------------------------------

    def _label(self, cell: Cell, names: Sequence[str]) -> str:
        return comparison_label(self.varying, {n: cell.params[n] for n in names})

    def _show(self, name: str, value: Any) -> str:
        return show_value(self.varying, name, value)

    def _title(self) -> str:
        """The prompt, or (a model that takes none, such as FLUX Erase) the
        first request's model name."""
        if self.prompt:
            return self.prompt
        return next((c.request.caption for c in self.cells if c.request is not None), "")

    def _at(self, name: str, value: Any) -> int:
        """Where ``value`` stands among ``name``'s values (lists of LoRAs or
        images are not hashable: cells are found by position)."""
        values = self.varying[name]
        return next((i for i, v in enumerate(values) if v is value), values.index(value))

    def _repr_html_(self) -> str:
        col = self.col_param
        cols: list[Any] = self.varying.get(col, [None]) if col else [None]
        row_keys = list(
            itertools.product(*(range(len(self.varying[p])) for p in self.row_params))
        ) or [()]
        by_key = {
            (
                tuple(self._at(p, c.params[p]) for p in self.row_params),
                self._at(col, c.params[col]) if col else 0,
            ): c
            for c in self.cells
        }
        col_label = (lambda v: f"{col}={self._show(col, v)}") if col else (lambda v: "")
        head = "".join(f"<th {_TH}>{_html.text(col_label(v))}</th>" for v in cols)
        rows = []
        for key in row_keys:
            label = ", ".join(
                f"{p}={self._show(p, self.varying[p][i])}"
                for p, i in zip(self.row_params, key, strict=True)
            )
            cells = []
            for i in range(len(cols)):
                cell = by_key.get((key, i))
                cells.append(
                    f"<td {_TD}><div style='width:{CELL_WIDTH}px'>{_cell_html(cell)}</div></td>"
                )
            rows.append(f"<tr><th {_ROW_TH}>{_html.text(label)}</th>{''.join(cells)}</tr>")
        notes = ""
        if self.skipped:
            items = "".join(f"<li>{_html.text(c.skipped)}</li>" for c in self.skipped)
            summary = f"<summary>Left out ({len(self.skipped)})</summary>"
            notes = f"<details>{summary}<ul>{items}</ul></details>"
        failed = ""
        if self.failed:
            failed = (
                f"<p style='color:#c33'>{len(self.failed)} cell(s) failed; "
                "<code>comparison.retry_failed()</code> runs only those again.</p>"
            )
        done = sum(1 for c in self.to_run if c.state != "pending")
        return (
            '<div class="fluxpanel-compare" style="font-family:system-ui,sans-serif">'
            f"<p><strong>Comparison</strong>: {_html.text(self._title()[:300])}<br>"
            f"<small>{_html.text(self.summary())} · {done} of {len(self.to_run)} done</small></p>"
            "<div style='overflow-x:auto;max-width:100%'><table style='border-collapse:collapse'>"
            f"<tr><th></th>{head}</tr>{''.join(rows)}</table></div>"
            f"{failed}{notes}</div>"
        )

    def __repr__(self) -> str:
        return f"<Comparison {self.summary()}>"


def _cell_html(cell: Cell | None) -> str:
    if cell is None:
        return ""
    if cell.skipped:
        return f"<div style='{_BOX};opacity:.6'>left out: {_html.text(cell.skipped)}</div>"
    if cell.error is not None:
        style = f"{_BOX};border:1px dashed #c33;padding:4px"
        return (
            f"<div style='{style}' data-state='failed'>failed: {_html.text(str(cell.error))}</div>"
        )
    if cell.thumb is None:
        style = f"{_BOX};aspect-ratio:1;background:rgba(127,127,127,.15);border-radius:4px"
        return f"<div style='{style}' data-state='pending'></div>"
    data, mime = cell.thumb
    gen = cell.generation
    assert gen is not None
    note = " (cached)" if gen.cached else ""
    caption = f"{seed_words(gen.request.seed)}{note}"
    return _html.figure(_html.data_uri(data, mime), gen.request.caption, caption, CELL_WIDTH)


def _as_flux_error(error: Exception) -> FluxError:
    if isinstance(error, FluxError):
        return error
    return FluxError(f"{type(error).__name__}: {error}")


def show_value(varying: Mapping[str, list[Any]], name: str, value: Any) -> str:
    """A value as a label: as it is, LoRAs by their labels, or "image 2" for
    the second input image compared (never its bytes)."""
    if isinstance(value, (str, int, float, bool)) and len(str(value)) <= 80:
        return str(value)
    labels = (
        [getattr(v, "label", None) for v in value] if isinstance(value, (list, tuple)) else [None]
    )
    if all(isinstance(label, str) for label in labels):
        return " + ".join(labels) or "none"
    values = varying.get(name, [])
    index = next((i for i, v in enumerate(values) if v is value), 0)
    return f"image {index + 1}"


def comparison_label(varying: Mapping[str, list[Any]], params: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={show_value(varying, k, v)}" for k, v in params.items())


def _thumb(data: bytes) -> tuple[bytes, str]:
    small = shrink(data, THUMB_SIDE, quality=75)
    return small.data, small.mime


def plan(
    client: AsyncFluxClient,
    prompt: str | None,
    params: Mapping[str, Any],
) -> Comparison:
    """Work out the cells: the cross product of every list-valued parameter."""
    varying = varying_params(params, client.provider.models)
    fixed = {k: v for k, v in params.items() if k not in varying}
    shared_seed = None
    if "seed" not in params or params["seed"] is None:
        # One seed for the whole grid, so the cells differ only by what varies
        # (for the models that take one).
        fixed.pop("seed", None)
        shared_seed = random.SystemRandom().randint(0, 2_147_483_646)
    models = client.provider.models
    cells = []
    for combo in itertools.product(*varying.values()):
        cell = Cell(dict(zip(varying, combo, strict=True)))
        seeded = dict(fixed)
        spec = models.get({**fixed, **cell.params}.get("model") or default_model(models))
        if shared_seed is not None and spec is not None and spec.supports("seed"):
            seeded["seed"] = shared_seed
        # The prompt goes to the models that take one (Fill beside Erase).
        said = prompt if spec is None or spec.supports("prompt") else None
        try:
            cell.request = client.request(prompt=said, **seeded, **cell.params)
        except ValidationError as e:
            cell.skipped = f"{comparison_label(varying, cell.params)}: {e}"
        cells.append(cell)
    comparison = Comparison(prompt, varying, cells)
    comparison._client = client
    cache = client.cache
    comparison.estimated_cost = sum(
        0.0
        if cache is not None and cache.contains(c.request, client.provider)
        else client.estimate_cost(c.request)
        for c in comparison.to_run
        if c.request is not None
    )
    return comparison


def _as_async(
    client: FluxClient | AsyncFluxClient | None, provider: Provider | str | None
) -> AsyncFluxClient:
    if client is None:
        return AsyncFluxClient(provider=provider)
    if provider is not None:
        raise FluxError("pass either client= or provider=, not both")
    return client._async if isinstance(client, FluxClient) else client


def _prepare(
    prompt: str | None,
    client: FluxClient | AsyncFluxClient | None,
    provider: Provider | str | None,
    concurrency: int,
    max_cost: float | None,
    params: dict[str, Any],
) -> Comparison:
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(
            f"concurrency={concurrency!r} must be an integer >= 1", field="concurrency"
        )
    comparison = plan(_as_async(client, provider), prompt, params)
    comparison._concurrency = concurrency
    if max_cost is not None and comparison.estimated_cost > max_cost:
        raise CostLimitError(
            f"this comparison would make {comparison.summary()}, over "
            f"max_cost={format_cost(max_cost)}; nothing was sent"
        )
    return comparison


class _Display:
    """An updatable notebook output, when there is a notebook."""

    def __init__(self, comparison: Comparison, enabled: bool) -> None:
        self.comparison = comparison
        self.handle = None
        if enabled:
            try:
                from IPython import get_ipython  # noqa: PLC0415 - IPython only where a notebook runs
                from IPython.display import display  # noqa: PLC0415 - IPython only where a notebook runs

                if get_ipython() is not None:
                    self.handle = display(comparison, display_id=True)
            except ImportError:
                pass
            if self.handle is None:
                print(f"Comparison: {comparison.summary()}")

    def update(self) -> None:
        if self.handle is not None:
            self.handle.update(self.comparison)


async def _drive(comparison: Comparison, cells: Sequence[Cell], display: bool) -> None:
    out = _Display(comparison, display)
    await comparison._run(cells, out.update)
    out.update()


def _drive_sync(comparison: Comparison, cells: Sequence[Cell], display: bool) -> None:
    out = _Display(comparison, display)
    updates: queue.Queue[None] = queue.Queue()
    future = asyncio.run_coroutine_threadsafe(
        comparison._run(cells, lambda: updates.put(None)), _loop.background_loop()
    )
    # Display updates happen here, on the notebook's thread, as cells finish.
    while not future.done():
        try:
            updates.get(timeout=0.1)
        except queue.Empty:
            continue
        out.update()
    future.result()
    out.update()


async def acompare(
    prompt: str | None,
    *,
    client: FluxClient | AsyncFluxClient | None = None,
    provider: Provider | str | None = None,
    concurrency: int = 4,
    max_cost: float | None = None,
    display: bool = True,
    **params: Any,
) -> Comparison:
    """:func:`compare` for async code (``await fluxpanel.acompare(...)``)."""
    comparison = _prepare(prompt, client, provider, concurrency, max_cost, params)
    await _drive(comparison, comparison.to_run, display)
    return comparison


def compare(
    prompt: str | None,
    *,
    client: FluxClient | AsyncFluxClient | None = None,
    provider: Provider | str | None = None,
    concurrency: int = 4,
    max_cost: float | None = None,
    display: bool = True,
    **params: Any,
) -> Comparison:
    """Generate every combination of the list-valued parameters and show a grid.

    ``compare("a fox", model=["flux_schnell", "flux_dev"], seed=[1, 2])``:
    columns are the last varying parameter, rows the others. Parameters given
    as single values apply to every cell; with no seed, one random seed is
    shared by all cells. Combinations a model does not allow are left out with
    a note. ``max_cost`` (dollars) refuses to start above it, before anything
    is sent. At most ``concurrency`` requests run at once. In a notebook the
    grid appears at once and fills in as images arrive. Models that take no
    prompt (FLUX Erase) are run without it; for those alone it may be ``None``.
    """
    comparison = _prepare(prompt, client, provider, concurrency, max_cost, params)
    _drive_sync(comparison, comparison.to_run, display)
    return comparison
