from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from outcomes.followups.links import ensure_link
from tests.factories import enrol

TODAY = dt.date(2026, 6, 1)


@pytest.fixture
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def visit(study, frozen):
    """DEMO-like patient whose baseline visit is open today."""
    enrolment = enrol(study, "P-100", index_date=TODAY, today=TODAY)
    return enrolment.visits.get(timepoint__code="baseline")


@pytest.fixture
def token(visit):
    return ensure_link(visit=visit)


ODI_10 = {"pain_intensity": 2, "personal_care": 1, "lifting": 3, "walking": 1, "sitting": 2,
          "standing": 2, "sleeping": 1, "sex_life": 0, "social_life": 2, "travelling": 2}
NRS = {"pain": 6}
EQ5D = {"mobility": 2, "self_care": 1, "usual_activities": 2, "pain_discomfort": 2,
        "anxiety_depression": 1, "vas": 65}
PROMIS = {"global01": 3, "global02": 3, "global03": 2, "global04": 4, "global05": 3,
          "global09r": 3, "global06": 3, "global10r": 4, "global08r": 3, "global07r": 6}
PAGES = (ODI_10, NRS, EQ5D, PROMIS)
