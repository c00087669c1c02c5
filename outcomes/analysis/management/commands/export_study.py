"""``export_study --study CODE --format tidy|wide|items|dictionary|spss|stata [--output FILE]``.

De-identified files for the statistician (SPEC 9): CSV on standard output (or in FILE),
written as the study is read; the SPSS and Stata files need ``--output``.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from outcomes.analysis.exports import EXPORTS, LABELLED_EXPORTS, write_labelled
from outcomes.audit.services import record_change
from patients.models import Enrolment, Study


class Command(BaseCommand):
    help = ("Write a de-identified export: tidy (one row per scheduled cell), wide (one row "
            "per patient), items (every answer), the data dictionary, or the wide file for "
            "SPSS (.sav) or Stata (.dta), which need --output.")

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True)
        parser.add_argument("--format", choices=[*EXPORTS, *LABELLED_EXPORTS], default="tidy")
        parser.add_argument("--output", help="Write to this file instead of standard output.")

    def handle(self, *args, study: str, format: str, output: str | None, **options):
        target = Study.objects.filter(code=study).first()
        if target is None:
            raise CommandError(f"unknown study {study!r}")
        enrolments = Enrolment.objects.filter(study=target)
        if format in LABELLED_EXPORTS:
            if not output:
                raise CommandError(f"--format {format} writes a binary file: give --output "
                                   f"FILE.{LABELLED_EXPORTS[format]}")
            write_labelled(target, enrolments, output, format)
        elif output:
            try:
                with open(output, "w", encoding="utf-8", newline="") as handle:
                    for chunk in EXPORTS[format](target, enrolments):
                        handle.write(chunk)
            except OSError as error:
                raise CommandError(f"cannot write {output}: {error.strerror}") from error
        else:
            for chunk in EXPORTS[format](target, enrolments):
                self.stdout.write(chunk, ending="")
        record_change(obj=target, action="export", actor_label="export_study command",
                      reason=f"{format} export")
