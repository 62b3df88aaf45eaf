"""A private event loop on a daemon thread, so the sync client can run the
async engine anywhere, including inside Jupyter where a loop already runs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def background_loop() -> asyncio.AbstractEventLoop:
    """The shared background loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            thread = threading.Thread(target=loop.run_forever, name="fluxpanel-loop", daemon=True)
            thread.start()
            _loop = loop
        return _loop


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on the background loop and wait for it. Ctrl-C (or any
    interruption of the waiting thread) cancels it there too."""
    future = asyncio.run_coroutine_threadsafe(coro, background_loop())
    try:
        return future.result()
    except BaseException:
        if not future.done():
            future.cancel()
            try:
                future.result(timeout=5)
            except (concurrent.futures.CancelledError, Exception):
                pass
        raise


def iterate(items: AsyncIterator[T], ahead: int = 8) -> Iterator[T]:
    """The items of an async iterator, run on the background loop and handed
    to the calling thread as they come (at most ``ahead`` waiting). Leaving
    the loop early, or Ctrl-C, stops it there too."""
    handed: queue.Queue[tuple[str, Any]] = queue.Queue()
    loop = background_loop()
    room = asyncio.Semaphore(ahead)
    stopped = threading.Event()

    async def pump() -> None:
        try:
            async for item in items:
                await room.acquire()
                handed.put(("item", item))
        except BaseException as e:
            handed.put(("error", e))
            raise
        finally:
            stopped.set()  # the iterator has cleaned up (its work cancelled and awaited)
        handed.put(("end", None))

    future = asyncio.run_coroutine_threadsafe(pump(), loop)
    try:
        while True:
            what, value = handed.get()
            if what == "end":
                return
            if what == "error":
                raise value
            loop.call_soon_threadsafe(room.release)
            yield value
    finally:
        if not future.done():
            future.cancel()
            stopped.wait(5)  # nothing of it goes on once the loop is left
            try:
                future.result(timeout=5)
            except (concurrent.futures.CancelledError, Exception):
                pass
