"""The patient's questionnaire by private link: flow, resume, errors, double submit."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
import time_machine
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import Visit
from outcomes.instruments.models import ResponderStatus, Response, Score

from .conftest import EQ5D, NRS, ODI_10, PAGES, PROMIS


def step_url(token, number):
    return reverse("survey:step", kwargs={"token": token, "number": number})


def post(client, token, number, answers, action="next"):
    data = {k: "" if v is None else str(v) for k, v in answers.items()}
    data["action"] = action
    return client.post(step_url(token, number), data)


def test_the_whole_visit_by_link_stores_scores_and_thanks_the_patient(client, visit, token):
    response = client.get(reverse("survey:start", kwargs={"token": token}))
    assert response.status_code == 200
    assert f'href="{step_url(token, 1)}"' in response.content.decode()
    page = client.get(step_url(token, 1))
    assert page.status_code == 200
    assert "Questionnaire 1 of 4" in page.content.decode()
    for number, answers in enumerate(PAGES, start=1):
        reply = post(client, token, number, answers)
        assert reply.status_code == 302, reply.content.decode()[:2000]
    assert reply.url == reverse("survey:done", kwargs={"token": token})
    thanks = client.get(reply.url)
    assert "Thank you" in thanks.content.decode()
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert Response.objects.filter(visit=visit, state="completed").count() == 4
    # ODI: 16 points over 10 sections = 32% (Fairbank & Pynsent 2000 worked example).
    odi = Score.objects.get(response__visit=visit, code="odi")
    assert Fraction(odi.exact) == 32


def test_closing_the_browser_and_reopening_the_link_resumes_where_the_patient_stopped(
    client, visit, token
):
    post(client, token, 1, ODI_10)
    post(client, token, 2, {"pain": 4}, action="save")
    other_device = type(client)()
    resumed = other_device.get(reverse("survey:start", kwargs={"token": token}))
    assert resumed.url == step_url(token, 3)
    page = other_device.get(step_url(token, 2)).content.decode()
    assert 'value="4" id="id_pain_4" checked' in page or ('value="4"' in page and "checked" in page)


def test_a_missing_answer_reshows_the_page_with_every_given_answer_kept(client, visit, token):
    partial = dict(EQ5D, mobility=None)
    post(client, token, 1, ODI_10)
    post(client, token, 2, NRS)
    reply = post(client, token, 3, partial)
    assert reply.status_code == 400
    html = reply.content.decode()
    assert "Please check your answers" in html
    assert '<a href="#q-mobility">EQ-5D-3L: Mobility — choose an answer</a>' in html
    assert 'name="vas" value="65"' in html
    assert Response.objects.filter(visit=visit, instrument__code="eq5d3l").count() == 0


def test_an_out_of_range_post_is_refused_with_a_message_at_the_field(client, visit, token):
    reply = post(client, token, 1, dict(ODI_10, walking=9))
    assert reply.status_code == 400
    html = reply.content.decode()
    assert '<a href="#q-walking">ODI: Walking — choose one of the answers shown</a>' in html
    assert "Select a valid choice" not in html
    assert not Response.objects.exists()


def test_too_many_blank_odi_sections_are_refused(client, visit, token):
    reply = post(client, token, 1, dict(ODI_10, sex_life=None, lifting=None))
    assert reply.status_code == 400
    html = reply.content.decode()
    blank = "choose an answer: at most 1 of the 10 questions may be left blank, and 2 are"
    assert f'<a href="#q-lifting">ODI: Lifting — {blank}</a>' in html
    assert f'<a href="#q-sex_life">ODI: Sex life (if applicable) — {blank}</a>' in html
    # Once in the summary and once at each blank field; nowhere else.
    assert html.count(blank[1:]) == 4
    ok = post(client, token, 1, dict(ODI_10, sex_life=None))
    assert ok.status_code == 302


def test_a_double_submit_stores_one_response_per_instrument(client, visit, token):
    for number, answers in enumerate(PAGES[:3], start=1):
        post(client, token, number, answers)
    first = post(client, token, 4, PROMIS)
    second = post(client, token, 4, PROMIS)
    assert first.status_code == second.status_code == 302
    assert second.url == reverse("survey:done", kwargs={"token": token})
    assert Response.objects.filter(visit=visit).count() == 4
    assert Score.objects.filter(response__visit=visit, code="odi").count() == 1


def test_a_completed_visit_cannot_be_changed_through_the_link(client, visit, token):
    for number, answers in enumerate(PAGES, start=1):
        post(client, token, number, answers)
    again = post(client, token, 2, {"pain": 0})
    assert again.status_code == 302
    assert Response.objects.get(visit=visit, instrument__code="nrs11").answers == NRS


@pytest.mark.parametrize("how", ["unknown", "revoked", "expired", "withdrawn"])
def test_a_link_that_is_not_active_shows_one_friendly_page(client, visit, token, how):
    if how == "unknown":
        token = "x" * 43
    elif how == "revoked":
        Visit.objects.filter(pk=visit.pk).update(token_revoked_at=dt.datetime(2026, 6, 1,
                                                                              tzinfo=dt.UTC))
    elif how == "withdrawn":
        visit.enrolment.status = "withdrawn"
        visit.enrolment.status_reason = "moved away"
        visit.enrolment.save()
    if how == "expired":
        with time_machine.travel(dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)):
            reply = client.get(reverse("survey:start", kwargs={"token": token}))
    else:
        reply = client.get(reverse("survey:start", kwargs={"token": token}))
    assert reply.status_code == 404
    html = reply.content.decode()
    assert "This link is not active" in html
    assert "P-100" not in html


def test_responder_status_is_flagged_the_moment_the_follow_up_is_submitted(client, study):
    from outcomes.followups.links import ensure_link
    from tests.factories import enrol

    index = dt.date(2026, 3, 1)
    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False):
        enrolment = enrol(study, "P-200", index_date=index, today=index)
        base = enrolment.visits.get(timepoint__code="baseline")
        token = ensure_link(visit=base)
        for number, answers in enumerate(PAGES, start=1):
            post(client, token, number, answers)
    with time_machine.travel(dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC), tick=False):
        m1 = enrolment.visits.get(timepoint__code="m1")
        Visit.objects.filter(pk=m1.pk).update(status="open")
        token = ensure_link(visit=m1)
        # ODI 32 -> 22 (exactly 10 points better), NRS 6 -> 4 (exactly 2 better).
        better_odi = dict(ODI_10, lifting=1, sitting=1, standing=1, social_life=1, travelling=1)
        pages = (better_odi, {"pain": 4}, EQ5D, PROMIS)
        for number, answers in enumerate(pages, start=1):
            post(client, token, number, answers)
    verdicts = dict(ResponderStatus.objects.filter(
        enrolment=enrolment, timepoint__code="m1").values_list("rule__code", "verdict"))
    assert verdicts["odi_mcid_10pt"] == "responder"
    assert verdicts["nrs_2pt"] == "responder"
    assert verdicts["nrs_gt2pt"] == "non_responder"
    assert verdicts["primary"] == "responder"


def test_every_saved_answer_and_the_submission_are_in_the_audit_trail(client, visit, token):
    for number, answers in enumerate(PAGES, start=1):
        post(client, token, number, answers)
    records = AuditRecord.objects.filter(object_type="instruments.response")
    assert records.filter(actor_label="patient link").count() >= 8
    first = records.order_by("at", "id").first()
    assert first.changes["answers"][0] == {}


@pytest.mark.parametrize("number", [1, 4])
def test_a_page_costs_the_same_queries_however_many_answers_are_saved(
    client, visit, token, number, django_assert_max_num_queries
):
    with django_assert_max_num_queries(3):  # the visit, its responses, its instruments
        client.get(step_url(token, number))
    for n, answers in enumerate(PAGES[:3], start=1):
        post(client, token, n, answers)
    with django_assert_max_num_queries(3):  # the visit, its responses, its instruments
        client.get(step_url(token, number))


def test_submitting_a_visit_costs_a_fixed_number_of_queries(
    client, visit, token, django_assert_max_num_queries
):
    # 23 on SQLite and PostgreSQL (65 before the submit locked its responses in one query,
    # 39 before each batch of rows was written in one statement); docs/performance.md.
    for n, answers in enumerate(PAGES[:3], start=1):
        post(client, token, n, answers)
    with django_assert_max_num_queries(23):
        reply = post(client, token, 4, PROMIS)
    assert reply.status_code == 302


def test_the_questionnaire_speaks_spanish_and_says_the_instrument_is_english_only(
    client, visit, token
):
    page = client.get(step_url(token, 1), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Cuestionario 1 de 4" in page
    assert "Siguiente" in page
    assert "solo está disponible en inglés" in page
    assert '<form method="post" novalidate lang="en">' in page


def test_guessing_tokens_is_throttled_per_address(client, visit, token, settings):
    from django.core.cache import cache

    cache.clear()
    settings.SURVEY_LINK_FAILURES_ALLOWED = 5
    for n in range(5):
        assert client.get(f"/s/guess{n:040d}/").status_code == 404
    assert client.get("/s/guess-one-more-000000000000000000000000/").status_code == 429
    # Even a real link is refused from that address for a while.
    assert client.get(reverse("survey:start", kwargs={"token": token})).status_code == 429
    other = type(client)(REMOTE_ADDR="10.0.0.9")
    assert other.get(reverse("survey:start", kwargs={"token": token})).status_code == 200
    cache.clear()


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_blank_page_rendered_once_is_the_page_rendered_fresh(language):
    """The per-process copy of an unanswered page equals a fresh rendering of it."""
    from django.utils import translation

    from outcomes.instruments.definitions import INSTRUMENTS
    from outcomes.survey.forms import InstrumentForm, blank_page_html, render_questions

    with translation.override(language):
        for code, definition in INSTRUMENTS.items():
            for max_missing in ({"odi": 0}, {"odi": 1}, {}):
                fresh = render_questions(InstrumentForm(definition=definition,
                                                        max_missing=max_missing))
                cached = blank_page_html(definition, language, tuple(max_missing.items()))
                assert cached == fresh
                assert "checked" not in fresh and "aria-invalid" not in fresh
                # The ODI allows one blank section unless the study says none.
                skips = code == "odi" and max_missing.get("odi", 1) > 0
                assert ('value="" id="id_sex_life_skip"' in fresh) == skips


def questions_part(html: str) -> str:
    """The questions of a page: what the per-process cache may hold."""
    start = html.index('<div class="survey-question')
    return html[start:html.index('<div class="survey-actions')]


@pytest.mark.parametrize("number", [1, 2, 3, 4])
def test_the_cached_blank_page_is_the_page_a_patient_with_only_blank_answers_sees(
    client, visit, token, number
):
    """A saved page whose answers are all blank is rendered fresh; it must look the same."""
    from outcomes.instruments.definitions import INSTRUMENTS
    from outcomes.survey.forms import blank_page_html

    blank_page_html.cache_clear()
    cached = questions_part(client.get(step_url(token, number)).content.decode())
    instrument = visit.timepoint.items.order_by("order")[number - 1].instrument
    codes = INSTRUMENTS[instrument.code].item_codes
    post(client, token, number, dict.fromkeys(codes), action="save")
    assert Response.objects.get(visit=visit, instrument=instrument).answers == \
        dict.fromkeys(codes)
    fresh = questions_part(client.get(step_url(token, number)).content.decode())
    assert fresh == cached
