"""System checks: every instrument definition can be scored; every study's set-up can run.

The set-up checks read the database (tag ``database``: ``manage.py check --database
default``, and ``migrate``, run them). They name the study, the time point or rule
and the instrument or score, in the words the admin shows.
"""

from __future__ import annotations

from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError


@register()
def check_every_instrument_has_a_scorer(app_configs=None, **kwargs):
    from .definitions import INSTRUMENTS
    from .scoring import SCORERS, unregistered_functions

    errors = [
        Error(
            f"Instrument {code!r} has no scoring function.",
            hint="Its definition file is in outcomes/instruments/library/.",
            id="instruments.E001",
        )
        for code in INSTRUMENTS
        if code not in SCORERS
    ]
    errors += [
        Error(line, hint="Register it in outcomes/instruments/scoring/functions.py.",
              id="instruments.E002")
        for line in unregistered_functions()
    ]
    return errors


@register(Tags.database)
def check_study_set_up(app_configs=None, databases=None, **kwargs):
    """Scheduled instruments have questions; rules and blanks allowed name real scores."""
    messages = []
    for alias in databases or ():
        try:
            messages += _scheduled_without_items(alias)
            messages += _two_versions_at_one_time_point(alias)
            messages += _rules_on_unknown_scores(alias)
            messages += _blanks_allowed_on_unknown_scores(alias)
        except DatabaseError:
            # Tables not made yet (``migrate`` checks before it migrates): nothing to check.
            continue
    return messages


def _scheduled_without_items(alias: str) -> list[Error]:
    from outcomes.followups.models import TimePointInstrument

    from .scheduled import has_items, no_items_message

    rows = (TimePointInstrument.objects.using(alias)
            .select_related("timepoint__study", "instrument")
            .order_by("timepoint__study__code", "timepoint__target_day", "order"))
    return [
        Error(
            f"Study {row.timepoint.study.code}, time point {row.timepoint.code} "
            f"({row.timepoint.label}): {no_items_message(row.instrument)} The patient's "
            f"link for this visit cannot be answered.",
            hint=f"Remove {row.instrument} from the time point in the admin (Time points), "
                 "or give the instrument its questions (its definition).",
            obj=row.timepoint,
            id="instruments.E003",
        )
        for row in rows if not has_items(row.instrument)
    ]


def _two_versions_at_one_time_point(alias: str) -> list[Error]:
    """Time points asking two versions of one questionnaire (saved before the guard).

    Reads only the columns every schema has (``migrate`` checks before it adds
    ``instrument_code``, whose migration stops on such rows).
    """
    from outcomes.followups.models import TimePoint, TimePointInstrument

    from .models import Instrument

    rows = (TimePointInstrument.objects.using(alias)
            .order_by("timepoint_id", "order", "pk")
            .values_list("timepoint_id", "instrument_id"))
    instruments = {i.pk: i for i in Instrument.objects.using(alias).only(
        "code", "version", "title", "short_title")}
    first: dict[tuple[int, str], Instrument] = {}
    twice: list[tuple[int, Instrument, Instrument]] = []
    for timepoint_id, instrument_id in rows:
        instrument = instruments[instrument_id]
        asked = first.setdefault((timepoint_id, instrument.code), instrument)
        if asked.pk != instrument.pk:
            twice.append((timepoint_id, asked, instrument))
    if not twice:
        return []
    timepoints = TimePoint.objects.using(alias).select_related("study").in_bulk(
        {timepoint_id for timepoint_id, _, _ in twice})
    return [
        Error(
            f"Study {timepoints[tp].study.code}, time point {timepoints[tp].code} "
            f"({timepoints[tp].label}) asks {asked.short_title or asked.code} versions "
            f"{asked.version} and {second.version}; a time point asks one version of a "
            f"questionnaire. Only one version's scores are shown in visit scores, exports "
            f"and results.",
            hint=f"Remove one of the two versions of {asked.short_title or asked.code} from "
                 f"the time point in the admin (Time points).",
            obj=timepoints[tp],
            id="instruments.E004",
        )
        for tp, asked, second in twice
    ]


def _rules_on_unknown_scores(alias: str) -> list[Warning]:
    from patients.models import Study

    from .models import ResponderRule
    from .scheduled import (
        direction_message,
        not_at_baseline_message,
        study_scores,
        unknown_score_message,
    )

    found = []
    rules = (ResponderRule.objects.using(alias).exclude(kind__in=["all", "any"])
             .select_related("study").order_by("study__code", "order", "code"))
    scores_of: dict[int, dict] = {}
    for rule in rules:
        study: Study = rule.study
        if study.pk not in scores_of:
            scores_of[study.pk] = study_scores(study)
        scores = scores_of[study.pk]
        score = scores.get(rule.score)
        if score is None:
            found.append(Warning(
                f"Study {study.code}, responder rule {rule.code}: "
                f"{unknown_score_message(study, rule.score, scores)} Every patient is "
                f"'not evaluable' under this rule.",
                hint="Choose the rule's score in the admin (Responder rules).",
                obj=rule, id="instruments.W001",
            ))
        elif rule.direction != score.improvement:
            found.append(Warning(
                f"Study {study.code}, responder rule {rule.code}: "
                f"{direction_message(score, rule.direction)}",
                hint="Patients who got worse count as responders under this rule; set its "
                     "direction in the admin (Responder rules).",
                obj=rule, id="instruments.W002",
            ))
        if score is not None and (
                not_at_baseline := not_at_baseline_message(study, score)) is not None:
            found.append(Warning(
                f"Study {study.code}, responder rule {rule.code}: {not_at_baseline}",
                hint="Schedule the score's instrument at the baseline time point in the "
                     "admin (Time points), or choose another score for the rule "
                     "(Responder rules).",
                obj=rule, id="instruments.W004",
            ))
    return found


def _blanks_allowed_on_unknown_scores(alias: str) -> list[Warning]:
    from patients.models import Study

    from .scheduled import max_missing_problems

    return [
        Warning(
            f"Study {study.code}, blanks allowed per score: {problem}",
            hint="Set the study's blanks allowed in the admin (Studies → Scoring).",
            obj=study, id="instruments.W003",
        )
        for study in Study.objects.using(alias).order_by("code")
        for problem in max_missing_problems(study, study.max_missing)
    ]
