"""Hostile image inputs: restored requests that name local files, files that
are not files, uploads that never end or come in crumbs, box lists built to
be slow, storage and presigned URLs, repeated records, planted inputs, and
the breakages a report author meets (an export saved twice, a mocked
transport). Each attack must hold; the first round's keep holding beside
them (tests/hostile/test_files.py, test_secrets.py, test_servers.py)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import threading
import tracemalloc

import httpx
import numpy as np
import pytest
import respx
from PIL import Image

import fluxpanel
from fluxpanel import FluxError, GenerationRequest, ValidationError, _editing
from fluxpanel._boxes import MAX_BOXES
from fluxpanel._durations import RecentRuns
from fluxpanel._imaging import png_chunk
from fluxpanel._inputs import INPUTS_FOLDER, InputImage
from fluxpanel._uploads import MAX_PARTS, MAX_UPLOADS, Uploads
from fluxpanel.providers import Fal, FluxAPI, Preview
from fluxpanel.testing import FakeFal, HostRoutes, solid_png

from ..conftest import FAST_RETRY

pytestmark = pytest.mark.filterwarnings("ignore::fluxpanel.providers.PreviewNotice")

SECRET_PHOTO = "secret-photo.png"


def photo(w: int = 320, h: int = 256, colour=(40, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), colour).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def secret(tmp_path):
    """A photo on the reader's disk that a crafted file names by its path."""
    path = tmp_path / SECRET_PHOTO
    path.write_bytes(photo(colour=(250, 10, 10)))
    return path


def kontext(input_image) -> dict:
    return {"model": "flux_kontext_pro", "prompt": "make it blue", "input_image": input_image}


def with_metadata(payload: dict, provider: str = "preview") -> bytes:
    """A PNG whose fluxpanel metadata holds ``payload`` as its request."""
    png = solid_png(16, 16)
    text = json.dumps({"request": payload, "provider": provider}).encode()
    chunk = png_chunk(b"tEXt", b"fluxpanel\x00" + text)
    return png[:33] + chunk + png[33:]


# -- 1. a restored request never reads a path ---------------------------------------------


def test_a_restored_request_refuses_a_path(secret):
    with pytest.raises(ValidationError, match="a path is not read") as e:
        GenerationRequest.from_payload(kontext(str(secret)), provider="preview")
    assert e.value.field == "input_image"


def test_an_image_whose_metadata_names_a_path_is_refused(secret, tmp_path):
    crafted = tmp_path / "crafted.png"
    crafted.write_bytes(with_metadata(kontext(str(secret))))
    with pytest.raises(ValidationError, match="input_image") as e:
        GenerationRequest.from_image(crafted)
    assert "a path is not read" in str(e.value)


def test_a_manifest_that_names_a_path_is_refused(secret, tmp_path):
    with fluxpanel.FluxClient(provider=Preview()) as client:
        gen = client.generate(**kontext(photo()))
    folder = gen.save(tmp_path / "export").parent
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["request"]["input_image"] = str(secret)
    manifest["inputs"] = {}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValidationError, match="a path is not read"):
        fluxpanel.load(folder)


def test_a_dropped_image_naming_a_path_sets_nothing(secret):
    panel = fluxpanel.FluxPanel(provider="preview", model="flux_kontext_pro")
    panel._handle({"type": "dropped", "request": kontext(str(secret)), "name": "crafted.png"})
    assert panel.input_image is None
    assert panel.inputs == {}
    assert "a path is not read" in panel.error["message"]
    assert SECRET_PHOTO not in json.dumps(panel.get_state(), default=str)


def test_a_path_typed_in_python_is_still_read(secret):
    request = GenerationRequest(**kontext(secret), models=Preview().models)
    assert request.input_image.path == str(secret)


# -- 2. only regular files, read with a bound ---------------------------------------------


def _not_files(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    folder = tmp_path / "folder"
    folder.mkdir()
    link = tmp_path / "link-to-zero"
    link.symlink_to("/dev/zero")
    return {"/dev/zero": "/dev/zero", "a pipe": fifo, "a folder": folder, "a link": link}


def _within(seconds: float, work):
    """``work()``'s outcome, or a failure if it has not ended in ``seconds``
    (a read that blocks must not hang the suite)."""
    box: dict = {}

    def run():
        try:
            box["value"] = work()
        except BaseException as e:
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the read blocked"
    return box


@pytest.mark.parametrize("what", ["/dev/zero", "a pipe", "a folder", "a link"])
def test_an_input_that_is_not_a_regular_file_is_a_validation_error(tmp_path, what):
    path = _not_files(tmp_path)[what]
    box = _within(10, lambda: InputImage.of(path, "input_image"))
    assert isinstance(box.get("error"), ValidationError), box
    assert box["error"].field == "input_image"


@pytest.mark.parametrize("what", ["/dev/zero", "a pipe", "a folder", "a link"])
def test_an_export_whose_files_are_not_files_is_a_flux_error(tmp_path, what):
    with fluxpanel.FluxClient(provider=Preview()) as client:
        gen = client.generate(prompt="a fox", seed=1)
    folder = gen.save(tmp_path / "export").parent
    image = next(folder.glob("*.png"))
    image.unlink()
    target = _not_files(tmp_path)[what]
    if what == "a folder":
        image.mkdir()
    else:
        image.symlink_to(target)
    box = _within(10, lambda: fluxpanel.load(folder))
    assert isinstance(box.get("error"), FluxError), box
    assert image.name in str(box["error"])


def test_reading_a_request_from_a_pipe_does_not_wait_for_a_writer(tmp_path):
    fifo = tmp_path / "image.png"
    os.mkfifo(fifo)
    box = _within(10, lambda: GenerationRequest.from_image(fifo))
    assert isinstance(box.get("error"), fluxpanel.FileReadError), box
    assert "a pipe, not a file" in str(box["error"])


# -- 3 and 4. uploads: bounded in time, count and work ------------------------------------


def begin(uploads: Uploads, upload: str, size: int = 10) -> None:
    uploads.begin({"upload": upload, "param": "image", "name": "a.png", "size": size}, {"image"})


def test_uploads_that_never_finish_expire(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("fluxpanel._uploads.time.monotonic", lambda: now[0])
    uploads = Uploads(idle=120)
    for i in range(MAX_UPLOADS):
        begin(uploads, f"stuck-{i}")
    with pytest.raises(fluxpanel.ValidationError, match="too many files"):
        begin(uploads, "one-more")
    now[0] += 121  # the view went away two minutes ago
    begin(uploads, "after-a-while")
    assert uploads.waiting == 1


def test_a_view_that_reconnects_resets_its_uploads():
    panel = fluxpanel.FluxPanel(provider="preview", model="flux_kontext_pro")
    for i in range(MAX_UPLOADS):
        panel._handle(
            {
                "type": "input-begin",
                "upload": f"u{i}",
                "param": "input_image",
                "name": "a",
                "size": 100,
            }
        )
    assert panel._editing.uploads.waiting == MAX_UPLOADS
    panel._handle({"type": "view"})
    assert panel._editing.uploads.waiting == 0
    data = photo()
    panel._handle(
        {
            "type": "input-begin",
            "upload": "new",
            "param": "input_image",
            "name": "b.png",
            "size": len(data),
        }
    )
    panel._handle({"type": "input-chunk", "upload": "new", "offset": 0}, [memoryview(data)])
    panel._handle({"type": "input-end", "upload": "new"})
    assert panel.input_image is not None and panel.input_image.data == data


def test_a_cancelled_uploads_late_parts_are_dropped():
    uploads = Uploads()
    begin(uploads, "u1", size=4)
    uploads.drop({"upload": "u1"})  # the view cancelled it
    for offset in range(4):
        assert uploads.chunk({"upload": "u1", "offset": offset}, [b"x"]) is None
    assert uploads._early == {} and uploads.waiting == 0


def test_an_upload_in_crumbs_is_refused_after_a_bounded_number_of_parts():
    uploads = Uploads()
    begin(uploads, "u1", size=8000)
    refused = None
    for offset in range(8000):  # 8,000 one-byte parts
        try:
            uploads.chunk({"upload": "u1", "offset": offset}, [b"x"])
        except fluxpanel.ValidationError as e:
            refused = (offset, e)
            break
    assert refused is not None
    offset, error = refused
    assert offset == MAX_PARTS and f"more than {MAX_PARTS} parts" in str(error)
    assert uploads.waiting == 0  # and nothing of it is kept


def test_parts_at_any_offsets_cost_a_look_at_two_neighbours(monkeypatch):
    import bisect

    calls = []
    real = bisect.bisect_right
    monkeypatch.setattr(
        "fluxpanel._uploads.bisect.bisect_right", lambda *a: calls.append(1) or real(*a)
    )
    uploads = Uploads()
    begin(uploads, "u1", size=2 * MAX_PARTS)
    for offset in range(2 * MAX_PARTS - 2, -1, -2):  # backwards, in pairs
        uploads.chunk({"upload": "u1", "offset": offset}, [b"xy"])
    assert len(calls) == MAX_PARTS  # one search per part: no part looks at all the others


# -- 5. boxes: capped by the host's limits, linear, ids exact --------------------------------


def test_more_boxes_than_the_host_reads_are_refused_before_any_is_checked():
    rows = [{"id": f"thing_{i}", "bbox": [0, 0, 10, 10], "desc": "x"} for i in range(8000)]
    with pytest.raises(ValidationError, match="boxes") as e:
        GenerationRequest("flux_3_image", "a poster", boxes=rows, models=Preview().models)
    assert e.value.field == "boxes"
    assert f"more than {MAX_BOXES} boxes" in str(e.value)


def test_a_box_id_with_a_line_break_is_refused():
    with pytest.raises(ValidationError, match="boxes"):
        fluxpanel.Box("logo_1\n", 0, 0, 10, 10, "a logo")


def test_the_composed_prompt_stays_within_the_hosts_prompt_limit():
    models = Preview().models
    most = int(models["flux_3_image"].params["prompt"].max)
    boxes = [fluxpanel.Box(f"part_{i}", 0, 0, 10, 10, "d" * 3000) for i in range(1, 4)]
    with pytest.raises(ValidationError, match="more than the") as e:
        GenerationRequest("flux_3_image", "a poster", boxes=boxes, models=models)
    assert e.value.field == "boxes" and f"more than the {most} the host takes" in str(e.value)


def test_the_editors_rows_are_capped_and_read_in_linear_time():
    panel = fluxpanel.FluxPanel(provider="preview", model="flux_3_image")
    rows = [{"id": f"thing_{i}", "bbox": [0, 0, 10, 10], "desc": "x"} for i in range(8000)]
    rows += [{"id": "thing_1", "bbox": [5, 5, 9, 9], "desc": "again"}] * 8000
    panel.set_state({"boxes": rows})
    assert len(panel.boxes) == MAX_BOXES
    assert len({b.name for b in panel.boxes}) == MAX_BOXES


# -- 6. fal's storage answer passes the address rule ---------------------------------------


@pytest.mark.parametrize(
    ("upload_base", "words"),
    [
        ("https://169.254.169.254", "private or local network"),
        ("https://10.0.0.8", "private or local network"),
        ("http://169.254.169.254", "over plain http"),
        ("http://storage.fal.example", "over plain http"),
    ],
)
def test_an_upload_url_inside_or_in_the_clear_is_not_used(upload_base, words):
    with FakeFal(queue_polls=0) as fake:
        fake.public_url = "https://queue.fal.run"
        fake.upload_base = upload_base
        routes = HostRoutes({"https://queue.fal.run": fake, "https://rest.fal.ai": fake})
        provider = Fal(api_key=fake.api_key)
        provider.poll_first = 0.01
        with fluxpanel.FluxClient(provider=provider, transport=routes, cache=False) as client:
            with pytest.raises(fluxpanel.APIError, match=words):
                client.generate(**kontext(photo()))
    origins = {origin for origin, *_ in routes.seen}
    assert origins == {"https://rest.fal.ai"}  # the initiate call only: no PUT, no submit
    assert fake.uploads and all(body == b"" for body in fake.uploads.values())


# -- 7. presigned URLs keep their credentials to themselves --------------------------------

PRESIGNED = (
    "https://bucket.s3.amazonaws.com/in/photo.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20261206&X-Amz-Signature=f00dfeedbeefcafe"
    "&X-Amz-Security-Token=SESSIONTOKEN123"
)
LEAKS = ("f00dfeedbeefcafe", "SESSIONTOKEN123", "AKIAEXAMPLE")


def test_a_presigned_input_url_is_stored_and_shown_without_its_credentials(tmp_path):
    with fluxpanel.FluxClient(provider=Preview()) as client:
        gen = client.generate(**kontext(PRESIGNED), seed=4)
    assert gen.request.input_image.url == PRESIGNED  # what the host is sent: whole
    folder = gen.save(tmp_path / "export").parent
    stored = [
        gen.request.to_code("bfl"),
        repr(gen.request),
        json.dumps(gen.request.to_payload()),
        (folder / "manifest.json").read_text(),
        *(p.read_bytes().decode("latin-1") for p in folder.glob("*.png")),
    ]
    for text in stored:
        assert not [s for s in LEAKS if s in text], text[:300]
    assert "X-Amz-Signature=REDACTED" in stored[0]


def test_the_panel_never_syncs_a_presigned_urls_credentials():
    panel = fluxpanel.FluxPanel(provider="preview", model="flux_kontext_pro")
    panel.input_image = PRESIGNED
    state = json.dumps(panel.get_state(), default=str)
    assert "bucket.s3.amazonaws.com" in state
    assert not [s for s in LEAKS if s in state]


# -- 8. a repeated record: counted first, read once ---------------------------------------


def test_a_record_repeated_a_thousand_times_is_refused_before_any_read(monkeypatch):
    reads = []
    real = fluxpanel._files.read_file
    monkeypatch.setattr(
        "fluxpanel._inputs.read_file", lambda *a, **k: reads.append(a) or real(*a, **k)
    )
    record = {"sha256": "ab" * 32}
    payload = {"model": "flux_2_pro", "prompt": "x", "input_images": [record] * 1000}
    with pytest.raises(ValidationError, match="1000 images, at most") as e:
        GenerationRequest.from_payload(payload, provider="preview")
    assert e.value.field == "input_images" and reads == []


def test_one_image_named_several_times_is_read_once(tmp_path, monkeypatch):
    data = photo()
    digest = hashlib.sha256(data).hexdigest()
    (tmp_path / INPUTS_FOLDER).mkdir()
    (tmp_path / INPUTS_FOLDER / f"{digest[:16]}.png").write_bytes(data)
    monkeypatch.chdir(tmp_path)
    reads = []
    real = fluxpanel._files.read_file
    monkeypatch.setattr(
        "fluxpanel._inputs.read_file", lambda *a, **k: reads.append(a) or real(*a, **k)
    )
    most = int(Preview().models["flux_2_pro"].params["input_images"].max)
    payload = {"model": "flux_2_pro", "prompt": "x", "input_images": [{"sha256": digest}] * most}
    request = GenerationRequest.from_payload(payload, provider="preview")
    assert [i.sha256 for i in request.input_images] == [digest] * most
    assert len(reads) == 1


# -- 9. the recent-runs file is best-effort ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"preview/flux_dev": [' + "9" * 400 + ", " + "9" * 400 + "]}",
        '{"preview/flux_dev": [Infinity, Infinity, 3]}',
        '{"preview/flux_dev": [NaN, -4, 0, 1e308, 1e400]}',
        "[1, 2, 3]",
        "{" * 100_000,
    ],
)
def test_a_broken_recent_runs_file_means_no_estimate(tmp_path, text):
    path = tmp_path / "recent-runs.json"
    path.write_text(text)
    runs = RecentRuns(path)
    assert runs.expected("preview/flux_dev") is None
    runs.add("preview/flux_dev", 2.0)
    runs.add("preview/flux_dev", 4.0)
    assert runs.expected("preview/flux_dev") == 3.0


def test_a_hosted_generation_with_a_broken_recent_runs_file_works(server, tmp_path):
    seen = []
    (tmp_path / "cache").mkdir()
    with fluxpanel.FluxClient(
        api_key=server.api_key, url=server.url, cache=tmp_path / "cache", retry=FAST_RETRY
    ) as client:
        key = client._async._runs_key(GenerationRequest(prompt="a fox"))
        (tmp_path / "cache" / "recent-runs.json").write_text(
            json.dumps({key: [1, 1]}).replace("1, 1", f"{'9' * 400}, {'9' * 400}, Infinity")
        )
        gen = client.generate(prompt="a fox", seed=1, on_progress=seen.append)
    assert len(gen.images) == 1 and seen
    assert all(p.expected is None for p in seen)
    json.dumps([p.expected for p in seen], allow_nan=False)  # what the panel syncs


# -- 10. arrays and Pillow images: the size first, then the work ------------------------------


def test_a_huge_broadcast_array_is_refused_before_it_is_copied():
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (60_000, 60_000, 3))
    tracemalloc.start()
    try:
        with pytest.raises(ValidationError, match="60000x60000, too large") as e:
            InputImage.of(huge, "input_image")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert e.value.field == "input_image"
    assert peak < 50_000_000


@pytest.mark.parametrize(
    "value",
    [
        np.zeros((0, 0, 3), np.uint8),
        np.zeros((0, 10, 4), np.uint8),
        Image.new("RGB", (0, 0)),
        b"",
        "photo\x00.png",
    ],
    ids=["empty-array", "no-rows", "empty-pillow", "no-bytes", "nul-in-path"],
)
def test_empty_images_and_bad_names_are_validation_errors(value):
    with pytest.raises(ValidationError) as e:
        InputImage.of(value, "input_image")
    assert e.value.field == "input_image"


# -- 11. heavy image work leaves the loop's thread ---------------------------------------------


def test_an_upload_is_decoded_and_fitted_off_the_loops_thread(monkeypatch):
    threads: dict[str, set[int]] = {"of": set(), "fit": set()}
    real_of, real_fit = _editing.from_upload, InputImage._reencoded

    def of(*a, **k):  # reading the file's bytes
        threads["of"].add(threading.get_ident())
        return real_of(*a, **k)

    def fit(self, *a, **k):
        threads["fit"].add(threading.get_ident())
        return real_fit(self, *a, **k)

    monkeypatch.setattr(_editing, "from_upload", of)
    monkeypatch.setattr(InputImage, "_reencoded", fit)
    buf = io.BytesIO()
    Image.new("RGB", (1600, 1200), (20, 140, 60)).save(buf, "GIF")
    data = buf.getvalue()  # Kontext takes no GIF: re-encoded to fit

    async def main():
        panel = fluxpanel.FluxPanel(provider="preview", model="flux_kontext_pro")
        panel.send = lambda content, buffers=None: None
        panel._handle(
            {
                "type": "input-begin",
                "upload": "u",
                "param": "input_image",
                "name": "big.png",
                "size": len(data),
            }
        )
        panel._handle({"type": "input-chunk", "upload": "u", "offset": 0}, [memoryview(data)])
        threads["of"].clear()
        panel._handle({"type": "input-end", "upload": "u"})
        assert panel.input_image is None  # not yet: it is being read elsewhere
        for _ in range(200):
            await asyncio.sleep(0.02)
            if panel.input_image is not None:
                break
        return panel, threading.get_ident()

    panel, loop_thread = asyncio.run(main())
    assert panel.input_image is not None and panel.input_image.data == data
    assert threads["of"] and loop_thread not in threads["of"]
    assert threads["fit"] and loop_thread not in threads["fit"]
    assert "input_image" not in panel.field_errors  # the form's check found the fit made


def test_the_snippet_does_not_read_an_input_again_while_it_is_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "photo.png"
    path.write_bytes(photo(1200, 900))
    panel = fluxpanel.FluxPanel(provider="preview", model="flux_kontext_pro", prompt="a")
    panel.input_image = path
    assert str(path) in panel.code  # checked once, here
    reads = []
    real = fluxpanel._files.read_file
    monkeypatch.setattr(
        "fluxpanel._files.read_file", lambda *a, **k: reads.append(a) or real(*a, **k)
    )
    for word in ["a", "a f", "a fo", "a fox", "a fox!"]:  # keystrokes
        panel.prompt = word
    assert str(path) in panel.code
    assert reads == []


# -- 12. input records: https only ---------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/a.png",
        "gopher://example.org/a.png",
        "javascript:alert(1)",
        "http://example.org/a.png",
    ],
)
def test_an_input_record_with_another_scheme_is_refused(url):
    with pytest.raises(ValidationError, match="https") as e:
        GenerationRequest.from_payload(kontext({"url": url}), provider="preview")
    assert e.value.field == "input_image"
    with pytest.raises(ValidationError):
        InputImage.of({"url": url}, "input_image")


# -- 13. a planted input is not "the exact bytes" ---------------------------------------------


def test_a_planted_file_of_the_same_name_and_size_is_not_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = photo()
    image = InputImage.of(data, "input_image")
    folder = tmp_path / INPUTS_FOLDER
    folder.mkdir()
    planted = bytearray(data)
    planted[-20] ^= 0xFF  # same size, other bytes
    (folder / image.filename).write_bytes(bytes(planted))
    request = GenerationRequest(**kontext(image), models=Preview().models)
    code = request.to_code("preview")
    assert image.filename in code
    assert (folder / image.filename).read_bytes() == data  # written again with the real bytes


def test_a_planted_input_in_an_export_is_not_read_back(tmp_path):
    with fluxpanel.FluxClient(provider=Preview()) as client:
        gen = client.generate(**kontext(photo()))
    folder = gen.save(tmp_path / "export").parent
    (planted,) = (folder / "inputs").iterdir()
    data = bytearray(planted.read_bytes())
    data[-20] ^= 0xFF
    planted.write_bytes(bytes(data))
    with pytest.raises(fluxpanel.ImageError, match="does not match its sha256"):
        fluxpanel.load(folder)


# -- 14. phone photos stored as MPO -------------------------------------------------------------


def test_an_mpo_photo_is_read_as_its_first_jpeg():
    first, second = Image.new("RGB", (640, 480), (200, 60, 20)), Image.new("RGB", (640, 480))
    buf = io.BytesIO()
    first.save(buf, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(buf.getvalue())).format == "MPO"
    image = InputImage.of(buf.getvalue(), "input_image")
    assert image.format == "jpeg" and (image.width, image.height) == (640, 480)
    with Image.open(io.BytesIO(image.data)) as read:
        assert read.format == "JPEG" and getattr(read, "n_frames", 1) == 1
        assert read.getpixel((10, 10))[0] > 150  # the first picture, not the second


# -- 15 and 16. exports: whole or nothing, and no author's paths -----------------------------


def test_a_failed_export_leaves_nothing_and_the_retry_works(tmp_path, monkeypatch):
    with fluxpanel.FluxClient(provider=Preview()) as client:
        gen = client.generate(prompt="a fox", seed=2, num_images=2)
    writes = []
    real = fluxpanel._files.write_file

    def full_disk(path, data, **k):
        writes.append(path)
        if len(writes) == 2:
            raise OSError(28, "No space left on device")
        return real(path, data, **k)

    monkeypatch.setattr("fluxpanel._export.write_file", full_disk)
    with pytest.raises(fluxpanel.ExportError, match="No space left on device"):
        gen.save(tmp_path / "export")
    assert sorted(os.listdir(tmp_path)) == []  # no folder, no temporary one
    monkeypatch.setattr("fluxpanel._export.write_file", real)
    gen.save(tmp_path / "export")
    assert fluxpanel.load(tmp_path / "export").request == gen.request


def test_a_file_in_the_way_fails_cleanly(tmp_path):
    with fluxpanel.FluxClient(provider=Preview()) as client:
        gen = client.generate(prompt="a fox", seed=2)
    (tmp_path / "export").write_text("not a folder")
    with pytest.raises(FluxError):
        gen.save(tmp_path / "export")
    assert (tmp_path / "export").read_text() == "not a folder"
    assert sorted(os.listdir(tmp_path)) == ["export"]


def test_an_export_names_its_inputs_by_its_own_copies(tmp_path):
    author = tmp_path / "home" / "alice" / "secret-project"
    author.mkdir(parents=True)
    (author / "client-photo.png").write_bytes(photo())
    with fluxpanel.FluxClient(provider=Preview()) as client:
        gen = client.generate(**kontext(author / "client-photo.png"))
    folder = gen.save(tmp_path / "export").parent
    manifest = (folder / "manifest.json").read_text()
    assert "alice" not in manifest and "secret-project" not in manifest
    code = json.loads(manifest)["code"]
    assert f"input_image='inputs/{gen.request.input_image.filename}'" in code


# -- 19. saving a report again -------------------------------------------------------------------


def test_the_same_result_saved_again_is_left_as_it_is(tmp_path):
    with fluxpanel.FluxClient(provider=Preview()) as client:
        gen = client.generate(prompt="a fox", seed=2)
        other = client.generate(prompt="a fox", seed=3)
    manifest = gen.save(tmp_path / "export")
    stamp = manifest.stat().st_mtime_ns
    assert gen.save(tmp_path / "export") == manifest and manifest.stat().st_mtime_ns == stamp
    with pytest.raises(fluxpanel.ExportExistsError, match="overwrite=True"):
        other.save(tmp_path / "export")
    assert fluxpanel.load(tmp_path / "export").request == gen.request
    other.save(tmp_path / "export", overwrite=True)
    back = fluxpanel.load(tmp_path / "export")
    assert back.request == other.request
    assert sorted(p.name for p in (tmp_path / "export").iterdir()) == sorted(
        ["manifest.json", *(i.default_name() for i in other.images)]
    )


# -- 20. httpx's own mocking tools work as the transport ---------------------------------------


def _fake_api(request: httpx.Request) -> httpx.Response:
    """The API page's service, answered in memory."""
    if request.method == "POST":
        assert request.headers["Authorization"] == "Bearer mock-key"
        return httpx.Response(200, json={"images": ["https://images.example/1.png"], "seed": 5})
    return httpx.Response(200, content=solid_png(8, 8), headers={"Content-Type": "image/png"})


def test_httpx_mock_transport_works():
    provider = FluxAPI(api_key="mock-key", url="https://api.example/v1/generate")
    with fluxpanel.FluxClient(
        provider=provider, transport=httpx.MockTransport(_fake_api), cache=False
    ) as client:
        gen = client.generate(prompt="a fox", seed=5)
    assert gen.images[0].data == solid_png(8, 8)


def test_respx_works():
    with respx.mock(assert_all_called=True) as mock:
        mock.post("https://api.example/v1/generate").mock(side_effect=_fake_api)
        mock.get("https://images.example/1.png").mock(side_effect=_fake_api)
        provider = FluxAPI(api_key="mock-key", url="https://api.example/v1/generate")
        with fluxpanel.FluxClient(provider=provider, cache=False) as client:
            gen = client.generate(prompt="a fox", seed=5)
    assert gen.images[0].data == solid_png(8, 8)


def test_an_upload_is_hashed_as_its_parts_come_in_any_order():
    """The parts are written in place and hashed in order as they come: the
    digest is the file's whether the parts come in order or not, and is not
    known until every byte is."""
    data = os.urandom(3 * 1000 + 17)
    for order in ([0, 1, 2, 3], [2, 0, 3, 1], [3, 2, 1, 0]):
        uploads = Uploads()
        upload = uploads.begin({"upload": "u", "param": "image", "name": "f", "size": len(data)},
                               {"image"})  # fmt: skip
        for n, i in enumerate(order):
            part = data[i * 1000 : (i + 1) * 1000]
            uploads.chunk({"upload": "u", "offset": i * 1000}, [memoryview(part)])
            assert (upload.sha256 is None) == (n < len(order) - 1)
        assert upload.sha256 == hashlib.sha256(data).hexdigest()
        uploads.end({"upload": "u"})
        assert upload.whole and bytes(uploads.take({"upload": "u"}, upload).buffer) == data


def test_an_uploads_parts_are_hashed_off_the_loops_thread(monkeypatch):
    """Hashing a part (7 ms for 8 MiB) is not done on the thread that takes
    the parts: the next part is taken meanwhile; the digest waits for it."""
    seen: list[str] = []
    real = hashlib.sha256

    class Watched:
        def __init__(self) -> None:
            self.inner = real()

        def update(self, data) -> None:
            seen.append(threading.current_thread().name)
            self.inner.update(data)

        def hexdigest(self) -> str:
            return self.inner.hexdigest()

    monkeypatch.setattr("fluxpanel._uploads.hashlib.sha256", Watched)
    data = os.urandom(3 * 4096)
    uploads = Uploads()
    upload = uploads.begin({"upload": "u", "param": "image", "name": "f", "size": len(data)},
                           {"image"})  # fmt: skip
    for i in range(3):
        uploads.chunk(
            {"upload": "u", "offset": i * 4096}, [memoryview(data[i * 4096 : (i + 1) * 4096])]
        )
    assert upload.sha256 == real(data).hexdigest()
    assert len(seen) == 3 and threading.current_thread().name not in seen
    assert all(name.startswith("fluxpanel-hash") for name in seen), seen
