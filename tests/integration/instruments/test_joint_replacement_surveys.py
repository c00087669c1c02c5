"""KOOS, JR. and HOOS, JR. from the catalogue, imported as a data manager does.

``import_instrument`` stores each file, ``score`` scores it by its code, and the admin
reads it as a document. Expected values are the HSS conversion tables' rows (Lyman et
al., Clin Orthop Relat Res 2016;474(6):1461-1471 and 1472-1482, as transcribed in
Stanford CHOIR; the unit tests check every row) for raw sums worked by hand below.
Every catalogue file's FHIR Questionnaire is checked in ``test_import_instrument.py``.
"""

from __future__ import annotations

import json
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from outcomes.instruments.models import Instrument
from tests.htmltree import parse

CATALOGUE = (Path(__file__).resolve().parents[3] / "outcomes" / "instruments" / "library"
             / "catalogue")

KOOS_JR = ["stiffness", "twisting", "straightening", "stairs", "standing", "rising", "bending"]
HOOS_JR = ["stairs", "uneven_surface", "rising", "bending", "lying_in_bed", "sitting"]


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def scored(code: str, lines: list[dict], monkeypatch) -> tuple[list[dict], int]:
    """Score JSON lines with the ``score`` command: its output lines and exit status."""
    monkeypatch.setattr(sys, "stdin", StringIO("".join(json.dumps(r) + "\n" for r in lines)))
    out = StringIO()
    status = 0
    try:
        call_command("score", code, stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        status = exit_.code
    return [json.loads(line) for line in out.getvalue().splitlines()], status


@pytest.fixture
def imported(db):
    said = [run("import_instrument", str(CATALOGUE / name))
            for name in ("koos_jr.json", "hoos_jr.json")]
    return said


def test_both_import_with_their_questions_and_interval_score(imported):
    assert imported[0].startswith("imported koos_jr version 1.0 (KOOS JR): 7 questions")
    assert imported[1].startswith("imported hoos_jr version 1.0 (HOOS JR): 6 questions")
    assert "koosjr_interval" in imported[0] and "hoosjr_interval" in imported[1]


def test_the_score_command_converts_the_raw_sum_through_the_published_table(
        imported, monkeypatch):
    # KOOS JR: 2 + 2 + 1 + 3 + 2 + 2 + 3 = 15 -> 50.012; every answer "Extreme" -> 0.
    koos = dict(zip(KOOS_JR, [2, 2, 1, 3, 2, 2, 3], strict=True))
    lines, status = scored("koos_jr", [
        {"id": "a", "answers": koos},
        {"id": "b", "answers": dict.fromkeys(KOOS_JR, 4)},
        {"id": "c", "answers": koos | {"standing": None}},
    ], monkeypatch)
    assert lines[0] == {"id": "a", "instrument": "koos_jr",
                        "scores": {"koosjr_raw": 15, "koosjr_interval": 50.012}}
    assert lines[1]["scores"] == {"koosjr_raw": 28, "koosjr_interval": 0}
    # A blank answer: no interval score, and the line says which answer and why.
    assert lines[2] == {"id": "c", "error": "standing: unanswered; the table converts the sum "
                                            "of all 7 answers, so none may be missing"}
    assert status == 1
    # HOOS JR: every answer "Mild", 6 x 1 = 6 -> 70.426; every answer "None" -> 100.
    lines, status = scored("hoos_jr", [
        {"id": "d", "answers": dict.fromkeys(HOOS_JR, 1)},
        {"id": "e", "answers": dict.fromkeys(HOOS_JR, 0)},
    ], monkeypatch)
    assert [line["scores"] for line in lines] == [
        {"hoosjr_raw": 6, "hoosjr_interval": 70.426},
        {"hoosjr_raw": 0, "hoosjr_interval": 100}]
    assert status == 0


@pytest.mark.parametrize(("code", "rows", "joint"), [("koos_jr", 29, "knee"),
                                                     ("hoos_jr", 25, "hip")])
def test_the_admin_reads_it_as_a_document_of_labels_and_its_table(
        imported, client, code, rows, joint):
    instrument = Instrument.objects.get(code=code)
    client.force_login(User.objects.create_superuser("manager", password="x" * 12))
    reply = client.get(reverse("admin:instruments_instrument_change", args=[instrument.pk]))
    assert reply.status_code == 200
    content = parse(reply.content.decode()).find(id="content-main")
    items = content.find("section", aria_labelledby="items-heading").find("tbody")
    cells = [tr.find_all("td") for tr in items.find_all("tr")]
    # HSS asks that the survey not be altered: the file ships labels, and says so.
    assert all("label only (licensed wording)" in row[2].text for row in cells)
    assert "0 → None" in cells[0][4].text and "4 → Extreme" in cells[0][4].text
    (details,) = content.find_all("details")
    assert details.find("summary").text == f"Value of each raw sum ({rows} rows)"
    table = {tds[0].text: tds[1].text for tds in (
        tr.find_all("td") for tr in details.find("tbody").find_all("tr"))}
    # Both tables run from 100 (no problem) to 0 (every answer extreme).
    assert (table["0"], table[str(rows - 1)]) == ("100", "0")
    assert "Higher is better" in content.text
    assert f"perfect {joint} health" in content.text  # the source says which way is good
