"""Shared set-up of the PostgreSQL benchmarks: Django configured on an emptied database."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_django_on_postgres() -> None:
    """Configure Django (test settings) on ``DATABASE_URL``, which must be PostgreSQL."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "outcomes.settings.test")
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("set DATABASE_URL to a PostgreSQL database (it will be emptied)")
    import django

    django.setup()


def fresh_database() -> None:
    """Migrate, then empty every table."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
