"""LoRAs and finetunes in JupyterLab: a list field with Add, Remove and a
scale per entry; messages beside it in a person's words; what the host
receives, and the snippet that makes the same request."""

from __future__ import annotations

from playwright.sync_api import expect

from .test_boxes import until

FAL = """\
import fluxpanel
from fluxpanel.providers import Fal
from fluxpanel.testing import FakeFal
fal = FakeFal().start()
fal.queue_polls = 0
panel = fluxpanel.FluxPanel(provider=Fal(api_key=fal.api_key, base_url=fal.base_url), model="flux_dev_lora", prompt="a fox in the style of <lora>")
panel"""

BFL = """\
import fluxpanel
from fluxpanel.providers import BlackForestLabs
from fluxpanel.testing import FakeBFL
bfl = FakeBFL().start()
provider = BlackForestLabs(api_key=bfl.api_key, base_url=bfl.base_url)
provider.poll_first = 0.02
panel = fluxpanel.FluxPanel(provider=provider, model="flux_pro_1_1_ultra_finetuned", prompt="a fox")
panel"""


def test_add_two_loras_fix_a_bad_one_set_scales_remove_and_generate(make_lab):
    lab = make_lab([], setup=FAL)
    panel = lab.panel
    field = panel.locator('[data-param="loras"]')
    rows = field.locator(".fluxpanel-lora")
    expect(rows).to_have_count(0)  # none until asked for
    field.locator('[data-action="add-lora"]').click()
    expect(rows).to_have_count(1)
    source = rows.nth(0).locator("input[type=text]")
    expect(source).to_be_focused()
    source.fill("./my lora.safetensors")
    source.press("Tab")
    error = field.locator(".fluxpanel-field-error")
    expect(error).to_contain_text("LoRA 1: its source")
    expect(error).not_to_contain_text("loras")  # the label's words, not Python's name
    source.fill("https://weights.example/fox.safetensors")
    source.press("Tab")
    expect(error).to_be_empty()
    field.locator('[data-action="add-lora"]').click()
    second = rows.nth(1)
    second.locator("input[type=text]").fill("owner/paper-cut")
    second.locator("input[type=text]").press("Tab")
    box = second.locator("input[type=number]")
    box.fill("0.6")
    box.press("Tab")
    want = [
        {"source": "https://weights.example/fox.safetensors", "scale": 1},
        {"source": "owner/paper-cut", "scale": 0.6},
    ]
    assert until(lab, "panel.loras", want) == want
    # The slider moves the scale too; out of range is refused beside the field.
    slider = rows.nth(0).locator("input[type=range]")
    expect(slider).to_have_attribute("max", "4")
    slider.fill("2.5")
    assert until(lab, "panel.loras[0]['scale']", 2.5) == 2.5
    box.fill("9")
    box.press("Tab")
    expect(error).to_contain_text("LoRA 2: its scale 9 is outside 0 to 4")
    box.fill("0.6")
    box.press("Tab")
    expect(error).to_be_empty()
    # Remove the first: the second moves up and keeps its scale.
    rows.nth(0).locator('[data-action="remove-lora"]').click()
    expect(rows).to_have_count(1)
    expect(rows.nth(0).locator("input[type=text]")).to_have_value("owner/paper-cut")
    field.locator('[data-action="add-lora"]').click()
    rows.nth(1).locator("input[type=text]").fill("https://weights.example/fox.safetensors")
    rows.nth(1).locator("input[type=text]").press("Tab")
    panel.locator('[data-action="generate"]').click()
    expect(panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    sent = lab.value("fal.submits[-1].json()['loras']")
    assert sent == [
        {"path": "owner/paper-cut", "scale": 0.6},
        {"path": "https://weights.example/fox.safetensors", "scale": 1.0},
    ]
    assert lab.value("fal.submits[-1].path") == "/fal-ai/flux-lora"
    # The snippet makes the same request.
    expect(panel.locator('[data-part="code"]')).to_be_visible()  # open, under the result
    code = panel.locator('[data-part="code"]')
    expect(code).to_contain_text("fluxpanel.Lora('owner/paper-cut', scale=0.6)")
    expect(code).to_contain_text("The host fetches each LoRA itself")
    assert lab.page.errors == []


def test_a_finetune_is_asked_for_on_generate_then_sent_with_its_strength(make_lab):
    lab = make_lab([], setup=BFL)
    panel = lab.panel
    field = panel.locator('[data-param="finetune"]')
    row = field.locator(".fluxpanel-lora")
    expect(row).to_have_count(1)  # one, always shown: it is required
    expect(field.locator('[data-action="add-lora"]')).to_be_hidden()
    expect(field.locator('[data-action="remove-lora"]')).to_have_count(0)
    error = field.locator(".fluxpanel-field-error")
    expect(error).to_be_empty()  # not before the user acts
    panel.locator('[data-action="generate"]').click()
    expect(error).to_have_text("Add a finetune: its id.")
    assert lab.value("len(bfl.submits)") == 0
    row.locator("input[type=text]").fill("my-fox-finetune")
    row.locator("input[type=text]").press("Tab")
    expect(error).to_be_empty()
    strength = row.locator("input[type=number]")
    expect(strength).to_have_value("1.2")  # Black Forest Labs' default
    strength.fill("0.8")
    strength.press("Tab")
    assert until(lab, "panel.finetune[0]['scale']", 0.8) == 0.8
    panel.locator('[data-action="generate"]').click()
    expect(panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    body = lab.value("bfl.submits[-1].json()")
    assert body["finetune_id"] == "my-fox-finetune" and body["finetune_strength"] == 0.8
    assert lab.value("bfl.submits[-1].path") == "/v1/flux-pro-1.1-ultra-finetuned"
    assert lab.page.errors == []


def drive_a_lora(panel, timeout: float = 20_000) -> None:
    """In any front end, on a preview panel: FLUX.1 [dev] with LoRAs chosen,
    one LoRA added, a source the host cannot fetch refused beside the field in
    words and then fixed, its scale typed; Generate makes one more result,
    and the code for it names the LoRA with its scale."""
    panel.locator('[data-param="model"] select').select_option("flux_dev_lora")
    field = panel.locator('[data-param="loras"]')
    expect(field).to_be_visible(timeout=timeout)
    rows = field.locator(".fluxpanel-lora")
    expect(rows).to_have_count(0)
    field.locator('[data-action="add-lora"]').click()
    source = rows.nth(0).locator("input[type=text]")
    source.fill("./my lora.safetensors")
    source.press("Tab")
    error = field.locator(".fluxpanel-field-error")
    expect(error).to_contain_text("LoRA 1: its source", timeout=timeout)
    source.fill("owner/paper-cut")
    source.press("Tab")
    expect(error).to_be_empty(timeout=timeout)
    scale = rows.nth(0).locator("input[type=number]")
    scale.fill("0.6")
    scale.press("Tab")
    code = panel.locator('[data-part="code"]')
    history = panel.locator(".fluxpanel-history-item")
    before = history.count()
    panel.locator('[data-action="generate"]').click()
    expect(history).to_have_count(before + 1, timeout=30_000)
    expect(code).to_be_visible()
    expect(code).to_contain_text("fluxpanel.Lora('owner/paper-cut', scale=0.6)", timeout=timeout)


PREVIEW = """\
import fluxpanel
panel = fluxpanel.FluxPanel(provider="preview", prompt="a fox in the style of <lora>")
panel"""


def test_a_lora_in_notebook_7(make_lab):
    lab = make_lab([], setup=PREVIEW, app="notebook")
    lab.wait_idle()
    loading = len(lab.page.errors)  # Notebook 7 reports some of its own while it loads
    drive_a_lora(lab.panel)
    assert lab.value("[x.to_json() for x in panel.result.request.params['loras']]") == [
        {"source": "owner/paper-cut", "scale": 0.6}
    ]
    assert lab.page.errors[loading:] == []
