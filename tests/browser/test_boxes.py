"""FLUX 3's box editor and references in the real browser: draw, move, resize,
name, delete and nudge a box, and the request that reaches Black Forest
Labs' fake carries exactly those coordinates; the host's own boxes drawn on
the result and "edit this box"; reference chips cited and reordered with the
prompt's names following; in JupyterLab and Notebook 7."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from fluxpanel.testing import artifacts_dir

BFL = """\
import fluxpanel
from fluxpanel.providers import BlackForestLabs
from fluxpanel.testing import FakeBFL
bfl = FakeBFL().start()
provider = BlackForestLabs(api_key=bfl.api_key, base_url=bfl.base_url)
provider.poll_first = 0.02
panel = fluxpanel.FluxPanel(provider=provider, model="flux_3_image", prompt="A poster", aspect_ratio="4:3")
panel"""

ROWS = "[b.to_json() for b in panel.boxes]"


def boxes_in_view(panel) -> list[list[int]]:
    """The coordinates the editor holds, as it tells assistive technology."""
    labels = panel.locator(".fluxpanel-box-layer .fluxpanel-box").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))"
    )
    found = [re.search(r"top (\d+), left (\d+), bottom (\d+), right (\d+)", t) for t in labels]
    return [[int(g) for g in m.groups()] for m in found]


def until(lab, expr: str, want, timeout: float = 10):
    """Wait until a kernel value is ``want`` (the view's changes travel)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        got = lab.value(expr)
        if got == want or time.monotonic() > deadline:
            return got
        time.sleep(0.1)


@pytest.mark.parametrize("app", ["lab", "notebook"])
def test_draw_move_resize_name_nudge_and_delete_boxes_then_generate(make_lab, app):
    lab = make_lab([], setup=BFL, app=app)
    page, panel = lab.page, lab.panel
    canvas = panel.locator('[data-part="box-canvas"]')
    expect(canvas).to_be_visible()
    loading = len(page.errors)  # Notebook 7 reports one of its own while it loads
    assert abs(float(canvas.get_attribute("data-ratio")) - 4 / 3) < 0.01  # the chosen shape
    r = canvas.bounding_box()

    def at(fy, fx):
        return r["x"] + fx * r["width"], r["y"] + fy * r["height"]

    def drag(start, end):
        page.mouse.move(*start)
        page.mouse.down()
        page.mouse.move(*end, steps=6)
        page.mouse.up()

    # Draw: from 20% down, 10% across to 60% down, 50% across.
    drag(at(0.2, 0.1), at(0.6, 0.5))
    expect(panel.locator(".fluxpanel-box-layer .fluxpanel-box")).to_have_count(1)
    [drawn] = boxes_in_view(panel)
    assert all(abs(a - b) <= 3 for a, b in zip(drawn, [200, 100, 600, 500], strict=True)), drawn
    # Name and describe it: a name is made one the host reads.
    name = panel.locator(".fluxpanel-box-name").first
    expect(name).to_be_focused()
    name.fill("Fox Logo")
    name.press("Tab")
    desc = panel.locator(".fluxpanel-box-desc").first
    desc.fill("a red fox logo")
    desc.press("Tab")
    assert until(lab, "[b.name for b in panel.boxes]", ["fox_logo_1"]) == ["fox_logo_1"]
    # Keyboard: arrows nudge by 10, Alt by 1, Shift resizes.
    box = panel.locator('.fluxpanel-box-layer [data-box="fox_logo_1"]')
    box.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Shift+ArrowDown")
    page.keyboard.press("Alt+ArrowUp")
    t, left, b, right = drawn
    assert boxes_in_view(panel) == [[t - 1, left + 10, b + 10 - 1, right + 10]]
    # Move by dragging its middle 10% to the right; resize by its bottom-right corner.
    before = boxes_in_view(panel)[0]
    mid = at((before[0] + before[2]) / 2000, (before[1] + before[3]) / 2000)
    drag(mid, (mid[0] + 0.1 * r["width"], mid[1]))
    moved = boxes_in_view(panel)[0]
    assert abs(moved[1] - before[1] - 100) <= 3 and moved[3] - moved[1] == before[3] - before[1]
    corner = panel.locator('[data-box="fox_logo_1"] [data-handle="se"]').bounding_box()
    handle = (corner["x"] + corner["width"] / 2, corner["y"] + corner["height"] / 2)
    drag(handle, (handle[0] - 0.05 * r["width"], handle[1] + 0.05 * r["height"]))
    resized = boxes_in_view(panel)[0]
    assert resized[:2] == moved[:2] and resized[2] > moved[2] and resized[3] < moved[3]
    # A second box, deleted with the Delete key.
    drag(at(0.75, 0.7), at(0.95, 0.95))
    expect(panel.locator(".fluxpanel-box-layer .fluxpanel-box")).to_have_count(2)
    panel.locator('.fluxpanel-box-layer [data-box="box_1"]').focus()
    page.keyboard.press("Delete")
    expect(panel.locator(".fluxpanel-box-layer .fluxpanel-box")).to_have_count(1)
    # The kernel holds exactly what the editor shows, and so does the request.
    want = [{"id": "fox_logo_1", "bbox": resized, "desc": "a red fox logo"}]
    assert until(lab, ROWS, want) == want
    panel.locator('[data-action="generate"]').click()
    expect(panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    prompt = lab.value("bfl.submits[-1].json()['prompt']")
    text, _, rows = prompt.partition(" [{")
    assert text == "A poster <fox_logo_1>"
    assert json.loads("[{" + rows) == want
    # The host's own box (light_1) is drawn on the result; edit only it.
    result = panel.locator('[data-part="result-boxes"]')
    expect(result.locator('[data-box="light_1"]')).to_be_visible()
    expect(result.locator('[data-box="fox_logo_1"]')).to_be_visible()
    expect(panel.locator('[data-part="expanded-prompt"]')).to_contain_text(
        "<light_1>", use_inner_text=False
    )
    result.locator('[data-box="light_1"] [data-action="edit-box"]').click()
    area = panel.locator('[data-param="prompt"] textarea')
    expect(area).to_have_value(re.compile(r"^In image 1, change only <light_1>"))
    expect(panel.locator(".fluxpanel-box-layer .fluxpanel-box")).to_have_count(1)
    expect(panel.locator('.fluxpanel-box-layer [data-box="light_1"]')).to_be_visible()
    expect(panel.locator(".fluxpanel-box-picture")).to_be_visible()  # over the result itself
    assert page.errors[loading:] == []


def test_reference_chips_are_cited_and_reordered_with_the_prompt(make_lab):
    setup = """\
import fluxpanel
from fluxpanel.testing import solid_png
panel = fluxpanel.FluxPanel(provider="preview", model="flux_3_image")
colours = [(255, 0, 0), (0, 0, 255), (0, 160, 0)]
panel.input_images = [solid_png(300, 300, c) for c in colours]
panel.prompt = "the hat from image 2 on the dog of image 1"
panel"""
    lab = make_lab([], setup=setup)
    panel = lab.panel
    chips = panel.locator('[data-param="input_images"] [data-action="cite-image"]')
    expect(chips).to_have_count(3)
    expect(chips).to_have_text(["image 1", "image 2", "image 3"])
    area = panel.locator('[data-param="prompt"] textarea')
    area.focus()
    area.press("End")
    area.type(", painted like")
    chips.nth(2).click()  # cites image 3 at the cursor
    expect(area).to_have_value("the hat from image 2 on the dog of image 1, painted like image 3")
    first = lab.value("[i.sha256 for i in panel.input_images]")
    # Drag the first reference onto the last: the prompt's names follow their images.
    items = panel.locator('[data-param="input_images"] .fluxpanel-input-item')
    items.nth(0).drag_to(items.nth(2))
    want = [first[1], first[2], first[0]]
    assert until(lab, "[i.sha256 for i in panel.input_images]", want) == want
    expect(area).to_have_value("the hat from image 1 on the dog of image 3, painted like image 2")
    # And from the keyboard: Alt+Left on a chip moves its image one place back.
    chips.nth(1).focus()
    lab.page.keyboard.press("Alt+ArrowLeft")
    want = [first[2], first[1], first[0]]
    assert until(lab, "[i.sha256 for i in panel.input_images]", want) == want
    expect(area).to_have_value("the hat from image 2 on the dog of image 3, painted like image 1")


FLUX31 = """\
import fluxpanel
from fluxpanel.providers import BlackForestLabs
from fluxpanel.testing import FakeBFL, solid_png
bfl = FakeBFL().start()
provider = BlackForestLabs(api_key=bfl.api_key, base_url=bfl.base_url)
provider.poll_first = 0.02
panel = fluxpanel.FluxPanel(provider=provider, model="flux_3_1_image", prompt="Move <box_1>")
panel.input_images = [solid_png(400, 300, (200, 30, 30)), solid_png(300, 300, (30, 30, 200))]
panel"""


def test_flux_3_1_moves_an_object_with_an_arrow_and_paints_a_mask(make_lab):
    """Draw where an object goes, then "Move from..." and where it is on a
    reference: the arrow joins them, the kernel holds the move, and with a
    mask painted over image 1 the host receives both in FLUX 3.1's form."""
    from .test_inputs import field, stroke

    lab = make_lab([], setup=FLUX31)
    page, panel = lab.page, lab.panel
    canvas = panel.locator('[data-part="box-canvas"]')
    expect(canvas).to_be_visible()

    def drag(fy0, fx0, fy1, fx1):
        canvas.scroll_into_view_if_needed()
        r = canvas.bounding_box()
        page.mouse.move(r["x"] + fx0 * r["width"], r["y"] + fy0 * r["height"])
        page.mouse.down()
        page.mouse.move(r["x"] + fx1 * r["width"], r["y"] + fy1 * r["height"], steps=6)
        page.mouse.up()

    drag(0.5, 0.5, 0.9, 0.9)  # where the object goes
    expect(panel.locator(".fluxpanel-box-layer .fluxpanel-box")).to_have_count(1)
    desc = panel.locator(".fluxpanel-box-desc").first
    desc.fill("the red fox")
    desc.press("Tab")
    panel.locator('[data-action="box-source"]').click()
    expect(panel.locator(".fluxpanel-box-picking")).to_contain_text("Draw where box_1 is now")
    panel.locator(".fluxpanel-box-picking select").select_option("2")  # on image 2 ...
    expect(canvas).to_have_attribute("data-ratio", "1.0000")  # ... shown at its own shape
    panel.locator(".fluxpanel-box-picking select").select_option("1")  # no: on image 1
    expect(canvas).to_have_attribute("data-ratio", f"{400 / 300:.4f}")
    drag(0.1, 0.1, 0.4, 0.4)
    expect(panel.locator(".fluxpanel-box-picking")).to_be_hidden()
    expect(panel.locator(".fluxpanel-box-arrow")).to_have_count(1)  # from the source to its box
    expect(panel.locator('[data-source="box_1"]')).to_be_visible()
    expect(panel.locator('[data-action="box-unmove"]')).to_have_text("from image 1 ✕")
    assert until(lab, "[b.source is not None for b in panel.boxes]", [True]) == [True]
    [(image, source)] = lab.value("[(b.image, b.source) for b in panel.boxes]")
    assert image == 1 and all(
        abs(a - b) <= 4 for a, b in zip(source, (100, 100, 400, 400), strict=True)
    )
    # Escape while finding an object leaves the move as it was.
    panel.locator('[data-action="box-unmove"]').click()
    expect(panel.locator(".fluxpanel-box-arrow")).to_have_count(0)
    panel.locator('[data-action="box-source"]').click()
    page.keyboard.press("Escape")
    expect(panel.locator(".fluxpanel-box-picking")).to_be_hidden()
    assert until(lab, "[b.source for b in panel.boxes]", [None]) == [None]
    panel.locator('[data-action="box-source"]').click()
    drag(0.1, 0.1, 0.4, 0.4)
    expect(panel.locator(".fluxpanel-box-arrow")).to_have_count(1)
    shots = artifacts_dir() / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    panel.locator('[data-part="box-editor"]').screenshot(path=str(shots / "flux31-move.png"))
    # A mask painted over image 1, at its size.
    dialog = stroke(lab)
    dialog.locator('[data-action="use-mask"]').click()
    expect(field(lab, "mask").locator(".fluxpanel-input-item")).to_have_count(1)
    assert lab.value("[panel.mask.width, panel.mask.height]") == [400, 300]
    panel.locator('[data-action="generate"]').click()
    expect(panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    body = lab.value("{k: v for k, v in bfl.submits[-1].json().items() if k != 'images'}")
    assert body["mask"] and body["prompt"] == "Move <box_1>"
    [row] = body["bounding_boxes"]
    assert (
        row["desc"] == "the red fox"
        and row["from"] == "ref_image_0"
        and set(row)
        == {
            "id",
            "desc",
            "from",
            "src_bbox",
            "tgt_bbox",
        }
    )
    assert all(
        abs(a - b) <= 0.004 for a, b in zip(row["tgt_bbox"], (0.5, 0.5, 0.9, 0.9), strict=True)
    )
    assert all(
        abs(a - b) <= 0.004 for a, b in zip(row["src_bbox"], (0.1, 0.1, 0.4, 0.4), strict=True)
    )
    assert page.errors == []
