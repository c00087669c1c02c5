"""``results --study CODE [--format json|csv]``: the study's results table (SPEC section 9)."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from outcomes.analysis.results import results_csv, study_results
from patients.models import Study


class Command(BaseCommand):
    help = "Print the study's results: scores, responders and between-arm comparisons."

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="Study code, e.g. BMC-LBP.")
        parser.add_argument("--format", choices=["json", "csv"], default="json")

    def handle(self, *args, study: str, format: str, **options):
        target = Study.objects.filter(code=study).first()
        if target is None:
            raise CommandError(f"unknown study {study!r}")
        results = study_results(target)
        if format == "csv":
            self.stdout.write(results_csv(results), ending="")
        else:
            self.stdout.write(json.dumps(results, allow_nan=False))
