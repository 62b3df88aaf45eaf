"""LoRAs and finetunes: one kind of value (a list of sources, each at a
scale), written in each host's form (fal's list, Replicate's two pairs of
fields, Black Forest Labs' finetune id and strength), part of a request's
identity, in snippets, metadata and comparisons, and refused by the fakes
where the hosts refuse them."""

from __future__ import annotations

import json
import re

import httpx
import pytest

import fluxpanel
from fluxpanel import FluxClient, GenerationRequest, Lora, ValidationError
from fluxpanel._compare import comparison_label
from fluxpanel._kinds import KINDS
from fluxpanel.providers import BlackForestLabs, Fal, Replicate
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate

from .conftest import FAST_RETRY, quick, run_snippet

FOX = "https://weights.example/fox.safetensors"
SIGNED = FOX + "?X-Amz-Signature=c2VjcmV0c2lnbmF0dXJl&X-Amz-Expires=600"


def request(cls, model="flux_dev_lora", **params):
    return GenerationRequest(model=model, models=cls.models, **{"prompt": "a fox", **params})


def client(cls, fake, **kw):
    provider = quick(cls)(api_key=fake.api_key, base_url=fake.base_url)
    return FluxClient(provider=provider, retry=FAST_RETRY, **{"cache": False, **kw})


# -- the value: every form Python people write, one canonical form ------------------------


def test_every_form_reads_as_the_same_loras_with_the_hosts_default_scale():
    forms = [
        "owner/fox",
        Lora("owner/fox"),
        {"source": "owner/fox"},
        [("owner/fox", 1)],
        [{"path": "owner/fox", "scale": 1.0}],
    ]
    for form in forms:
        assert request(Replicate, loras=form).loras == (Lora("owner/fox", 1.0),), form
    two = request(Replicate, loras=[Lora(FOX, 0.5), "owner/paper"]).loras
    assert two == (Lora(FOX, 0.5), Lora("owner/paper", 1.0))
    assert request(Replicate).loras == ()  # none given: the plain model
    finetune = request(BlackForestLabs, "flux_pro_1_1_ultra_finetuned", finetune="my-fox")
    assert finetune.finetune == (Lora("my-fox", 1.2),)  # Black Forest Labs' default strength


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (["./fox.safetensors"], "LoRA 1: './fox.safetensors' is neither an https URL"),
        (["/home/me/fox.safetensors"], "neither an https URL nor a name"),
        (["http://weights.example/fox"], "is not https"),
        (["owner/fox\n"], "has spaces or line breaks"),
        ([("owner/fox", 3.5)], "LoRA 1: its scale 3.5 is outside -1 to 3"),
        ([("owner/fox", float("nan"))], "not a finite number"),
        ([("owner/fox", True)], "its scale is bool"),
        (["a/b", "c/d", "e/f"], "3 LoRAs given, and flux_dev_lora takes at most 2"),
        (["owner/fox", Lora("owner/fox", 0.5)], "'owner/fox' is given twice"),
        (42, "expected a list of LoRAs, got int"),
    ],
)
def test_bad_loras_name_the_field_the_value_and_what_is_allowed(value, words):
    with pytest.raises(ValidationError) as e:
        request(Replicate, loras=value)
    assert e.value.field == "loras" and words in str(e.value)
    assert "allowed: up to 2 LoRAs: an https URL" in str(e.value)
    assert "each with a scale from -1 to 3" in str(e.value)


def test_a_finetune_is_required_and_is_an_id_not_an_address():
    with pytest.raises(ValidationError) as e:
        request(BlackForestLabs, "flux_pro_1_1_ultra_finetuned")
    assert e.value.missing and e.value.field == "finetune"
    with pytest.raises(
        ValidationError, match=re.escape("'https://x.example/a' is not a finetune id")
    ):
        request(BlackForestLabs, "flux_pro_1_1_ultra_finetuned", finetune="https://x.example/a")
    with pytest.raises(ValidationError, match=re.escape("its strength 2.5 is outside 0 to 2")):
        request(BlackForestLabs, "flux_pro_1_1_ultra_finetuned", finetune=[("my-fox", 2.5)])
    shared = request(BlackForestLabs, "flux_pro_1_1_ultra_finetuned", finetune="org-1/fox")
    assert shared.finetune == (Lora("org-1/fox", 1.2),)  # another organisation's, shared


def test_the_panel_says_it_in_a_persons_words():
    spec = Replicate.models["flux_dev_lora"]
    p = spec.params["loras"]
    with pytest.raises(ValidationError) as e:
        request(Replicate, loras=["a/b", "c/d", "e/f"])
    said = KINDS[p.kind].say(spec, p, e.value)
    assert said == "3 LoRAs given, and FLUX.1 [dev] LoRA takes at most 2."
    ft = BlackForestLabs.models["flux_pro_1_1_ultra_finetuned"]
    with pytest.raises(ValidationError) as e:
        request(BlackForestLabs, "flux_pro_1_1_ultra_finetuned")
    assert KINDS["finetunes"].say(ft, ft.params["finetune"], e.value) == "Add a finetune: its id."


def test_the_scale_is_part_of_the_requests_identity():
    half, full = (request(Fal, loras=[(FOX, s)], seed=1) for s in (0.5, 1.0))
    assert half != full and hash(half.replace(loras=[(FOX, 1.0)])) == hash(full)
    assert half.replace(loras=[(FOX, 1.0)]) == full
    one, other = (request(Fal, loras=order, seed=1) for order in ([FOX, "o/b"], ["o/b", FOX]))
    assert one != other  # the order counts


# -- each host's form, through its fake ------------------------------------------------------


def test_fal_gets_its_list_of_paths_and_scales():
    with FakeFal() as fake, client(Fal, fake) as c:
        fake.queue_polls = 0
        g = c.generate(model="flux_dev_lora", prompt="a fox", loras=[(FOX, 0.7), "owner/paper"])
        assert g.images
        [submit] = fake.submits
    assert submit.path == "/fal-ai/flux-lora"
    assert submit.json()["loras"] == [
        {"path": FOX, "scale": 0.7},
        {"path": "owner/paper", "scale": 1.0},
    ]


def test_replicate_gets_lora_weights_then_extra_lora_on_flux_dev_lora(tmp_path):
    with FakeReplicate() as fake, client(Replicate, fake) as c:
        g = c.generate(model="flux_dev_lora", prompt="a fox", loras=[(FOX, -0.5), "o/paper"])
        body = fake.creates[0].json()
        assert fake.creates[0].path.endswith("/black-forest-labs/flux-dev-lora/predictions")
        run_snippet(
            g.code, tmp_path, REPLICATE_API_TOKEN=fake.api_key, FLUXPANEL_CACHE_DIR=str(tmp_path)
        )
        again = fake.creates[-1].json()
    sent = body["input"]
    assert (sent["lora_weights"], sent["lora_scale"]) == (FOX, -0.5)
    assert (sent["extra_lora"], sent["extra_lora_scale"]) == ("o/paper", 1.0)
    assert "loras" not in sent
    assert again["input"] == sent  # the snippet makes the same request
    one = request(Replicate, loras=[FOX]).replace()
    with FakeReplicate() as fake, client(Replicate, fake) as c:
        c.generate(one)
        assert "extra_lora" not in fake.creates[0].json()["input"]


def test_black_forest_labs_gets_the_finetune_id_and_strength():
    with FakeBFL() as fake, client(BlackForestLabs, fake) as c:
        g = c.generate(
            model="flux_pro_1_1_ultra_finetuned", prompt="a fox", finetune=[("my-fox", 0.9)]
        )
        assert g.images
        [submit] = fake.submits
    assert submit.path == "/v1/flux-pro-1.1-ultra-finetuned"
    body = submit.json()
    assert (body["finetune_id"], body["finetune_strength"]) == ("my-fox", 0.9)
    assert "finetune" not in body and "raw" not in body
    caveats = [c.text for c in BlackForestLabs.models["flux_pro_1_1_ultra_finetuned"].caveats]
    assert any("api.us1.bfl.ai" in t for t in caveats)  # finetunes live in one region


def test_where_a_finetune_is_served_is_said_but_leaves_its_images_reproducible():
    """The region caveat informs; only prompt upsampling makes the same request differ."""
    for model in ("flux_pro_finetuned", "flux_pro_1_1_ultra_finetuned"):
        request = fluxpanel.GenerationRequest(
            model, "a fox", models=BlackForestLabs.models, seed=3, finetune=[("my-fox", 1)]
        )
        assert request.reproducible and any("api.us1.bfl.ai" in t for t in request.caveats)
        assert not request.replace(prompt_upsampling=True).reproducible


@pytest.mark.parametrize(
    ("cls", "fake_cls", "model", "route"),
    [
        (BlackForestLabs, FakeBFL, "flux_pro_finetuned", "/v1/flux-pro-finetuned"),
        (Replicate, FakeReplicate, "flux_pro_finetuned", "flux-pro-finetuned"),
        (Replicate, FakeReplicate, "flux_pro_1_1_ultra_finetuned", "flux-1.1-pro-ultra-finetuned"),
        (Fal, FakeFal, "flux_pro_1_1_ultra_finetuned", "/fal-ai/flux-pro/v1.1-ultra-finetuned"),
    ],
)
def test_every_finetuned_model_sends_its_id_and_strength_to_its_route(cls, fake_cls, model, route):
    with fake_cls() as fake, client(cls, fake) as c:
        if hasattr(fake, "queue_polls"):
            fake.queue_polls = 0
        assert c.generate(model=model, prompt="a fox", finetune=[("my-fox", 0.4)]).images
        [sent] = [r for r in fake.requests if r.method == "POST" and route in r.path]
    body = sent.json()
    body = body.get("input", body)
    assert (body["finetune_id"], body["finetune_strength"]) == ("my-fox", 0.4)


def _post(fake, path, body, headers):
    return httpx.post(fake.base_url + path, json=body, headers=headers, timeout=10)


def test_the_fakes_refuse_what_the_hosts_refuse():
    with FakeReplicate() as fake:
        auth = {"Authorization": f"Bearer {fake.api_key}"}
        path = "/v1/models/black-forest-labs/flux-dev-lora/predictions"
        ok = _post(fake, path, {"input": {"prompt": "x", "lora_weights": FOX}}, auth)
        assert ok.status_code < 300
        for field, value in (("lora_scale", 3.5), ("extra_lora_scale", -1.5), ("loras", [])):
            r = _post(fake, path, {"input": {"prompt": "x", field: value}}, auth)
            assert r.status_code == 422 and field in r.text, (field, r.text)
    with FakeBFL() as fake:
        auth = {"x-key": fake.api_key}
        path = "/v1/flux-pro-1.1-ultra-finetuned"
        assert _post(fake, path, {"prompt": "x"}, auth).status_code == 422  # no finetune_id
        r = _post(fake, path, {"prompt": "x", "finetune_id": "a", "finetune_strength": 2.5}, auth)
        assert r.status_code == 422 and "finetune_strength" in r.text
        r = _post(fake, path, {"prompt": "x", "finetune_id": "a", "raw": True}, auth)
        assert r.status_code == 422 and "raw" in r.text
    with FakeFal() as fake:
        fake.queue_polls = 0
        auth = {"Authorization": f"Key {fake.api_key}"}

        def result(route, body):  # fal's queue takes it, and its result answers 422
            queued = _post(fake, route, body, auth).json()
            return httpx.get(queued["response_url"], headers=auth, timeout=10)

        assert result("/fal-ai/flux-lora", {"prompt": "x", "loras": [{"path": FOX}]}).is_success
        for loras in ([{"scale": 1}], [{"path": FOX, "scale": "high"}], {"path": FOX}):
            r = result("/fal-ai/flux-lora", {"prompt": "x", "loras": loras})
            assert r.status_code == 422 and "loras" in r.text, loras
        r = result("/fal-ai/flux-lora", {"prompt": "x", "acceleration": "high"})
        assert r.status_code == 422 and "acceleration" in r.text  # no "high" on the LoRA route
        r = result("/fal-ai/flux-pro/v1.1-ultra-finetuned", {"prompt": "x"})
        assert r.status_code == 422 and "finetune_id" in r.text


# -- where a request goes: metadata, exports, snippets, comparisons ---------------------------


def test_a_signed_address_is_sent_whole_and_stored_without_its_signature(tmp_path):
    with FakeFal() as fake, client(Fal, fake) as c:
        fake.queue_polls = 0
        g = c.generate(model="flux_dev_lora", prompt="a fox", loras=[(SIGNED, 0.8)])
        assert fake.submits[0].json()["loras"][0]["path"] == SIGNED  # the host needs it whole
    secret = "c2VjcmV0c2lnbmF0dXJl"
    stored = json.dumps(g.request.to_payload())
    assert secret not in stored and "X-Amz-Signature=REDACTED" in stored
    assert secret not in g.code and "pass it whole" in g.code
    assert secret not in repr(g.request) and secret not in repr(g.request.loras)
    saved = g.images[0].save(tmp_path / "fox")
    back = GenerationRequest.from_image(saved)
    assert back.loras[0].scale == 0.8 and secret not in back.loras[0].source


def test_saved_images_and_snippets_give_the_same_request_back(tmp_path):
    with FakeFal() as fake, client(Fal, fake) as c:
        fake.queue_polls = 0
        g = c.generate(model="flux_dev_lora", prompt="a fox", loras=[(FOX, 0.7)], seed=5)
        assert "fluxpanel.Lora('https://weights.example/fox.safetensors', scale=0.7)" in g.code
        assert "# Note: The host fetches each LoRA itself" in g.code
        run_snippet(g.code, tmp_path, FAL_KEY=fake.api_key, FLUXPANEL_CACHE_DIR=str(tmp_path))
        first, again = (s.json() for s in fake.submits)
    assert first == again
    back = GenerationRequest.from_image(g.images[0].save(tmp_path / "fox"))
    assert back == g.request


def test_compare_takes_a_lora_scale_as_an_axis():
    with FakeFal() as fake, client(Fal, fake) as c:
        fake.queue_polls = 0
        grid = fluxpanel.compare(
            "a fox",
            client=c,
            model="flux_dev_lora",
            loras=[[Lora(FOX, 0.3)], [Lora(FOX, 1.0)], []],
            seed=7,
            display=False,
        )
        sent = [s.json().get("loras") for s in fake.submits]
    assert sorted(map(str, sent)) == sorted(
        map(str, [[{"path": FOX, "scale": 0.3}], [{"path": FOX, "scale": 1.0}], None])
    )
    labels = [comparison_label(grid.varying, cell.params) for cell in grid.cells]
    assert labels == ["loras=fox.safetensors at 0.3", "loras=fox.safetensors at 1", "loras=none"]
    assert "fox.safetensors at 0.3" in grid._repr_html_()  # the grid's headings say it too


def test_switching_models_keeps_what_the_new_one_takes():
    """A panel's LoRAs carried to another host's LoRA model: scales brought
    within its range, the list cut to its length."""
    p = Replicate.models["flux_dev_lora"].params["loras"]
    kept = KINDS[p.kind].fit(p, (Lora("a/b", 3.8), Lora("c/d", 0.5), Lora("e/f", 1)))
    assert kept == (Lora("a/b", 3.0), Lora("c/d", 0.5))
