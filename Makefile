# The two commands of README: `make run` and `make test`. Everything else serves them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-postgres lint check bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip uv

install: $(BIN)/python
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -e '.[dev]'

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
	rm -rf $(VENV) var tests/artifacts
