"""Size budgets from the benchmarks, which are exact (not timed) and so are
tests: images reach the browser as binary buffers of display-size previews,
saved notebooks stay small, and the bundle stays under 68 KB."""

from __future__ import annotations

from pathlib import Path

from benchmarks.run import bundle_size, bytes_per_image, notebook_growth


def test_bytes_sent_per_displayed_image_are_the_image_bytes():
    figure = bytes_per_image()
    assert figure.ratio <= 1.02, figure


def test_saved_notebook_grows_by_a_fraction_of_the_original():
    figure = notebook_growth()
    assert figure.ratio <= 0.15, figure


def test_front_end_bundle_under_68_kb():
    assert (Path(__file__).parent.parent / "src/fluxpanel/static/widget.js").exists()
    figure = bundle_size()
    assert figure.ours < 68_000, figure


def test_the_front_end_assumes_no_one_notebook_application():
    """The bundle runs wherever anywidget does (JupyterLab, Notebook 7,
    nbclassic, Voila, marimo, VS Code, Colab): it names no host application's
    globals; the one JupyterLab class in the stylesheet only tidies an
    output's spacing there, and the static copy is hidden by its own token."""
    static = Path(__file__).parent.parent / "src/fluxpanel/static"
    script = (static / "widget.js").read_text()
    for name in (
        "jupyterapp",
        "window.jupyter",
        "Jupyter.",
        "@jupyterlab",
        "google.colab",
        "acquireVsCodeApi",
    ):
        assert name not in script, name
    assert "data-fluxpanel-static" in script
