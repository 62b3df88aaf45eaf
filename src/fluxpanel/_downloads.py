"""Fetching the images a host handed back: never with credentials, only
from addresses :mod:`fluxpanel._addresses` allows (each redirect hop
checked), at most a capped number of bytes (:mod:`fluxpanel._bodies`),
retried on transport errors, 408, 429 and 5xx within one time budget, at
most :data:`DEFAULT_DOWNLOADS_PER_HOST` at once from one image host; each
checked as an image and handed on as it arrives.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

from ._addresses import AddressRule
from ._bodies import read_body
from ._errors import (
    APIError,
    FluxError,
    ImageError,
    RequestTimeout,
    ResultExpiredError,
    error_for_status,
)
from ._flow import Outputs, Progress, Reply, Source
from ._http import Clients
from ._imaging import check_image
from ._phases import ImageCallback, Phases, notify
from ._results import GeneratedImage
from ._retry import RetryPolicy, with_retries

if TYPE_CHECKING:
    from ._request import GenerationRequest

#: Longest an image download may take, however slowly its bytes drip in
#: (counted from when it gets one of its host's lanes).
DEFAULT_DOWNLOAD_TIMEOUT = 120.0
#: Images fetched at once from one image host: a browser's limit for one
#: HTTP/1.1 host. The rest wait their turn in the order they were asked for,
#: so the generation whose images came first is finished first, rather than
#: every generation sharing the CPU and the link and all finishing late.
DEFAULT_DOWNLOADS_PER_HOST = 6
#: Redirects followed for one image download (each hop checked).
MAX_REDIRECTS = 5


def lane_of(clients: Clients, url: str, per_host: int) -> asyncio.Semaphore:
    """The semaphore for ``url``'s image host (scheme, host and port)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # refused when checked; it needs a lane all the same
        port = None
    origin = f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"
    lane = clients.lanes.get(origin)
    if lane is None:
        lane = clients.lanes[origin] = asyncio.Semaphore(per_host)
    return lane


@dataclass
class Downloads:
    """How an engine fetches images: the address rule of its provider, its
    retry policy, each image's time ``budget``, the most bytes an image may
    have, and how many come at once from one host."""

    addresses: AddressRule
    retry: RetryPolicy
    rng: random.Random
    budget: float = DEFAULT_DOWNLOAD_TIMEOUT
    max_bytes: int = 32 * 1024 * 1024
    per_host: int = DEFAULT_DOWNLOADS_PER_HOST

    async def fetch(
        self,
        clients: Clients,
        url: str,
        *,
        budget: float | None = None,
        within: float | None = None,
    ) -> bytes:
        """The image at ``url``, within ``budget`` seconds (counted from when
        one of its host's lanes is free); ``within`` bounds the whole of it,
        the wait for a lane included."""
        budget = self.budget if budget is None else budget
        host = urlsplit(url).hostname or "the image host"
        lane = lane_of(clients, url, self.per_host)
        asked = time.perf_counter()
        try:
            async with asyncio.timeout(within):
                await lane.acquire()
        except TimeoutError:
            raise RequestTimeout(
                f"the image at {host} did not arrive within {within:g} s "
                "(it was still waiting for a connection to its host)"
            ) from None
        try:
            if within is not None:
                budget = min(budget, max(within - (time.perf_counter() - asked), 0.001))
            return await self._fetch(clients, url, host, budget)
        finally:
            lane.release()

    async def _fetch(self, clients: Clients, url: str, host: str, budget: float) -> bytes:
        async def attempt() -> Reply:
            target = url
            for _ in range(MAX_REDIRECTS + 1):
                await self.addresses.check(target)
                request = clients.downloads.build_request("GET", target)
                reply = await read_body(clients.downloads, request, self.max_bytes, ImageError)
                location = reply.headers.get("location")
                if reply.status not in (301, 302, 303, 307, 308) or not location:
                    return reply
                target = urljoin(target, location)
            raise APIError(f"the image at {host} redirected more than {MAX_REDIRECTS} times")

        try:
            async with asyncio.timeout(budget):
                reply = await with_retries(attempt, billable=False, policy=self.retry, rng=self.rng)
        except TimeoutError:
            raise RequestTimeout(
                f"the image at {host} did not arrive within {budget:g} s (all attempts)"
            ) from None
        if reply.status in (403, 404, 410):
            raise ResultExpiredError(
                f"the image at {host} is gone ({reply.status}); result URLs are "
                "short-lived, so generate again"
            )
        if reply.status >= 400:
            raise error_for_status(
                reply.status, f"downloading the image from {host} failed ({reply.status})"
            )
        return reply.body

    async def images(
        self,
        clients: Clients,
        request: GenerationRequest,
        outputs: Outputs,
        *,
        provider: str,
        on_image: ImageCallback | None = None,
        within: float | None = None,
        phases: Phases | None = None,
    ) -> tuple[list[GeneratedImage], list[FluxError]]:
        """Every image of a finished flow, fetched at once (up to the host's
        lanes), each checked and handed to ``on_image`` as it arrives. None
        waits or runs past ``within``, what remains of the deadline; the
        images that arrive are kept whatever happens to the others."""
        seeds = list(outputs.seeds or [])
        sources = outputs.sources
        total, done = len(sources), 0

        async def step() -> None:
            if phases is not None:
                word = outputs.detail
                await phases.emit(Progress("downloading", done=done, total=total, detail=word))

        async def fetch(url: str) -> bytes:
            return await self.fetch(clients, url, within=within)

        async def one(i: int, source: Source) -> GeneratedImage:
            nonlocal done
            data = await source.read(fetch)
            seed = seeds[i] if i < len(seeds) else None
            image = await _image(request, i, data, seed, provider)
            await notify(on_image, image)
            done += 1
            await step()
            return image

        await step()
        results = await asyncio.gather(
            *(one(i, s) for i, s in enumerate(sources)), return_exceptions=True
        )
        images: list[GeneratedImage] = []
        errors: list[FluxError] = list(outputs.errors)
        for r in results:
            if isinstance(r, FluxError):
                errors.append(r)
            elif isinstance(r, BaseException):
                raise r
            else:
                images.append(r)
        if not images and errors:
            raise errors[0]
        return images, errors


async def _image(
    request: GenerationRequest, index: int, data: bytes, seed: int | None, provider: str
) -> GeneratedImage:
    info = await check_image(data, f"image {index + 1}")
    return GeneratedImage(
        data,
        info.mime,
        info.width,
        info.height,
        request.seed if seed is None else seed,
        index,
        request,
        provider,
    )
