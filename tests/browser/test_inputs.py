"""Input images in the real browser: picked, dropped and pasted files (photos,
a 20 MB image, bombs and files that are not images), Use as input, and the
mask painter, in JupyterLab and Notebook 7."""

from __future__ import annotations

import base64
import hashlib
import io
import os

import pytest
from PIL import Image
from playwright.sync_api import expect

from .conftest import SCREENSHOTS

PREVIEW = """\
import fluxpanel
panel = fluxpanel.FluxPanel(provider="preview", model="{model}", prompt="make it night")
panel"""


def photo(w: int = 1600, h: int = 1200, seed: int = 1) -> bytes:
    """A photo-like JPEG: a gradient with grain, as a camera would write it."""
    rng = __import__("random").Random(seed)
    img = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    grain = Image.frombytes("RGB", (w // 4, h // 4), rng.randbytes(w // 4 * h // 4 * 3))
    img = Image.blend(img, grain.resize((w, h)), 0.3)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def noise_png(side: int) -> bytes:
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(buf, "PNG")
    return buf.getvalue()


def bomb() -> bytes:
    from fluxpanel._imaging import PNG_SIGNATURE, png_chunk

    ihdr = (30000).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    return PNG_SIGNATURE + png_chunk(b"IHDR", ihdr) + png_chunk(b"IEND", b"")


def transfer(page, data: bytes, name: str, mime: str):
    """A DataTransfer holding one file, made in the page."""
    return page.evaluate_handle(
        """([b64, name, mime]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: mime }));
            return dt;
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )


def drop(page, target, data: bytes, name: str, mime: str = "image/jpeg") -> None:
    dt = transfer(page, data, name, mime)
    target.dispatch_event("dragover", {"dataTransfer": dt})
    target.dispatch_event("drop", {"dataTransfer": dt})


def paste(page, target, data: bytes, name: str, mime: str = "image/png") -> None:
    dt = transfer(page, data, name, mime)
    target.evaluate(
        "(el, dt) => el.dispatchEvent(new ClipboardEvent('paste', "
        "{ clipboardData: dt, bubbles: true, cancelable: true }))",
        dt,
    )


def field(lab, name: str):
    """A parameter's field, in the controls or in the wide column (the box
    editor, and the control that shapes it, are drawn there)."""
    return lab.panel.locator(
        f'.fluxpanel-controls [data-param="{name}"], .fluxpanel-workspace [data-param="{name}"]'
    )


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_pick_drop_and_paste_reach_the_kernel_whole(make_lab, tmp_path):
    lab = make_lab([], setup=PREVIEW.format(model="flux_kontext_pro"))
    first = photo(seed=1)
    path = tmp_path / "harbour.jpg"
    path.write_bytes(first)
    kontext = field(lab, "input_image")
    kontext.locator('input[type="file"]').set_input_files(str(path))
    expect(kontext.locator(".fluxpanel-input-item")).to_have_count(1)
    expect(kontext.locator(".fluxpanel-input-item")).to_contain_text("harbour.jpg")
    assert lab.value("panel.input_image.sha256") == sha(first)
    assert lab.value("panel.input_image.name") == "harbour.jpg"
    # FLUX.2 takes several references: the image being edited comes along.
    lab.panel.locator('[data-param="model"] select').select_option("flux_2_pro")
    refs = field(lab, "input_images")
    expect(refs.locator(".fluxpanel-input-item")).to_have_count(1)
    second, third = photo(800, 600, seed=2), noise_png(300)
    drop(lab.page, refs.locator(".fluxpanel-input-zone"), second, "street.jpg")
    expect(refs.locator(".fluxpanel-input-item")).to_have_count(2)
    paste(lab.page, refs.locator(".fluxpanel-input-zone"), third, "image.png")
    expect(refs.locator(".fluxpanel-input-item")).to_have_count(3)
    assert lab.value("[i.sha256 for i in panel.input_images]") == [
        sha(first),
        sha(second),
        sha(third),
    ]
    refs.locator('[data-action="remove-input"]').first.click()
    expect(refs.locator(".fluxpanel-input-item")).to_have_count(2)
    # A drop on an image field is an input, never settings to restore.
    assert "restored" not in (lab.value("panel.status_text") or "")
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    expect(lab.panel.locator('[data-part="code"]')).to_be_visible()  # open, under the result
    expect(lab.panel.locator('[data-part="code"]')).to_contain_text("fluxpanel-inputs/")
    # The saved notebook carries thumbnails, never the photos.
    saved = lab.save()
    assert len(str(saved)) < 2_000_000 and base64.b64encode(second[:3000]).decode() not in str(
        saved
    )
    assert lab.page.errors == []


def test_a_20_mb_image_arrives_whole_with_progress(make_lab, tmp_path):
    lab = make_lab([], setup=PREVIEW.format(model="flux_kontext_pro"))
    big = noise_png(2600)
    assert len(big) > 20_000_000
    path = tmp_path / "scan.png"
    path.write_bytes(big)
    kontext = field(lab, "input_image")
    # The bar shows while the file travels (how much has come is told at
    # most twice a second: over loopback the file is whole before that).
    kontext.evaluate(
        """(el) => {
            window.__shown = false;
            const bar = el.querySelector('progress');
            new MutationObserver(() => (window.__shown ||= !bar.hidden)).observe(
                bar, { attributes: true });
        }"""
    )
    kontext.locator('input[type="file"]').set_input_files(str(path))
    expect(kontext.locator(".fluxpanel-input-item")).to_have_count(1, timeout=90_000)
    assert lab.value("panel.input_image.sha256") == sha(big)
    assert lab.page.evaluate("window.__shown")
    expect(kontext.locator("progress")).to_be_hidden()  # and goes once it is whole
    assert lab.value("len(panel.inputs['input_image'][0]['thumb'])") < 40_000


@pytest.mark.parametrize(
    "data, name, words",
    [
        (b"%PDF-1.7\n" + b"x" * 5000, "report.pdf", "not an image"),
        (bomb(), "bomb.png", "bomb"),
    ],
)
def test_what_is_not_an_image_is_refused_beside_the_field(make_lab, data, name, words):
    lab = make_lab([], setup=PREVIEW.format(model="flux_kontext_pro"))
    kontext = field(lab, "input_image")
    drop(lab.page, kontext.locator(".fluxpanel-input-zone"), data, name, "image/png")
    expect(kontext.locator(".fluxpanel-input-message")).to_contain_text(words)
    expect(kontext.locator(".fluxpanel-input-item")).to_have_count(0)
    assert lab.value("panel.input_image is None") is True


def stroke(lab):
    """Open the mask painter and paint one stroke across the middle of the
    image, as a person drags the brush; returns the painter's dialog."""
    field(lab, "mask").locator('[data-action="paint-mask"]').click()
    dialog = lab.page.locator(".fluxpanel-mask-dialog")
    expect(dialog).to_be_visible()
    box = dialog.locator("canvas.fluxpanel-mask-view").bounding_box()
    lab.page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5)
    lab.page.mouse.down()
    lab.page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5, steps=8)
    lab.page.mouse.up()
    return dialog


def test_use_as_input_then_paint_a_mask(make_lab):
    lab = make_lab([], setup=PREVIEW.format(model="flux_schnell"))
    lab.panel.locator('[data-action="generate"]').click()
    tile = lab.panel.locator("figure.fluxpanel-tile")
    expect(tile).to_have_count(1)
    tile.locator('[data-action="use-input"]').click()
    expect(lab.panel.locator('[data-param="model"] select')).to_have_value("flux_kontext_pro")
    expect(field(lab, "input_image").locator(".fluxpanel-input-item")).to_have_count(1)
    # With an input image, Kontext's tolerance goes to 2 at most; without, to 6.
    tolerance = field(lab, "safety_tolerance")
    expect(tolerance.locator(".fluxpanel-range")).to_have_text("0–2")
    expect(tolerance.locator('input[type="number"]')).to_have_attribute("max", "2")
    field(lab, "input_image").locator('[data-action="remove-input"]').click()
    expect(tolerance.locator(".fluxpanel-range")).to_have_text("0–6")
    tile.locator('[data-action="use-input"]').click()
    expect(field(lab, "input_image").locator(".fluxpanel-input-item")).to_have_count(1)
    lab.panel.locator('[data-param="model"] select').select_option("flux_fill_pro")
    expect(field(lab, "image").locator(".fluxpanel-input-item")).to_have_count(1)
    w, h = lab.value("[panel.image.width, panel.image.height]")

    def paint(*actions):
        dialog = stroke(lab)
        expect(dialog.locator(".fluxpanel-mask-help")).to_contain_text("is repainted")
        for action in actions:
            dialog.locator(f'[data-action="{action}"]').click()
        dialog.locator('[data-action="use-mask"]').click()
        expect(dialog).to_have_count(0)
        expect(field(lab, "mask").locator(".fluxpanel-input-item")).to_have_count(1)
        return lab.value(
            "(lambda m: [m.width, m.height, sum(1 for p in __import__('PIL.Image', fromlist=['Image'])"
            ".open(__import__('io').BytesIO(m.data)).convert('L').getdata() if p > 127) / (m.width * m.height)])"
            "(panel.mask)"
        )

    mw, mh, white = paint()
    assert (mw, mh) == (w, h) and 0.01 < white < 0.5
    assert lab.value("panel.field_errors") == {}
    # The mask is shown tinted over its image, not as a black square.
    masked = field(lab, "mask").locator('[data-part="masked"]')
    expect(masked).to_be_visible()
    under = masked.locator("img")
    assert under.get_attribute("src") == field(lab, "image").locator("img").get_attribute("src")
    tint = masked.locator(".fluxpanel-tint")
    assert "data:image" in tint.evaluate("t => getComputedStyle(t).maskImage")
    assert tint.bounding_box() == under.bounding_box()  # over the picture, edge to edge
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    field(lab, "mask").screenshot(path=str(SCREENSHOTS / "mask-tinted.png"))
    *_, inverted = paint("invert")
    assert inverted > 0.5
    *_, undone = paint("undo")
    assert undone == 0  # the stroke undone: nothing to repaint
    *_, cleared = paint("invert", "clear")
    assert cleared == 0
    # Keyboard: the painter's tools are buttons, Esc closes it.
    field(lab, "mask").locator('[data-action="paint-mask"]').focus()
    lab.page.keyboard.press("Enter")
    expect(lab.page.locator(".fluxpanel-mask-dialog")).to_be_visible()
    lab.page.keyboard.press("Escape")
    expect(lab.page.locator(".fluxpanel-mask-dialog")).to_have_count(0)
    paint()
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(2)
    assert lab.value("panel.result.request.model") == "flux_fill_pro"
    # Before and after: the edit's result large, then the image it was made from.
    lab.panel.locator("figure.fluxpanel-tile img").first.click()
    view = lab.page.locator('[data-part="lightbox"]')
    large = view.locator("img.fluxpanel-large")
    lab.page.wait_for_function(  # the result's original, not its preview
        "([img, w]) => img.complete && img.naturalWidth === w", arg=[large.element_handle(), w]
    )
    after = large.get_attribute("src")
    view.locator('[data-action="before"]').click()
    expect(view.locator('[data-action="before"]')).to_have_attribute("aria-pressed", "true")
    lab.page.wait_for_function("([img, a]) => img.src !== a", arg=[large.element_handle(), after])
    lab.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=large.element_handle()
    )
    assert large.evaluate("i => [i.naturalWidth, i.naturalHeight]") == [w, h]  # the input, whole
    lab.page.keyboard.press("b")  # and back
    expect(large).to_have_attribute("src", after)
    lab.page.keyboard.press("Escape")


def test_a_large_photos_mask_is_painted_at_display_size_and_sent_at_full(make_lab):
    """A 3000 x 2250 photo: the painter's canvases (and so its undo steps)
    are at most 1024 px a side; the mask the kernel gets is the photo's size,
    black and white, where the stroke went."""
    lab = make_lab([], setup=PREVIEW.format(model="flux_fill_pro"))
    lab.kernel("import numpy as np; panel.image = np.full((2250, 3000, 3), 120, np.uint8)")
    expect(field(lab, "image").locator(".fluxpanel-input-item")).to_have_count(1)
    dialog = stroke(lab)
    sizes = dialog.locator("canvas").evaluate_all("cs => cs.map(c => [c.width, c.height])")
    assert sizes and all(max(w, h) <= 1024 for w, h in sizes), sizes
    dialog.locator('[data-action="use-mask"]').click()
    expect(dialog).to_have_count(0)
    expect(field(lab, "mask").locator(".fluxpanel-input-item")).to_have_count(1)
    w, h, values, middle = lab.value(
        "(lambda m: (lambda im: [m.width, m.height, sorted(set(im.getdata())), "
        "im.getpixel((1500, 1125))])(__import__('PIL.Image', fromlist=['Image'])"
        ".open(__import__('io').BytesIO(m.data)).convert('L')))(panel.mask)"
    )
    assert (w, h) == (3000, 2250)
    assert values == [0, 255] and middle == 255  # the stroke crossed the middle


def test_erase_takes_no_prompt_and_removes_the_painted_part(make_lab, tmp_path):
    """FLUX Erase in JupyterLab: no prompt field while it is chosen (and the
    prompt kept for the next model), the image carried over from Kontext, then
    a picked photo with a red bar, a mask painted over the bar, and a result
    where the bar is gone and the rest kept."""
    lab = make_lab([], setup=PREVIEW.format(model="flux_schnell"))
    lab.panel.locator('[data-action="generate"]').click()
    tile = lab.panel.locator("figure.fluxpanel-tile")
    expect(tile).to_have_count(1)
    tile.locator('[data-action="use-input"]').click()
    expect(lab.panel.locator('[data-param="prompt"] textarea')).to_be_visible()
    lab.panel.locator('[data-param="model"] select').select_option("flux_erase")
    expect(lab.panel.locator('[data-param="prompt"]')).to_have_count(0)
    expect(field(lab, "image").locator(".fluxpanel-input-item")).to_have_count(1)
    expect(lab.panel.locator('[data-param="dilate_pixels"] input').first).to_be_visible()
    # A blue picture with a thin red bar across the middle, where the stroke goes.
    picture = Image.new("RGB", (900, 600), (30, 90, 200))
    picture.paste((230, 20, 20), (315, 295, 585, 305))
    path = tmp_path / "bar.png"
    picture.save(path)
    field(lab, "image").locator('input[type="file"]').set_input_files(str(path))
    expect(field(lab, "image").locator(".fluxpanel-input-item")).to_contain_text("bar.png")
    dialog = stroke(lab)
    expect(dialog.locator(".fluxpanel-mask-help")).to_contain_text("is removed")
    dialog.locator('[data-action="use-mask"]').click()
    expect(field(lab, "mask").locator(".fluxpanel-input-item")).to_have_count(1)
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(2)
    assert lab.value("panel.result.request.model") == "flux_erase"
    assert lab.value("panel.result.request.prompt") is None
    pixel = (
        "(lambda im: [im.getpixel((450, 300)), im.getpixel((450, 200))])"
        "(__import__('PIL.Image', fromlist=['Image'])"
        ".open(__import__('io').BytesIO(panel.result.images[0].data)).convert('RGB'))"
    )
    on_bar, above = lab.value(pixel)
    assert on_bar[2] > 150 and on_bar[0] < 100, on_bar  # the bar filled in with blue
    assert above == [30, 90, 200]  # outside the mask, untouched
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    lab.panel.screenshot(path=str(SCREENSHOTS / "erase-lab.png"))
    lab.panel.locator('[data-param="model"] select').select_option("flux_schnell")
    expect(lab.panel.locator('[data-param="prompt"] textarea')).to_have_value("make it night")


def test_try_on_takes_a_picked_person_and_a_dropped_garment(make_lab, tmp_path):
    """FLUX Virtual Try-On's two image fields, each its own: a photo picked for
    the person, a garment dropped; the request holds each as it arrived."""
    lab = make_lab([], setup=PREVIEW.format(model="flux_vto"))
    person = photo(900, 1200, seed=3)
    path = tmp_path / "person.jpg"
    path.write_bytes(person)
    field(lab, "person").locator('input[type="file"]').set_input_files(str(path))
    expect(field(lab, "person").locator(".fluxpanel-input-item")).to_have_count(1)
    garment = noise_png(400)
    drop(
        lab.page,
        field(lab, "garment").locator(".fluxpanel-input-zone"),
        garment,
        "coat.png",
        "image/png",
    )
    expect(field(lab, "garment").locator(".fluxpanel-input-item")).to_have_count(1)
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(1)
    assert lab.value("panel.result.request.model") == "flux_vto"
    assert lab.value("panel.result.request.person.sha256") == sha(person)
    assert lab.value("panel.result.request.garment.sha256") == sha(garment)
    assert lab.value("panel.result.request.prompt") == "make it night"


def test_outpainting_refuses_a_placement_past_the_canvas_beside_the_field(make_lab):
    """FLUX Outpainting in JupyterLab: the image carried from a result, a wider
    canvas, a custom corner that runs past the edge (the message beside the
    field, Generate held), then one that fits, and a result the canvas's size."""
    lab = make_lab([], setup=PREVIEW.format(model="flux_schnell"))
    lab.panel.locator('[data-action="generate"]').click()
    tile = lab.panel.locator("figure.fluxpanel-tile")
    expect(tile).to_have_count(1)
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(1)  # the run is over
    tile.locator('[data-action="use-input"]').click()
    lab.panel.locator('[data-param="model"] select').select_option("flux_outpaint")
    expect(field(lab, "input_image").locator(".fluxpanel-input-item")).to_have_count(1)
    expect(field(lab, "reference_offset_x")).to_be_hidden()  # centred until custom
    # The kernel has switched (the model's canvas, the image carried over) ...
    switched = None
    for _ in range(300):
        switched = lab.value("[panel.model, panel.width, panel.input_image is not None]")
        if switched == ["flux_outpaint", 1024, True]:
            break
        lab.page.wait_for_timeout(100)
    assert switched == ["flux_outpaint", 1024, True]
    # ... and the view shows the model's settings.
    width = field(lab, "width").locator('input[type="number"]')
    expect(width).to_have_value("1024", timeout=15_000)
    lab.wait_idle()
    width.fill("1536")
    width.press("Tab")
    # The browser's message and this test's question reach the kernel by
    # different routes: ask until it has the new width.
    for _ in range(50):
        if lab.value("panel.width") == 1536:
            break
        lab.page.wait_for_timeout(100)
    assert lab.value("panel.width") == 1536
    field(lab, "placement").locator("select").select_option("custom")
    offset = field(lab, "reference_offset_x").locator('input[type="number"]')
    expect(offset).to_be_visible()
    offset.fill("600")
    offset.press("Tab")
    error = field(lab, "reference_offset_x").locator(".fluxpanel-field-error")
    expect(error).to_contain_text("0 to 512")
    expect(lab.panel.locator('[data-action="generate"]')).to_be_disabled()
    offset.fill("512")
    offset.press("Tab")
    expect(error).to_have_text("")
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(2)
    assert lab.value("panel.result.request.size") == [1536, 1024]
    assert lab.value("[panel.result.images[0].width, panel.result.images[0].height]") == [
        1536,
        1024,
    ]


def test_the_drop_zone_is_reachable_by_keyboard(make_lab):
    lab = make_lab([], setup=PREVIEW.format(model="flux_kontext_pro"))
    choosers = []
    # Listening for file choosers before any key is pressed (the interception
    # is switched on asynchronously).
    lab.page.on("filechooser", lambda chooser: choosers.append(chooser))
    lab.wait_idle()  # the controls are drawn once the kernel has said everything
    zone = field(lab, "input_image").locator(".fluxpanel-input-zone")
    zone.focus()
    expect(zone).to_be_focused()
    lab.page.wait_for_timeout(200)
    lab.page.keyboard.press("Enter")
    for _ in range(50):
        if choosers:
            break
        lab.page.wait_for_timeout(100)
    assert len(choosers) == 1 and choosers[0].is_multiple() is False


def theme(lab, name: str) -> None:
    """Choose a theme from Notebook 7's Settings menu, as a person would."""
    lab.page.locator(".lm-MenuBar-itemLabel").get_by_text("Settings", exact=True).click()
    lab.page.locator(".lm-Menu-itemLabel").get_by_text("Theme", exact=True).hover()
    lab.page.locator(".lm-Menu-itemLabel").get_by_text(name, exact=True).click()
    light = "true" if name.endswith("Light") else "false"
    lab.page.wait_for_selector(f"body[data-jp-theme-light='{light}']", state="attached")


def test_notebook_7_in_the_dark_takes_an_image_and_a_painted_mask(make_lab, tmp_path):
    from .test_frontends import CONTRAST

    lab = make_lab([], setup=PREVIEW.format(model="flux_fill_pro"), app="notebook")
    theme(lab, "JupyterLab Dark")
    try:
        data = photo(900, 700, seed=4)
        path = tmp_path / "dusk.jpg"
        path.write_bytes(data)
        image = field(lab, "image")
        image.locator('input[type="file"]').set_input_files(str(path))
        expect(image.locator(".fluxpanel-input-item")).to_have_count(1)
        assert lab.value("panel.image.sha256") == sha(data)
        field(lab, "mask").locator('[data-action="paint-mask"]').click()
        dialog = lab.page.locator(".fluxpanel-mask-dialog")
        box = dialog.locator("canvas.fluxpanel-mask-view").bounding_box()
        lab.page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
        lab.page.mouse.down()
        lab.page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.6, steps=6)
        lab.page.mouse.up()
        texts = lab.page.evaluate(CONTRAST)  # the painter's tools too
        dialog.locator('[data-action="use-mask"]').click()
        expect(field(lab, "mask").locator(".fluxpanel-input-item")).to_have_count(1)
        assert lab.value("[panel.mask.width, panel.mask.height]") == [900, 700]
        texts += lab.page.evaluate(CONTRAST)
        parts = {c for t in texts for c in t["cls"].split()}
        assert {"fluxpanel-input-size", "fluxpanel-mask-status"} & parts, parts
        poor = [t for t in texts if t["ratio"] < 4.5]
        assert poor == [], poor
        lab.panel.locator('[data-action="generate"]').click()
        expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
        # Erase on the same image and mask: no prompt field, the Grow mask
        # control in its place, and a result.
        lab.panel.locator('[data-param="model"] select').select_option("flux_erase")
        expect(lab.panel.locator('[data-param="prompt"]')).to_have_count(0)
        expect(field(lab, "mask").locator(".fluxpanel-input-item")).to_have_count(1)
        expect(field(lab, "dilate_pixels")).to_be_visible()
        lab.panel.locator('[data-action="generate"]').click()
        expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(2)
        assert lab.value("panel.result.request.model") == "flux_erase"
        poor = [t for t in lab.page.evaluate(CONTRAST) if t["ratio"] < 4.5]
        assert poor == [], poor
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        lab.panel.screenshot(path=str(SCREENSHOTS / "erase-notebook-dark.png"))
    finally:
        theme(lab, "JupyterLab Light")  # the choice persists on the server


@pytest.mark.parametrize("app, dark", [("lab", False), ("notebook", True)])
def test_kontext_takes_more_images_after_its_input(make_lab, tmp_path, app, dark):
    lab = make_lab([], setup=PREVIEW.format(model="flux_kontext_pro"), app=app)
    # Notebook 7 itself reports one error as it loads, with or without a panel.
    at_open = list(lab.page.errors)
    if dark:
        theme(lab, "JupyterLab Dark")
    more = field(lab, "more_images")
    expect(more).to_be_hidden()  # it follows the input image
    path = tmp_path / "cat.jpg"
    path.write_bytes(photo(seed=3))
    field(lab, "input_image").locator('input[type="file"]').set_input_files(str(path))
    expect(more).to_be_visible()
    hat, scarf = photo(600, 600, seed=4), noise_png(320)
    drop(lab.page, more.locator(".fluxpanel-input-zone"), hat, "hat.jpg")
    expect(more.locator(".fluxpanel-input-item")).to_have_count(1)
    paste(lab.page, more.locator(".fluxpanel-input-zone"), scarf, "scarf.png")
    chips = more.locator('[data-action="cite-image"]')
    expect(chips).to_have_text(["image 2", "image 3"])  # image 1 is the input
    area = lab.panel.locator('[data-param="prompt"] textarea')
    area.fill("the cat of image 1 in the hat of image 2 and the scarf of image 3")
    area.blur()
    expect(lab.panel.locator("[data-param=prompt] textarea")).to_have_value(
        "the cat of image 1 in the hat of image 2 and the scarf of image 3"
    )
    chips.nth(0).focus()
    lab.page.keyboard.press("Alt+ArrowRight")
    expect(area).to_have_value("the cat of image 1 in the hat of image 3 and the scarf of image 2")
    assert lab.value("[i.sha256 for i in panel.more_images]") == [sha(scarf), sha(hat)]
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    assert lab.value("len(panel.result.request.more_images)") == 2
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    lab.panel.screenshot(path=str(SCREENSHOTS / f"kontext-more-images-{app}.png"))
    # Without its input image the field goes, and its images are not sent.
    field(lab, "input_image").locator('[data-action="remove-input"]').click()
    expect(more).to_be_hidden()
    assert lab.value("'more_images' in panel.request.params") is False
    assert lab.page.errors == at_open
    if dark:
        theme(lab, "JupyterLab Light")  # the choice persists on the server


def test_expand_takes_the_image_being_edited_and_grows_it(make_lab, tmp_path):
    lab = make_lab([], setup=PREVIEW.format(model="flux_kontext_pro"))
    path = tmp_path / "room.jpg"
    path.write_bytes(photo(640, 480, seed=5))
    field(lab, "input_image").locator('input[type="file"]').set_input_files(str(path))
    expect(field(lab, "input_image").locator(".fluxpanel-input-item")).to_have_count(1)
    lab.panel.locator('[data-param="model"] select').select_option("flux_expand_pro")
    # The image being edited comes along, and each side has its control.
    expect(field(lab, "image").locator(".fluxpanel-input-item")).to_have_count(1)
    for side in ("top", "bottom", "left", "right"):
        expect(field(lab, side)).to_be_visible()
    left = field(lab, "left").locator('input[type="number"]')
    left.fill("160")
    left.press("Enter")
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    assert lab.value("panel.result.images[0].width") == 640 + 160
    assert lab.value("panel.result.request.image.sha256") == sha(path.read_bytes())
    assert lab.page.errors == []
