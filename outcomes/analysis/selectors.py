"""Reads for results: stored scores and verdicts as tidy rows, one query each."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

from django.db.models import Count, Exists, OuterRef

from outcomes.followups.models import Visit
from outcomes.instruments.definitions import SCORE_SPECS
from outcomes.instruments.models import ResponderStatus, Response, VisitScores
from outcomes.instruments.selectors import ENTRY_FIELDS, staff_entry, staff_entry_columns
from outcomes.instruments.stored import WITHOUT_DEFINITION, definitions_for_study
from patients.models import Enrolment

from . import wording
from .page import rule_scores


def allocation(study, arms: list[tuple[int, str]] | None = None) -> dict[str, int]:
    """Return ``{arm code: patients}``: everyone allocated, whatever happened next; every
    arm of the study in order (empty ones too; ``arms``, (id, code) in display order, if
    the caller has them), then any other arm an enrolment names."""
    if arms is None:
        arms = list(study.arms.order_by("order", "code").values_list("pk", "code"))
    result: dict[str, int] = {code: 0 for _, code in arms}
    for arm, n in (Enrolment.objects.filter(study=study).values_list("arm__code")
                   .annotate(n=Count("pk")).order_by("arm__code")):
        result[arm] = n
    return result


def reference_arm(study, arms: list[tuple[int, str]]) -> str | None:
    """Return the code of the study's reference (control) arm: the one it names, else
    the last of its ``arms`` ((id, code) in display order: a two-arm study lists its
    control second); None for a study without arms."""
    for pk, code in arms:
        if pk == study.reference_arm_id:
            return code
    return arms[-1][1] if arms else None


def primary_comparisons(study) -> list[tuple[str, str]]:
    """Return the study's primary comparisons as (rule code, time point code), in the
    order it designated them."""
    from patients.models import PrimaryComparison

    return list(PrimaryComparison.objects.filter(study=study).order_by("order", "pk")
                .values_list("rule__code", "timepoint__code"))


def study_scores(study_id: int) -> list[str]:
    """Return the result scores of the instruments the study schedules, in schedule order,
    then opioid use: a study that does not ask the ODI shows no ODI."""
    return scores_of([definition for _, definition in definitions_for_study(study_id)])


def scores_of(definitions) -> list[str]:
    """Return the result scores of these definitions (in schedule order), then opioid use."""
    keys: list[str] = []
    for definition in definitions:
        for spec in definition.scores:
            if spec.key not in keys:
                keys.append(spec.key)
    return [*keys, wording.OPIOID.key]


def study_schedule(study_id: int) -> list[tuple[int, int, object]]:
    """Return (time point id, instrument id, definition) of every instrument each of the
    study's time points asks, in schedule order (by time point, then the patient's
    order); one query, as ``definitions_for_study`` (whose order this keeps), with no
    file read once this process has parsed the versions."""
    from outcomes.followups.models import TimePointInstrument
    from outcomes.instruments.stored import definitions_of

    rows = list(TimePointInstrument.objects.filter(timepoint__study_id=study_id)
                .select_related("instrument").defer(*WITHOUT_DEFINITION)
                .order_by("timepoint__target_day", "order", "pk"))
    parsed = definitions_of({row.instrument_id: row.instrument for row in rows}.values())
    return [(row.timepoint_id, row.instrument_id, parsed[row.instrument_id]) for row in rows
            if row.instrument_id in parsed]


def study_rules(study_id: int) -> dict[str, dict]:
    """Return ``{rule code: rule}`` for a study in display order, each a dict of its
    ``score``, ``direction``, ``kind``, ``threshold`` (a Decimal, or None), ``parts``
    (the codes a combination combines) and ``label`` ("ODI improved by 10 points or
    more"), in two queries (the rules, and the parts of the combinations)."""
    from outcomes.instruments.models import ResponderRule

    rules = list(ResponderRule.objects.filter(study_id=study_id).order_by("order", "code")
                 .values("id", "code", "score", "direction", "kind", "threshold"))
    if any(rule["score"] and rule["score"] not in SCORE_SPECS for rule in rules):
        # A score of an instrument this process has not read yet (imported from a file
        # since it started): read the study's, so the label names it in words.
        definitions_for_study(study_id)
    code_of = {rule["id"]: rule["code"] for rule in rules}
    parts: dict[int, list[str]] = defaultdict(list)
    for whole, part in ResponderRule.parts.through.objects.filter(
            from_responderrule__study_id=study_id).order_by("id").values_list(
            "from_responderrule_id", "to_responderrule_id"):
        parts[whole].append(code_of[part])
    found = [{**rule, "parts": parts[rule["id"]]} for rule in rules]
    labels = wording.rule_labels(found)
    return {rule["code"]: {**rule, "label": labels[rule["code"]]} for rule in found}


def rule_labels(study_id: int) -> dict[str, str]:
    """Return ``{rule code: "ODI improved by 10 points or more"}`` for a study, in two
    queries (the rules, and the parts of the combinations)."""
    return {code: rule["label"] for code, rule in study_rules(study_id).items()}


#: Visits whose window has not closed: a verdict there is "not yet due", not a failure.
NOT_YET_DUE = ("scheduled", "open")


def asked_at(schedule, timepoints) -> dict[str, set[str]]:
    """Return the score keys each time point's instruments give, by time point code, from
    the schedule already read (``study_schedule``); opioid use at every one: it is
    recorded at every visit, not asked by a questionnaire (as the tidy file has it)."""
    code_of = {tp.pk: tp.code for tp in timepoints}
    asked = {tp.code: {wording.OPIOID.key} for tp in timepoints}
    for tp, _, definition in schedule:
        asked[code_of[tp]] |= {spec.key for spec in definition.scores}
    return asked


def words_or(items: list[str]) -> str:
    """Return ``["1 month", "3 months", "6 months"]`` as "1 month, 3 months or 6 months"."""
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} or {items[-1]}"


def patient_outcomes(enrolment) -> dict:
    """Return one patient's scores, changes, verdicts and forms typed in by staff by time
    point, ready to read: labels instead of codes, numbers at their display precision,
    changes signed (later minus baseline). Each score is listed at the time points that
    ask for it, and a verdict where none of its rule's scores is asked says so: a
    questionnaire not asked there is not missing. Seven queries whatever the study's
    size."""
    from outcomes.followups.models import TimePoint
    from outcomes.instruments.models import ResponderRule

    timepoints = list(TimePoint.objects.filter(study_id=enrolment.study_id)
                      .order_by("target_day"))
    baseline = next((tp.code for tp in timepoints if tp.is_baseline), None)
    schedule = study_schedule(enrolment.study_id)
    asked = asked_at(schedule, timepoints)

    def asks(tp, code: str) -> bool:
        return code in asked[tp.code]

    values: dict[str, dict[str, float]] = {}
    for tp, found in VisitScores.objects.filter(enrolment=enrolment).values_list(
            "timepoint__code", "values"):
        for code, value in found.items():
            values.setdefault(code, {})[tp] = value
    visit_status = {}
    entries = []  # how each form typed in by staff got there, read with the visits
    for tp, label, is_baseline, mme, status, *entry in (
        Visit.objects.filter(enrolment=enrolment).annotate(**staff_entry_columns())
        .order_by("target_date").values_list(
            "timepoint__code", "timepoint__label", "timepoint__is_baseline", "opioid_mme",
            "status", *ENTRY_FIELDS)
    ):
        visit_status[tp] = status
        found = staff_entry(dict(zip(ENTRY_FIELDS, entry, strict=True)), timepoint=label,
                            time_zone=enrolment.study.time_zone)
        if found:
            entries.append(found)
        if mme is None and is_baseline:
            mme = enrolment.patient.baseline_opioid_mme
        if mme is not None and (status == Visit.Status.COMPLETED or is_baseline):
            values.setdefault("opioid_mme", {})[tp] = float(mme)
    from patients.models import PrimaryComparison

    rules = list(ResponderRule.objects.filter(study_id=enrolment.study_id).annotate(
        primary=Exists(PrimaryComparison.objects.filter(rule=OuterRef("pk"))))
        .order_by("order", "code"))
    mcid = {}  # score → the first points rule on it: the chart's reference line
    for rule in rules:
        if rule.kind == ResponderRule.Kind.POINTS and rule.score not in mcid:
            mcid[rule.score] = rule
    rows = []
    for code in scores_of([definition for *_, definition in schedule]):
        spec = wording.spec_of(code)
        points = [tp for tp in timepoints if asks(tp, code)]
        series = [values.get(code, {}).get(tp.code) for tp in points]
        base = values.get(code, {}).get(baseline) if baseline else None
        changes = [None if v is None or base is None or tp.code == baseline else v - base
                   for v, tp in zip(series, points, strict=True)]
        not_asked = [tp.label for tp in timepoints if not asks(tp, code)]
        present = [v for v in series if v is not None]
        reference = None
        rule = mcid.get(code)
        if rule is not None and base is not None:
            step = float(rule.threshold)
            reference = (base - step if rule.direction == "decrease" else base + step,
                         f"MCID ({wording.number(step, spec.decimals)} from baseline)")
        rows.append({
            "code": code, "title": wording.score_title(code), "label": spec.label,
            "timepoints": [tp.label for tp in points], "values": series,
            "not_asked": f"Not asked at {words_or(not_asked)}." if not_asked else "",
            "low": spec.low if spec.low is not None else 0,
            "high": spec.high if spec.high is not None else max([*present, 1.0]),
            "reference": reference,
            "points": [{"timepoint": tp.label, "value": wording.score_value(code, v),
                        "change": wording.score_change(code, c) if c is not None else ""}
                       for tp, v, c in zip(points, series, changes, strict=True)],
        })
    verdicts: dict[str, dict[str, tuple[str, str]]] = {}
    for rule, tp, verdict, reason in ResponderStatus.objects.filter(
        enrolment=enrolment).values_list("rule__code", "timepoint__code", "verdict", "reason"):
        verdicts.setdefault(rule, {})[tp] = (verdict, reason)
    described = study_rules(enrolment.study_id)
    labels = {code: rule["label"] for code, rule in described.items()}
    reads = {code: set(rule_scores(described, code)) for code in described}
    follow_ups = [tp for tp in timepoints if tp.code != baseline]

    def cell(rule_code: str, tp) -> dict | None:
        if not any(asks(tp, score) for score in reads.get(rule_code, ())):
            return {"verdict": "not_asked", "label": wording.VERDICTS["not_asked"],
                    "reason": ""}
        verdict, reason = verdicts.get(rule_code, {}).get(tp.code, (None, ""))
        if verdict in (None, "not_evaluable") and visit_status.get(tp.code) in NOT_YET_DUE:
            return {"verdict": "not_yet_due", "label": wording.VERDICTS["not_yet_due"],
                    "reason": ""}
        if verdict is None:
            return None
        return {"verdict": verdict, "label": wording.VERDICTS[verdict], "reason": reason}

    return {
        "timepoints": timepoints, "follow_ups": follow_ups, "baseline": baseline,
        "scores": rows, "entries": entries,
        "rules": [{"code": rule.code, "label": labels[rule.code],
                   "description": rule.description, "primary": rule.primary,
                   "cells": [cell(rule.code, tp) for tp in follow_ups]} for rule in rules],
    }


VERDICT_FILTERS = ("responder", "non_responder", "not_evaluable", "lost")


def completed_responses(enrolment):
    """The enrolment's completed responses, by visit then instrument (for corrections)."""
    return (Response.objects.filter(visit__enrolment=enrolment, state=Response.State.COMPLETED)
            .select_related("instrument", "visit__timepoint").defer(*WITHOUT_DEFINITION)
            .order_by("visit__timepoint__target_day", "instrument__code"))


def responder_list(study, enrolments, *, rule: str, timepoint: str, arm: str = "",
                   verdict: str = ""):
    """Return the statuses of one rule at one time point, filterable; ``lost`` = responder
    at an earlier time point, not at this one."""
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
    """Return ``{enrolment id: [(time point label, verdict), ...]}`` for a page of statuses."""
    if not statuses:
        return {}
    first = statuses[0]
    rows = ResponderStatus.objects.filter(
        enrolment__in=[s.enrolment_id for s in statuses], rule_id=first.rule_id,
    ).order_by("timepoint__target_day").values_list("enrolment_id", "timepoint__label",
                                                    "verdict")
    result: dict[int, list[tuple[str, str]]] = {}
    for enrolment, tp, verdict in rows:
        result.setdefault(enrolment, []).append((tp, verdict))
    return result


def change_header(rule) -> str:
    """The change column's heading: which way it is counted and which way is better."""
    if rule is None or rule.is_combination:
        return ""
    spec = wording.spec_of(rule.score)
    better = "a fall is an improvement" if spec.lower_is_better else \
        "a rise is an improvement"
    return f"{spec.label}: change from baseline (later − baseline; {better})"


def responder_rows(statuses, rule, history) -> list[dict]:
    """Return a page of statuses as people read them: the change signed later minus
    baseline (the same sign as the patient's outcomes page), at the score's precision,
    and every time point's verdict in words; a verdict at a visit whose window is still
    to come is "not yet due", not a failure (one query for the page's visits)."""
    due: dict[tuple[int, str], bool] = {}
    if statuses:
        for enrolment, label, state in Visit.objects.filter(
                enrolment__in=[s.enrolment_id for s in statuses]).values_list(
                "enrolment_id", "timepoint__label", "status"):
            due[(enrolment, label)] = state not in NOT_YET_DUE

    def verdict_of(enrolment: int, label: str, verdict: str) -> str:
        if verdict == "not_evaluable" and not due.get((enrolment, label), True):
            return "not_yet_due"
        return verdict

    rows = []
    for status in statuses:
        change = ""
        if status.change and rule is not None and not rule.is_combination:
            improvement = Fraction(status.change)
            later_minus_baseline = -improvement if rule.direction == "decrease" else improvement
            change = wording.score_change(rule.score, later_minus_baseline)
        verdict = verdict_of(status.enrolment_id, status.timepoint.label, status.verdict)
        rows.append({
            "status": status, "patient": status.enrolment.patient.code,
            "arm": status.enrolment.arm.name, "verdict": verdict,
            "verdict_label": wording.VERDICTS.get(verdict, verdict),
            "reason": "" if verdict == "not_yet_due" else status.reason, "change": change,
            "trajectory": [
                (label, wording.VERDICTS.get(v, v)) for label, v in (
                    (label, verdict_of(status.enrolment_id, label, v))
                    for label, v in history.get(status.enrolment_id, []))],
        })
    return rows


def status_reasons(study) -> list[tuple[str, str, str, int]]:
    """Return ``(arm, status, reason, patients)`` for patients no longer active."""
    return list(
        Enrolment.objects.filter(study=study).exclude(status=Enrolment.Status.ACTIVE)
        .values_list("arm__code", "status", "status_reason").annotate(n=Count("pk"))
        .order_by("arm__code", "status", "status_reason")
    )
