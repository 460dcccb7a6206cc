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

# System tools the tests drive: a real Prometheus server and promtool (Debian package `prometheus`) and
# tmux (`hftlab status` is tested in a tmux pane). Installed with apt-get when missing (root, or sudo).
SYSTEM_TOOLS := prometheus promtool tmux
SYSTEM_PACKAGES := prometheus tmux

.PHONY: install tools demo test test-fast bench lab clean distclean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "hftlab needs Python 3.11 (set PYTHON=/path/to/python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing hftlab and its dependencies into $(VENV) (first time: a few minutes) ..."
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev,bench]"
	@touch $(STAMP)

install: $(STAMP) tools

tools:
	@missing=$$(for t in $(SYSTEM_TOOLS); do command -v $$t >/dev/null || echo $$t; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then sudo=""; \
	  elif command -v sudo >/dev/null; then sudo=sudo; \
	  else echo "make: the tests need $$(echo $$missing) (Debian packages: $(SYSTEM_PACKAGES)); install them as root: apt-get install $(SYSTEM_PACKAGES)" >&2; exit 1; fi; \
	  echo "installing $(SYSTEM_PACKAGES) (missing: $$(echo $$missing)) ..."; \
	  $$sudo apt-get update -qq && $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null \
	    || { echo "make: apt-get could not install $(SYSTEM_PACKAGES)" >&2; exit 1; }; \
	fi

demo: $(STAMP)
	$(BIN)/hftlab demo $(DEMO_ARGS)

test: $(STAMP) tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: $(STAMP) tools
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in cache feed indicators sim inference backtest monitor; do $(BIN)/hftlab bench $$b --json || exit 1; done

lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[lab]"
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf var/test .pytest_cache .hypothesis

distclean: clean
	rm -rf $(VENV) var
