"""What the panel shows, made from results, progress and errors: the tiles
(each image's display copy as bytes in a child model), the progress line,
the provider's banner and errors as a title and a message (never a key).
Pure functions, except :func:`tile`, which makes a widget model."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import ipywidgets
import traitlets as t

from ._errors import (
    APIError,
    AuthError,
    ConfigError,
    FluxError,
    ImageError,
    InsufficientCreditsError,
    ModerationError,
    RateLimitError,
    RequestTimeout,
    ResultExpiredError,
    ServerError,
    TransportError,
    ValidationError,
)
from ._flow import Progress
from ._previews import PREVIEW_SIDE, THUMB_SIDE, Shrunk, shrink
from ._pricing import format_cost
from .providers import SETUP

if TYPE_CHECKING:
    from ._inputs import InputImage
    from ._results import GeneratedImage
    from .providers import Provider


class Bytes(ipywidgets.Widget):
    """A model that only carries bytes to the browser, as one binary buffer."""

    value = t.Bytes(b"").tag(sync=True)

    def __repr__(self) -> str:
        return f"<{len(self.value)} bytes>"


def progress_view(progress: Progress) -> dict[str, Any]:
    """A :class:`Progress` as the view shows it."""
    fraction = progress.fraction
    if progress.phase == "downloading" and progress.total:
        fraction = (progress.done or 0) / progress.total
    return {
        "phase": progress.phase,
        "text": progress.describe(),
        "fraction": fraction,
        "expected": progress.expected,
    }


def running_loop() -> asyncio.AbstractEventLoop:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        raise FluxError(
            "FluxPanel generates on the running event loop (a Jupyter kernel's); "
            "outside one, use 'await panel.agenerate()' or FluxClient"
        ) from None


T = TypeVar("T")

#: The status while a setting stops Generate (its words are beside its field).
FIX = "Fix the highlighted setting to generate."


def off_loop(
    work: Callable[[], T], then: Callable[[Callable[[], T]], None], *, background: bool = False
) -> None:
    """Run ``work`` (pure work: decoding, scaling, hashing) off the running
    loop's thread, then ``then`` on it with a callable that returns the
    result or raises what ``work`` raised. With no loop running (plain
    Python), both run here, in turn. ``background`` work (a thumbnail, a
    file for the snippet) runs on a thread the system serves after the
    kernel's others, the notebook server and the browser: what a person
    waits for comes first."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        then(work)
        return
    done = loop.run_in_executor(_background() if background else None, work)
    done.add_done_callback(lambda f: then(f.result))


_BACKGROUND: concurrent.futures.ThreadPoolExecutor | None = None
_BACKGROUND_LOCK = threading.Lock()


def _background() -> concurrent.futures.ThreadPoolExecutor:
    global _BACKGROUND
    with _BACKGROUND_LOCK:
        if _BACKGROUND is None:
            _BACKGROUND = concurrent.futures.ThreadPoolExecutor(
                2, "fluxpanel-background", initializer=_yielding
            )
        return _BACKGROUND


def _yielding() -> None:
    """This thread runs after others that want the processor (a nice of 10
    where the system lets a thread have its own, as Linux does)."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def display_copy(data: bytes, use: str) -> Shrunk:
    """A display-size copy for ``use`` (``"preview"``, ``"thumb"``): pure work,
    safe on any thread."""
    return shrink(data, PREVIEW_SIDE if use == "preview" else THUMB_SIDE)


def seed_note(image: GeneratedImage) -> str:
    """How to make this image again, as its host seeds a batch."""
    request = image.request
    if request is not None and not request.spec.supports("seed"):
        return "This model takes no seed: generating again makes a different image."
    if request is None or request.count == 1:
        return "Generate with this seed to make it again."
    if request.spec.batch_seeds == "each":
        return f"Its own seed: generate with seed {image.seed} and 1 image to make it again."
    return (
        f"One seed made the whole batch: run the batch again (seed {request.seed}, "
        f"{request.count} images) to make this image again."
    )


#: The longest side of an edit's input, shown against its result (before/after).
BEFORE_SIDE = 2048


def before_of(image: GeneratedImage | None) -> InputImage | None:
    """The image an edit started from: its request's first input that is
    held here (not a URL, not a mask); ``None`` for an image made from words."""
    request = image.request if image is not None else None
    if request is None:
        return None
    for name, value in request.inputs.items():
        first = value[0] if isinstance(value, tuple) else value
        if first.url is None and not request.spec.params[name].mask_of:
            return first
    return None


def make_tile(image: GeneratedImage, entry: int, small: Shrunk) -> dict[str, Any]:
    """A result tile. Makes a widget model: call it on the widget's thread."""
    return {
        "seed_note": seed_note(image),
        "key": f"{entry}-{image.index}",
        "ref": Bytes(value=small.data),
        "mime": small.mime,
        "preview_width": small.width,
        "preview_height": small.height,
        "width": image.width,
        "height": image.height,
        "seed": image.seed,
        # One seed made every image of the batch (the host seeds it so).
        "batch": image.request is not None
        and image.request.count > 1
        and image.request.spec.batch_seeds == "batch",
        "index": image.index,
        "edit": before_of(image) is not None,  # before/after in the larger view
        "model": image.request.model if image.request else "",
    }


def provider_info(provider: Provider) -> dict[str, Any]:
    setup = f"set {SETUP} in the kernel's environment"
    return {
        "name": provider.name,
        "label": provider.label,
        "offline": provider.offline,
        "setup": setup,
    }


_TITLES: list[tuple[type[BaseException], str]] = [
    (ValidationError, "Check the settings"),
    (AuthError, "The key was refused"),
    (InsufficientCreditsError, "Out of credits"),
    (RateLimitError, "Rate limited"),
    (ModerationError, "Refused by moderation"),
    (ServerError, "The server had a problem"),
    (RequestTimeout, "Timed out"),
    (TransportError, "Network problem"),
    (ResultExpiredError, "The images expired"),
    (ImageError, "A bad image came back"),
    (ConfigError, "Setup needed"),
    (APIError, "The API refused the request"),
    (FluxError, "Generation failed"),
]


def describe_error(
    error: BaseException, provider: Provider, *, partial: bool = False
) -> dict[str, Any]:
    """The error as the panel shows it: a title and a message, never a key."""
    title = next((title for cls, title in _TITLES if isinstance(error, cls)), "Unexpected error")
    message = str(error) or type(error).__name__
    if not isinstance(error, FluxError):
        message = f"{type(error).__name__}: {message}"
    if isinstance(error, AuthError) and provider.key_env:
        message += f". Check {provider.key_env}."
    if isinstance(error, ModerationError) and error.billed:
        message += f". {provider.label} billed {format_cost(error.billed)} for it."
    if partial:
        title = "Some images failed"
    message = provider.keys.clean(message)
    out: dict[str, Any] = {"title": title, "message": message, "kind": type(error).__name__}
    if isinstance(error, RateLimitError) and error.retry_after is not None:
        out["retry_after"] = error.retry_after
    if isinstance(error, ValidationError):
        out["field"] = error.field
    return out
