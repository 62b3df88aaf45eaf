"""A model's lifecycle is data: current, legacy (still served, superseded)
or retired (no longer served), said in the selector, refused before sending
when retired, and a host's 404 on a model's own route is its own error."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

import fluxpanel
from fluxpanel import GenerationRequest, ValidationError
from fluxpanel._spec import Status, models_to_json
from fluxpanel.providers import BlackForestLabs, Preview
from fluxpanel.tables import bfl
from fluxpanel.tables._family import FAMILIES, TASKS
from fluxpanel.testing import FakeBFL

from .conftest import FAST_RETRY, quick

GONE = Status("retired", since="2026-12-03", instead="FLUX.2 [pro]", source="a test")


def test_the_selector_groups_by_family_newest_first_and_marks_legacy_models():
    shown = models_to_json(Preview().models)["models"]
    # Each group is a family, with what it is for ("FLUX 3: make, edit, ...").
    families = list(dict.fromkeys(m["family"].split(":")[0] for m in shown))
    assert families == [
        family for family, _ in FAMILIES if any(m["family"].startswith(family) for m in shown)
    ]
    assert all(
        m["family"] == f"{f}: {TASKS[f]}" for m in shown for f in [m["family"].split(":")[0]]
    )
    order = [m for _, ms in FAMILIES for m in ms]
    ids = [m["id"] for m in shown]
    assert ids == sorted(ids, key=order.index)  # newest first within each family
    kontext = next(m for m in shown if m["id"] == "flux_kontext_pro")
    assert kontext["choice"] == "FLUX.1 Kontext [pro] (legacy)"
    assert kontext["status"]["instead"] == "FLUX.2 [pro]"
    assert "legacy model" in kontext["caveats"][0]["text"]
    dev = next(m for m in shown if m["id"] == "flux_dev")
    assert dev["choice"] == "FLUX.1 [dev]" and dev["status"]["state"] == "current"


def test_a_retired_model_is_hidden_refused_before_sending_and_named_with_what_to_use():
    table = dict(bfl.MODELS)
    table["flux_kontext_pro"] = dataclasses.replace(table["flux_kontext_pro"], status=GONE)
    ids = [m["id"] for m in models_to_json(table)["models"]]
    assert "flux_kontext_pro" not in ids and "flux_kontext_max" in ids
    assert "flux_kontext_pro" in [m["id"] for m in models_to_json(table, retired=True)["models"]]
    assert "flux_kontext_pro" in [
        m["id"] for m in models_to_json(table, keep="flux_kontext_pro")["models"]
    ]
    with pytest.raises(ValidationError) as e:
        GenerationRequest("flux_kontext_pro", "a fox", models=table)
    words = str(e.value)
    assert e.value.field == "model" and "retired here since 2026-12-03" in words
    assert "use FLUX.2 [pro] instead" in words


def test_a_404_on_a_models_route_says_the_host_does_not_serve_it():
    with FakeBFL() as fake:
        row = bfl.MODELS["flux_dev"]
        gone = dataclasses.replace(row, wire=dataclasses.replace(row.wire, route="/v1/flux-gone"))

        class Host(quick(BlackForestLabs)):
            models = MappingProxyType({**bfl.MODELS, "flux_dev": gone})

        provider = Host(api_key=fake.api_key, base_url=fake.base_url)
        with fluxpanel.FluxClient(provider=provider, cache=False, retry=FAST_RETRY) as c:
            with pytest.raises(fluxpanel.ModelNotServedError) as e:
                c.generate(model="flux_dev", prompt="a fox", seed=1)
    assert e.value.status == 404 and "may have been retired" in str(e.value)
    assert fake.api_key not in str(e.value)


def test_the_panel_leaves_retired_models_out_unless_asked():
    table = dict(Preview().models)
    table["flux_kontext_max"] = dataclasses.replace(table["flux_kontext_max"], status=GONE)

    class Host(Preview):
        models = MappingProxyType(table)

    panel = fluxpanel.FluxPanel(provider=Host(), prompt="a fox")
    assert "flux_kontext_max" not in [m["id"] for m in panel.spec["models"]]
    panel.show_retired = True
    assert "flux_kontext_max" in [m["id"] for m in panel.spec["models"]]
    panel.model = "flux_kontext_max"
    assert "model" in panel.field_errors and "retired" in panel.field_errors["model"]
