# `make dev` and `make test` set up everything they need on a fresh Debian machine with Python 3.11+.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTHON ?= python3

.PHONY: dev test check lint typecheck venv chromium bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check uv
	$(VENV)/bin/uv pip install --quiet --python $(PY) -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Debian's Chromium drives the approval-form browser test (Playwright uses it; it downloads no browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

dev: venv
	$(VENV)/bin/duecourse dev $(ARGS)

lint: venv
	$(VENV)/bin/ruff check .

typecheck: venv
	$(VENV)/bin/mypy

# Everything, the end-to-end stacks included; the 25 slowest tests are listed at the end.
test: venv chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -p no:cacheprovider --durations=25 $(PYTEST_ARGS)

# The quick loop: lint, types and every test but the end-to-end stacks (marked e2e). CI runs `make test`.
check: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest -q -p no:cacheprovider -m "not e2e" --durations=10 $(PYTEST_ARGS)

bench: venv
	$(VENV)/bin/duecourse bench match

clean:
	rm -rf $(VENV) .duecourse .mypy_cache .ruff_cache
