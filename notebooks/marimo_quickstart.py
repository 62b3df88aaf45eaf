import marimo

__generated_with = "0.25.2"
app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    import fluxpanel

    return fluxpanel, mo


@app.cell
def _(mo):
    mo.md(
        """
        # FLUX in marimo

        The panel is an anywidget, wrapped as marimo documents it
        (`mo.ui.anywidget`). Without a key the offline preview provider draws
        placeholders; set `BFL_API_KEY`, `REPLICATE_API_TOKEN`, `FAL_KEY` or
        `FLUX_API_KEY` and `FLUX_API_URL` before starting marimo for real images.
        """
    )
    return


@app.cell
def _(fluxpanel, mo):
    panel = mo.ui.anywidget(fluxpanel.FluxPanel(prompt="a red fox in fresh snow", seed=42))
    panel
    return (panel,)


@app.cell
def _(mo, panel):
    # This cell reads the panel's value, so marimo runs it again whenever a
    # generation finishes: the result is ordinary Python data here.
    generations = panel.value.get("history_current", -1)
    result = panel.widget.result
    mo.md(
        f"**{max(generations, 0)} generation(s).** "
        + (
            f"The last made {len(result.images)} image(s) with seed {result.seed}."
            if result is not None
            else "Press Generate."
        )
    )
    return


if __name__ == "__main__":
    app.run()
