"""Visit windows and visit status, as plain date arithmetic (no Django).

SPEC section 5: each time point has a target day after the index date and a
window of days before and after it; the baseline window never opens before
enrolment. A visit is missed the day after its window closes.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

DateWords = Callable[[dt.date], str]
"""How a date is written for people, given by the caller: the Django side passes
``django.utils.formats.date_format``, the active language's one format (outcomes/formats),
so a sentence here reads "3 March 2026" on an English page, "3 de marzo de 2026" on a
Spanish one; never strftime, whose month names are the process locale's."""


@enum.unique
class VisitState(enum.StrEnum):
    """Where a visit stands on a given day (mirrors ``Visit.Status``)."""

    SCHEDULED = "scheduled"
    OPEN = "open"
    COMPLETED = "completed"
    MISSED = "missed"
    NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class TimePointSpec:
    """A schedule entry: code, label, target day after the index date, window."""

    code: str
    label: str
    target_day: int
    window_before_days: int
    window_after_days: int
    is_baseline: bool = False


DEFAULT_SCHEDULE: tuple[TimePointSpec, ...] = (
    TimePointSpec("baseline", "Baseline", 0, 30, 7, is_baseline=True),
    TimePointSpec("m1", "1 month", 30, 7, 14),
    TimePointSpec("m3", "3 months", 90, 14, 14),
    TimePointSpec("m6", "6 months", 180, 30, 30),
    TimePointSpec("m12", "12 months", 365, 30, 30),
)
"""The default schedule of SPEC section 5 (editable per study)."""


@dataclass(frozen=True)
class Window:
    """The dates between which a visit may be answered, both inclusive."""

    open_date: dt.date
    target_date: dt.date
    close_date: dt.date

    def __post_init__(self) -> None:
        if not self.open_date <= self.target_date <= self.close_date:
            raise ValueError(f"window {self.open_date}..{self.close_date} excludes its target")

    def contains(self, day: dt.date) -> bool:
        return self.open_date <= day <= self.close_date

    def days_left(self, day: dt.date) -> int:
        """Return the days from ``day`` to the close, 0 on the last day."""
        return (self.close_date - day).days


def visit_window(
    *,
    index_date: dt.date,
    target_day: int,
    before: int,
    after: int,
    not_before: dt.date | None = None,
) -> Window:
    """Return the window of a time point for a patient.

    1. Target = index date + target day; the window spans ``before`` days
       earlier to ``after`` days later.
    2. The window never opens before ``not_before`` (the enrolment date), but
       always keeps at least its closing day, and the target stays inside it.
    """
    target = index_date + dt.timedelta(days=target_day)
    open_date = target - dt.timedelta(days=before)
    close_date = target + dt.timedelta(days=after)
    if not_before is not None and open_date < not_before:
        open_date = min(not_before, close_date)
    target = min(max(target, open_date), close_date)
    return Window(open_date, target, close_date)


def visit_state(window: Window, *, today: dt.date, completed: bool) -> VisitState:
    """Return the state of a visit on ``today``."""
    if completed:
        return VisitState.COMPLETED
    if today < window.open_date:
        return VisitState.SCHEDULED
    if today <= window.close_date:
        return VisitState.OPEN
    return VisitState.MISSED


def state_after_void(window: Window, *, today: dt.date, withdrawn: bool) -> VisitState:
    """Return the state a completed visit takes when one of its responses is voided.

    No longer complete, it is where its window says on ``today`` (open again, missed,
    or scheduled); for a withdrawn patient, not applicable, as a withdrawal leaves
    every visit not completed.
    """
    if withdrawn:
        return VisitState.NOT_APPLICABLE
    return visit_state(window, today=today, completed=False)


_DURATION_LABEL = re.compile(r"(\d+)\s+(day|week|month|year)s?", re.IGNORECASE)


@enum.unique
class DurationUnit(enum.StrEnum):
    """The unit of a time point labelled by its distance from the index date."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


def label_duration(label: str) -> tuple[int, DurationUnit] | None:
    """Return (3, MONTH) for a label that is a duration ("3 months"), else None."""
    duration = _DURATION_LABEL.fullmatch(label.strip())
    return (int(duration[1]), DurationUnit(duration[2].lower())) if duration else None


def in_sentence(label: str) -> str:
    """Return a label as it reads inside a sentence: "Baseline" → "baseline"; an acronym
    ("PROMIS week") keeps its capitals."""
    label = label.strip()
    if label[:1].isupper() and not label[1:2].isupper():
        label = label[:1].lower() + label[1:]
    return label


def visit_name(label: str) -> str:
    """Return a time point's label as the name of its visit in a sentence.

    "1 month" becomes "1-month visit" (a compound adjective takes a hyphen),
    "Baseline" becomes "baseline visit"; an acronym keeps its capitals.
    """
    duration = label_duration(label)
    if duration:
        return f"{duration[0]}-{duration[1]} visit"
    label = in_sentence(label)
    return label if label.lower().endswith("visit") else f"{label} visit"


@dataclass(frozen=True)
class PlannedVisit:
    """One visit as an index-date move would leave it.

    ``window`` is the window its time point has under the new index date (a
    completed visit does not move, but its completion is checked against it);
    ``order`` is the time point's place in the schedule (its target day).
    """

    name: str
    order: int
    window: Window
    completed_date: dt.date | None = None

    @property
    def date(self) -> dt.date:
        """The day the visit stands for: when it was completed, else its target."""
        return self.completed_date or self.window.target_date

    def described(self, written: DateWords) -> str:
        """Return its name and date: "1-month visit (completed on 3 March 2026)"."""
        if self.completed_date is not None:
            return f"{self.name} (completed on {written(self.completed_date)})"
        return f"{self.name} (due {written(self.window.target_date)})"


def move_conflicts(visits: Sequence[PlannedVisit], *, written: DateWords) -> list[str]:
    """Return why a schedule would be impossible, one sentence per problem; [] if sound.

    1. A completed visit's completion date must fall inside the window its time
       point has under the new index date.
    2. No visit may fall before the visit of an earlier time point: a completed
       visit counts on the day it was completed, any other on its target date.
       Each visit is named with the latest earlier visit it would precede.

    Dates are written by ``written``.
    """
    problems = []
    for visit in visits:
        if visit.completed_date is not None and not visit.window.contains(visit.completed_date):
            problems.append(
                f"The {visit.name} was completed on {written(visit.completed_date)}, "
                f"outside its window for this index date "
                f"({written(visit.window.open_date)}–{written(visit.window.close_date)})."
            )
    ordered = sorted(visits, key=lambda v: v.order)
    for later in ordered:
        earlier = [v for v in ordered if v.order < later.order and v.date > later.date]
        if earlier:
            latest = max(earlier, key=lambda v: (v.date, v.order))
            problems.append(
                f"The {later.described(written)} would come before the "
                f"{latest.described(written)}."
            )
    return problems
_WRITTEN_DATE = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?\.?\s+(?:de\s+)?([^\W\d_]+)\.?,?\s+(?:del?\s+)?(\d{4})",
    re.IGNORECASE,
)


def written_date(text: str, months: Mapping[str, int]) -> dt.date | None:
    """Return the date in ``text`` written as day, month name and year, else None.

    "1 June 2026", "1 jun 2026", "1st June, 2026", "1 de junio de 2026": ``months``
    maps each month name and abbreviation people may type, in lower case, to its
    number. None for anything else, an unknown month or a day the month does not
    have (31 June), so the caller can try other forms or refuse the text.
    """
    found = _WRITTEN_DATE.fullmatch(text.strip())
    if not found:
        return None
    month = months.get(found[2].lower())
    if month is None:
        return None
    try:
        return dt.date(int(found[3]), month, int(found[1]))
    except ValueError:
        return None


def answered_date_problem(answered: dt.date, *, today: dt.date, enrolled: dt.date,
                          written: DateWords) -> str | None:
    """Return why a form typed in by staff cannot have been answered on ``answered``, or None.

    A paper or telephone form is answered on or after the patient's enrolment and
    never later than today (in the study's time zone); outside the visit's window
    is allowed, since late paper forms arrive, and is flagged instead. Dates are
    written by ``written``.
    """
    if answered > today:
        return f"The date answered cannot be in the future (today is {written(today)})."
    if answered < enrolled:
        return (f"The date answered cannot be before the patient was enrolled "
                f"({written(enrolled)}).")
    return None
