"""The flow's visit counts (arm × time point × state × due) read by both fetchers, where a
visit's status and its data disagree: a visit still open with one questionnaire answered
has data; a visit marked not applicable after it was answered has data too; a patient of
another study is none of this study's. PostgreSQL's fetcher takes "with data" from the
scores' statement (``tables._count_visits``), the ORM's from ``VisitScores`` directly:
both must count each visit once, in the same state, as a direct count does."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from django.db import connection

from outcomes.analysis.selectors import study_scores
from outcomes.analysis.tables import orm_columns, postgres_columns
from patients.demo import load_demo

TODAY = dt.date(2026, 6, 1)
ARMS = ["BMC", "CONTROL"]


def expected_flow(study) -> Counter:
    """(arm, time point, state, due) per visit, read visit by visit."""
    from outcomes.followups.models import Visit
    from outcomes.instruments.models import VisitScores

    with_data = set(VisitScores.objects.values_list("visit_id", flat=True))
    found: Counter = Counter()
    for pk, arm, tp, status, closes in Visit.objects.filter(enrolment__study=study).values_list(
            "pk", "enrolment__arm__code", "timepoint__code", "status", "window_close_date"):
        found[(arm, tp, "with_data" if pk in with_data else status, closes < TODAY)] += 1
    return found


@pytest.mark.django_db
def test_both_fetchers_count_each_visit_in_the_state_its_data_and_status_give(study):
    from outcomes.followups.models import Visit
    from outcomes.instruments.models import VisitScores

    load_demo(size=12, today=TODAY)
    answered = Visit.objects.filter(enrolment__study=study, status="completed",
                                    pk__in=VisitScores.objects.values("visit_id"))
    still_open, set_aside = answered[0], answered[1]
    Visit.objects.filter(pk=still_open.pk).update(status="open")
    Visit.objects.filter(pk=set_aside.pk).update(status="not_applicable")
    blank = Visit.objects.filter(enrolment__study=study, status="scheduled").first()
    Visit.objects.filter(pk=blank.pk).update(status="not_applicable")

    scores = study_scores(study.pk)
    expected = expected_flow(study)
    assert expected[(blank.enrolment.arm.code, blank.timepoint.code, "not_applicable",
                     blank.window_close_date < TODAY)] >= 1
    assert {state for _, _, state, _ in expected} >= {"with_data", "scheduled", "missed",
                                                      "not_applicable"}
    orm = orm_columns(study, arms=ARMS, scores=scores, today=TODAY)
    assert Counter(orm.visits) == expected
    if connection.vendor == "postgresql":
        packed = postgres_columns(study, arms=ARMS, scores=scores, today=TODAY)
        assert Counter(packed.visits) == expected
        # A study with no score to read still tells visits with data from those without.
        bare = postgres_columns(study, arms=ARMS, scores=[], today=TODAY)
        assert Counter(bare.visits) == expected
