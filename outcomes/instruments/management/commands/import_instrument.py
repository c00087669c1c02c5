"""``import_instrument FILE``: store a definition file as an instrument version (SPEC 3.6)."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from outcomes.instruments.definitions import DefinitionError
from outcomes.instruments.definitions.fhir import definition_from_questionnaire
from outcomes.instruments.definitions.files import read_definition_file
from outcomes.instruments.services import import_instrument_definition

SAID = {
    "created": "imported {code} version {version} ({title}): {items}, {scores}",
    "replaced": "replaced {code} version {version} ({title}), which had no responses: "
                "{items}, {scores}",
    "metadata": "updated the metadata of {code} version {version} ({title}), "
                "which has responses: {changed}",
    "unchanged": "{code} version {version} is stored with this content already: nothing "
                 "changed",
}


def read_file(path: Path):
    """Return a definition file's JSON, or raise CommandError saying why it cannot be read."""
    if not path.exists():
        raise CommandError(f"{path}: no such file")
    if path.is_dir():
        raise CommandError(f"{path}: a directory, not a file")
    try:
        return read_definition_file(path)
    except UnicodeDecodeError as error:
        raise CommandError(f"{path.name}: not UTF-8 text ({error.reason} at byte "
                           f"{error.start})") from None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


class Command(BaseCommand):
    help = ("Validate an instrument definition file (JSON, SPEC 3.6; docs/instruments.md) "
            "whole and store it as an instrument version. Any problem refuses the file, "
            "one line per problem naming its key, and nothing is stored. Importing the "
            "same file again changes nothing; a version that has responses never changes "
            "(a correction is a new version).")

    def add_arguments(self, parser):
        parser.add_argument("file", help="The definition file (JSON).")
        parser.add_argument(
            "--from-questionnaire", action="store_true",
            help="FILE is an R4 Questionnaire (JSON): write the starting definition file it "
                 "gives (its items; the scores to add) to standard output or --output, with "
                 "a note per thing to check on standard error; store nothing.")
        parser.add_argument("--output", help="With --from-questionnaire: write it here.")

    def handle(self, *args, file: str, from_questionnaire: bool, output: str | None,
               **options):
        path = Path(file)
        if from_questionnaire:
            return self.starting_definition(path, output)
        if output:
            raise CommandError("--output goes with --from-questionnaire")
        try:
            data = read_file(path)
            done = import_instrument_definition(data=data, actor_label="import_instrument",
                                                reason=f"imported from {path.name}")
        except DefinitionError as refused:
            for problem in refused.problems:
                self.stderr.write(problem)
            raise CommandError(f"{path.name} refused: {len(refused.problems)} problem(s); "
                               "nothing was stored") from None
        instrument = done.instrument
        scores = instrument.definition.get("scores", [])
        reported = [s["key"] for s in scores if s.get("reported", True)]
        self.stdout.write(SAID[done.action].format(
            code=instrument.code, version=instrument.version, title=instrument.short_title,
            items=_count(len(instrument.definition.get("items", [])), "question"),
            scores=f"scores {', '.join(reported)}" if reported else "no reported score",
            changed=", ".join(done.changed)))
        alerts = [alert["key"] for alert in instrument.definition.get("alerts", [])]
        if alerts:
            self.stdout.write(f"answers needing attention: {', '.join(alerts)} (listed for "
                              "the study team and emailed to coordinators when raised)")

    def starting_definition(self, path: Path, output: str | None) -> None:
        """Write the starting definition an R4 Questionnaire gives; store nothing."""
        try:
            data = read_file(path)
            definition, notes = definition_from_questionnaire(data)
        except DefinitionError as refused:
            raise CommandError("\n".join(refused.problems)) from None
        except ValueError as error:
            raise CommandError(f"{path.name}: {error}") from None
        text = json.dumps(definition, indent=2, ensure_ascii=False) + "\n"
        if output:
            Path(output).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
        for note in notes:
            self.stderr.write(f"note: {note}")
