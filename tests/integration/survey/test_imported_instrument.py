"""An instrument imported from a file, answered by link and typed in from paper.

``tests/data/instruments/knee_pain.json``: a required 0-10 scale, an optional 0-10 scale,
an optional 0-100 scale (the slider) and an optional choice. The patient's page asks
each as its kind says, may leave the optional ones blank (or clear one answered), and a
score over an item left blank is not scorable, with its reason: data, not an error.
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.urls import reverse

from outcomes.followups.links import ensure_link
from outcomes.followups.models import Visit
from outcomes.instruments.models import Response, Score
from patients.models import Site
from tests.factories import enrol, imported_and_scheduled

DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"
TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def visit(study):
    """Baseline asks the knee-pain file only (imported just now); its window is open."""
    imported_and_scheduled(study, DATA / "knee_pain.json", alone=True)
    enrolment = enrol(study, "P-200", index_date=TODAY, today=TODAY)
    return enrolment.visits.get(timepoint__code="baseline")


def page_url(visit, number=1) -> str:
    return reverse("survey:step", kwargs={"token": ensure_link(visit=visit), "number": number})


def post(client, url, action="next", **answers):
    data = {"knee_pain": "", "night_pain": "", "health_today": "", "walking_aid": ""}
    data.update({k: str(v) for k, v in answers.items()})
    return client.post(url, {**data, "action": action})


def test_each_item_is_asked_as_its_kind_says_and_only_optional_ones_may_be_skipped(
        client, visit):
    html = client.get(page_url(visit)).content.decode()
    assert "How bad has your knee pain been on average?" in html
    assert 'name="knee_pain" value="10"' in html  # 0-10: a button per number
    assert 'id="id_knee_pain_skip"' not in html  # required: no "Skip this question"
    assert 'id="id_night_pain_skip"' in html and 'id="id_walking_aid_skip"' in html
    assert 'name="health_today"' in html and 'inputmode="numeric"' in html  # 0-100: slider
    assert "The best health you can imagine" in html


def test_optional_items_left_blank_complete_the_visit_and_their_score_says_why(client, visit):
    reply = post(client, page_url(visit), knee_pain=4)
    assert reply.status_code == 302, reply.content.decode()[:2000]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    response = Response.objects.get(visit=visit, state="completed")
    assert response.answers == {"knee_pain": 4, "night_pain": None, "health_today": None,
                                "walking_aid": None}
    assert {s.code: Fraction(s.exact) for s in Score.objects.filter(response=response)} == {
        "knee_pain_nrs": 4}
    assert response.not_scorable == {"knee_night_nrs": "night_pain unanswered"}


def test_a_required_item_left_blank_is_asked_for(client, visit):
    reply = post(client, page_url(visit), night_pain=3)
    assert reply.status_code == 400
    assert ('<a href="#q-knee_pain">Knee pain: How bad has your knee pain been on average? '
            "— choose a number from 0 to 10</a>") in reply.content.decode()
    assert not Response.objects.filter(visit=visit, state="completed").exists()


def test_an_optional_answer_can_be_cleared(client, visit):
    url = page_url(visit)
    post(client, url, action="save", knee_pain=2, night_pain=3, health_today=70,
         walking_aid=1)
    saved = Response.objects.get(visit=visit)
    assert saved.answers == {"knee_pain": 2, "night_pain": 3, "health_today": 70,
                             "walking_aid": 1}
    # Back on the page: "Skip this question" for the two choices, the number box emptied.
    reply = post(client, url, knee_pain=2)
    assert reply.status_code == 302
    saved.refresh_from_db()
    assert saved.state == "completed"
    assert saved.answers == {"knee_pain": 2, "night_pain": None, "health_today": None,
                             "walking_aid": None}


def test_staff_type_in_a_paper_form_of_it_as_of_any_instrument(client, visit):
    coordinator = User.objects.create_user("coord", password="x" * 12)
    coordinator.groups.add(Group.objects.get(name="Coordinators"))
    Site.objects.get(code="MAIN").staff.add(coordinator)
    client.force_login(coordinator)
    url = reverse("patients:visit-entry", kwargs={
        "code": "BMC-LBP", "patient_code": "P-200", "visit_id": visit.pk})
    page = client.get(url).content.decode()
    assert "How bad has your knee pain been at night?" in page
    reply = client.post(url, {"source": "paper", "answered_date": "2026-05-30",
                              "knee_nrs-knee_pain": "6", "knee_nrs-night_pain": "8",
                              "knee_nrs-health_today": "", "knee_nrs-walking_aid": "2"})
    assert reply.status_code == 302, reply.content.decode()[:3000]
    response = Response.objects.get(visit=visit, state="completed")
    assert response.source == "paper"
    assert {s.code: Fraction(s.exact) for s in Score.objects.filter(response=response)} == {
        "knee_pain_nrs": 6, "knee_night_nrs": 8}
