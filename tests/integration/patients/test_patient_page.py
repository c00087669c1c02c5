"""The patient page a coordinator works from: its buttons, status changes, history."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.urls import reverse

from patients.models import Site
from tests.factories import enrol
from tests.htmltree import parse

TODAY = dt.date(2026, 6, 1)
BUTTON_STYLES = {"btn-primary", "btn-outline-primary", "btn-secondary", "btn-outline-secondary",
                 "btn-outline-dark", "btn-danger", "btn-outline-danger", "btn-link"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, 2, tzinfo=dt.UTC), tick=False):
        yield


def staff(username: str, group: str, site: str = "MAIN") -> User:
    user = User.objects.create_user(username, password="x" * 12)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    Site.objects.get_or_create(code=site, defaults={"name": site})[0].staff.add(user)
    return user


@pytest.fixture
def coordinator(study):
    return staff("coordinator", "Coordinators")


def page_url(study, code: str, name: str = "patient") -> str:
    return reverse(f"patients:{name}", kwargs={"code": study.code, "patient_code": code})


def test_every_button_on_the_patient_page_has_one_style_and_a_label(client, study, coordinator):
    # crispy's Submit with css_class="btn-outline-primary" was also btn-primary: blue on blue.
    enrol(study, "P-1", index_date=TODAY - dt.timedelta(days=30), today=TODAY,
          contact={"email": "p1@example.org"})
    client.force_login(coordinator)
    tree = parse(client.get(page_url(study, "P-1")).content)
    buttons = [node for node in tree.find_all()
               if node.tag in ("button", "input") and "btn" in node.classes]
    labels = {node.attrs.get("value") or node.text for node in buttons}
    assert {"Change status", "Move the index date", "Send the link again"} <= labels
    for node in buttons:
        styles = node.classes & BUTTON_STYLES
        assert len(styles) == 1, f"{node.attrs.get('value') or node.text!r}: {sorted(styles)}"


@pytest.fixture
def manager(study):
    return staff("manager", "Data managers")


@pytest.fixture
def clinician(study):
    return staff("doctor", "Clinicians")


def answer_by_link(visit) -> list:
    from outcomes.instruments.services import save_answers, submit_visit
    from tests.integration.survey.conftest import PAGES

    for item, answers in zip(visit.timepoint.items.order_by("order"), PAGES, strict=True):
        save_answers(visit=visit, instrument=item.instrument, answers=answers)
    return submit_visit(visit=visit)


def history_of(client, study, code: str) -> list[str]:
    tree = parse(client.get(page_url(study, code)).content)
    return [item.text for item in tree.find("ul", cls="patient-history").find_all("li")]


AT = "1 June 2026, 10:02"


def test_the_history_tells_every_change_from_what_to_what_who_and_when(
    client, study, coordinator, manager, clinician
):
    from outcomes.instruments.services import correct_response, enter_visit, void_response
    from tests.integration.survey.conftest import EQ5D, NRS, ODI_10, PROMIS

    # Index 27 April: the baseline window closed on 4 May (missed); the 1-month window
    # is 20 May to 10 June (open).
    enrolment = enrol(study, "H-1", index_date=dt.date(2026, 4, 27), today=TODAY,
                      contact={"email": "old@example.org"})
    m1 = enrolment.visits.get(timepoint__code="m1")
    responses = {r.instrument.code: r for r in answer_by_link(m1)}
    correct_response(response=responses["nrs11"], answers={"pain": 3},
                     reason="paper form says 3", actor=manager)
    void_response(response=responses["odi"], reason="entered for the wrong patient",
                  actor=manager)
    client.force_login(coordinator)
    client.post(reverse("patients:contact", kwargs={"code": study.code, "patient_code": "H-1"}),
                {"full_name": "", "email": "new@example.org", "mobile": "",
                 "preferred_channel": "email", "language": "en"})
    client.post(page_url(study, "H-1", "status"), {"status": "paused", "reason": "in hospital"})
    client.post(page_url(study, "H-1", "index-date"),
                {"index_date": "29 April 2026", "reason": "procedure moved"})
    enter_visit(visit=enrolment.visits.get(timepoint__code="baseline"), source="paper",
                answered_date=dt.date(2026, 5, 30), actor=coordinator,
                answers={"odi": ODI_10, "nrs11": NRS, "eq5d3l": EQ5D, "promis_gh": PROMIS})
    client.post(page_url(study, "H-1", "status"),
                {"status": "withdrawn", "reason": "moved abroad", "confirmed": "on"})

    lines = history_of(client, study, "H-1")
    expected = [
        # Newest first.
        f"12-month visit: scheduled → not applicable (withdrawn: moved abroad) "
        f"— coordinator, {AT}",
        f"6-month visit: scheduled → not applicable (withdrawn: moved abroad) "
        f"— coordinator, {AT}",
        f"3-month visit: scheduled → not applicable (withdrawn: moved abroad) "
        f"— coordinator, {AT}",
        f"1-month visit: open → not applicable (withdrawn: moved abroad) — coordinator, {AT}",
        f"Status: paused → withdrawn (moved abroad) — coordinator, {AT}",
        f"Baseline visit: paper form entered, answered 30 May 2026 (out of window); "
        f"missed → completed — coordinator, {AT}",
        # Index + 365 days, 28 April 2027; the 1-month visit stays open in its new window.
        f"12-month visit: due 27 April 2027 → 29 April 2027 (procedure moved) "
        f"— coordinator, {AT}",
        f"6-month visit: due 24 October 2026 → 26 October 2026 (procedure moved) "
        f"— coordinator, {AT}",
        f"3-month visit: due 26 July 2026 → 28 July 2026 (procedure moved) "
        f"— coordinator, {AT}",
        f"1-month visit: due 27 May 2026 → 29 May 2026 (procedure moved) — coordinator, {AT}",
        f"Baseline visit: due 27 April 2026 → 29 April 2026 (procedure moved) "
        f"— coordinator, {AT}",
        f"Index date: 27 April 2026 → 29 April 2026 (procedure moved) — coordinator, {AT}",
        f"Status: active → paused (in hospital) — coordinator, {AT}",
        f"Contact details changed: email: old@example.org → new@example.org "
        f"— coordinator, {AT}",
        f"1-month visit: completed → open (ODI voided: entered for the wrong patient) "
        f"— manager, {AT}",
        f"ODI at the 1-month visit voided (entered for the wrong patient) — manager, {AT}",
        f"NRS-11 at the 1-month visit corrected: question 1 (Please rate your back pain "
        f"by…): 6 → 3 (paper form says 3) — manager, {AT}",
        f"1-month visit answered: ODI, NRS-11, EQ-5D-3L, PROMIS GH — the patient, by link, {AT}",
        f"Enrolled, index date 27 April 2026 — the system, {AT}",
    ]
    assert lines == expected

    client.force_login(clinician)  # no contact details: the fields named, not their values
    assert f"Contact details changed: email — coordinator, {AT}" in history_of(
        client, study, "H-1")


def test_the_history_costs_the_same_queries_however_long_it_is(
    client, study, coordinator, manager
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from outcomes.instruments.services import void_response

    enrolment = enrol(study, "H-2", index_date=dt.date(2026, 4, 27), today=TODAY,
                      contact={"email": "h2@example.org"})
    client.force_login(coordinator)
    client.get(page_url(study, "H-2"))  # warm the per-process caches
    with CaptureQueriesContext(connection) as short:
        client.get(page_url(study, "H-2"))
    responses = answer_by_link(enrolment.visits.get(timepoint__code="m1"))
    void_response(response=responses[0], reason="wrong patient", actor=manager)
    for reason in ("in hospital", "home again", "in hospital again"):
        client.post(page_url(study, "H-2", "status"),
                    {"status": "paused" if "hospital" in reason else "active", "reason": reason})
    with CaptureQueriesContext(connection) as long:
        lines = history_of(client, study, "H-2")
    assert len(lines) == 7
    assert len(long.captured_queries) == len(short.captured_queries)


def correction_url(response) -> str:
    return reverse("response-correct", kwargs={"pk": response.pk})


@pytest.mark.parametrize(("index", "said", "state"), [
    # Index 27 April: the 1-month window is 20 May to 10 June, open today (1 June).
    (dt.date(2026, 4, 27), "The 1-month visit will be open again, and the patient's link "
                           "will work until 10 June 2026.", "open"),
    # Index 1 April: the 1-month window, 24 April to 15 May, has closed.
    (dt.date(2026, 4, 1), "The 1-month visit will be marked missed: its window closed on "
                          "15 May 2026.", "missed"),
])
def test_the_void_says_what_becomes_of_the_visit_before_it_is_confirmed(
    client, study, manager, index, said, state
):
    from outcomes.followups.models import Visit

    enrolment = enrol(study, "V-1", index_date=index, today=TODAY)
    m1 = enrolment.visits.get(timepoint__code="m1")
    Visit.objects.filter(pk=m1.pk).update(status="open")  # answered while it was open
    odi = next(r for r in answer_by_link(m1) if r.instrument.code == "odi")
    client.force_login(manager)
    page = parse(client.get(correction_url(odi)).content)
    assert page.find("p", id="void-consequence").text == f"What happens to the visit: {said}"
    button = next(b for b in page.find_all("button") if b.text == "Void the response")
    assert button.attrs["aria-describedby"] == "void-consequence"
    client.post(reverse("response-void", kwargs={"pk": odi.pk}), {"reason": "wrong patient"})
    m1.refresh_from_db()
    assert m1.status == state  # what the page said


def test_voiding_a_withdrawn_patients_response_does_not_reopen_the_visit(
    client, study, coordinator, manager
):
    enrolment = enrol(study, "V-2", index_date=dt.date(2026, 4, 27), today=TODAY)
    m1 = enrolment.visits.get(timepoint__code="m1")
    odi = next(r for r in answer_by_link(m1) if r.instrument.code == "odi")
    client.force_login(coordinator)
    client.post(page_url(study, "V-2", "status"),
                {"status": "withdrawn", "reason": "moved abroad", "confirmed": "on"})
    client.force_login(manager)
    page = parse(client.get(correction_url(odi)).content)
    assert page.find("p", id="void-consequence").text == (
        "What happens to the visit: The 1-month visit will be marked not applicable: the "
        "patient is withdrawn, so it will not be asked again.")
    client.post(reverse("response-void", kwargs={"pk": odi.pk}), {"reason": "wrong patient"})
    m1.refresh_from_db()
    assert m1.status == "not_applicable"


def test_a_void_without_a_reason_says_so_at_the_field_and_keeps_the_page(client, study, manager):
    enrolment = enrol(study, "V-3", index_date=dt.date(2026, 4, 27), today=TODAY)
    odi = next(r for r in answer_by_link(enrolment.visits.get(timepoint__code="m1"))
               if r.instrument.code == "odi")
    client.force_login(manager)
    reply = client.post(reverse("response-void", kwargs={"pk": odi.pk}), {"reason": " "})
    assert reply.status_code == 200
    page = parse(reply.content)
    assert [li.text for li in page.find("div", id="void-errors").find_all("li")] == [
        "Reason for voiding: Say why the response is voided."]
    assert page.find("div", id="void-errors").find("a").attrs["href"] == "#div_void_reason"
    assert "Say why the response is voided." in page.find("div", id="div_void_reason").text
    # Shown at the void's address: the correction's form still posts to the correction.
    assert page.find("form", id="correction-form").attrs["action"] == correction_url(odi)
    odi.refresh_from_db()
    assert odi.state == "completed"


def test_a_withdrawal_asks_to_confirm_and_says_what_happens(client, study, coordinator):
    from outcomes.followups.models import Reminder

    enrolment = enrol(study, "W-1", index_date=dt.date(2026, 4, 27), today=TODAY,
                      contact={"email": "w1@example.org"})
    Reminder.objects.create(visit=enrolment.visits.get(timepoint__code="m1"),
                            kind="reminder_1", channel="email")
    client.force_login(coordinator)
    url = page_url(study, "W-1", "status")
    reply = client.post(url, {"status": "withdrawn", "reason": "moved abroad"})
    assert reply.status_code == 200
    enrolment.refresh_from_db()
    assert enrolment.status == "active"  # nothing yet
    page = parse(reply.content)
    assert page.find("h1").text == "Withdraw W-1 from the study?"
    assert [li.text for li in page.find("ul", id="withdrawal-consequences").find_all("li")] == [
        "The 1-month, 3-month, 6-month and 12-month visits will be closed (marked not "
        "applicable).",
        "Completed and missed visits stay as they are, with their answers.",
        "1 message waiting to go will be cancelled, and no more reminders or links will be "
        "sent.",
        "The patient's link will stop working.",
        "A withdrawal cannot be undone here.",
    ]
    confirm = page.find("form", action=url)
    fields = {i.attrs["name"]: i.attrs.get("value") for i in confirm.find_all("input")}
    assert fields | {"csrfmiddlewaretoken": ""} == {
        "csrfmiddlewaretoken": "", "status": "withdrawn", "reason": "moved abroad",
        "confirmed": "on"}
    assert confirm.find("button").text == "Withdraw W-1"
    assert confirm.find("a").attrs["href"] == page_url(study, "W-1")  # or keep them

    client.post(url, fields)
    enrolment.refresh_from_db()
    assert (enrolment.status, enrolment.status_reason) == ("withdrawn", "moved abroad")
    after = parse(client.get(page_url(study, "W-1")).content)
    assert after.find_all("form", id="status-form") == []  # nothing left to change
    assert "A withdrawal is not undone here." in after.find("main").text


def test_a_refused_status_change_keeps_the_status_and_reason_chosen(client, study, coordinator):
    enrol(study, "S-1", index_date=dt.date(2026, 4, 27), today=TODAY)
    client.force_login(coordinator)
    reply = client.post(page_url(study, "S-1", "status"), {"status": "paused", "reason": ""})
    assert reply.status_code == 200
    page = parse(reply.content)
    summary = page.find("div", id="error-summary")
    assert summary.find("h2").text == "The status was not changed. Please check:"
    assert [li.text for li in summary.find_all("li")] == [
        "Reason: Say why (kept in the audit history)."]
    assert summary.find("a").attrs["href"] == "#div_id_reason"
    form = page.find("form", id="status-form")
    assert form.find("option", value="paused").attrs.get("selected") is not None
    assert "Say why (kept in the audit history)." in form.find("div", id="div_id_reason").text

    # Refused by the service: the error at the status, the reason kept as typed.
    client.post(page_url(study, "S-1", "status"),
                {"status": "withdrawn", "reason": "moved abroad", "confirmed": "on"})
    reply = client.post(page_url(study, "S-1", "status"), {"status": "active",
                                                           "reason": "came back"})
    form = parse(reply.content).find("form", id="status-form")
    assert "A withdrawn patient cannot be re-activated here." in form.find(
        "div", id="div_id_status").text
    assert form.find("input", name="reason").attrs["value"] == "came back"


def test_a_correction_without_a_reason_or_an_answer_names_both_at_the_field(
    client, study, manager
):
    # Was "Please check the form:" and nothing after; the 0-10 errors were never shown.
    enrolment = enrol(study, "C-1", index_date=dt.date(2026, 4, 27), today=TODAY)
    nrs = next(r for r in answer_by_link(enrolment.visits.get(timepoint__code="m1"))
               if r.instrument.code == "nrs11")
    client.force_login(manager)
    reply = client.post(correction_url(nrs), {"pain": "", "reason": ""})
    assert reply.status_code == 200
    page = parse(reply.content)
    summary = page.find("div", id="error-summary")
    assert summary.find("h2").text == "The correction is not saved yet. Please check:"
    assert [(a.text, a.attrs["href"]) for a in summary.find_all("a")] == [
        # The question's first 15 words, as the patient's own summary names it.
        ("NRS-11: Please rate your back pain by choosing the number that best describes your "
         "pain on… — choose a number from 0 to 10", "#q-pain"),
        ("Reason for the correction: Say why the answers are corrected.", "#div_id_reason"),
    ]
    question = page.find("div", id="q-pain")
    assert question.find("p", cls="survey-error").text == "Choose a number from 0 to 10."
    assert "Say why the answers are corrected." in page.find("div", id="div_id_reason").text
    nrs.refresh_from_db()
    assert nrs.state == "completed"


def test_a_correction_page_keeps_what_was_typed_when_it_refuses(client, study, manager):
    enrolment = enrol(study, "C-2", index_date=dt.date(2026, 4, 27), today=TODAY)
    nrs = next(r for r in answer_by_link(enrolment.visits.get(timepoint__code="m1"))
               if r.instrument.code == "nrs11")
    client.force_login(manager)
    page = client.post(correction_url(nrs), {"pain": "3", "reason": ""}).content.decode()
    assert 'value="3" id="id_pain_3" checked' in page
