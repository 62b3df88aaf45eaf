"""A panel's editing: the input images (files from the browser, results used
as inputs, references reordered), what the view is shown of each (a
thumbnail, its size and digest, never its bytes), FLUX 3's expanded prompt
and per-box edits, and settings restored from a dropped image.

Every change goes through the panel's traits; nothing here sends anything to
a host.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._boxes import parse_prompt, renumber_references
from ._errors import ConfigError, FluxError, ValidationError
from ._imaging import transparent_areas
from ._inputs import InputImage, from_upload
from ._keys import public_url
from ._kinds import KINDS
from ._panel_view import display_copy, off_loop
from ._previews import shrink
from ._request import GenerationRequest
from ._results import seed_words
from ._spec import ModelSpec
from ._uploads import THUMB_SIDE, Upload, Uploads
from ._words import reason

if TYPE_CHECKING:
    from ._panel import FluxPanel


def editing_target(spec: ModelSpec) -> str | None:
    """The parameter "Use as input" fills for a model: its first image
    parameter that is not a mask (None when it takes no image)."""
    for name, p in spec.params.items():
        if p.is_image and not p.mask_of:
            return name
    return None


def editing_model(models: dict[str, Any], current: str) -> str | None:
    """The model to switch to when the one in use takes no input image:
    FLUX.1 Kontext [pro] where offered, else the first that edits."""
    if editing_target(models[current]) is not None:
        return current
    for candidate in ("flux_kontext_pro", *models):
        spec = models.get(candidate)
        if spec is not None and editing_target(spec) is not None:
            return candidate
    return None


class Thumbnails:
    """What the view shows of each input, made once per content."""

    def __init__(self) -> None:
        self._made: dict[str, dict[str, Any]] = {}

    def view(self, image: InputImage, make: bool = True) -> dict[str, Any]:
        """What the view shows of ``image``; without ``make``, an entry with
        no thumbnail yet when none was made (the rest is known at once)."""
        if image.url is not None:  # shown as text, its credentials redacted
            shown = public_url(image.url)
            return {"url": shown, "name": image.name, "key": shown}
        made = self._made.get(image.sha256)
        if made is None:
            if not make:
                return {**self._entry(image), "thumb": ""}
            made = self._remember(image, shrink(image.data, THUMB_SIDE, quality=75))
        return {**made, "name": image.name or made["name"]}

    def ready(self, value: Any) -> bool:
        """Whether every image of ``value`` has its thumbnail."""
        items = value if isinstance(value, tuple) else (value,)
        return all(i.url is not None or i.sha256 in self._made for i in items)

    @staticmethod
    def _entry(image: InputImage) -> dict[str, Any]:
        return {
            "key": image.key,
            "sha256": image.sha256,
            "name": image.name,
            "width": image.width,
            "height": image.height,
            "bytes": image.size,
            "format": image.format,
            "note": image.note,
        }

    def _remember(self, image: InputImage, small: Any) -> dict[str, Any]:
        made = {
            **self._entry(image),
            "thumb": f"data:{small.mime};base64,{base64.b64encode(small.data).decode()}",
        }
        if len(self._made) > 64:
            self._made.clear()
        self._made[image.sha256] = made
        return made

    def of(self, value: Any, make: bool = True) -> list[dict[str, Any]]:
        """The view of a parameter's value: one entry per image."""
        if value is None:
            return []
        items = value if isinstance(value, tuple) else (value,)
        return [self.view(image, make) for image in items]


#: What the view's upload messages do: each returns the upload it touched.
UploadStep = Callable[["Editing", dict[str, Any], list[Any]], Upload | None]


class Editing:
    """The editing state of one panel: its uploads and thumbnails."""

    def __init__(self, panel: FluxPanel) -> None:
        self.panel = panel
        self.uploads = Uploads()
        self.thumbs = Thumbnails()

    @property
    def spec(self) -> ModelSpec:
        return self.panel._client.provider.models[self.panel.model]

    def image_params(self) -> set[str]:
        spec = self.panel._client.provider.models.get(self.panel.model)
        return {n for n, p in spec.params.items() if p.is_image} if spec else set()

    # -- what the view is shown ----------------------------------------------------------

    def show_inputs(self) -> None:
        """Tell the view what each image parameter holds. Thumbnails of new
        images are made off the loop's thread and shown when ready: the
        input is usable at once."""
        panel = self.panel
        values = {n: getattr(panel, n) for n in panel._session.images}
        values = {n: v for n, v in values.items() if v is not None}
        panel.set_trait("inputs", {n: self.thumbs.of(v, make=False) for n, v in values.items()})
        waiting = [v for v in values.values() if not self.thumbs.ready(v)]
        if waiting:
            off_loop(
                lambda: [self.thumbs.of(v) for v in waiting], self._thumbs_made, background=True
            )

    def _thumbs_made(self, made: Callable[[], Any]) -> None:
        try:
            made()
        except Exception:  # a thumbnail that cannot be made is not shown
            return
        self.show_inputs()

    # -- files from the view ----------------------------------------------------------

    def upload(self, step: UploadStep, content: dict[str, Any], buffers: list[Any]) -> None:
        """One message of a file on its way from the view: each part
        acknowledged, the whole read as an image and set, or an error shown
        beside the field. Nothing is sent to a host here."""
        try:
            upload = step(self, content, buffers)
        except ValidationError as e:
            self.refused(content, e)
            return
        if upload is None or not upload.whole:
            return
        self.uploads.take(content, upload)
        # Decoding and fitting a large photo takes seconds: off the loop's thread.
        off_loop(lambda: self.read(upload), lambda r: self.arrived(content, upload, r))

    def read(self, upload: Upload) -> InputImage:
        """The upload as the image for its parameter, with the fit to the
        host's limits the form checks next made here (remembered by
        content)."""
        param = upload.param
        image = from_upload(bytes(upload.buffer), param, upload.name, upload.sha256)
        upload.buffer = bytearray()  # the image holds the bytes now
        spec = self.panel._client.provider.models.get(self.panel.model)
        p = spec.params.get(param) if spec else None
        if p is not None:
            fit = image.fitted(p, self.panel.model)  # one the host cannot take replaces nothing
            if any(q.alpha_mask and q.mask_of == param for q in spec.params.values()):
                transparent_areas(fit.data, fit.sha256)  # known before the loop's checks ask
        return image

    def arrived(self, content: dict[str, Any], upload: Upload, image: Callable[[], Any]) -> None:
        """A whole file, read as an image (or refused beside its field)."""
        try:
            read = image()
            self.set_input(upload.param, read, append=upload.append)
        except ValidationError as e:
            self.refused(content, e)
            return
        self.panel.send(
            {"type": "input-done", "upload": content.get("upload"), "sha256": read.sha256}
        )
        self.panel.set_trait("status_text", f"{upload.name} is ready as {upload.param}")

    def refused(self, content: dict[str, Any], error: ValidationError) -> None:
        """Said once, in the field the file was dropped on; what the field
        held stays."""
        self.uploads.drop(content)
        said = self.panel._session.words(error.field or "", error) if error.field else reason(error)
        self.panel.send({"type": "input-done", "upload": content.get("upload"), "error": said})

    def begin(self, content: dict[str, Any], buffers: list[Any]) -> Upload | None:
        return self.uploads.begin(content, self.image_params())

    def part(self, content: dict[str, Any], buffers: list[Any]) -> Upload | None:
        upload = self.uploads.chunk(content, buffers)
        if upload is not None and upload.progress_due():
            ack = {
                "type": "input-ack",
                "upload": content.get("upload"),
                "received": upload.received,
            }
            self.panel.send(ack)
        return upload

    def end(self, content: dict[str, Any], buffers: list[Any]) -> Upload | None:
        return self.uploads.end(content)

    def abandon(self, content: dict[str, Any], buffers: list[Any]) -> Upload | None:
        self.uploads.drop(content)
        return None

    def remove(self, content: dict[str, Any], buffers: list[Any]) -> Upload | None:
        name, index = str(content.get("param")), content.get("index")
        value = getattr(self.panel, name, None) if name in self.image_params() else None
        if isinstance(value, tuple) and isinstance(index, int) and 0 <= index < len(value):
            rest = value[:index] + value[index + 1 :]
            setattr(self.panel, name, rest or None)
        elif value is not None:
            setattr(self.panel, name, None)
        return None

    def move(self, content: dict[str, Any], buffers: list[Any]) -> Upload | None:
        self.move_reference(str(content.get("param")), content.get("from"), content.get("to"))
        return None

    def send_preview(self, content: dict[str, Any]) -> None:
        """A display-size picture of an input (the mask painter paints over it)."""
        token, name = content.get("token"), str(content.get("param"))
        value = getattr(self.panel, name, None) if name in self.image_params() else None
        items = value if isinstance(value, tuple) else (value,)
        index = content.get("index", 0)
        image = items[index] if isinstance(index, int) and 0 <= index < len(items) else None
        if image is None or image.url is not None:
            self.panel.send(
                {"type": "preview-input", "token": token, "error": "no such input image"}
            )
            return
        off_loop(lambda: display_copy(image.data, "preview"), lambda c: self._preview(token, c))

    def _preview(self, token: Any, copy: Callable[[], Any]) -> None:
        try:
            small = copy()
        except Exception as e:  # said to the view, which shows it
            self.panel.send({"type": "preview-input", "token": token, "error": str(e)[:200]})
            return
        self.panel.send(
            {"type": "preview-input", "token": token, "mime": small.mime}, buffers=[small.data]
        )

    # -- setting inputs ------------------------------------------------------------------

    def set_input(self, name: str, image: InputImage, *, append: bool) -> None:
        p = self.spec.params.get(name)
        if p is None or not p.is_image:
            raise ValidationError(f"{self.panel.model} takes no image {name!r}", field=name)
        if KINDS[p.kind].many:
            now = getattr(self.panel, name) or () if append else ()
            if len(now) >= int(p.max or 1):
                raise ValidationError(
                    f"{name} already holds {len(now)} images, the most {self.panel.model} takes "
                    "here; remove one first",
                    field=name,
                    allowed=p.allowed(),
                )
            setattr(self.panel, name, (*now, image))
        else:
            setattr(self.panel, name, image)
        self.panel.set_trait("error", {})

    def move_reference(self, name: str, old: Any, new: Any) -> None:
        """Move reference image ``old`` of the list ``name`` to place ``new``
        (0-based); the prompt's "image 1", "image 2", ... follow their images."""
        panel = self.panel
        value = getattr(panel, name, None) if name in self.image_params() else None
        if not isinstance(value, tuple) or not all(
            isinstance(i, int) and 0 <= i < len(value) for i in (old, new)
        ):
            return
        order = list(range(len(value)))
        order.insert(new, order.pop(old))
        p = self.spec.params.get(name)
        panel.prompt = renumber_references(panel.prompt, order, p.first_number if p else 1)
        setattr(panel, name, tuple(value[i] for i in order))

    def use_as_input(self, content: dict[str, Any]) -> None:
        """A result (a tile, or an image of a history entry) as the input of an
        edit: the kernel has the original, so no bytes come from the view.
        A model that takes no image gives way to one that edits."""
        panel, runs = self.panel, self.panel._runs
        try:
            image = runs.results.shown.get(str(content.get("key")))
            if image is None and isinstance(content.get("entry"), int):
                gen = runs.load(content["entry"])
                index = content.get("index", 0)
                image = gen.images[index if isinstance(index, int) else 0]
            if image is None:
                raise ValidationError("that image is no longer here")
            models = panel._client.provider.models
            target = editing_model(models, panel.model)
            if target is None:
                raise ConfigError(
                    f"no model at {panel._client.provider.label} takes an input image; "
                    "switch provider to edit"
                )
            if target != panel.model:
                panel.model = target
            name = editing_target(models[target]) or ""
            self.set_input(name, InputImage.of(image, name), append=True)
        except (FluxError, KeyError, IndexError) as e:
            runs.fail(e if isinstance(e, FluxError) else ValidationError(str(e)))
            return
        spec = models[panel.model]
        field = spec.params[name].label.lower()
        panel.set_trait(
            "status_text",
            f"Image {image.index + 1} ({seed_words(image.seed)}) is the {field} of {spec.label}",
        )

    # -- settings from elsewhere ---------------------------------------------------------

    def apply_request(self, request: GenerationRequest) -> None:
        """Every parameter (and the model) of ``request``; the seed fixed."""
        panel, session = self.panel, self.panel._session
        session.switching = True
        try:
            with panel.hold_trait_notifications():
                panel.model = request.model
                for name, value in request.params.items():
                    setattr(panel, name, value)
                panel.seed_mode = "fixed"
        finally:
            session.switching = False
        session.revalidate()

    def apply_dropped(self, payload: Any, name: str) -> None:
        """Settings from an image dropped on the panel (its metadata, read in the
        browser), validated like any other input."""
        runs = self.panel._runs
        if payload is None:
            runs.fail(
                ValidationError(
                    f"{name} holds no fluxpanel request (it was not saved by fluxpanel)"
                )
            )
            return
        try:
            request = GenerationRequest.from_payload(
                payload, models=self.panel._client.provider.models
            )
        except ValidationError as e:
            runs.fail(e)
            return
        except Exception as e:  # whatever a crafted file holds, it is shown, not raised
            runs.fail(ValidationError(f"{name[:80]} holds a request fluxpanel cannot read: {e}"))
            return
        self.apply_request(request)
        self.panel.set_trait("error", {})
        self.panel.set_trait("status", "idle")
        self.panel.set_trait("status_text", f"Settings restored from {name[:80]}")

    # -- FLUX 3: the expanded prompt and its boxes ------------------------------------------

    def use_expanded_prompt(self) -> None:
        """Make the last result's expanded prompt the prompt: its description
        in the prompt and its element list in the boxes (as data)."""
        panel = self.panel
        if not panel.result_prompt:
            return
        description, boxes = parse_prompt(panel.result_prompt)
        field = self._boxes_param()
        if field is not None:
            setattr(panel, field, boxes)
            panel.prompt = description
        else:
            panel.prompt = panel.result_prompt
        panel.set_trait("status_text", "The expanded prompt is the prompt now")

    def edit_box(self, name: str) -> None:
        """Start an edit of one element of the last result: the image as the
        first reference, that element's box, and a prompt that changes only
        what is inside it (describe the change, then Generate)."""
        panel = self.panel
        gen = panel._runs.results.current
        box = next((b for b in gen.boxes if b.name == name), None) if gen else None
        if gen is None or box is None or not gen.images:
            panel._runs.fail(
                ValidationError(f"the last result has no box named {name!r}", field="boxes")
            )
            return
        self.use_as_input({"key": f"{panel.history_current}-0"})
        field = self._boxes_param()
        if field is None:
            return
        over = self.spec.params[field].backdrop
        if over is not None:  # the result alone, as image 1
            setattr(panel, over[0], (getattr(panel, over[0]) or ())[-1:])
        setattr(panel, field, (box,))
        # The change is written at the end, where the cursor goes: no words of
        # a template are left to be sent if it is not replaced.
        panel.prompt = (
            f"In image 1, change only <{box.name}> ({box.desc or 'the element in its box'}) "
            "and keep everything outside its box exactly as it is. The change: "
        )
        panel.set_trait(
            "status_text", f"Editing <{box.name}>: write the change at the end of the prompt"
        )

    def _boxes_param(self) -> str | None:
        """The model's boxes: the parameter drawn over its references."""
        return next((n for n, p in self.spec.params.items() if p.backdrop), None)
