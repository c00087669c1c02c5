"""The coordinator's workspace: worklists, patient page, enrolment, status, resend."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import Reminder, Visit
from patients.models import Enrolment, Site
from tests.factories import bulk_cohort, enrol, staff
from tests.htmltree import parse

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def coordinator(study):
    return staff("coord", "Coordinators")


def dashboard(study, worklist="overdue"):
    return reverse("patients:dashboard", kwargs={"code": study.code}) + f"?list={worklist}"


def bulk_alerts(enrolments, count: int) -> None:
    """Give ``count`` of the enrolments' baseline visits an answered ODI with an alert."""
    from outcomes.alerts.models import AnswerAlert
    from outcomes.instruments.models import Instrument, Response

    odi = Instrument.objects.get(code="odi")
    visits = list(Visit.objects.filter(enrolment__in=enrolments[:count],
                                       timepoint__code="baseline"))
    at = dt.datetime(2026, 5, 30, 9, tzinfo=dt.UTC)
    responses = Response.objects.bulk_create([
        Response(visit=v, instrument=odi, state="completed", completed_at=at) for v in visits])
    AnswerAlert.objects.bulk_create([
        AnswerAlert(response=r, visit=r.visit, enrolment_id=r.visit.enrolment_id,
                    instrument=odi, key="test_alert", value="1", answer="Several days",
                    message="A question the team must see", raised_at=at)
        for r in responses])


@pytest.mark.parametrize("size", [10, 10_000])
def test_the_dashboard_costs_the_same_queries_for_ten_or_ten_thousand_patients(
    client, study, coordinator, size, django_assert_max_num_queries
):
    enrolments = bulk_cohort(study, size, today=TODAY)
    # More answers needing attention than the dashboard lists at once (25), so that
    # their count is a query of its own too.
    bulk_alerts(enrolments, min(size, 30))
    client.force_login(coordinator)
    for worklist in ("overdue", "due", "missed", "upcoming", "failed"):
        # 14 before answer alerts (13 used); + their rows and, past a page, their count.
        with django_assert_max_num_queries(15):
            reply = client.get(dashboard(study, worklist))
        assert reply.status_code == 200
    page = client.get(dashboard(study, "missed")).content.decode()
    assert "C-0" in page
    assert "A question the team must see" in page


def test_worklists_show_overdue_and_missed_visits_with_their_counts(client, study, coordinator):
    enrol(study, "W-1", index_date=TODAY - dt.timedelta(days=35), today=TODAY,
          contact={"email": "w@example.org"})
    client.force_login(coordinator)
    overdue = client.get(dashboard(study, "overdue")).content.decode()
    assert "W-1" in overdue and "1 month" in overdue  # m1: window day 23-44, target day 30
    missed = client.get(dashboard(study, "missed")).content.decode()
    assert "W-1" in missed and "Baseline" in missed  # baseline closed on day 7


def test_a_coordinator_of_another_site_sees_neither_the_study_nor_the_patient(client, study):
    enrol(study, "W-1", index_date=TODAY, today=TODAY)
    outsider = staff("north", "Coordinators", site="NORTH")
    client.force_login(outsider)
    assert client.get(dashboard(study)).status_code == 404
    url = reverse("patients:patient", kwargs={"code": study.code, "patient_code": "W-1"})
    assert client.get(url).status_code == 404


def test_contact_details_are_shown_to_coordinators_only(client, study, coordinator):
    enrol(study, "W-1", index_date=TODAY, today=TODAY,
          contact={"email": "secret@example.org", "full_name": "Jo Secret"})
    url = reverse("patients:patient", kwargs={"code": study.code, "patient_code": "W-1"})
    client.force_login(coordinator)
    assert "secret@example.org" in client.get(url).content.decode()
    assert AuditRecord.objects.filter(action="view", object_type="patients.contact",
                                      actor=coordinator).count() == 1
    clinician = staff("doc", "Clinicians")
    client.force_login(clinician)
    page = client.get(url).content.decode()
    assert "secret@example.org" not in page and "Jo Secret" not in page


def test_enrolling_through_the_form_schedules_visits_and_audits(client, study, coordinator):
    client.force_login(coordinator)
    url = reverse("patients:enrol", kwargs={"code": study.code})
    data = {"code": "N-1", "arm": study.arms.get(code="BMC").pk,
            "site": Site.objects.get(code="MAIN").pk, "sex": "male", "age_at_enrolment": 61,
            "bmi": "28.5", "baseline_opioid_mme": "30", "enrolled_date": "2026-05-25",
            "index_date": "2026-06-01", "email": "n1@example.org", "mobile": "",
            "preferred_channel": "email", "language": "es"}
    reply = client.post(url, data)
    assert reply.status_code == 302
    enrolment = Enrolment.objects.get(patient__code="N-1")
    assert enrolment.visits.count() == 5
    assert AuditRecord.objects.filter(object_type="patients.enrolment", actor=coordinator,
                                      action="create").exists()
    again = client.post(url, data)
    assert "already used in the study" in again.content.decode()


def test_pausing_needs_a_reason_stops_reminders_and_is_audited(client, study, coordinator):
    enrolment = enrol(study, "W-2", index_date=TODAY - dt.timedelta(days=23), today=TODAY,
                      contact={"email": "w2@example.org"})
    client.force_login(coordinator)
    url = reverse("patients:status", kwargs={"code": study.code, "patient_code": "W-2"})
    client.post(url, {"status": "paused", "reason": ""})
    enrolment.refresh_from_db()
    assert enrolment.status == "active"
    client.post(url, {"status": "paused", "reason": "in hospital"})
    enrolment.refresh_from_db()
    assert enrolment.status == "paused"
    record = AuditRecord.objects.get(action="status")
    assert record.reason == "in hospital"
    assert record.changes["status"] == ["active", "paused"]
    from outcomes.followups.reminders import run_reminders
    run_reminders()
    assert mail.outbox == []


def test_a_clinician_cannot_change_a_status(client, study):
    enrol(study, "W-3", index_date=TODAY, today=TODAY)
    client.force_login(staff("doc", "Clinicians"))
    url = reverse("patients:status", kwargs={"code": study.code, "patient_code": "W-3"})
    assert client.post(url, {"status": "withdrawn", "reason": "x"}).status_code == 403


def test_resending_a_link_sends_it_now_and_records_who_asked(
    client, study, coordinator, django_capture_on_commit_callbacks
):
    enrolment = enrol(study, "W-4", index_date=TODAY - dt.timedelta(days=30), today=TODAY,
                      contact={"email": "w4@example.org"})
    visit = enrolment.visits.get(timepoint__code="m1")
    client.force_login(coordinator)
    url = reverse("patients:resend", kwargs={"code": study.code, "patient_code": "W-4",
                                             "visit_id": visit.pk})
    with django_capture_on_commit_callbacks(execute=True):
        reply = client.post(url)
    assert reply.status_code == 302
    reminder = Reminder.objects.get(visit=visit, kind="manual")
    assert reminder.requested_by == coordinator
    assert reminder.status == "sent"
    assert mail.outbox[0].to == ["w4@example.org"]
    # A second resend is allowed: manual sends are not limited to one.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url)
    assert Reminder.objects.filter(visit=visit, kind="manual").count() == 2


def test_completion_rate_is_reported_per_time_point_and_channel(client, study, coordinator):
    bulk_cohort(study, 60, today=TODAY)
    client.force_login(coordinator)
    page = client.get(dashboard(study)).content.decode()
    assert "Completion by reminder channel" in page
    table = parse(page).find("table", cls="w-auto")
    rows = [[cell.text for cell in row.find_all("td")]
            for row in table.find("tbody").find_all("tr")]
    # People words: time points by label, channels by name (were "m1", "sms", "email").
    assert "1 month" in {row[0] for row in rows}
    assert {row[0] for row in rows} <= {"Baseline", "1 month", "3 months", "6 months", "12 months"}
    assert {row[1] for row in rows} == {"Email", "Text message"}


def worklist_rows(page: str) -> dict[str, list[str]]:
    """The worklist's rows, each patient's code to its cells' text."""
    body = parse(page).find("table", cls="table-sm").find("tbody")
    return {cells[0]: cells for cells in (
        [cell.text for cell in row.find_all("td")] for row in body.find_all("tr"))}


def test_the_worklist_names_arms_and_sites_and_says_when_the_next_reminder_goes(
    client, study, coordinator
):
    # Index 27 April: the 1-month window is 20 May (day 23) to 10 June; target 27 May.
    # The default cadence: invitation 20 May, reminders 23 and 27 May, last call 8 June.
    quiet = enrol(study, "R-1", index_date=dt.date(2026, 4, 27), today=TODAY,
                  contact={"email": "r1@example.org"})
    reminded = enrol(study, "R-2", index_date=dt.date(2026, 4, 27), today=TODAY, arm="CONTROL",
                     contact={"email": "r2@example.org"})
    m1 = reminded.visits.get(timepoint__code="m1")
    for kind in ("invitation", "reminder_1", "reminder_2"):
        Reminder.objects.create(visit=m1, kind=kind, channel="email", status="sent")
    Reminder.objects.create(visit=m1, kind="manual", channel="email", status="failed")
    # Index 10 June, enrolled 3 June: the baseline window opens then, the invitation with it.
    enrol(study, "R-3", index_date=dt.date(2026, 6, 10), today=TODAY)
    client.force_login(coordinator)
    overdue = worklist_rows(client.get(dashboard(study, "overdue")).content.decode())
    assert overdue["R-1"][1:4] == ["Bone marrow concentrate + conventional care", "Main clinic",
                                   "1 month"]
    assert overdue["R-1"][7:9] == ["None sent yet", "Today"]  # the backlog goes at the next run
    assert overdue["R-2"][1] == "Conventional care"
    assert overdue["R-2"][7:9] == ["3 sent Last: Sent again by staff: failed (gave up)",
                                   "8 June 2026"]  # the last call
    upcoming = worklist_rows(client.get(dashboard(study, "upcoming")).content.decode())
    assert upcoming["R-3"][3] == "Baseline"
    assert upcoming["R-3"][7:9] == ["None sent yet", "3 June 2026"]
    quiet.status = "paused"
    quiet.save()
    missed = worklist_rows(client.get(dashboard(study, "missed")).content.decode())
    assert missed["R-1"][7:9] == ["None sent yet", "None planned"]  # the baseline, closed


def test_moving_the_index_date_reschedules_open_visits_with_the_reason(client, study,
                                                                       coordinator):
    enrolment = enrol(study, "W-5", index_date=TODAY, today=TODAY)
    client.force_login(coordinator)
    url = reverse("patients:index-date", kwargs={"code": study.code, "patient_code": "W-5"})
    page = reverse("patients:patient", kwargs={"code": study.code, "patient_code": "W-5"})
    assert "Move the index date" in client.get(page).content.decode()
    client.post(url, {"index_date": "2026-06-15", "reason": "procedure postponed"})
    m3 = enrolment.visits.get(timepoint__code="m3")
    assert m3.target_date == dt.date(2026, 6, 15) + dt.timedelta(days=90)
    records = AuditRecord.objects.filter(reason="procedure postponed")
    assert records.filter(object_type="patients.enrolment").get().changes["index_date"] == [
        "2026-06-01", "2026-06-15"]
    assert records.filter(object_type="followups.visit").count() == 5


def test_a_refused_index_date_move_says_why_and_keeps_what_was_typed(client, study, coordinator):
    # Index 1 May; the 1-month visit was completed on 28 May (window 24 May - 14 Jun).
    # Moved to 1 Jun, its window would be 24 Jun - 15 Jul.
    enrolment = enrol(study, "W-6", index_date=dt.date(2026, 5, 1), today=TODAY)
    Visit.objects.filter(enrolment=enrolment, timepoint__code="m1").update(
        status="completed", completed_at=dt.datetime(2026, 5, 28, 9, tzinfo=dt.UTC))
    client.force_login(coordinator)
    url = reverse("patients:index-date", kwargs={"code": study.code, "patient_code": "W-6"})
    reply = client.post(url, {"index_date": "2026-06-01", "reason": "procedure postponed"})
    assert reply.status_code == 200
    page = reply.content.decode()
    summary = parse(page).find("div", id="error-summary")
    assert summary.find("h2").text == "The index date was not moved. Please check:"
    assert [item.text for item in summary.find_all("li")] == [
        "New index date: The 1-month visit was completed on 28 May 2026, outside its window "
        "for this index date (24 June 2026–15 July 2026).",
        "New index date: The 1-month visit (completed on 28 May 2026) would come before the "
        "baseline visit (due 1 June 2026)."]
    field = parse(page).find("div", id="div_id_index_date")
    assert "The 1-month visit was completed on 28 May 2026" in field.text  # at the field too
    assert 'value="2026-06-01"' in page and "procedure postponed" in page
    enrolment.refresh_from_db()
    assert enrolment.index_date == dt.date(2026, 5, 1)
    assert not AuditRecord.objects.filter(reason="procedure postponed").exists()


def patient_page(study, code):
    return reverse("patients:patient", kwargs={"code": study.code, "patient_code": code})


@pytest.mark.parametrize("status", ["paused", "withdrawn"])
def test_a_patient_who_is_not_active_has_no_send_again_button_and_a_resend_is_refused(
    client, study, coordinator, status, django_capture_on_commit_callbacks
):
    enrolment = enrol(study, "W-7", index_date=TODAY - dt.timedelta(days=30), today=TODAY,
                      contact={"email": "w7@example.org"})
    visit = enrolment.visits.get(timepoint__code="m1")
    client.force_login(coordinator)
    assert "Send the link again" in client.get(patient_page(study, "W-7")).content.decode()
    client.post(reverse("patients:status", kwargs={"code": study.code, "patient_code": "W-7"}),
                {"status": status, "reason": "in hospital", "confirmed": "on"})
    assert "Send the link again" not in client.get(patient_page(study, "W-7")).content.decode()
    url = reverse("patients:resend", kwargs={"code": study.code, "patient_code": "W-7",
                                             "visit_id": visit.pk})
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(url, follow=True).content.decode()
    expected = {"paused": "Contact with W-7 is paused: resume the patient to send the link "
                          "again.",
                "withdrawn": "W-7 is withdrawn from the study: no more messages are sent."}
    assert f'alert-danger" role="status">{expected[status]}</div>' in page
    assert "being sent again" not in page
    assert mail.outbox == []


def test_a_withdrawn_patients_link_shows_the_link_not_active_page(client, study, coordinator):
    from outcomes.followups.links import ensure_link

    enrolment = enrol(study, "W-8", index_date=TODAY - dt.timedelta(days=30), today=TODAY)
    token = ensure_link(visit=enrolment.visits.get(timepoint__code="m1"))
    link = reverse("survey:start", kwargs={"token": token})
    assert client.get(link).status_code == 200  # open: the visit's first page
    client.force_login(coordinator)
    client.post(reverse("patients:status", kwargs={"code": study.code, "patient_code": "W-8"}),
                {"status": "withdrawn", "reason": "moved abroad", "confirmed": "on"})
    client.logout()
    reply = client.get(link)
    assert reply.status_code == 404
    assert "survey/not_active.html" in [t.name for t in reply.templates]


WAITS = "The link to the 1-month visit waits for the end of quiet hours."


@pytest.mark.parametrize(("madrid", "said"), [
    # June: Madrid is UTC+2. Quiet hours 20:00-08:00 study time.
    (dt.datetime(2026, 6, 1, 20, 30, tzinfo=dt.UTC),  # 22:30 in Madrid
     f"{WAITS} It will be sent tomorrow at 08:00."),
    (dt.datetime(2026, 6, 1, 1, 0, tzinfo=dt.UTC),  # 03:00 in Madrid
     f"{WAITS} It will be sent at 08:00."),
    (dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC),  # 10:00 in Madrid
     "The link to the 1-month visit is being sent again."),
])
def test_a_resend_in_quiet_hours_says_when_the_link_will_go(
    client, study, coordinator, madrid, said, django_capture_on_commit_callbacks
):
    study.time_zone = "Europe/Madrid"
    study.save(update_fields=["time_zone"])
    enrolment = enrol(study, "W-9", index_date=TODAY - dt.timedelta(days=30), today=TODAY,
                      contact={"email": "w9@example.org"})
    visit = enrolment.visits.get(timepoint__code="m1")
    url = reverse("patients:resend", kwargs={"code": study.code, "patient_code": "W-9",
                                             "visit_id": visit.pk})
    with time_machine.travel(madrid, tick=False), \
            django_capture_on_commit_callbacks(execute=True):
        client.force_login(coordinator)  # sessions end after 30 idle minutes
        page = client.post(url, follow=True).content.decode()
    assert f'role="status">{said}</div>' in page
    reminder = Reminder.objects.get(visit=visit, kind="manual")
    if "quiet" in said:
        assert mail.outbox == [] and reminder.status == "pending"
        # 08:00 in Madrid, the morning after 22:30 or the same morning as 03:00.
        assert reminder.next_attempt_at == dt.datetime(2026, 6, 2 if madrid.hour > 12 else 1, 6,
                                                       tzinfo=dt.UTC)
    else:
        assert [m.to for m in mail.outbox] == [["w9@example.org"]]


def test_the_list_of_studies_names_each_arm_in_words(client, study, coordinator):
    client.force_login(coordinator)
    row = parse(client.get(reverse("home")).content).find("tbody").find("tr")
    assert [cell.text for cell in row.find_all("td")][2] == (
        "Bone marrow concentrate + conventional care; Conventional care")  # was "BMC, CONTROL"
