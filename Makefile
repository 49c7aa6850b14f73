# Developer entry points. Needs only a Python 3 interpreter (`PY`); everything else is
# installed into .venv from PyPI by `make install`.

PY ?= python3
VENV ?= .venv
PYTEST_ARGS ?=
BENCH_ARGS ?=

BIN := $(VENV)/bin
PYTHON := $(BIN)/python
STAMP := $(VENV)/.installed

# Separately installable distributions: any exporters/<name>/ or plugins/<name>/ with its
# own pyproject.toml. There may be none.
SUB_PYPROJECTS := $(wildcard exporters/*/pyproject.toml plugins/*/pyproject.toml)
SUB_PROJECTS := $(patsubst %/pyproject.toml,%,$(SUB_PYPROJECTS))

.PHONY: install demo test bench lint servers clean

install: $(STAMP)

$(PYTHON):
	$(PY) -m venv $(VENV)

# The stamp makes re-runs a no-op until a pyproject.toml, setup.py or the C extension's
# source changes (or a pyproject.toml is added); the editable install rebuilds the extension.
# Order-only on the interpreter: its mtime is the base Python's, not the venv's.
$(STAMP): pyproject.toml setup.py fapilog_otel/otlp/_cencode.c $(SUB_PYPROJECTS) | $(PYTHON)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -e '.[dev]'
	@set -e; args=''; \
	for d in $(SUB_PROJECTS); do args="$$args -e ./$$d"; done; \
	if [ -n "$$args" ]; then \
		echo "$(PYTHON) -m pip install --quiet$$args"; \
		$(PYTHON) -m pip install --quiet $$args; \
	fi
	@touch $@

demo: install
	$(PYTHON) examples/quickstart.py
	$(PYTHON) examples/otlp_roundtrip.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Real servers the tests start that do not come from PyPI (Debian's Prometheus).
servers:
	tests/servers/ensure-prometheus

test: lint servers
	$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: install
	$(PYTHON) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name '__pycache__' -type d -prune -exec rm -rf {} +
	find . -name '*.egg-info' -type d -prune -exec rm -rf {} +
	find fapilog_otel -name '*.so' -type f -delete
