"""The recipes of docs/site/architecture.md, each followed once: a new
parameter, a new kind of value and a new host each take the files the recipe
names and no other. (Adding a model at a host is shown by
``test_replicate_serves_ultra_as_its_schema_has_it``: one row, its fake, its
test.)"""

from __future__ import annotations

import json
import math
from types import MappingProxyType
from typing import Any

import httpx
import pytest

import fluxpanel
from fluxpanel import GenerationRequest, ParamSpec, ValidationError
from fluxpanel._docs import _param
from fluxpanel._kinds import _BY_NAME, Kind, number
from fluxpanel._spec import Wire, check_table, models_to_json
from fluxpanel.providers import Preview
from fluxpanel.providers._base import Call, HostedProvider, Outputs, Reply
from fluxpanel.tables._params import PROMPT, SEED, model
from fluxpanel.testing import solid_png

SHARPNESS = ParamSpec(
    "sharpness",
    "number",
    "Sharpness",
    "How crisp the edges are: 0 soft, 2 crisp.",
    default=1.0,
    min=0.0,
    max=2.0,
    step=0.1,
)


def test_add_a_parameter_it_is_a_field_of_a_row():
    """A parameter of an existing kind: declared in the row, and validation,
    the request's JSON, the snippet, the docs, the view's spec and the
    panel's trait all follow, from its kind and its declaration alone."""
    table = {"flux_dev": model("flux_dev", PROMPT, SEED, SHARPNESS)}
    check_table(table)
    request = GenerationRequest("flux_dev", "a fox", models=table, sharpness=1.5, seed=1)
    assert request.to_payload()["sharpness"] == 1.5
    assert "    sharpness=1.5," in request.to_code()
    with pytest.raises(ValidationError, match=r"sharpness=3\.0 .* out of range.*from 0 to 2"):
        GenerationRequest("flux_dev", "a fox", models=table, sharpness=3.0)
    assert _param(table["flux_dev"].params["sharpness"]) == "`sharpness` 0–2 (1)"
    view = models_to_json(table)["models"][0]["params"][-1]
    assert (view["name"], view["min"], view["max"], view["step"]) == ("sharpness", 0.0, 2.0, 0.1)

    class Crisp(Preview):
        models = table

    panel = fluxpanel.FluxPanel(provider=Crisp(), prompt="a fox")
    assert panel.sharpness == 1.0
    assert "How crisp the edges are" in panel.trait_metadata("sharpness", "help")
    panel.sharpness = 2.5
    assert "sharpness" in panel.field_errors


class Percent(Kind):
    """A share written as a percentage: 0 to 100, sent as a fraction."""

    name = family = "percent"
    empty = 0.0

    def coerce(self, p: ParamSpec, value: Any, model: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(p, model, value, f"expected a number, got {type(value).__name__}")
        if not (math.isfinite(value) and 0 <= value <= 100):
            raise self.fail(p, model, value, "out of range")
        return float(value)

    def allowed(self, p: ParamSpec) -> str:
        return "a percentage from 0 to 100"

    def for_host(self, spec: Any, p: ParamSpec, params: dict[str, Any]) -> None:
        params[p.name] = params[p.name] / 100

    def doc(self, p: ParamSpec) -> str:
        return f"`{p.name}` 0–100% ({number(p.default)}%)"

    def trait(self, help: str) -> Any:
        import traitlets

        return traitlets.Float(0.0, help=help).tag(sync=True)


def test_add_a_kind_it_is_a_class_and_a_row_of_kinds(monkeypatch):
    """A new kind of value: its class owns checking, the host's form, the
    words, the docs and the trait; every caller asks KINDS, so nothing else
    changes."""
    monkeypatch.setitem(_BY_NAME, "percent", Percent())
    strength = ParamSpec("strength", "percent", "Strength", "How strong.", default=50.0)
    table = {"flux_dev": model("flux_dev", PROMPT, SEED, strength, wire=Wire(route="/x"))}
    check_table(table)
    request = GenerationRequest("flux_dev", "a fox", models=table, strength=25, seed=1)
    assert request.host_params["strength"] == 0.25 and request.params["strength"] == 25.0
    with pytest.raises(ValidationError, match="allowed: a percentage from 0 to 100"):
        GenerationRequest("flux_dev", "a fox", models=table, strength=140)
    assert _param(strength) == "`strength` 0–100% (50%)"
    assert strength.allowed() == "a percentage from 0 to 100"


class Echo(HostedProvider):
    """A host of one model: POST the body, get the image addresses back."""

    name = "echo"
    label = "Echo"
    key_env = "ECHO_KEY"
    default_url = "https://api.echo.example"
    models = MappingProxyType(
        {
            "flux_dev": model(
                "flux_dev",
                PROMPT,
                SEED,
                SHARPNESS,
                wire=Wire(
                    route="/v1/make", names={"sharpness": "crispness"}, extra={"format": "png"}
                ),
            )
        }
    )

    def start(self, request: GenerationRequest) -> Call:
        body = {request.spec.wire.names.get(k, k): v for k, v in request.host_params.items()}
        return Call(
            "POST",
            self._base + request.spec.wire.route,
            json={**body, **request.spec.wire.extra},
            headers={"Authorization": f"Key {self._api_key}"},
            billable=True,
        )

    def advance(self, request: GenerationRequest, call: Call, reply: Reply) -> Outputs:
        return Outputs(urls=self.json_object(reply)["images"])


def test_add_a_host_it_is_a_flow_and_a_table():
    """A new host: its flow (start, advance) and its table; the engine drives
    it, with httpx's own MockTransport standing in for the host."""
    seen: list[httpx.Request] = []
    png = solid_png(64, 64, (10, 20, 30))

    def host(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/v1/make":
            return httpx.Response(200, json={"images": ["https://cdn.echo.example/1.png"]})
        return httpx.Response(200, content=png, headers={"content-type": "image/png"})

    provider = Echo(api_key="k-123")
    with fluxpanel.FluxClient(
        provider=provider, transport=httpx.MockTransport(host), cache=False
    ) as client:
        gen = client.generate(model="flux_dev", prompt="a fox", sharpness=0.5, seed=9)
    assert gen.images[0].data == png
    sent = json.loads(seen[0].content)
    assert sent == {"prompt": "a fox", "seed": 9, "crispness": 0.5, "format": "png"}
    assert "authorization" not in seen[1].headers  # the key never goes with a download
