"""Visit windows and states (SPEC section 5), with no database."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from outcomes.followups.schedule import (
    DEFAULT_SCHEDULE,
    Window,
    answered_date_problem,
    visit_state,
    visit_window,
)

INDEX = dt.date(2026, 3, 2)


def spec(code):
    return next(s for s in DEFAULT_SCHEDULE if s.code == code)


def window_for(code, *, not_before=None):
    s = spec(code)
    return visit_window(index_date=INDEX, target_day=s.target_day, before=s.window_before_days,
                        after=s.window_after_days, not_before=not_before)


def test_the_default_schedule_is_the_one_the_spec_gives():
    assert [(s.code, s.target_day, s.window_before_days, s.window_after_days)
            for s in DEFAULT_SCHEDULE] == [
        ("baseline", 0, 30, 7), ("m1", 30, 7, 14), ("m3", 90, 14, 14),
        ("m6", 180, 30, 30), ("m12", 365, 30, 30),
    ]
    assert [s.code for s in DEFAULT_SCHEDULE if s.is_baseline] == ["baseline"]


def test_the_one_month_window_runs_from_day_23_to_day_44():
    w = window_for("m1")
    assert w.open_date == INDEX + dt.timedelta(days=23)
    assert w.target_date == INDEX + dt.timedelta(days=30)
    assert w.close_date == INDEX + dt.timedelta(days=44)


def test_the_baseline_window_never_opens_before_enrolment():
    enrolled = INDEX - dt.timedelta(days=5)
    w = window_for("baseline", not_before=enrolled)
    assert w.open_date == enrolled
    assert w.target_date == INDEX


def test_enrolment_after_the_target_moves_the_target_into_the_window():
    enrolled = INDEX + dt.timedelta(days=3)
    w = window_for("baseline", not_before=enrolled)
    assert w.open_date == w.target_date == enrolled
    assert w.close_date == INDEX + dt.timedelta(days=7)


def test_a_window_that_excludes_its_target_cannot_be_built():
    with pytest.raises(ValueError):
        Window(dt.date(2026, 1, 10), dt.date(2026, 1, 1), dt.date(2026, 1, 20))


def test_a_visit_is_missed_the_day_after_its_window_closes():
    w = window_for("m3")
    assert visit_state(w, today=w.open_date - dt.timedelta(days=1), completed=False) == "scheduled"
    assert visit_state(w, today=w.open_date, completed=False) == "open"
    assert visit_state(w, today=w.close_date, completed=False) == "open"
    assert visit_state(w, today=w.close_date + dt.timedelta(days=1), completed=False) == "missed"
    assert visit_state(w, today=w.close_date + dt.timedelta(days=1), completed=True) == "completed"


@given(
    index=st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2090, 1, 1)),
    target=st.integers(min_value=-30, max_value=800),
    before=st.integers(min_value=0, max_value=60),
    after=st.integers(min_value=0, max_value=60),
    late=st.integers(min_value=-400, max_value=400),
)
def test_every_window_contains_its_target_and_respects_enrolment(index, target, before, after,
                                                                   late):
    not_before = index + dt.timedelta(days=late)
    w = visit_window(index_date=index, target_day=target, before=before, after=after,
                     not_before=not_before)
    assert w.open_date <= w.target_date <= w.close_date
    assert w.close_date == index + dt.timedelta(days=target + after)
    if not_before <= w.close_date:
        assert w.open_date >= not_before


def test_a_typed_in_form_may_be_answered_from_enrolment_to_today_whatever_the_window():
    today, enrolled = dt.date(2026, 6, 1), dt.date(2026, 5, 25)
    assert answered_date_problem(today, today=today, enrolled=enrolled) is None
    assert answered_date_problem(enrolled, today=today, enrolled=enrolled) is None
    assert answered_date_problem(dt.date(2026, 6, 2), today=today, enrolled=enrolled) == (
        "The date answered cannot be in the future (today is 1 Jun 2026).")
    assert answered_date_problem(dt.date(2026, 5, 24), today=today, enrolled=enrolled) == (
        "The date answered cannot be before the patient was enrolled (25 May 2026).")
