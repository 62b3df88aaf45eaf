"""``FluxPanel``: the control panel widget, a view over a session, its runs
and its editing.

The traits are the generation parameters (made from the offered providers'
tables, each documented by its row) and what the view shows; the front end
builds its controls from the synced ``spec`` trait. What the panel does lives
in objects it holds: :class:`~fluxpanel._session.Session` (providers and
per-model memory), :class:`~fluxpanel._runs.Runs` (a generation's life),
:class:`~fluxpanel._editing.Editing` (input images, boxes),
:class:`~fluxpanel._messages.Inbox` (the view's messages) and
:class:`~fluxpanel._static_copy.StaticCopy` (the result for saved notebooks).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import warnings
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import traitlets as t

from ._client import AsyncFluxClient
from ._editing import Editing
from ._errors import ConfigError
from ._messages import Inbox
from ._request import DEFAULT_MODEL, GenerationRequest
from ._results import GeneratedImage, Generation
from ._runs import Runs
from ._session import Offered, Session, starting_values
from ._static_copy import StaticCopy
from .providers import PreviewNotice, Provider

_STATIC = Path(__file__).parent / "static"


class FluxPanel(anywidget.AnyWidget):
    """A control panel for FLUX image generation.

    ``FluxPanel(model="flux_dev", prompt="...", provider=None)``: parameters
    preset the controls; ``provider`` is a provider object or name (by default
    the FLUX API when ``$FLUX_API_KEY`` is set, else the offline preview).
    Traits are public: set ``panel.prompt``, observe them, link them to other
    widgets. ``await panel.agenerate()`` runs a generation and returns it.
    """

    _esm = _STATIC / "widget.js"
    _css = _STATIC / "widget.css"

    model = t.Unicode(DEFAULT_MODEL, help="The model id.").tag(sync=True)
    """The model id (every other parameter is a trait made from the tables)."""
    seed_mode = t.Enum(("random", "fixed"), "random").tag(sync=True)
    """``"random"``: a new seed for each generation; ``"fixed"``: the seed as set."""
    param_names = t.List(t.Unicode(), read_only=True).tag(sync=True)
    """Every parameter the panel has a trait for (the view listens to each)."""
    spec = t.Dict().tag(sync=True)
    """The provider's capability table, as JSON (read-only)."""
    provider_info = t.Dict().tag(sync=True)
    """Name and label of the provider in use."""
    provider_name = t.Unicode().tag(sync=True)
    """The provider in use; set it to switch."""
    providers = t.List(t.Dict(), read_only=True).tag(sync=True)
    """The providers this panel can switch between."""
    status = t.Enum(("idle", "running", "done", "error", "cancelled"), "idle", read_only=True).tag(
        sync=True
    )
    """Where the panel is: idle, running, or how the last run ended."""
    status_text = t.Unicode("", read_only=True).tag(sync=True)
    """What the panel is doing, or did last, in words."""
    elapsed = t.Float(0.0, read_only=True).tag(sync=True)
    """Seconds the last run took."""
    progress = t.Dict(read_only=True).tag(sync=True)
    """How far the running generation is, as the host says: phase, text,
    fraction (0-1, when known), expected seconds (from recent runs here)."""
    expected = t.Int(0, read_only=True).tag(sync=True)
    """Images the running generation makes."""
    error = t.Dict(read_only=True).tag(sync=True)
    """The last error, for people: title, message."""
    field_errors = t.Dict(read_only=True).tag(sync=True)
    """Validation messages by parameter."""
    inputs = t.Dict(read_only=True).tag(sync=True)
    """What the view shows of each input image, by parameter: a thumbnail, its
    size, name and sha256 (never the image's bytes)."""
    code = t.Unicode("", read_only=True).tag(sync=True)
    """Python for the current settings."""
    result_code = t.Unicode("", read_only=True).tag(sync=True)
    """Python that reproduces the last result."""
    cost_text = t.Unicode("", read_only=True).tag(sync=True)
    """What this panel's generations cost so far, estimated."""
    estimate_text = t.Unicode("", read_only=True).tag(sync=True)
    """What the current settings are expected to cost, before Generate."""
    result_prompt = t.Unicode("", read_only=True).tag(sync=True)
    """The prompt as the host expanded it for the last result."""
    result_boxes = t.List(t.Dict(), read_only=True).tag(sync=True)
    """Where each element of the last result is (FLUX 3's boxes)."""
    history_current = t.Int(-1, read_only=True).tag(sync=True)
    """The history entry shown now."""
    _static_id = t.Unicode(read_only=True).tag(sync=True)
    _result_shown = t.Int(-1).tag(sync=True)
    """The result a view has shown, written by the view: in marimo a change
    from the browser is what runs again the cells that read the panel."""
    _edits = t.Int(0).tag(sync=True)
    """How many changes the view has made: a Generate from it waits for them."""
    _tiles = t.List(t.Dict()).tag(sync=True, **ipywidgets.widget_serialization)
    _history = t.List(t.Dict()).tag(sync=True, **ipywidgets.widget_serialization)
    show_retired = t.Bool(False, help="List models the host retired (refused if chosen).")

    def __init__(
        self,
        *,
        provider: Provider | str | None = None,
        client: AsyncFluxClient | None = None,
        providers: list[Provider | str] | None = None,
        **params: Any,
    ) -> None:
        if client is not None and provider is not None:
            raise ConfigError("pass either provider= or client=, not both")
        if client is None:
            # Without a key the panel's own banner says so: no second notice.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", PreviewNotice)
                client = AsyncFluxClient(provider=provider)
        self._session = Session(self, Offered(client, providers))
        self._runs, self._editing = Runs(self), Editing(self)
        self._static, self._inbox = StaticCopy(self), Inbox(self)
        #: Where "Save all" writes, relative to the kernel's working folder.
        self.export_dir = "fluxpanel-exports"
        model, seed_mode, values = starting_values(client.provider.models, params)
        super().__init__(model=model, seed_mode=seed_mode)
        self.set_trait("_static_id", self._static.token)
        self._session.add_traits()
        self._session.set_params(values)
        self._session.show_provider()
        self.on_msg(self._inbox.receive)
        self.observe(lambda _: self._session.show_provider(), "show_retired")
        self._session.revalidate()
        self._runs.collect_paid()

    # -- the Python API ---------------------------------------------------------------

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
        return self._session.params()

    @property
    def request(self) -> GenerationRequest:
        """The request for the current settings (a fresh random seed in random mode)."""
        return self._session.request()

    @property
    def result(self) -> Generation | None:
        """The generation shown now (the last one, or one restored from history)."""
        return self._runs.results.current

    @property
    def images(self) -> list[GeneratedImage]:
        """The full-resolution images of :attr:`result`."""
        return list(self.result.images) if self.result else []

    @property
    def history(self) -> list[Generation]:
        """Every generation this panel made, oldest first (read from disk:
        full-resolution originals are not kept in memory)."""
        return [self._runs.load(i) for i in self._runs.results.store.ids]

    @property
    def running(self) -> bool:
        """Whether a generation is running now."""
        return self._runs.results.running

    def generate(self) -> concurrent.futures.Future[Generation | None]:
        """Start a generation in the background, as the Generate button does.

        It runs on the kernel's event loop, so the kernel stays free for other
        cells. Errors are shown in the panel, not raised; the returned future
        gives the :class:`Generation` (or ``None`` when it failed).
        """
        return self._runs.start()

    async def agenerate(self) -> Generation:
        """Generate with the current settings and return the :class:`Generation`.
        Errors are shown in the panel and raised."""
        return await self._runs.run()

    def cancel(self) -> bool:
        """Cancel the running generation, if any. Images that already arrived stay."""
        return self._runs.cancel()

    def restore(self, entry: int | Generation) -> None:
        """Show a past generation again and set every parameter to its values.
        ``entry`` is a history id or a :class:`Generation` from :attr:`history`."""
        self._runs.restore(entry)

    def save(self, folder: str | Path | None = None) -> Path:
        """Write the shown result (images and manifest) to ``folder``; by default
        a new folder under :attr:`export_dir`. Returns the folder."""
        return self._runs.save(folder)

    def switch_provider(self, provider: Provider | str) -> None:
        """Use another provider: the controls follow its capability table, and
        the settings carry over as closely as its ranges allow."""
        self._session.switch(provider)

    def move_reference(self, name: str, old: int, new: int) -> None:
        """Move reference image ``old`` of the list ``name`` to place ``new``
        (0-based); the prompt's "image 1", "image 2", ... follow their images."""
        self._editing.move_reference(name, old, new)

    def use_expanded_prompt(self) -> None:
        """Make the last result's expanded prompt the prompt: its description
        in ``prompt`` and its element list in ``boxes`` (as data)."""
        self._editing.use_expanded_prompt()

    def edit_box(self, name: str) -> None:
        """Start an edit of one element of the last result: the image as the
        first reference, that element's box, and a prompt that changes only
        what is inside it (describe the change, then Generate)."""
        self._editing.edit_box(name)

    def close(self) -> None:
        self._runs.close()
        for entry in [*self._tiles, *self._history]:
            entry["ref"].close()
        try:
            asyncio.get_running_loop().create_task(self._client.aclose())
        except RuntimeError:
            pass
        super().close()

    # -- what changes when a trait does -------------------------------------------------

    @property
    def _client(self) -> AsyncFluxClient:
        """The client of the provider in use."""
        return self._session.client

    @t.observe("seed_mode")
    def _on_param(self, change: dict[str, Any]) -> None:
        if not self._session.switching:
            self._session.revalidate()

    def _on_input(self, change: dict[str, Any]) -> None:
        """An input image changed (from Python or the view): the view is shown
        its thumbnail and digest."""
        self._editing.show_inputs()
        self._on_param(change)

    @t.observe("model")
    def _on_model(self, change: dict[str, Any]) -> None:
        if not self._session.switching:
            self._session.model_changed(change["old"], change["new"])

    @t.observe("provider_name")
    def _on_provider(self, change: dict[str, Any]) -> None:
        if not self._session.switching:
            self._session.provider_chosen(change["new"])

    # -- the view, and the static copy for saved notebooks ------------------------------

    def _handle(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """Do what a message of the view asks (see :mod:`fluxpanel._messages`)."""
        self._inbox.handle(content, buffers)

    def _static_html(self) -> str:
        return self._static.html()

    def _static_bundle(self) -> dict[str, str]:
        return self._static.bundle()

    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]] | None:
        return self._static.live(super()._repr_mimebundle_(**kwargs))

    def _ipython_display_(self, **kwargs: Any) -> None:
        """Show the live panel, and after it a static copy of the latest result
        in an output of its own (see :mod:`fluxpanel._static_copy`)."""
        bundle = self._repr_mimebundle_()
        if bundle is not None:
            self._static.display(*bundle)

    def __repr__(self) -> str:
        return f"FluxPanel(model={self.model!r}, provider={self.provider.name!r})"
