"""Reads for instruments: scores by time point and responder rules as pure values."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from .models import ResponderRule, Response, Score
from .responders import Combinator, CombinedRule, Direction, SimpleRule, ThresholdKind


def rules_with_ids(study_id: int) -> tuple[tuple[SimpleRule | CombinedRule, ...], dict[str, int]]:
    """Return the study's pure rules, in display order, and each rule's row id by code."""
    rows = ResponderRule.objects.filter(study_id=study_id).prefetch_related("parts")
    rules: list[SimpleRule | CombinedRule] = []
    ids: dict[str, int] = {}
    for row in rows:
        ids[row.code] = row.pk
        if row.is_combination:
            rules.append(
                CombinedRule(
                    code=row.code,
                    combinator=Combinator(row.kind),
                    parts=tuple(part.code for part in row.parts.all()),
                    description=row.description,
                )
            )
        else:
            rules.append(
                SimpleRule(
                    code=row.code,
                    score=row.score,
                    direction=Direction(row.direction),
                    kind=ThresholdKind(row.kind),
                    threshold=Fraction(str(row.threshold)),
                    description=row.description,
                )
            )
    return tuple(rules), ids


def scores_by_timepoint(enrolment) -> dict[int, dict[str, Fraction]]:
    """Return ``{timepoint_id: {score_code: exact value}}`` from completed responses."""
    rows = Score.objects.filter(
        response__visit__enrolment=enrolment,
        response__state=Response.State.COMPLETED,
    ).values_list("response__visit__timepoint_id", "code", "exact")
    result: dict[int, dict[str, Fraction]] = defaultdict(dict)
    for timepoint_id, code, exact in rows:
        result[timepoint_id][code] = Fraction(exact)
    return result
