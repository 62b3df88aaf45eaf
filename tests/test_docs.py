"""The documentation site builds in strict mode (a broken link or reference
fails), from the README's sections and the tables, with the notebooks
rendered with their outputs; and every public name has a docstring."""

from __future__ import annotations

import inspect
import os
import shutil
import subprocess
import sys
from pathlib import Path

import fluxpanel
from fluxpanel.testing import artifacts_dir

ROOT = Path(__file__).resolve().parent.parent
_NOT_SOURCES = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "static")


def test_every_public_name_and_member_has_a_docstring():
    missing = []
    for name in fluxpanel.__all__:
        obj = getattr(fluxpanel, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not inspect.getdoc(obj):
            missing.append(name)
        if inspect.isclass(obj) and not issubclass(obj, BaseException):
            for member, value in vars(obj).items():
                if member.startswith("_") or not (
                    inspect.isfunction(value) or isinstance(value, property)
                ):
                    continue
                if not inspect.getdoc(value):
                    missing.append(f"{name}.{member}")
    assert missing == []


def test_the_site_builds_strictly(tmp_path):
    # Built from a copy: executing the notebooks writes beside them.
    copy = tmp_path / "checkout"
    copy.mkdir()
    for part in ("mkdocs.yml", "README.md", "docs", "notebooks", "src", "benchmarks"):
        source = ROOT / part
        if source.is_dir():
            shutil.copytree(source, copy / part, symlinks=True, ignore=_NOT_SOURCES)
        else:
            shutil.copy2(source, copy / part)
    out = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    providers = (out / "providers" / "index.html").read_text()
    assert "same seed, same image?" in providers and "go_fast" in providers  # the generated table
    assert "Keys" in (out / "security" / "index.html").read_text()
    assert 'class="doc doc-heading"' in (out / "api" / "index.html").read_text()
    quickstart = (out / "notebooks" / "quickstart" / "index.html").read_text()
    assert "data:image" in quickstart  # executed: the outputs are there
    shots = artifacts_dir() / "screenshots"
    if (shots / "test_generate_shows_images_and_a_matching_snippet.png").exists():
        index = (out / "index.html").read_text()
        assert "screenshots/test_generate_shows_images_and_a_matching_snippet.png" in index
