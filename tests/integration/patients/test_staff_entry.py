"""Paper and telephone questionnaires typed in by a coordinator for a patient's visit."""

from __future__ import annotations

import datetime as dt
import re
import threading
from fractions import Fraction

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.followups.links import ensure_link
from outcomes.followups.models import Visit
from outcomes.instruments.models import ResponderStatus, Response, Score
from outcomes.instruments.services import (
    AlreadyCompleted,
    answered_at,
    enter_visit,
    save_answers,
    submit_visit,
)
from patients.models import Site
from tests.factories import enrol
from tests.integration.survey.conftest import EQ5D, NRS, ODI_10, PAGES, PROMIS
from tests.threads import join_all

TODAY = dt.date(2026, 6, 1)
NOW = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
CODES = ("odi", "nrs11", "eq5d3l", "promis_gh")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def staff(username: str, group: str, site: str = "MAIN") -> User:
    user = User.objects.create_user(username, password="x" * 12)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    Site.objects.get_or_create(code=site, defaults={"name": site})[0].staff.add(user)
    return user


@pytest.fixture
def coordinator(study):
    return staff("coord", "Coordinators")


def entry_url(visit) -> str:
    enrolment = visit.enrolment
    return reverse("patients:visit-entry", kwargs={
        "code": enrolment.study.code, "patient_code": enrolment.patient.code,
        "visit_id": visit.pk})


def patient_url(enrolment) -> str:
    return reverse("patients:patient", kwargs={"code": enrolment.study.code,
                                               "patient_code": enrolment.patient.code})


def form_data(pages=PAGES, *, source="paper", answered="2026-05-30") -> dict[str, str]:
    """The entry page's POST: how and when, then each instrument's answers, prefixed."""
    data = {"source": source, "answered_date": answered}
    for code, answers in zip(CODES, pages, strict=True):
        data |= {f"{code}-{item}": "" if value is None else str(value)
                 for item, value in answers.items()}
    return data


def checked(html: str, name: str, value) -> bool:
    """True if the page's radio button ``name`` = ``value`` is checked."""
    tag = re.search(rf'<input[^>]*name="{name}" value="{value}"[^>]*>', html)
    assert tag, f"no input {name}={value}"
    return " checked" in tag.group(0)


def scores_of(visit) -> dict[str, str]:
    return dict(Score.objects.filter(response__visit=visit, response__state="completed")
                .values_list("code", "exact"))


def by_link(client, visit, pages) -> None:
    token = ensure_link(visit=visit)
    for number, answers in enumerate(pages, start=1):
        data = {k: "" if v is None else str(v) for k, v in answers.items()} | {"action": "next"}
        reply = client.post(reverse("survey:step", kwargs={"token": token, "number": number}),
                            data)
        assert reply.status_code == 302, reply.content.decode()[:1500]


def by_service(visit, pages=PAGES) -> None:
    for item, answers in zip(visit.timepoint.items.order_by("order"), pages, strict=True):
        save_answers(visit=visit, instrument=item.instrument, answers=answers)
    submit_visit(visit=visit)


# ODI v2.1a with section 8 (sex life) left blank: 16 points over 9 sections answered.
ODI_9 = dict(ODI_10, sex_life=None)


def test_a_paper_form_scores_and_flags_exactly_as_the_same_answers_by_link(
    client, study, coordinator
):
    # Two patients, same baseline and same one-month answers: one answers by link,
    # the other's are typed in from paper. Every score and verdict must agree.
    index = TODAY - dt.timedelta(days=30)
    web = enrol(study, "P-WEB", index_date=index, today=index)
    paper = enrol(study, "P-PAPER", index_date=index, today=index)
    with time_machine.travel(dt.datetime.combine(index, dt.time(12), tzinfo=dt.UTC),
                             tick=False):
        for enrolment in (web, paper):
            by_service(enrolment.visits.get(timepoint__code="baseline"))
    month = (ODI_9, {"pain": 3}, dict(EQ5D, mobility=1), PROMIS)
    by_link(client, web.visits.get(timepoint__code="m1"), month)
    client.force_login(coordinator)
    m1 = paper.visits.get(timepoint__code="m1")
    reply = client.post(entry_url(m1), form_data(month, answered=str(TODAY)))
    assert reply.status_code == 302, reply.content.decode()[:3000]

    web_scores = scores_of(web.visits.get(timepoint__code="m1"))
    assert scores_of(m1) == web_scores and len(web_scores) >= 10
    # Published: 16 points over 9 sections answered = 16/45 = 35.56% (Fairbank 2000).
    assert Fraction(scores_of(m1)["odi"]) == Fraction(1600, 45)

    def verdicts(enrolment):
        return sorted(ResponderStatus.objects.filter(enrolment=enrolment).values_list(
            "timepoint__code", "rule__code", "verdict", "change"))

    assert verdicts(paper) == verdicts(web) and verdicts(web)
    # NRS 6 -> 3 is 3 points better: a responder under "decrease of 2 or more".
    assert ResponderStatus.objects.get(enrolment=paper, timepoint__code="m1",
                                       rule__code="nrs_2pt").verdict == "responder"


def test_the_published_odi_example_entered_on_paper_scores_32_percent(
    client, study, coordinator
):
    enrolment = enrol(study, "P-1", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    assert client.get(entry_url(baseline)).status_code == 200
    assert client.post(entry_url(baseline), form_data()).status_code == 302
    # SPEC 3.1: 16 points over 10 sections = 32%.
    assert Fraction(scores_of(baseline)["odi"]) == 32
    baseline.refresh_from_db()
    assert baseline.status == Visit.Status.COMPLETED


@pytest.mark.parametrize(("source", "label"), [("paper", "Paper form"),
                                               ("phone", "Telephone interview")])
def test_source_who_and_dates_are_stored_and_shown_on_both_pages(
    client, study, coordinator, source, label
):
    enrolment = enrol(study, "P-2", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    reply = client.post(entry_url(baseline), form_data(source=source, answered="2026-05-29"))
    assert reply.status_code == 302
    responses = Response.objects.filter(visit=baseline, state="completed")
    assert responses.count() == 4
    for response in responses:
        assert response.source == source
        assert response.entered_by == coordinator
        assert response.entered_at == NOW
        assert response.completed_at.date() == dt.date(2026, 5, 29)
        assert response.out_of_window is False  # the baseline window opened on 2 May
    line = f"{label}, entered by coord on 1 June 2026; answered 29 May 2026"
    page = client.get(patient_url(enrolment)).content.decode()
    assert line in page and "Out of window" not in page
    clinician = staff("doc", "Clinicians")
    client.force_login(clinician)
    outcomes = client.get(reverse("patients:outcomes", kwargs={
        "code": study.code, "patient_code": "P-2"})).content.decode()
    assert f"Baseline: {line}" in outcomes


def test_a_late_paper_form_completes_a_missed_visit_and_is_flagged_out_of_window(
    client, study, coordinator
):
    # Index date 40 days ago: the baseline window (day -30 to +7) closed a month ago.
    index = TODAY - dt.timedelta(days=40)
    enrolment = enrol(study, "P-3", index_date=index, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    assert baseline.status == Visit.Status.MISSED
    client.force_login(coordinator)
    page = client.get(patient_url(enrolment)).content.decode()
    assert entry_url(baseline) in page
    assert client.post(entry_url(baseline), form_data(answered="2026-05-31")).status_code == 302
    baseline.refresh_from_db()
    assert baseline.status == Visit.Status.COMPLETED
    assert baseline.completed_at.date() == dt.date(2026, 5, 31)
    assert Response.objects.filter(visit=baseline, state="completed",
                                   out_of_window=True).count() == 4
    assert "Out of window" in client.get(patient_url(enrolment)).content.decode()


def test_a_form_answered_inside_the_window_but_typed_in_late_is_not_flagged(
    client, study, coordinator
):
    index = TODAY - dt.timedelta(days=40)
    enrolment = enrol(study, "P-4", index_date=index, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    assert baseline.status == Visit.Status.MISSED
    answered = baseline.window_close_date  # the last day of the window
    client.force_login(coordinator)
    assert client.post(entry_url(baseline), form_data(answered=str(answered))).status_code == 302
    assert not Response.objects.filter(visit=baseline, out_of_window=True).exists()
    baseline.refresh_from_db()
    assert baseline.status == Visit.Status.COMPLETED


@pytest.mark.parametrize(("answered", "message"), [
    ("2026-06-02", "The date answered cannot be in the future (today is 1 June 2026)."),
    ("2026-05-24", "The date answered cannot be before the patient was enrolled "
                   "(25 May 2026)."),
    ("", "Give the date the questionnaire was answered."),
])
def test_a_bad_answer_date_is_refused_naming_the_field_and_every_answer_is_kept(
    client, study, coordinator, answered, message
):
    enrolment = enrol(study, "P-5", index_date=TODAY, today=TODAY)  # enrolled 25 May
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    reply = client.post(entry_url(baseline), form_data(answered=answered))
    assert reply.status_code == 200
    html = reply.content.decode()
    assert f"Date answered: {message}" in html
    assert checked(html, "odi-lifting", 3) and not checked(html, "odi-lifting", 2)
    assert checked(html, "nrs11-pain", 6)
    assert checked(html, "source", "paper")
    assert not Response.objects.filter(visit=baseline).exists()


def test_a_blank_question_is_named_in_words_and_the_rest_is_kept(client, study, coordinator):
    enrolment = enrol(study, "P-6", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    reply = client.post(entry_url(baseline), form_data((ODI_10, {"pain": None}, EQ5D, PROMIS)))
    assert reply.status_code == 200
    html = reply.content.decode()
    assert ('href="#div_id_nrs11-pain">Pain intensity (NRS-11), 1. Please rate your back pain'
            in html)
    assert "choose a number from 0 to 10" in html
    assert 'value="65"' in html  # the EQ VAS typed is still there
    assert not Response.objects.filter(visit=baseline).exists()


def test_an_odi_too_blank_to_score_names_each_blank_section(client, study, coordinator):
    # SPEC 3.7: with two sections blank the ODI is not scorable (at most one may be).
    enrolment = enrol(study, "P-7", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    odi = dict(ODI_10, walking=None, sex_life=None)
    reply = client.post(entry_url(baseline), form_data((odi, NRS, EQ5D, PROMIS)))
    assert reply.status_code == 200
    html = reply.content.decode()
    # Each blank section is named, at its field and in the summary, with the rule.
    for anchor, name in (("walking", "4. Walking"), ("sex_life", "8. Sex life")):
        assert (f'href="#div_id_odi-{anchor}">Oswestry Disability Index, {name}'
                in html), name
    assert "at most 1 of the 10 questions may be left blank, and 2 are" in html
    assert not Response.objects.filter(visit=baseline).exists()


def test_a_refused_blank_form_offers_to_enter_the_blanks_as_on_the_sheet(
    client, study, coordinator
):
    enrolment = enrol(study, "P-7b", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    assert 'name="keep_blanks"' not in client.get(entry_url(baseline)).content.decode()
    odi = dict(ODI_10, walking=None, sex_life=None)
    html = client.post(entry_url(baseline), form_data((odi, NRS, EQ5D, PROMIS))).content.decode()
    assert 'name="keep_blanks"' in html
    assert ('href="#div_id_keep_blanks">Enter the blank questions as left blank: Questions '
            'below are blank. Answer them, or tick this box if the patient left them blank.'
            in html)
    assert not Response.objects.filter(visit=baseline).exists()


def test_a_paper_odi_too_blank_to_score_is_entered_and_recorded_not_scorable(
    client, study, coordinator
):
    # SPEC 3.7: a response too blank for a score is data. The coordinator confirms the
    # sheet has two ODI sections blank (at most one may be); the rest is scored as usual.
    index = TODAY - dt.timedelta(days=30)
    enrolment = enrol(study, "P-7c", index_date=index, today=index)
    with time_machine.travel(dt.datetime.combine(index, dt.time(12), tzinfo=dt.UTC),
                             tick=False):
        by_service(enrolment.visits.get(timepoint__code="baseline"))
    m1 = enrolment.visits.get(timepoint__code="m1")
    client.force_login(coordinator)
    odi = dict(ODI_10, walking=None, sex_life=None)
    reply = client.post(entry_url(m1), form_data((odi, {"pain": 3}, EQ5D, PROMIS),
                                                 answered=str(TODAY)) | {"keep_blanks": "on"},
                        follow=True)
    html = reply.content.decode()
    assert "ODI not scorable: 2 sections unanswered; at most 1 allowed." in html
    response = Response.objects.get(visit=m1, instrument__code="odi")
    assert response.state == "completed"
    assert response.answers["walking"] is None
    assert response.not_scorable["odi"] == "2 sections unanswered; at most 1 allowed"
    assert "odi" not in scores_of(m1) and scores_of(m1)["nrs"] == "3"
    m1.refresh_from_db()
    assert m1.status == Visit.Status.COMPLETED
    status = ResponderStatus.objects.get(enrolment=enrolment, timepoint__code="m1",
                                         rule__code="odi_mcid_10pt")
    assert status.verdict == "not_evaluable"
    assert status.reason == ("ODI not scorable at this visit: 2 sections unanswered; "
                             "at most 1 allowed")
    # The pain rating, 6 -> 3, still gives its verdict.
    assert ResponderStatus.objects.get(enrolment=enrolment, timepoint__code="m1",
                                       rule__code="nrs_2pt").verdict == "responder"
    from outcomes.instruments.models import VisitScores

    row = VisitScores.objects.get(visit=m1).values
    assert "odi" not in row and row["nrs"] == 3


def test_a_bad_value_is_refused_even_with_blanks_kept(client, study, coordinator):
    enrolment = enrol(study, "P-7d", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    data = form_data((dict(ODI_10, walking=None, sex_life=None), NRS, EQ5D, PROMIS))
    reply = client.post(entry_url(baseline), data | {"keep_blanks": "on", "odi-lifting": "9"})
    assert reply.status_code == 200
    assert not Response.objects.filter(visit=baseline).exists()


def test_the_service_completes_a_visit_too_blank_to_score_for_web_and_paper_alike(
    study, coordinator
):
    # submit_visit and enter_visit share the scoring service: neither refuses.
    web = enrol(study, "P-7e", index_date=TODAY, today=TODAY)
    visit = web.visits.get(timepoint__code="baseline")
    by_service(visit, (dict(ODI_10, walking=None, sex_life=None), {"pain": None}, EQ5D, PROMIS))
    assert dict(Response.objects.filter(visit=visit, instrument__code__in=["odi", "nrs11"])
                .values_list("instrument__code", "not_scorable")) == {
        "odi": {"odi": "2 sections unanswered; at most 1 allowed",
                "odi_band": "2 sections unanswered; at most 1 allowed",
                "odi_answered": "2 sections unanswered; at most 1 allowed"},
        "nrs11": {"nrs": "pain unanswered"}}
    paper = enrol(study, "P-7f", index_date=TODAY, today=TODAY)
    visit = paper.visits.get(timepoint__code="baseline")
    enter_visit(visit=visit, source="paper", answered_date=TODAY, actor=coordinator,
                answers={"odi": ODI_10, "nrs11": {"pain": None}, "eq5d3l": EQ5D,
                         "promis_gh": PROMIS})
    assert Response.objects.get(visit=visit, instrument__code="nrs11").not_scorable == {
        "nrs": "pain unanswered"}


def test_a_refusal_by_the_scoring_service_shows_on_its_questionnaire(
    client, study, coordinator, monkeypatch
):
    from outcomes.instruments.scoring import ScoringError
    from patients import views

    def refuses(**kwargs):
        raise ScoringError("odi", "2 sections unanswered; at most 1 allowed")

    monkeypatch.setattr(views, "enter_visit", refuses)
    enrolment = enrol(study, "P-20", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    html = client.post(entry_url(baseline), form_data()).content.decode()
    assert ('href="#instrument-odi">Oswestry Disability Index: Cannot be scored: 2 sections '
            'unanswered; at most 1 allowed.') in html
    assert checked(html, "odi-lifting", 3)


def test_a_completed_visit_cannot_be_entered_again(client, study, coordinator):
    enrolment = enrol(study, "P-8", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    by_service(baseline)
    client.force_login(coordinator)
    assert entry_url(baseline) not in client.get(patient_url(enrolment)).content.decode()
    for reply in (client.get(entry_url(baseline), follow=True),
                  client.post(entry_url(baseline), form_data(), follow=True)):
        html = reply.content.decode()
        assert "The Baseline visit is already completed, so nothing was entered." in html
        assert "a data manager corrects the response" in html
    assert Response.objects.filter(visit=baseline).count() == 4
    assert not Response.objects.filter(visit=baseline, source="paper").exists()


def test_a_visit_whose_window_has_not_opened_takes_no_form(client, study, coordinator):
    # Most likely a form meant for another visit: refused, and offered on no visit yet due.
    enrolment = enrol(study, "P-19", index_date=TODAY, today=TODAY)
    m3 = enrolment.visits.get(timepoint__code="m3")  # opens on day 76
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    page = client.get(patient_url(enrolment)).content.decode()
    assert entry_url(baseline) in page and entry_url(m3) not in page
    reply = client.post(entry_url(m3), form_data(answered=str(TODAY)), follow=True)
    assert "The 3 months window opens on 16 August 2026: a form for this visit can be entered " \
           "from then." in reply.content.decode()
    with pytest.raises(ValidationError, match="window opens on 16 August 2026"):
        enter_visit(visit=m3, answers=dict(zip(CODES, PAGES, strict=True)), source="paper",
                    answered_date=TODAY, actor=coordinator)
    assert not Response.objects.filter(visit=m3).exists()


def test_a_double_submit_stores_one_set_of_responses(client, study, coordinator):
    enrolment = enrol(study, "P-9", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    first = client.post(entry_url(baseline), form_data())
    second = client.post(entry_url(baseline), form_data(), follow=True)
    assert first.status_code == 302
    assert "already completed, so nothing was entered" in second.content.decode()
    assert Response.objects.filter(visit=baseline).count() == 4
    assert Score.objects.filter(response__visit=baseline, code="odi").count() == 1
    with pytest.raises(AlreadyCompleted):  # the service itself refuses the second
        enter_visit(visit=baseline, answers={}, source="paper",
                    answered_date=TODAY, actor=coordinator)


def test_every_entry_is_audited_with_before_and_after(client, study, coordinator):
    enrolment = enrol(study, "P-10", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(coordinator)
    client.post(entry_url(baseline), form_data(source="phone", answered="2026-05-30"))
    nrs = Response.objects.get(visit=baseline, instrument__code="nrs11")
    created = AuditRecord.objects.get(object_type="instruments.response",
                                      object_id=str(nrs.pk), action="create")
    assert created.actor == coordinator
    assert created.changes["answers"] == [None, NRS]
    assert created.changes["source"] == [None, "phone"]
    assert created.changes["entered_by_id"] == [None, coordinator.pk]
    completed = AuditRecord.objects.get(object_type="instruments.response",
                                        object_id=str(nrs.pk), action="update")
    assert completed.changes["state"] == ["in_progress", "completed"]
    visit_record = AuditRecord.objects.get(object_type="followups.visit",
                                           object_id=str(baseline.pk))
    assert visit_record.actor == coordinator
    assert visit_record.changes["status"] == ["open", "completed"]
    assert visit_record.changes["answered_date"] == [None, "2026-05-30"]
    assert visit_record.changes["entered_at"] == [None, NOW.isoformat()]
    assert "Telephone interview entered" in visit_record.reason


def test_answers_the_patient_saved_by_link_are_replaced_and_kept_in_the_audit(
    client, study, coordinator
):
    enrolment = enrol(study, "P-11", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    odi = baseline.timepoint.items.get(order=0).instrument
    save_answers(visit=baseline, instrument=odi, answers={"walking": 5, "lifting": 5})
    client.force_login(coordinator)
    assert "The patient started this visit by link" in client.get(
        entry_url(baseline)).content.decode()
    assert client.post(entry_url(baseline), form_data()).status_code == 302
    response = Response.objects.get(visit=baseline, instrument=odi)
    assert response.answers == ODI_10 and response.source == "paper"
    record = AuditRecord.objects.get(object_type="instruments.response",
                                     object_id=str(response.pk), action="update",
                                     reason="Paper form entered")
    assert record.changes["answers"] == [{"walking": 5, "lifting": 5}, ODI_10]
    assert record.changes["source"] == ["web", "paper"]


def test_another_sites_patient_is_404_and_a_clinician_or_data_manager_403(client, study):
    enrolment = enrol(study, "P-12", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    client.force_login(staff("north", "Coordinators", site="NORTH"))
    assert client.get(entry_url(baseline)).status_code == 404
    assert client.post(entry_url(baseline), form_data()).status_code == 404
    for username, group in (("doc", "Clinicians"), ("dm", "Data managers")):
        client.force_login(staff(username, group))
        assert client.get(entry_url(baseline)).status_code == 403
        assert client.post(entry_url(baseline), form_data()).status_code == 403
    assert not Response.objects.filter(visit=baseline).exists()


def test_a_visit_of_another_patient_is_404(client, study, coordinator):
    mine = enrol(study, "P-13", index_date=TODAY, today=TODAY)
    other = enrol(study, "P-14", index_date=TODAY, today=TODAY)
    url = reverse("patients:visit-entry", kwargs={
        "code": study.code, "patient_code": "P-13",
        "visit_id": other.visits.get(timepoint__code="baseline").pk})
    client.force_login(coordinator)
    assert client.get(url).status_code == 404
    assert mine.visits.count() == 5


def test_the_service_refuses_a_future_date_and_an_unknown_source(study, coordinator):
    enrolment = enrol(study, "P-15", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    answers = dict(zip(CODES, PAGES, strict=True))
    with pytest.raises(ValidationError) as error:
        enter_visit(visit=baseline, answers=answers, source="paper",
                    answered_date=TODAY + dt.timedelta(days=1), actor=coordinator)
    assert "answered_date" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        enter_visit(visit=baseline, answers=answers, source="web", answered_date=TODAY,
                    actor=coordinator)
    assert "source" in error.value.message_dict
    assert not Response.objects.filter(visit=baseline).exists()


def test_a_form_answered_today_is_completed_at_the_time_of_entry_not_later():
    # Midday in the study's zone, unless that is still to come.
    assert answered_at(TODAY, time_zone="UTC", now=NOW) == NOW
    assert answered_at(dt.date(2026, 5, 30), time_zone="Europe/Madrid", now=NOW) == (
        dt.datetime(2026, 5, 30, 10, tzinfo=dt.UTC))  # 12:00 CEST


def test_a_correction_of_a_late_paper_form_stays_flagged(client, study, coordinator):
    from outcomes.instruments.services import correct_response

    index = TODAY - dt.timedelta(days=40)
    enrolment = enrol(study, "P-16", index_date=index, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    answers = dict(zip(CODES, PAGES, strict=True))
    enter_visit(visit=baseline, answers=answers, source="paper", answered_date=TODAY,
                actor=coordinator)
    nrs = Response.objects.get(visit=baseline, instrument__code="nrs11")
    fixed = correct_response(response=nrs, answers={"pain": 5}, reason="misread the sheet",
                             actor=staff("dm", "Data managers"))
    assert fixed.out_of_window is True and fixed.source == "paper"
    client.force_login(coordinator)
    # The page still names who typed the form in first.
    assert "Paper form, entered by coord on 1 June 2026" in client.get(
        patient_url(enrolment)).content.decode()


def test_the_patient_page_costs_the_same_queries_with_entries_or_without(
    client, study, coordinator, django_assert_num_queries
):
    enrolment = enrol(study, "P-17", index_date=TODAY - dt.timedelta(days=100), today=TODAY)
    client.force_login(coordinator)
    client.get(patient_url(enrolment))  # warm the per-process caches
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(conn) as before:
        client.get(patient_url(enrolment))
    answers = dict(zip(CODES, PAGES, strict=True))
    for code in ("baseline", "m1"):
        enter_visit(visit=enrolment.visits.get(timepoint__code=code), answers=answers,
                    source="paper", answered_date=TODAY, actor=coordinator)
    with django_assert_num_queries(len(before.captured_queries)):
        page = client.get(patient_url(enrolment)).content.decode()
    assert page.count("Paper form, entered by coord") == 2


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_entering_at_once_on_postgresql_store_one_set(study, frozen):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this in its PostgreSQL pass")
    enrolment = enrol(study, "P-18", index_date=TODAY, today=TODAY)
    baseline = enrolment.visits.get(timepoint__code="baseline")
    first, second = staff("coord-a", "Coordinators"), staff("coord-b", "Coordinators")
    answers = dict(zip(CODES, PAGES, strict=True))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(actor):
        try:
            barrier.wait()
            enter_visit(visit=baseline, answers=answers, source="paper",
                        answered_date=TODAY, actor=actor)
            outcomes.append("entered")
        except AlreadyCompleted:
            outcomes.append("already")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(actor,), daemon=True)
               for actor in (first, second)]
    for thread in threads:
        thread.start()
    join_all(threads)
    assert sorted(outcomes) == ["already", "entered"]
    assert Response.objects.filter(visit=baseline).count() == 4
    assert Score.objects.filter(response__visit=baseline, code="odi").count() == 1
