"""``export_instrument CODE [--version V] [--format json|fhir]``: a stored version, written out."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from outcomes.instruments.definitions.fhir import questionnaire
from outcomes.instruments.definitions.files import dump_definition
from outcomes.instruments.stored import UndefinedInstrument, definition_of, stored_instrument


class Command(BaseCommand):
    help = ("Write a stored instrument version out: its definition file (json, what "
            "import_instrument reads) or an R4 Questionnaire generated from it (fhir).")

    def create_parser(self, prog_name, subcommand, **kwargs):
        # SPEC 9 names the option --version, which Django gives every command (its own
        # version): ours replaces it here.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve",
                                     **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("code", help="The instrument's code, e.g. odi.")
        parser.add_argument("--version", dest="instrument_version", default=None,
                            help="The version (default: the one imported last).")
        parser.add_argument("--format", choices=("json", "fhir"), default="json")

    def handle(self, *args, code: str, instrument_version: str | None, format: str,
               **options):
        try:
            definition = definition_of(stored_instrument(code, instrument_version))
        except UndefinedInstrument as error:
            raise CommandError(str(error)) from None
        if format == "json":
            self.stdout.write(dump_definition(definition), ending="")
        else:
            self.stdout.write(json.dumps(questionnaire(definition), ensure_ascii=False,
                                         indent=2))
