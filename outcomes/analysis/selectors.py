"""Reads for results: stored scores and verdicts as tidy rows, one query each."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from django.db.models import Count

from outcomes.followups.models import Visit
from outcomes.instruments.models import RESULT_SCORES, ResponderStatus, Response, Score
from outcomes.instruments.selectors import ENTRY_FIELDS, staff_entry, staff_entry_columns
from patients.models import Enrolment

# RESULT_SCORES, the score codes ``results`` reports (plus ``opioid_mme`` from visits), is
# defined beside ``VisitScores``, which keeps a column for each.


@dataclass(frozen=True)
class ScoreRow:
    enrolment_id: int
    arm: str
    timepoint: str
    score: str
    value: float


def allocation(study) -> dict[str, int]:
    """Return ``{arm code: patients}``: everyone allocated, whatever happened next; every
    arm of the study in order (empty ones too), then any other arm an enrolment names."""
    result: dict[str, int] = {arm.code: 0 for arm in study.arms.all()}
    for arm, n in (Enrolment.objects.filter(study=study).values_list("arm__code")
                   .annotate(n=Count("pk")).order_by("arm__code")):
        result[arm] = n
    return result


def score_rows(study) -> Iterator[ScoreRow]:
    """Yield every stored result score and every recorded opioid dose, one row each.

    Arms and time points are joined in Python from two small maps, so the big query
    touches only scores, responses and visits; rows stream in chunks.
    """
    from outcomes.followups.models import TimePoint

    arm_of = dict(Enrolment.objects.filter(study=study).values_list("pk", "arm__code"))
    tp_code = dict(TimePoint.objects.filter(study=study).values_list("pk", "code"))
    scores = Score.objects.filter(
        response__visit__enrolment__study=study,
        response__state=Response.State.COMPLETED,
        code__in=RESULT_SCORES,
    ).values_list(
        "response__visit__enrolment_id", "response__visit__timepoint_id", "code", "exact",
    )
    for enrolment, tp, code, exact in scores.iterator(chunk_size=20000):
        # From the exact value (the decimal column is rounded to 10 places); terminating
        # decimals parse directly, only repeating ones ("320/9") need a Fraction.
        yield ScoreRow(enrolment, arm_of[enrolment], tp_code[tp], code,
                       float(Fraction(exact)) if "/" in exact else float(exact))
    visits = Visit.objects.filter(enrolment__study=study).values_list(
        "enrolment_id", "timepoint_id", "timepoint__is_baseline",
        "opioid_mme", "enrolment__patient__baseline_opioid_mme", "status",
    )
    for enrolment, tp, is_baseline, mme, baseline_mme, status in visits.iterator(
        chunk_size=20000,
    ):
        if mme is None and is_baseline:
            mme = baseline_mme  # the enrolment record's baseline dose
        if mme is not None and (status == Visit.Status.COMPLETED or is_baseline):
            yield ScoreRow(enrolment, arm_of[enrolment], tp_code[tp], "opioid_mme", float(mme))


def verdict_counts(study) -> dict[tuple[str, str, str, str], int]:
    """Return ``{(arm, time point, rule, verdict): patients}``, counted by the database."""
    rows = (
        ResponderStatus.objects.filter(enrolment__study=study)
        .values_list("enrolment__arm__code", "timepoint__code", "rule__code", "verdict")
        .annotate(n=Count("pk")).order_by()
    )
    return {(arm, tp, rule, verdict): n for arm, tp, rule, verdict, n in rows}


CHART_SCORES = (
    ("odi", "ODI (%)", 0, 100),
    ("nrs", "NRS pain", 0, 10),
    ("eq5d_index_uk", "EQ-5D index (UK)", -0.6, 1),
    ("gph_t", "PROMIS GPH T", 10, 70),
    ("gmh_t", "PROMIS GMH T", 10, 70),
    ("opioid_mme", "Opioid MME/day", 0, None),
)


def patient_outcomes(enrolment) -> dict:
    """Return one patient's scores, changes, verdicts and forms typed in by staff by time
    point, in four queries."""
    from outcomes.followups.models import TimePoint
    from outcomes.instruments.models import ResponderRule

    timepoints = list(TimePoint.objects.filter(study_id=enrolment.study_id)
                      .order_by("target_day"))
    baseline = next((tp.code for tp in timepoints if tp.is_baseline), None)
    values: dict[str, dict[str, float]] = {}
    for code, tp, exact in Score.objects.filter(
        response__visit__enrolment=enrolment, response__state=Response.State.COMPLETED,
        code__in=RESULT_SCORES,
    ).values_list("code", "response__visit__timepoint__code", "exact"):
        values.setdefault(code, {})[tp] = float(Fraction(exact))
    entries = []  # how each form typed in by staff got there, read with the visits
    for tp, label, is_baseline, mme, status, *entry in (
        Visit.objects.filter(enrolment=enrolment).annotate(**staff_entry_columns())
        .order_by("target_date").values_list(
            "timepoint__code", "timepoint__label", "timepoint__is_baseline", "opioid_mme",
            "status", *ENTRY_FIELDS)
    ):
        found = staff_entry(dict(zip(ENTRY_FIELDS, entry, strict=True)), timepoint=label,
                            time_zone=enrolment.study.time_zone)
        if found:
            entries.append(found)
        if mme is None and is_baseline:
            mme = enrolment.patient.baseline_opioid_mme
        if mme is not None and (status == Visit.Status.COMPLETED or is_baseline):
            values.setdefault("opioid_mme", {})[tp] = float(mme)
    rows = []
    for code, label, low, high in CHART_SCORES:
        series = [values.get(code, {}).get(tp.code) for tp in timepoints]
        base = values.get(code, {}).get(baseline) if baseline else None
        changes = [None if v is None or base is None or tp.code == baseline else v - base
                   for v, tp in zip(series, timepoints, strict=True)]
        present = [v for v in series if v is not None]
        top = high if high is not None else max([*present, 1.0])
        rows.append({"code": code, "label": label, "values": series, "low": low, "high": top,
                     "points": [{"timepoint": tp.code, "value": v, "change": c}
                                for tp, v, c in zip(timepoints, series, changes, strict=True)]})
    verdicts: dict[str, dict[str, tuple[str, str]]] = {}
    for rule, tp, verdict, reason in ResponderStatus.objects.filter(
        enrolment=enrolment).values_list("rule__code", "timepoint__code", "verdict", "reason"):
        verdicts.setdefault(rule, {})[tp] = (verdict, reason)
    rules = [
        {"code": rule.code, "description": rule.description, "primary": rule.is_primary,
         "cells": [verdicts.get(rule.code, {}).get(tp.code) for tp in timepoints]}
        for rule in ResponderRule.objects.filter(study_id=enrolment.study_id)
        .order_by("order", "code")
    ]
    return {"timepoints": timepoints, "baseline": baseline, "scores": rows, "rules": rules,
            "entries": entries}


VERDICT_FILTERS = ("responder", "non_responder", "not_evaluable", "lost")


def completed_responses(enrolment):
    """The enrolment's completed responses, by visit then instrument (for corrections)."""
    return (Response.objects.filter(visit__enrolment=enrolment, state=Response.State.COMPLETED)
            .select_related("instrument", "visit__timepoint")
            .order_by("visit__timepoint__target_day", "instrument__code"))


def responder_list(study, enrolments, *, rule: str, timepoint: str, arm: str = "",
                   verdict: str = ""):
    """Return the statuses of one rule at one time point, filterable; ``lost`` = responder
    at an earlier time point, not at this one."""
    from django.db.models import Exists, OuterRef

    statuses = (
        ResponderStatus.objects.filter(enrolment__in=enrolments, rule__code=rule,
                                       timepoint__code=timepoint)
        .select_related("enrolment__patient", "enrolment__arm", "timepoint", "rule")
        .order_by("enrolment__patient__code")
    )
    if arm:
        statuses = statuses.filter(enrolment__arm__code=arm)
    if verdict == "lost":
        earlier = ResponderStatus.objects.filter(
            enrolment=OuterRef("enrolment"), rule=OuterRef("rule"),
            timepoint__target_day__lt=OuterRef("timepoint__target_day"), verdict="responder",
        )
        statuses = statuses.filter(Exists(earlier)).exclude(verdict="responder")
    elif verdict in VERDICT_FILTERS:
        statuses = statuses.filter(verdict=verdict)
    return statuses


def earlier_verdicts(statuses) -> dict[int, list[tuple[str, str]]]:
    """Return ``{enrolment id: [(time point, verdict), ...]}`` for a page of statuses."""
    if not statuses:
        return {}
    first = statuses[0]
    rows = ResponderStatus.objects.filter(
        enrolment__in=[s.enrolment_id for s in statuses], rule_id=first.rule_id,
    ).order_by("timepoint__target_day").values_list("enrolment_id", "timepoint__code",
                                                    "verdict")
    result: dict[int, list[tuple[str, str]]] = {}
    for enrolment, tp, verdict in rows:
        result.setdefault(enrolment, []).append((tp, verdict))
    return result


def visit_flow(study) -> dict[tuple[str, str, str], int]:
    """Return ``{(arm, time point, state): visits}`` where state is ``with_data`` (any
    completed response: analysed) or else the visit's status; counted by the database."""
    from django.db.models import Exists, OuterRef

    answered = Response.objects.filter(visit=OuterRef("pk"), state=Response.State.COMPLETED)
    rows = (
        Visit.objects.filter(enrolment__study=study).annotate(has_data=Exists(answered))
        .values_list("enrolment__arm__code", "timepoint__code", "status", "has_data")
        .annotate(n=Count("pk")).order_by()
    )
    result: dict[tuple[str, str, str], int] = defaultdict(int)
    for arm, tp, status, has_data, n in rows:
        result[(arm, tp, "with_data" if has_data else status)] += n
    return dict(result)


def status_reasons(study) -> list[tuple[str, str, str, int]]:
    """Return ``(arm, status, reason, patients)`` for patients no longer active."""
    return list(
        Enrolment.objects.filter(study=study).exclude(status=Enrolment.Status.ACTIVE)
        .values_list("arm__code", "status", "status_reason").annotate(n=Count("pk"))
        .order_by("arm__code", "status", "status_reason")
    )


def primary_verdicts_with_covariates(study) -> list[tuple]:
    """Return ``(arm, time point, rule, verdict, sex, age, bmi, opioid)`` for primary rules."""
    return list(
        ResponderStatus.objects.filter(enrolment__study=study, rule__is_primary=True)
        .values_list("enrolment__arm__code", "timepoint__code", "rule__code", "verdict",
                     "enrolment__patient__sex", "enrolment__patient__age_at_enrolment",
                     "enrolment__patient__bmi", "enrolment__patient__baseline_opioid_mme")
        .iterator(chunk_size=10000)
    )
