"""FLUX.1 Fill where the image's transparent areas stand for its mask, as
Black Forest Labs and Replicate publish it ("Mask can be applied to alpha
channel or submitted as a separate image"; "Optional if you provide an alpha
mask"), and its prompt, which both take as optional; fal asks for both. A
mask is still asked for, before anything is sent, where the image has no
transparent areas, and the fakes refuse what the hosts would."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

import fluxpanel
from fluxpanel import FluxClient, ValidationError
from fluxpanel.providers import BlackForestLabs, Fal, Replicate
from fluxpanel.testing import FakeBFL, FakeFal, FakeReplicate

from .conftest import FAST_RETRY, quick

QuickBFL, QuickReplicate, QuickFal = quick(BlackForestLabs), quick(Replicate), quick(Fal)
W, H = 320, 256


def client(cls, server) -> FluxClient:
    provider = cls(api_key=server.api_key, base_url=server.base_url)
    return FluxClient(provider=provider, cache=False, retry=FAST_RETRY)


def holed(alpha: int = 0) -> bytes:
    """A red RGBA picture whose middle has alpha ``alpha`` (0: a hole)."""
    image = Image.new("RGBA", (W, H), (200, 40, 40, 255))
    image.paste((0, 0, 0, alpha), (W // 3, H // 3, 2 * W // 3, 2 * H // 3))
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def opaque() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (W, H), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


def test_black_forest_labs_takes_an_image_with_a_hole_and_no_mask_or_prompt():
    with FakeBFL() as bfl, client(QuickBFL, bfl) as c:
        g = c.generate(model="flux_fill_pro", image=holed())
        body = bfl.submits[0].json()
    assert bfl.submits[0].path == "/v1/flux-pro-1.0-fill"
    assert base64.b64decode(body["image"]) == holed() and "mask" not in body
    assert body.get("prompt", "") == ""
    assert g.images and g.request.params["prompt"] == ""


def test_replicate_takes_it_too():
    with FakeReplicate() as rep, client(QuickReplicate, rep) as c:
        g = c.generate(model="flux_fill_pro", image=holed(alpha=128))  # half see-through
        body = rep.creates[0].json()["input"]
    assert "mask" not in body and body["image"].startswith("data:image/png;base64,")
    assert g.images


@pytest.mark.parametrize("make", [opaque, lambda: holed(alpha=255)], ids=["rgb", "rgba-opaque"])
@pytest.mark.parametrize("cls, fake", [(QuickBFL, FakeBFL), (QuickReplicate, FakeReplicate)])
def test_without_transparent_areas_the_mask_is_asked_for_before_sending(cls, fake, make):
    with fake() as server, client(cls, server) as c:
        with pytest.raises(ValidationError) as e:
            c.generate(model="flux_fill_pro", prompt="a red door", image=make())
        assert server.requests == []
    assert e.value.field == "mask" and e.value.missing
    assert "transparent areas" in str(e.value)


def test_fal_still_takes_a_mask_and_a_prompt():
    with FakeFal() as fal, client(QuickFal, fal) as c:
        with pytest.raises(ValidationError) as e:
            c.generate(model="flux_fill_pro", prompt="a door", image=holed())
        assert e.value.field == "mask"
        with pytest.raises(ValidationError) as e:
            mask = Image.new("L", (W, H), 255)
            c.generate(model="flux_fill_pro", image=opaque(), mask=mask)
        assert e.value.field == "prompt"
        assert fal.requests == []


def test_the_fakes_refuse_an_opaque_image_without_a_mask():
    headers = lambda s: {"x-key": s.api_key}  # noqa: E731
    with FakeBFL() as bfl:
        url = f"{bfl.base_url}/v1/flux-pro-1.0-fill"
        refused = httpx.post(
            url, json={"image": base64.b64encode(opaque()).decode()}, headers=headers(bfl)
        )
        taken = httpx.post(
            url, json={"image": base64.b64encode(holed()).decode()}, headers=headers(bfl)
        )
    assert refused.status_code == 422 and "mask" in refused.text
    assert taken.status_code == 200


def test_the_preview_repaints_the_transparent_areas():
    with FluxClient(provider="preview", cache=False) as c:
        g = c.generate(model="flux_fill_pro", image=holed(), seed=4)
    with Image.open(io.BytesIO(g.images[0].data)) as out:
        out = out.convert("RGB").resize((W, H))
        kept, drawn = out.getpixel((8, H // 2)), out.getpixel((W // 2, H // 2))
    assert max(abs(a - b) for a, b in zip(kept, (200, 40, 40), strict=True)) < 30  # the rest kept
    assert max(abs(a - b) for a, b in zip(drawn, (200, 40, 40), strict=True)) > 30  # the hole drawn


@pytest.mark.anyio
async def test_the_panel_asks_for_the_mask_in_words_only_where_it_is_needed():
    panel = fluxpanel.FluxPanel(provider="preview", model="flux_fill_pro", prompt="")
    panel.image = opaque()
    with pytest.raises(ValidationError):
        await panel.agenerate()
    assert panel.field_errors == {
        "mask": "Add the mask: paint it, or drop, paste or pick one; "
        "or use an image with transparent areas, which are repainted."
    }
    panel.image = holed()
    assert panel.field_errors == {}
    generation = await panel.agenerate()
    assert generation.images and "mask" not in generation.request.params


def test_a_dropped_image_is_looked_through_off_the_loop():
    """Where an image may stand for a mask, whether it has transparent areas
    is found as the dropped file is read (off the loop's thread), not by the
    checks that follow on it."""
    from fluxpanel import _imaging
    from fluxpanel._uploads import Uploads

    panel = fluxpanel.FluxPanel(provider="preview", model="flux_fill_pro")
    data = holed(alpha=3)
    _imaging._CLEAR.clear()
    uploads = Uploads()
    upload = uploads.begin(
        {"upload": "u", "param": "image", "name": "cut.png", "size": len(data)}, {"image"}
    )
    uploads.chunk({"upload": "u", "offset": 0}, [memoryview(data)])
    uploads.end({"upload": "u"})
    image = panel._editing.read(upload)
    assert _imaging._CLEAR.get(image.sha256) is True
