"""The capability spec matches docs/site/api-contract.md row by row."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import fluxpanel
from fluxpanel._spec import check_table, models_to_json

CONTRACT = Path(__file__).parent.parent / "docs" / "site" / "api-contract.md"
SHORT = {"schnell": "flux_schnell", "dev": "flux_dev", "pro": "flux_pro"}
ALL = ["flux_schnell", "flux_dev", "flux_pro"]


def contract_rows():
    """The request table of the contract, parsed."""
    rows = {}
    text = CONTRACT.read_text()
    table = text.split("## Request", 1)[1].split("\n\n- ", 1)[0]
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].startswith("`"):
            continue
        name = cells[0].strip("`")
        rows[name] = dict(zip(["type", "models", "allowed", "default"], cells[1:], strict=True))
    return rows


def per_model(cell, models):
    """'schnell 1 to 4; dev 1 to 50' -> {model: '1 to 4', ...}; plain -> same for all."""
    if any(cell.startswith(k + " ") for k in SHORT):
        out = {}
        for part in cell.split(";"):
            short, _, rest = part.strip().partition(" ")
            out[SHORT[short]] = rest
        return out
    return {m: cell for m in models}


def number(text):
    return float(re.match(r"-?[\d.]+", text).group())


ROWS = contract_rows()


def test_contract_parsed():
    assert set(ROWS) == {
        "model",
        "prompt",
        "num_images",
        "aspect_ratio",
        "seed",
        "steps",
        "guidance",
        "interval",
        "safety_tolerance",
    }


@pytest.mark.parametrize("name", [n for n in ROWS if n != "model"])
def test_parameter_matches_contract(name):
    row = ROWS[name]
    models = ALL if row["models"] == "all" else [m.strip() for m in row["models"].split(",")]
    # Supported by exactly the models the contract names.
    assert {m for m in ALL if fluxpanel.MODELS[m].supports(name)} == set(models)
    allowed = per_model(row["allowed"], models)
    defaults = per_model(row["default"], models)
    for model in models:
        p = fluxpanel.MODELS[model].params[name]
        assert p.kind == {"string": p.kind, "integer": "integer", "number": "number"}[row["type"]]
        if "`" in allowed[model]:
            assert p.choices == tuple(re.findall(r"`([^`]+)`", allowed[model]))
            assert p.default == re.findall(r"`([^`]+)`", defaults[model])[0]
            continue
        lo, hi = re.match(r"(\d[\d.]*)\D.*?to (\d[\d.]*)", allowed[model]).groups()
        assert (p.min, p.max) == (float(lo), float(hi)), (model, name)
        d = defaults[model]
        if d == "required":
            assert p.required and p.default is None
        elif d.startswith("chosen at random"):
            assert p.default is None and not p.required
        else:
            assert p.default == number(d), (model, name)
            assert type(p.default) is (int if p.kind == "integer" else float)


def test_model_choices_match_contract():
    assert set(re.findall(r"`(\w+)`", ROWS["model"]["allowed"])) == set(fluxpanel.MODELS)


def test_table_is_consistent_and_json():
    check_table(fluxpanel.MODELS)
    data = json.loads(json.dumps(models_to_json(fluxpanel.MODELS)))
    # in the selector's order: newest family first (the API page's three are FLUX.1)
    assert [m["id"] for m in data["models"]] == ["flux_pro", "flux_dev", "flux_schnell"]
    steps = {m["id"]: {p["name"]: p for p in m["params"]}["steps"] for m in data["models"]}
    assert steps["flux_schnell"]["max"] == 4 and steps["flux_dev"]["default"] == 28
    for model in data["models"]:
        for p in model["params"]:
            assert p["label"] and p["help"], (model["id"], p["name"])


def test_spec_is_read_only():
    with pytest.raises(TypeError):
        fluxpanel.MODELS["flux_x"] = None  # type: ignore[index]
    with pytest.raises(TypeError):
        fluxpanel.MODELS["flux_dev"].params["steps"] = None  # type: ignore[index]


def test_readme_table_matches_spec():
    """The README's model table says what the spec says."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    for model in fluxpanel.MODELS.values():
        col = list(fluxpanel.MODELS).index(model.id) + 1
        for name in ("num_images", "steps", "guidance", "interval", "safety_tolerance"):
            line = next(ln for ln in readme.splitlines() if ln.startswith(f"| `{name}` |"))
            cell = [c.strip() for c in line.strip("|").split("|")][col]
            p = model.params.get(name)
            if p is None:
                assert cell == "—", (model.id, name)
            else:
                assert cell.startswith(f"{p.min:g}") and f"default {p.default:g}" in cell, (
                    model.id,
                    name,
                    cell,
                )


def test_readme_provider_table_matches_the_providers():
    from fluxpanel.providers import PROVIDERS

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    rows = {
        line.split("|")[1].strip().split()[0].strip("`"): line
        for line in readme.splitlines()
        if line.startswith("| `") and line.split("|")[1].strip().split()[0].strip("`") in PROVIDERS
    }
    assert set(rows) == set(PROVIDERS)
    for name, cls in PROVIDERS.items():
        cells = [c.strip() for c in rows[name].strip("|").split("|")]
        assert [m.strip() for m in cells[2].split(",")] == list(cls.models), name
        if cls.key_env:
            assert f"`{cls.key_env}`" in cells[1], name


def test_readme_host_table_is_the_generated_one():
    """`python -m fluxpanel._docs --readme` renews it; this keeps it in step."""
    from fluxpanel._docs import host_table, with_host_table

    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert host_table() in readme
    assert with_host_table(readme) == readme


def test_an_image_list_can_follow_another_image_and_number_from_it():
    from fluxpanel._spec import check_table
    from fluxpanel.providers import BlackForestLabs, Fal, Replicate
    from fluxpanel.tables._params import model, more_images

    for provider in (BlackForestLabs, Fal):
        kontext = provider.models["flux_kontext_pro"]
        row = next(p for p in kontext.to_json()["params"] if p["name"] == "more_images")
        assert row["needs"] == "input_image" and row["first_number"] == 2 and row["max"] == 3
        assert kontext.applicable({"input_image": None}).count("more_images") == 0
        assert "more_images" in kontext.applicable({"input_image": object()})
    assert "more_images" not in Replicate.models["flux_kontext_pro"].params  # not published
    # A list that follows an image must come after it in the table.
    from fluxpanel._spec import ANY_IMAGE
    from fluxpanel.tables._params import PROMPT, image

    with pytest.raises(AssertionError):
        check_table(
            {
                "flux_kontext_pro": model(
                    "flux_kontext_pro",
                    PROMPT,
                    more_images(ANY_IMAGE, 3),
                    image("input_image", "Input image", "", ANY_IMAGE),
                )
            }
        )


def test_choice_values_have_labels_people_read():
    """The menus say 768 × 768, "Same as the input", Landscape 4:3 (1024 ×
    768), 0.25 MP; the values sent stay the hosts' own; a ratio is its own label."""
    from fluxpanel.providers import BlackForestLabs, Fal, Replicate
    from fluxpanel.tables import preview

    def view(models, model, name):
        return next(p for p in models[model].to_json()["params"] if p["name"] == name)

    tiers = view(preview.MODELS, "flux_3_image", "resolution")
    assert tiers["choices"][:2] == ["768sq", "1k"]
    assert tiers["labels"][:2] == ["768 × 768", "1K"]
    kontext = view(preview.MODELS, "flux_kontext_pro", "aspect_ratio")
    assert kontext["labels"][kontext["choices"].index("match_input")] == "Same as the input"
    sizes = view(Fal.models, "flux_dev", "aspect_ratio")
    assert sizes["labels"][sizes["choices"].index("landscape_4_3")] == "Landscape 4:3 (1024 × 768)"
    assert sizes["labels"][sizes["choices"].index("square_hd")] == "Square HD (1024 × 1024)"
    klein = view(Replicate.models, "flux_2_klein_4b", "output_megapixels")
    assert klein["labels"][0] == "0.25 MP" and klein["choices"][0] == "0.25"
    seed_page = view(fluxpanel.MODELS, "flux_dev", "aspect_ratio")
    assert "1024 × 1024" in seed_page["labels"] and "1024x1024" in seed_page["choices"]
    ratios = view(BlackForestLabs.models, "flux_pro_1_1_ultra", "aspect_ratio")
    assert "labels" not in ratios  # 16:9 says what it is
