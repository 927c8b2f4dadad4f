# Helio: `make up` starts everything on embedded defaults; `make test` runs the test suite.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install install-nlp frontend frontend-deps frontend-build codegen lock audit up down status \
	test test-quick test-python test-frontend test-frontend-unit test-browser lint bench clean

HAVE_NODE := $(shell command -v npm >/dev/null 2>&1 && echo yes)
CHROMIUM ?= /usr/lib/chromium/chromium
FRONTEND_STAMP := frontend/node_modules/.installed

# Installs exactly the locked set (every file checked against its hash), then Helio
# itself without resolving anything else. `make lock` refreshes requirements.lock.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Helio needs Python 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

install: $(STAMP)

# Kept for compatibility: the NLP extra is part of `make install` now.
install-nlp: $(STAMP)

$(FRONTEND_STAMP): frontend/package-lock.json
	cd frontend && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $@

# The dashboard, built into frontend/dist (served by the ingress at /).
frontend: $(FRONTEND_STAMP)
	cd frontend && npm run build

# Refresh both lock files: Python (pip-tools, hashes included; torch resolves to the
# CPU build the machines carry) and the dashboard's package-lock.json.
lock: $(STAMP)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --extra dev --extra nlp \
		--strip-extras --no-emit-index-url --no-emit-find-links --output-file requirements.lock \
		pyproject.toml
	cd frontend && npm install --package-lock-only --no-audit --no-fund

# Dependency advisories: pip-audit over requirements.lock, npm audit --omit=dev over the
# dashboard; fails on unreviewed advisories with a fix (.ci/audit-allowlist.toml).
audit: $(STAMP)
	$(BIN)/pip install --quiet pip-audit
	$(BIN)/python .ci/audit.py

# Regenerate the dashboard's API client from the API's OpenAPI document.
codegen: $(STAMP) $(FRONTEND_STAMP)
	$(BIN)/helio openapi --out frontend/openapi.json
	cd frontend && npm run codegen

up: $(STAMP)
ifeq ($(HAVE_NODE),yes)
	$(MAKE) frontend
else
	@echo "Node.js not found: the dashboard is not built; the API runs without it"
endif
	$(BIN)/helio up --detach

down: $(STAMP)
	$(BIN)/helio down

status: $(STAMP)
	$(BIN)/helio status

# The full suite (what CI runs, one phase at a time: .ci/run).
test: test-python test-frontend

# With HELIO_CI_REPORTS set (CI), every suite also writes its report there for the summary.
REPORTS := $(HELIO_CI_REPORTS)

# The quick tier for work in progress: pure logic and the API contract (in-process ASGI,
# SQLite and, when configured, PostgreSQL/Redis); nothing that starts Ray, Helio or a browser.
test-quick: $(STAMP)
	$(BIN)/pytest -q -m "not cluster" -n auto --dist loadgroup

test-python: $(STAMP)
	$(BIN)/pytest $(if $(REPORTS),--junitxml=$(REPORTS)/pytest.xml --durations=15)

# Frontend: generated client up to date, types, unit tests (Vitest), a production build,
# then the browser suite (Playwright in the machine's chromium against a real `helio up`).
test-frontend: test-frontend-unit frontend-build test-browser

frontend-deps:
ifeq ($(HAVE_NODE),yes)
	$(MAKE) $(FRONTEND_STAMP)
endif

test-frontend-unit:
ifeq ($(HAVE_NODE),yes)
	$(MAKE) $(FRONTEND_STAMP)
	cd frontend && npm run codegen:check && npm run typecheck && npm test -- \
		$(if $(REPORTS),--reporter=default --reporter=junit --outputFile.junit=$(REPORTS)/vitest.xml)
else
	@if [ "$$HELIO_TEST_REQUIRE_BROWSER" = "1" ]; then \
		echo "Node.js is required for the frontend tests" >&2; exit 1; fi
	@echo "SKIPPED the frontend tests: Node.js not found"
endif

frontend-build:
ifeq ($(HAVE_NODE),yes)
	$(MAKE) $(FRONTEND_STAMP)
	cd frontend && npm run build
endif

test-browser:
ifeq ($(HAVE_NODE),yes)
	@if [ -x "$(CHROMIUM)" ]; then \
		cd frontend && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 HELIO_BIN=$(abspath $(BIN))/helio \
			HELIO_CHROMIUM=$(CHROMIUM) npm run e2e; \
	elif [ "$$HELIO_TEST_REQUIRE_BROWSER" = "1" ]; then \
		echo "chromium is required (HELIO_TEST_REQUIRE_BROWSER=1): apt-get install -y chromium" >&2; exit 1; \
	else \
		echo "SKIPPED the browser suite: chromium not found at $(CHROMIUM)"; \
	fi
else
	@if [ "$$HELIO_TEST_REQUIRE_BROWSER" = "1" ]; then \
		echo "Node.js is required for the browser tests" >&2; exit 1; fi
	@echo "SKIPPED the browser suite: Node.js not found"
endif

lint: $(STAMP)
	$(BIN)/ruff check cluster deployments actors pipelines tests benchmarks
	$(BIN)/mypy cluster deployments actors pipelines

bench: $(STAMP)
	$(BIN)/python benchmarks/http_ingress.py
	$(BIN)/python benchmarks/actors.py
	$(BIN)/python benchmarks/analytics.py
	$(BIN)/python benchmarks/engine.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
