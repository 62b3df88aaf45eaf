"""``FluxPanel``: the control panel widget, a thin view over the client.

The traits are the generation parameters; the front end builds its controls
from the synced ``spec`` trait. Generation runs as a task on the kernel's
event loop, so the kernel stays free. Images reach the browser as bytes in
small child models (binary buffers, each sent once), and a static HTML copy of
the latest result travels with the display so saved notebooks show it without
a kernel.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import difflib
import secrets
import time
import warnings
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anywidget
import ipywidgets
import traitlets as t

from ._boxes import boxes_json
from ._client import AsyncFluxClient
from ._errors import (
    ConfigError,
    FluxError,
    ValidationError,
)
from ._panel_inputs import Thumbnails, Uploads
from ._panel_messages import ViewMessages
from ._panel_state import Offered, Results, Settings, defaults, param_traits, tables
from ._panel_view import (
    Bytes,
    describe_error,
    display_copy,
    make_tile,
    progress_view,
    provider_info,
    running_loop,
)
from ._pricing import format_cost
from ._request import (
    DEFAULT_MODEL,
    GenerationRequest,
    all_param_names,
    default_model,
    field_errors,
    resolve,
)
from ._results import GeneratedImage, Generation, seed_words
from ._snippet import request_code
from ._spec import models_to_json
from ._traits import InputTrait
from .providers import Progress, Provider

if TYPE_CHECKING:
    pass

_STATIC = Path(__file__).parent / "static"

#: Shared by every model; not remembered per model.
#: Traits a user may pass to the constructor besides the model's parameters.
_EXTRA_ARGS = ("model", "seed_mode")


class FluxPanel(ViewMessages, anywidget.AnyWidget):
    """A control panel for FLUX image generation.

    ``FluxPanel(model="flux_dev", prompt="...", provider=None)``: parameters
    preset the controls; ``provider`` is a provider object or name (by default
    the FLUX API when ``$FLUX_API_KEY`` is set, else the offline preview).
    Traits are public: set ``panel.prompt``, observe them, link them to other
    widgets. ``await panel.agenerate()`` runs a generation and returns it.
    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    # -- the model and seed mode; every model parameter is a trait made from the
    # offered providers' tables when the panel is made (see _traits) ------------
    model = t.Unicode(DEFAULT_MODEL, help="The model id.").tag(sync=True)
    seed_mode = t.Enum(
        ("random", "fixed"), "random", help="'random': a new seed each time; 'fixed': reuse."
    ).tag(sync=True)
    #: Every parameter name the panel has a trait for (the front end listens to each).
    param_names = t.List(t.Unicode(), read_only=True).tag(sync=True)

    # -- what the view shows --------------------------------------------------------
    spec = t.Dict(help="The provider's capability table, as JSON (read-only).").tag(sync=True)
    provider_info = t.Dict(help="Name and label of the provider in use.").tag(sync=True)
    provider_name = t.Unicode(help="The provider in use; set it to switch.").tag(sync=True)
    providers = t.List(
        t.Dict(), read_only=True, help="The providers this panel can switch between."
    ).tag(sync=True)
    status = t.Enum(("idle", "running", "done", "error", "cancelled"), "idle", read_only=True).tag(
        sync=True
    )
    status_text = t.Unicode("", read_only=True).tag(sync=True)
    elapsed = t.Float(0.0, read_only=True, help="Seconds the last run took.").tag(sync=True)
    progress = t.Dict(
        read_only=True,
        help="How far the running generation is, as the host says: phase, text, "
        "fraction (0-1, when known), expected seconds (from recent runs here).",
    ).tag(sync=True)
    expected = t.Int(0, read_only=True).tag(sync=True)
    error = t.Dict(read_only=True, help="The last error, for people: title, message.").tag(
        sync=True
    )
    field_errors = t.Dict(read_only=True, help="Validation messages by parameter.").tag(sync=True)
    inputs = t.Dict(
        read_only=True,
        help="What the view shows of each input image, by parameter: a thumbnail, "
        "its size, name and sha256 (never the image's bytes).",
    ).tag(sync=True)
    code = t.Unicode("", read_only=True, help="Python for the current settings.").tag(sync=True)
    result_code = t.Unicode("", read_only=True, help="Python that reproduces the last result.").tag(
        sync=True
    )
    cost_text = t.Unicode("", read_only=True).tag(sync=True)
    estimate_text = t.Unicode(
        "", read_only=True, help="What the current settings are expected to cost, before Generate."
    ).tag(sync=True)
    result_prompt = t.Unicode(
        "", read_only=True, help="The prompt as the host expanded it for the last result."
    ).tag(sync=True)
    result_boxes = t.List(
        t.Dict(), read_only=True, help="Where each element of the last result is (FLUX 3's boxes)."
    ).tag(sync=True)
    history_current = t.Int(-1, read_only=True).tag(sync=True)
    #: Names this panel's static copy, so the live view hides exactly that copy
    #: in any front end (JupyterLab, Notebook 7, nbclassic, Voila, marimo).
    _static_id = t.Unicode(read_only=True).tag(sync=True)
    #: The result a view has shown, written by the view: in marimo a change
    #: from the browser is what runs again the cells that read the panel.
    _result_shown = t.Int(-1).tag(sync=True)
    _tiles = t.List(t.Dict()).tag(sync=True, **ipywidgets.widget_serialization)
    _history = t.List(t.Dict()).tag(sync=True, **ipywidgets.widget_serialization)

    def __init__(
        self,
        *,
        provider: Provider | str | None = None,
        client: AsyncFluxClient | None = None,
        providers: list[Provider | str] | None = None,
        **params: Any,
    ) -> None:
        self._settings = Settings()
        self._uploads = Uploads()
        self._thumbs = Thumbnails()
        self._switching = True  # the constructor's values are final: no carrying over
        self._results = Results()
        self._displays: list[Any] = []
        self._background: set[asyncio.Future[Any]] = set()
        self._spent = 0.0
        #: Where "Save all" writes, relative to the kernel's working folder.
        self.export_dir = "fluxpanel-exports"
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        if client is not None and provider is not None:
            raise ConfigError("pass either provider= or client=, not both")
        if client is None:
            from .providers import PreviewNotice

            # Without a key the panel's own banner says so: no second notice.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PreviewNotice)
                client = AsyncFluxClient(provider=provider)
        self._offered = Offered(client, providers)
        models = client.provider.models
        allowed = [*_EXTRA_ARGS, *all_param_names(models)]
        unknown = [k for k in params if k not in allowed]
        if unknown:
            hints = [difflib.get_close_matches(k, allowed, n=1) for k in unknown]
            hint = "".join(f" (did you mean {h[0]!r}?)" for h in hints if h)
            raise TypeError(
                f"FluxPanel() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}"
                f"{hint}; it takes provider=, client= and: {', '.join(allowed)}"
            )
        model = params.pop("model", default_model(models))
        seed_mode = params.pop("seed_mode", "fixed" if params.get("seed") is not None else "random")
        # Validate what was given exactly as a request would (raises ValidationError).
        # (an image a model requires may come later, from the view; the prompt
        # is the panel's for every model, kept aside by one that takes none).
        spec = models.get(model) if isinstance(model, str) else None
        if spec is not None and not spec.supports("prompt"):
            checked = {k: v for k, v in params.items() if k != "prompt"}
        else:
            checked = {"prompt": "x", **params}
        preset = resolve(models, model, checked, require_inputs=False)
        values = {
            **defaults(models[model]),
            **{k: v for k, v in preset.items() if k in params or k != "prompt"},
        }
        values["prompt"] = params.get("prompt", "")

        super().__init__(model=model, seed_mode=seed_mode)
        self.set_trait("_static_id", secrets.token_hex(8))
        self._add_param_traits()
        with self.hold_trait_notifications():
            for name, value in values.items():
                setattr(self, name, value)
        self._switching = False
        self._show_provider()
        self.set_trait("providers", self._offered.describe())
        self.on_msg(self._on_message)
        self._revalidate()

    # -- the Python API ---------------------------------------------------------------

    @property
    def _client(self) -> AsyncFluxClient:
        """The client of the provider in use."""
        return self._offered.client

    @property
    def provider(self) -> Provider:
        """The provider in use (``provider_name`` switches it)."""
        return self._client.provider

    @property
    def models(self) -> dict[str, Any]:
        """The capability table of the provider in use."""
        return dict(self._client.provider.models)

    @property
    def params(self) -> dict[str, Any]:
        """The current value of every parameter the current model takes (those
        that apply with the others' values: a width only with a custom size)."""
        spec = self._client.provider.models.get(self.model)
        if spec is None:
            return {}
        values = {name: getattr(self, name) for name in spec.params}
        return {name: values[name] for name in spec.applicable(values)}

    @property
    def request(self) -> GenerationRequest:
        """The request for the current settings (a fresh random seed in random mode)."""
        params = self.params
        if self.seed_mode == "random":
            params["seed"] = None
        return self._client.request(model=self.model, **params)

    @property
    def result(self) -> Generation | None:
        """The generation shown now (the last one, or one restored from history)."""
        return self._results.current

    @property
    def images(self) -> list[GeneratedImage]:
        """The full-resolution images of :attr:`result`."""
        return list(self._results.current.images) if self._results.current else []

    @property
    def history(self) -> list[Generation]:
        """Every generation this panel made, oldest first (read from disk:
        full-resolution originals are not kept in memory)."""
        return [self._load(i) for i in self._results.store.ids]

    def _load(self, entry: int) -> Generation:
        if self._results.current is not None and entry == self.history_current:
            return self._results.current
        return self._results.store.load(entry, models=self._client_for_entry().provider.models)

    def _client_for_entry(self) -> AsyncFluxClient:
        return self._client

    @property
    def running(self) -> bool:
        """Whether a generation is running now."""
        return self._results.task is not None and not self._results.task.done()

    def generate(self) -> concurrent.futures.Future[Generation | None]:
        """Start a generation in the background, as the Generate button does.

        It runs on the kernel's event loop, so the kernel stays free for other
        cells. Errors are shown in the panel, not raised; the returned future
        gives the :class:`Generation` (or ``None`` when it failed).
        """
        home = self._home()
        return asyncio.run_coroutine_threadsafe(self._run_quietly(), home)

    async def agenerate(self) -> Generation:
        """Generate with the current settings and return the :class:`Generation`.

        Errors are shown in the panel and raised.
        """
        home = self._home()
        if asyncio.get_running_loop() is not home:
            return await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(self.agenerate(), home)
            )
        if self.running:
            raise FluxError("a generation is already running in this panel; cancel it first")
        self._results.task = asyncio.ensure_future(self._run())
        return await self._results.task

    def cancel(self) -> bool:
        """Cancel the running generation, if any. Images that already arrived stay."""
        task = self._results.task
        if task is None or task.done():
            return False
        home = self._home()
        try:
            on_home = asyncio.get_running_loop() is home
        except RuntimeError:
            on_home = False
        if on_home:
            task.cancel()
        else:
            home.call_soon_threadsafe(task.cancel)
        return True

    def _home(self) -> asyncio.AbstractEventLoop:
        """The loop generations run on: the kernel's main loop, where the panel
        was made. Comm messages may arrive on other threads (kernel subshells)."""
        if self._loop is None or self._loop.is_closed():
            self._loop = running_loop()
        return self._loop

    def restore(self, entry: int | Generation) -> None:
        """Show a past generation again and set every parameter to its values.
        ``entry`` is a history id or a :class:`Generation` from :attr:`history`."""
        if isinstance(entry, Generation):
            ids = [
                i
                for i, item in zip(self._results.store.ids, self._history, strict=False)
                if item["seed"] == entry.request.seed and item["created"] == entry.created
            ]
            if not ids:
                raise ValueError("that generation is not in this panel's history")
            entry = ids[0]
        if entry not in self._results.store.ids:
            raise ValueError(f"no history entry {entry}")
        gen = self._load(entry)
        self._apply_request(gen.request)
        self._show_result(gen, entry)

    def save(self, folder: str | Path | None = None) -> Path:
        """Write the shown result (images and manifest) to ``folder``; by default
        a new folder under :attr:`export_dir`. Returns the folder."""
        gen = self._results.current
        if gen is None:
            raise FluxError("there is no result to save yet")
        if folder is None:
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(gen.created))
            base = Path(self.export_dir) / f"{gen.request.model}-{gen.request.seed}-{stamp}"
            folder = next(
                f
                for f in (base, *(base.with_name(f"{base.name}-{i}") for i in range(2, 10_000)))
                if not f.exists()
            )
        gen.save(folder)
        return Path(folder)

    def close(self) -> None:
        self.cancel()
        self._results.store.close()
        for entry in [*self._tiles, *self._history]:
            entry["ref"].close()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            loop.create_task(self._client.aclose())
        super().close()

    # -- settings ------------------------------------------------------------------------

    def _apply_request(self, request: GenerationRequest) -> None:
        self._switching = True
        try:
            with self.hold_trait_notifications():
                self.model = request.model
                for name, value in request.params.items():
                    setattr(self, name, value)
                self.seed_mode = "fixed"
        finally:
            self._switching = False
        self._revalidate()

    @t.observe("model")
    def _on_model(self, change: dict[str, Any]) -> None:
        if self._switching:
            return
        models = self._client.provider.models
        old, new = models.get(change["old"]), models.get(change["new"])
        get = partial(getattr, self)
        if old is not None:
            self._settings.leave(old, get)
        if new is not None:
            self._set_params(self._settings.arrive(old, new, get))
        self._revalidate()

    def _set_params(self, values: dict[str, Any], model: str | None = None) -> None:
        """Set parameters (and the model) at once, as one change: nothing
        carries over while they are set."""
        self._switching = True
        try:
            with self.hold_trait_notifications():
                if model is not None:
                    self.model = model
                for k, v in values.items():
                    setattr(self, k, v)
        finally:
            self._switching = False

    def _show_provider(self) -> None:
        provider = self._client.provider
        self.set_trait("spec", models_to_json(provider.models))
        self.set_trait("provider_info", provider_info(provider))
        self._switching, was = True, self._switching
        try:
            self.provider_name = provider.name
        finally:
            self._switching = was

    @t.observe("provider_name")
    def _on_provider(self, change: dict[str, Any]) -> None:
        if self._switching or change["new"] == self._client.provider.name:
            return
        provider = self._offered.get(change["new"])
        if provider is None or self.running:
            self._show_provider()  # put the selector back
            why = (
                "cancel the running generation before switching provider"
                if provider is not None
                else f"provider {change['new']!r} is not offered here; choose one of: "
                + ", ".join(self._offered.names())
            )
            self._fail(ConfigError(why))
            return
        self.switch_provider(provider)

    def switch_provider(self, provider: Provider | str) -> None:
        """Use another provider: the controls follow its capability table, and
        the settings carry over as closely as its ranges allow."""
        before = self._client.provider.models.get(self.model)
        client = self._offered.use(provider)
        self._add_param_traits()  # a provider given here may take new parameters
        models = client.provider.models
        model = self.model if self.model in models else next(iter(models))
        values, lost = self._settings.switch(before, models[model], partial(getattr, self))
        self._set_params(values, model)
        self._show_provider()
        self.set_trait("providers", self._offered.describe())
        self.set_trait("error", {})
        note = f"; no equivalent there for {', '.join(lost)}" if lost else ""
        self.set_trait("status_text", f"Now using {client.provider.label}{note}")
        self._revalidate()

    def _add_param_traits(self) -> None:
        """A synced trait for every parameter of every offered provider's
        table not yet a trait here: ``panel.raw = True``, ``observe`` and
        ``traitlets.link`` work for each."""
        kinds = param_traits(tables(self._offered))
        new = {
            n: kind.trait(f"{p.label}: {p.help}")
            for n, (kind, p) in kinds.items()
            if not self.has_trait(n)
        }
        if new:
            self.add_traits(**new)
            images = [n for n in new if kinds[n][0].takes_images]
            self.observe(self._on_param, names=[n for n in new if n not in images])
            if images:
                self.observe(self._on_input, names=images)
        self.set_trait("param_names", list(dict.fromkeys([*self.param_names, *kinds])))

    @t.observe("seed_mode")
    def _on_param(self, change: dict[str, Any]) -> None:
        if not self._switching:
            self._revalidate()

    def _on_input(self, change: dict[str, Any]) -> None:
        """An input image changed (from Python or the view): the view is shown
        its thumbnail and digest."""
        self._show_inputs()
        self._on_param(change)

    def _show_inputs(self) -> None:
        """Tell the view what each image parameter holds. Thumbnails of new
        images are made off the loop's thread and shown when ready: the
        input is usable at once."""
        names = [n for n in self.param_names if isinstance(self.traits().get(n), InputTrait)]
        values = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        self.set_trait("inputs", {n: self._thumbs.of(v, make=False) for n, v in values.items()})
        waiting = [v for v in values.values() if not self._thumbs.ready(v)]
        if not waiting:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:  # plain Python: make them now
            for value in waiting:
                self._thumbs.of(value)
            self._show_inputs()
            return
        work = loop.run_in_executor(None, lambda: [self._thumbs.of(v) for v in waiting])
        work.add_done_callback(lambda f: f.exception() is None and self._show_inputs())

    def _revalidate(self) -> None:
        models = self._client.provider.models
        params = self.params
        errors = field_errors(models, self.model, params)
        self.set_trait("field_errors", errors)
        if errors:
            self.set_trait("code", "# Fix the highlighted settings to see the code.\n")
            return
        request = GenerationRequest(self.model, models=models, **params)
        code = request_code(request, self._client.provider, seed=self.seed_mode == "fixed")
        self.set_trait("code", code)
        provider = self._client.provider
        cost = self._client.estimate_cost(request)
        estimate = "" if provider.offline else f"≈ {format_cost(cost)} at {provider.label}"
        self.set_trait("estimate_text", estimate)

    # -- running a generation ----------------------------------------------------------------

    async def _run_quietly(self) -> Generation | None:
        if self.running:
            return None
        self._results.task = asyncio.ensure_future(self._run())
        try:
            return await self._results.task
        except (FluxError, asyncio.CancelledError):
            return None  # shown in the panel
        except Exception:
            return None  # shown in the panel as an unexpected error

    async def _run(self) -> Generation:
        try:
            return await self._attempt()
        finally:
            # Whatever happened (a user's observer raising, a disk error), the
            # run ends in a terminal state and Generate works again.
            if self.status == "running":
                self._set_state(status="error")

    async def _attempt(self) -> Generation:
        try:
            request = self._prepare()
        except ValidationError as e:
            self._fail(e)
            raise
        entry = next(self._results.ids)
        fresh: list[dict[str, Any]] = []
        started = time.perf_counter()

        async def arrived(image: GeneratedImage) -> None:
            # Shrunk off the loop; the model that carries it is made here, on
            # the widget's own thread (marimo sends a model's open message only
            # from the thread that holds its runtime context).
            small = await asyncio.to_thread(display_copy, image.data, "preview")
            tile = make_tile(image, entry, small)
            if not fresh:
                self._drop_tiles()
            fresh.append(tile)
            self._results.shown[tile["key"]] = image
            self._tiles = sorted(fresh, key=lambda x: x["index"])

        async def moved(progress: Progress) -> None:
            self._set_state(progress=progress_view(progress))

        try:
            expected = self._client.expected_seconds(request)
            self._set_state(
                error={},
                status_text="Generating",
                expected=request.count,
                elapsed=0.0,
                progress={"phase": "submitting", "text": "Submitting", "expected": expected},
                status="running",
            )
            # A model without a seed draws anew on each Generate (the cache
            # still answers the same request made from code).
            draw_anew = not request.spec.supports("seed")
            gen = await self._client.generate(
                request, on_image=arrived, on_progress=moved, fresh=draw_anew
            )
        except asyncio.CancelledError:
            kept = " (images that arrived are kept)" if fresh else ""
            note = self._client.provider.cancel_note
            self._set_state(
                elapsed=time.perf_counter() - started,
                status_text="Cancelled" + kept + (f". {note}" if note else ""),
                status="cancelled",
            )
            raise
        except Exception as e:
            self._set_state(elapsed=time.perf_counter() - started)
            self._fail(e)
            raise
        # The host has billed: from here on nothing may lose the images.
        try:
            self._finish(gen, entry, started)
        except Exception as e:
            self._results.current = gen
            self._fail(e, after="The images arrived and are kept (panel.result), but ")
        return gen

    def _finish(self, gen: Generation, entry: int, started: float) -> None:
        notes = []
        try:
            self._add_to_history(gen, entry)
        except Exception as e:  # a full disk, a removed temporary folder
            notes.append(f"not kept in the history ({type(e).__name__}: {e})")
        self._show_result(gen, entry, tiles_ready=True)
        took = gen.timings.get("total", time.perf_counter() - started)
        n = len(gen.images)
        text = f"{n} image{'s' if n != 1 else ''} in {took:.1f} s"
        if gen.cached:
            text = f"{n} image{'s' if n != 1 else ''} from the cache (no cost)"
        self._spent += gen.cost
        state: dict[str, Any] = {"elapsed": took}
        if not self._client.provider.offline:
            state["cost_text"] = f"this session ≈ {format_cost(self._spent)}"
        if gen.errors:
            text += f"; {len(gen.errors)} failed"
            state["error"] = describe_error(gen.errors[0], self._client.provider, partial=True)
        if gen.withheld:
            text += f"; {gen.withheld_note}"
        if notes:
            text += "; " + "; ".join(notes)
        self._set_state(**state, status_text=text, status="done")

    def _set_state(self, **traits: Any) -> None:
        """Set the traits the view shows. An observer that raises (a user's
        ``observe`` callback) is reported as a warning and cannot stop a run:
        the value is set and already on its way to the browser."""
        for name, value in traits.items():
            try:
                self.set_trait(name, value)
            except Exception as e:
                warnings.warn(
                    f"an observer of FluxPanel.{name} raised {type(e).__name__}: {e}",
                    RuntimeWarning,
                    stacklevel=2,
                )

    def _prepare(self) -> GenerationRequest:
        params = self.params
        if self.seed_mode == "random":
            params["seed"] = None
        request = self._client.request(model=self.model, **params)
        if self.seed_mode == "random" and request.spec.supports("seed"):
            self._switching = True
            try:
                self.seed = request.seed  # the seed shown is the one that makes the image
            finally:
                self._switching = False
        return request

    def _fail(self, error: BaseException, *, after: str = "") -> None:
        described = describe_error(error, self._client.provider)
        if after:
            described["message"] = after + described["message"]
        state: dict[str, Any] = {"error": described, "status_text": "", "status": "error"}
        if isinstance(error, ValidationError) and error.field:
            state["field_errors"] = {**self.field_errors, error.field: str(error)}
        self._set_state(**state)

    def _drop_tiles(self) -> None:
        for tile in self._tiles:
            tile["ref"].close()  # frees the comm and the bytes in the browser
        self._results.shown = {}
        self._tiles = []

    def _add_to_history(self, gen: Generation, entry: int) -> None:
        self._results.store.add(entry, gen)
        if gen.images:
            # From the display-size preview already made: no second full decode.
            first = next(
                (t for t in self._tiles if t["key"] == f"{entry}-{gen.images[0].index}"), None
            )
            source = first["ref"].value if first is not None else gen.images[0].data
            thumb = display_copy(source, "thumb")
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
            self._history = [*self._history, item]

    def _show_result(self, gen: Generation, entry: int, *, tiles_ready: bool = False) -> None:
        if not tiles_ready:
            self._drop_tiles()
            tiles = [make_tile(img, entry, display_copy(img.data, "preview")) for img in gen.images]
            self._results.shown = {
                tile["key"]: img for tile, img in zip(tiles, gen.images, strict=True)
            }
            self._tiles = tiles
        self._results.current = gen
        self.set_trait("history_current", entry)
        self.set_trait("result_code", gen.to_code())
        self.set_trait("result_prompt", gen.expanded_prompt)
        self.set_trait("result_boxes", boxes_json(gen.boxes))
        self._refresh_displays()

    # -- display, and the static copy for saved notebooks ---------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return None
        data, metadata = bundle
        # Where widgets can't render (nbconvert, GitHub), this note shows in
        # place of the panel, and the static copy displayed after it below.
        data["text/plain"] = repr(self)
        data["text/html"] = (
            "<p><em>FluxPanel: an interactive panel, shown live when the notebook runs.</em></p>"
        )
        return data, metadata

    def _ipython_display_(self, **kwargs: Any) -> None:
        """Show the live panel, and after it a static copy of the latest result
        in an output of its own. The copy is kept up to date and hidden where
        the live panel renders, so saved notebooks show the result without a
        kernel, and the live view is never re-rendered."""
        from IPython.display import display

        bundle = self._repr_mimebundle_()
        if bundle is None:
            return
        data, metadata = bundle
        display(data, metadata=metadata, raw=True)
        handle = display(self._static_bundle(), raw=True, display_id=True)
        if handle is not None:
            self._displays.append(handle)

    def _static_bundle(self) -> dict[str, str]:
        gen = self._results.current
        text = f"FluxPanel: {gen!r}" if gen is not None else ""
        return {"text/html": self._static_html(), "text/plain": text}

    def _refresh_displays(self) -> None:
        if self._displays:
            bundle = self._static_bundle()
            for handle in self._displays:
                handle.update(bundle, raw=True)

    def __repr__(self) -> str:
        return f"FluxPanel(model={self.model!r}, provider={self._client.provider.name!r})"

    def _static_html(self) -> str:
        from . import _html
        from ._previews import PREVIEW_SIDE

        gen = self._results.current
        if gen is None:
            return f'<div class="fluxpanel-static" data-fluxpanel-static="{self._static_id}"></div>'
        tiles = {tile["index"]: tile for tile in self._tiles}
        cells = []
        for img in gen.images:
            tile = tiles.get(img.index)
            data = tile["ref"].value if tile is not None else img.data
            mime = tile["mime"] if tile is not None else img.mime
            caption = f"{seed_words(img.seed)} · {gen.request.model}"
            if len(gen.images) > 1:
                caption += f" · #{img.index + 1}"
            width = PREVIEW_SIDE if len(gen.images) == 1 else PREVIEW_SIDE // 2
            cells.append(
                _html.figure(_html.data_uri(data, mime), gen.request.caption, caption, width)
            )
        cells += [_html.failed(str(e), 200) for e in gen.errors]
        return (
            f'<div class="fluxpanel-static" data-fluxpanel-static="{self._static_id}" '
            'style="font-family:system-ui,sans-serif">'
            f"<p><strong>FluxPanel</strong> · {_html.text(self._client.provider.label)}"
            " · the latest result</p>"
            + _html.grid(cells)
            + _html.notes(gen.notes)
            + "<p style='margin:8px 0 2px'>Reproduce it with:</p>"
            + _html.code_block(gen.to_code())
            + "</div>"
        )
