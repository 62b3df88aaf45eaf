"""compare(): the cross product, only valid combinations sent, cost stated first."""

from __future__ import annotations

import pytest

import fluxpanel
from fluxpanel import CostLimitError, FluxClient

from .conftest import FAST_RETRY


@pytest.fixture
def client(server, tmp_path):
    with FluxClient(api_key=server.api_key, url=server.url, cache=tmp_path, retry=FAST_RETRY) as c:
        yield c


def test_sends_exactly_the_valid_combinations(server, client):
    c = fluxpanel.compare(
        "a fox",
        client=client,
        model=["flux_schnell", "flux_dev", "flux_pro"],
        guidance=[2.0, 4.0],
        seed=7,
        display=False,
    )
    sent = sorted((p.json()["model"], p.json()["guidance"]) for p in server.posts)
    assert sent == [("flux_dev", 2.0), ("flux_dev", 4.0), ("flux_pro", 2.0), ("flux_pro", 4.0)]
    assert all(p.json()["seed"] == 7 for p in server.posts)
    assert [cell.state for cell in c.cells].count("skipped") == 2
    assert all("guidance is supported only by" in cell.skipped for cell in c.skipped)
    assert len(c.generations) == 4


def test_states_the_cost_and_refuses_over_max_cost(server, client):
    with pytest.raises(CostLimitError, match="nothing was sent") as e:
        fluxpanel.compare(
            "a fox",
            client=client,
            model=["flux_dev", "flux_pro"],
            seed=[1, 2, 3],
            max_cost=0.10,
            display=False,
        )
    assert "6 requests" in str(e.value) and "$0.225" in str(e.value)
    assert server.requests == []


def test_cached_cells_are_estimated_free(server, client):
    kw = {"client": client, "model": ["flux_dev"], "seed": [1, 2], "display": False}
    first = fluxpanel.compare("a fox", **kw)
    assert first.estimated_cost == pytest.approx(0.05)
    again = fluxpanel.compare("a fox", max_cost=0, **kw)  # all cached: allowed at $0
    assert again.estimated_cost == 0 and len(server.posts) == 2
    assert all(g.cached for g in again.generations)


def test_one_seed_is_shared_when_none_is_given(server, client):
    c = fluxpanel.compare("a fox", client=client, steps=[1, 2, 3, 4], display=False)
    assert len({g.request.seed for g in c.generations}) == 1


def test_concurrency_is_bounded(server, client):
    server.latency = 0.2
    fluxpanel.compare("a fox", client=client, seed=list(range(6)), concurrency=2, display=False)
    assert server.max_in_flight == 2 and len(server.posts) == 6


def test_failed_cells_are_marked_and_retried_alone(server, client):
    server.fail("status", times=2, status=500)
    c = fluxpanel.compare("a fox", client=client, seed=[1, 2, 3, 4], concurrency=1, display=False)
    assert len(c.failed) == 2 and len(c.generations) == 2
    html = c._repr_html_()
    assert html.count("data-state='failed'") == 2 and "retry_failed()" in html
    c.retry_failed(display=False)
    assert c.failed == [] and len(c.generations) == 4
    assert len(server.posts) == 6  # only the two failed cells were sent again


def test_grid_is_labelled_and_escaped(server, client):
    c = fluxpanel.compare(
        "<script>x</script>",
        client=client,
        model=["flux_schnell", "flux_dev"],
        seed=[1, 2],
        display=False,
    )
    html = c._repr_html_()
    assert "model=flux_dev" in html and "seed=2" in html  # rows and columns named
    assert "<script>x" not in html and "&lt;script&gt;" in html
    assert html.count("data:image/webp;base64,") == 4


def test_empty_list_is_an_error(client):
    with pytest.raises(fluxpanel.ValidationError, match="no values"):
        fluxpanel.compare("a fox", client=client, seed=[], display=False)


@pytest.mark.anyio
async def test_acompare(server):
    async with fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=False) as c:
        comp = await fluxpanel.acompare("a fox", client=c, steps=[2, 3], display=False)
    assert [g.request.steps for g in comp.generations] == [2, 3]


def test_grid_updates_as_each_cell_arrives_and_states_the_plan_first(
    server, client, monkeypatch, capsys
):
    from fluxpanel import _compare

    shown = []

    class Recorder(_compare._Display):
        def update(self):
            shown.append(sum(1 for c in self.comparison.to_run if c.state != "pending"))

    monkeypatch.setattr(_compare, "_Display", Recorder)
    server.latency = 0.3  # cells a few tenths apart, as a host's are, even on a busy machine
    fluxpanel.compare("a fox", client=client, model="flux_dev", seed=[1, 2, 3], concurrency=1)
    assert "Comparison: 3 requests, estimated cost $0.075" in capsys.readouterr().out
    assert shown == [1, 2, 3, 3]  # one update per arriving cell, then the final one


def test_the_prompt_goes_only_to_the_models_that_take_one():
    """Fill beside Erase: the same image and mask, the prompt for Fill alone."""
    import io

    from PIL import Image

    image = Image.new("RGB", (320, 256), (40, 90, 160))
    mask = Image.new("L", (320, 256), 0)
    mask.paste(255, (100, 80, 200, 160))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    grid = fluxpanel.compare(
        "a red door",
        provider="preview",
        model=["flux_fill_pro", "flux_erase"],
        image=buf.getvalue(),
        mask=mask,
    )
    assert [c.state for c in grid.cells] == ["done", "done"]
    fill, erase = (c.request for c in grid.cells)
    assert fill.prompt == "a red door" and erase.prompt is None
    assert erase.seed == fill.seed  # one seed for the grid
