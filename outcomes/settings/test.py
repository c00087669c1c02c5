"""Test settings: the base settings, with eager Celery and a fast password hasher.

``DATABASE_URL`` still selects the database, so the same suite runs on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="memory://")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default="")
SITE_URL = "http://testserver"
SMS_BACKEND = "outcomes.followups.channels.console.LocmemSMSBackend"
STATIC_ROOT = None  # tests serve static files from the finders, never collected
# ... looked up per request, not listed at start: every test client loads the middleware
# afresh, and WhiteNoise listing every static file each time cost a fifth of the suite.
WHITENOISE_AUTOREFRESH = True
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    # Django empties test databases with TRUNCATE, which the never-deleted tables refuse
    # unless the session allows it (audit migration 0003).
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c outcomes.allow_truncate=on"  # noqa: F405
