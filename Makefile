# Two commands set everything up: `make demo` and `make test`.
# The CPU build of PyTorch is installed first so that pip does not pull CUDA packages; set
# TORCH_SPEC (and PIP_EXTRA for an index) to install another build.

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PIP_EXTRA ?=
BIN := $(VENV)/bin

.PHONY: demo test setup setup-test browser clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.stamp-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q $(PIP_EXTRA) "$(TORCH_SPEC)"
	$(BIN)/pip install -q $(PIP_EXTRA) -e .
	touch $@

$(VENV)/.stamp-test: $(VENV)/.stamp-base
	$(BIN)/pip install -q $(PIP_EXTRA) -e ".[test]"
	touch $@

setup: $(VENV)/.stamp-base

setup-test: $(VENV)/.stamp-test browser

# Browser tests drive Debian's Chromium; install it when we can (root with apt), never a bundled browser.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not found: browser tests will be skipped (apt-get install chromium)"; fi

demo: setup
	$(BIN)/ganforge train --preset digits --out runs/demo --overwrite

test: setup-test
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV) runs .pytest_cache
