"""Reads for the patient's questionnaire: the visit behind a link, its instruments."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from outcomes.followups.links import token_hash
from outcomes.followups.models import Visit
from outcomes.followups.selectors import timepoint_instruments
from outcomes.followups.services import study_today
from outcomes.instruments.definitions.base import InstrumentDefinition
from outcomes.instruments.models import Instrument, Response
from outcomes.instruments.scheduled import has_items, no_items_message
from outcomes.instruments.stored import definition_of
from patients.models import Enrolment


@dataclass(frozen=True)
class Step:
    number: int
    instrument: Instrument
    definition: InstrumentDefinition
    response: Response | None

    @property
    def completed(self) -> bool:
        return self.response is not None and self.response.state == Response.State.COMPLETED

    @property
    def saved_answers(self) -> dict | None:
        """The answers saved so far, or None if this page was never saved."""
        return None if self.response is None else self.response.answers


@enum.unique
class LinkState(enum.StrEnum):
    """What a private link opens."""

    OPEN = "open"
    """The questionnaire: the window is open and the visit not yet submitted."""
    COMPLETED = "completed"
    """The thank-you page: submitted, and the window still open."""
    PAUSED = "paused"
    """The study team has paused the patient: the page says so, and whom to contact."""
    NOT_ACTIVE = "not_active"
    """Unknown, revoked, withdrawn, or outside its window."""


@dataclass(frozen=True)
class Link:
    """A private link's state, and its visit where the page may speak of it.

    ``visit`` is None for an unknown token, and for a revoked one too: a link is
    revoked when it reached the wrong person, who must not learn the study behind it.
    """

    state: LinkState
    visit: Visit | None = None


def link_for_token(token: str) -> Link:
    """Return what the link ``token`` opens (one query)."""
    if not token or len(token) > 100:
        return Link(LinkState.NOT_ACTIVE)
    try:
        # get(), not first(): a unique key needs no ORDER BY, and ORDER BY ... LIMIT 1
        # can tempt the planner to walk a whole index instead of the token's.
        visit = (
            Visit.objects.select_related("enrolment__study", "enrolment__patient", "timepoint")
            .order_by().get(token_hash=token_hash(token), token_revoked_at__isnull=True)
        )
    except Visit.DoesNotExist:
        return Link(LinkState.NOT_ACTIVE)
    enrolment = visit.enrolment
    if enrolment.status == Enrolment.Status.WITHDRAWN:
        return Link(LinkState.NOT_ACTIVE, visit)
    today = study_today(enrolment.study)
    if visit.status == Visit.Status.COMPLETED:
        in_window = today <= visit.window_close_date
    else:
        in_window = visit.window_open_date <= today <= visit.window_close_date
    if not in_window:
        return Link(LinkState.NOT_ACTIVE, visit)
    if enrolment.status == Enrolment.Status.PAUSED:
        return Link(LinkState.PAUSED, visit)
    if visit.status == Visit.Status.COMPLETED:
        return Link(LinkState.COMPLETED, visit)
    return Link(LinkState.OPEN, visit)


class NotReady(Exception):
    """A visit asks an instrument with no questions: there is nothing it can show.

    The time point's set-up refuses such an instrument (``TimePointInstrument.clean``,
    the system check ``instruments.E003``); one scheduled before those guards, or
    around them, gives the patient a page saying so, never a server error.
    """

    def __init__(self, instruments: list[Instrument]):
        self.instruments = instruments
        super().__init__("; ".join(no_items_message(i) for i in instruments))


def steps_for(visit: Visit) -> list[Step]:
    """Return the visit's instruments in order, each with its live response if any.

    Raises ``NotReady`` if any of them has no questions to ask.
    """
    instruments = timepoint_instruments(visit.timepoint)
    empty = [instrument for instrument in instruments if not has_items(instrument)]
    if empty:
        raise NotReady(empty)
    responses = {
        r.instrument_id: r
        for r in Response.objects.filter(visit=visit, state__in=Response.LIVE_STATES)
    }
    return [
        Step(number, instrument, definition_of(instrument), responses.get(instrument.pk))
        for number, instrument in enumerate(instruments, start=1)
    ]


def next_visit(visit: Visit) -> Visit | None:
    """Return the patient's next visit still to come after ``visit``, or None (one query)."""
    return (
        Visit.objects.filter(
            enrolment_id=visit.enrolment_id, target_date__gt=visit.target_date,
            status__in=(Visit.Status.SCHEDULED, Visit.Status.OPEN),
        ).order_by("target_date").first()
    )


def patient_alert_messages(visit: Visit) -> list[tuple[str, str]]:
    """Return what the patient is told on the thank-you page of ``visit``, once each.

    The ``patient_message`` of each alert the visit's live answers raised (a response
    since corrected is not the patient's answer any more), in the definitions' words,
    each with the language it is written in where the file has only one (the page marks
    it, as it marks the questions: a Spanish page reads an English message as English).
    """
    from outcomes.alerts.models import AnswerAlert

    messages: list[tuple[str, str]] = []
    alerts = AnswerAlert.objects.filter(
        visit=visit, response__state=Response.State.COMPLETED,
    ).select_related("instrument").order_by("pk")
    for alert in alerts:
        definition = definition_of(alert.instrument)
        try:
            text = definition.alert(alert.key).patient_message
        except KeyError:
            continue
        language = definition.languages[0] if len(definition.languages) == 1 else ""
        if all(text != seen for seen, _ in messages):
            messages.append((text, language))
    return messages
