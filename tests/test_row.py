"""Images side by side: a row a saved notebook shows without a kernel."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image

import fluxpanel
from fluxpanel.testing import solid_png


def test_a_row_shows_each_image_small_with_its_caption_and_size():
    big = solid_png(1600, 1200, (200, 30, 30))
    row = fluxpanel.side_by_side(
        big, Image.new("L", (1600, 1200), 255), captions=["input", "<mask>"]
    )
    html = row._repr_html_()
    sources = re.findall(r'src="data:image/webp;base64,([^"]+)"', html)
    assert len(sources) == 2
    with Image.open(io.BytesIO(base64.b64decode(sources[0]))) as shown:
        assert max(shown.size) == 320  # a display copy, not the original
    assert "1600 x 1200" in html and "&lt;mask&gt;" in html and "<mask>" not in html
    assert len(html) < len(big) // 4


def test_a_row_needs_a_caption_for_each_image_and_readable_images():
    with pytest.raises(ValueError, match="2 images but 1 captions"):
        fluxpanel.side_by_side(solid_png(8, 8), solid_png(8, 8), captions=["one"])
    with pytest.raises(fluxpanel.ValidationError):
        fluxpanel.side_by_side(b"not an image")
