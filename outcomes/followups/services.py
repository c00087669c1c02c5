"""Writes to the schedule: create and reschedule visits."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import formats, timezone

from patients.models import Enrolment

from .models import TimePoint, Visit
from .schedule import PlannedVisit, move_conflicts, visit_name, visit_state, visit_window


def study_today(study) -> dt.date:
    """Return today's date in the study's time zone."""
    from zoneinfo import ZoneInfo

    return timezone.now().astimezone(ZoneInfo(study.time_zone)).date()


def schedule_visits(*, enrolment: Enrolment, today: dt.date | None = None) -> list[Visit]:
    """Create the enrolment's missing visits, one per time point of its study.

    Existing visits are left alone, so calling this twice creates nothing new.
    """
    today = today or study_today(enrolment.study)
    timepoints = list(TimePoint.objects.filter(study_id=enrolment.study_id))
    existing = set(
        Visit.objects.filter(enrolment=enrolment).values_list("timepoint_id", flat=True)
    )
    visits = planned_visits(enrolment=enrolment, today=today,
                            timepoints=[tp for tp in timepoints if tp.pk not in existing])
    with transaction.atomic():
        Visit.objects.bulk_create(visits)
    return visits


def planned_visits(*, enrolment: Enrolment, timepoints, today: dt.date) -> list[Visit]:
    """Return the (unsaved) visits of ``enrolment`` at ``timepoints``: windows, status.

    Each window counts from the index date and never opens before enrolment; the
    status is the visit's state on ``today``. Bulk loads save many enrolments' at once.
    """
    visits = []
    for tp in timepoints:
        window = visit_window(
            index_date=enrolment.index_date,
            target_day=tp.target_day,
            before=tp.window_before_days,
            after=tp.window_after_days,
            not_before=enrolment.enrolled_date,
        )
        visits.append(
            Visit(
                enrolment=enrolment,
                timepoint=tp,
                target_date=window.target_date,
                window_open_date=window.open_date,
                window_close_date=window.close_date,
                status=visit_state(window, today=today, completed=False),
            )
        )
    return visits


@transaction.atomic
def ensure_schedule(*, study, specs, instruments) -> list[TimePoint]:
    """Create the study's missing time points, each asking ``instruments`` in order.

    Existing time points (maybe edited by a data manager) are left as they are. An
    instrument without questions is refused (``ValidationError``), as the admin does.
    """
    from outcomes.instruments.scheduled import has_items, no_items_message

    from .models import TimePointInstrument

    empty = [no_items_message(instrument) for instrument in instruments
             if not has_items(instrument)]
    if empty:
        raise ValidationError(empty)

    timepoints = []
    for spec in specs:
        tp, created = TimePoint.objects.get_or_create(
            study=study,
            code=spec.code,
            defaults={
                "label": spec.label,
                "target_day": spec.target_day,
                "window_before_days": spec.window_before_days,
                "window_after_days": spec.window_after_days,
                "is_baseline": spec.is_baseline,
            },
        )
        if created:
            TimePointInstrument.objects.bulk_create(
                TimePointInstrument(timepoint=tp, instrument=instrument, order=order)
                for order, instrument in enumerate(instruments)
            )
        timepoints.append(tp)
    return timepoints


@transaction.atomic
def change_index_date(
    *, enrolment: Enrolment, index_date: dt.date, reason: str, actor=None,
    today: dt.date | None = None,
) -> list[Visit]:
    """Move an enrolment's index date and reschedule every visit not yet completed.

    1. Completed visits never move; visits not applicable stay as they are.
    2. The move is refused, with nothing changed, if it would make the schedule
       impossible (``schedule.move_conflicts``): a completed visit outside the
       window its time point has under the new date, or any visit before an
       earlier time point's. The ``ValidationError`` names each visit.
    3. Otherwise the change and each moved visit are audited with the reason;
       reminders not yet sent for a moved visit are cancelled, and the next
       reminder run plans them again from the new window.
    4. A withdrawn patient's visits are re-dated but none opens again: one that the
       new date would make scheduled or open is not applicable, as the withdrawal
       made the visits still to come.
    """
    from zoneinfo import ZoneInfo

    from outcomes.audit.services import record_change, snapshot

    from .models import Reminder

    if not reason.strip():
        raise ValidationError({"reason": "Say why the index date changes."})
    today = today or study_today(enrolment.study)
    try:  # the field's validators: a date in the study range
        Enrolment._meta.get_field("index_date").run_validators(index_date)
    except ValidationError as error:
        raise ValidationError({"index_date": error.messages}) from error
    # The enrolment first, then its visits: the order a withdrawal takes them too, so
    # the two never wait for each other. NO KEY: a submit's responder upsert (a foreign
    # key check, FOR KEY SHARE on the enrolment) under its visit's lock still goes on.
    # Read again under the lock: a colleague may have moved the date or withdrawn the
    # patient since ``enrolment`` was read (the audit's "before" and rule 4 use this).
    locked = Enrolment.objects.select_for_update(no_key=True).get(pk=enrolment.pk)
    withdrawn = locked.status == Enrolment.Status.WITHDRAWN
    visits = list(
        # of=self: a plain FOR UPDATE would also lock the study's shared time point rows,
        # and every submit's verdict upsert (its foreign key check) would wait for them.
        # Completed visits are locked too: a void may reopen one while we check it.
        Visit.objects.select_for_update(of=("self",)).filter(enrolment=enrolment)
        .exclude(status=Visit.Status.NOT_APPLICABLE).select_related("timepoint")
    )
    zone = ZoneInfo(enrolment.study.time_zone)
    windows = {}
    planned = []
    for visit in visits:
        tp = visit.timepoint
        windows[visit.pk] = window = visit_window(
            index_date=index_date, target_day=tp.target_day, before=tp.window_before_days,
            after=tp.window_after_days, not_before=enrolment.enrolled_date,
        )
        completed = visit.status == Visit.Status.COMPLETED
        if completed and visit.completed_at is None:
            continue  # no completion date to check (not written by this app)
        planned.append(PlannedVisit(
            name=visit_name(tp.label), order=tp.target_day, window=window,
            completed_date=visit.completed_at.astimezone(zone).date() if completed else None,
        ))
    conflicts = move_conflicts(planned, written=formats.date_format)
    if conflicts:
        raise ValidationError({"index_date": conflicts})

    before = snapshot(locked, ["index_date"])
    enrolment.index_date = index_date
    enrolment.save(update_fields=["index_date"])
    record_change(obj=enrolment, action="update", actor=actor, before=before,
                  after=snapshot(enrolment, ["index_date"]), reason=reason)
    moved = []
    fields = ["target_date", "window_open_date", "window_close_date", "status"]
    for visit in visits:
        if visit.status == Visit.Status.COMPLETED:
            continue
        window = windows[visit.pk]
        old = snapshot(visit, fields)
        visit.target_date = window.target_date
        visit.window_open_date = window.open_date
        visit.window_close_date = window.close_date
        visit.status = visit_state(window, today=today, completed=False)
        if withdrawn and visit.status in (Visit.Status.SCHEDULED, Visit.Status.OPEN):
            visit.status = Visit.Status.NOT_APPLICABLE  # closed, as the withdrawal closed them
        if snapshot(visit, fields) == old:
            continue
        visit.save(update_fields=fields)
        record_change(obj=visit, action="update", actor=actor, before=old,
                      after=snapshot(visit, fields), reason=reason)
        moved.append(visit)
    Reminder.objects.filter(
        visit__in=moved, status=Reminder.Status.PENDING,
    ).update(status=Reminder.Status.CANCELLED, last_error="visit rescheduled")
    return moved
