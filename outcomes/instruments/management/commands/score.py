"""``score INSTRUMENT [--version V]``: score JSON-lines responses from standard input
(SPEC section 9; ``--version`` is this project's addition)."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from outcomes.instruments.definitions import INSTRUMENTS, definition_for
from outcomes.instruments.definitions.base import InstrumentDefinition
from outcomes.instruments.scoring import SCORERS, ScoringError, score_response, to_jsonable
from outcomes.instruments.stored import UndefinedInstrument, definition_of, library_versions


def chosen_definition(code: str, version: str | None) -> tuple[InstrumentDefinition, str]:
    """Return the definition ``score CODE [--version V]`` scores by, and a note for
    standard error where more than one version is stored and none was chosen.

    Without ``--version``: the version the studies schedule (the newest of them, if they
    schedule several), else the built-in library's, else the version imported last. With
    no database to read (the command stores nothing), the built-in library's.
    """
    from outcomes.followups.models import TimePointInstrument
    from outcomes.instruments.models import Instrument

    try:
        rows = list(Instrument.objects.filter(code=code).defer("definition").order_by("pk"))
        scheduled = set(TimePointInstrument.objects.filter(instrument__code=code)
                        .values_list("instrument_id", flat=True))
    except DatabaseError:
        rows, scheduled = [], set()
    if not rows:
        try:
            return definition_for(code, version), ""
        except KeyError:
            known = sorted(set(INSTRUMENTS) | _stored_codes())
            if code in known:
                raise CommandError(f"{code} has no version {version!r}") from None
            raise CommandError(f"unknown instrument {code!r}; choose one of "
                               f"{', '.join(known)}") from None
    versions = [row.version for row in rows]
    if version is not None:
        chosen = [row for row in rows if row.version == version]
        if not chosen:
            raise CommandError(f"{code} has no version {version!r}; stored: "
                               f"{', '.join(sorted(versions))}")
        return _definition(chosen[0]), ""
    asked = [row for row in rows if row.pk in scheduled]
    builtin = [row for row in rows if (code, row.version) in library_versions()]
    if asked:
        row = asked[-1]
        why = ("the version studies schedule" if len(asked) == 1 else
               "the newest of the versions studies schedule: "
               + ", ".join(r.version for r in asked))
    elif builtin:
        row, why = builtin[-1], "the built-in version; no study schedules one"
    else:
        row, why = rows[-1], "the version imported last; no study schedules one"
    note = ""
    if len(rows) > 1:
        others = ", ".join(v for v in versions if v != row.version)
        note = (f"score: {code} version {row.version} ({why}); also stored: {others}; "
                "--version V chooses")
    return _definition(row), note


def _definition(row) -> InstrumentDefinition:
    try:
        return definition_of(row)
    except UndefinedInstrument as error:
        raise CommandError(str(error)) from None


def _stored_codes() -> set[str]:
    from outcomes.instruments.models import Instrument

    try:
        return set(Instrument.objects.values_list("code", flat=True))
    except DatabaseError:
        return set()


def score_line(instrument: str | InstrumentDefinition, line: str, *, lineno: int,
               max_missing: int | None) -> dict:
    """Return the output object for one input line (scores, or an error naming the item).

    Where some scores cannot be computed (too many items blank for them, SPEC 3.7) their
    keys are null and ``not_scorable`` gives each one's reason; where none can, the line
    is an error naming the reason.
    """
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        reason = f"malformed JSON: {error.msg} at column {error.colno}"
        return {"id": None, "error": f"line {lineno}: {reason}"}
    if not isinstance(record, dict):
        reason = "expected a JSON object with an 'answers' object"
        return {"id": None, "error": f"line {lineno}: {reason}"}
    ident = record.get("id")
    if "answers" not in record:
        return {"id": ident, "error": "answers: missing"}
    try:
        scored = score_response(instrument, record["answers"], max_missing=max_missing)
    except ScoringError as error:
        return {"id": ident, "error": str(error)}
    if not scored.scorable:
        return {"id": ident, "error": scored.refusal}
    code = instrument.code if isinstance(instrument, InstrumentDefinition) else instrument
    result = {"id": ident, "instrument": code, "scores": to_jsonable(scored.values)}
    if scored.not_scorable:
        result["not_scorable"] = scored.not_scorable
    return result


class Command(BaseCommand):
    help = (
        "Score responses read as JSON lines on standard input, one "
        '{"id": ..., "answers": {...}} per line; write one JSON line per input line. '
        'Scores that too many blank items leave out are null, each named with its reason '
        'in "not_scorable". Exit status 1 if any line failed.'

    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        # --version is Django's for every command (its own version): ours replaces it.
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve",
                                     **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("instrument", help="Instrument code: " + ", ".join(sorted(SCORERS))
                            + ", or one imported (import_instrument)")
        parser.add_argument(
            "--max-missing", type=int, default=None,
            help="Items that may be unanswered, for each score that allows blanks at all "
                 "(the ODI's sections; default: the instrument's definition, 1 for the ODI).",
        )
        parser.add_argument(
            "--version", dest="instrument_version", default=None,
            help="The instrument version to score by (default: the version the studies "
                 "schedule, else the built-in one, else the one imported last; with more "
                 "than one stored, standard error says which was used).")

    def handle(self, *args, instrument: str, max_missing: int | None,
               instrument_version: str | None, **options):
        definition, note = chosen_definition(instrument, instrument_version)
        if note:
            self.stderr.write(note)
        if max_missing is not None:
            # Blanks a score may take: up to all its items but one (the definition says).
            takes = [len(s.items) for s in definition.score_defs
                     if not s.source and s.max_missing > 0]
            if not takes and max_missing:
                raise CommandError(f"--max-missing: no score of {instrument} allows "
                                   "unanswered items")
            most = min(takes, default=1) - 1
            if not 0 <= max_missing <= most:
                raise CommandError(f"--max-missing must be between 0 and {most}")
        failed = 0
        for lineno, line in enumerate(sys.stdin, start=1):
            if not line.strip():
                continue
            result = score_line(definition, line, lineno=lineno, max_missing=max_missing)
            failed += "error" in result
            self.stdout.write(json.dumps(result, ensure_ascii=False))
        self.stdout.flush()
        if failed:
            sys.exit(1)
