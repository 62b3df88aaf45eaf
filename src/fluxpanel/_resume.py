"""Collecting paid tasks after a restart: every task the ledger holds that
nobody alive follows (its kernel was restarted, its run stopped waiting) is
followed again at its host and its images put in the cache, so the
notebook's own cell, run again, is a cache hit and pays nothing. A task the
host no longer keeps is marked expired, naming how long the host keeps
results. Nothing here creates a task.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from ._errors import FluxError
from ._flow import Tasks
from ._ledger import EXPIRED, FAILED, Row
from ._request import GenerationRequest
from ._results import Generation
from ._tasks import Kept

if TYPE_CHECKING:
    from ._client import AsyncFluxClient

#: Told of each generation as it is collected.
Collected = Callable[[Generation], object]


async def collect(
    client: AsyncFluxClient, rows: Iterable[Row], on_generation: Collected | None = None
) -> list[Generation]:
    """Follow ``rows`` (unfinished tasks of this client's provider) to their
    images, a request at a time, all at once within the host's limits."""
    requests: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        requests[row.cache_key].append(row)
    found = await asyncio.gather(
        *(_one(client, tasks, on_generation) for tasks in requests.values()),
        return_exceptions=True,
    )
    return [g for g in found if isinstance(g, Generation)]


async def _one(
    client: AsyncFluxClient, rows: list[Row], on_generation: Collected | None
) -> Generation | None:
    ledger, provider = client._ledger, client.provider
    assert ledger is not None
    gone = [r for r in rows if r.expired]
    if gone:
        kept = provider.kept_for(GenerationRequest.from_ledger(gone[0].request, provider.models))
        note = f"{provider.label} keeps results for {kept / 60:g} minutes" if kept else ""
        ledger.end((r.id for r in gone), EXPIRED, note)
    rows = [r for r in rows if not r.expired]
    if not rows:
        return None
    try:
        request = GenerationRequest.from_ledger(rows[0].request, provider.models)
    except FluxError as e:  # a model this version no longer offers
        ledger.end((r.id for r in rows), FAILED, f"cannot be read back: {e}")
        return None
    kept = Kept(ledger, provider, request, rows[0].cache_key, client.estimate_cost(request))
    tasks = Tasks(log=kept, rejoin=kept.join(rows), only_rejoin=True)
    generation = await client._run(request, tasks, kept)
    if on_generation is not None:
        try:
            on_generation(generation)
        except Exception:
            pass  # the images are in the cache and returned all the same
    return generation
