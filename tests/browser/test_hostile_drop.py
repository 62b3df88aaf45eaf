"""A hostile file dropped on the panel in Chromium: text chunks that inflate to
hundreds of megabytes must not exhaust the browser (they are skipped, or
inflated only up to the metadata limit), and thousands of fluxpanel chunks
cost one inflation (the first is the one read)."""

from __future__ import annotations

import functools
import json
import struct
import zlib

import pytest
from playwright.sync_api import expect

from fluxpanel._imaging import png_chunk
from fluxpanel.testing import solid_png

from .test_lab import drop_file

INFLATED = 256 * 1024 * 1024  # what each bomb chunk inflates to


@functools.cache
def _bomb(key: bytes, kind: bytes) -> bytes:
    """A text chunk under ``key`` whose text inflates to INFLATED bytes."""
    packer = zlib.compressobj(1)
    block = b"A" * (1 << 20)
    text = b"".join(packer.compress(block) for _ in range(INFLATED >> 20)) + packer.flush()
    if kind == b"zTXt":
        return png_chunk(kind, key + b"\x00\x00" + text)
    return png_chunk(kind, key + b"\x00\x01\x00\x00\x00" + text)  # iTXt, compressed


def _png_with(*chunks: bytes) -> bytes:
    png = solid_png(16, 16)
    (ihdr,) = struct.unpack(">I", png[8:12])
    end = 8 + 12 + ihdr
    return png[:end] + b"".join(chunks) + png[end:]


@pytest.mark.parametrize(
    ("key", "kind"),
    [(b"Comment", b"zTXt"), (b"fluxpanel", b"iTXt")],
)
def test_a_text_chunk_bomb_is_not_inflated(make_lab, key, kind):
    data = _png_with(*[_bomb(key, kind)] * 4)  # 1 GiB once inflated
    assert len(data) < 8 * 1024 * 1024
    lab = make_lab([])
    drop_file(lab, data, "bomb.png")
    expect(lab.panel.locator('[data-part="error"]')).to_contain_text(
        "bomb.png holds no fluxpanel request", timeout=15_000
    )
    # The page is alive and the panel still answers.
    assert lab.page.evaluate("() => 1 + 1") == 2
    heap = lab.page.evaluate("() => performance.memory ? performance.memory.usedJSHeapSize : 0")
    assert heap < 200 * 1024 * 1024
    assert lab.page.errors == []


def test_only_the_first_fluxpanel_chunk_is_inflated(make_lab):
    """A PNG with 2,000 fluxpanel chunks: the first is read (one inflation,
    counted in the page), the others never touched."""
    import fluxpanel

    lab = make_lab([], kwargs='model="flux_schnell", prompt="before"')
    request = fluxpanel.GenerationRequest(model="flux_dev", prompt="the first chunk", seed=7)
    text = json.dumps({"request": request.to_payload(), "provider": "preview"}).encode()
    first = png_chunk(b"zTXt", b"fluxpanel\x00\x00" + zlib.compress(text))
    decoy = json.dumps({"request": {**request.to_payload(), "prompt": "a decoy"}}).encode()
    decoys = png_chunk(b"zTXt", b"fluxpanel\x00\x00" + zlib.compress(decoy * 20))
    data = _png_with(first, *[decoys] * 2000)
    assert data.count(b"zTXtfluxpanel") == 2001
    lab.page.evaluate(
        """() => {
            window.__inflations = 0;
            const Real = window.DecompressionStream;
            window.DecompressionStream = class extends Real {
                constructor(...args) { super(...args); window.__inflations += 1; }
            };
        }"""
    )
    drop_file(lab, data, "many.png")
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("restored from many.png")
    expect(lab.panel.locator('[data-param="prompt"] textarea')).to_have_value("the first chunk")
    assert lab.page.evaluate("() => window.__inflations") == 1
