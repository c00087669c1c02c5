"""``import_study``: a study's patients and completed responses, from two CSV files or
from a REDCap project's data dictionary and records with a map between them."""

from __future__ import annotations

from argparse import RawDescriptionHelpFormatter
from contextlib import ExitStack
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from patients.imports import FORMAT_HELP, ImportRefused, import_study
from patients.imports.redcap import file_name, import_redcap

REDCAP_HELP = """\
From REDCap: --from-redcap DICTIONARY.csv RECORDS.csv --map MAP.json: the project's data
dictionary, its records (raw CSV export, one row per record and event) and a JSON map
naming which events are which time points, which fields hold each patient detail and
which fields are which instrument items (README, "Importing from REDCap"). The same
checks apply; problems name the records file's line and field.
"""


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
        "import.\n\n" + FORMAT_HELP + "\n" + REDCAP_HELP
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = RawDescriptionHelpFormatter  # keep the formats' lines
        return parser

    def add_arguments(self, parser):
        parser.add_argument("--study", required=True, help="Study code, e.g. BMC-LBP.")
        parser.add_argument("--patients", help="patients.csv")
        parser.add_argument("--responses", help="responses.csv")
        parser.add_argument("--from-redcap", nargs=2, metavar=("DICTIONARY.csv", "RECORDS.csv"),
                            help="A REDCap data dictionary and records export.")
        parser.add_argument("--map", dest="map_path", metavar="MAP.json",
                            help="With --from-redcap: which REDCap field is which.")

    def handle(self, *args, study: str, patients: str | None, responses: str | None,
               from_redcap: list[str] | None, map_path: str | None, **options):
        if from_redcap and (patients or responses):
            raise CommandError("give either --patients and --responses, or --from-redcap")
        if from_redcap and not map_path:
            raise CommandError("--from-redcap needs --map MAP.json")
        if not from_redcap and not (patients and responses):
            raise CommandError("give --patients and --responses (or --from-redcap and --map)")
        with ExitStack() as stack:
            try:
                if from_redcap:
                    summary = self.from_redcap(stack, study, *from_redcap, map_path)
                else:
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

    def from_redcap(self, stack: ExitStack, study: str, dictionary: str, records: str,
                    map_path: str):
        mapping = _open(stack, map_path).read()
        _open(stack, records).close()  # a missing file is said now, not half-way

        def reopen():
            return Path(records).open(encoding="utf-8", newline="")

        return import_redcap(
            study_code=study, dictionary=_open(stack, dictionary), records=reopen,
            map_text=mapping, names=(file_name(dictionary), file_name(records),
                                     file_name(map_path)))

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
        if summary.alerts_raised:
            self.stdout.write(
                f"{summary.alerts_raised} answer(s) need attention: listed at the top of the "
                "study's workspace, and the sites' coordinators are emailed.")
