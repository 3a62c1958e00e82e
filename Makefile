# sipas — two commands on a fresh machine:  make report   and   make test
# Everything is installed into .venv from the exact pins in requirements.lock.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.sipas-installed
SURVEY ?= demo-laichau-2024
PREV_SURVEY ?= demo-laichau-2023
PDF    ?= yes

.PHONY: all setup report report-all test test-fast lab synth benchmark lock clean-outputs help

help:
	@echo "make report [SURVEY=<id>]   set up .venv, run the pipeline and render reports/<id>/report.html (PDF=no: skip the PDF)"
	@echo "make test                   set up .venv, run the test suite"
	@echo "make lab                    JupyterLab on notebooks/"
	@echo "make synth                  regenerate the embedded demo surveys under data/raw/"
	@echo "make benchmark              speed ratios against peer libraries; every stage at 2.5k-150k forms (household, national), 0.7k-34k (service user)"

all: report

setup: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q pip==24.3.1
	$(BIN)/python -m pip install --disable-pip-version-check -q -r requirements.lock
	$(BIN)/python -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name sipas --display-name "Python (sipas)" >/dev/null
	@touch $(STAMP)

report: $(STAMP)
	$(BIN)/sipas report --survey $(SURVEY) $(if $(filter no,$(PDF)),--no-pdf,)

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not browser"

lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks

synth: $(STAMP)
	$(BIN)/sipas synth --survey $(SURVEY)

benchmark: $(STAMP)
	$(BIN)/python benchmarks/estimation.py
	$(BIN)/python benchmarks/pipeline.py
	$(BIN)/python benchmarks/national.py
	$(BIN)/python benchmarks/service_user.py

lock: $(STAMP)
	$(BIN)/python -m sipas.envpins write

clean-outputs:
	rm -rf data/processed/$(SURVEY) reports/$(SURVEY)
