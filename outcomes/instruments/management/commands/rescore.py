"""``rescore``: recompute stored scores after a scoring correction, with an audit trail."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from outcomes.instruments.models import Instrument
from outcomes.instruments.services import rescore_responses
from patients.models import Study


class Command(BaseCommand):
    help = ("Recompute the scores of completed responses with the current scoring code; "
            "changed scores are rewritten, audited, and responder status refreshed.")

    def add_arguments(self, parser):
        parser.add_argument("--study", help="Only this study's responses.")
        parser.add_argument("--instrument", help="Only this instrument's responses.")
        parser.add_argument("--dry-run", action="store_true", help="Count; change nothing.")

    def handle(self, *args, study: str | None, instrument: str | None, dry_run: bool,
               **options):
        target = None
        if study:
            target = Study.objects.filter(code=study).first()
            if target is None:
                raise CommandError(f"unknown study {study!r}")
        if instrument and not Instrument.objects.filter(code=instrument).exists():
            raise CommandError(f"unknown instrument {instrument!r}")
        counts = rescore_responses(study=target, instrument=instrument, dry_run=dry_run)
        self.stdout.write(json.dumps({**counts, "dry_run": dry_run}))
