"""Executed notebooks exported to HTML show their images and code in Chromium,
with no kernel and no widget state."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..test_notebooks import ARTIFACTS, NOTEBOOKS, execute
from .conftest import SCREENSHOTS


@pytest.mark.parametrize(
    ("name", "selector", "code"),
    [
        ("quickstart", ".fluxpanel-static", "seed=42,"),
        ("teaching", ".fluxpanel-compare", None),
        ("report", ".fluxpanel-generation", "seed=101,"),
    ],
)
def test_exported_notebook_in_chromium(page, tmp_path, name, selector, code):
    from nbconvert import HTMLExporter

    nb = execute(NOTEBOOKS / f"{name}.ipynb", tmp_path)
    html, _ = HTMLExporter().from_notebook_node(nb)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.html"
    path.write_text(html)
    page.goto(path.as_uri())
    block = page.locator(selector).first
    expect(block).to_be_visible()
    for img in block.locator("img").all():
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=img.element_handle()
        )
    if code:
        expect(page.locator("body")).to_contain_text(code)
    expect(page.locator("body")).not_to_contain_text("model not found")
    block.scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-exported-html.png"))
