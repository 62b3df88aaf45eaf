# The README's commands. Each sets itself up first (scripts/setup.sh).
.PHONY: lab test test-fast lint setup reliability bench docs

PY := .venv/bin/python

setup:
	@bash scripts/setup.sh

## Open the quickstart notebook in JupyterLab (preview provider without a key).
lab: setup
	$(PY) -m jupyter lab notebooks/quickstart.ipynb $(if $(filter 0,$(shell id -u)),--allow-root)

## Run every test: unit, notebooks and real-browser tests.
test:
	@bash scripts/setup.sh --browser
	$(PY) -m pytest

## Everything but the browser tests.
test-fast: setup
	$(PY) -m pytest -m "not browser"

lint: setup
	$(PY) -m ruff check src tests

## The fault, load and hostile-input table (see docs/site/reliability.md).
reliability: setup
	$(PY) -m benchmarks.reliability

## Benchmarks against same-run baselines (see benchmarks/README.md).
bench:
	@bash scripts/setup.sh --browser
	$(PY) -m benchmarks.run

## The documentation site, built in strict mode into site/ (screenshots from the last make test).
docs: setup
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict
