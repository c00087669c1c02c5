"""``import_study``: a study's patients and completed responses from two CSV files."""

from __future__ import annotations

from argparse import RawDescriptionHelpFormatter
from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from patients.imports import FORMAT_HELP, ImportRefused, import_study


def _open(stack: ExitStack, path: str):
    """Open ``path`` as UTF-8 text, read as it is imported (never whole into memory)."""
    try:
        return stack.enter_context(Path(path).open(encoding="utf-8", newline=""))
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CommandError(f"{path}: a directory, not a file") from None


class Command(BaseCommand):
    help = (
        "Import patients (patients.csv) and their completed responses (responses.csv) into "
        "an existing study. Every row is validated first; any problem refuses the whole "
        "import.\n\n" + FORMAT_HELP
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter  # keep the formats' lines
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="Study code, e.g. BMC-LBP.")
        parser.add_argument("--patients", help="patients.csv")
        parser.add_argument("--responses", help="responses.csv")

    def handle(self, *args, study: str, patients: str | None, responses: str | None,
               **options):
        if not (patients and responses):
            raise CommandError("give --patients and --responses")
        with ExitStack() as stack:
            try:
                summary = import_study(
                    study_code=study, patients_csv=_open(stack, patients),
                    responses_csv=_open(stack, responses),
                )
            except UnicodeDecodeError as error:
                raise CommandError(f"not UTF-8 text ({error.reason} at byte {error.start})"
                                   "; nothing was imported") from None
            except ImportRefused as refused:
                self.report_refusal(refused)
        self.report_summary(study, summary)

    def report_refusal(self, refused: ImportRefused):
        for problem in refused.problems:
            self.stderr.write(problem)
        raise CommandError(
            f"import refused: {len(refused.problems)} problem(s); nothing was imported"
        ) from None

    def report_summary(self, study: str, summary) -> None:
        for warning in summary.warnings:
            self.stderr.write(f"warning: {warning}")
        warned = (f"; {summary.warning_count} warning(s), listed above"
                  if summary.warning_count else "")
        self.stdout.write(self.style.SUCCESS(
            f"Imported into {study}: {summary.patients_created} patients and "
            f"{summary.responses_created} responses created; {summary.patients_unchanged} "
            f"patients and {summary.responses_unchanged} responses already there, "
            f"unchanged{warned}."
        ))
