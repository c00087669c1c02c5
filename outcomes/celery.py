"""The Celery application: configured from Django settings (``CELERY_*``)."""

from __future__ import annotations

import os

from celery import Celery

# Production by default, as wsgi.py and asgi.py: importing either imports this package,
# and so this module, first. A development default here made ``gunicorn outcomes.wsgi``
# and ``celery -A outcomes worker`` without DJANGO_SETTINGS_MODULE run on the base
# settings (console email, no secure cookies), past every production guard.
# Development (scripts/run-dev.sh, manage.py) names the base settings itself.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outcomes.settings.production")

app = Celery("outcomes")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
