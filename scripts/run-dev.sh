#!/usr/bin/env bash
# Serve the app on embedded defaults: SQLite in var/, a Celery worker with an
# embedded beat on kombu's filesystem broker (no server), the demo study loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
host=${1:-127.0.0.1}
port=${2:-8000}
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-outcomes.settings.base}
export DEBUG=${DEBUG:-true}
export SITE_URL=${SITE_URL:-http://$host:$port}
py=.venv/bin/python
mkdir -p var/celery-broker/processed var/celery-broker/control var/staticfiles
$py manage.py migrate --noinput
$py manage.py load_demo
# One reminder run now (emails print to the console); beat repeats it every 15 minutes.
$py manage.py send_reminders >var/first-reminder-run.log 2>&1 || true
.venv/bin/celery -A outcomes worker --beat --loglevel INFO --concurrency 1 \
  --schedule var/celerybeat-schedule >var/celery.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
echo
echo "Outcomes is running at $SITE_URL/  (Celery worker and beat log: var/celery.log)"
echo "Press Ctrl-C to stop."
$py manage.py runserver --noreload "$host:$port"
