"""The panel's answers to its view: Generate and Cancel, input images sent
from the browser in chunks, references moved, results used as inputs,
settings dropped as an image, FLUX 3's expanded prompt and "edit this box".
A mixin of :class:`~fluxpanel.FluxPanel`, kept apart so the widget class
reads in one sitting; every change it makes goes through the panel's traits."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from ._boxes import parse_prompt, renumber_references
from ._errors import ConfigError, FluxError, ValidationError
from ._inputs import InputImage
from ._panel_inputs import editing_model, editing_target
from ._panel_view import display_copy
from ._request import GenerationRequest
from ._results import seed_words


class ViewMessages:
    """What the panel does for each message of its view."""

    # -- messages from the browser --------------------------------------------------------

    #: Messages handed to the home loop and not yet handled, and its lock.
    _queued = 0
    _queue_lock = threading.Lock()

    def _on_message(self, _widget: Any, content: dict[str, Any], buffers: list[Any]) -> None:
        # Handle every request on the home loop's thread, whichever thread the
        # kernel delivered it on, and in the order they came: marimo delivers
        # messages with buffers (a file's parts) on another thread than those
        # without (its first and last message), so while any is waiting for
        # the loop, the next waits behind it.
        try:
            here = asyncio.get_running_loop()
        except RuntimeError:
            here = None
        home = self._home() if self._loop is not None or here is not None else None
        with self._queue_lock:
            later = home is not None and (here is not home or self._queued > 0)
            if later:
                self._queued += 1
        if later:
            home.call_soon_threadsafe(self._handle_queued, content, buffers)
        else:
            self._handle(content, buffers)

    def _handle_queued(self, content: dict[str, Any], buffers: list[Any] | None) -> None:
        with self._queue_lock:
            self._queued -= 1
        self._handle(content, buffers)

    def _handle(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        kind = content.get("type")
        if isinstance(kind, str) and kind.startswith("input-"):
            self._on_upload(kind, content, buffers or [])
            return
        if kind == "generate":
            if not self.running:
                task = asyncio.ensure_future(self._run_quietly())
                self._background.add(task)  # keep a reference until it ends
                task.add_done_callback(self._background.discard)
        elif kind == "cancel":
            self.cancel()
        elif kind == "restore":
            try:
                self.restore(int(content.get("id", -1)))
            except (TypeError, ValueError):
                pass
        elif kind == "original":
            self._send_original(content)
        elif kind == "dropped":
            self._apply_dropped(content.get("request"), str(content.get("name", "the image")))
        elif kind == "save":
            self._save_from_view()
        elif kind == "use-input":
            self._use_as_input(content)
        elif kind == "preview-input":
            self._send_input_preview(content)
        elif kind == "use-prompt":
            self.use_expanded_prompt()
        elif kind == "edit-box":
            self.edit_box(str(content.get("name", "")))

    # -- FLUX 3: the expanded prompt and its boxes ------------------------------------------

    def use_expanded_prompt(self) -> None:
        """Make the last result's expanded prompt the prompt: its description
        in ``prompt`` and its element list in ``boxes`` (as data)."""
        if not self.result_prompt:
            return
        description, boxes = parse_prompt(self.result_prompt)
        if "boxes" in self._spec().params:
            self.boxes = boxes
            self.prompt = description
        else:
            self.prompt = self.result_prompt
        self.set_trait("status_text", "The expanded prompt is the prompt now")

    def edit_box(self, name: str) -> None:
        """Start an edit of one element of the last result: the image as the
        first reference, that element's box, and a prompt that changes only
        what is inside it (describe the change, then Generate)."""
        gen = self._results.current
        box = next((b for b in gen.boxes if b.name == name), None) if gen else None
        if gen is None or box is None or not gen.images:
            self._fail(ValidationError(f"the last result has no box named {name!r}", field="boxes"))
            return
        self._use_as_input({"key": f"{self.history_current}-0"})
        if "boxes" not in self._spec().params:
            return
        self.input_images = (self.input_images or ())[-1:]  # the result alone, as image 1
        self.boxes = (box,)
        self.prompt = (
            f"In image 1, change only <{box.name}> ({box.desc or 'the element in its box'}): "
            "describe the change here. Keep everything outside its box exactly as it is."
        )
        self.set_trait("status_text", f"Editing <{box.name}>: describe the change, then Generate")

    def _spec(self) -> Any:
        return self._client.provider.models[self.model]

    # -- input images from the view ------------------------------------------------------

    def _image_params(self) -> set[str]:
        spec = self._client.provider.models.get(self.model)
        return {n for n, p in spec.params.items() if p.is_image} if spec else set()

    def _on_upload(self, kind: str, content: dict[str, Any], buffers: list[Any]) -> None:
        """A file from the view, in chunks: each acknowledged (the view shows
        how far it is), the whole read as an image and set, or an error shown
        beside the field. Nothing is sent to a host here."""
        upload_id = content.get("upload")
        try:
            upload = None
            if kind == "input-begin":
                upload = self._uploads.begin(content, self._image_params())
            elif kind == "input-chunk":
                upload = self._uploads.chunk(content, buffers)
                if upload is not None:
                    ack = {"type": "input-ack", "upload": upload_id, "received": upload.received}
                    self.send(ack)
            elif kind == "input-end":
                upload = self._uploads.end(content)
            elif kind == "input-cancel":
                self._uploads.drop(content)
            elif kind == "input-remove":
                self._remove_input(str(content.get("param")), content.get("index"))
            elif kind == "input-move":
                self.move_reference(
                    str(content.get("param")), content.get("from"), content.get("to")
                )
            if upload is not None and upload.whole:
                image = InputImage.of(self._uploads.take(content, upload), upload.param)
                image.name = upload.name
                self._set_input(upload.param, image, append=upload.append)
                self.send({"type": "input-done", "upload": upload_id, "sha256": image.sha256})
                self.set_trait("status_text", f"{upload.name} is ready as {upload.param}")
        except ValidationError as e:
            self._uploads.drop(content)
            self.send({"type": "input-done", "upload": upload_id, "error": str(e)})
            self._fail(e)

    def _send_input_preview(self, content: dict[str, Any]) -> None:
        """A display-size picture of an input (the mask painter paints over it)."""
        token, name = content.get("token"), str(content.get("param"))
        value = getattr(self, name, None) if name in self._image_params() else None
        items = value if isinstance(value, tuple) else (value,)
        index = content.get("index", 0)
        image = items[index] if isinstance(index, int) and 0 <= index < len(items) else None
        if image is None or image.url is not None:
            self.send({"type": "preview-input", "token": token, "error": "no such input image"})
            return
        small = display_copy(image.data, "preview")
        self.send(
            {"type": "preview-input", "token": token, "mime": small.mime}, buffers=[small.data]
        )

    def _set_input(self, name: str, image: InputImage, *, append: bool) -> None:
        spec = self._client.provider.models[self.model]
        p = spec.params.get(name)
        if p is None or not p.is_image:
            raise ValidationError(f"{self.model} takes no image {name!r}", field=name)
        if p.kind == "images":
            now = getattr(self, name) or () if append else ()
            if len(now) >= int(p.max or 1):
                raise ValidationError(
                    f"{name} already holds {len(now)} images, the most {self.model} takes "
                    "here; remove one first",
                    field=name,
                    allowed=p.allowed(),
                )
            setattr(self, name, (*now, image))
        else:
            setattr(self, name, image)
        self.set_trait("error", {})

    def _remove_input(self, name: str, index: Any) -> None:
        value = getattr(self, name, None) if name in self._image_params() else None
        if isinstance(value, tuple) and isinstance(index, int) and 0 <= index < len(value):
            rest = value[:index] + value[index + 1 :]
            setattr(self, name, rest or None)
        elif value is not None:
            setattr(self, name, None)

    def move_reference(self, name: str, old: Any, new: Any) -> None:
        """Move reference image ``old`` of the list ``name`` to place ``new``
        (0-based); the prompt's "image 1", "image 2", ... follow their images."""
        value = getattr(self, name, None) if name in self._image_params() else None
        if not isinstance(value, tuple) or not all(
            isinstance(i, int) and 0 <= i < len(value) for i in (old, new)
        ):
            return
        order = list(range(len(value)))
        order.insert(new, order.pop(old))
        spec = self._client.provider.models[self.model].params.get(name)
        first = spec.first_number if spec is not None else 1
        self.prompt = renumber_references(self.prompt, order, first)
        setattr(self, name, tuple(value[i] for i in order))

    def _use_as_input(self, content: dict[str, Any]) -> None:
        """A result (a tile, or an image of a history entry) as the input of an
        edit: the kernel has the original, so no bytes come from the view.
        A model that takes no image gives way to one that edits."""
        try:
            image = self._results.shown.get(str(content.get("key")))
            if image is None and isinstance(content.get("entry"), int):
                gen = self._load(content["entry"])
                index = content.get("index", 0)
                image = gen.images[index if isinstance(index, int) else 0]
            if image is None:
                raise ValidationError("that image is no longer here")
            models = self._client.provider.models
            target = editing_model(models, self.model)
            if target is None:
                raise ConfigError(
                    f"no model at {self._client.provider.label} takes an input image; "
                    "switch provider to edit"
                )
            if target != self.model:
                self.model = target
            name = editing_target(models[target]) or ""
            self._set_input(name, InputImage.of(image, name), append=True)
        except (FluxError, KeyError, IndexError) as e:
            self._fail(e if isinstance(e, FluxError) else ValidationError(str(e)))
            return
        label = models[self.model].label
        self.set_trait(
            "status_text",
            f"Image {image.index + 1} ({seed_words(image.seed)}) is the {name} of {label}",
        )

    def _apply_dropped(self, payload: Any, name: str) -> None:
        """Settings from an image dropped on the panel (its metadata, read in the
        browser), validated like any other input."""
        if payload is None:
            self._fail(
                ValidationError(
                    f"{name} holds no fluxpanel request (it was not saved by fluxpanel)"
                )
            )
            return
        try:
            request = GenerationRequest.from_payload(payload, models=self._client.provider.models)
        except ValidationError as e:
            self._fail(e)
            return
        except Exception as e:  # whatever a crafted file holds, it is shown, not raised
            self._fail(ValidationError(f"{name[:80]} holds a request fluxpanel cannot read: {e}"))
            return
        self._apply_request(request)
        self.set_trait("error", {})
        self.set_trait("status", "idle")
        self.set_trait("status_text", f"Settings restored from {name[:80]}")

    def _save_from_view(self) -> None:
        try:
            folder = self.save()
        except (FluxError, OSError) as e:
            self._fail(e)
            return
        n = len(self._results.current.images) if self._results.current else 0
        self.set_trait(
            "status_text", f"Saved {n} image{'s' if n != 1 else ''} and manifest.json to {folder}"
        )

    def _send_original(self, content: dict[str, Any]) -> None:
        token = content.get("token")
        image = self._results.shown.get(str(content.get("key")))
        if image is None:
            self.send({"type": "original", "token": token, "error": "that image is no longer here"})
            return
        self.send(
            {"type": "original", "token": token, "mime": image.mime, "name": image.default_name()},
            buffers=[image.to_bytes()],
        )
