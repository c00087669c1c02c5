"""``export_study --study CODE --format tidy|wide|dictionary``: de-identified CSV exports."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from outcomes.analysis.exports import EXPORTS
from outcomes.audit.services import record_change
from patients.models import Study


class Command(BaseCommand):
    help = "Print a de-identified CSV export: tidy (long), wide, or the data dictionary."

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True)
        parser.add_argument("--format", choices=sorted(EXPORTS), default="tidy")

    def handle(self, *args, study: str, format: str, **options):
        target = Study.objects.filter(code=study).first()
        if target is None:
            raise CommandError(f"unknown study {study!r}")
        self.stdout.write(EXPORTS[format](target), ending="")
        record_change(obj=target, action="export", actor_label="export_study command",
                      reason=f"{format} export")
