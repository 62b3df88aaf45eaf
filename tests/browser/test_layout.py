"""The panel's layout as a person reads it, in JupyterLab and Notebook 7, light
and dark, at 1000 and 1400 px: what is drawn on (the box editor, a mask over
its image) in the wide column with the control that shapes it first; the
code open and highlighted under the result, above the history; one
*Use as input* per result, none under the history's thumbnails; every
slider's number box at the same x; a quiet preview note; every text at AA
contrast. A screenshot of each is kept as an artifact. And a comparison's
labels shown whole however long, its columns at their images' width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS
from .test_frontends import CONTRAST
from .test_inputs import field, theme

SETUP = """\
import fluxpanel, numpy as np
panel = fluxpanel.FluxPanel(provider="preview", model="flux_schnell", prompt="a lighthouse at dusk")
panel"""

LEFT_TOP = "e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.width]; }"


def switch_theme(lab, app: str, name: str) -> None:
    if app == "lab":
        lab.command("apputils:change-theme", {"theme": name})
        light = "true" if name.endswith("Light") else "false"
        lab.page.wait_for_selector(f"body[data-jp-theme-light='{light}']", state="attached")
    else:
        theme(lab, name)


def readable(lab) -> None:
    poor = [t for t in lab.page.evaluate(CONTRAST) if t["ratio"] < 4.5]
    assert poor == [], poor


@pytest.mark.parametrize(
    "app, width, dark",
    [
        ("lab", 1400, False),
        ("lab", 1000, True),
        ("notebook", 1000, False),
        ("notebook", 1400, True),
    ],
)
def test_the_panel_reads_well_at_each_width_and_theme(make_lab, app, width, dark):
    lab = make_lab([], setup=SETUP, app=app)
    page, panel = lab.page, lab.panel
    page.set_viewport_size({"width": width, "height": 1000})
    if dark:
        switch_theme(lab, app, "JupyterLab Dark")
    tag = f"{app}-{width}-{'dark' if dark else 'light'}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    try:
        # A quiet note: smaller than the fields' labels, on no fill of its own.
        banner = panel.locator('[data-part="banner"]')
        expect(banner).to_contain_text("Preview mode")
        note = banner.evaluate(
            "e => [parseFloat(getComputedStyle(e).fontSize), getComputedStyle(e).backgroundColor]"
        )
        label = panel.locator('[data-param="prompt"] label').evaluate(
            "e => parseFloat(getComputedStyle(e).fontSize)"
        )
        assert note[0] < label and note[1] in ("rgba(0, 0, 0, 0)", "transparent"), note
        # The results column keeps a usable width beside the controls.
        side = panel.locator(".fluxpanel-side").evaluate(LEFT_TOP)
        main = panel.locator(".fluxpanel-main").evaluate(LEFT_TOP)
        assert main[0] >= side[2] and main[3] >= 280, (side, main)

        go = panel.locator('[data-action="generate"]')
        go.click()
        expect(panel.locator("figure.fluxpanel-tile")).to_have_count(1)
        go.click()
        expect(panel.locator(".fluxpanel-history-item")).to_have_count(2)
        # The code, open and highlighted, under the result and above the history;
        # its text is the kernel's exactly.
        code = panel.locator('[data-part="code"]')
        expect(code).to_be_visible()
        expect(code.locator(".fluxpanel-tok-string").first).to_be_visible()
        assert code.text_content() == lab.value("panel.result_code")
        tile = panel.locator("figure.fluxpanel-tile").evaluate(LEFT_TOP)
        history = panel.locator('[data-part="history"]').evaluate(LEFT_TOP)
        assert tile[1] < code.evaluate(LEFT_TOP)[1] < history[1]
        # One "Use as input" per result shown; none repeated under the thumbnails.
        expect(panel.locator('[data-part="history"] [data-action="use-input"]')).to_have_count(0)
        older = panel.locator(".fluxpanel-history-item").last
        older.click()  # shown again, and opened large with its actions
        expect(older).to_have_class("fluxpanel-history-item fluxpanel-current")
        large = page.locator('[data-part="lightbox"]')
        expect(large.locator("img.fluxpanel-large")).to_be_visible()
        for action in ("reuse-seed", "use-input"):
            expect(large.locator(f'[data-action="{action}"]')).to_be_visible()
        seed = lab.value("panel.result.seed")
        expect(large).to_contain_text(f"seed {seed}")
        page.keyboard.press("Escape")
        expect(large).to_have_count(0)
        expect(panel.locator('figure.fluxpanel-tile [data-action="use-input"]')).to_have_count(1)
        readable(lab)
        page.wait_for_timeout(200)
        panel.screenshot(path=str(SCREENSHOTS / f"layout-{tag}-result.png"))

        # FLUX 3: the box editor in the wide column, after the ratio that shapes it.
        panel.locator('[data-param="model"] select').select_option("flux_3_image")
        workspace = panel.locator('[data-part="workspace"]')
        expect(workspace.locator('[data-param="boxes"] [data-part="box-canvas"]')).to_be_visible()
        ratio = workspace.locator('[data-param="aspect_ratio"]').evaluate(LEFT_TOP)
        canvas = workspace.locator('[data-part="box-canvas"]').evaluate(LEFT_TOP)
        assert ratio[1] < canvas[1] and canvas[0] >= side[2], (ratio, canvas)
        expect(panel.locator('.fluxpanel-controls [data-param="boxes"]')).to_have_count(0)
        readable(lab)
        panel.screenshot(path=str(SCREENSHOTS / f"layout-{tag}-boxes.png"))

        # Fill: the mask shown large, tinted over its image, in the wide column.
        lab.kernel("panel.model = 'flux_fill_pro'")
        expect(panel.locator(".fluxpanel-controls")).to_have_attribute(
            "data-model", "flux_fill_pro"
        )
        expect(workspace.locator('[data-param="boxes"]')).to_have_count(0)
        large = workspace.locator('[data-part="mask-large"]')
        expect(large).to_be_hidden()  # nothing to show before the image and its mask
        lab.kernel("panel.image = np.full((600, 800, 3), 120, np.uint8)")
        lab.kernel("m = np.zeros((600, 800), np.uint8); m[200:400, 300:500] = 255; panel.mask = m")
        expect(large).to_be_visible()
        shown = large.locator("img").evaluate(
            "i => [i.naturalWidth, i.getBoundingClientRect().width]"
        )
        assert shown[0] > 0 and shown[1] >= 200, shown
        tint = large.locator(".fluxpanel-tint")
        assert tint.evaluate("t => t.style.maskImage").startswith('url("blob:')
        assert tint.bounding_box() == large.locator("img").bounding_box()  # edge to edge
        box = large.locator("img").bounding_box()
        assert abs(box["width"] / box["height"] - 800 / 600) < 0.02  # the image's shape
        assert large.evaluate(LEFT_TOP)[0] >= side[2]
        # Every slider's number box starts at the same x.
        xs = panel.locator(".fluxpanel-slider:visible input[type=number]").evaluate_all(
            "els => els.map(e => Math.round(e.getBoundingClientRect().left))"
        )
        assert len(xs) >= 3 and len(set(xs)) == 1, xs
        readable(lab)
        page.wait_for_timeout(200)
        panel.screenshot(path=str(SCREENSHOTS / f"layout-{tag}-mask.png"))
        # The mask goes: so does its view.
        field(lab, "mask").locator('[data-action="remove-input"]').click()
        expect(large).to_be_hidden()
    finally:
        if dark:
            switch_theme(lab, app, "JupyterLab Light")  # the choice persists on the server


COMPARE = """\
import fluxpanel
far = fluxpanel.Lora("https://example.com/loras/a-rather-long-name-for-a-paper-cut-style.safetensors", 0.8)
fluxpanel.compare("a lighthouse at dusk", provider="preview", model="flux_dev_lora",
                  seed=[1, 2], guidance=[2.5, 5.0], loras=[[], [far]])"""


def test_a_comparisons_labels_are_shown_whole(make_lab):
    lab = make_lab([], setup=COMPARE, run=False)
    lab.page.set_viewport_size({"width": 1000, "height": 1000})
    lab.run_cell(0)
    grid = lab.notebook.locator(".fluxpanel-compare").last
    expect(grid).to_contain_text("8 of 8 done", timeout=60_000)
    lab.wait_idle()  # its last update shown
    cut = grid.locator("th").evaluate_all(
        "ths => ths.filter(t => t.scrollWidth > t.clientWidth + 1 || t.scrollHeight > t.clientHeight + 1)"
        ".map(t => t.textContent)"
    )
    assert cut == []
    widths = grid.locator("td img").evaluate_all(
        "imgs => imgs.map(i => Math.round(i.getBoundingClientRect().width))"
    )
    assert len(widths) == 8 and len(set(widths)) == 1 and widths[0] >= 190, widths
    labels = grid.locator("th").all_text_contents()
    assert any("a-rather-long-name-for-a-paper-cut-style.safetensors at 0.8" in t for t in labels)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # The grid's output is replaced as it updates: the cell holds it.
    lab.cell(0).screenshot(path=str(SCREENSHOTS / "compare-labels.png"))
