"""The pip path: a wheel and an sdist built with ``python -m build``; the
wheel, installed in a fresh virtual environment with no Node on its PATH,
gives a working panel in JupyterLab (that environment is the kernel)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect

from .conftest import ROOT, Lab


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    # The sdist first, then the wheel from it (as pip does from PyPI).
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        timeout=600,
        capture_output=True,
    )
    return next(out.glob("*.whl")), next(out.glob("*.tar.gz"))


def test_the_wheel_and_sdist_carry_the_front_end_and_metadata(dist):
    wheel, sdist = dist
    names = zipfile.ZipFile(wheel).namelist()
    assert {
        "fluxpanel/static/widget.js",
        "fluxpanel/static/widget.css",
        "fluxpanel/py.typed",
    } <= set(names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    for line in (
        "Classifier: Framework :: Jupyter :: JupyterLab",
        "License-Expression: MIT",
        "Keywords:",
        "Requires-Python: >=3.11",
    ):
        assert line in meta, line
    with tarfile.open(sdist) as tar:
        members = tar.getnames()
    assert any(m.endswith("js/widget.js") for m in members)  # the sources, to build from
    assert not any("node_modules" in m or "/.venv/" in m for m in members)


def test_pip_install_without_node_gives_a_working_panel(dist, jupyter, page, tmp_path):
    wheel, _ = dist
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    path = str(venv / "bin")  # nothing else: no node, no npm
    assert shutil.which("npm", path=path) is None and shutil.which("node", path=path) is None
    env = {"PATH": path, "HOME": str(tmp_path), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for key in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CONFIG_FILE"):
        if key in os.environ:
            env[key] = os.environ[key]
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel), "ipykernel"],
        check=True,
        env=env,
        timeout=600,
    )
    # That environment as a kernel of the test's JupyterLab.
    name = f"fluxpanel-wheel-{secrets.token_hex(3)}"
    spec_dir = Path(sys.prefix) / "share" / "jupyter" / "kernels" / name
    spec_dir.mkdir(parents=True)
    try:
        (spec_dir / "kernel.json").write_text(
            json.dumps(
                {
                    "argv": [
                        str(venv / "bin" / "python"),
                        "-m",
                        "ipykernel_launcher",
                        "-f",
                        "{connection_file}",
                    ],
                    "display_name": "fluxpanel from the wheel",
                    "language": "python",
                }
            )
        )
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell(
                "import fluxpanel, sys\nprint(fluxpanel.__file__)\n"
                "panel = fluxpanel.FluxPanel(provider='preview', prompt='a fox', seed=1)\npanel"
            )
        ]
        nb.metadata["kernelspec"] = {"name": name, "display_name": "wheel", "language": "python"}
        file = f"{name}.ipynb"
        nbformat.write(nb, jupyter.root / file)
        lab = Lab(jupyter, page, file)
        lab.run_cell(0)
        expect(lab.panel).to_be_visible(timeout=60_000)
        expect(lab.cell(0).locator(".jp-OutputArea-output").first).to_contain_text(str(venv))
        lab.panel.locator('[data-action="generate"]').click()
        tile = lab.panel.locator("figure.fluxpanel-tile")
        expect(tile).to_have_count(1)
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=tile.locator("img").element_handle()
        )
        lab.close()
    finally:
        shutil.rmtree(spec_dir, ignore_errors=True)
