"""``score INSTRUMENT``: score JSON-lines responses from standard input (SPEC section 9)."""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.definitions.base import InstrumentDefinition
from outcomes.instruments.scoring import SCORERS, ScoringError, score_response, to_jsonable
from outcomes.instruments.stored import load_stored_definitions


def current_definitions() -> dict[str, InstrumentDefinition]:
    """Return each instrument's current definition: the stored ones (an instrument
    imported from a file among them), and the built-in library's where there is no
    database to read (the command scores and stores nothing)."""
    try:
        stored = load_stored_definitions()
    except DatabaseError:
        stored = {}
    return {**INSTRUMENTS, **stored}


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

    def add_arguments(self, parser):
        parser.add_argument("instrument", help="Instrument code: " + ", ".join(sorted(SCORERS))
                            + ", or one imported (import_instrument)")
        parser.add_argument(
            "--max-missing", type=int, default=None,
            help="Items that may be unanswered, for each score that allows blanks at all "
                 "(the ODI's sections; default: the instrument's definition, 1 for the ODI).",
        )

    def handle(self, *args, instrument: str, max_missing: int | None, **options):
        known = current_definitions()
        definition = known.get(instrument)
        if definition is None:
            raise CommandError(
                f"unknown instrument {instrument!r}; choose one of {', '.join(sorted(known))}"
            )
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
