# gridshare — two commands do everything on a fresh machine:
#   make demo   run the main job on the embedded default chain
#   make test   install everything needed, then run the whole suite
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        := .venv
PY          := $(VENV)/bin/python
PIP         := $(PY) -m pip
PYTHON_SYS  ?= python3
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# three workers on two cores: the Anvil --block-time 1 group mostly waits for blocks
PYTEST_ARGS ?= -n 3 --dist loadgroup
HYPOTHESIS_PROFILE ?= ci

.PHONY: help install demo test lint bench clean

help:
	@echo "make demo    run gridshare's demo (installs first)"
	@echo "make test    install everything, then run unit, integration, firmware and browser tests"
	@echo "make lint    ruff on src, tests, bench; mypy --strict on src"
	@echo "make bench   run the benchmarks in bench/ and record them in bench/results/"

# ---- set-up (idempotent: each step re-runs only when its inputs change) ----

install: $(VENV)/.installed node_modules/.installed chromium

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON_SYS) -m venv $(VENV)
	$(PIP) install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium (browser tests)"; \
	  $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q chromium; }

# ---- jobs ----

demo: install
	$(VENV)/bin/gridshare demo

test: install
	HYPOTHESIS_PROFILE=$(HYPOTHESIS_PROFILE) $(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: install
	@for script in bench/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(VENV) node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis
