"""Contact details: coordinators edit them (audited); nobody else sees them."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import Reminder
from patients.models import Contact
from patients.services import update_contact
from tests.factories import enrol, staff

TODAY = dt.date(2026, 6, 1)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def coordinator(study):
    return staff("coord", "Coordinators")


def contact_url(patient_code: str, study_code: str = "BMC-LBP") -> str:
    return reverse("patients:contact", kwargs={"code": study_code, "patient_code": patient_code})


FORM = {"full_name": "Ana Ruiz", "email": "ana@example.org", "mobile": "+34 600 000 001",
        "preferred_channel": "sms", "language": "es"}


def records(contact, action):
    return AuditRecord.objects.filter(object_type="patients.contact",
                                      object_id=str(contact.pk), action=action)


def test_the_service_changes_the_details_and_audits_before_and_after(study, coordinator):
    enrolment = enrol(study, "C-1", index_date=TODAY, today=TODAY,
                      contact={"email": "old@example.org", "full_name": "Ana"})
    contact = update_contact(patient=enrolment.patient, actor=coordinator,
                             email="  new@example.org ", full_name="Ana Ruiz")
    contact.refresh_from_db()
    assert contact.email == "new@example.org" and contact.full_name == "Ana Ruiz"
    record = records(contact, "update").get()
    assert record.actor == coordinator
    assert record.changes == {"full_name": ["Ana", "Ana Ruiz"],
                              "email": ["old@example.org", "new@example.org"]}


def test_the_service_creates_the_details_of_a_patient_who_has_none(study, coordinator):
    enrolment = enrol(study, "C-2", index_date=TODAY, today=TODAY)
    assert not Contact.objects.filter(patient=enrolment.patient).exists()
    contact = update_contact(patient=enrolment.patient, actor=coordinator, **FORM)
    assert Contact.objects.get(patient=enrolment.patient).mobile == "+34 600 000 001"
    assert records(contact, "create").get().changes["preferred_channel"] == [None, "sms"]


@pytest.mark.parametrize(("fields", "field", "message"), [
    ({"preferred_channel": "sms", "mobile": ""}, "mobile",
     "A mobile number is needed for text reminders."),
    ({"email": ""}, "email", "An email address is needed for email reminders."),
    ({"email": "not an address"}, "email", "Enter a valid email address."),
    ({"language": "xx"}, "language", "Value 'xx' is not a valid choice."),
])
def test_the_service_refuses_details_that_do_not_hold_and_changes_nothing(
    study, coordinator, fields, field, message
):
    enrolment = enrol(study, "C-3", index_date=TODAY, today=TODAY,
                      contact={"email": "keep@example.org"})
    with pytest.raises(ValidationError) as error:
        update_contact(patient=enrolment.patient, actor=coordinator, **fields)
    assert error.value.message_dict[field] == [message]
    contact = Contact.objects.get(patient=enrolment.patient)
    assert contact.email == "keep@example.org" and contact.mobile == ""
    assert not records(contact, "update").exists()


def test_the_service_takes_contact_fields_only(study, coordinator):
    enrolment = enrol(study, "C-4", index_date=TODAY, today=TODAY)
    with pytest.raises(TypeError, match="patient_id"):
        update_contact(patient=enrolment.patient, actor=coordinator, patient_id=1)


def test_reminders_waiting_to_be_sent_follow_the_new_channel(study, coordinator):
    enrolment = enrol(study, "C-5", index_date=TODAY, today=TODAY,
                      contact={"email": "c5@example.org"})
    visit = enrolment.visits.get(timepoint__code="baseline")
    waiting = Reminder.objects.create(visit=visit, kind="invitation", channel="email")
    sent = Reminder.objects.create(visit=visit, kind="reminder_1", channel="email",
                                   status="sent")
    update_contact(patient=enrolment.patient, actor=coordinator, mobile="+44 7700 900123",
                   preferred_channel="sms")
    waiting.refresh_from_db()
    sent.refresh_from_db()
    assert waiting.channel == "sms" and sent.channel == "email"


def test_a_coordinator_edits_the_details_from_the_patient_page(client, study, coordinator):
    enrolment = enrol(study, "C-6", index_date=TODAY, today=TODAY,
                      contact={"email": "c6@example.org"})
    client.force_login(coordinator)
    patient_page = reverse("patients:patient", kwargs={"code": study.code, "patient_code": "C-6"})
    before = client.get(patient_page).content.decode()
    assert contact_url("C-6") in before
    # No name on file: the line starts with the email, not with a separator.
    assert '<dd class="col-sm-9">c6@example.org · no mobile' in before
    form = client.get(contact_url("C-6"))
    assert form.status_code == 200 and 'value="c6@example.org"' in form.content.decode()
    contact = Contact.objects.get(patient=enrolment.patient)
    assert records(contact, "view").filter(actor=coordinator).exists()  # disclosure logged
    reply = client.post(contact_url("C-6"), FORM, follow=True)
    assert reply.redirect_chain[-1][0] == patient_page
    html = reply.content.decode()
    assert "Contact details of C-6 saved." in html
    assert "Ana Ruiz" in html and "+34 600 000 001" in html and "Español" in html
    assert records(contact, "update").get().changes["mobile"] == ["", "+34 600 000 001"]


def test_an_error_is_shown_at_the_field_in_words_and_the_typing_is_kept(
    client, study, coordinator
):
    enrol(study, "C-7", index_date=TODAY, today=TODAY, contact={"email": "c7@example.org"})
    client.force_login(coordinator)
    reply = client.post(contact_url("C-7"), FORM | {"mobile": ""})
    assert reply.status_code == 200
    html = reply.content.decode()
    assert ('<a class="alert-link" href="#div_id_mobile">Mobile number: A mobile number is '
            'needed for text reminders.</a>') in html
    assert 'id="id_mobile_error"' in html  # and at the field itself
    assert 'value="Ana Ruiz"' in html and 'value="ana@example.org"' in html


def test_a_patient_without_details_gets_them_through_the_same_form(client, study, coordinator):
    enrolment = enrol(study, "C-8", index_date=TODAY, today=TODAY)
    client.force_login(coordinator)
    assert "No contact details on file yet" in client.get(contact_url("C-8")).content.decode()
    assert client.post(contact_url("C-8"), FORM).status_code == 302
    assert Contact.objects.get(patient=enrolment.patient).email == "ana@example.org"


def test_clinicians_and_data_managers_never_see_or_edit_details(client, study):
    enrolment = enrol(study, "C-9", index_date=TODAY, today=TODAY,
                      contact={"email": "secret@example.org"})
    for username, group in (("doc", "Clinicians"), ("dm", "Data managers")):
        client.force_login(staff(username, group))
        assert client.get(contact_url("C-9")).status_code == 403
        assert client.post(contact_url("C-9"), FORM).status_code == 403
        page = client.get(reverse("patients:patient", kwargs={
            "code": study.code, "patient_code": "C-9"})).content.decode()
        assert contact_url("C-9") not in page and "secret@example.org" not in page
    assert Contact.objects.get(patient=enrolment.patient).email == "secret@example.org"


def test_a_coordinator_of_another_site_gets_404(client, study):
    enrol(study, "C-10", index_date=TODAY, today=TODAY, contact={"email": "c10@example.org"})
    client.force_login(staff("north", "Coordinators", site="NORTH"))
    assert client.get(contact_url("C-10")).status_code == 404
    assert client.post(contact_url("C-10"), FORM).status_code == 404


def test_the_failed_reminder_worklist_links_straight_to_the_contact_form(
    client, study, coordinator
):
    enrolment = enrol(study, "C-11", index_date=TODAY - dt.timedelta(days=23), today=TODAY,
                      contact={"email": "bounced@example.org"})
    visit = enrolment.visits.get(timepoint__code="m1")
    Reminder.objects.create(visit=visit, kind="invitation", channel="email", status="failed",
                            last_error="mailbox unavailable")
    failed = reverse("patients:dashboard", kwargs={"code": study.code}) + "?list=failed"
    client.force_login(coordinator)
    page = client.get(failed).content.decode()
    assert f'href="{contact_url("C-11")}"' in page
    assert "Check contact details" in page
    due = client.get(failed.replace("failed", "due")).content.decode()
    assert "C-11" in due and contact_url("C-11") not in due  # it belongs to the failed list
    client.force_login(staff("doc", "Clinicians"))
    page = client.get(failed).content.decode()
    assert "C-11" in page and contact_url("C-11") not in page
