"""A correction's history names the questions as the version answered asked them.

The knee-pain file (``tests/data/instruments/knee_pain.json``) is answered on version
1.0; version 1.1, imported after, asks night pain first and words it otherwise. The
correction of the 1.0 response changes night pain, 1.0's question 2: the history must
say so, not "question 1" with 1.1's wording (what the current version would give).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.urls import reverse

from outcomes.followups.models import TimePointInstrument
from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.models import Instrument
from outcomes.instruments.services import (
    correct_response,
    import_instrument_definition,
    save_answers,
    submit_visit,
)
from outcomes.instruments.stored import load_stored_definitions
from patients.models import Site
from patients.selectors import patient_history, response_history
from tests.factories import enrol
from tests.htmltree import parse

DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"
TODAY = dt.date(2026, 6, 1)
NIGHT_1_0 = "question 2 (How bad has your knee pain…): 5 → 2"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def manager(study):
    user = User.objects.create_user("manager", password="x" * 12)
    user.groups.add(Group.objects.get_or_create(name="Data managers")[0])
    Site.objects.get(code="MAIN").staff.add(user)
    return user


@pytest.fixture
def corrected(study, manager):
    """The 1.0 response, answered, then 1.1 imported, then the response corrected."""
    first = json.loads((DATA / "knee_pain.json").read_text())
    import_instrument_definition(data=first)
    baseline = study.timepoints.get(code="baseline")
    TimePointInstrument.objects.filter(timepoint=baseline).delete()
    TimePointInstrument.objects.create(
        timepoint=baseline, instrument=Instrument.objects.get(code="knee_nrs", version="1.0"))
    enrolment = enrol(study, "V-1", index_date=TODAY, today=TODAY)
    visit = enrolment.visits.get(timepoint=baseline)
    save_answers(visit=visit, instrument=Instrument.objects.get(code="knee_nrs"),
                 answers={"knee_pain": 4, "night_pain": 5, "health_today": None,
                          "walking_aid": None})
    (response,) = submit_visit(visit=visit)

    second = {**first, "version": "1.1", "items": [
        {**first["items"][1], "text": "At night, how much did your knee hurt?"},
        first["items"][0], *first["items"][2:]]}
    import_instrument_definition(data=second)
    load_stored_definitions()  # what every reader by code does: 1.1 is now current
    assert INSTRUMENTS["knee_nrs"].version == "1.1"  # the current version asks it first
    assert INSTRUMENTS["knee_nrs"].items[0].code == "night_pain"

    return correct_response(response=response, reason="paper form says 2", actor=manager,
                            answers={**response.answers, "night_pain": 2})


def test_the_correction_page_numbers_the_questions_as_the_version_answered(
        client, corrected, manager):
    (line,) = [entry.text for entry in response_history(corrected)
               if "corrected" in entry.text]
    assert line == f"Knee pain at the baseline visit corrected: {NIGHT_1_0} (paper form says 2)"
    client.force_login(manager)
    page = client.get(reverse("response-correct", kwargs={"pk": corrected.pk}))
    assert NIGHT_1_0 in page.content.decode()
    assert "At night, how much" not in page.content.decode()


def test_the_patient_page_history_numbers_them_so_too(client, corrected, manager):
    enrolment = corrected.visit.enrolment
    lines = [entry.text for entry in patient_history(enrolment, show_contact=False)]
    assert f"Knee pain at the baseline visit corrected: {NIGHT_1_0} (paper form says 2)" \
        in lines
    client.force_login(manager)
    tree = parse(client.get(reverse("patients:patient", kwargs={
        "code": enrolment.study.code, "patient_code": "V-1"})).content)
    shown = [item.text for item in tree.find("ul", cls="patient-history").find_all("li")]
    assert any(NIGHT_1_0 in text for text in shown)
