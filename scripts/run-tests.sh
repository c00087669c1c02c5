#!/usr/bin/env bash
# Run the whole suite. DATABASE_URL selects the database (SQLite by default);
# tests marked e2e need Redis, a Celery worker and Chromium and skip themselves
# with a reason when one is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p tests/artifacts
exec .venv/bin/pytest "$@"
