"""What the panel shows of each host's rules, in JupyterLab: a caveat that
follows the settings it depends on, and fields that apply only with another
field's value."""

from __future__ import annotations

from playwright.sync_api import expect

REPLICATE = """\
import fluxpanel
from fluxpanel.providers import Replicate
from fluxpanel.testing import FakeReplicate
fake = FakeReplicate().start()
panel = fluxpanel.FluxPanel(provider=Replicate(api_key=fake.api_key, base_url=fake.base_url), model="flux_dev", prompt="a fox")
panel"""


def test_the_go_fast_caveat_and_custom_sizes_follow_the_settings(make_lab):
    lab = make_lab([], setup=REPLICATE)
    caveat = lab.panel.locator('[data-part="caveats"]')
    expect(caveat).to_contain_text("does not promise the same image")
    go_fast = lab.panel.locator('[data-param="go_fast"] input[type="checkbox"]')
    expect(go_fast).to_be_checked()  # the host's default
    go_fast.uncheck()
    expect(caveat).to_be_hidden()
    assert lab.value("panel.go_fast") is False
    expect(lab.panel.locator('[data-part="code"]')).not_to_contain_text("Note:")
    go_fast.check()
    expect(caveat).to_be_visible()
    expect(lab.panel.locator('[data-part="code"]')).to_be_visible()  # open, under the result
    lab.panel.locator('[data-code="current"]').click()
    expect(lab.panel.locator('[data-part="code"]')).to_contain_text("# Note: With go_fast on")
    # Seeds start at 1 here (0 means "no seed" at Replicate).
    expect(lab.panel.locator('[data-param="seed"] input[type="number"]')).to_have_attribute(
        "min", "1"
    )
    # The models grouped by family, newest first; a legacy one says so.
    groups = lab.panel.locator('[data-param="model"] optgroup').evaluate_all(
        "gs => gs.map(g => [g.label, [...g.querySelectorAll('option')].map(o => o.textContent)])"
    )
    families = [g.split(":")[0] for g, _ in groups]  # each with what it is for
    assert families[:2] == ["FLUX 3", "FLUX.2"] and families[-1] == "FLUX.1"
    assert groups[0][0] == "FLUX 3: make, edit, place with boxes"
    kontext = dict(groups)["FLUX.1 Kontext: edit an image with words"]
    assert "FLUX.1 Kontext [pro] (legacy)" in kontext and "FLUX.1 Kontext [dev]" in kontext
    # flux-pro: width and height only with a custom size.
    lab.panel.locator('[data-param="model"] select').select_option("flux_pro")
    width = lab.panel.locator('.fluxpanel-controls [data-param="width"]')
    expect(width).to_be_hidden()
    options = lab.panel.locator('[data-param="aspect_ratio"] option').evaluate_all(
        "os => os.map(o => o.value)"
    )
    assert "21:9" not in options and options[0] == "custom"
    lab.panel.locator('[data-param="aspect_ratio"] select').select_option("custom")
    expect(width).to_be_visible()
    box = width.locator('input[type="number"]')
    expect(box).to_have_attribute("step", "32")
    box.fill("500")
    box.press("Tab")
    expect(width.locator(".fluxpanel-field-error")).to_contain_text("not a multiple of 32")
    box.fill("512")
    box.press("Tab")
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    body = lab.value("fake.creates[-1].json()['input']")
    assert body["aspect_ratio"] == "custom" and body["width"] == 512
    lab.panel.locator('[data-param="aspect_ratio"] select').select_option("16:9")
    expect(width).to_be_hidden()
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(2)
    assert "width" not in lab.value("fake.creates[-1].json()['input']")


BFL = """\
import fluxpanel
from fluxpanel.providers import BlackForestLabs
from fluxpanel.testing import FakeBFL

class Steady(BlackForestLabs):
    poll_first = poll_max = 0.3

fake = FakeBFL(pending_polls=12).start()
panel = fluxpanel.FluxPanel(provider=Steady(api_key=fake.api_key, base_url=fake.base_url), model="flux_dev", prompt="a fox")
panel"""


def test_a_progress_bar_as_the_host_reports_it(make_lab):
    lab = make_lab([], setup=BFL)
    lab.panel.locator('[data-action="generate"]').click()
    bar = lab.panel.locator('[data-part="progress"]')
    expect(bar).to_be_visible()
    phase = lab.panel.locator('[data-part="phase"]')
    expect(phase).to_contain_text("Running, ")  # the host's own figure
    assert float(bar.get_attribute("value")) > 0  # a bar that fills
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1, timeout=30_000)
    expect(bar).to_be_hidden()
    assert {"queued", "running", "downloading"} <= set(lab.value("list(panel.result.timings)"))


def test_an_indeterminate_bar_where_the_host_says_nothing(make_lab):
    lab = make_lab([], latency=3.0)
    lab.panel.locator('[data-action="generate"]').click()
    bar = lab.panel.locator('[data-part="progress"]')
    expect(bar).to_be_visible()
    expect(lab.panel.locator('[data-part="phase"]')).to_contain_text("Submitting")
    assert bar.get_attribute("value") is None  # moving, with no figure made up
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1, timeout=30_000)
