"""When each reminder of a visit is due, and quiet hours (SPEC section 5), with no Django.

Default cadence: an invitation when the window opens; reminders 3 and 7 days
later while incomplete; a last call 2 days before the window closes. No message
between 20:00 and 08:00 in the study's time zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from .schedule import Window

INVITATION = "invitation"
LAST_CALL = "last_call"
MAX_REMINDERS = 5


def reminder_kind(number: int) -> str:
    """Return the kind code of the ``number``-th reminder (1-based)."""
    return f"reminder_{number}"


@dataclass(frozen=True)
class Cadence:
    """A study's reminder settings."""

    reminder_days: tuple[int, ...] = (3, 7)
    last_call_days_before_close: int = 2
    quiet_start_hour: int = 20
    quiet_end_hour: int = 8

    def __post_init__(self) -> None:
        if len(self.reminder_days) > MAX_REMINDERS:
            raise ValueError(f"at most {MAX_REMINDERS} reminders per visit")
        if any(d <= 0 for d in self.reminder_days):
            raise ValueError("reminder days must be positive")


REMINDER_DAYS = "reminder_days"
LAST_CALL_DAYS = "last_call_days_before_close"


def cadence_problems(reminder_days: object, last_call_days_before_close: int | None,
                     windows: Mapping[str, int]) -> dict[str, list[str]]:
    """Return what is wrong with a study's reminder settings: field name to sentences.

    ``windows`` maps each time point's visit, by name ("1-month visit"), to the days its
    window is open after it opens (days before the target plus days after). Refused: a
    reminder day that is not a whole number of days after the invitation (1 or more),
    one listed twice, more than ``MAX_REMINDERS``, and a day on which a visit's plan
    (``reminder_plan``) would never send it: after its window closes, or on or after
    its last call. And a last call that would come before a visit's window opens.

    A window open a single day (0 days after it opens: a time point's default) has room
    for its invitation only: no reminder or last call is planned for it, and none of the
    study's is refused on its account.
    """
    problems: dict[str, list[str]] = {}

    def say(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if not isinstance(reminder_days, list | tuple) or not all(
            type(d) is int for d in reminder_days):
        say(REMINDER_DAYS, "Reminder days must be a list of whole days after the window "
                           "opens, e.g. [3, 7].")
        return problems
    days = list(reminder_days)
    low = sorted({d for d in days if d <= 0})
    if low:
        say(REMINDER_DAYS, "Reminder days count from the day the window opens (the "
                           f"invitation's day), so each is 1 or more; {_listed(low)} "
                           f"{'is' if len(low) == 1 else 'are'} not.")
    repeated = sorted({d for d in days if days.count(d) > 1})
    if repeated:
        say(REMINDER_DAYS, f"Reminder days list day {_listed(repeated)} twice; each "
                           "reminder has its own day.")
    if len(set(days)) > MAX_REMINDERS:
        say(REMINDER_DAYS, f"Reminder days list {len(set(days))} reminders; a visit has at "
                           f"most {MAX_REMINDERS}.")
    last_call = last_call_days_before_close
    for name, span in windows.items():
        if span == 0:
            continue
        has_last_call = last_call is not None and last_call < span
        for day in sorted({d for d in days if d > 0}):
            if day > span:
                say(REMINDER_DAYS, f"Reminder day {day} falls after the {name}'s window "
                                   f"closes, {_days(span)} after it opens.")
            elif has_last_call and day >= span - last_call:
                say(REMINDER_DAYS, f"Reminder day {day} would never go for the {name}: its "
                                   f"last call goes first, {_days(span - last_call)} after "
                                   f"the window opens ({_days(last_call)} before it closes).")
        if last_call is not None and not has_last_call:
            say(LAST_CALL_DAYS, f"A last call {_days(last_call)} before the close comes "
                                f"before the {name}'s window opens (it closes "
                                f"{_days(span)} after it opens); at most {span - 1}.")
    return problems


def _days(n: int) -> str:
    return f"{n} day{'' if n == 1 else 's'}"


def _listed(values: list[int]) -> str:
    words = [str(v) for v in values]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def reminder_plan(window: Window, cadence: Cadence) -> list[tuple[str, dt.date]]:
    """Return ``(kind, date)`` for every message of a visit, in date order.

    1. The invitation goes on the day the window opens.
    2. Each reminder goes its number of days after that, if that is still
       before the last call (and inside the window).
    3. The last call goes ``last_call_days_before_close`` days before the
       window closes, if that is after the invitation day.
    """
    plan = [(INVITATION, window.open_date)]
    last_call = window.close_date - dt.timedelta(days=cadence.last_call_days_before_close)
    limit = last_call if last_call > window.open_date else window.close_date + dt.timedelta(1)
    for number, days in enumerate(sorted(set(cadence.reminder_days)), start=1):
        day = window.open_date + dt.timedelta(days=days)
        if day < limit:
            plan.append((reminder_kind(number), day))
    if last_call > window.open_date:
        plan.append((LAST_CALL, last_call))
    return plan


def due_kind(plan: list[tuple[str, dt.date]], today: dt.date) -> str | None:
    """Return the latest message due by ``today``: a backlog is sent once, not once per day."""
    due = [kind for kind, day in plan if day <= today]
    return due[-1] if due else None


def next_send(plan: list[tuple[str, dt.date]], *, today: dt.date, close_date: dt.date,
              created: str | None) -> dt.date | None:
    """Return the day the visit's next planned message goes, or None if none is left.

    ``created`` is the kind of the visit's latest message already created (None: none
    yet). That one and those before it in ``plan`` are done. Of the rest, those due by
    ``today`` go as one at the next reminder run (``due_kind``: a backlog goes once), so
    the next send is today; otherwise it is the first still to come. Nothing is planned
    once the window has closed.
    """
    if today > close_date:
        return None
    kinds = [kind for kind, _ in plan]
    rest = plan[kinds.index(created) + 1:] if created in kinds else plan
    if not rest:
        return None
    return today if rest[0][1] <= today else rest[0][1]


def in_quiet_hours(local: dt.datetime, cadence: Cadence) -> bool:
    """Return whether ``local`` (the study's wall-clock time) falls in quiet hours."""
    start, end = cadence.quiet_start_hour, cadence.quiet_end_hour
    if start == end:
        return False
    hour = local.hour
    if start > end:  # e.g. 20:00 to 08:00, across midnight
        return hour >= start or hour < end
    return start <= hour < end


def quiet_hours_end(local: dt.datetime, cadence: Cadence) -> dt.datetime | None:
    """Return when the quiet hours ``local`` falls in end, on the same wall clock; else None.

    The end is the next ``quiet_end_hour``:00 after ``local``: later that day
    (03:00 gives 08:00) or the next day (22:30 gives 08:00 tomorrow). Adding a day
    to an aware datetime keeps its wall-clock time, so a change of summer time
    overnight still gives 08:00.
    """
    if not in_quiet_hours(local, cadence):
        return None
    end = local.replace(hour=cadence.quiet_end_hour, minute=0, second=0, microsecond=0, fold=0)
    if end <= local:
        end += dt.timedelta(days=1)
    return end
