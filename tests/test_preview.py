"""The offline preview provider."""

from __future__ import annotations

import io
import warnings

import pytest
from PIL import Image

import fluxpanel
from fluxpanel.providers import PreviewNotice


def test_same_request_same_bytes_and_marked():
    c = fluxpanel.FluxClient(provider="preview")
    a = c.generate(model="flux_dev", prompt="a fox", seed=1, num_images=2)
    b = c.generate(model="flux_dev", prompt="a fox", seed=1, num_images=2)
    assert [i.data for i in a] == [i.data for i in b]
    assert a[0].data != a[1].data
    other = c.generate(model="flux_dev", prompt="a fox", seed=2)
    assert other[0].data != a[0].data
    assert a.provider == "preview" and "provider='preview'" in a.to_code()


@pytest.mark.parametrize("ratio", ["1024x1024", "768x1344", "1344x768"])
def test_placeholder_has_the_requested_size(ratio):
    g = fluxpanel.FluxClient(provider="preview").generate(prompt="x", aspect_ratio=ratio)
    img = Image.open(io.BytesIO(g.image.data))
    assert f"{img.width}x{img.height}" == ratio == f"{g.image.width}x{g.image.height}"


def test_preview_makes_no_http_client():
    c = fluxpanel.FluxClient(provider="preview")
    c.generate(prompt="x")
    clients = c._async._engine._clients
    assert clients is None or not clients.made


def test_preview_is_chosen_without_a_key_and_said_once(monkeypatch):
    import fluxpanel.providers as providers

    monkeypatch.setattr(providers, "_notice_given", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fluxpanel.FluxClient().provider.name == "preview"
        fluxpanel.FluxClient()
    notices = [w for w in caught if issubclass(w.category, PreviewNotice)]
    assert len(notices) == 1
    assert "FLUX_API_KEY" in str(notices[0].message)
    assert notices[0].filename == __file__  # points at the caller, not at fluxpanel


def test_preview_validates_like_any_provider():
    with pytest.raises(fluxpanel.ValidationError):
        fluxpanel.FluxClient(provider="preview").generate(
            model="flux_pro", prompt="x", num_images=2
        )
