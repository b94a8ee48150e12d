# Two commands matter: `make run` and `make test`. Both build .venv from pyproject.toml first.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8080
WORKERS ?= $(shell nproc 2>/dev/null || echo 2)
DEMO_PORT ?= 8091
DEMO_FHIR_PORT ?= 8090

.PHONY: run test bench soak cards-report clean demo knowledge

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or PYTHON=python3)"; exit 1; }
	@echo "==> creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "==> installing kmt2a-cds and its dependencies into $(VENV) (the first time takes 1-3 minutes)"
	$(BIN)/pip install --disable-pip-version-check -e '.[test]'
	@touch $@

run: $(VENV)/.installed
	@echo "==> starting kmt2a-cds on http://127.0.0.1:$(PORT); it prints 'kmt2a-cds ready' when it answers"
	PORT=$(PORT) WEB_CONCURRENCY=$(WORKERS) $(BIN)/gunicorn -c gunicorn.conf.py 'cds_service.web.app:create_app()'

test: $(VENV)/.installed
	$(BIN)/python -m pytest

# The CDS service and a loopback FHIR R4 server with the demo patients (demo/); prints what to try.
demo: $(VENV)/.installed
	$(BIN)/python -m cds_service.devtools.demo --port $(DEMO_PORT) --fhir-port $(DEMO_FHIR_PORT)

# wrk drives the throughput rounds when it can be installed; otherwise bench/run.py uses its Python client.
bench: $(VENV)/.installed
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    apt-get install -y -qq wrk >/dev/null 2>&1; } || echo "wrk not installed: using the Python load generator"
	$(BIN)/python bench/run.py; missed=$$?; $(BIN)/python bench/cohort.py && exit $$missed

# Minutes of fuzzed and mixed load with worker kills (not in CI): bench/soak.py
soak: $(VENV)/.installed
	$(BIN)/python bench/soak.py

# What clinicians see: cards per response, words per card and response, warnings, artefacts, over every fixture
cards-report: $(VENV)/.installed
	$(BIN)/python -m tests.support.card_budget

# After editing cds_service/knowledge or fhir_mappings/terminology: the fact table and the dated knowledge version.
knowledge: $(VENV)/.installed
	$(BIN)/python -m cds_service.knowledge.build

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .hypothesis
