"""Answers needing attention: PHQ-9 item 9 above "Not at all" raises one alert, however the
response is stored (link, paper, import, correction), seen and acknowledged at the
patient's sites only, audited, and emailed to the site's coordinators once.

The PHQ-9 is the catalogue's file, imported as a data manager does; its item 9 ("thoughts
that you would be better off dead or of hurting yourself") alerts at any answer of 1
("Several days") or more (Kroenke, Spitzer & Williams 2001).
"""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from outcomes.alerts.models import AnswerAlert
from outcomes.alerts.services import acknowledge_alert, notify_alert
from outcomes.alerts.tasks import notify_alert_task, notify_pending_alerts
from outcomes.audit.models import AuditRecord
from outcomes.followups.links import ensure_link
from outcomes.followups.models import TimePointInstrument
from outcomes.instruments.models import Instrument, Response
from outcomes.instruments.services import correct_response, enter_visit
from tests.factories import enrol, staff
from tests.integration.survey.conftest import PAGES

ROOT = Path(__file__).resolve().parents[3]
PHQ9 = ROOT / "outcomes" / "instruments" / "library" / "catalogue" / "phq9.json"
TODAY = dt.date(2026, 6, 1)
CODES = ("odi", "nrs11", "eq5d3l", "promis_gh")
MESSAGE_START = "Thank you for your answers. One of them is something the study team"


def phq(item9: int, rest: int = 0) -> dict[str, int | None]:
    return {**{f"phq{n}": rest for n in range(1, 9)}, "phq9": item9, "phq_difficulty": None}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def phq9(study):
    """The catalogue's PHQ-9, imported and asked at baseline after the four built-ins."""
    out = StringIO()
    call_command("import_instrument", str(PHQ9), stdout=out)
    assert "answers needing attention: phq9_item9" in out.getvalue()
    instrument = Instrument.objects.get(code="phq9")
    TimePointInstrument.objects.create(timepoint=study.timepoints.get(code="baseline"),
                                       instrument=instrument, order=9)
    study.contact_name, study.contact_phone = "The back pain study team", "+44 20 7946 0000"
    study.save()
    return instrument


@pytest.fixture
def coordinator(study):
    user = staff("coord", "Coordinators")
    user.email = "coord@example.org"
    user.save()
    return user


def baseline(study, code="P-1", site="MAIN"):
    enrolment = enrol(study, code, index_date=TODAY, today=TODAY, site=site)
    return enrolment.visits.get(timepoint__code="baseline")


def answer_by_link(client, visit, phq_answers) -> str:
    token = ensure_link(visit=visit)
    for number, answers in enumerate([*PAGES, phq_answers], start=1):
        data = {k: "" if v is None else str(v) for k, v in answers.items()}
        reply = client.post(reverse("survey:step", kwargs={"token": token, "number": number}),
                            {**data, "action": "next"})
        assert reply.status_code == 302, reply.content.decode()[:2000]
    return token


def done_page(client, token) -> str:
    return client.get(reverse("survey:done", kwargs={"token": token})).content.decode()


def dashboard(client, study) -> str:
    return client.get(reverse("patients:dashboard", kwargs={"code": study.code})).content.decode()


# -- raised wherever a response is stored completed --------------------------------------


def test_several_days_on_item_9_by_link_raises_one_alert_and_the_thank_you_says_whom_to_call(
    client, study, phq9,
):
    visit = baseline(study)
    token = answer_by_link(client, visit, phq(1))
    (alert,) = AnswerAlert.objects.all()
    response = Response.objects.get(visit=visit, instrument=phq9)
    assert (alert.response, alert.key, alert.value, alert.answer) == (
        response, "phq9_item9", "1", "Several days")
    assert alert.enrolment == visit.enrolment and alert.visit == visit
    page = done_page(client, token)
    assert MESSAGE_START in page and "local emergency number or a crisis line" in page
    assert f'<p lang="en">{MESSAGE_START}' in page  # the file's language, for screen readers
    assert "+44 20 7946 0000" in page  # the study's own contact, as the pages show it
    record = AuditRecord.objects.get(object_type="alerts.answeralert",
                                     object_id=str(alert.pk))
    assert record.action == "create" and record.changes["answer"] == [None, "Several days"]
    assert record.actor_label == "patient link"


def test_without_any_contact_details_the_thank_you_says_where_to_ask(client, study, phq9,
                                                                     settings):
    study.contact_email = study.contact_phone = ""
    study.save()
    settings.CLINIC_EMAIL = settings.CLINIC_PHONE = ""
    page = done_page(client, answer_by_link(client, baseline(study), phq(1)))
    assert MESSAGE_START in page
    assert "Please ask the clinic that sent you this link how to reach the study team." in page


def test_not_at_all_on_item_9_raises_nothing_and_the_thank_you_is_the_usual_one(
    client, study, phq9,
):
    token = answer_by_link(client, baseline(study), phq(0, rest=3))  # total 24: severe
    assert not AnswerAlert.objects.exists()
    page = done_page(client, token)
    assert MESSAGE_START not in page and "There is nothing more to do for now." in page


def test_a_double_submit_stores_one_alert(client, study, phq9):
    visit = baseline(study)
    token = answer_by_link(client, visit, phq(2))
    data = {k: "" if v is None else str(v) for k, v in phq(2).items()}
    again = client.post(reverse("survey:step", kwargs={"token": token, "number": 5}),
                        {**data, "action": "next"})
    assert again.status_code == 302
    from outcomes.instruments.services import submit_visit

    submit_visit(visit=visit)  # a retried request reaching the service itself
    assert AnswerAlert.objects.count() == 1


def test_the_database_refuses_a_second_alert_of_one_key_for_one_response(study, phq9, client):
    from django.db import IntegrityError, transaction

    answer_by_link(client, baseline(study), phq(1))
    alert = AnswerAlert.objects.get()
    alert.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        alert.save()


def test_a_paper_form_entered_by_staff_raises_it(study, phq9, coordinator):
    visit = baseline(study)
    answers = dict(zip(CODES, PAGES, strict=True))
    enter_visit(visit=visit, answers={**answers, "phq9": phq(3)}, source="paper",
                answered_date=TODAY, actor=coordinator)
    (alert,) = AnswerAlert.objects.all()
    assert (alert.answer, alert.response.source) == ("Nearly every day", "paper")
    record = AuditRecord.objects.get(object_type="alerts.answeralert")
    assert record.actor == coordinator


def test_an_imported_paper_form_raises_it_once_however_often_it_is_imported(
    study, phq9, tmp_path,
):
    (tmp_path / "p.csv").write_text(
        "patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date\n"
        "L-001,BMC,MAIN,female,61,27.4,30,2026-01-06,2026-01-13\n"
        "L-002,CONTROL,MAIN,male,48,31.0,,2026-01-08,2026-01-08\n")
    lines = ["patient,timepoint,instrument,item,value,completed_date"]
    for patient, item9 in (("L-001", 2), ("L-002", 0)):
        lines += [f"{patient},baseline,phq9,{code},{value},2026-01-10"
                  for code, value in phq(item9).items() if value is not None]
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    args = ("import_study", "--study", study.code, "--patients", str(tmp_path / "p.csv"),
            "--responses", str(tmp_path / "r.csv"))
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    assert "1 answer(s) need attention" in out.getvalue()
    (alert,) = AnswerAlert.objects.all()
    assert (alert.enrolment.patient.code, alert.answer, alert.value) == (
        "L-001", "More than half the days", "2")
    assert alert.response.source == "import"
    assert AuditRecord.objects.filter(object_type="alerts.answeralert", action="create",
                                      object_id=str(alert.pk)).count() == 1
    call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert AnswerAlert.objects.count() == 1


# -- corrections -------------------------------------------------------------------------


def completed_phq(client, study, item9, code="P-1"):
    visit = baseline(study, code)
    answer_by_link(client, visit, phq(item9))
    return Response.objects.get(visit=visit, instrument__code="phq9",
                                state=Response.State.COMPLETED)


def test_a_correction_that_newly_gives_several_days_raises_it(client, study, phq9, coordinator):
    response = completed_phq(client, study, 0)
    replacement = correct_response(response=response, answers=phq(1), reason="typo",
                                   actor=coordinator)
    (alert,) = AnswerAlert.objects.all()
    assert alert.response == replacement and alert.answer == "Several days"


def test_a_correction_to_not_at_all_keeps_the_alert_with_a_note(client, study, phq9,
                                                               coordinator):
    response = completed_phq(client, study, 1)
    correct_response(response=response, answers=phq(0), reason="ticked the wrong box",
                     actor=coordinator)
    (alert,) = AnswerAlert.objects.all()
    assert alert.response == response and not alert.acknowledged
    assert "no longer raise this alert" in alert.correction_note
    assert AuditRecord.objects.filter(object_type="alerts.answeralert", action="update",
                                      reason="response corrected").count() == 1


def test_a_correction_keeping_the_same_answer_raises_nothing_new_and_another_answer_does(
    client, study, phq9, coordinator,
):
    response = completed_phq(client, study, 1)
    same = correct_response(response=response, answers={**phq(1), "phq1": 2}, reason="phq1",
                            actor=coordinator)
    assert AnswerAlert.objects.count() == 1
    correct_response(response=same, answers=phq(3), reason="item 9 misread",
                     actor=coordinator)
    assert sorted(AnswerAlert.objects.values_list("answer", flat=True)) == [
        "Nearly every day", "Several days"]


# -- the coordinator's workspace ---------------------------------------------------------


def test_the_dashboard_lists_it_in_people_words_at_the_coordinators_sites_only(
    client, study, phq9, coordinator,
):
    from patients.models import Site

    study.sites.add(Site.objects.create(code="NORTH", name="North clinic"))
    answer_by_link(client, baseline(study, "P-1"), phq(1))
    answer_by_link(client, baseline(study, "P-2", site="NORTH"), phq(2))
    client.force_login(coordinator)
    page = dashboard(client, study)
    attention = page[page.index('id="attention"'):page.index("</section>")]
    assert "Answers needing attention" in attention
    assert "P-1" in attention and "P-2" not in attention  # NORTH is not the coordinator's
    assert "PHQ-9, Baseline" in attention
    assert "thoughts that you would be better off dead or of hurting yourself" in attention
    assert "Several days" in attention and "phq9_item9" not in attention
    assert '<span class="badge text-bg-danger">1</span>' in attention
    north = staff("north", "Coordinators", site="NORTH")
    client.force_login(north)
    other = AnswerAlert.objects.get(enrolment__patient__code="P-1")
    reply = client.post(reverse("patients:acknowledge-alert",
                                kwargs={"code": study.code, "alert_id": other.pk}))
    assert reply.status_code == 404
    assert not AnswerAlert.objects.get(pk=other.pk).acknowledged


def test_acknowledging_with_a_note_is_audited_and_clears_the_row(client, study, phq9,
                                                                coordinator):
    answer_by_link(client, baseline(study), phq(1))
    alert = AnswerAlert.objects.get()
    client.force_login(coordinator)
    reply = client.post(reverse("patients:acknowledge-alert",
                                kwargs={"code": study.code, "alert_id": alert.pk}),
                        {"note": "Called the patient; GP informed.", "back": "patient"})
    assert reply.url == reverse("patients:patient", kwargs={"code": study.code,
                                                            "patient_code": "P-1"})
    alert.refresh_from_db()
    assert alert.acknowledged_by == coordinator and alert.note == "Called the patient; GP informed."
    record = AuditRecord.objects.get(object_type="alerts.answeralert", action="update")
    assert record.actor == coordinator and record.changes["note"] == [
        "", "Called the patient; GP informed."]
    assert record.changes["acknowledged_by_id"] == [None, coordinator.pk]
    assert "None: every answer that needed attention" in dashboard(client, study)
    patient = client.get(reply.url).content.decode()
    assert "Acknowledged by coord" in patient and "GP informed" in patient
    again = client.post(reverse("patients:acknowledge-alert",
                                kwargs={"code": study.code, "alert_id": alert.pk}))
    assert again.status_code == 302
    assert AuditRecord.objects.filter(object_type="alerts.answeralert",
                                      action="update").count() == 1


def test_the_patient_page_offers_the_acknowledge_form(client, study, phq9, coordinator):
    answer_by_link(client, baseline(study), phq(1))
    client.force_login(coordinator)
    page = client.get(reverse("patients:patient", kwargs={"code": study.code,
                                                          "patient_code": "P-1"})).content.decode()
    assert "Answers needing attention" in page and "Several days" in page
    assert 'name="back" value="patient"' in page


# -- the email ---------------------------------------------------------------------------


def test_the_email_goes_once_to_the_sites_coordinators_and_says_nothing_about_the_patient(
    client, study, phq9, coordinator, django_capture_on_commit_callbacks,
):
    staff("clin", "Clinicians").__class__.objects.filter(username="clin").update(
        email="clin@example.org")  # a clinician: not a coordinator, not emailed
    other = staff("far", "Coordinators", site="NORTH")
    other.email = "far@example.org"
    other.save()
    with django_capture_on_commit_callbacks(execute=True):
        answer_by_link(client, baseline(study), phq(1))
    assert len(mail.outbox) == 1  # queued on commit, run (eagerly) by the task
    (message,) = mail.outbox
    assert message.to == ["coord@example.org"]
    assert "A patient in study BMC-LBP has an answer needing attention" in message.body
    assert "http://testserver/studies/BMC-LBP/" in message.body
    for secret in ("P-1", "Several days", "PHQ", "hurting", "dead"):
        assert secret not in message.body and secret not in message.subject
    alert = AnswerAlert.objects.get()
    assert alert.notification == "sent" and alert.notified_at is not None
    assert notify_alert_task.delay(alert.pk).get() == "claimed-elsewhere"
    notify_pending_alerts.delay()
    assert len(mail.outbox) == 1


def test_two_workers_given_one_alert_send_one_email(client, study, phq9, coordinator):
    answer_by_link(client, baseline(study), phq(1))
    alert = AnswerAlert.objects.get()
    assert [notify_alert(alert.pk), notify_alert(alert.pk)] == ["sent", "claimed-elsewhere"]
    assert len(mail.outbox) == 1


def test_without_a_coordinators_email_the_study_contact_is_told(client, study, phq9):
    study.contact_email = "team@example.org"
    study.save()
    answer_by_link(client, baseline(study), phq(1))
    assert notify_alert(AnswerAlert.objects.get().pk) == "sent"
    assert mail.outbox[0].to == ["team@example.org"]


def test_a_failed_send_is_tried_again_by_the_periodic_run(client, study, phq9, coordinator,
                                                           settings):
    answer_by_link(client, baseline(study), phq(1))
    alert = AnswerAlert.objects.get()
    settings.EMAIL_BACKEND = "tests.integration.alerts.test_answer_alerts.BrokenBackend"
    assert notify_alert(alert.pk) == "retry"
    alert.refresh_from_db()
    assert alert.notification == "pending" and "refused" in alert.notify_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notify_pending_alerts.delay()
    alert.refresh_from_db()
    assert alert.notification == "sent" and len(mail.outbox) == 1


def test_acknowledging_needs_no_email_first(client, study, phq9, coordinator):
    answer_by_link(client, baseline(study), phq(1))
    alert = acknowledge_alert(alert=AnswerAlert.objects.get(), actor=coordinator)
    assert alert.acknowledged and alert.note == ""


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("the mail server refused the connection")


def test_a_rescore_that_rewrites_a_responses_scores_raises_what_they_meet_once(client, study,
                                                                              phq9):
    from outcomes.instruments.models import Score
    from outcomes.instruments.services import rescore_responses

    visit = baseline(study)
    answer_by_link(client, visit, phq(1))
    # A response stored before its alert was known: no alert, and scores to recompute.
    AnswerAlert.objects.all().delete()
    Score.objects.filter(response__instrument=phq9).delete()
    assert rescore_responses(instrument="phq9")["changed"] == 1
    (alert,) = AnswerAlert.objects.all()
    assert alert.answer == "Several days"
    assert AuditRecord.objects.get(object_type="alerts.answeralert",
                                   object_id=str(alert.pk)).actor_label == "rescore"
    assert rescore_responses(instrument="phq9")["changed"] == 0
    assert AnswerAlert.objects.count() == 1
