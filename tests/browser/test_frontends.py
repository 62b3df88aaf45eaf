"""What each Jupyter front end shows: nbclassic (the static copy hidden under
the live panel), every text of the panel at WCAG AA contrast in light and
dark themes, one no-key notice, and Voila serving a panel as an app."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS
from .test_inputs import drop, photo
from .test_loras import drive_a_lora

CONTRAST = """() => {
  const parse = (c) => {
    // rgb()/rgba(), or color(srgb r g b / a) with 0-1 channels (color-mix)
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    const s = c.match(/color\\(srgb ([^)]+)\\)/);
    if (!m && !s) return null;
    const [r, g, b, a = 1] = (m || s)[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    const k = s ? 255 : 1;
    return { r: r * k, g: g * k, b: b * k, a };
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return { r: 255, g: 255, b: 255, a: 1 };
  };
  const found = [];
  for (const el of document.querySelectorAll("[data-fluxpanel] *")) {
    // An input's value is its text (a seed shown as "random" must stay readable).
    const value = el.matches("input[type=number], input[type=text], textarea") ? String(el.value).trim() : "";
    const text = value || [...el.childNodes].filter((n) => n.nodeType === 3).map((n) => n.textContent.trim()).join("");
    if (!text || !el.getClientRects().length || el.closest("[disabled], [hidden]")) continue;
    const style = getComputedStyle(el);
    if (style.visibility === "hidden") continue;
    let opacity = 1;
    for (let e = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
    const fg = parse(style.color), bg = background(el), a = (fg.a ?? 1) * opacity;
    const seen = { r: fg.r * a + bg.r * (1 - a), g: fg.g * a + bg.g * (1 - a), b: fg.b * a + bg.b * (1 - a) };
    const [hi, lo] = [lum(seen), lum(bg)].sort((x, y) => y - x);
    const cls = `${el.className} ${value ? `value-of-${el.id.split("-").pop()}` : ""}`;
    found.push({ text: text.slice(0, 50), ratio: (hi + 0.05) / (lo + 0.05), cls });
  }
  return found;
}"""

TWO_PANELS = """\
import fluxpanel
from fluxpanel.providers import FluxAPI
from fluxpanel.testing import ReferenceServer
server = ReferenceServer().start()
live = fluxpanel.FluxPanel(provider=FluxAPI(api_key=server.api_key, url=server.url), prompt="a fox", model="flux_dev", num_images=2)
offline = fluxpanel.FluxPanel(provider="preview", prompt="a lighthouse")
display(live, offline)"""


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_every_text_is_readable_in_light_and_dark(make_lab, theme):
    lab = make_lab([], setup=TWO_PANELS)
    lab.command("apputils:change-theme", {"theme": theme})
    light = "true" if theme.endswith("Light") else "false"
    lab.page.wait_for_selector(f"body[data-jp-theme-light='{light}']", state="attached")
    panels = lab.notebook.locator("[data-fluxpanel]")
    expect(panels).to_have_count(2)
    live, offline = panels.nth(0), panels.nth(1)
    expect(offline.locator('[data-part="banner"]')).to_be_visible()
    live.locator('[data-action="generate"]').click()
    expect(live.locator("figure.fluxpanel-tile")).to_have_count(2)
    expect(live.locator('[data-part="code"]')).to_be_visible()  # open, under the result
    lab.kernel('server.fail("status", status=503, body={"detail": "overloaded"})')
    live.locator('[data-action="generate"]').click()
    expect(live.locator('[data-part="error"]')).to_be_visible()
    offline.locator('[data-action="generate"]').click()
    expect(offline.locator("figure.fluxpanel-tile")).to_have_count(1)
    lab.kernel("live.model = 'flux_schnell'; live.steps = 99")  # an error beside a field
    expect(live.locator('[data-param="steps"] .fluxpanel-field-error')).to_be_visible()
    # An edit's input image field, with the image just made as its input.
    lab.kernel("offline.model = 'flux_kontext_pro'; offline.input_image = offline.images[0]")
    expect(offline.locator(".fluxpanel-input-item")).to_be_visible()
    expect(live.locator('[data-part="drawn"]')).to_have_text("new each run")  # seed random
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    slug = theme.split()[-1].lower()
    live.screenshot(path=str(SCREENSHOTS / f"readable-{slug}-live.png"))  # what is checked
    offline.screenshot(path=str(SCREENSHOTS / f"readable-{slug}-offline.png"))
    texts = lab.page.evaluate(CONTRAST)
    # FLUX 3: the box editor over a reference, its list, and the chips.
    lab.kernel(
        "offline.model = 'flux_3_image'; offline.input_images = [offline.images[0]]; "
        "offline.boxes = [fluxpanel.Box('logo_1', 100, 100, 400, 600, 'a fox logo')]"
    )
    expect(offline.locator('.fluxpanel-box-layer [data-box="logo_1"]')).to_be_visible()
    texts += lab.page.evaluate(CONTRAST)
    # LoRAs: a list field, a row per entry with its scale and Remove.
    lab.kernel(
        "offline.model = 'flux_dev_lora'; offline.loras = [fluxpanel.Lora('owner/paper', 0.6)]"
    )
    expect(offline.locator(".fluxpanel-lora [data-action='remove-lora']")).to_be_visible()
    offline.locator('[data-param="loras"]').screenshot(path=str(SCREENSHOTS / f"loras-{slug}.png"))
    texts += lab.page.evaluate(CONTRAST)
    parts = {c for t in texts for c in t["cls"].split()}
    wanted = {
        "fluxpanel-banner",
        "fluxpanel-field-error",
        "fluxpanel-caption",
        "fluxpanel-error-message",
        "fluxpanel-input-size",
        "fluxpanel-box-label",
        "fluxpanel-chip",
        "fluxpanel-box-hint",
        "value-of-seed",  # the seed while it is drawn anew each run: full contrast
        "fluxpanel-range",
        "fluxpanel-link",  # the LoRA's Remove, and Add a LoRA
    }
    assert wanted <= parts, parts
    lab.command("apputils:change-theme", {"theme": "JupyterLab Light"})  # it persists
    poor = [t for t in texts if t["ratio"] < 4.5]
    assert poor == [], poor


def test_one_notice_without_a_key(make_lab):
    # Warnings on, as in a user's kernel (the test server turns them off).
    setup = "import warnings\nwarnings.resetwarnings()\nimport fluxpanel\nfluxpanel.FluxPanel(prompt='a fox')"
    lab = make_lab([], setup=setup)
    expect(lab.panel.locator('[data-part="banner"]')).to_contain_text("Preview mode")
    out = lab.cell(0).locator(".jp-OutputArea-output")
    text = " ".join(out.all_inner_texts())
    assert "PreviewNotice" not in text and "No API key is set" not in text
    assert (
        lab.cell(0)
        .locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        .count()
        == 0
    )


def test_nbclassic_shows_the_panel_once(jupyter, page):
    name = f"classic{int(time.time() * 1000)}.ipynb"
    jupyter.write_notebook(
        name,
        [
            "import fluxpanel\npanel = fluxpanel.FluxPanel(provider='preview', prompt='a fox', seed=3)\npanel"
        ],
    )
    seen = []
    # In busy full runs the panel has twice not appeared in nbclassic (never
    # reproduced alone, even under load): what the cell showed is kept, and
    # the notebook is opened once more in a new tab before the test fails.
    for attempt in range(2):
        if attempt:
            page = page.context.new_page()
        page.goto(f"{jupyter.url}/nbclassic/notebooks/{name}?token={jupyter.token}")
        # The widgets extension attaches its manager to the kernel once
        # loaded, and anywidget's extension registers its model; a widget
        # displayed before both shows as text.
        page.wait_for_function(
            "() => window.Jupyter && Jupyter.notebook && Jupyter.notebook.kernel"
            " && Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel.widget_manager"
            " && window.require && require.defined('nbextensions/anywidget/extension')",
            timeout=60_000,
        )
        page.evaluate("() => Jupyter.notebook.execute_all_cells()")
        panel = page.locator("[data-fluxpanel]")
        try:
            expect(panel).to_have_count(1, timeout=30_000)
            break
        except AssertionError:
            seen.append((page.locator(".output_area").all_inner_texts(), list(page.errors)))
    else:
        raise AssertionError(f"no panel in nbclassic; the cell's output and page errors: {seen!r}")
    panel.locator('[data-action="generate"]').click()
    expect(panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    copy = page.locator(".fluxpanel-static")
    expect(copy).to_have_count(1)  # there for viewers with no kernel
    expect(copy).to_be_hidden()  # and hidden under the live panel: the result shows once
    outside = page.evaluate(
        "() => [...document.querySelectorAll('.output_area img')]"
        ".filter(i => !i.closest('[data-fluxpanel]') && i.getClientRects().length).length"
    )
    assert outside == 0  # no second copy of the result on screen


def test_voila_serves_the_panel_as_an_app(jupyter, page):
    name = f"app{int(time.time() * 1000)}.ipynb"
    jupyter.write_notebook(
        name,
        [
            "import fluxpanel\nfrom fluxpanel.providers import FluxAPI\nfrom fluxpanel.testing import ReferenceServer\n"
            "server = ReferenceServer().start()\n"
            "panel = fluxpanel.FluxPanel(provider=FluxAPI(api_key=server.api_key, url=server.url), prompt='a fox')\n"
            "server.fail('status', times=1, status=503, body={'detail': 'the model is overloaded'})",
            "panel",
            "fluxpanel.FluxPanel(provider='preview', model='flux_kontext_pro', prompt='night')",
        ],
    )
    page.goto(f"{jupyter.url}/voila/render/{name}?token={jupyter.token}")
    panels = page.locator("[data-fluxpanel]")
    expect(panels).to_have_count(2, timeout=90_000)
    panel, edit = panels.nth(0), panels.nth(1)
    assert page.locator(".jp-InputArea, .CodeMirror, .cm-editor").count() == 0  # no code shown
    panel.locator('[data-action="generate"]').click()  # the server is overloaded once
    expect(panel.locator('[data-part="error"]')).to_contain_text("the model is overloaded")
    panel.locator('[data-action="generate"]').click()
    expect(panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    expect(panel.locator('[data-part="error"]')).to_be_hidden()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0",
        arg=panel.locator("figure.fluxpanel-tile img").element_handle(),
    )
    expect(panel.locator(".fluxpanel-history-item")).to_have_count(1)
    panel.locator('[data-param="steps"] input[type="number"]').fill("99")
    panel.locator('[data-param="steps"] input[type="number"]').press("Tab")
    expect(panel.locator('[data-param="steps"] .fluxpanel-field-error')).to_have_text(
        re.compile(r"Set Steps between 1 and \d+\.")
    )
    # An edit's input image, dropped on its field in the app; Kontext's more
    # images follow it.
    more = edit.locator('[data-param="more_images"]')
    expect(more).to_be_hidden()
    drop(page, edit.locator('[data-param="input_image"] .fluxpanel-input-zone'), photo(), "p.jpg")
    item = edit.locator('[data-param="input_image"] .fluxpanel-input-item')
    expect(item.locator(".fluxpanel-input-size")).to_contain_text("1600×1200", timeout=30_000)
    expect(more).to_be_visible()
    # With its input image, Kontext's tolerance goes to 2 at most; Erase, on
    # the same image, shows no prompt field.
    expect(edit.locator('[data-param="safety_tolerance"] .fluxpanel-range')).to_have_text("0–2")
    edit.locator('[data-param="model"] select').select_option("flux_erase")
    expect(edit.locator('[data-param="prompt"]')).to_have_count(0)
    expect(edit.locator('[data-param="image"] .fluxpanel-input-item')).to_have_count(1)
    html = page.content()
    assert "sk-test-" not in html  # the key stays in the kernel


def test_a_lora_in_voila(jupyter, page):
    name = f"lora{int(time.time() * 1000)}.ipynb"
    jupyter.write_notebook(
        name, ["import fluxpanel\nfluxpanel.FluxPanel(provider='preview', prompt='a fox')"]
    )
    page.goto(f"{jupyter.url}/voila/render/{name}?token={jupyter.token}")
    panel = page.locator("[data-fluxpanel]")
    expect(panel).to_have_count(1, timeout=90_000)
    drive_a_lora(panel)
    assert page.errors == []
