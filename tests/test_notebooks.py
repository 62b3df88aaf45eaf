"""The notebooks in notebooks/ really run, and their HTML export shows the
results without a kernel."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "notebooks"


def execute(path: Path, tmp_path: Path) -> nbformat.NotebookNode:
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


def test_quickstart_is_reproducible(quickstart, tmp_path):
    again = execute(NOTEBOOKS / "quickstart.ipynb", tmp_path)
    assert image_hashes(again) == image_hashes(quickstart) != []
