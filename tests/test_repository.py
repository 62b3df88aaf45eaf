"""The repository stays clean: nothing a test wrote is committed, and a test
run that writes into the checkout fails (see ``pytest_sessionfinish`` in
``tests/conftest.py``)."""

from __future__ import annotations

import subprocess

from .conftest import ROOT, left_behind, tree


def test_the_guard_sees_a_file_a_run_left_in_the_tree(tmp_path):
    (tmp_path / "kept.txt").write_text("here before")
    before = tree(tmp_path)
    (tmp_path / "fluxpanel-inputs").mkdir()
    (tmp_path / "fluxpanel-inputs" / "0123.png").write_bytes(b"x" * 10)
    (tmp_path / "kept.txt").write_text("changed size")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "m.pyc").write_bytes(b"")  # Python's own, not a test's
    assert left_behind(before, tree(tmp_path)) == ["fluxpanel-inputs/0123.png", "kept.txt"]


def test_nothing_a_test_writes_is_committed():
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    leftovers = [p for p in listed if p.startswith(("fluxpanel-inputs/", "test-artifacts/"))]
    assert leftovers == []
    big = [p for p in listed if (ROOT / p).is_file() and (ROOT / p).stat().st_size > 1_000_000]
    assert big == []
