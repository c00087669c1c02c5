"""Production settings plus the yardstick URL: what ``bench/load_bench.py`` serves.

Everything comes from ``outcomes.settings.production`` (DEBUG off, PostgreSQL with
persistent connections, Redis, manifest static files, HSTS, secure cookies); only the
URL configuration differs, by one bench-only route.
"""

from __future__ import annotations

from outcomes.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.loadstack.urls"
# The stack empties its database with Django's flush (TRUNCATE), which the never-deleted
# tables refuse unless the session allows it (audit migration 0003): a bench database only.
DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c outcomes.allow_truncate=on"  # noqa: F405
