"""An executed notebook exported to HTML shows its images and code in Chromium,
with no kernel and no widget state."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import expect

from ..test_notebooks import ARTIFACTS, NOTEBOOKS, execute
from .conftest import SCREENSHOTS


def test_quickstart_export_in_chromium(page, tmp_path):
    from nbconvert import HTMLExporter

    nb = execute(NOTEBOOKS / "quickstart.ipynb", tmp_path)
    html, _ = HTMLExporter().from_notebook_node(nb)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "quickstart.html"
    path.write_text(html)
    page.goto(Path(path).as_uri())
    static = page.locator(".fluxpanel-static")
    expect(static).to_be_visible()
    img = static.locator("img").first
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    expect(static.locator("code")).to_contain_text("seed=42,")
    expect(page.locator("body")).not_to_contain_text("model not found")
    static.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "quickstart-exported-html.png"))
