"""Batches: results as they finish, a seed per item, max_cost before each
send, one failure kept in its item, a moderated item as its own outcome,
a manifest that lets a stopped batch be run again, DataFrames and grids,
and progress as a bar."""

from __future__ import annotations

import json
import sys

import pandas as pd
import pytest

import fluxpanel
from fluxpanel import CostLimitError, GenerationRequest, grid
from fluxpanel.providers import BlackForestLabs
from fluxpanel.testing import FakeBFL

from .conftest import FAST_RETRY, quick


@pytest.fixture
def local(server, tmp_path):
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, cache=tmp_path / "cache", retry=FAST_RETRY
    ) as c:
        yield c


def test_a_grid_is_the_cross_product_of_its_lists():
    items = grid("a fox", model=["flux_schnell", "flux_dev"], seed=[1, 2, 3], steps=4)
    assert len(items) == 6
    assert items[0] == {"prompt": "a fox", "steps": 4, "model": "flux_schnell", "seed": 1}
    refs = grid("x", model="flux_2_pro", input_images=[b"a", b"b"])  # one list of references
    assert len(refs) == 1 and refs[0]["input_images"] == [b"a", b"b"]
    with pytest.raises(fluxpanel.ValidationError, match="seed"):
        grid("x", seed=[])


def test_every_item_arrives_with_its_seed_and_the_batch_run_again_is_free(server, local):
    requests = grid("a lighthouse", seed=[11, 12], model=["flux_schnell", "flux_dev"])
    first = list(local.map(requests, progress=False))
    assert sorted(i.index for i in first) == [0, 1, 2, 3]
    assert all(i.status == "done" and len(i.generation.images) == 1 for i in first)
    assert {(i.params["model"], i.seed) for i in first} == {
        (m, s) for s in (11, 12) for m in ("flux_schnell", "flux_dev")
    }
    posts = len(server.posts)
    again = list(local.map(requests, progress=False))
    assert {i.status for i in again} == {"cached"} and len(server.posts) == posts


def test_a_dataframe_is_a_request_a_row(server, local):
    frame = pd.DataFrame(
        {
            "prompt": ["a fox", "a hare", "an owl"],
            "model": ["flux_dev", "flux_dev", "flux_schnell"],
            "guidance": [2.5, float("nan"), float("nan")],  # an empty cell takes the default
            "seed": [1, 2, 3],
        }
    )
    items = sorted(local.map(frame, progress=False), key=lambda i: i.index)
    assert [i.request.prompt for i in items] == ["a fox", "a hare", "an owl"]
    assert items[0].request.guidance == 2.5
    assert items[1].request.guidance == GenerationRequest("flux_dev", "x").guidance
    assert sorted(json.loads(p.body)["seed"] for p in server.posts) == [1, 2, 3]


def test_a_moderated_and_a_failing_item_end_alone_and_can_be_run_again(tmp_path):
    with FakeBFL() as fake:
        provider = quick(BlackForestLabs)(api_key=fake.api_key, base_url=fake.base_url)
        with fluxpanel.FluxClient(provider=provider, cache=tmp_path / "c", retry=FAST_RETRY) as c:
            fake.fail("content_moderated")
            fake.fail("error")
            batch = c.map(grid("a fox", model="flux_dev", seed=list(range(1, 9))), progress=False)
            items = list(batch)
            by = {s: [i for i in items if i.status == s] for s in ("done", "moderated", "failed")}
            assert [len(by[s]) for s in ("done", "moderated", "failed")] == [6, 1, 1]
            (moderated,) = by["moderated"]
            assert isinstance(moderated.error, fluxpanel.ModerationError)
            assert moderated.billed == 0.025  # the host billed it, and says so
            assert isinstance(by["failed"][0].error, fluxpanel.ServerError)
            again = batch.retry_failed()
            assert [i.status for i in again] == ["done", "done"]
            assert len(batch.items) == 8 and batch.failed == []
            assert "8 items (8 done)" in batch.summary()


def test_max_cost_is_checked_before_each_send(tmp_path):
    with FakeBFL() as fake:
        provider = quick(BlackForestLabs)(api_key=fake.api_key, base_url=fake.base_url)
        with fluxpanel.FluxClient(provider=provider, cache=tmp_path / "c") as c:
            items = list(
                c.map(
                    grid("a fox", model="flux_dev", seed=[1, 2, 3, 4, 5]),
                    max_cost=0.06,
                    progress=False,
                    in_flight=1,
                )
            )
        skipped = [i for i in items if i.status == "skipped"]
        assert len(fake.submits) == 2 and len(skipped) == 3
        assert all(isinstance(i.error, CostLimitError) for i in skipped)
        assert "max_cost=$0.06" in str(skipped[0].error)


def test_a_stopped_batch_run_again_makes_only_what_is_missing(server, local, tmp_path):
    folder = tmp_path / "run"
    requests = [{"prompt": f"image {i}", "model": "flux_schnell"} for i in range(6)]
    first = []
    for item in local.map(requests, folder=folder, progress=False, in_flight=1):
        first.append(item)
        if len(first) == 3:
            break  # stopped halfway
    lines = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    last = {r["index"]: r for r in lines}  # a drawn seed is written as "sent", then its end
    done = [r for r in last.values() if r["status"] == "done"]
    assert {r["index"] for r in done} >= {0, 1, 2}  # and what ran ahead while it stopped
    assert all((folder / f).is_file() for r in done for f in r["files"])
    again = sorted(local.map(requests, folder=folder, progress=False), key=lambda i: i.index)
    assert [i.status for i in again] == ["done"] * 6
    # Each paid once: the next item, sent as the run stopped, is collected, not sent again.
    assert len(server.posts) == 6
    assert [i.seed for i in again[:3]] == [i.seed for i in first]  # read from the manifest
    assert all(again[i].generation is None for i in range(3))  # on disk, not in memory


def test_a_bad_item_is_its_own_failure(local):
    items = sorted(
        local.map(
            [{"prompt": "ok"}, {"prompt": "x", "steps": 999}, "not a request"], progress=False
        ),
        key=lambda i: i.index,
    )
    assert [i.status for i in items] == ["done", "failed", "failed"]
    assert isinstance(items[1].error, fluxpanel.ValidationError) and "steps" in str(items[1].error)


def test_progress_is_a_bar(local, capsys, monkeypatch):
    list(local.map(grid("a fox", seed=[1, 2]), progress=True))  # tqdm, installed with the tests
    assert "fluxpanel" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as where tqdm is not installed
    list(local.map(grid("a fox", seed=[3, 4]), progress=True))
    assert "fluxpanel: 2 items (2 done)" in capsys.readouterr().err


def test_the_async_batch(server, tmp_path):
    import asyncio

    async def main():
        async with fluxpanel.AsyncFluxClient(
            api_key=server.api_key, url=server.url, cache=tmp_path / "c"
        ) as c:
            return [i async for i in c.amap(grid("a fox", seed=[1, 2, 3]), progress=False)]

    assert sorted(i.seed for i in asyncio.run(main())) == [1, 2, 3]
