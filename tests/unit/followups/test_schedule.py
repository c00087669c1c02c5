"""Visit windows and states (SPEC section 5), with no database."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import formats, translation
from hypothesis import given
from hypothesis import strategies as st

from outcomes.followups.schedule import (
    DEFAULT_SCHEDULE,
    PlannedVisit,
    Window,
    answered_date_problem,
    move_conflicts,
    state_after_void,
    visit_name,
    visit_state,
    visit_window,
    written_date,
)

INDEX = dt.date(2026, 3, 2)
WRITTEN = formats.date_format  # how the Django side writes dates: the language's one format


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


@pytest.mark.parametrize(("label", "name"), [
    ("1 month", "1-month visit"), ("12 months", "12-month visit"), ("6 Weeks", "6-week visit"),
    ("Baseline", "baseline visit"), ("MRI follow-up", "MRI follow-up visit"),
    ("Screening visit", "screening visit"),
])
def test_a_visit_is_named_in_people_words(label, name):
    assert visit_name(label) == name


def test_a_date_in_a_sentence_is_the_callers_the_pages_one_format_per_language():
    today, enrolled = dt.date(2026, 6, 1), dt.date(2026, 5, 25)
    with translation.override("es"):
        assert answered_date_problem(dt.date(2026, 6, 2), today=today, enrolled=enrolled,
                                     written=formats.date_format) == (
            "The date answered cannot be in the future (today is 1 de junio de 2026).")
    assert answered_date_problem(dt.date(2026, 6, 2), today=today, enrolled=enrolled,
                                 written=formats.date_format) == (
        "The date answered cannot be in the future (today is 1 June 2026).")


MONTHS = {"june": 6, "jun": 6, "junio": 6, "february": 2, "feb": 2, "sept": 9}


@pytest.mark.parametrize(("text", "date"), [
    ("1 June 2026", dt.date(2026, 6, 1)), ("01 june 2026", dt.date(2026, 6, 1)),
    (" 1 Jun. 2026 ", dt.date(2026, 6, 1)), ("1st June, 2026", dt.date(2026, 6, 1)),
    ("1 de junio de 2026", dt.date(2026, 6, 1)), ("30 Sept 2026", dt.date(2026, 9, 30)),
    ("29 February 2028", dt.date(2028, 2, 29)),
])
def test_a_date_written_as_day_month_name_and_year_is_read(text, date):
    assert written_date(text, MONTHS) == date


@pytest.mark.parametrize("text", [
    "31 June 2026",  # June has 30 days
    "29 February 2026",  # not a leap year
    "1 Juno 2026", "June 1 2026", "1/6/2026", "2026-06-01", "1 June", "1 June 26", "",
])
def test_anything_else_is_not_read_as_a_written_date(text):
    assert written_date(text, MONTHS) is None


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def planned(code, index_date, *, completed=None, enrolled=dt.date(2025, 12, 25)):
    s = spec(code)
    window = visit_window(index_date=index_date, target_day=s.target_day,
                          before=s.window_before_days, after=s.window_after_days,
                          not_before=enrolled)
    return PlannedVisit(name=visit_name(s.label), order=s.target_day, window=window,
                        completed_date=completed)


def test_a_missed_baseline_moved_after_a_completed_one_month_visit_is_refused_twice_over():
    # Index 1 Jan 2026, the 1-month visit completed on 3 Feb (day 33 of window 23-44).
    # Moved to 1 Mar 2026: the 1-month window is 1 Mar + 23..44 days = 24 Mar - 14 Apr,
    # and the baseline is due on 1 Mar, a month after the 1-month visit was done.
    new = d("2026-03-01")
    problems = move_conflicts([
        planned("baseline", new), planned("m1", new, completed=d("2026-02-03")),
        planned("m3", new), planned("m6", new), planned("m12", new),
    ], written=WRITTEN)
    assert problems == [
        "The 1-month visit was completed on 3 February 2026, outside its window for this "
        "index date (24 March 2026–14 April 2026).",
        "The 1-month visit (completed on 3 February 2026) would come before the baseline "
        "visit (due 1 March 2026).",
    ]


def test_a_follow_up_completed_before_the_new_index_date_is_outside_its_window():
    # The 3-month visit completed on 10 Apr 2026 (index 1 Jan: window 18 Mar - 15 Apr);
    # the index date moved to 15 Apr puts its window at 30 Jun - 28 Jul (day 76-104).
    new = d("2026-04-15")
    problems = move_conflicts([planned("m3", new, completed=d("2026-04-10"))],
                              written=WRITTEN)
    assert problems == [
        "The 3-month visit was completed on 10 April 2026, outside its window for this "
        "index date (30 June 2026–28 July 2026)."
    ]


def test_a_visit_may_not_come_before_an_earlier_time_points_even_inside_its_window():
    # A study whose 1-month window opens 35 days early (day -5 to 44): completed on
    # 2 Jan, inside its window for an index date of 5 Jan, but before the baseline (5 Jan).
    window = visit_window(index_date=d("2026-01-05"), target_day=30, before=35, after=14)
    one_month = PlannedVisit(name="1-month visit", order=30, window=window,
                             completed_date=d("2026-01-02"))
    assert window.contains(d("2026-01-02"))
    assert move_conflicts([planned("baseline", d("2026-01-05")), one_month],
                          written=WRITTEN) == [
        "The 1-month visit (completed on 2 January 2026) would come before the baseline "
        "visit (due 5 January 2026)."
    ]


def test_a_move_that_keeps_every_completed_visit_in_its_window_and_in_order_is_sound():
    # Baseline completed on 5 Jan; index 1 Jan moved to 10 Jan: the baseline window is
    # 25 Dec (enrolment) to 17 Jan, and the later visits keep their order.
    new = d("2026-01-10")
    assert move_conflicts([
        planned("baseline", new, completed=d("2026-01-05")), planned("m1", new),
        planned("m3", new), planned("m6", new), planned("m12", new),
    ], written=WRITTEN) == []
def test_a_typed_in_form_may_be_answered_from_enrolment_to_today_whatever_the_window():
    today, enrolled = dt.date(2026, 6, 1), dt.date(2026, 5, 25)
    kept = {"today": today, "enrolled": enrolled, "written": WRITTEN}
    assert answered_date_problem(today, **kept) is None
    assert answered_date_problem(enrolled, **kept) is None
    assert answered_date_problem(dt.date(2026, 6, 2), **kept) == (
        "The date answered cannot be in the future (today is 1 June 2026).")
    assert answered_date_problem(dt.date(2026, 5, 24), **kept) == (
        "The date answered cannot be before the patient was enrolled (25 May 2026).")


@pytest.mark.parametrize(("today", "withdrawn", "state"), [
    (dt.date(2026, 5, 1), False, "scheduled"),  # before its window (an imported answer)
    (dt.date(2026, 6, 1), False, "open"),
    (dt.date(2026, 6, 16), False, "missed"),  # the day after the window closed
    (dt.date(2026, 6, 1), True, "not_applicable"),  # a withdrawal closed every other visit
])
def test_a_visit_whose_answer_is_voided_is_where_its_window_says(today, withdrawn, state):
    window = Window(dt.date(2026, 5, 20), dt.date(2026, 5, 27), dt.date(2026, 6, 15))
    assert state_after_void(window, today=today, withdrawn=withdrawn) == state
def test_a_window_holds_its_opening_and_closing_days():
    w = Window(d("2026-03-01"), d("2026-03-05"), d("2026-03-10"))
    assert [w.contains(d(day)) for day in ("2026-02-28", "2026-03-01", "2026-03-10",
                                           "2026-03-11")] == [False, True, True, False]
    assert (w.days_left(d("2026-03-09")), w.days_left(d("2026-03-10"))) == (1, 0)


def test_two_visits_on_the_same_day_are_in_order():
    # Baseline (window 25 Dec - 12 Jan) and 1-month visit (a study whose window opens 35
    # days early: 31 Dec - 18 Feb) both done on 10 Jan 2026: neither comes before the other.
    index = d("2026-01-05")
    one_month = PlannedVisit(
        name="1-month visit", order=30, completed_date=d("2026-01-10"),
        window=visit_window(index_date=index, target_day=30, before=35, after=14))
    assert move_conflicts([planned("baseline", index, completed=d("2026-01-10")),
                           one_month], written=WRITTEN) == []


def test_time_points_on_the_same_day_of_the_schedule_may_come_in_either_order():
    # Two time points both due on day 90 (say an imaging visit beside the 3-month one):
    # neither is an earlier time point than the other, whichever is done first.
    index = d("2026-01-01")
    window = visit_window(index_date=index, target_day=90, before=14, after=14)
    imaging = PlannedVisit(name="imaging visit", order=90, window=window,
                           completed_date=d("2026-03-25"))
    three_months = PlannedVisit(name="3-month visit", order=90, window=window,
                                completed_date=d("2026-04-05"))
    assert move_conflicts([three_months, imaging], written=WRITTEN) == []
