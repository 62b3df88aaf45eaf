"""Generation and GeneratedImage: saving, metadata, display."""

from __future__ import annotations

import io
import json

from PIL import Image

import fluxpanel
from fluxpanel._imaging import read_png_text


def make(**kw):
    return fluxpanel.FluxClient(provider="preview").generate(
        model="flux_dev", prompt="a fox <b>&</b> 'quoted'", seed=5, **kw
    )


def test_save_writes_original_pixels_and_embeds_the_request(tmp_path):
    g = make()
    path = g.image.save(tmp_path / "fox")
    assert path.suffix == ".png"
    data = path.read_bytes()
    text = read_png_text(data)
    doc = json.loads(text["fluxpanel"])
    assert doc["request"] == g.request.to_payload()
    assert doc["provider"] == "preview"
    assert "Seed: 5" in text["parameters"] and "a fox" in text["parameters"]
    # Pillow reads the same chunks, and the pixels are untouched.
    saved, original = Image.open(io.BytesIO(data)), Image.open(io.BytesIO(g.image.data))
    assert saved.text["fluxpanel"] == text["fluxpanel"]
    assert saved.tobytes() == original.tobytes()


def test_save_into_a_folder_names_the_file(tmp_path):
    g = make(num_images=2)
    paths = [img.save(tmp_path) for img in g]
    assert [p.name for p in paths] == ["flux_dev-5-0.png", "flux_dev-5-1.png"]


def test_displays_inline():
    g = make()
    bundle = g.image._repr_mimebundle_()
    assert "image/png" in bundle
    html = g._repr_html_()
    assert "data:image/png;base64," in html
    assert "<b>" not in html and "&lt;b&gt;" in html  # the prompt is text, not markup
    assert "seed 5" in html


def test_generation_sequence_protocol():
    g = make(num_images=3)
    assert len(g) == 3 and g[1].index == 1 and list(g)[2] is g.images[2]
    assert g.seed == 5 and g.image is g.images[0]
