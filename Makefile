# Helio: `make up` starts everything on embedded defaults; `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install install-nlp up down status test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Helio needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first and pinned, so pip takes the CPU build instead of resolving a CUDA one.
	$(BIN)/pip install --quiet 'torch==2.13.0'
	$(BIN)/pip install --quiet -e '.[dev,nlp]'
	@touch $@

install: $(STAMP)

# Kept for compatibility: the NLP extra is part of `make install` now.
install-nlp: $(STAMP)

up: $(STAMP)
	$(BIN)/helio up --detach

down: $(STAMP)
	$(BIN)/helio down

status: $(STAMP)
	$(BIN)/helio status

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check cluster deployments actors pipelines tests benchmarks
	$(BIN)/mypy cluster deployments actors pipelines

bench: $(STAMP)
	$(BIN)/python benchmarks/http_ingress.py
	$(BIN)/python benchmarks/actors.py
	$(BIN)/python benchmarks/analytics.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
