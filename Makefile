# The two commands of README: `make run` and `make test`. Everything else serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
FHIR_VALIDATOR := tests/fhir/node_modules/.package-lock.json

.PHONY: install run test test-postgres lint check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

install: $(BIN)/python
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'
	@if command -v npm >/dev/null 2>&1; then $(MAKE) -s --no-print-directory $(FHIR_VALIDATOR); \
	else echo "npm not found: the FHIR tests skip their second validator (@medplum/core)"; fi

## The FHIR tests' second validator (tests/fhir): pinned in its package-lock.json, installed
## once per change of the lock; the tests run it offline.
$(FHIR_VALIDATOR): tests/fhir/package.json tests/fhir/package-lock.json
	cd tests/fhir && npm ci --no-audit --no-fund --loglevel=error

## Install, migrate, load the demo study and serve it with a Celery worker and beat.
run: install
	bash scripts/run-dev.sh $(HOST) $(PORT)

## Install and run the whole test suite (DATABASE_URL selects the database; SQLite by default).
test: install
	bash scripts/run-tests.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var tests/artifacts tests/fhir/node_modules
