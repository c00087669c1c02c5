#!/usr/bin/env bash
# Run the whole suite. DATABASE_URL selects the database (SQLite by default). The tests in
# tests/e2e run on PostgreSQL only; they need Redis, a Celery worker and Chromium and skip
# themselves with a reason when one is missing (OUTCOMES_REQUIRE_SERVICES=1: they fail).
# pytest-xdist runs the tests in one process per core (TEST_WORKERS=N for N, 0 for none),
# each with its own test database; --dist loadgroup keeps the tests of the real broker and
# Celery workers together in one of them (tests/e2e/conftest.py says why).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/artifacts
exec .venv/bin/pytest -n "${TEST_WORKERS:-auto}" --dist loadgroup "$@"
