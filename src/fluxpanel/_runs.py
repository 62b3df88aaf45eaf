"""A panel's runs: a generation's life from Generate to the shown result, and
the results it keeps (the one running, the one shown with its images by tile,
every one made, originals on disk).

Generations run as tasks on the kernel's event loop, so the kernel stays
free. Once the host has billed, nothing here may lose the images: history,
the status line and observers are best-effort around them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._boxes import boxes_json
from ._errors import FluxError, ValidationError
from ._flow import Progress
from ._history import HistoryStore
from ._panel_view import (
    BEFORE_SIDE,
    FIX,
    Bytes,
    before_of,
    describe_error,
    display_copy,
    make_tile,
    off_loop,
    progress_view,
    running_loop,
)
from ._previews import shrink
from ._pricing import format_cost
from ._request import GenerationRequest
from ._results import GeneratedImage, Generation

if TYPE_CHECKING:
    from ._panel import FluxPanel


class Results:
    """A panel's generations: the one running, the one shown (with its images
    by tile), and every one made, originals on disk (only the shown one is in
    memory)."""

    def __init__(self) -> None:
        self.store = HistoryStore()
        self.current: Generation | None = None
        self.shown: dict[str, GeneratedImage] = {}
        self.task: asyncio.Task[Generation] | None = None
        #: History entry ids, from 1.
        self.ids = itertools.count(1)

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


#: Seconds a Generate from the view waits for the changes the view made
#: before it (then it runs with the settings the kernel has).
EDITS_WAIT = 5.0


class Runs:
    """The runs of one panel, on the loop it was made on (its home)."""

    def __init__(self, panel: FluxPanel) -> None:
        self.panel = panel
        self.results = Results()
        self.spent = 0.0
        #: Whether Generate was tried with this model: only then does the
        #: panel ask for what is missing (not before the user acts).
        self.attempted = False
        #: What the host said it billed, where it says (Black Forest Labs).
        self.billed = 0.0
        #: Runs started from the view, kept until they end.
        self.background: set[asyncio.Future[Any]] = set()
        #: The view's count of changes a Generate from it waits for: ipywidgets
        #: holds back a change while the kernel is busy with the one before,
        #: and the view's message can overtake it.
        self.awaited: int | None = None
        panel.observe(self._edited, names="_edits")
        try:
            self.loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self.loop = None

    def home(self) -> asyncio.AbstractEventLoop:
        """The loop generations run on: the kernel's main loop, where the panel
        was made. Comm messages may arrive on other threads (kernel subshells)."""
        if self.loop is None or self.loop.is_closed():
            self.loop = running_loop()
        return self.loop

    # -- starting and stopping ----------------------------------------------------

    def start(self) -> concurrent.futures.Future[Generation | None]:
        """A run in the background on the home loop; errors are shown, not raised."""
        home = self.home()  # raises outside a running loop, before any coroutine is made
        return asyncio.run_coroutine_threadsafe(self.quietly(), home)

    def from_view(self, edits: Any = None) -> None:
        """Generate, as the view's button asks (on the home loop's thread),
        with the settings the view had then: if some are still on their way
        (``edits``, the view's count of changes, is ahead of the kernel's), once
        they have come, or after :data:`EDITS_WAIT` seconds with what is here."""
        if isinstance(edits, int) and edits > self.panel._edits:
            self.awaited = edits
            self.home().call_later(EDITS_WAIT, self._waited, edits)
            return
        self.awaited = None
        if not self.results.running:
            task = asyncio.ensure_future(self.quietly())
            self.background.add(task)  # keep a reference until it ends
            task.add_done_callback(self.background.discard)

    def _edited(self, change: dict[str, Any]) -> None:
        """The view's changes came (on the thread that applied them)."""
        awaited = self.awaited
        if awaited is not None and change["new"] >= awaited:
            self.awaited = None
            self.home().call_soon_threadsafe(self.from_view)

    def _waited(self, edits: int) -> None:
        if self.awaited == edits:  # never came: generate with what is here
            self.from_view()

    async def run(self) -> Generation:
        """A run on the home loop; errors are shown in the panel and raised."""
        home = self.home()
        if asyncio.get_running_loop() is not home:
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.run(), home))
        if self.results.running:
            raise FluxError("a generation is already running in this panel; cancel it first")
        self.results.task = asyncio.ensure_future(self._run())
        return await self.results.task

    async def quietly(self) -> Generation | None:
        if self.results.running:
            return None
        self.results.task = asyncio.ensure_future(self._run())
        try:
            return await self.results.task
        except (FluxError, asyncio.CancelledError):
            return None  # shown in the panel
        except Exception:
            return None  # shown in the panel as an unexpected error

    def cancel(self) -> bool:
        """Cancel the running generation, if any. Images that already arrived stay."""
        task = self.results.task
        if task is None or task.done():
            return False
        home = self.home()
        try:
            on_home = asyncio.get_running_loop() is home
        except RuntimeError:
            on_home = False
        if on_home:
            task.cancel()
        else:
            home.call_soon_threadsafe(task.cancel)
        return True

    # -- one run --------------------------------------------------------------------

    async def _run(self) -> Generation:
        try:
            return await self._attempt()
        finally:
            # Whatever happened (a user's observer raising, a disk error), the
            # run ends in a terminal state and Generate works again.
            if self.panel.status == "running":
                self.state(status="error")

    async def _attempt(self) -> Generation:
        self.attempted = True
        try:
            request = self.prepare()
        except ValidationError as e:
            self.fail(e, beside=True)
            raise
        entry = next(self.results.ids)
        started = time.perf_counter()
        client = self.panel._client
        self.state(
            error={},
            status_text="Generating",
            expected=request.count,
            elapsed=0.0,
            progress={
                "phase": "submitting",
                "text": "Submitting",
                "expected": client.expected_seconds(request),
            },
            status="running",
        )
        arriving = Arrivals(self, entry)
        try:
            # A model without a seed draws anew on each Generate (the cache
            # still answers the same request made from code).
            gen = await client.generate(
                request,
                on_image=arriving.image,
                on_progress=arriving.progress,
                fresh=not any(p.random for p in request.spec.params.values()),
            )
        except asyncio.CancelledError:
            kept = " (images that arrived are kept)" if arriving.tiles else ""
            note = client.provider.cancel_note
            self.state(
                elapsed=time.perf_counter() - started,
                status_text="Cancelled" + kept + (f". {note}" if note else ""),
                status="cancelled",
            )
            raise
        except Exception as e:
            self.state(elapsed=time.perf_counter() - started)
            self.fail(e)
            raise
        # The host has billed: from here on nothing may lose the images.
        try:
            self.finish(gen, entry, started)
        except Exception as e:
            self.results.current = gen
            self.fail(e, after="The images arrived and are kept (panel.result), but ")
        return gen

    def prepare(self) -> GenerationRequest:
        """The request for the current settings; in random mode the seed drawn
        is shown, so the seed on screen is the one that makes the image."""
        panel = self.panel
        request = panel.request
        seed = next((n for n, p in request.spec.params.items() if p.random), None)
        if panel.seed_mode == "random" and seed is not None:
            panel._session.switching = True
            try:
                setattr(panel, seed, request.params[seed])
            finally:
                panel._session.switching = False
        return request

    def finish(self, gen: Generation, entry: int, started: float) -> None:
        notes = []
        try:
            self.add_to_history(gen, entry)
        except Exception as e:  # a full disk, a removed temporary folder
            notes.append(f"not kept in the history ({type(e).__name__}: {e})")
        self.show(gen, entry, tiles_ready=True)
        provider = self.panel._client.provider
        took = gen.timings.get("total", time.perf_counter() - started)
        n = len(gen.images)
        text = f"{n} image{'s' if n != 1 else ''} in {took:.1f} s"
        if gen.cached:
            text = f"{n} image{'s' if n != 1 else ''} from the cache (no cost)"
        self.spent += gen.cost
        self.billed += gen.billed or 0.0
        state: dict[str, Any] = {"elapsed": took}
        if not provider.offline:
            state["cost_text"] = self.cost_text()
        if gen.errors:
            text += f"; {len(gen.errors)} failed"
            state["error"] = describe_error(gen.errors[0], provider, partial=True)
        if gen.withheld:
            text += f"; {gen.withheld_note}"
        if notes:
            text += "; " + "; ".join(notes)
        self.state(**state, status_text=text, status="done")

    def cost_text(self) -> str:
        """This session's cost: the estimate, and what the host billed where it says."""
        text = f"this session ≈ {format_cost(self.spent)}"
        return text + (f" · billed {format_cost(self.billed)}" if self.billed else "")

    # -- paid runs from before a restart ------------------------------------------------

    def collect_paid(self) -> None:
        """Generations paid for before a restart (or a run that stopped
        waiting), still at the host: collected in the background, each into
        the history as it arrives, the status saying so."""
        if self.panel._client.provider.offline or self.loop is None or not self.loop.is_running():
            return
        task = self.loop.create_task(self._collect())
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    async def _collect(self) -> None:
        client = self.panel._client
        try:
            waiting = await client.unfinished()
            if not waiting:
                return
            plural = "s are" if waiting != 1 else " is"
            self.state(
                status_text=f"{waiting} paid generation{plural} from before the restart "
                "still being collected"
            )
            found = await client.resume(on_generation=self._collected)
        except Exception as e:  # what cannot be collected now waits in the ledger
            self.state(status_text=f"Paid generations from before could not be collected: {e}")
            return
        if found and not self.results.running:
            n = len(found)
            self.state(
                status_text=f"{n} paid generation{'s' if n != 1 else ''} from before the "
                "restart collected: in the history"
            )

    def _collected(self, gen: Generation) -> None:
        entry = next(self.results.ids)
        self.add_to_history(gen, entry)

    def state(self, **traits: Any) -> None:
        """Set the traits the view shows. An observer that raises (a user's
        ``observe`` callback) is reported as a warning and cannot stop a run:
        the value is set and already on its way to the browser."""
        for name, value in traits.items():
            try:
                self.panel.set_trait(name, value)
            except Exception as e:
                warnings.warn(
                    f"an observer of FluxPanel.{name} raised {type(e).__name__}: {e}",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def fail(self, error: BaseException, *, after: str = "", beside: bool = False) -> None:
        """Show ``error`` in the panel: ``beside`` its field when it is about a
        setting of the form (Generate's checks), else in the status."""
        described = describe_error(error, self.panel._client.provider)
        if after:
            described["message"] = after + described["message"]
        state: dict[str, Any] = {"error": described, "status_text": "", "status": "error"}
        if beside and isinstance(error, ValidationError) and error.field:
            # Said once, beside its field, in a person's words; the status
            # points there, and clears when the settings are right again.
            said = self.panel._session.words(error.field, error)
            self.panel._session.revalidate()  # every field that needs something, at once
            errors = {**self.panel.field_errors, error.field: said}
            state.update(error={}, status_text=FIX, field_errors=errors)
        self.state(**state)

    # -- what the view shows of results -------------------------------------------------

    def drop_tiles(self) -> None:
        for tile in self.panel._tiles:
            tile["ref"].close()  # frees the comm and the bytes in the browser
        self.results.shown = {}
        self.panel._tiles = []

    def add_to_history(self, gen: Generation, entry: int) -> None:
        self.results.store.add(entry, gen)
        if not gen.images:
            return
        # From the display-size preview already made: no second full decode.
        key = f"{entry}-{gen.images[0].index}"
        first = next((t for t in self.panel._tiles if t["key"] == key), None)
        thumb = display_copy(first["ref"].value if first else gen.images[0].data, "thumb")
        item = {
            "id": entry,
            "ref": Bytes(value=thumb.data),
            "mime": thumb.mime,
            "thumb_width": thumb.width,
            "thumb_height": thumb.height,
            "model": gen.request.model,
            "seed": gen.request.seed,
            "prompt": gen.request.caption[:300],
            "count": len(gen.images),
            "created": gen.created,
        }
        self.panel._history = [*self.panel._history, item]

    def show(self, gen: Generation, entry: int, *, tiles_ready: bool = False) -> None:
        """Show ``gen`` (history entry ``entry``) as the result."""
        panel = self.panel
        if not tiles_ready:
            self.drop_tiles()
            tiles = [make_tile(img, entry, display_copy(img.data, "preview")) for img in gen.images]
            self.results.shown = {
                tile["key"]: img for tile, img in zip(tiles, gen.images, strict=True)
            }
            panel._tiles = tiles
        self.results.current = gen
        panel.set_trait("history_current", entry)
        panel.set_trait("result_code", gen.to_code())
        panel.set_trait("result_prompt", gen.expanded_prompt)
        panel.set_trait("result_boxes", boxes_json(gen.boxes))
        panel._static.refresh()

    def load(self, entry: int) -> Generation:
        """History entry ``entry`` (the shown one from memory, others from disk)."""
        if self.results.current is not None and entry == self.panel.history_current:
            return self.results.current
        return self.results.store.load(entry, models=self.panel._client.provider.models)

    def restore(self, entry: int | Generation) -> None:
        """Show a past generation again and set every parameter to its values."""
        if isinstance(entry, Generation):
            ids = [
                i
                for i, item in zip(self.results.store.ids, self.panel._history, strict=False)
                if item["seed"] == entry.request.seed and item["created"] == entry.created
            ]
            if not ids:
                raise ValueError("that generation is not in this panel's history")
            entry = ids[0]
        if entry not in self.results.store.ids:
            raise ValueError(f"no history entry {entry}")
        gen = self.load(entry)
        self.panel._editing.apply_request(gen.request)
        self.show(gen, entry)

    def save(self, folder: str | Path | None = None) -> Path:
        """Write the shown result (images and manifest) to ``folder``; by default
        a new folder under the panel's ``export_dir``."""
        gen = self.results.current
        if gen is None:
            raise FluxError("there is no result to save yet")
        if folder is None:
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(gen.created))
            base = Path(self.panel.export_dir) / f"{gen.request.model}-{gen.request.seed}-{stamp}"
            folder = next(
                f
                for f in (base, *(base.with_name(f"{base.name}-{i}") for i in range(2, 10_000)))
                if not f.exists()
            )
        gen.save(folder)
        return Path(folder)

    def save_from_view(self) -> None:
        try:
            folder = self.save()
        except (FluxError, OSError) as e:
            self.fail(e)
            return
        n = len(self.results.current.images) if self.results.current else 0
        self.panel.set_trait(
            "status_text", f"Saved {n} image{'s' if n != 1 else ''} and manifest.json to {folder}"
        )

    def send_original(self, content: dict[str, Any]) -> None:
        """The full-resolution original of a shown image, with its request embedded."""
        token = content.get("token")
        image = self.results.shown.get(str(content.get("key")))
        if image is None:
            self.panel.send(
                {"type": "original", "token": token, "error": "that image is no longer here"}
            )
            return
        self.panel.send(
            {"type": "original", "token": token, "mime": image.mime, "name": image.default_name()},
            buffers=[image.to_bytes()],
        )

    def send_before(self, content: dict[str, Any]) -> None:
        """The image a shown result was made from (an edit's input), at a
        size to set beside it in the larger view: made off the loop."""
        token = content.get("token")
        image = self.results.shown.get(str(content.get("key")))
        source = before_of(image)
        if source is None:
            error = "it was made from no image"
            self.panel.send({"type": "before", "token": token, "error": error})
            return

        def answer(made: Callable[[], Any]) -> None:
            try:
                small = made()
            except Exception as e:  # an input Pillow cannot read again: said, not raised
                self.panel.send({"type": "before", "token": token, "error": str(e)})
                return
            self.panel.send(
                {"type": "before", "token": token, "mime": small.mime}, buffers=[small.data]
            )

        off_loop(lambda: shrink(source.data, BEFORE_SIDE), answer)

    def close(self) -> None:
        self.cancel()
        self.results.store.close()


class Arrivals:
    """What a run shows as it goes: each image as a tile the moment it comes,
    and the host's progress."""

    def __init__(self, runs: Runs, entry: int) -> None:
        self.runs = runs
        self.entry = entry
        self.tiles: list[dict[str, Any]] = []

    async def image(self, image: GeneratedImage) -> None:
        # Shrunk off the loop; the model that carries it is made here, on the
        # widget's own thread (marimo sends a model's open message only from
        # the thread that holds its runtime context).
        small = await asyncio.to_thread(display_copy, image.data, "preview")
        tile = make_tile(image, self.entry, small)
        if not self.tiles:
            self.runs.drop_tiles()
        self.tiles.append(tile)
        self.runs.results.shown[tile["key"]] = image
        self.runs.panel._tiles = sorted(self.tiles, key=lambda x: x["index"])

    async def progress(self, progress: Progress) -> None:
        self.runs.state(progress=progress_view(progress))
