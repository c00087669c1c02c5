"""Reminder cadence and quiet hours (SPEC section 5), with no database."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from outcomes.followups.cadence import (
    Cadence,
    cadence_problems,
    due_kind,
    in_quiet_hours,
    next_send,
    quiet_hours_end,
    reminder_plan,
)
from outcomes.followups.reminders import when_phrase
from outcomes.followups.schedule import DEFAULT_SCHEDULE, visit_name, visit_window

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


@pytest.mark.parametrize(("today", "created", "expected"), [
    (day(70), None, day(76)),  # before the window: the invitation, on the day it opens
    (day(76), None, day(76)),  # the invitation is due and not created yet: today
    (day(77), "invitation", day(79)),  # reminder 1 comes 3 days after the opening
    (day(90), None, day(90)),  # nothing sent, a backlog: the latest due goes today
    (day(84), "reminder_2", day(102)),  # then the last call, 2 days before the close
    (day(103), "last_call", None),  # every message sent
    (day(105), None, None),  # the window closed on day 104
])
def test_the_next_send_is_the_first_planned_message_not_yet_created(today, created, expected):
    plan = reminder_plan(M3, Cadence())
    assert next_send(plan, today=today, close_date=M3.close_date, created=created) == expected


@pytest.mark.parametrize(("hour", "quiet"), [(7, True), (8, False), (19, False), (20, True),
                                             (23, True), (0, True)])
def test_no_message_between_eight_in_the_evening_and_eight_in_the_morning(hour, quiet):
    assert in_quiet_hours(dt.datetime(2026, 5, 1, hour, 30), Cadence()) is quiet


def test_a_study_can_set_its_own_reminder_days():
    plan = reminder_plan(M3, Cadence(reminder_days=(1, 2, 5), last_call_days_before_close=1))
    assert [k for k, _ in plan] == ["invitation", "reminder_1", "reminder_2", "reminder_3",
                                    "last_call"]


MADRID = ZoneInfo("Europe/Madrid")


@pytest.mark.parametrize(("local", "end"), [
    # Quiet from 20:00 to 08:00: late evening waits for the next morning, small hours
    # for the same morning; daytime is not quiet at all.
    (dt.datetime(2026, 5, 1, 22, 30, tzinfo=MADRID), dt.datetime(2026, 5, 2, 8, tzinfo=MADRID)),
    (dt.datetime(2026, 5, 1, 20, 0, tzinfo=MADRID), dt.datetime(2026, 5, 2, 8, tzinfo=MADRID)),
    (dt.datetime(2026, 5, 2, 3, 0, tzinfo=MADRID), dt.datetime(2026, 5, 2, 8, tzinfo=MADRID)),
    (dt.datetime(2026, 5, 2, 7, 59, tzinfo=MADRID), dt.datetime(2026, 5, 2, 8, tzinfo=MADRID)),
    (dt.datetime(2026, 5, 2, 8, 0, tzinfo=MADRID), None),
    (dt.datetime(2026, 5, 2, 10, 0, tzinfo=MADRID), None),
])
def test_quiet_hours_end_at_eight_the_next_morning_they_reach(local, end):
    assert quiet_hours_end(local, Cadence()) == end


def test_quiet_hours_end_at_eight_on_the_clock_across_a_change_to_summer_time():
    # Spain moved its clocks from 02:00 to 03:00 on 29 March 2026: 22:30 on the 28th
    # (UTC+1) to 08:00 on the 29th (UTC+2) is 8.5 hours, not 9.5.
    end = quiet_hours_end(dt.datetime(2026, 3, 28, 22, 30, tzinfo=MADRID), Cadence())
    assert end == dt.datetime(2026, 3, 29, 8, tzinfo=MADRID)
    assert end.utcoffset() == dt.timedelta(hours=2)
    assert end.astimezone(dt.UTC) == dt.datetime(2026, 3, 29, 6, tzinfo=dt.UTC)


def test_quiet_hours_within_one_day_end_that_day():
    cadence = Cadence(quiet_start_hour=1, quiet_end_hour=6)
    assert quiet_hours_end(dt.datetime(2026, 5, 2, 3), cadence) == dt.datetime(2026, 5, 2, 6)
    assert quiet_hours_end(dt.datetime(2026, 5, 2, 23), cadence) is None


def test_a_study_without_quiet_hours_never_waits():
    cadence = Cadence(quiet_start_hour=0, quiet_end_hour=0)
    assert quiet_hours_end(dt.datetime(2026, 5, 2, 3), cadence) is None


@pytest.mark.parametrize(("at", "words"), [
    (dt.datetime(2026, 5, 2, 8), "at 08:00"),
    (dt.datetime(2026, 5, 3, 8), "tomorrow at 08:00"),
    (dt.datetime(2026, 5, 5, 8, 30), "on 5 May at 08:30"),
])
def test_when_a_time_comes_is_said_from_today(at, words):
    assert when_phrase(at, now=dt.datetime(2026, 5, 2, 3)) == words


def test_the_day_a_link_waits_for_is_written_in_the_pages_language():
    # The day and the clock come from the language's formats (outcomes/formats), as every
    # date on the staff pages does (English pages; their dates follow the page's language,
    # tests/integration/patients/test_dates.py); strftime's %B gave the process locale's.
    with translation.override("es"):
        assert when_phrase(dt.datetime(2026, 5, 5, 8, 30),
                           now=dt.datetime(2026, 5, 2, 3)) == "on 5 de mayo at 08:30"


def test_a_window_too_short_for_a_last_call_keeps_its_reminders_up_to_its_closing_day():
    # A 3-day window (days 8 to 10) with reminders 1, 2 and 3 days after the invitation:
    # 2 days before the close is day 8, the invitation's own day, so there is no last
    # call, and the reminders go while the window is open: day 9 and day 10 (its last
    # day); day 11 is after it closed.
    short = visit_window(index_date=INDEX, target_day=8, before=0, after=2)
    assert reminder_plan(short, Cadence(reminder_days=(1, 2, 3))) == [
        ("invitation", day(8)), ("reminder_1", day(9)), ("reminder_2", day(10)),
    ]


def test_reminder_days_in_any_order_or_repeated_give_the_same_plan():
    # Study.clean refuses a day listed twice; given one all the same, [7, 3, 3] means
    # reminders 3 and 7 days after the invitation, numbered in date order.
    assert reminder_plan(M3, Cadence(reminder_days=(7, 3, 3))) == reminder_plan(M3, Cadence())


def test_a_reminder_on_the_invitation_day_or_a_sixth_reminder_is_refused():
    # Reminders come "days later" than the invitation (SPEC 5); the model has kinds
    # reminder_1 to reminder_5, so five reminders are the most a visit can have.
    with pytest.raises(ValueError, match="positive"):
        Cadence(reminder_days=(0, 3))
    assert len(reminder_plan(M3, Cadence(reminder_days=(1, 2, 3, 4, 5)))) == 1 + 5 + 1
    with pytest.raises(ValueError, match="at most 5"):
        Cadence(reminder_days=(1, 2, 3, 4, 5, 6))


@pytest.mark.parametrize(("hour", "quiet"), [(0, False), (1, True), (5, True), (6, False)])
def test_quiet_hours_within_one_day_start_on_their_first_hour_and_end_on_their_last(hour,
                                                                                  quiet):
    # Quiet from 01:00 to 06:00: 01:00 is quiet, 05:59 too, 06:00 is not.
    at = dt.datetime(2026, 5, 2, hour, 59 if hour == 5 else 0)
    assert in_quiet_hours(at, Cadence(quiet_start_hour=1, quiet_end_hour=6)) is quiet


# -- a study's reminder settings, checked against its time points' windows (Study.clean) --

M1 = {"1-month visit": 7 + 14}  # open 21 days after it opens: day 23 to day 44


def test_the_default_reminders_fit_every_window_of_the_default_schedule():
    windows = {visit_name(tp.label): tp.window_before_days + tp.window_after_days
               for tp in DEFAULT_SCHEDULE}
    assert cadence_problems([3, 7], 2, windows) == {}


@pytest.mark.parametrize(("days", "message"), [
    ("[3, 7]", "Reminder days must be a list of whole days after the window opens, "
               "e.g. [3, 7]."),
    ([3, 7.0], "Reminder days must be a list of whole days after the window opens, "
               "e.g. [3, 7]."),
    ([3, True], "Reminder days must be a list of whole days after the window opens, "
                "e.g. [3, 7]."),
    ([0, 3], "Reminder days count from the day the window opens (the invitation's day), so "
             "each is 1 or more; 0 is not."),
    ([-2, 3, -1], "Reminder days count from the day the window opens (the invitation's "
                  "day), so each is 1 or more; -2 and -1 are not."),
    ([3, 7, 3], "Reminder days list day 3 twice; each reminder has its own day."),
    ([1, 2, 3, 4, 5, 6], "Reminder days list 6 reminders; a visit has at most 5."),
])
def test_reminder_days_that_are_not_days_after_the_invitation_are_refused(days, message):
    assert cadence_problems(days, 2, M1) == {"reminder_days": [message]}


def test_a_reminder_after_the_window_closes_is_refused_naming_the_visit():
    assert cadence_problems([3, 22], 2, M1) == {"reminder_days": [
        "Reminder day 22 falls after the 1-month visit's window closes, 21 days after it "
        "opens."]}


def test_a_reminder_on_or_after_the_last_call_is_refused_naming_the_visit():
    # The last call goes 2 days before the close: 19 days after the window opens.
    assert cadence_problems([18], 2, M1) == {}
    assert cadence_problems([3, 19], 2, M1) == {"reminder_days": [
        "Reminder day 19 would never go for the 1-month visit: its last call goes first, "
        "19 days after the window opens (2 days before it closes)."]}


def test_a_last_call_before_the_window_opens_is_refused_naming_the_visit():
    assert cadence_problems([], 20, M1) == {}
    assert cadence_problems([], 21, M1) == {"last_call_days_before_close": [
        "A last call 21 days before the close comes before the 1-month visit's window opens "
        "(it closes 21 days after it opens); at most 20."]}


def test_a_window_open_a_single_day_takes_its_invitation_only_and_refuses_nothing():
    assert cadence_problems([3, 7], 2, {"screening visit": 0}) == {}


def test_each_visit_whose_window_a_reminder_misses_is_named():
    windows = {"baseline visit": 37, "1-month visit": 21, "3-month visit": 28}
    assert cadence_problems([3, 27], 2, windows) == {"reminder_days": [
        "Reminder day 27 falls after the 1-month visit's window closes, 21 days after it "
        "opens.",
        "Reminder day 27 would never go for the 3-month visit: its last call goes first, "
        "26 days after the window opens (2 days before it closes)."]}


@pytest.mark.parametrize("span", [0, 1, 2, 5, 21])
@pytest.mark.parametrize("last_call", [0, 1, 2, 5, 21, 30])
def test_a_day_is_refused_exactly_when_the_plan_would_not_send_it(span, last_call):
    # The check and reminder_plan are written apart; they must agree on every day.
    window = visit_window(index_date=INDEX, target_day=40, before=0, after=span)
    for reminder in range(1, span + 3):
        plan = reminder_plan(window, Cadence(reminder_days=(reminder,),
                                             last_call_days_before_close=last_call))
        problems = cadence_problems([reminder], last_call, {"visit": span})
        # A window open a single day takes its invitation only (nothing refused for it).
        assert ("reminder_1" in dict(plan) or span == 0) == (
            "reminder_days" not in problems), (reminder, plan)
        assert ("last_call" in dict(plan) or span == 0) == (
            "last_call_days_before_close" not in problems), plan
