"""The panel in marimo: notebooks/marimo_quickstart.py served by ``marimo run``
on loopback and driven in Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, _free_port
from .test_inputs import drop, photo
from .test_loras import drive_a_lora

NOTEBOOK = ROOT / "notebooks" / "marimo_quickstart.py"


@pytest.fixture(scope="module")
def marimo_app(tmp_path_factory):
    port = _free_port()
    workdir = tmp_path_factory.mktemp("marimo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLUX_", "BFL_", "FAL_"))}
    env.pop("REPLICATE_API_TOKEN", None)
    log = open(workdir / "marimo.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marimo",
            "run",
            str(NOTEBOOK),
            "--headless",
            "--no-token",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((workdir / "marimo.log").read_text()[-3000:]) from None
            time.sleep(0.3)
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


def test_the_panel_works_in_marimo(marimo_app, page):
    page.goto(marimo_app)
    panel = page.locator("[data-fluxpanel]")
    expect(panel).to_have_count(1, timeout=90_000)
    expect(panel.locator('[data-part="banner"]')).to_contain_text("Preview mode")
    expect(page.get_by_text("Press Generate.")).to_be_visible()
    panel.locator('[data-action="generate"]').click()
    tile = panel.locator("figure.fluxpanel-tile")
    expect(tile).to_have_count(1, timeout=30_000)
    # The fresh image shows (its bytes came in a child model made on the
    # widget's own thread), not only the history thumbnail.
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=tile.locator("img").element_handle()
    )
    expect(panel.locator(".fluxpanel-history-item")).to_have_count(1)
    # The larger view covers the page here too, styled, and closes with Escape.
    tile.locator("img").click()
    view = page.locator('[data-part="lightbox"]')
    expect(view).to_be_visible()
    assert view.bounding_box() == {"x": 0, "y": 0, **page.viewport_size}
    page.keyboard.press("Escape")
    expect(view).to_have_count(0)
    # The cell that reads the panel ran again when the generation finished.
    expect(page.get_by_text("1 generation(s).")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("with seed 42")).to_be_visible()
    # Controls, errors and model switching.
    panel.locator('[data-param="model"] select').select_option("flux_dev")
    expect(panel.locator('[data-param="guidance"]')).to_be_visible(timeout=20_000)
    steps = panel.locator('[data-param="steps"] input[type="number"]')
    # flux_dev's own default first: typing before it arrives would type into it.
    expect(steps).to_have_value("28", timeout=20_000)
    steps.fill("99")
    steps.press("Tab")
    # marimo re-runs the cells that read the panel on each change: give the
    # kernel's answer time on a loaded machine.
    expect(panel.locator('[data-param="steps"] .fluxpanel-field-error')).to_have_text(
        "Set Steps between 1 and 50.", timeout=20_000
    )
    steps.fill("20")
    steps.press("Tab")
    panel.locator('[data-action="generate"]').click()
    expect(page.get_by_text("2 generation(s).")).to_be_visible(timeout=30_000)
    expect(panel.locator('[data-part="code"]')).to_be_visible()  # open, under the result
    expect(panel.locator('[data-part="code"]')).to_contain_text("steps=20,", timeout=20_000)
    # FLUX 3: a box drawn in the editor reaches the kernel, and the result
    # shows it over the image.
    panel.locator('[data-param="model"] select').select_option("flux_3_image")
    canvas = panel.locator('[data-part="box-canvas"]')
    expect(canvas).to_be_visible(timeout=20_000)
    r = canvas.bounding_box()
    page.mouse.move(r["x"] + 0.2 * r["width"], r["y"] + 0.2 * r["height"])
    page.mouse.down()
    page.mouse.move(r["x"] + 0.6 * r["width"], r["y"] + 0.7 * r["height"], steps=5)
    page.mouse.up()
    expect(panel.locator('.fluxpanel-box-layer [data-box="box_1"]')).to_be_visible()
    # The kernel has it: the code for the current settings names the box.
    panel.locator('[data-code="current"]').click()
    expect(panel.locator('[data-part="code"]')).to_contain_text(
        "fluxpanel.Box('box_1'", timeout=20_000
    )
    panel.locator('[data-action="generate"]').click()
    expect(page.get_by_text("3 generation(s).")).to_be_visible(timeout=30_000)
    expect(panel.locator('[data-part="result-boxes"] [data-box="box_1"]')).to_be_visible(
        timeout=20_000
    )
    # An image dropped on a reference field travels to the kernel in chunks
    # and comes back as a numbered chip with its size.
    drop(page, panel.locator('[data-param="input_images"] .fluxpanel-input-zone'), photo(), "p.jpg")
    item = panel.locator('[data-param="input_images"] .fluxpanel-input-item')
    expect(item).to_have_count(1, timeout=30_000)
    expect(item.locator(".fluxpanel-input-size")).to_contain_text("1600×1200")
    expect(item.locator('[data-action="cite-image"]')).to_have_text("image 1")
    # Kontext: the reference carries to its input image, and its more images
    # are numbered from image 2.
    panel.locator('[data-param="model"] select').select_option("flux_kontext_pro")
    more = panel.locator('[data-param="more_images"]')
    expect(more).to_be_visible(timeout=20_000)
    drop(page, more.locator(".fluxpanel-input-zone"), photo(), "hat.jpg")
    expect(more.locator('[data-action="cite-image"]')).to_have_text("image 2", timeout=30_000)
    # Outpainting on the same 1600 x 1200 image: the default 1024-pixel canvas
    # is too narrow, said beside its field; Erase shows no prompt field.
    panel.locator('[data-param="model"] select').select_option("flux_outpaint")
    expect(panel.locator('[data-param="width"] .fluxpanel-field-error')).to_contain_text(
        "use at least 1600, or Crop to the canvas turned on", timeout=20_000
    )
    panel.locator('[data-param="model"] select').select_option("flux_erase")
    expect(panel.locator('[data-param="prompt"]')).to_have_count(0)
    assert page.errors == []


def test_a_lora_in_marimo(marimo_app, page):
    page.goto(marimo_app)
    panel = page.locator("[data-fluxpanel]")
    expect(panel).to_have_count(1, timeout=90_000)
    drive_a_lora(panel)
    # The cell that reads the panel ran again for the new result.
    expect(page.get_by_text("1 generation(s).")).to_be_visible(timeout=15_000)
    assert page.errors == []
