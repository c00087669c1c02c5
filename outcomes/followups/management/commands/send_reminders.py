"""``send_reminders [--as-of YYYY-MM-DD] [--dry-run]``: the periodic reminder run, by hand."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from outcomes.followups.reminders import run_reminders


class Command(BaseCommand):
    help = (
        "Open and close visit windows and send the invitations and reminders due now (or at "
        "noon on --as-of), exactly as the periodic task does. --dry-run lists what would be "
        "sent and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", help="Run as of noon on this day (YYYY-MM-DD).")
        parser.add_argument("--dry-run", action="store_true", help="List; change nothing.")

    def handle(self, *args, as_of: str | None, dry_run: bool, **options):
        now = None
        if as_of:
            try:
                day = dt.date.fromisoformat(as_of)
            except ValueError:
                raise CommandError(f"--as-of: expected YYYY-MM-DD, got {as_of!r}") from None
            now = dt.datetime.combine(day, dt.time(12), tzinfo=ZoneInfo(settings.TIME_ZONE))
        report, _ = run_reminders(now=now, dry_run=dry_run, send=True, keep_planned=True)
        for patient, timepoint, kind in report.planned:
            self.stdout.write(f"{'would send' if dry_run else 'planned'} {kind} {patient} "
                              f"{timepoint}")
        self.stdout.write(json.dumps(report.as_dict()))
