"""Moving an index date: completed visits stay, and an impossible schedule is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import Reminder, TimePoint, Visit
from outcomes.followups.services import change_index_date
from tests.factories import enrol

pytestmark = pytest.mark.django_db

INDEX = dt.date(2026, 1, 1)  # enrolled on 25 Dec 2025 (factories.enrol: 7 days before)


def visits_of(enrolment) -> dict[str, Visit]:
    return {v.timepoint.code: v for v in enrolment.visits.select_related("timepoint")}


def complete(visit: Visit, at: dt.datetime) -> None:
    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.COMPLETED, completed_at=at)


def schedule(enrolment) -> list[tuple]:
    return list(enrolment.visits.order_by("pk").values_list(
        "status", "target_date", "window_open_date", "window_close_date"))


def test_a_missed_baseline_moved_after_a_completed_one_month_visit_is_refused(study):
    # The case, in a study on Madrid time: the 1-month visit was completed at
    # 00:30 on 3 Feb in Madrid (23:30 UTC on 2 Feb), the baseline was missed.
    study.time_zone = "Europe/Madrid"
    study.save(update_fields=["time_zone"])
    enrolment = enrol(study, "X-1", index_date=INDEX, today=dt.date(2026, 2, 10))
    visits = visits_of(enrolment)
    assert visits["baseline"].status == Visit.Status.MISSED
    complete(visits["m1"], dt.datetime(2026, 2, 2, 23, 30, tzinfo=dt.UTC))
    pending = Reminder.objects.create(visit=visits["m3"], kind="invitation", channel="email")
    before = schedule(enrolment)

    with pytest.raises(ValidationError) as refused:
        change_index_date(enrolment=enrolment, index_date=dt.date(2026, 3, 1),
                          reason="procedure postponed", today=dt.date(2026, 2, 10))

    # 1 Mar + 23..44 days = 24 Mar..14 Apr; the baseline would be due on 1 Mar.
    assert refused.value.message_dict["index_date"] == [
        "The 1-month visit was completed on 3 February 2026, outside its window for this "
        "index date (24 March 2026–14 April 2026).",
        "The 1-month visit (completed on 3 February 2026) would come before the baseline "
        "visit (due 1 March 2026).",
    ]
    enrolment.refresh_from_db()
    assert enrolment.index_date == INDEX
    assert schedule(enrolment) == before
    assert not AuditRecord.objects.filter(reason="procedure postponed").exists()
    pending.refresh_from_db()
    assert pending.status == Reminder.Status.PENDING


def test_a_move_that_leaves_a_completed_follow_up_before_its_new_window_is_refused(study):
    # The 1-month visit done on 3 Feb (window 24 Jan - 14 Feb); a new index date of
    # 20 Jan would open its window on 12 Feb (20 Jan + 23 days).
    enrolment = enrol(study, "X-2", index_date=INDEX, today=dt.date(2026, 2, 5))
    visits = visits_of(enrolment)
    complete(visits["baseline"], dt.datetime(2026, 1, 2, 9, tzinfo=dt.UTC))
    complete(visits["m1"], dt.datetime(2026, 2, 3, 9, tzinfo=dt.UTC))

    with pytest.raises(ValidationError) as refused:
        change_index_date(enrolment=enrolment, index_date=dt.date(2026, 1, 20),
                          reason="wrong date entered", today=dt.date(2026, 2, 5))

    assert refused.value.message_dict["index_date"] == [
        "The 1-month visit was completed on 3 February 2026, outside its window for this "
        "index date (12 February 2026–5 March 2026).",
    ]
    assert visits_of(enrolment)["m3"].target_date == visits["m3"].target_date


def test_a_move_that_puts_the_baseline_after_a_completed_visit_inside_its_window_is_refused(
    study,
):
    # A data manager let the 1-month window open 35 days early (day -5 to 44): the visit
    # completed on 2 Jan is inside its window for an index date of 5 Jan, but the
    # baseline would then be due after it.
    TimePoint.objects.filter(study=study, code="m1").update(window_before_days=35)
    enrolment = enrol(study, "X-3", index_date=INDEX, today=dt.date(2026, 1, 10))
    complete(visits_of(enrolment)["m1"], dt.datetime(2026, 1, 2, 9, tzinfo=dt.UTC))

    with pytest.raises(ValidationError) as refused:
        change_index_date(enrolment=enrolment, index_date=dt.date(2026, 1, 5),
                          reason="wrong date entered", today=dt.date(2026, 1, 10))

    assert refused.value.message_dict["index_date"] == [
        "The 1-month visit (completed on 2 January 2026) would come before the baseline "
        "visit (due 5 January 2026).",
    ]
    enrolment.refresh_from_db()
    assert enrolment.index_date == INDEX


def test_an_allowed_move_reschedules_the_rest_and_leaves_completed_visits_where_they_were(
    study,
):
    # Baseline done on 5 Jan; the index date moves from 1 Jan to 10 Jan: the baseline's
    # window for the new date is 25 Dec (enrolment) to 17 Jan, so it still holds.
    enrolment = enrol(study, "X-4", index_date=INDEX, today=dt.date(2026, 1, 6))
    visits = visits_of(enrolment)
    complete(visits["baseline"], dt.datetime(2026, 1, 5, 9, tzinfo=dt.UTC))
    pending = Reminder.objects.create(visit=visits["m1"], kind="invitation", channel="email")

    moved = change_index_date(enrolment=enrolment, index_date=dt.date(2026, 1, 10),
                              reason="procedure postponed", today=dt.date(2026, 1, 6))

    after = visits_of(enrolment)
    assert sorted(v.timepoint.code for v in moved) == ["m1", "m12", "m3", "m6"]
    assert after["baseline"].target_date == visits["baseline"].target_date == INDEX
    assert after["m1"].target_date == dt.date(2026, 2, 9)  # 10 Jan + 30 days
    assert AuditRecord.objects.filter(reason="procedure postponed").count() == 5
    pending.refresh_from_db()
    assert pending.status == Reminder.Status.CANCELLED


def test_a_visit_not_applicable_is_neither_moved_nor_checked(study):
    # The 1-month visit was set not applicable while due on 31 Jan; moving the index
    # date to 1 Mar would put the baseline after that date, but it is not happening.
    enrolment = enrol(study, "X-5", index_date=INDEX, today=dt.date(2026, 2, 10))
    Visit.objects.filter(enrolment=enrolment, timepoint__code="m1").update(
        status=Visit.Status.NOT_APPLICABLE)
    before = visits_of(enrolment)["m1"]

    change_index_date(enrolment=enrolment, index_date=dt.date(2026, 3, 1),
                      reason="procedure postponed", today=dt.date(2026, 2, 10))

    after = visits_of(enrolment)
    assert after["baseline"].target_date == dt.date(2026, 3, 1)
    assert (after["m1"].status, after["m1"].target_date) == (
        Visit.Status.NOT_APPLICABLE, before.target_date)


def test_scheduling_an_enrolment_again_creates_no_visit(study):
    from outcomes.followups.services import schedule_visits

    enrolment = enrol(study, "X-6", index_date=INDEX, today=INDEX)
    assert schedule_visits(enrolment=enrolment, today=INDEX) == []
    assert enrolment.visits.count() == 5


def test_a_move_makes_an_open_visit_whose_window_moves_later_scheduled_again(study):
    # On 25 Jan the 1-month window of index 1 Jan (24 Jan - 14 Feb) is open; for an index
    # date of 10 Jan it opens on 2 Feb, so on 25 Jan the visit is not open yet.
    enrolment = enrol(study, "X-7", index_date=INDEX, today=dt.date(2026, 1, 25))
    assert visits_of(enrolment)["m1"].status == Visit.Status.OPEN
    sent = Reminder.objects.create(visit=visits_of(enrolment)["m1"], kind="invitation",
                                   channel="email", status=Reminder.Status.SENT)

    change_index_date(enrolment=enrolment, index_date=dt.date(2026, 1, 10),
                      reason="procedure postponed", today=dt.date(2026, 1, 25))

    m1 = visits_of(enrolment)["m1"]
    assert (m1.status, m1.window_open_date) == (Visit.Status.SCHEDULED, dt.date(2026, 2, 2))
    record = AuditRecord.objects.get(object_type="followups.visit", object_id=str(m1.pk))
    assert record.changes["status"] == ["open", "scheduled"]
    sent.refresh_from_db()
    assert sent.status == Reminder.Status.SENT  # what went stays on record as sent


def test_moving_the_index_date_to_the_date_it_has_moves_and_audits_no_visit(study):
    enrolment = enrol(study, "X-8", index_date=INDEX, today=INDEX)
    assert change_index_date(enrolment=enrolment, index_date=INDEX, reason="checked",
                             today=INDEX) == []
    assert not AuditRecord.objects.filter(object_type="followups.visit").exists()


def test_a_move_without_a_reason_is_refused(study):
    enrolment = enrol(study, "X-9", index_date=INDEX, today=INDEX)
    with pytest.raises(ValidationError) as refused:
        change_index_date(enrolment=enrolment, index_date=dt.date(2026, 1, 10), reason="  ",
                          today=INDEX)
    assert refused.value.message_dict == {"reason": ["Say why the index date changes."]}
    enrolment.refresh_from_db()
    assert enrolment.index_date == INDEX
