"""Input images in the panel, from Python and as the view sends them (chunked
binary messages), "Use as input", and what the view is shown (never bytes)."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import threading
import types

import pytest
import traitlets
from PIL import Image

from fluxpanel import FluxPanel, ValidationError, _uploads
from fluxpanel._panel_view import off_loop
from fluxpanel._uploads import CHUNK

pytestmark = pytest.mark.filterwarnings("ignore::fluxpanel.providers.PreviewNotice")


def png(w=320, h=256, colour=(200, 40, 40), mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


class Sent(list):
    """Messages the panel sent to the view."""


def panel_with_outbox(**kw):
    panel = FluxPanel(provider="preview", **kw)
    outbox = Sent()
    panel.send = lambda content, buffers=None: outbox.append(content)
    return panel, outbox


def upload(panel, param, data, *, name="photo.png", append=False, upload="u1", chunk=CHUNK):
    panel._handle(
        {
            "type": "input-begin",
            "upload": upload,
            "param": param,
            "name": name,
            "size": len(data),
            "append": append,
        }
    )
    for offset in range(0, len(data), chunk):
        panel._handle(
            {"type": "input-chunk", "upload": upload, "offset": offset},
            [memoryview(data[offset : offset + chunk])],
        )
    panel._handle({"type": "input-end", "upload": upload})


def test_every_image_parameter_is_a_trait_that_takes_any_image_form(tmp_path):
    panel = FluxPanel(provider="preview", model="flux_kontext_pro")
    path = tmp_path / "in.png"
    path.write_bytes(png())
    panel.input_image = path
    assert panel.input_image.data == png()
    seen = []
    panel.observe(lambda c: seen.append(c["name"]), names="input_image")
    panel.input_image = Image.open(io.BytesIO(png(colour=(0, 0, 200))))
    assert seen == ["input_image"]
    other = traitlets.HasTraits()
    other.add_traits(picture=traitlets.Any())
    traitlets.link((panel, "input_image"), (other, "picture"))
    panel.input_image = png()
    assert other.picture.sha256 == panel.input_image.sha256
    with pytest.raises(ValidationError):
        panel.input_image = b"not an image"


def test_the_view_sees_thumbnails_and_digests_never_the_bytes():
    panel = FluxPanel(provider="preview", model="flux_kontext_pro")
    big = png(2000, 1500)
    panel.input_image = big
    shown = panel.inputs["input_image"][0]
    assert shown["sha256"] == panel.input_image.sha256 and shown["width"] == 2000
    assert shown["thumb"].startswith("data:image/") and len(shown["thumb"]) < 40_000
    state = json.dumps(panel.get_state(), default=str)
    assert len(state) < 200_000
    panel.input_image = None
    assert "input_image" not in panel.inputs


@pytest.mark.parametrize("apart, told", [(0.0, 0), (0.2, 1), (1.0, 5)])
def test_a_chunked_upload_arrives_whole_saying_how_much_came_twice_a_second(
    monkeypatch, apart, told
):
    """Parts ``apart`` seconds from each other: the view is told how much
    has come at most every half second (over loopback, never)."""
    clock = [100.0]
    monkeypatch.setattr(_uploads, "time", types.SimpleNamespace(monotonic=lambda: clock[0]))
    panel, outbox = panel_with_outbox(model="flux_kontext_pro")
    data = png(1800, 1800, (10, 200, 90))
    chunk = -(-len(data) // 5)  # five parts
    begin = {"upload": "u1", "param": "input_image", "name": "photo.png", "size": len(data)}
    panel._handle({"type": "input-begin", **begin, "append": False})
    for offset in range(0, len(data), chunk):
        clock[0] += apart
        panel._handle(
            {"type": "input-chunk", "upload": "u1", "offset": offset},
            [memoryview(data[offset : offset + chunk])],
        )
    panel._handle({"type": "input-end", "upload": "u1"})
    acks = [m["received"] for m in outbox if m["type"] == "input-ack"]
    assert len(acks) == told and acks == sorted(acks)
    assert all(0 < n <= len(data) for n in acks)
    done = outbox[-1]
    assert done["type"] == "input-done" and "error" not in done
    assert panel.input_image.data == data and panel.input_image.name == "photo.png"
    assert "ready" in panel.status_text


@pytest.mark.parametrize(
    "data, words",
    [(b"%PDF-1.4 hello", "not an image"), (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not an image")],
)
def test_a_file_that_is_not_an_image_is_an_error_beside_nothing_sent(data, words):
    panel, outbox = panel_with_outbox(model="flux_kontext_pro")
    upload(panel, "input_image", data)
    assert panel.input_image is None
    # Said once, where the file was dropped, without Python's names.
    said = outbox[-1]["error"]
    assert words in said and "Error" not in said and "input_image" not in said
    assert panel.error == {} and panel.field_errors == {}


def test_a_refused_file_never_replaces_a_good_input():
    panel, outbox = panel_with_outbox(model="flux_kontext_pro")
    upload(panel, "input_image", png())
    good = panel.input_image
    buf = io.BytesIO()
    Image.new("RGB", (100, 80), "red").save(buf, "PNG")
    upload(panel, "input_image", buf.getvalue())  # smaller than the host takes
    assert panel.input_image is good
    assert "100x80" in outbox[-1]["error"] and "256 px" in outbox[-1]["error"]


def test_parts_in_any_order_make_the_file_overlaps_and_oversized_uploads_do_not():
    """marimo delivers messages with buffers apart from the others: parts may
    come in any order, before the first message or after the last."""
    data = png()
    third = -(-len(data) // 3)
    parts = [(i, data[i : i + third]) for i in range(0, len(data), third)]
    panel, outbox = panel_with_outbox(model="flux_kontext_pro")
    begin = {"type": "input-begin", "upload": "a", "param": "input_image", "name": "x"}
    panel._handle({"type": "input-chunk", "upload": "a", "offset": parts[2][0]}, [parts[2][1]])
    panel._handle({**begin, "size": len(data)})
    panel._handle({"type": "input-chunk", "upload": "a", "offset": parts[1][0]}, [parts[1][1]])
    panel._handle({"type": "input-end", "upload": "a"})
    assert panel.input_image is None  # not whole yet: the first part is on its way
    panel._handle({"type": "input-chunk", "upload": "a", "offset": 0}, [parts[0][1]])
    assert panel.input_image.data == data and outbox[-1]["type"] == "input-done"
    panel._handle({**begin, "upload": "o", "size": 10})
    panel._handle({"type": "input-chunk", "upload": "o", "offset": 0}, [b"123456"])
    panel._handle({"type": "input-chunk", "upload": "o", "offset": 4}, [b"123456"])
    assert "out of order" in outbox[-1]["error"]  # parts that overlap
    panel._handle({**begin, "upload": "p", "size": 10})
    panel._handle({"type": "input-chunk", "upload": "p", "offset": 6}, [b"123456"])
    assert "larger than the view said" in outbox[-1]["error"]
    panel._handle(
        {"type": "input-begin", "upload": "b", "param": "input_image", "name": "x", "size": 10**9}
    )
    assert "more than fluxpanel takes" in outbox[-1]["error"]
    panel._handle(
        {"type": "input-begin", "upload": "c", "param": "prompt", "name": "x", "size": 10}
    )
    assert "not an image parameter" in outbox[-1]["error"]


def test_references_append_up_to_the_models_limit_and_can_be_removed():
    panel, outbox = panel_with_outbox(model="flux_2_pro")
    limit = panel.models["flux_2_pro"].params["input_images"].max
    for i in range(int(limit)):
        upload(panel, "input_images", png(colour=(i, 0, 0)), append=True, upload=f"u{i}")
    assert len(panel.input_images) == limit
    upload(panel, "input_images", png(colour=(99, 0, 0)), append=True, upload="extra")
    assert "already holds" in outbox[-1]["error"]
    panel._handle({"type": "input-remove", "param": "input_images", "index": 0})
    assert len(panel.input_images) == limit - 1 and len(panel.inputs["input_images"]) == limit - 1


def test_use_as_input_switches_to_an_editing_model_and_sends_no_bytes():
    panel, _ = panel_with_outbox(prompt="a lighthouse")
    gen = asyncio.run(panel.agenerate())
    key = f"{panel.history_current}-0"
    panel._handle({"type": "use-input", "key": key})
    assert panel.model == "flux_kontext_pro"
    assert panel.input_image.data == gen.images[0].data
    # Said in a person's words: the field's label, not its name.
    assert panel.status_text.endswith("is the input image of FLUX.1 Kontext [pro]")
    panel.model = "flux_2_pro"  # the image being edited comes along
    assert panel.input_images[0].data == gen.images[0].data
    panel._handle({"type": "use-input", "entry": panel.history_current, "index": 0})
    assert len(panel.input_images) == 2


def test_an_edit_runs_and_its_snippet_names_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    panel = FluxPanel(provider="preview", model="flux_fill_pro", prompt="a red door")
    assert panel.field_errors == {}  # required, not given yet: asked for after a Generate
    panel.image = png(320, 256)
    panel.mask = png(320, 256, 255, "L")
    assert panel.field_errors == {}
    gen = asyncio.run(panel.agenerate())
    assert (gen.images[0].width, gen.images[0].height) == (320, 256)
    assert "fluxpanel-inputs/" in panel.result_code
    assert (tmp_path / "fluxpanel-inputs").is_dir()
    panel.mask = png(300, 300, 255, "L")
    assert panel.field_errors["mask"] == (
        "Mask is 300x300 but Image is 320x256; a Mask must be the size of its Image."
    )
    # Restoring an edit from history brings its inputs back.
    entry = panel.history_current
    panel.image = None
    panel.restore(entry)
    assert panel.image.data == png(320, 256)


def test_fluxpanel_is_still_light_to_import():
    import subprocess
    import sys

    code = "import sys, fluxpanel; print('PIL' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_model_without_a_prompt_keeps_the_panels_prompt_for_the_next():
    """FLUX Erase takes no prompt: a panel opened on it keeps the prompt it was
    given (for the next model), never sends it, and shows the model's name
    where a result's prompt would be."""
    from fluxpanel import compare

    panel = FluxPanel(provider="preview", model="flux_erase", prompt="a quiet street")
    panel.image = png(320, 256)
    mask = Image.new("L", (320, 256), 0)
    mask.paste(255, (100, 80, 200, 160))
    panel.mask = mask
    gen = asyncio.run(panel.agenerate())
    assert gen.request.model == "flux_erase" and gen.request.prompt is None
    assert panel._history[-1]["prompt"] == "FLUX Erase"
    assert "prompt=" not in gen.code
    panel.model = "flux_schnell"
    assert panel.prompt == "a quiet street"
    grid = compare(
        None, provider="preview", model="flux_erase", image=png(), mask=mask, dilate_pixels=[0, 25]
    )
    assert "<strong>Comparison</strong>: FLUX Erase" in grid._repr_html_()
    assert [c.request.dilate_pixels for c in grid.cells] == [0, 25]


def test_an_input_image_lowers_the_tolerance_kontext_allows_beside_the_field():
    panel = FluxPanel(provider="preview", model="flux_pro_1_1", prompt="x", safety_tolerance=5)
    panel.model = "flux_kontext_pro"
    assert panel.safety_tolerance == 5 and panel.field_errors == {}
    panel.input_image = png()
    said = panel.field_errors["safety_tolerance"]
    assert said.startswith("Safety tolerance is over 2") and "with Input image" in said
    panel.safety_tolerance = 2
    assert panel.field_errors == {}


def test_a_hidden_corner_is_not_where_an_outpainted_image_goes():
    """Outpainting: a corner set, then placement back to centred; the hidden
    corner no longer counts, and the panel says nothing is wrong."""
    panel = FluxPanel(provider="preview", model="flux_outpaint", width=2048, height=1024)
    panel.input_image = png(1024, 1024)
    panel.placement = "custom"
    panel.reference_offset_x = 1500
    assert "0 to 1024" in panel.field_errors["reference_offset_x"]
    panel.placement = "center"
    assert panel.field_errors == {}
    gen = asyncio.run(panel.agenerate())
    assert gen.request.reference_offset_x is None and gen.request.size == (2048, 1024)


def test_the_codes_input_file_is_written_off_the_loop(tmp_path, monkeypatch):
    """A large input is shown at once: the code for the settings names its
    file by content, and the file is written by a worker thread, not by the
    loop the panel runs on; a file that cannot be written is then said in
    the code, as before."""
    import threading

    from fluxpanel._inputs import InputImage

    monkeypatch.chdir(tmp_path)
    writers = []
    real = InputImage.file

    def spy(self, folder=None):
        writers.append(threading.current_thread())
        return real(self, folder)

    monkeypatch.setattr(InputImage, "file", spy)
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(buf, "PNG")

    async def set_it():
        panel = FluxPanel(provider="preview", model="flux_kontext_pro", prompt="x")
        panel.input_image = buf.getvalue()
        named = f"fluxpanel-inputs/{panel.input_image.filename}"
        assert named in panel.code  # named at once, by content
        for _ in range(200):
            if (tmp_path / named).exists():
                break
            await asyncio.sleep(0.01)
        assert (tmp_path / named).read_bytes() == panel.input_image.data
        return panel

    asyncio.run(set_it())
    assert writers and threading.main_thread() not in writers
    # A folder that cannot be written: the code says so once the write fails.
    (tmp_path / "fluxpanel-inputs").rename(tmp_path / "kept")
    (tmp_path / "fluxpanel-inputs").write_text("not a folder")
    other = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 30, 200)).save(other, "PNG")

    async def refused():
        panel = FluxPanel(provider="preview", model="flux_kontext_pro", prompt="x")
        panel.input_image = other.getvalue()
        for _ in range(200):
            if "could not be written" in panel.code:
                break
            await asyncio.sleep(0.01)
        return panel.code

    assert "could not be written" in asyncio.run(refused())


def test_background_work_yields_to_what_a_person_waits_for():
    """A thumbnail or the snippet's file is made on a thread the system
    serves after the others (nice 10 on Linux); the read of a dropped file,
    which a person waits for, is not."""

    def where() -> tuple[str, int]:
        me = threading.current_thread()
        return me.name, os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    async def both() -> list[tuple[str, int]]:
        loop = asyncio.get_running_loop()
        got: list[asyncio.Future[tuple[str, int]]] = [loop.create_future() for _ in range(2)]
        off_loop(where, lambda r: got[0].set_result(r()), background=True)
        off_loop(where, lambda r: got[1].set_result(r()))
        return [await g for g in got]

    (quiet, quiet_nice), (urgent, urgent_nice) = asyncio.run(both())
    assert quiet.startswith("fluxpanel-background") and not urgent.startswith(
        "fluxpanel-background"
    )
    if sys.platform.startswith("linux"):
        assert quiet_nice >= urgent_nice + 10


def test_an_input_file_written_later_lands_where_its_path_pointed(tmp_path, monkeypatch):
    """The code names ``fluxpanel-inputs/<sha>.png`` in the working
    directory of the moment; a worker thread that writes it after the
    directory changed still writes it there."""
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(here)
    image = FluxPanel(provider="preview", model="flux_kontext_pro", input_image=png()).input_image
    shown, write = image.file_later()
    assert write is not None and not os.path.isabs(shown)
    monkeypatch.chdir(elsewhere)
    write()
    assert (here / shown).read_bytes() == image.data
    assert not (elsewhere / "fluxpanel-inputs").exists()
