"""Access beyond the matrix: site scope of exports, the second factor, idle sessions,
the audit trail of corrections, voids, withdrawals and index-date changes, and
responses that no code path can delete."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.db import connection, transaction
from django.db.models import ProtectedError
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.audit.services import history
from outcomes.followups.models import Visit
from outcomes.instruments.models import Response
from outcomes.instruments.services import void_response
from patients.models import Contact, Enrolment, Patient, Site
from tests.conftest import DEMO_NOW as NOW
from tests.factories import enrol

TODAY = NOW.date()


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


def member(username: str, group: str, site: Site, **extra) -> User:
    user = User.objects.create_user(username, password="x" * 12, **extra)
    user.groups.add(Group.objects.get(name=group))
    site.staff.add(user)
    return user


def body(reply) -> str:
    """The text of a reply, streamed (the exports) or not."""
    if reply.streaming:
        return b"".join(reply.streaming_content).decode()
    return reply.content.decode()


def rows(reply) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(reply))))


# --- Exports: de-identified by default, identified for data managers, one's own sites ---

def test_the_default_exports_carry_no_name_contact_or_date(client, demo):
    client.force_login(User.objects.get(username="datamanager"))
    for kind in ("tidy", "wide"):
        reply = client.get(reverse("patients:export", kwargs={"code": demo.code, "kind": kind}))
        text = body(reply)
        assert reply.status_code == 200 and "DEMO-0001" in text
        for contact in Contact.objects.all():
            for value in (contact.full_name, contact.email, contact.mobile):
                assert not value or value not in text
        assert "2026-" not in text and "2025-" not in text  # no calendar dates at all


def test_the_identified_export_is_for_data_managers_and_logged(client, demo):
    url = reverse("patients:export", kwargs={"code": demo.code, "kind": "identified"})
    client.force_login(User.objects.get(username="clinician"))
    assert client.get(url).status_code == 403
    manager = User.objects.get(username="datamanager")
    client.force_login(manager)
    reply = client.get(url)
    assert reply.status_code == 200 and "no-store" in reply["Cache-Control"]
    table = {row["patient"]: row for row in rows(reply)}
    contact = Contact.objects.get(patient__code="DEMO-0001")
    assert table["DEMO-0001"]["email"] == contact.email
    assert table["DEMO-0001"]["index_date"] == str(
        Enrolment.objects.get(patient__code="DEMO-0001").index_date)
    record = AuditRecord.objects.get(action="export", actor=manager)
    assert record.reason == "identified export" and record.object_type == "patients.study"


def test_exports_and_lists_hold_only_ones_sites(client, demo):
    north = Site.objects.create(code="NORTH", name="North")
    demo.sites.add(north)
    enrol(demo, "N-1", site="NORTH", index_date=TODAY, today=TODAY,
          contact={"email": "n1@example.org"})
    manager = member("dm-north", "Data managers", north)
    client.force_login(manager)
    for kind in ("wide", "identified"):
        reply = client.get(reverse("patients:export", kwargs={"code": demo.code, "kind": kind}))
        assert [row["patient"] for row in rows(reply)] == ["N-1"]
    tidy = client.get(reverse("patients:export", kwargs={"code": demo.code, "kind": "tidy"}))
    assert "DEMO-" not in body(tidy)
    responders = client.get(reverse("patients:responders", kwargs={"code": demo.code})
                            + "?verdict=")
    assert responders.status_code == 200 and "DEMO-0001" not in responders.content.decode()


# --- The second factor ---

def test_a_study_that_requires_a_second_factor_holds_staff_at_the_code(client, demo):
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    demo.require_two_factor = True
    demo.save()
    clinician = User.objects.get(username="clinician")
    client.force_login(clinician)
    results = reverse("patients:results", kwargs={"code": demo.code})
    reply = client.get(results)
    assert reply.status_code == 302 and reply["Location"].startswith("/accounts/two-factor/")
    setup = client.get(reply["Location"])
    page = setup.content.decode()
    assert "Set up your second factor" in page and "<svg" in page
    device = TOTPDevice.objects.get(user=clinician, confirmed=False)
    wrong = client.post(reply["Location"], {"token": "000000", "next": results})
    assert "not right" in wrong.content.decode()
    assert client.get(results).status_code == 302  # still held
    # django-otp throttles after a failure: wait it out, then the app's current code.
    with time_machine.travel(NOW + dt.timedelta(seconds=5), tick=False):
        device.refresh_from_db()
        code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
        done = client.post(reply["Location"], {"token": code, "next": results})
        assert done.status_code == 302 and done["Location"] == results
        assert client.get(results).status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditRecord.objects.filter(actor=clinician, object_type="auth.user").exists()


def test_the_admin_asks_for_the_second_factor_too(client, demo, settings):
    settings.OUTCOMES_REQUIRE_TWO_FACTOR = True
    client.force_login(User.objects.get(username="datamanager"))
    reply = client.get("/admin/patients/study/")
    assert reply.status_code == 302
    follow = client.get(reply["Location"])
    assert follow.status_code == 302 and follow["Location"].startswith("/accounts/two-factor/")


def test_the_second_factor_never_redirects_off_site(client, demo):
    client.force_login(User.objects.get(username="clinician"))
    page = client.get("/accounts/two-factor/?next=https://evil.example.org/")
    assert 'value="https://evil.example.org/"' not in page.content.decode()


# --- Idle sessions ---

def test_a_staff_session_ends_after_thirty_idle_minutes(client, demo, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST
    client.force_login(User.objects.get(username="coordinator"))
    dashboard = reverse("patients:dashboard", kwargs={"code": demo.code})
    with time_machine.travel(NOW + dt.timedelta(minutes=25), tick=False):
        assert client.get(dashboard).status_code == 200  # active: the clock restarts
    with time_machine.travel(NOW + dt.timedelta(minutes=50), tick=False):
        assert client.get(dashboard).status_code == 200
    with time_machine.travel(NOW + dt.timedelta(minutes=81), tick=False):
        reply = client.get(dashboard)
        assert reply.status_code == 302 and "/accounts/login/" in reply["Location"]


# --- The audit trail: correction, void, withdrawal, index date ---

def test_the_audit_trail_holds_who_what_before_after_and_why(client, demo):
    coordinator = User.objects.get(username="coordinator")
    manager = User.objects.get(username="datamanager")
    enrolment = Enrolment.objects.get(patient__code="DEMO-0002")
    patient_url = {"code": demo.code, "patient_code": "DEMO-0002"}

    client.force_login(manager)
    nrs = Response.objects.filter(visit__enrolment=enrolment, state="completed",
                                  instrument__code="nrs11").first()
    client.post(reverse("response-correct", kwargs={"pk": nrs.pk}),
                {"pain": 1, "reason": "paper form re-read"})
    corrected = AuditRecord.objects.get(action="correct")
    assert corrected.actor == manager and corrected.reason == "paper form re-read"
    assert corrected.changes["answers"][0] == nrs.answers
    assert corrected.changes["answers"][1] == {"pain": 1}

    odi = Response.objects.filter(visit__enrolment=enrolment, state="completed",
                                  instrument__code="odi").first()
    client.post(reverse("response-void", kwargs={"pk": odi.pk}), {"reason": ""})
    assert Response.objects.get(pk=odi.pk).state == "completed"  # no reason, no void
    client.post(reverse("response-void", kwargs={"pk": odi.pk}),
                {"reason": "entered for the wrong patient"})
    voided = AuditRecord.objects.get(action="void", object_type="instruments.response")
    assert voided.changes == {"state": ["completed", "voided"]}
    assert voided.reason == "entered for the wrong patient" and voided.actor == manager
    assert Response.objects.get(pk=odi.pk).state == "voided"

    client.force_login(coordinator)
    client.post(reverse("patients:index-date", kwargs=patient_url),
                {"index_date": str(enrolment.index_date + dt.timedelta(days=3)),
                 "reason": "procedure moved"})
    client.post(reverse("patients:status", kwargs=patient_url),
                {"status": "withdrawn", "reason": "moved abroad", "confirmed": "on"})
    enrolment.refresh_from_db()
    assert enrolment.status == "withdrawn"
    withdrawal = AuditRecord.objects.get(action="status", object_id=str(enrolment.pk))
    assert withdrawal.actor == coordinator and withdrawal.reason == "moved abroad"
    assert withdrawal.changes["status"] == ["active", "withdrawn"]
    moved = AuditRecord.objects.get(reason="procedure moved", object_type="patients.enrolment")
    assert moved.changes["index_date"][1] == str(enrolment.index_date)
    # Staff read it on the patient's page.
    page = client.get(reverse("patients:patient", kwargs=patient_url)).content.decode()
    assert "moved abroad" in page and "procedure moved" in page
    assert [r.action for r in history(enrolment)][:2] == ["status", "update"]


def test_a_voided_response_leaves_the_results_and_reopens_its_visit(demo):
    visit = (Visit.objects.filter(enrolment__patient__code="DEMO-0001", status="completed")
             .order_by("-target_date").first())
    odi = visit.responses.get(instrument__code="odi", state="completed")
    void_response(response=odi, reason="duplicate paper entry", actor=None)
    visit.refresh_from_db()
    assert visit.status in ("open", "missed") and visit.completed_at is None
    from outcomes.instruments.models import VisitScores

    stored = VisitScores.objects.filter(visit=visit).first()
    assert stored is None or "odi" not in stored.values  # out of the results
    with pytest.raises(ValueError, match="reason"):
        void_response(response=visit.responses.get(instrument__code="nrs11"), reason=" ",
                      actor=None)


def test_the_audit_log_cannot_be_edited_from_the_app(client, demo):
    record = AuditRecord.objects.first()
    record.reason = "rewritten"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        record.delete()
    admin_user = User.objects.create_superuser("root", "r@example.org", "x" * 12)
    client.force_login(admin_user)
    change = client.get(f"/admin/audit/auditrecord/{record.pk}/change/")
    assert change.status_code == 200 and 'name="reason"' not in change.content.decode()
    assert client.post(f"/admin/audit/auditrecord/{record.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert AuditRecord.objects.get(pk=record.pk).reason != "rewritten"


# --- No code path deletes a response ---

def test_no_code_path_deletes_a_response(client, demo):
    response = Response.objects.filter(state="completed").first()
    count = Response.objects.count()
    with pytest.raises(PermissionError):
        response.delete()
    with pytest.raises(PermissionError):
        Response.objects.filter(pk=response.pk).delete()
    with pytest.raises(PermissionError):
        Response.objects.all().delete()
    # Deleting what holds responses is refused by the foreign keys (PROTECT).
    for holder in (response.visit, response.visit.enrolment, response.visit.enrolment.patient,
                   demo):
        with pytest.raises(ProtectedError), transaction.atomic():
            holder.delete()
    # The admin offers no delete, neither per object nor as a bulk action.
    client.force_login(User.objects.create_superuser("root", "r@example.org", "x" * 12))
    assert client.post(f"/admin/instruments/response/{response.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    changelist = client.get("/admin/instruments/response/").content.decode()
    assert "delete_selected" not in changelist
    assert Response.objects.count() == count
    assert Patient.objects.filter(pk=response.visit.enrolment.patient_id).exists()


@pytest.mark.postgres
def test_postgresql_itself_refuses_to_delete_a_response(demo):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's; CI runs this in its PostgreSQL pass")
    from django.db import DatabaseError

    response = Response.objects.filter(state="completed").first()
    with pytest.raises(DatabaseError, match="never deleted"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("DELETE FROM instruments_response WHERE id = %s", [response.pk])
    assert Response.objects.filter(pk=response.pk).exists()


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "TRUNCATE instruments_response CASCADE",
    "TRUNCATE audit_auditrecord",
    "DELETE FROM audit_auditrecord",
    "UPDATE audit_auditrecord SET reason = 'rewritten'",
])
def test_postgresql_itself_refuses_to_empty_or_rewrite_responses_and_the_audit(
        demo, statement):
    if connection.vendor != "postgresql":
        pytest.skip("the triggers are PostgreSQL's; CI runs this in its PostgreSQL pass")
    from django.db import DatabaseError

    responses, records = Response.objects.count(), AuditRecord.objects.count()
    assert records > 0
    with pytest.raises(DatabaseError, match="never"), transaction.atomic(), \
            connection.cursor() as cursor:
        # The test settings allow TRUNCATE (Django empties test databases with it):
        # this session takes that back, as every production session is.
        cursor.execute("SET LOCAL outcomes.allow_truncate = off")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the test's own pending checks
        cursor.execute(statement)
    assert (Response.objects.count(), AuditRecord.objects.count()) == (responses, records)
    assert not AuditRecord.objects.filter(reason="rewritten").exists()


# --- The admin writes the audit trail too ---

def test_an_admin_edit_of_clinical_data_is_audited_and_deletes_are_refused(client, demo):
    root = User.objects.create_superuser("root", "r@example.org", "x" * 12)
    client.force_login(root)
    patient = Patient.objects.get(code="DEMO-0001")
    url = f"/admin/patients/patient/{patient.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert AuditRecord.objects.filter(action="view", object_type="patients.patient",
                                      actor=root).exists()
    form = page.context["adminform"].form
    data = {name: form[name].value() if form[name].value() is not None else ""
            for name in form.fields}
    data["bmi"] = "31.5"
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[f"{formset.formset.prefix}-{name}"] = management[name].value()
        for inline in formset.formset.forms:
            for name in inline.fields:
                value = inline[name].value()
                data[inline.add_prefix(name)] = "" if value is None else value
    reply = client.post(url, data)
    assert reply.status_code == 302, reply.content.decode()[:2000]
    record = AuditRecord.objects.get(action="update", object_type="patients.patient")
    assert record.actor == root and record.changes["bmi"][1] == "31.5"
    assert client.post(f"/admin/patients/patient/{patient.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    visit = Visit.objects.filter(enrolment__patient=patient).first()
    assert client.post(f"/admin/followups/visit/{visit.pk}/delete/",
                       {"post": "yes"}).status_code == 403
    assert "token" not in str(AuditRecord.objects.filter(actor=root).values_list("changes"))


def test_an_admin_page_refused_to_a_staff_user_is_not_logged_as_a_view(client, demo):
    # Data managers are staff without the Patient permission: the admin answers 403.
    manager = member("dm-refused", "Data managers", Site.objects.get(code="MAIN"),
                     is_staff=True)
    client.force_login(manager)
    patient = Patient.objects.get(code="DEMO-0001")
    assert client.get(f"/admin/patients/patient/{patient.pk}/change/").status_code == 403
    assert not AuditRecord.objects.filter(action="view", actor=manager).exists()
