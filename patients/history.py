"""A patient's audit records told in people words, for the History on the patient page.

Each record becomes one line saying what changed, from what to what, and why:
"Status: active → withdrawn (moved abroad)", "3-month visit: completed → open (ODI
voided: entered for the wrong patient)". The questionnaires a patient answered by link
at one visit read as one line. ``patients.selectors.patient_history`` reads the records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import formats
from django.utils.text import Truncator

from outcomes.followups.models import Visit
from outcomes.followups.schedule import visit_name
from outcomes.instruments.definitions.base import InstrumentDefinition
from outcomes.instruments.models import Response

from .models import Contact, Enrolment, Patient

# Who acted when no staff user did (AuditRecord.actor_label), in words.
ACTOR_LABELS = {"patient link": "the patient, by link", "system": "the system",
                "rescore": "a rescoring run", "import": "an import"}


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a patient's history: what changed, who did it, when."""

    text: str
    who: str
    at: dt.datetime


@dataclass(frozen=True)
class Change:
    """What the history needs of one audit record (read by ``patient_history``)."""

    object_type: str
    action: str
    changes: Mapping[str, Sequence[Any]]
    reason: str
    who: str
    at: dt.datetime
    visit_label: str = ""
    """The time point of the visit the record is about (itself or its response's)."""
    instrument: str = ""
    """The instrument's code, for a response's record."""
    instrument_name: str = ""
    definition: InstrumentDefinition | None = None
    """The definition of the version the response was answered on: its questions are
    numbered and named from it, not from whatever version is current."""


def actor_name(user, label: str) -> str:
    """Return who made a change: the staff member's name, else what acted, in words."""
    if user is not None:
        return user.get_full_name() or user.get_username()
    return ACTOR_LABELS.get(label, label or "the system")


def _date(value: Any) -> str:
    """Return a stored date (ISO text) as every staff page prints it."""
    try:
        return formats.date_format(dt.date.fromisoformat(str(value)[:10]))
    except ValueError:
        return str(value)


def _value(model: type[models.Model], name: str, value: Any) -> str:
    """Return a stored field value in words: a choice by its label, a date as a date."""
    if value in (None, ""):
        return "blank"
    try:
        field = model._meta.get_field(name)
    except FieldDoesNotExist:  # a value recorded under another name: shown as stored
        return str(value)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value)).lower()
    if isinstance(field, models.DateField):
        return _date(value)
    return str(value)


def _field_name(model: type[models.Model], name: str) -> str:
    try:
        return str(model._meta.get_field(name.removesuffix("_id")).verbose_name)
    except FieldDoesNotExist:
        return name.replace("_", " ")


def _transition(model: type[models.Model], name: str, pair: Sequence[Any]) -> str:
    """Return one field's change as "a → b", in words."""
    before, after = [*pair, None, None][:2]
    return f"{_value(model, name, before)} → {_value(model, name, after)}"


def _from_to(model: type[models.Model], changes: Mapping[str, Sequence[Any]], *,
             values: bool = True) -> str:
    """Return "field: a → b; other: c → d" (or just the fields' names without ``values``).

    A related row (stored by its id, ``arm_id``) is named, never shown as a number.
    """
    parts = []
    for name, pair in changes.items():
        label = _field_name(model, name)
        if not values or name.endswith("_id"):
            parts.append(label)
        else:
            parts.append(f"{label}: {_transition(model, name, pair)}")
    return "; ".join(parts)


def _because(reason: str) -> str:
    return f" ({reason})" if reason else ""


def _visit(change: Change) -> str:
    return visit_name(change.visit_label) if change.visit_label else "a visit"


def _answers(change: Change) -> str:
    """Return the questions a correction changed: "question 4 (Walking): 0 → 5".

    Numbered and named as the version answered asks them (``change.definition``); a
    later version may order or word its questions otherwise. Without it, the codes.
    """
    pair = [*(change.changes.get("answers") or ()), None, None][:2]
    before, after = pair[0] or {}, pair[1] or {}
    definition = change.definition
    numbers = ({item.code: (n, item) for n, item in enumerate(definition.items, start=1)}
               if definition else {})
    parts = []
    for code in dict.fromkeys([*before, *after]):
        old, new = before.get(code), after.get(code)
        if old == new:
            continue
        number, item = numbers.get(code, (None, None))
        name = (f"question {number} ({Truncator(item.text.rstrip(' :')).words(6, truncate='…')})"
                if item else code)
        parts.append(f"{name}: {'blank' if old is None else old} → "
                     f"{'blank' if new is None else new}")
    return "; ".join(parts) or "the same answers"


def describe(change: Change, *, show_contact: bool) -> str:
    """Return what one audit record changed, in words (without who and when)."""
    kind, action, changes = change.object_type, change.action, change.changes
    why = _because(change.reason)
    if kind == "patients.enrolment":
        if action == "create":
            index = (changes.get("index_date") or [None, None])[1]
            return f"Enrolled, index date {_date(index)}" if index else "Enrolled"
        if action == "status":
            if "status" not in changes:
                return f"Status reason changed{why}"
            return f"Status: {_transition(Enrolment, 'status', changes['status'])}{why}"
        if action == "sign_off":
            return f"Outcomes review signed off{_because(change.reason)}"
        if set(changes) == {"index_date"}:
            return f"Index date: {_transition(Enrolment, 'index_date', changes['index_date'])}{why}"
        return f"Enrolment changed: {_from_to(Enrolment, changes)}{why}"
    if kind == "patients.patient":
        return f"Patient details changed: {_from_to(Patient, changes)}{why}"
    if kind == "patients.contact":
        fields = {name: pair for name, pair in changes.items() if name != "patient_id"}
        what = _from_to(Contact, fields, values=show_contact)
        verb = "added" if action == "create" else "changed"
        return f"Contact details {verb}: {what}{why}" if what else f"Contact details {verb}{why}"
    if kind == "followups.visit":
        return _describe_visit(change, why)
    if kind == "instruments.response":
        where = f"{change.instrument_name or change.instrument} at the {_visit(change)}"
        if action == "void":
            return f"{where} voided{why}"
        if action == "correct":
            return f"{where} corrected: {_answers(change)}{why}"
        if "scores" in changes:
            return f"Scores of {where} recomputed{why}"
        if "source" in changes:
            source = str(dict(Response.Source.choices).get(changes["source"][1], "form")).lower()
            return f"{where} entered from a {source}"
        if "state" in changes:
            return f"{where} answered"
    return f"{kind.split('.')[-1].capitalize()} {action}{why}"


def _describe_visit(change: Change, why: str) -> str:
    changes = change.changes
    name = _visit(change)
    if "link" in changes:
        return f"Link to the {name} stopped{why}"
    if "reminder" in changes:
        return f"Link to the {name} sent again"
    if "source" in changes:  # a paper or telephone form typed in (enter_visit)
        source = str(dict(Response.Source.choices).get(changes["source"][1], "form")).lower()
        answered = changes.get("answered_date", [None, None])[1]
        late = " (out of window)" if (changes.get("out_of_window") or [0, 0])[1] else ""
        status = _transition(Visit, "status", changes["status"]) if "status" in changes else ""
        return (f"{name.capitalize()}: {source} entered, answered {_date(answered)}{late}"
                + (f"; {status}" if status else ""))
    parts = []
    if "target_date" in changes:
        before, after = changes["target_date"]
        parts.append(f"due {_date(before)} → {_date(after)}")
    if "status" in changes:
        parts.append(_transition(Visit, "status", changes["status"]))
    others = {k: v for k, v in changes.items() if k not in (
        "target_date", "window_open_date", "window_close_date", "status")}
    if others:
        parts.append(_from_to(Visit, others))
    return f"{name.capitalize()}: {'; '.join(parts) or 'changed'}{why}"


def history_lines(changes: Iterable[Change], *, show_contact: bool) -> list[HistoryEntry]:
    """Return the history, newest first, one line per change.

    The questionnaires answered by link at one visit, one after the other by the same
    hand, are one line: "3-month visit answered by link: ODI, NRS-11, EQ-5D-3L".
    """
    entries: list[HistoryEntry] = []
    answered: dict[tuple, list[str]] = {}
    for change in changes:
        if (change.object_type == "instruments.response" and change.action == "update"
                and "state" in change.changes and "scores" not in change.changes):
            key = (change.visit_label, change.who, change.at.replace(second=0, microsecond=0))
            if key in answered:
                answered[key].append(change.instrument_name or change.instrument)
                continue
            answered[key] = names = [change.instrument_name or change.instrument]
            entries.append(_Answered(text="", who=change.who, at=change.at,
                                     visit=_visit(change), names=names))
            continue
        entries.append(HistoryEntry(text=describe(change, show_contact=show_contact),
                                    who=change.who, at=change.at))
    return [entry.finished() if isinstance(entry, _Answered) else entry for entry in entries]


@dataclass(frozen=True)
class _Answered(HistoryEntry):
    """The questionnaires of one visit answered together, gathered before they are told."""

    visit: str = ""
    names: list[str] | None = None

    def finished(self) -> HistoryEntry:
        names = ", ".join(reversed(self.names or []))  # read newest first: back in page order
        return HistoryEntry(text=f"{self.visit.capitalize()} answered: {names}", who=self.who,
                            at=self.at)
