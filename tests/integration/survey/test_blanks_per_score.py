"""Blanks on the patient's page follow each score's allowance (the file's, or the study's).

``tests/data/instruments/blank_rules.json``: ``work`` is required and in no score, so it
must be answered; a1-a4 are ``sub_a``, a prorated sum that allows 1 blank (a1 gets "Skip
this question"); ``b1`` is optional, scored alone. The page used to pool the allowances
(the smallest, ``rest_pain``'s 0): a1 could not be skipped.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse

from outcomes.followups.links import ensure_link
from outcomes.followups.models import Visit
from outcomes.instruments.models import Response, Score
from patients.models import Study
from tests.factories import enrol, imported_and_scheduled

DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def visit(study):
    """Baseline asks the blank-rules file only (imported just now); its window is open."""
    imported_and_scheduled(study, DATA / "blank_rules.json", alone=True)
    enrolment = enrol(study, "P-300", index_date=TODAY, today=TODAY)
    return enrolment.visits.get(timepoint__code="baseline")


def page_url(visit) -> str:
    return reverse("survey:step", kwargs={"token": ensure_link(visit=visit), "number": 1})


def post(client, visit, **answers):
    data = dict.fromkeys(("work", "a1", "a2", "a3", "a4", "b1"), "")
    data.update({k: str(v) for k, v in answers.items()})
    return client.post(page_url(visit), {**data, "action": "next"})


def test_a_scores_items_may_be_skipped_and_the_item_in_no_score_may_not(client, visit):
    html = client.get(page_url(visit)).content.decode()
    assert 'id="id_a1_skip"' in html and 'id="id_b1_skip"' in html
    assert 'id="id_work_skip"' not in html


def test_a_blank_within_the_scores_allowance_completes_the_visit(client, visit):
    reply = post(client, visit, work=0, a2=1, a3=2)
    assert reply.status_code == 302, reply.content.decode()[:3000]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    response = Response.objects.get(visit=visit, state="completed")
    # a4 not asked, a1 blank: (1 + 2) / 2 answered x 3 asked = 4.5.
    assert {s.code: Fraction(s.exact) for s in Score.objects.filter(response=response)} == {
        "sub_a": Fraction(9, 2)}
    assert response.not_scorable == {"rest_pain": "b1 unanswered"}


def test_the_required_item_in_no_score_left_blank_is_asked_for_by_name(client, visit):
    reply = post(client, visit, a1=1, a2=1, a3=2)
    assert reply.status_code == 400
    assert ('<a href="#q-work">Back pain at work: Do you work (paid or unpaid)? '
            "— choose an answer</a>") in reply.content.decode()
    assert not Response.objects.filter(visit=visit, state="completed").exists()


def test_more_blanks_than_the_score_allows_names_each_blank_question(client, visit):
    reply = post(client, visit, work=1, a2=1, a3=2, b1=3)
    assert reply.status_code == 400
    html = reply.content.decode()
    for href, question in (("a1", "Bending forward"), ("a4", "Doing your work")):
        assert (f'<a href="#q-{href}">Back pain at work: {question} — choose an answer: at '
                "most 1 of the 4 questions may be left blank, and 2 are</a>") in html
    # "Not applicable" counts against the allowance, and the message says so.
    html = post(client, visit, work=1, a2=1, a3=9, a4=2).content.decode()
    assert ('<a href="#q-a1">Back pain at work: Bending forward — choose an answer: at most '
            "1 of the 4 questions may be left blank or answered “not applicable”, and 2 "
            "are</a>") in html


def test_the_studys_allowance_for_the_score_is_the_one_the_page_follows(client, visit):
    Study.objects.filter(pk=visit.enrolment.study_id).update(max_missing={"sub_a": 0})
    assert 'id="id_a1_skip"' not in client.get(page_url(visit)).content.decode()
    reply = post(client, visit, work=0, a2=1, a3=2)
    assert reply.status_code == 400
    assert ('<a href="#q-a1">Back pain at work: Bending forward — choose an answer</a>'
            in reply.content.decode())
