#!/usr/bin/env bash
# Run the whole suite. DATABASE_URL selects the database (SQLite by default). The tests in
# tests/e2e run on PostgreSQL only; they need Redis, a Celery worker and Chromium and skip
# themselves with a reason when one is missing (OUTCOMES_REQUIRE_SERVICES=1: they fail).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/artifacts
exec .venv/bin/pytest "$@"
