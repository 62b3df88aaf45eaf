"""GenerationRequest: validation before the network, defaults, seeds, payloads."""

from __future__ import annotations

import math
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

import fluxpanel
from fluxpanel import GenerationRequest, ValidationError
from fluxpanel._spec import SEED_MAX

from .strategies import out_of_range, valid_params

NUMERIC = [
    (m.id, p.name)
    for m in fluxpanel.MODELS.values()
    for p in m.params.values()
    if p.kind in ("integer", "number")
]


def test_defaults_follow_the_model():
    for model, spec in fluxpanel.MODELS.items():
        r = GenerationRequest(model=model, prompt="a fox")
        for name, p in spec.params.items():
            if name == "seed":
                assert 0 <= r.seed <= SEED_MAX
            elif name != "prompt":
                assert getattr(r, name) == p.default
        assert set(r.to_payload()) == {"model", *spec.params}


def test_seed_drawn_once_and_recorded():
    r = GenerationRequest(model="flux_dev", prompt="x")
    assert r.to_payload()["seed"] == r.seed == r.params["seed"]
    seeds = {GenerationRequest(model="flux_dev", prompt="x").seed for _ in range(20)}
    assert len(seeds) > 15  # random, not a constant
    assert GenerationRequest(model="flux_dev", prompt="x", seed=7).seed == 7


def test_payload_never_holds_unsupported_fields():
    payload = GenerationRequest(model="flux_pro", prompt="x", seed=1).to_payload()
    assert payload == {
        "model": "flux_pro",
        "prompt": "x",
        "aspect_ratio": "1024x1024",
        "seed": 1,
        "steps": 25,
        "guidance": 3.0,
        "interval": 2.0,
        "safety_tolerance": 2,
    }
    schnell = GenerationRequest(model="flux_schnell", prompt="x", seed=1).to_payload()
    assert "guidance" not in schnell and "interval" not in schnell
    assert GenerationRequest(model="flux_schnell", prompt="x").guidance is None


@given(valid_params())
def test_every_valid_request_is_accepted(case):
    model, params = case
    r = GenerationRequest(model=model, **params)
    for k, v in params.items():
        assert r.params[k] == v
    assert GenerationRequest.from_payload(r.to_payload()) == r


@pytest.mark.parametrize(("model", "name"), NUMERIC)
@given(data=st.data())
def test_out_of_range_is_rejected_naming_field(model, name, data):
    p = fluxpanel.MODELS[model].params[name]
    value = data.draw(out_of_range(p))
    with pytest.raises(ValidationError) as e:
        GenerationRequest(model=model, prompt="x", **{name: value})
    err = e.value
    assert (err.field, err.model) == (name, model)
    assert name in str(err) and model in str(err) and repr(value) in str(err)
    assert f"from {fmt(p.min)} to {fmt(p.max)}" in err.allowed


def fmt(x):
    return str(int(x)) if float(x).is_integer() else str(x)


def test_unsupported_parameter_names_the_models_that_take_it():
    with pytest.raises(ValidationError, match="interval is supported only by flux_pro"):
        GenerationRequest(model="flux_dev", prompt="x", interval=2)
    with pytest.raises(ValidationError, match="guidance is supported only by flux_dev, flux_pro"):
        GenerationRequest(model="flux_schnell", prompt="x", guidance=3)
    with pytest.raises(ValidationError, match="num_images is supported only by"):
        GenerationRequest(model="flux_pro", prompt="x", num_images=2)


def test_unknown_keyword_suggests_the_right_one():
    with pytest.raises(ValidationError, match="did you mean 'steps'") as e:
        GenerationRequest(model="flux_dev", prompt="x", step=3)
    assert e.value.field == "step"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("steps", True),
        ("num_images", False),
        ("steps", 3.0),
        ("steps", "3"),
        ("guidance", float("nan")),
        ("guidance", math.inf),
        ("guidance", -math.inf),
        ("guidance", "3.5"),
        ("aspect_ratio", "1:1"),
        ("aspect_ratio", 1024),
        ("seed", -1),
        ("seed", SEED_MAX + 1),
        ("prompt", ""),
        ("prompt", "x" * 4001),
        ("prompt", 42),
    ],
)
def test_bad_values_are_rejected(field, value):
    with pytest.raises(ValidationError) as e:
        GenerationRequest(model="flux_dev", **{"prompt": "x", field: value})
    assert e.value.field == field
    assert field in str(e.value)


def test_bad_model():
    with pytest.raises(ValidationError, match="flux_schnell, flux_dev, flux_pro") as e:
        GenerationRequest(model="flux_ultra", prompt="x")
    assert e.value.field == "model"


def test_limits_are_inclusive():
    GenerationRequest(model="flux_dev", prompt="x" * 4000, guidance=0, steps=50, seed=SEED_MAX)
    GenerationRequest(model="flux_pro", prompt="x", guidance=5, interval=1, safety_tolerance=6)
    GenerationRequest(model="flux_schnell", prompt="é", steps=1, num_images=4, seed=0)


def test_long_prompt_is_not_echoed_in_full():
    with pytest.raises(ValidationError) as e:
        GenerationRequest(model="flux_dev", prompt="y" * 5000)
    assert len(str(e.value)) < 300 and "5000 characters" in str(e.value)


def test_numbers_are_normalised():
    r = GenerationRequest(model="flux_dev", prompt="x", guidance=4)
    assert r.guidance == 4.0 and isinstance(r.guidance, float)
    assert r == GenerationRequest(model="flux_dev", prompt="x", guidance=4.0, seed=r.seed)


def test_validation_error_is_a_value_error():
    assert issubclass(ValidationError, fluxpanel.FluxError)
    assert issubclass(ValidationError, ValueError)


def test_immutable_equal_and_hashable():
    r = GenerationRequest(model="flux_dev", prompt="x", seed=5)
    with pytest.raises(AttributeError):
        r.steps = 3
    same = GenerationRequest(model="flux_dev", prompt="x", seed=5, steps=28)
    assert r == same and hash(r) == hash(same) and len({r, same}) == 1
    assert r != r.replace(steps=29)
    assert pickle.loads(pickle.dumps(r)) == r


def test_replace_validates_and_switches_models():
    r = GenerationRequest(model="flux_dev", prompt="x", seed=5, steps=40, guidance=7)
    assert r.replace(steps=10).steps == 10 and r.steps == 40
    with pytest.raises(ValidationError):
        r.replace(steps=99)
    schnell = r.replace(model="flux_schnell")
    # Carried over, brought into range; guidance dropped; seed kept.
    assert (schnell.steps, schnell.guidance, schnell.seed) == (4, None, 5)
    pro = r.replace(model="flux_pro")
    assert (pro.steps, pro.guidance, pro.interval) == (40, 5.0, 2.0)
    # A value that was only the old model's default follows the new default.
    assert GenerationRequest(model="flux_dev", prompt="x").replace(model="flux_pro").steps == 25


def test_size_and_count():
    r = GenerationRequest(model="flux_dev", prompt="x", aspect_ratio="768x1344", num_images=3)
    assert r.size == (768, 1344) and r.count == 3
    assert GenerationRequest(model="flux_pro", prompt="x").count == 1


def test_snippet_without_seed_leaves_only_the_seed_out():
    import ast

    from fluxpanel._snippet import request_code

    r = GenerationRequest(model="flux_pro", prompt="a 'fox'", seed=7)
    code = request_code(r, "preview", seed=False)
    call = next(
        n
        for n in ast.walk(ast.parse(code))
        if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "generate"
    )
    sent = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    assert sent == {k: v for k, v in r.to_payload().items() if k != "seed"}
    assert "drawn at random" in code and "seed=7," in r.to_code()
