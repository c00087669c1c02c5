"""Reminder cadence and quiet hours (SPEC section 5), with no database."""

from __future__ import annotations

import datetime as dt

import pytest

from outcomes.followups.cadence import Cadence, due_kind, in_quiet_hours, reminder_plan
from outcomes.followups.schedule import visit_window

INDEX = dt.date(2026, 1, 1)
M3 = visit_window(index_date=INDEX, target_day=90, before=14, after=14)  # day 76 to day 104


def day(n: int) -> dt.date:
    return INDEX + dt.timedelta(days=n)


def test_the_default_cadence_invites_reminds_twice_and_makes_a_last_call():
    assert reminder_plan(M3, Cadence()) == [
        ("invitation", day(76)), ("reminder_1", day(79)), ("reminder_2", day(83)),
        ("last_call", day(102)),
    ]


def test_a_short_window_drops_reminders_that_would_fall_after_the_last_call():
    short = visit_window(index_date=INDEX, target_day=10, before=2, after=3)  # day 8 to 13
    # Last call: day 13 - 2 = day 11; reminder 1 (day 8 + 3 = day 11) would not come before it.
    assert reminder_plan(short, Cadence()) == [("invitation", day(8)), ("last_call", day(11))]


def test_after_an_outage_only_the_latest_due_message_is_sent():
    plan = reminder_plan(M3, Cadence())
    assert due_kind(plan, day(75)) is None
    assert due_kind(plan, day(76)) == "invitation"
    assert due_kind(plan, day(84)) == "reminder_2"


@pytest.mark.parametrize(("hour", "quiet"), [(7, True), (8, False), (19, False), (20, True),
                                             (23, True), (0, True)])
def test_no_message_between_eight_in_the_evening_and_eight_in_the_morning(hour, quiet):
    assert in_quiet_hours(dt.datetime(2026, 5, 1, hour, 30), Cadence()) is quiet


def test_a_study_can_set_its_own_reminder_days():
    plan = reminder_plan(M3, Cadence(reminder_days=(1, 2, 5), last_call_days_before_close=1))
    assert [k for k, _ in plan] == ["invitation", "reminder_1", "reminder_2", "reminder_3",
                                    "last_call"]
