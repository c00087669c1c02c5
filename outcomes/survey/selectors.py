"""Reads for the patient's questionnaire: the visit behind a link, its instruments."""

from __future__ import annotations

from dataclasses import dataclass

from outcomes.followups.links import token_hash
from outcomes.followups.models import Visit
from outcomes.followups.selectors import timepoint_instruments
from outcomes.followups.services import study_today
from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.definitions.base import InstrumentDefinition
from outcomes.instruments.models import Instrument, Response
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


def visit_for_token(token: str) -> Visit | None:
    """Return the visit a link opens, or None if unknown, revoked, withdrawn or out of window."""
    if not token or len(token) > 100:
        return None
    try:
        # get(), not first(): a unique key needs no ORDER BY, and ORDER BY ... LIMIT 1
        # can tempt the planner to walk a whole index instead of the token's.
        visit = (
            Visit.objects.select_related("enrolment__study", "enrolment__patient", "timepoint")
            .order_by().get(token_hash=token_hash(token), token_revoked_at__isnull=True)
        )
    except Visit.DoesNotExist:
        return None
    if visit.enrolment.status == Enrolment.Status.WITHDRAWN:
        return None
    today = study_today(visit.enrolment.study)
    if visit.status == Visit.Status.COMPLETED:
        return visit if today <= visit.window_close_date else None
    if not visit.window_open_date <= today <= visit.window_close_date:
        return None
    return visit


def steps_for(visit: Visit) -> list[Step]:
    """Return the visit's instruments in order, each with its live response if any."""
    instruments = timepoint_instruments(visit.timepoint)
    responses = {
        r.instrument_id: r
        for r in Response.objects.filter(visit=visit, state__in=Response.LIVE_STATES)
    }
    return [
        Step(number, instrument, INSTRUMENTS[instrument.code], responses.get(instrument.pk))
        for number, instrument in enumerate(instruments, start=1)
    ]
