"""PROMIS Physical Function 6b v1.2 from the catalogue, imported as a data manager does.

``import_instrument`` stores the file and ``score`` scores the stored version by its code.
Expected values: the published example (raw 17 -> T 36.8, the CMS ACCESS Model API FHIR
guide's ``PROMISPhysicalFunctionExample``) and the table's ends, which
``tests/unit/instruments/library/test_promis_pf6b.py`` recomputes from the calibrations
(T 21.5, SE 3.7 at raw 6; T 58.7, SE 6.2 at raw 30). Every catalogue file's FHIR
Questionnaire is checked in ``test_import_instrument.py``.
"""

from __future__ import annotations

import json
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command

from outcomes.instruments.models import Instrument

FILE = (Path(__file__).resolve().parents[3] / "outcomes" / "instruments" / "library"
        / "catalogue" / "promis_pf6b_v1_2.json")
ITEMS = ["pfa11", "pfa21", "pfa23", "pfa53", "pfc12", "pfb1"]


def scored(lines: list[dict], monkeypatch) -> tuple[list[dict], int]:
    """Score JSON lines with ``score promis_pf6b``: its output lines and exit status."""
    monkeypatch.setattr(sys, "stdin", StringIO("".join(json.dumps(r) + "\n" for r in lines)))
    out = StringIO()
    status = 0
    try:
        call_command("score", "promis_pf6b", stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        status = exit_.code
    return [json.loads(line) for line in out.getvalue().splitlines()], status


def test_imported_and_scored_by_the_stored_version(db, monkeypatch):
    said = StringIO()
    call_command("import_instrument", str(FILE), stdout=said, stderr=StringIO())
    assert said.getvalue().startswith("imported promis_pf6b version 1.2 (PROMIS PF 6b): "
                                      "6 questions")
    assert Instrument.objects.filter(code="promis_pf6b").exists()

    example = dict(zip(ITEMS, [4, 3, 3, 4, 1, 2], strict=True))
    lines, status = scored([
        {"id": "example", "answers": example},
        {"id": "floor", "answers": dict.fromkeys(ITEMS, 1)},
        {"id": "ceiling", "answers": dict.fromkeys(ITEMS, 5)},
        {"id": "blank", "answers": example | {"pfb1": None}},
    ], monkeypatch)
    assert lines[0] == {"id": "example", "instrument": "promis_pf6b",
                        "scores": {"pf6b_raw": 17, "pf6b_t": 36.8, "pf6b_se": 1.8}}
    assert lines[1]["scores"] == {"pf6b_raw": 6, "pf6b_t": 21.5, "pf6b_se": 3.7}
    assert lines[2]["scores"] == {"pf6b_raw": 30, "pf6b_t": 58.7, "pf6b_se": 6.2}
    assert lines[3] == {"id": "blank", "error": "pfb1: unanswered; the table converts the sum "
                                                "of all 6 answers, so none may be missing"}
    assert status == 1
