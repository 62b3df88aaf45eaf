"""FluxPanel in a real JupyterLab, driven by Playwright in Chromium."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

import fluxpanel
from fluxpanel._imaging import read_png_text

from .conftest import SCREENSHOTS


def visible_params(lab):
    return set(
        lab.panel.locator(".fluxpanel-controls [data-param]").evaluate_all(
            "els => els.filter(e => e.offsetParent !== null).map(e => e.dataset.param)"
        )
    )


def test_panel_renders(make_lab):
    lab = make_lab([])
    expect(lab.panel.locator('[data-part="banner"]')).to_be_hidden()
    expect(lab.panel.locator('[data-part="provider"]')).to_contain_text("FLUX API")
    expect(lab.panel.locator('[data-param="prompt"] textarea')).to_have_value("a red fox in snow")
    expect(lab.panel.locator(".fluxpanel-count")).to_have_text("17 / 4000")
    assert lab.page.errors == []


def expected_params(model_id):
    return {"model", *fluxpanel.MODELS[model_id].params, "seed_mode"}


def test_controls_follow_each_models_spec(make_lab):
    lab = make_lab([])
    for model_id, spec in fluxpanel.MODELS.items():
        lab.panel.locator('[data-param="model"] select').select_option(model_id)
        expect(lab.panel.locator('[data-param="model"] select')).to_have_value(model_id)
        lab.page.wait_for_function(
            "([m, n]) => document.querySelectorAll('[data-fluxpanel] .fluxpanel-controls [data-param]').length === n",
            arg=[model_id, len(expected_params(model_id))],
        )
        assert visible_params(lab) == expected_params(model_id), model_id
        for name, p in spec.params.items():
            field = lab.panel.locator(f'.fluxpanel-controls [data-param="{name}"]')
            # A visible label and the spec's help as tooltip.
            label = field.locator("label.fluxpanel-label")
            expect(label).to_be_visible()
            expect(label).to_contain_text(p.label)
            assert label.get_attribute("title") == p.help
            if p.kind in ("integer", "number") and name != "seed":
                box = field.locator('input[type="number"]')
                assert float(box.get_attribute("min")) == p.min
                assert float(box.get_attribute("max")) == p.max
                # The model's default arrives from the kernel after the switch.
                for _ in range(100):
                    if box.input_value() and float(box.input_value()) == p.default:
                        break
                    lab.page.wait_for_timeout(50)
                assert float(box.input_value()) == p.default, (model_id, name)
            if p.kind == "choice":
                opts = field.locator("option").evaluate_all("os => os.map(o => o.value)")
                assert opts == list(p.choices)
    # Python sees the same model and that model's defaults.
    assert lab.value("[panel.model, panel.steps, panel.guidance]") == ["flux_pro", 25, 3.0]


def test_switching_models_clamps_and_remembers(make_lab):
    lab = make_lab([], kwargs='model="flux_dev", prompt="a fox", steps=40')
    select = lab.panel.locator('[data-param="model"] select')
    steps = lab.panel.locator('[data-param="steps"] input[type="number"]')
    expect(steps).to_have_value("40")
    select.select_option("flux_schnell")
    expect(steps).to_have_value("4")  # brought into 1-4
    expect(steps).to_have_attribute("max", "4")
    select.select_option("flux_dev")
    expect(steps).to_have_value("40")  # remembered
    assert lab.value("panel.steps") == 40


def test_validation_error_beside_the_field(make_lab):
    lab = make_lab([], kwargs='model="flux_dev", prompt="a fox"')
    box = lab.panel.locator('[data-param="steps"] input[type="number"]')
    box.fill("99")
    box.press("Tab")
    err = lab.panel.locator('[data-param="steps"] .fluxpanel-field-error')
    expect(err).to_have_text("Set Steps between 1 and 50.")  # a person's words
    expect(lab.panel.locator('[data-action="generate"]')).to_be_disabled()
    box.fill("30")
    box.press("Tab")
    expect(err).to_be_hidden()
    expect(lab.panel.locator('[data-action="generate"]')).to_be_enabled()


def test_a_first_session_meets_no_error_before_it_acts_and_none_that_stays(make_lab):
    """Choose Fill: nothing is asked for before Generate; Generate asks for
    each missing field once, beside it, in a person's words, and the status
    points there; choosing another model clears it all."""
    setup = 'import fluxpanel\npanel = fluxpanel.FluxPanel(provider="preview")\npanel'
    lab = make_lab([], setup=setup)
    panel = lab.panel
    panel.locator('[data-param="model"] select').select_option("flux_fill_pro")
    errors = panel.locator(".fluxpanel-field-error:visible")
    expect(panel.locator('[data-param="image"]')).to_be_visible()
    expect(errors).to_have_count(0)
    generate = panel.locator('[data-action="generate"]')
    expect(generate).to_be_enabled()
    # Generate comes right after the prompt, in the first screen, for every model.
    select = panel.locator('[data-param="model"] select')
    for model in (
        "flux_3_image",
        "flux_3_1_image",
        "flux_expand_pro",
        "flux_outpaint",
        "flux_erase",
    ):
        select.select_option(model)
        expect(panel.locator(".fluxpanel-controls")).to_have_attribute("data-model", model)
        top = generate.bounding_box()["y"] - panel.bounding_box()["y"]
        assert top < 600, (model, top)
    select.select_option("flux_3_image")  # values in people's words, sent as the host's
    expect(panel.locator('[data-param="resolution"] option[value="768sq"]')).to_have_text(
        "768 × 768"
    )
    select.select_option("flux_fill_pro")
    expect(panel.locator('[data-part="model-about"]')).to_have_text(
        "Inpainting: repaint the white part of a mask over an image."
    )
    order = panel.locator(".fluxpanel-controls > *").evaluate_all(
        "els => els.map(e => e.dataset.param || e.className)"
    )
    assert order.index("prompt") + 1 == next(i for i, c in enumerate(order) if "status" in c)
    for _ in range(50):  # the kernel has taken every choice of model before Generate
        if lab.value("panel.model") == "flux_fill_pro":
            break
        lab.page.wait_for_timeout(100)
    generate.click()
    expect(panel.locator('[data-param="image"] .fluxpanel-field-error')).to_have_text(
        "Add the image: drop, paste or pick an image."
    )
    expect(panel.locator('[data-param="mask"] .fluxpanel-field-error')).to_have_text(
        "Add the mask: paint it, or drop, paste or pick one; "
        "or use an image with transparent areas, which are repainted."
    )
    expect(panel.locator('[data-param="prompt"] .fluxpanel-field-error')).to_be_hidden()
    status = panel.locator('[data-part="status"]')
    expect(status).to_contain_text("Fix the highlighted setting")
    expect(panel.locator('[data-part="error"]')).to_be_hidden()  # said once, not twice
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    panel.screenshot(path=str(SCREENSHOTS / "first-session-fill-asked.png"))
    panel.locator('[data-param="model"] select').select_option("flux_dev")
    expect(errors).to_have_count(0)
    expect(status).not_to_contain_text("Fix the highlighted setting")


def test_generate_shows_images_and_a_matching_snippet(make_lab):
    lab = make_lab([], kwargs='model="flux_dev", prompt="a fox", num_images=3')
    lab.panel.locator('[data-action="generate"]').click()
    tiles = lab.panel.locator("figure.fluxpanel-tile")
    expect(tiles).to_have_count(3)
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("3 images")
    seed = lab.value("panel.result.seed")
    for i in range(3):
        expect(tiles.nth(i)).to_have_attribute("data-seed", str(seed))
        # One seed made the batch: said so, with each image's place in it.
        caption = tiles.nth(i).locator("figcaption")
        expect(caption).to_contain_text(f"seed of the batch {seed}")
        expect(caption).to_contain_text(f"{i + 1} of 3")
        expect(caption.locator('[data-action="reuse-seed"]')).to_have_count(1 if i == 0 else 0)
        lab.page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0",
            arg=tiles.nth(i).locator("img").element_handle(),
        )
    # The seed box shows the seed that made the images.
    expect(lab.panel.locator('[data-param="seed"] input[type="number"]')).to_have_value(str(seed))
    expect(lab.panel.locator('[data-part="code"]')).to_be_visible()  # open, under the result
    code = lab.panel.locator('[data-part="code"]')
    expect(code).to_contain_text(f"seed={seed},")
    expect(code).to_contain_text("num_images=3,")
    assert lab.value("len(server.posts)") == 1
    # Ctrl+Enter in the prompt generates too.
    lab.panel.locator('[data-param="prompt"] textarea').press("Control+Enter")
    lab.page.wait_for_function("() => true")
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(2)


def test_reuse_seed_fixes_it(make_lab):
    lab = make_lab([])
    lab.panel.locator('[data-action="generate"]').click()
    tile = lab.panel.locator("figure.fluxpanel-tile").first
    expect(tile).to_be_visible()
    seed = int(tile.get_attribute("data-seed"))
    lab.kernel("panel.seed = 5")
    tile.locator('[data-action="reuse-seed"]').click()
    expect(lab.panel.locator('[data-param="seed_mode"] input')).to_be_checked()
    assert lab.value("[panel.seed_mode, panel.seed]") == ["fixed", seed]


def test_server_error_shows_in_panel_and_panel_still_works(make_lab):
    lab = make_lab([])
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    first_seed = lab.value("panel.result.seed")
    lab.kernel(
        'server.fail("status", status=503, body={"detail": "the model is <b>overloaded</b>"})'
    )
    lab.panel.locator('[data-action="generate"]').click()
    err = lab.panel.locator('[data-part="error"]')
    expect(err).to_be_visible()
    expect(err).to_contain_text("The server had a problem")
    expect(err).to_contain_text("the model is <b>overloaded</b>")  # as text, not markup
    assert err.locator("b").count() == 0
    # Earlier results stay; the panel still works.
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_attribute(
        "data-seed", str(first_seed)
    )
    lab.panel.locator('[data-action="generate"]').click()
    expect(err).to_be_hidden()
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("1 image in")
    assert lab.value("len(server.posts)") == 3


def test_rate_limit_shows_a_countdown(make_lab):
    lab = make_lab([])
    lab.kernel('server.fail("status", status=429, retry_after=90)')
    lab.panel.locator('[data-action="generate"]').click()
    err = lab.panel.locator('[data-part="error"]')
    expect(err).to_contain_text("Rate limited")
    expect(err.locator(".fluxpanel-countdown")).to_contain_text(
        re.compile(r"try again in (89|90) s")
    )


def test_cancel(make_lab):
    lab = make_lab([], latency=5.0)
    lab.panel.locator('[data-action="generate"]').click()
    cancel = lab.panel.locator('[data-action="cancel"]')
    expect(cancel).to_be_visible()
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("Generating")
    cancel.click()
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("Cancelled")
    expect(cancel).to_be_hidden()
    assert lab.value("[panel.running, panel.status, panel.result is None]") == [
        False,
        "cancelled",
        True,
    ]
    expect(lab.panel.locator('[data-action="generate"]')).to_be_enabled()


def test_kernel_runs_another_cell_during_a_slow_generation(make_lab):
    lab = make_lab(["print('other cell ran', panel.status)"], latency=4.0)
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("Generating")
    lab.run_cell(1)
    out = lab.cell(1).locator(".jp-OutputArea-output")
    expect(out).to_contain_text("other cell ran running", timeout=3000)
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1, timeout=15000)


def test_history_restores_parameters_and_images(make_lab):
    lab = make_lab([], kwargs='model="flux_dev", prompt="first prompt", steps=12, seed=7')
    go = lab.panel.locator('[data-action="generate"]')
    go.click()
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(1)
    prompt = lab.panel.locator('[data-param="prompt"] textarea')
    prompt.fill("second prompt")
    lab.panel.locator('[data-param="model"] select').select_option("flux_pro")
    go.click()
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(2)
    expect(lab.panel.locator("figure.fluxpanel-tile figcaption")).to_contain_text("flux_pro")
    # Oldest is last in the strip (newest first).
    lab.panel.locator(".fluxpanel-history-item").nth(1).click()
    expect(prompt).to_have_value("first prompt")
    expect(lab.panel.locator('[data-param="model"] select')).to_have_value("flux_dev")
    expect(lab.panel.locator('[data-param="steps"] input[type="number"]')).to_have_value("12")
    expect(lab.panel.locator('[data-param="seed"] input[type="number"]')).to_have_value("7")
    expect(lab.panel.locator("figure.fluxpanel-tile figcaption")).to_contain_text(
        "seed 7 · flux_dev"
    )
    assert lab.value("[panel.result.request.prompt, panel.steps, panel.seed_mode]") == [
        "first prompt",
        12,
        "fixed",
    ]


def test_generate_uses_the_model_just_chosen_while_the_kernel_is_busy(make_lab):
    """ipywidgets holds a change back while the kernel is busy with the one
    before, and Generate's message would overtake it: a model chosen and
    Generate pressed at once, while a cell runs, still makes that model's
    image, with the prompt typed just before."""
    lab = make_lab(
        ["import time; time.sleep(3)"], kwargs='model="flux_dev", prompt="a fox", seed=7'
    )
    lab.run_cell(1)  # the kernel is busy for three seconds
    lab.panel.locator('[data-param="prompt"] textarea').fill("a fox in the rain")
    lab.panel.locator('[data-param="model"] select').select_option("flux_pro")
    lab.panel.locator('[data-action="generate"]').click()
    caption = lab.panel.locator("figure.fluxpanel-tile figcaption")
    expect(caption).to_contain_text("flux_pro", timeout=30_000)
    assert lab.value("[panel.result.request.model, panel.result.request.prompt]") == [
        "flux_pro",
        "a fox in the rain",
    ]


def test_larger_view_and_download_use_the_original(make_lab):
    """Any result opens large and whole over the page (not inside the
    output area), the original fitted to the window; arrows go between the
    images; Escape closes."""
    lab = make_lab(
        [], kwargs='model="flux_dev", prompt="a fox", num_images=2, aspect_ratio="1344x768"'
    )
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(2)
    tile = lab.panel.locator("figure.fluxpanel-tile").first
    tile.locator("img").click()
    box = lab.page.locator('[data-part="lightbox"]')
    large = box.locator("img.fluxpanel-large")
    lab.page.wait_for_function(
        "img => img.complete && img.naturalWidth === 1344", arg=large.element_handle()
    )
    view = lab.page.viewport_size
    assert box.bounding_box() == {"x": 0, "y": 0, **view}  # the whole page, not the output
    shown = large.bounding_box()
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= view["width"]  # never cut off
    assert shown["y"] >= 0 and shown["y"] + shown["height"] <= view["height"]
    expect(box).to_contain_text("1 of 2")
    lab.page.keyboard.press("ArrowRight")
    expect(box).to_contain_text("2 of 2")
    box.get_by_role("button", name="Next image").click()
    expect(box).to_contain_text("1 of 2")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    lab.page.screenshot(path=str(SCREENSHOTS / "enlarged.png"))
    lab.page.keyboard.press("Escape")
    expect(lab.page.locator('[data-part="lightbox"]')).to_have_count(0)
    with lab.page.expect_download() as info:
        tile.get_by_text("Download").click()
    path = info.value.path()
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    request = fluxpanel.GenerationRequest.from_payload(
        json.loads(read_png_text(data)["fluxpanel"])["request"]
    )
    assert request.seed == lab.value("panel.result.seed")
    assert info.value.suggested_filename.endswith(".png")


def test_saved_notebook_has_the_static_copy_and_no_key(make_lab):
    lab = make_lab(
        [], kwargs='model="flux_dev", prompt="a fox <script>alert(1)</script>", num_images=2'
    )
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(2)
    key = lab.value("server.api_key")
    seed = lab.value("panel.result.seed")
    # The static copy follows the live panel but is hidden where the panel lives.
    static = lab.cell(0).locator(".fluxpanel-static")
    expect(static).to_have_count(1)
    expect(static).to_be_hidden()
    # The live view was not re-rendered: the code, open at first, stays as
    # the user left it (closed).
    snippet = lab.panel.locator(".fluxpanel-snippet")
    expect(snippet).to_have_attribute("open", "")
    lab.panel.locator(".fluxpanel-snippet summary").click()
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("2 images in")
    expect(lab.panel.locator(".fluxpanel-history-item")).to_have_count(2)
    expect(snippet).not_to_have_attribute("open", "")
    seed = lab.value("panel.result.seed")
    expect(static).to_contain_text(f"seed={seed},")  # the copy has followed (its own message)
    saved = lab.save()
    text = json.dumps(saved)
    assert key not in text
    assert key not in lab.page.content()
    outputs = saved["cells"][0]["outputs"]
    assert "application/vnd.jupyter.widget-view+json" in outputs[0]["data"]
    html = "".join(outputs[1]["data"]["text/html"])
    assert html.count("data:image/webp;base64,") == 2
    assert f"seed={seed}," in html and "Reproduce it with" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert not lab.page.errors


def test_dark_theme(make_lab):
    lab = make_lab([])
    light = lab.panel.evaluate("el => getComputedStyle(el).backgroundColor")
    lab.command("apputils:change-theme", {"theme": "JupyterLab Dark"})
    lab.page.wait_for_function(
        "before => getComputedStyle(document.querySelector('[data-fluxpanel]')).backgroundColor !== before",
        arg=light,
    )
    dark = lab.panel.evaluate("el => getComputedStyle(el).backgroundColor")
    fg = lab.panel.evaluate("el => getComputedStyle(el).color")
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    lab.page.screenshot(path=str(lab_screens() / "dark-theme-panel.png"))
    lab.command("apputils:change-theme", {"theme": "JupyterLab Light"})
    assert luminance(dark) < 0.2 < luminance(light)
    assert luminance(fg) > 0.5


def lab_screens():
    from .conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


def luminance(css):
    r, g, b = (int(x) / 255 for x in re.findall(r"\d+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize("app", ["notebook"])
def test_notebook7_smoke(make_lab, app):
    lab = make_lab([], app=app, run=False)
    lab.run_cell(0)
    lab.panel.wait_for(state="visible", timeout=60_000)
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("1 image in")


def test_preview_banner_says_how_to_set_up_a_key(make_lab):
    lab = make_lab(
        [],
        setup='import fluxpanel\npanel = fluxpanel.FluxPanel(provider="preview", prompt="a fox")\npanel',
    )
    banner = lab.panel.locator('[data-part="banner"]')
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("Preview mode")
    expect(banner).to_contain_text("FLUX_API_KEY")
    expect(lab.panel.locator('[data-part="provider"]')).to_contain_text("Preview")
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    expect(lab.panel.locator('[data-part="code"]')).to_contain_text("provider='preview'")


def drop_file(lab, data: bytes, name: str):
    import base64

    transfer = lab.page.evaluate_handle(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "image/png" }));
            return dt;
        }""",
        [base64.b64encode(data).decode(), name],
    )
    lab.panel.dispatch_event("dragover", {"dataTransfer": transfer})
    expect(lab.panel.locator('[data-part="drop"]')).to_be_visible()
    lab.panel.dispatch_event("drop", {"dataTransfer": transfer})


@pytest.mark.parametrize("fmt", ["png", "jpeg", "webp"])
def test_dropping_a_saved_image_restores_every_parameter(make_lab, fmt):
    import io
    import struct
    import zlib

    from PIL import Image

    from fluxpanel._results import GeneratedImage

    lab = make_lab([], kwargs='model="flux_schnell", prompt="before"')
    req = fluxpanel.GenerationRequest(
        model="flux_pro",
        prompt='from a file: "quotes" & <tags>',
        seed=4242,
        steps=33,
        guidance=4.5,
        interval=3.0,
        safety_tolerance=5,
        aspect_ratio="768x1344",
    )
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (30, 60, 90)).save(out, fmt.upper())
    data = GeneratedImage(
        out.getvalue(), f"image/{fmt}", 64, 64, 4242, 0, req, "flux-api"
    ).to_bytes()
    if fmt == "png":
        # Over the 10 MiB message cap: only the metadata may go to the kernel.
        pad = b"\0" * (11 * 1024 * 1024)
        chunk = (
            struct.pack(">I", len(pad))
            + b"zzZz"
            + pad
            + struct.pack(">I", zlib.crc32(b"zzZz" + pad))
        )
        data = data[:-12] + chunk + data[-12:]
    drop_file(lab, data, f"saved.{fmt}")
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text(f"restored from saved.{fmt}")
    expect(lab.panel.locator('[data-part="drop"]')).to_be_hidden()
    expect(lab.panel.locator('[data-param="model"] select')).to_have_value("flux_pro")
    expect(lab.panel.locator('[data-param="prompt"] textarea')).to_have_value(req.prompt)
    expect(lab.panel.locator('[data-param="interval"] input[type="number"]')).to_have_value("3")
    expect(lab.panel.locator('[data-param="seed"] input[type="number"]')).to_have_value("4242")
    restored = lab.value("panel.request.to_payload()")
    assert restored == req.to_payload()


def test_dropping_an_image_without_metadata_explains(make_lab):
    import io

    from PIL import Image

    lab = make_lab([])
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    drop_file(lab, out.getvalue(), "plain.png")
    expect(lab.panel.locator('[data-part="error"]')).to_contain_text(
        "plain.png holds no fluxpanel request"
    )


def test_save_all(make_lab):
    lab = make_lab([], kwargs='model="flux_dev", prompt="a fox", num_images=2')
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(2)
    lab.panel.locator('[data-action="save-all"]').click()
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text(
        "Saved 2 images and manifest.json to fluxpanel-exports/"
    )
    folder = lab.value("str(sorted(__import__('pathlib').Path('fluxpanel-exports').iterdir())[-1])")
    assert lab.value(f"fluxpanel.load({folder!r}).request == panel.result.request") is True


SWITCH_SETUP = """\
import fluxpanel
from fluxpanel.providers import BlackForestLabs, FluxAPI
from fluxpanel.testing import FakeBFL, ReferenceServer
server = ReferenceServer().start()
bfl = FakeBFL(pending_polls=1).start()
class QuickBFL(BlackForestLabs):
    poll_first = 0.05
panel = fluxpanel.FluxPanel(
    provider=FluxAPI(api_key=server.api_key, url=server.url),
    providers=[QuickBFL(api_key=bfl.api_key, base_url=bfl.base_url), "preview"],
    model="flux_schnell", prompt="a fox",
)
panel"""


def test_switching_provider_rebuilds_the_controls_from_its_spec(make_lab):
    from fluxpanel.providers.bfl import MODELS as BFL_MODELS

    lab = make_lab([], setup=SWITCH_SETUP)
    select = lab.panel.locator('[data-param="provider"] select')
    expect(select).to_have_value("flux-api")
    assert select.locator("option").evaluate_all("os => os.map(o => o.value)") == [
        "flux-api",
        "bfl",
        "preview",
    ]
    models = lab.panel.locator('[data-param="model"] select option')
    expect(models).to_have_count(3)
    select.select_option("bfl")
    # Black Forest Labs has no schnell: its own models, and its ranges.
    expect(models).to_have_count(len(BFL_MODELS))
    expect(lab.panel.locator('[data-param="model"] select')).to_have_value("flux_dev")
    assert visible_params(lab) == {"model", *BFL_MODELS["flux_dev"].params, "seed_mode"}
    safety = lab.panel.locator('[data-param="safety_tolerance"] input[type="number"]')
    expect(safety).to_have_attribute("min", "0")
    guidance = lab.panel.locator('[data-param="guidance"] input[type="number"]')
    expect(guidance).to_have_attribute("min", "1.5")
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("Now using Black Forest Labs")
    # It generates there, through the fake's submit-then-poll flow.
    lab.panel.locator('[data-action="generate"]').click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(1)
    assert lab.value("[len(bfl.submits), len(server.posts), panel.result.provider]") == [
        1,
        0,
        "bfl",
    ]
    expect(lab.panel.locator('[data-part="code"]')).to_be_visible()  # open, under the result
    expect(lab.panel.locator('[data-part="code"]')).to_contain_text("BlackForestLabs")
    bfl_key = lab.value("bfl.api_key")
    assert bfl_key not in lab.page.content()
    # Back to the preview: its table again (every model), and the banner.
    select.select_option("preview")
    expect(models).to_have_count(lab.value("len(fluxpanel.providers.Preview.models)"))
    expect(lab.panel.locator('[data-part="banner"]')).to_be_visible()


def test_the_key_appears_nowhere_after_generations_and_errors(make_lab, jupyter, tmp_path):
    import nbformat
    from nbconvert import HTMLExporter

    lab = make_lab(
        ["print(panel.result_code)"], kwargs='model="flux_dev", prompt="a fox", num_images=2'
    )
    key = lab.value("server.api_key")
    go = lab.panel.locator('[data-action="generate"]')
    go.click()
    expect(lab.panel.locator("figure.fluxpanel-tile")).to_have_count(2)
    # A server that echoes the key in its error, and a validation error.
    lab.kernel('server.fail("status", status=401, body={"detail": "bad key " + server.api_key})')
    go.click()
    expect(lab.panel.locator('[data-part="error"]')).to_contain_text("[redacted]")
    lab.kernel("panel.steps = 0")
    expect(lab.panel.locator('[data-param="steps"] .fluxpanel-field-error')).to_be_visible()
    lab.kernel("panel.steps = 28")
    go.click()
    expect(lab.panel.locator('[data-part="status"]')).to_contain_text("2 images in")
    lab.run_cell(1)
    expect(lab.cell(1).locator(".jp-OutputArea-output")).to_contain_text("client.generate(")
    saved = lab.save()
    text = json.dumps(saved)
    html, _ = HTMLExporter().from_notebook_node(nbformat.reads(text, as_version=4))
    places = {
        "saved notebook": text,
        "page DOM": lab.page.content(),
        "exported HTML": html,
        "widget state": lab.value(
            "__import__('json').dumps([w.get_state() for w in [panel, *(t['ref'] for t in panel._tiles), "
            "*(h['ref'] for h in panel._history)]], default=lambda b: b.hex() if isinstance(b, (bytes, memoryview)) else str(b))"
        ),
        "snippets": lab.value("panel.code + panel.result_code"),
        "panel error": lab.value("str(panel.error)"),
        "image requests": lab.value("str([r.headers for r in server.image_requests])"),
        "server log": (jupyter.root.parent / "jupyter.log").read_text(errors="replace"),
    }
    for where, content in places.items():
        assert key not in content, where
        assert key.encode().hex() not in content, where
