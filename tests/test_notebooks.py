"""The notebooks in notebooks/ really run, and their HTML export shows the
results without a kernel."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from fluxpanel.testing import artifacts_dir

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ARTIFACTS = artifacts_dir() / "notebooks"


def execute(path: Path, tmp_path: Path) -> nbformat.NotebookNode:
    """Run a notebook in a fresh kernel with ``tmp_path`` as its working folder."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    return nb


def outputs(nb, kind):
    return [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == kind
    ]


def image_hashes(nb):
    found = []
    for o in outputs(nb, "display_data") + outputs(nb, "execute_result"):
        for mime, data in o.get("data", {}).items():
            text = "".join(data) if isinstance(data, list) else data
            if mime.startswith("image/"):
                found.append(hashlib.sha256(text.encode()).hexdigest())
            elif mime == "text/html":
                found += [
                    hashlib.sha256(m.encode()).hexdigest()
                    for m in re.findall(r"data:image/[^\"']+", text)
                ]
    return found


@pytest.fixture(scope="module")
def quickstart(tmp_path_factory):
    return execute(NOTEBOOKS / "quickstart.ipynb", tmp_path_factory.mktemp("run"))


def test_quickstart_runs_without_errors(quickstart):
    assert outputs(quickstart, "error") == []
    views = [
        o
        for o in outputs(quickstart, "display_data")
        if "application/vnd.jupyter.widget-view+json" in o["data"]
    ]
    assert len(views) == 1  # the panel
    text = "\n".join("".join(o.get("text", "")) for o in outputs(quickstart, "stream"))
    assert "client.generate(" in text and "seed=42," in text  # printed result_code
    assert "steps=20 is not allowed for flux_schnell" in text


def test_quickstart_html_shows_images_and_code_without_a_kernel(quickstart):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    html, _ = HTMLExporter().from_notebook_node(copy.deepcopy(quickstart))
    (ARTIFACTS / "quickstart.html").write_text(html)
    assert "model not found" not in html
    # The panel's static copy (WebP preview) and the Generation's own display.
    assert "data:image/webp;base64," in html
    assert "data:image/png;base64," in html
    assert "Reproduce it with" in html and "seed=42" in html


def test_the_quickstart_holds_after_playing_with_the_panel(tmp_path):
    """Its cells set what they depend on: a user who changed the model, the
    prompt and the seed in the panel still gets the same image from code,
    and the notebook explains instead of failing an assert."""
    nb = nbformat.read(NOTEBOOKS / "quickstart.ipynb", as_version=4)
    played = 'panel.model = "flux_3_image"; panel.prompt = "something else entirely"'
    nb.cells.insert(3, nbformat.v4.new_code_cell(played))
    (tmp_path / "played.ipynb").write_text(nbformat.writes(nb))
    ran = execute(tmp_path / "played.ipynb", tmp_path / "run")
    assert outputs(ran, "error") == []
    text = "\n".join("".join(o.get("text", "")) for o in outputs(ran, "stream"))
    assert "The same image: the panel and the client made it" in text


def test_quickstart_is_reproducible(quickstart, tmp_path):
    again = execute(NOTEBOOKS / "quickstart.ipynb", tmp_path)
    assert image_hashes(again) == image_hashes(quickstart) != []


@pytest.mark.parametrize(
    "name", ["teaching.ipynb", "report.ipynb", "editing.ipynb", "layout.ipynb"]
)
def test_notebook_runs_twice_identically_and_exports(name, tmp_path, monkeypatch):
    monkeypatch.setenv("FLUXPANEL_CACHE_DIR", str(tmp_path / "cache-a"))
    first = execute(NOTEBOOKS / name, tmp_path / "a")
    assert outputs(first, "error") == []
    # "Run all" again in the same folder (its exports already there), cache clean.
    monkeypatch.setenv("FLUXPANEL_CACHE_DIR", str(tmp_path / "cache-b"))
    again = execute(NOTEBOOKS / name, tmp_path / "a")
    assert outputs(again, "error") == []
    assert image_hashes(again) == image_hashes(first) != []
    html, _ = HTMLExporter().from_notebook_node(copy.deepcopy(first))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name.replace(".ipynb", ".html")).write_text(html)
    assert "data:image/" in html and "model not found" not in html
    assert "seed=" in html or "seed " in html


def test_layout_moves_one_box_and_edits_region_by_region(tmp_path):
    nb = execute(NOTEBOOKS / "layout.ipynb", tmp_path)
    assert outputs(nb, "error") == []
    text = "\n".join("".join(o.get("text", "")) for o in outputs(nb, "stream"))
    # The prompt as sent: the description, then the rows as the host reads them.
    sent = next(line for line in text.splitlines() if line.startswith("A 1950s travel poster"))
    rows = json.loads(sent[sent.index(" [{") + 1 :])
    assert [r["id"] for r in rows] == ["title_1", "rocket_1", "moon_1"]
    assert rows[1]["bbox"] == [280, 330, 860, 670]
    # Four tiers, four prices, sizes growing with the tier.
    prices = re.findall(r"^(768sq|1k|2k|4k) ([0-9.]+) ", text, re.M)
    assert [p for _, p in prices] == ["0.041", "0.048", "0.1", "0.607"]
    assert len(set(image_hashes(nb))) >= 3  # the poster, the moved one, the edited photo
    # FLUX 3.1: the move sent as a field of fractions from image 1, priced by mode.
    assert "'from': 'ref_image_0', 'src_bbox': [0.45, 0.12, 0.85, 0.42]" in text
    kept = re.search(r"^kept (\(\d+, \d+\)) of (\(\d+, \d+\))$", text, re.M)
    assert kept and kept[1] == kept[2]  # the masked edit keeps image 1's very size
    assert re.search(r"^fast 0\.015$", text, re.M) and re.search(r"^quality 0\.03$", text, re.M)


def test_report_rerun_costs_nothing(tmp_path, monkeypatch):
    """The report against a real (loopback) API: the second run from the top
    makes no HTTP call and gives byte-identical images."""
    from fluxpanel.testing import ReferenceServer

    with ReferenceServer() as server:
        for k, v in server.env().items():
            monkeypatch.setenv(k, v)
        monkeypatch.setenv("FLUXPANEL_CACHE_DIR", str(tmp_path / "cache"))
        first = execute(NOTEBOOKS / "report.ipynb", tmp_path / "a")
        assert outputs(first, "error") == []
        assert len(server.posts) == 3 + 24  # the three requests, and the batch of 24
        sent = len(server.requests)
        again = execute(NOTEBOOKS / "report.ipynb", tmp_path / "a")  # "Run all" again
        assert outputs(again, "error") == []
        # Another result over an export is refused, with the way on.
        printed = "".join("".join(o.get("text", "")) for o in outputs(again, "stream"))
        assert "never overwrites an export unasked: pass overwrite=True" in printed
        assert "24 items (24 done)" in printed  # the batch, read from its folder
        assert len(server.requests) == sent  # the second run sent nothing at all
        assert image_hashes(again) == image_hashes(first) != []
        text = json.dumps(first)
        assert server.api_key not in text


def test_editing_names_its_inputs_by_files(tmp_path):
    nb = execute(NOTEBOOKS / "editing.ipynb", tmp_path)
    assert outputs(nb, "error") == []
    text = "\n".join("".join(o.get("text", "")) for o in outputs(nb, "stream"))
    named = re.findall(r"input_image='(fluxpanel-inputs/[0-9a-f]{16}\.png)'", text)
    assert named and (tmp_path / named[0]).is_file()
    # The saved notebook holds thumbnails, never the inputs' bytes.
    source = (tmp_path / named[0]).read_bytes()
    import base64

    assert base64.b64encode(source[:2000]).decode() not in json.dumps(nb)

    def results(marker: str) -> list[str]:
        """What the cells naming ``marker`` evaluated to, as text."""
        return [
            o["data"]["text/plain"]
            for c in nb["cells"]
            if marker in "".join(c["source"])
            for o in c.get("outputs", [])
            if o.get("output_type") == "execute_result"
        ]

    # Each edit is shown beside its input (and mask), with the sizes: Expand
    # grows the 1024 x 768 image by 256 px on each side; Outpainting puts it
    # on a 2048 x 1024 canvas.
    def row(marker: str) -> str:
        cell = next(c for c in nb["cells"] if marker in "".join(c["source"]))
        (shown,) = [
            o["data"]["text/html"] for o in cell["outputs"] if "text/html" in o.get("data", {})
        ]
        return shown

    expand, outpaint, fill = (
        row('model="flux_expand_pro"'),
        row('model="flux_outpaint"'),
        row('model="flux_fill_pro"'),
    )
    assert "1024 x 768" in expand and "1536 x 768" in expand
    assert "2048 x 1024" in outpaint
    assert fill.count("<img") == 3 and "mask (white is repainted)" in fill
    # Erase takes the balloon back out: the result is the image's size, and
    # its cell sends no prompt.
    erase = next(c for c in nb["cells"] if 'model="flux_erase"' in "".join(c["source"]))
    assert "prompt" not in "".join(erase["source"])
    assert any(
        "image/png" in o.get("data", {}) or "text/html" in o.get("data", {})
        for o in erase["outputs"]
    )
    # Kontext with more images shows its result.
    more = next(c for c in nb["cells"] if "more_images=" in "".join(c["source"]))
    assert any(
        "image/png" in o.get("data", {}) or "text/html" in o.get("data", {})
        for o in more["outputs"]
    )
