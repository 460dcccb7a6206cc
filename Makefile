# hftlab — the two commands a newcomer needs:
#   make demo   set up .venv and run the main job on the embedded default (simulator + Redis + MLflow)
#   make test   set up .venv with the dev extras and run every test
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_ARGS ?=
PYTEST_ARGS ?=

.PHONY: install demo test test-fast bench lab clean distclean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "hftlab needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing hftlab and its dependencies into $(VENV) (first time: a few minutes) ..."
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,bench]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/hftlab demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in cache feed indicators sim inference backtest; do $(BIN)/hftlab bench $$b --json || exit 1; done

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab]"
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf var/test .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV) var
