"""Conditional items and "not applicable" answers, by link, by staff entry and by import.

``tests/data/instruments/mobility_aid.json``: ``uses_aid`` (No 0 / Yes 1), then
``aid_type`` and ``aid_walking`` asked only if it is Yes; ``stairs``, ``driving`` (with
9 = "Not applicable: I do not drive") and ``shopping``. The index is the ODI's method
over aid_walking, stairs, driving and shopping (points ÷ (5 × answered) × 100), one blank
allowed. Every value below is worked by hand from that rule.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.urls import reverse

from outcomes.followups.links import ensure_link
from outcomes.followups.models import TimePointInstrument, Visit
from outcomes.instruments.models import Instrument, Response, Score
from patients.models import Site
from tests.factories import enrol

DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"
TODAY = dt.date(2026, 6, 1)
ITEMS = ("uses_aid", "aid_type", "aid_walking", "stairs", "driving", "shopping")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def baseline(study):
    call_command("import_instrument", str(DATA / "mobility_aid.json"), stdout=StringIO())
    point = study.timepoints.get(code="baseline")
    TimePointInstrument.objects.filter(timepoint=point).delete()
    TimePointInstrument.objects.create(timepoint=point,
                                       instrument=Instrument.objects.get(code="mobility_aid"))
    return point


@pytest.fixture
def visit(study, baseline):
    enrolment = enrol(study, "P-300", index_date=TODAY, today=TODAY)
    return enrolment.visits.get(timepoint=baseline)


def page_url(visit) -> str:
    return reverse("survey:step", kwargs={"token": ensure_link(visit=visit), "number": 1})


def post(client, url, action="next", **answers):
    data = dict.fromkeys(ITEMS, "")
    data.update({k: str(v) for k, v in answers.items()})
    return client.post(url, {**data, "action": action})


def scores_of(response) -> dict:
    return {s.code: Fraction(s.exact) for s in Score.objects.filter(response=response)}


def test_the_page_says_when_a_conditional_question_applies_without_javascript(client, visit):
    html = client.get(page_url(visit)).content.decode()
    assert html.count("Answer only if you answered “Yes” to question 1.") == 2
    # Every question is on the page (hidden only by survey.js), with what the script reads.
    assert 'id="q-aid_type" data-enable-question="q-uses_aid" data-enable-name="uses_aid" ' \
           'data-enable-operator="=" data-enable-answers="1"' in html
    assert 'aria-describedby="id_aid_type-condition"' in html
    assert 'id="condition-status" aria-live="polite"' in html
    assert "Not applicable: I do not drive" in html


def test_the_live_region_speaks_spanish_on_a_spanish_page(client, visit):
    # The template's "%s" is "%%" in the catalogue's msgid (makemessages doubles a
    # template's percent signs, and {% translate %} looks the doubled one up).
    html = client.get(page_url(visit), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert 'data-shown="La pregunta %s ahora corresponde: se muestra."' in html
    assert ('data-hidden="La pregunta %s ya no corresponde: se oculta y se borra su '
            'respuesta."') in html


def test_answers_posted_to_questions_that_do_not_apply_are_ignored_and_cleared(
        client, visit):
    # A crafted POST: "No" to the aid, and yet answers to both aid questions.
    reply = post(client, page_url(visit), uses_aid=0, aid_type=2, aid_walking=5, stairs=2,
                 driving=9, shopping=1)
    assert reply.status_code == 302, reply.content.decode()[:3000]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    response = Response.objects.get(visit=visit, state="completed")
    assert response.answers == {"uses_aid": 0, "aid_type": None, "aid_walking": None,
                                "stairs": 2, "driving": 9, "shopping": 1}
    # Stairs 2 + shopping 1 = 3 over 5 x 2 answered = 30%; driving N/A is the one blank.
    assert scores_of(response) == {"mobaid_index": 30, "mobaid_answered": 2}


def test_a_required_question_that_applies_is_asked_for_and_not_applicable_answers_one(
        client, visit):
    # Yes to the aid: its two questions apply, and with one blank allowed, two are asked
    # for ("not applicable" to driving is an answer, not a blank).
    reply = post(client, page_url(visit), uses_aid=1, aid_walking="", stairs=2, driving=9,
                 shopping=1)
    assert reply.status_code == 400
    html = reply.content.decode()
    assert '<a href="#q-aid_type">Getting about: Which walking aid do you use most? — ' in html
    assert '<a href="#q-aid_walking">' in html
    assert "#q-driving" not in html
    reply = post(client, page_url(visit), uses_aid=1, aid_type=1, aid_walking=3, stairs=2,
                 driving=9, shopping=1)
    assert reply.status_code == 302
    response = Response.objects.get(visit=visit, state="completed")
    assert response.answers["driving"] == 9
    # 3 + 2 + 1 = 6 over 5 x 3 answered = 40%.
    assert scores_of(response) == {"mobaid_index": 40, "mobaid_answered": 3}


def test_a_saved_answer_is_cleared_when_the_question_stops_applying(client, visit):
    url = page_url(visit)
    post(client, url, action="save", uses_aid=1, aid_type=3, aid_walking=4)
    saved = Response.objects.get(visit=visit)
    assert (saved.answers["aid_type"], saved.answers["aid_walking"]) == (3, 4)
    post(client, url, action="save", uses_aid=0, aid_type=3, aid_walking=4)
    saved.refresh_from_db()
    assert saved.answers["uses_aid"] == 0
    assert (saved.answers["aid_type"], saved.answers["aid_walking"]) == (None, None)
    # Resuming lands on the page, which needs only what applies.
    start = client.get(reverse("survey:start", kwargs={"token": ensure_link(visit=visit)}))
    assert start.status_code == 302


@pytest.fixture
def coordinator(client):
    user = User.objects.create_user("coord", password="x" * 12)
    user.groups.add(Group.objects.get(name="Coordinators"))
    Site.objects.get(code="MAIN").staff.add(user)
    client.force_login(user)
    return user


def entry(visit, **answers) -> dict:
    data = {"source": "paper", "answered_date": "2026-05-30"}
    data.update({f"mobility_aid-{code}": "" for code in ITEMS})
    data.update({f"mobility_aid-{code}": str(v) for code, v in answers.items()})
    return data


def test_staff_entry_refuses_an_answer_to_a_question_that_does_not_apply(
        client, visit, coordinator):
    url = reverse("patients:visit-entry", kwargs={
        "code": "BMC-LBP", "patient_code": "P-300", "visit_id": visit.pk})
    page = client.get(url).content.decode()
    assert "Answer only if you answered “Yes” to question 1." in page
    reply = client.post(url, entry(visit, uses_aid=0, aid_type=2, stairs=1, driving=3,
                                   shopping=2))
    assert reply.status_code == 200
    assert ("leave this blank. Answer only if you answered “Yes” to question 1"
            in reply.content.decode())
    assert not Response.objects.filter(visit=visit, state="completed").exists()
    reply = client.post(url, entry(visit, uses_aid=0, stairs=1, driving=3, shopping=2))
    assert reply.status_code == 302, reply.content.decode()[:3000]
    response = Response.objects.get(visit=visit, state="completed")
    assert response.source == "paper"
    # 1 + 3 + 2 = 6 over 5 x 3 = 40%.
    assert scores_of(response) == {"mobaid_index": 40, "mobaid_answered": 3}


def test_the_staff_entry_page_hides_conditional_questions_with_the_patients_script(
        client, visit, coordinator):
    url = reverse("patients:visit-entry", kwargs={
        "code": "BMC-LBP", "patient_code": "P-300", "visit_id": visit.pk})
    html = client.get(url).content.decode()
    # Each question in a wrapper of its own, named with the instrument's prefix (several
    # questionnaires share the page), the condition in the attributes survey.js reads.
    assert 'id="q-mobility_aid-uses_aid"' in html
    assert ('id="q-mobility_aid-aid_type" data-enable-question="q-mobility_aid-uses_aid" '
            'data-enable-name="mobility_aid-uses_aid" data-enable-operator="=" '
            'data-enable-answers="1"') in html
    assert 'data-enable-number="2 of Getting about"' in html
    assert 'id="condition-status" aria-live="polite"' in html
    assert '<script src="/static/js/survey.js" defer></script>' in html
    # Without JavaScript each shows, with its note (hidden only by the script).
    assert html.count("Answer only if you answered “Yes” to question 1.") == 2
    assert ' hidden' not in html.split('id="q-mobility_aid-aid_type"')[1].split(">")[0]


PATIENTS = """patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date
C-001,BMC,MAIN,female,61,27.4,30,2026-05-01,2026-05-04
"""


def responses(**answers) -> str:
    return "patient,timepoint,instrument,item,value,completed_date\n" + "".join(
        f"C-001,baseline,mobility_aid,{code},{value},2026-05-04\n"
        for code, value in answers.items())


def run_import(tmp_path, text):
    (tmp_path / "p.csv").write_text(PATIENTS, encoding="utf-8")
    (tmp_path / "r.csv").write_text(text, encoding="utf-8")
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())


def test_an_import_refuses_an_answer_to_a_question_that_does_not_apply(
        baseline, tmp_path, capsys):
    with pytest.raises(CommandError):
        run_import(tmp_path, responses(uses_aid=0, aid_type=2, stairs=1, driving=9,
                                       shopping=2))
    err = capsys.readouterr().err
    assert ("responses.csv line 3, column value: C-001 baseline mobility_aid: aid_type is "
            "answered, but it is asked only if uses_aid is 1 (Yes): leave it empty") in err
    assert not Response.objects.exists()


def test_an_import_takes_not_applicable_and_leaves_questions_not_asked_out(
        baseline, tmp_path, capsys):
    run_import(tmp_path, responses(uses_aid=0, aid_type="", stairs=1, driving=9, shopping=2))
    response = Response.objects.get(state="completed", source="import")
    assert response.answers["driving"] == 9
    # 1 + 2 = 3 over 5 x 2 = 30%; no warning about aid questions not asked.
    assert scores_of(response) == {"mobaid_index": 30, "mobaid_answered": 2}
    assert "aid_type" not in capsys.readouterr().err


def test_an_import_refuses_a_value_neither_scored_nor_not_applicable(
        baseline, tmp_path, capsys):
    with pytest.raises(CommandError):
        run_import(tmp_path, responses(uses_aid=0, stairs=1, driving=7, shopping=2))
    assert ("column value: driving must be 0-5 or 9 (not applicable), got 7"
            in capsys.readouterr().err)


def test_exports_keep_the_answer_as_given_and_the_dictionary_says_what_is_not_scored(
        baseline, tmp_path):
    import csv

    run_import(tmp_path, responses(uses_aid=0, stairs=1, driving=9, shopping=2))

    def exported(kind: str) -> list[dict]:
        out = StringIO()
        call_command("export_study", study="BMC-LBP", format=kind, stdout=out)
        return list(csv.DictReader(StringIO(out.getvalue())))

    values = {row["item"]: row["value"] for row in exported("items")
              if row["instrument"] == "mobility_aid"}
    assert values["driving"] == "9"
    assert values.get("aid_type", "") == ""
    rows = {row["column"]: row for row in exported("dictionary")
            if row["file"] == "items: mobility_aid 1.0"}
    assert ("9 = Not applicable: I do not drive (not applicable: not scored)"
            in rows["driving"]["values"])
    assert rows["aid_type"]["missing"] == ("empty: left blank, or not asked (asked only if "
                                           "uses_aid is 1 (Yes))")
