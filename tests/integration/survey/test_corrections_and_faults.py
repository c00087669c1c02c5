"""Corrections with a reason, revoked links, concurrent submits and database faults."""

from __future__ import annotations

from fractions import Fraction

import pytest
from django.contrib.auth.models import Permission, User
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.followups.links import ensure_link, revoke_link
from outcomes.instruments.models import ResponderStatus, Response, Score
from outcomes.instruments.services import correct_response, save_answers, submit_visit
from patients.models import Site
from tests.threads import at_once

from .conftest import NRS, ODI_10, PAGES


def fill(visit) -> list[Response]:
    for item, answers in zip(visit.timepoint.items.order_by("order"), PAGES, strict=True):
        save_answers(visit=visit, instrument=item.instrument, answers=answers)
    return submit_visit(visit=visit)


@pytest.fixture
def coordinator(db):
    user = User.objects.create_user("coord", password="x" * 12)
    user.user_permissions.add(Permission.objects.get(codename="change_response"))
    Site.objects.get(code="MAIN").staff.add(user)
    return user


def test_a_correction_keeps_the_original_rescores_and_audits_the_reason(visit, coordinator):
    responses = fill(visit)
    nrs = next(r for r in responses if r.instrument.code == "nrs11")
    fixed = correct_response(response=nrs, answers={"pain": 3}, reason="paper form says 3",
                             actor=coordinator)
    nrs.refresh_from_db()
    assert nrs.state == "corrected" and fixed.supersedes == nrs
    assert Score.objects.get(response=fixed, code="nrs").value == 3
    record = AuditRecord.objects.get(action="correct")
    assert record.actor == coordinator
    assert record.reason == "paper form says 3"
    assert record.changes["answers"] == [NRS, {"pain": 3}]
    # The original is never deleted: both rows remain.
    assert Response.objects.filter(visit=visit, instrument__code="nrs11").count() == 2


def test_a_correction_that_blanks_the_answer_records_the_score_not_scorable(
    visit, coordinator
):
    # SPEC 3.7: the paper form turns out to have no pain rating; that is data too.
    nrs = next(r for r in fill(visit) if r.instrument.code == "nrs11")
    fixed = correct_response(response=nrs, answers={"pain": None},
                             reason="the rating on the paper form is blank", actor=coordinator)
    assert fixed.not_scorable == {"nrs": "pain unanswered"}
    assert Response.objects.get(pk=fixed.pk).not_scorable == {"nrs": "pain unanswered"}
    assert not Score.objects.filter(response=fixed).exists()


def test_a_correction_without_a_reason_is_refused(visit, coordinator):
    nrs = next(r for r in fill(visit) if r.instrument.code == "nrs11")
    with pytest.raises(ValueError, match="reason"):
        correct_response(response=nrs, answers={"pain": 3}, reason=" ", actor=coordinator)
    assert Response.objects.get(pk=nrs.pk).state == "completed"


def test_the_correction_page_needs_a_reason_and_saves_with_one(client, visit, coordinator):
    odi = next(r for r in fill(visit) if r.instrument.code == "odi")
    client.force_login(coordinator)
    url = reverse("response-correct", kwargs={"pk": odi.pk})
    assert client.get(url).status_code == 200
    data = {k: str(v) for k, v in ODI_10.items()} | {"walking": "5"}
    assert client.post(url, data).status_code == 200  # no reason: form re-shown
    assert client.post(url, data | {"reason": "typo on entry"}).status_code == 302
    new = Response.objects.get(visit=visit, instrument__code="odi", state="completed")
    # 16 points + 4 more on walking = 20 over 10 sections = 40%.
    assert Fraction(Score.objects.get(response=new, code="odi").exact) == 40


def test_a_coordinator_of_another_site_gets_404(client, visit):
    odi = next(r for r in fill(visit) if r.instrument.code == "odi")
    other = User.objects.create_user("other", password="x" * 12)
    other.user_permissions.add(Permission.objects.get(codename="change_response"))
    Site.objects.create(code="NORTH", name="North").staff.add(other)
    client.force_login(other)
    assert client.get(reverse("response-correct", kwargs={"pk": odi.pk})).status_code == 404


def test_a_revoked_link_stops_and_a_new_one_works(client, visit, token):
    revoke_link(visit=visit, reason="sent to the wrong address")
    assert client.get(reverse("survey:start", kwargs={"token": token})).status_code == 404
    visit.refresh_from_db()
    fresh = ensure_link(visit=visit)
    assert fresh != token
    assert client.get(reverse("survey:start", kwargs={"token": fresh})).status_code == 200
    assert AuditRecord.objects.filter(object_type="followups.visit",
                                      reason="sent to the wrong address").exists()


def test_a_database_error_on_submit_keeps_the_answers_on_the_page(client, visit, token,
                                                                  monkeypatch):
    from outcomes.survey import views

    def broken(**kwargs):
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(views, "save_answers", broken)
    reply = client.post(reverse("survey:step", kwargs={"token": token, "number": 2}),
                        {"pain": "6", "action": "next"})
    assert reply.status_code == 503
    html = reply.content.decode()
    assert "We could not save your answers just now" in html
    assert 'value="6" id="id_pain_6" checked' in html
    monkeypatch.undo()
    retry = client.post(reverse("survey:step", kwargs={"token": token, "number": 2}),
                        {"pain": "6", "action": "next"})
    assert retry.status_code == 302
    assert Response.objects.get(visit=visit, instrument__code="nrs11").answers == {"pain": 6}


def open_baseline(study, code):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this in its PostgreSQL pass")
    import datetime as dt

    from tests.factories import enrol

    enrolment = enrol(study, code, index_date=dt.date(2026, 6, 1), today=dt.date(2026, 6, 1))
    return enrolment, enrolment.visits.get(timepoint__code="baseline")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_submits_on_postgresql_store_one_set_of_responses(study, frozen):
    enrolment, visit = open_baseline(study, "P-300")
    for item, answers in zip(visit.timepoint.items.order_by("order"), PAGES, strict=True):
        save_answers(visit=visit, instrument=item.instrument, answers=answers)
    assert at_once(lambda: submit_visit(visit=visit), lambda: submit_visit(visit=visit)) == []
    assert Response.objects.filter(visit=visit, state="completed").count() == 4
    assert Score.objects.filter(response__visit=visit, code="odi").count() == 1
    assert ResponderStatus.objects.filter(enrolment=enrolment).exists()


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_first_saves_on_postgresql_create_one_response(study, frozen):
    _, visit = open_baseline(study, "P-301")
    odi = visit.timepoint.items.get(order=0).instrument
    errors = at_once(
        lambda: save_answers(visit=visit, instrument=odi, answers={"walking": 1}),
        lambda: save_answers(visit=visit, instrument=odi, answers={"lifting": 2}),
    )
    assert errors == []
    live = Response.objects.get(visit=visit, instrument=odi)
    assert live.answers == {"walking": 1, "lifting": 2}


@pytest.mark.django_db(transaction=True)
def test_a_submit_in_progress_locks_its_own_rows_not_the_study_or_the_instruments(study, frozen):
    # A plain FOR UPDATE over select_related joins also locks the joined study and
    # instrument rows, which every patient shares: submits then queue behind each other.
    _, visit = open_baseline(study, "P-302")
    for item, answers in zip(visit.timepoint.items.order_by("order"), PAGES, strict=True):
        save_answers(visit=visit, instrument=item.instrument, answers=answers)

    def lock_shared_rows():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM patients_study WHERE id = %s FOR UPDATE NOWAIT",
                           [study.pk])
            cursor.execute("SELECT 1 FROM instruments_instrument FOR UPDATE NOWAIT")

    with transaction.atomic():
        submit_visit(visit=visit)
        assert at_once(lock_shared_rows) == []


def nowait(sql: str, params=()):
    """A call that takes a row lock at once or fails: run from another connection."""
    def lock():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql + " FOR UPDATE NOWAIT", params)
    return lock


@pytest.mark.django_db(transaction=True)
def test_an_index_date_change_in_progress_leaves_the_time_points_free(study, frozen):
    # Every submit's verdict upsert checks its foreign key to a time point (FOR KEY
    # SHARE), which a FOR UPDATE on the time point rows would make wait.
    import datetime as dt

    from outcomes.followups.services import change_index_date

    enrolment, _ = open_baseline(study, "P-303")
    with transaction.atomic():
        change_index_date(enrolment=enrolment, index_date=dt.date(2026, 6, 3),
                          reason="wrong date entered", today=dt.date(2026, 6, 1))
        assert at_once(nowait("SELECT 1 FROM followups_timepoint WHERE study_id = %s",
                              [study.pk])) == []


@pytest.mark.django_db(transaction=True)
def test_a_void_in_progress_leaves_the_study_and_enrolment_free(study, frozen):
    from outcomes.instruments.services import void_response

    enrolment, visit = open_baseline(study, "P-304")
    for item, answers in zip(visit.timepoint.items.order_by("order"), PAGES, strict=True):
        save_answers(visit=visit, instrument=item.instrument, answers=answers)
    submit_visit(visit=visit)
    nrs = Response.objects.get(visit=visit, instrument__code="nrs11")
    manager = User.objects.create_user("dm-void")
    with transaction.atomic():
        void_response(response=nrs, reason="entered for the wrong patient", actor=manager)
        assert at_once(
            nowait("SELECT 1 FROM patients_study WHERE id = %s", [study.pk]),
            nowait("SELECT 1 FROM patients_enrolment WHERE id = %s", [enrolment.pk]),
        ) == []
