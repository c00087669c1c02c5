"""``import_study``: a study's patients and completed responses from two CSV files."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from patients.imports import ImportRefused, import_study


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise CommandError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") \
            from None


class Command(BaseCommand):
    help = (
        "Import patients (patients.csv) and their completed responses (responses.csv) into "
        "an existing study. Every row is validated first; any problem refuses the whole import."
    )

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="Study code, e.g. BMC-LBP.")
        parser.add_argument("--patients", required=True, help="patients.csv")
        parser.add_argument("--responses", required=True, help="responses.csv")

    def handle(self, *args, study: str, patients: str, responses: str, **options):
        try:
            summary = import_study(
                study_code=study, patients_csv=_read(patients), responses_csv=_read(responses),
            )
        except ImportRefused as refused:
            for problem in refused.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"import refused: {len(refused.problems)} problem(s); nothing was imported"
            ) from None
        self.stdout.write(self.style.SUCCESS(
            f"Imported into {study}: {summary.patients_created} patients and "
            f"{summary.responses_created} responses created; {summary.patients_unchanged} "
            f"patients and {summary.responses_unchanged} responses already there, unchanged."
        ))
