# msoko — the two commands a newcomer needs: `make report` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
MSOKO  := $(VENV)/bin/msoko
STAMP  := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
JOBS   ?=

.PHONY: report test test-fast lab install install-dev demo clean-reports bench-run bench-region

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

$(DEVSTAMP): pyproject.toml $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

install: $(STAMP)
install-dev: $(DEVSTAMP)

## Build every report from the built-in demo municipality (demo data is generated if data/raw is empty).
report: $(STAMP)
	@if [ -z "$$(ls -A data/raw | grep -v '^.gitkeep$$')" ]; then $(MSOKO) demo --out data/raw; fi
	$(MSOKO) run --raw data/raw --processed data/processed --reports reports $(if $(JOBS),--jobs $(JOBS),)

## Run the whole test suite.
test: $(DEVSTAMP)
	$(PY) -m pytest

## The fast subset: unit tests on small fixed data (no whole demo, real data or full runs).
test-fast: $(DEVSTAMP)
	$(PY) -m pytest -m "not slow"

## Open JupyterLab on the notebooks with this environment's kernel.
lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root,)

demo: $(STAMP)
	$(MSOKO) demo --out data/raw

clean-reports:
	rm -rf reports/* && touch reports/.gitkeep

## Time `msoko run` against the naive papermill + nbconvert loop on the demo municipality.
bench-run: $(STAMP)
	$(PY) benchmarks/run.py $(if $(JOBS),--jobs $(JOBS),)

## A region-sized run (600 schools in 60 municipalities; SCHOOLS=60 MUNIS=6 for a small one), side by side
## with another git revision (BEFORE=main), and its Dask scaling (benchmarks/region.py).
bench-region: $(STAMP)
	$(PY) benchmarks/region.py $(if $(SCHOOLS),--schools $(SCHOOLS),) $(if $(MUNIS),--municipalities $(MUNIS),) \
		$(if $(BEFORE),--before $(BEFORE),)
