"""Writes for instruments: definitions synced, responses completed and scored, verdicts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import formats, timezone

from outcomes.alerts.services import alerts_after_correction, raise_alerts
from outcomes.audit.models import AuditRecord
from outcomes.audit.services import new_record, record_change, snapshot

from .definitions import DefinitionError, library_files
from .definitions.base import InstrumentDefinition
from .definitions.files import definition_to_dict, load_definition_file, parse_definition
from .definitions.metadata import differences, is_metadata, next_version, value_at
from .definitions.registry import key_owner
from .models import (
    Instrument,
    ResponderRule,
    ResponderStatus,
    Response,
    Score,
    VisitScores,
    decimal_of,
    exact_of,
    float_of_exact,
    stored_scores,
)
from .reliability import list_items
from .responders import evaluate_all
from .scoring import Scored, ScoringError, score_response
from .selectors import TimepointScores, rules_with_ids, timepoint_scores
from .slots import register_definition
from .stored import (
    WITHOUT_DEFINITION,
    definition_of,
    digest_of,
    library_versions,
    load_stored_definitions,
)

logger = logging.getLogger(__name__)


def _prepare_for_responses(instrument: Instrument, definition: InstrumentDefinition) -> None:
    """What a stored version needs before its first response: its scores' items listed
    for alpha's running sums (so every response is summed from the first) and its scores'
    slots in the visits' arrays of numbers (so no first response waits on another
    writer's new key)."""
    list_items(instrument, definition)
    register_definition(definition)


def library_definitions() -> list[InstrumentDefinition]:
    """Return the built-in library's definitions, parsed from their files."""
    return [load_definition_file(path) for path in library_files()]


def _content(definition: InstrumentDefinition) -> dict[str, object]:
    """The ``Instrument`` columns a definition gives (the file whole, and what it says)."""
    data = definition_to_dict(definition)
    return {
        "title": definition.title, "short_title": definition.short_title,
        "scoring_version": definition.scoring_version, "licence": definition.licence,
        "source": definition.source, "definition": data, "digest": digest_of(data),
    }


@transaction.atomic
def sync_instruments() -> list[Instrument]:
    """Create or refresh one ``Instrument`` row per built-in library file; idempotent.

    A stored version with responses keeps its content even where its file has changed
    since (a version never changes; the change needs a new version): it is logged,
    and its responses keep the definition they were answered and scored on.
    """
    rows = []
    for definition in library_definitions():
        content = _content(definition)
        instrument = Instrument.objects.filter(code=definition.code,
                                               version=definition.version).first()
        if instrument is None:
            instrument = Instrument.objects.create(code=definition.code,
                                                   version=definition.version, **content)
            _prepare_for_responses(instrument, definition)
        elif instrument.digest != content["digest"]:
            if instrument.has_responses:
                metadata, others = answered_differences(instrument, content)
                if others:
                    logger.warning(
                        "%s version %s: the library file differs from the stored version, "
                        "which has responses and so keeps its content (%s); ship the "
                        "change as a new version", definition.code, definition.version,
                        ", ".join(others))
                else:
                    update_answered_metadata(
                        instrument=instrument, content=content, paths=metadata,
                        reason=f"library file of {definition.code} version "
                               f"{definition.version}: metadata updated")
            else:
                for name, value in content.items():
                    setattr(instrument, name, value)
                instrument.save()
                _prepare_for_responses(instrument, definition)
                instruments_changed(instrument)
        rows.append(instrument)
    return rows


def answered_differences(instrument: Instrument,
                         content: Mapping[str, object]) -> tuple[list[str], list[str]]:
    """Return the key paths where ``content``'s file differs from the stored version's:
    (metadata, everything else), each in file order (``definitions.metadata``).
    """
    paths = differences(instrument.definition or {}, content["definition"])
    return ([path for path in paths if is_metadata(path)],
            [path for path in paths if not is_metadata(path)])


def update_answered_metadata(*, instrument: Instrument, content: Mapping[str, object],
                             paths: list[str], actor=None, actor_label: str = "",
                             reason: str) -> None:
    """Write a version's new metadata (it may have responses), audited.

    ``content`` is ``_content`` of a file that differs from the stored one in the
    metadata key ``paths`` only (``answered_differences``); the audit record holds each
    of those keys and the digest, before and after. The model, and on PostgreSQL the
    database, refuse any other change to a version with responses.
    """
    before = {path: value_at(instrument.definition, path) for path in paths}
    before["digest"] = instrument.digest
    for name, value in content.items():
        setattr(instrument, name, value)
    instrument.save()
    after = {path: value_at(instrument.definition, path) for path in paths}
    after["digest"] = instrument.digest
    record_change(obj=instrument, action="update", actor=actor, actor_label=actor_label,
                  before=before, after=after, reason=reason)
    instruments_changed(instrument)


def instruments_changed(instrument: Instrument) -> None:
    """Tell every process that the time points asking ``instrument`` changed content."""
    from outcomes.followups.models import TimePoint
    from outcomes.followups.signals import instruments_changed_for

    instruments_changed_for(*TimePoint.objects.filter(items__instrument=instrument)
                            .values_list("pk", flat=True))


@dataclasses.dataclass(frozen=True)
class ImportedInstrument:
    """What importing a definition file did: ``created``, ``replaced``, ``metadata`` (the
    metadata of a version with responses updated) or ``unchanged``."""

    instrument: Instrument
    action: str
    changed: tuple[str, ...] = ()
    """For ``metadata``: the key paths updated (``scores[0].loinc``)."""


#: What an import's audit record holds of the instrument, before and after.
IMPORT_FIELDS = ("code", "version", "title", "short_title", "scoring_version", "licence",
                 "source", "digest", "definition")


def import_problems(definition: InstrumentDefinition) -> list[str]:
    """Return why ``definition`` cannot be stored beside the others, one line per key.

    A score key another instrument gives (stored, or built in) would mean two scores
    in the stored scores, exports and responder rules; a key the export files name
    columns with already (``study_day``) would repeat their columns; a built-in version is the
    library's file (``sync_instruments`` keeps it so), so a correction of it is a new
    version.
    """
    from outcomes.analysis.exports import reserved_key_problem

    load_stored_definitions()
    problems = []
    for number, score in enumerate(definition.score_defs):
        reserved = reserved_key_problem(score.key)
        if reserved is not None:
            problems.append(f"scores[{number}].key: {reserved}")
        for key, where, named in ((score.key, "key", repr(score.key)),
                                  (score.band_key, "bands", f"the band key {score.band_key!r}")):
            owner = key_owner(key) if key else None
            if owner is not None and owner != definition.code:
                problems.append(f"scores[{number}].{where}: {named} is a score of {owner} "
                                "already (a score key means one score everywhere: choose "
                                "another)")
    here = (definition.code, definition.version)
    if here in library_versions():
        stored = Instrument.objects.filter(code=here[0], version=here[1]).first()
        if stored is None or stored.digest != digest_of(definition_to_dict(definition)):
            problems.append(f"version: {definition.code} version {definition.version} is a "
                            "built-in instrument, kept as its library file says: import "
                            "the correction as a new version")
    return problems


@transaction.atomic
def import_instrument_definition(*, data: Mapping, actor=None, actor_label: str = "",
                                 reason: str = "") -> ImportedInstrument:
    """Store one definition file as an instrument version, or refuse it whole.

    1. Parse and check the file (``parse_definition``: every problem, one line each
       naming its key) and against the instruments stored (``import_problems``).
    2. The same content as the stored version: nothing changes (no audit record).
    3. Another content for a stored version: if it has responses (a version that has
       responses never changes), its metadata is updated where that is
       all that differs (``definitions.metadata``: source, licence, each score's LOINC
       code and name), else the file is refused with a line per key that differs;
       without responses, it is replaced.
    4. Otherwise created. Created, replaced or updated, audited with before and after,
       and the time points asking it told (``instruments_changed``).

    Raises ``DefinitionError`` listing the problems; nothing is stored then.
    """
    definition = parse_definition(data)
    problems = import_problems(definition)
    content = _content(definition)
    existing = (Instrument.objects.select_for_update()
                .filter(code=definition.code, version=definition.version).first())
    if existing is not None and existing.digest == content["digest"] and not problems:
        return ImportedInstrument(existing, "unchanged")
    if existing is not None and existing.has_responses:
        metadata, others = answered_differences(existing, content)
        if others:
            taken = set(Instrument.objects.filter(code=definition.code)
                        .values_list("version", flat=True))
            publish = next_version(definition.version, taken)
            problems.extend(f"{path}: a version with responses cannot change; publish "
                            f"version {publish}" for path in others)
        elif not problems:
            update_answered_metadata(
                instrument=existing, content=content, paths=metadata, actor=actor,
                actor_label=actor_label,
                reason=reason or "definition file imported (metadata)")
            return ImportedInstrument(existing, "metadata", tuple(metadata))
    if problems:
        raise DefinitionError(problems)
    if existing is None:
        instrument = Instrument.objects.create(code=definition.code,
                                               version=definition.version, **content)
        before, action = {}, "created"
    else:
        instrument = existing
        before = snapshot(instrument, IMPORT_FIELDS)
        for name, value in content.items():
            setattr(instrument, name, value)
        instrument.save()
        instruments_changed(instrument)
        action = "replaced"
    _prepare_for_responses(instrument, definition)
    record_change(obj=instrument, action="create" if existing is None else "update",
                  actor=actor, actor_label=actor_label, before=before,
                  after=snapshot(instrument, IMPORT_FIELDS),
                  reason=reason or f"definition file imported ({action})")
    return ImportedInstrument(instrument, action)


def scoring_options(code: str, study) -> dict[str, dict[str, int]]:
    """Return the study's settings that scoring instrument ``code`` takes.

    Its blanks allowed per score (``Study.max_missing``), for every instrument: the
    scorer takes the keys of its own scores and the definition's allowance for others.
    """
    return {"max_missing": dict(study.max_missing or {})}


def scored_for(response: Response, *, study=None) -> Scored:
    """Return what ``response``'s answers give: its scores, and why any is not scorable.

    Too many blank items make a score not scorable, with the reason (SPEC 3.7): data,
    not an error. Raises ``ScoringError`` for a bad value (unknown item, wrong type,
    out of range).
    """
    code = response.instrument.code
    study = study or response.visit.enrolment.study
    return score_response(definition_of(response.instrument), response.answers,
                          **scoring_options(code, study))


# Lock only the rows named (FOR UPDATE OF): a plain FOR UPDATE over select_related joins
# would also lock the shared study and instrument rows and so queue every patient's
# submit behind every other's.
LOCK_SELF = ("self",)
# What scoring and the audit record's description of a response read.
RESPONSE_RELATED = ("instrument", "visit__enrolment__study", "visit__enrolment__patient",
                    "visit__timepoint")


@transaction.atomic
def complete_response(
    *,
    response: Response,
    actor=None,
    actor_label: str = "patient link",
    completed_at: dt.datetime | None = None,
    refresh_status: bool = True,
) -> Response:
    """Complete a response: validate, score, store, update the visit and responder status.

    Idempotent: a response already completed is returned unchanged, so a double
    submit stores one response. Answers too blank for a score complete it all the
    same, the score recorded as not scorable (SPEC 3.7); a bad value raises
    ``ScoringError`` and changes nothing.
    """
    response = Response.objects.select_for_update(of=LOCK_SELF).select_related(
        *RESPONSE_RELATED,
    ).get(pk=response.pk)
    if response.state == Response.State.COMPLETED:
        return response
    _complete_locked([response], actor=actor, actor_label=actor_label,
                     completed_at=completed_at or timezone.now(),
                     study=response.visit.enrolment.study)
    update_visit_completion(visit=response.visit, at=response.completed_at)
    if refresh_status:
        refresh_responder_statuses(enrolment=response.visit.enrolment)
    return response


def _complete_locked(responses: list[Response], *, actor, actor_label: str,
                     completed_at: dt.datetime, study, visit_locked: bool = False) -> None:
    """Score, store and audit in-progress responses of one visit that the caller locked.

    All are scored before anything is written, so a bad value changes nothing; a
    score the answers are too blank for is recorded as not scorable, with the reason
    (``Response.not_scorable``). Then the batch is written in one statement each:
    the responses' state, their scores, their audit records, and the visit's
    ``VisitScores`` row.
    """
    for response in responses:
        if response.state != Response.State.IN_PROGRESS:
            raise ValueError(f"a {response.state} response cannot be completed")
    scored = [scored_for(response, study=study) for response in responses]
    fields = ["state", "answers", "completed_at", "not_scorable"]
    befores = [snapshot(response, fields) for response in responses]
    for response, found in zip(responses, scored, strict=True):
        response.state = Response.State.COMPLETED
        response.completed_at = response.updated_at = completed_at
        response.not_scorable = found.not_scorable
    Response.objects.bulk_update(responses, ["state", "completed_at", "updated_at",
                                             "not_scorable"])
    # Responses completed just now have no scores yet: nothing to replace.
    Score.objects.bulk_create(
        row for response, found in zip(responses, scored, strict=True)
        for row in _score_rows(response, found.values)
    )
    AuditRecord.objects.bulk_create(
        new_record(obj=response, action="update", actor=actor, actor_label=actor_label,
                   before=before, after=snapshot(response, fields))
        for response, before in zip(responses, befores, strict=True)
    )
    refresh_visit_scores(visit_ids={response.visit_id for response in responses},
                         locked=visit_locked)
    for response, found in zip(responses, scored, strict=True):
        raise_alerts(response=response, definition=definition_of(response.instrument),
                     values=found.values, actor=actor, actor_label=actor_label)


def _score_rows(response: Response, values: dict[str, object]) -> list[Score]:
    version = response.instrument.scoring_version
    return [
        Score(
            response=response, code=code, value=decimal_of(value),
            exact=exact_of(value), scoring_version=version,
        )
        for code, value in stored_scores(values).items()
    ]


def store_scores(*, response: Response, scored: Scored) -> list[Score]:
    """Replace ``response``'s stored scores with ``scored``'s numeric values and reasons."""
    response.scores.all().delete()
    rows = Score.objects.bulk_create(_score_rows(response, scored.values))
    if response.not_scorable != scored.not_scorable:
        response.not_scorable = scored.not_scorable
        Response.objects.filter(pk=response.pk).update(not_scorable=scored.not_scorable)
    refresh_visit_scores(visit_ids=[response.visit_id])
    return rows


def visit_score_values(visit_ids: Iterable[int]) -> dict[int, dict[str, float]]:
    """Return ``{visit_id: {score key: float}}`` for the visits with a completed response.

    Every numeric score those responses have (a ``Score`` row each, whatever the
    instrument): what a ``VisitScores`` row holds. A visit whose completed responses
    give no score (all not scorable) maps to ``{}``. One query; chunk large sets at
    the caller.
    """
    values: dict[int, dict[str, float]] = {}
    for visit, code, exact in (
        Response.objects.filter(visit_id__in=list(visit_ids), state=Response.State.COMPLETED)
        .order_by("pk").values_list("visit_id", "scores__code", "scores__exact")
    ):
        found = values.setdefault(visit, {})
        if code is not None:
            found[code] = float_of_exact(exact)
    return values


def refresh_visit_scores(*, visit_ids: Iterable[int], batch_size: int = 2000,
                         locked: bool = False) -> int:
    """Rewrite the ``VisitScores`` rows of these visits from their completed responses.

    Called wherever scores or a response's state change (``store_scores``), and in
    batches after bulk loads. The visits are locked first (on PostgreSQL), so two
    responses of one visit completed at once cannot write a row from a stale read.
    Returns the number of rows written; visits without a completed response lose theirs.
    ``locked=True``: the caller's transaction already holds these visits' row locks.
    """
    from outcomes.followups.models import Visit

    ids = sorted(set(visit_ids))
    written = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        with transaction.atomic(savepoint=False):
            visits = Visit.objects.filter(pk__in=batch).order_by("pk")
            if not locked:
                visits = visits.select_for_update()
            visits = {
                pk: (enrolment, timepoint)
                for pk, enrolment, timepoint in visits.values_list(
                    "pk", "enrolment_id", "timepoint_id")
            }
            values = visit_score_values(batch)
            if len(values) < len(batch):
                VisitScores.objects.filter(visit_id__in=batch).exclude(
                    visit_id__in=list(values)).delete()
            rows = [
                VisitScores(visit_id=pk, enrolment_id=visits[pk][0], timepoint_id=visits[pk][1],
                            values=found)
                for pk, found in values.items()
            ]
            VisitScores.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["visit"], update_fields=["values"],
            )
            written += len(rows)
    return written


def complete_answered_visits(*, visit_ids: Iterable[int], batch_size: int = 2000) -> int:
    """Mark completed each of these visits whose every instrument has a completed response.

    The bulk form of ``update_visit_completion``, in one statement per batch: a visit's
    completion time is its last response's. Returns the number of visits completed.
    """
    from outcomes.followups.models import TimePointInstrument, Visit

    visit, response = Visit._meta.db_table, Response._meta.db_table
    asked = TimePointInstrument._meta.db_table
    ids = sorted(set(visit_ids))
    completed = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        marks = ", ".join(["%s"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {visit} SET status = %s, completed_at = done.last FROM ("
                f"  SELECT r.visit_id, MAX(r.completed_at) AS last,"
                f"         COUNT(DISTINCT r.instrument_id) AS answered"
                f"  FROM {response} r JOIN {visit} v ON v.id = r.visit_id"
                f"  JOIN {asked} a ON a.timepoint_id = v.timepoint_id"
                f"   AND a.instrument_id = r.instrument_id"
                f"  WHERE r.state = %s AND r.visit_id IN ({marks})"
                f"  GROUP BY r.visit_id) AS done"
                f" WHERE {visit}.id = done.visit_id AND {visit}.status <> %s"
                f"   AND done.answered = (SELECT COUNT(*) FROM {asked} t"
                f"                        WHERE t.timepoint_id = {visit}.timepoint_id)",
                [Visit.Status.COMPLETED, Response.State.COMPLETED, *batch,
                 Visit.Status.COMPLETED])
            completed += cursor.rowcount
    return completed


def update_visit_completion(*, visit, at: dt.datetime) -> bool:
    """Mark ``visit`` completed once every instrument of its time point is completed."""
    from outcomes.followups.models import Visit
    from outcomes.followups.selectors import timepoint_instruments

    wanted = {instrument.pk for instrument in timepoint_instruments(visit.timepoint)}
    done = set(
        Response.objects.filter(visit=visit, state=Response.State.COMPLETED)
        .values_list("instrument_id", flat=True)
    )
    if wanted and wanted <= done and visit.status != Visit.Status.COMPLETED:
        _mark_completed(visit, at)
        return True
    return False


def _mark_completed(visit, at: dt.datetime) -> None:
    from outcomes.followups.models import Visit

    Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.COMPLETED, completed_at=at)
    visit.status, visit.completed_at = Visit.Status.COMPLETED, at


def refresh_responder_statuses(*, enrolment) -> int:
    """Recompute the enrolment's responder status at every follow-up time point.

    Verdicts compare each time point's stored scores with the baseline's, exactly,
    under every rule of the study; a score not scorable (SPEC 3.7) makes its rules
    not evaluable with the reason. Returns the number of statuses written.
    """
    return refresh_study_responder_statuses(study_id=enrolment.study_id,
                                            enrolment_ids=[enrolment.pk])


def refresh_study_responder_statuses(*, study_id: int, enrolment_ids: Iterable[int],
                                     batch_size: int = 1000) -> int:
    """Recompute the responder statuses of many enrolments of one study, in batches.

    The same verdicts as ``refresh_responder_statuses``, read and written a batch of
    enrolments at a time (an import's thousands of patients in a few statements).
    """
    written = 0
    for rows in responder_status_rows(study_id=study_id, enrolment_ids=enrolment_ids,
                                      batch_size=batch_size):
        ResponderStatus.objects.bulk_create(
            [ResponderStatus(enrolment_id=enrolment_id, timepoint_id=timepoint_id,
                             rule_id=rule_id, verdict=verdict, reason=reason, change=change)
             for enrolment_id, timepoint_id, rule_id, verdict, reason, change in rows],
            batch_size=5000,
            update_conflicts=True,
            unique_fields=["enrolment", "timepoint", "rule"],
            update_fields=["verdict", "reason", "change", "computed_at"],
        )
        written += len(rows)
    return written


def responder_status_rows(*, study_id: int, enrolment_ids: Iterable[int],
                          batch_size: int = 1000,
                          known: Mapping[int, TimepointScores] | None = None,
                          ) -> Iterator[list[tuple]]:
    """Yield the responder statuses of these enrolments, a batch of enrolments at a time.

    Each row is (enrolment_id, timepoint_id, rule_id, verdict, reason, change): every
    follow-up time point's scores against the baseline's, exactly, under every rule of
    the study; a score not scorable (SPEC 3.7) makes its rules not evaluable with the
    reason. Callers write them (``refresh_study_responder_statuses``; an import's bulk
    writer). ``known``: the enrolments' scores as ``timepoint_scores`` would read them,
    from a caller that holds them already (an import, which has just scored them).
    """
    from outcomes.followups.models import TimePoint

    rules, rule_ids = rules_with_ids(study_id)
    if not rules:
        return
    timepoints = list(TimePoint.objects.filter(study_id=study_id))
    baseline = next((tp for tp in timepoints if tp.is_baseline), None)
    base = baseline.pk if baseline else None
    ids = sorted(set(enrolment_ids))
    # A follow-up without any score has the same verdicts for every patient whose
    # baseline has the same scores present (values do not matter then): computed once.
    without_followup: dict[tuple, dict] = {}
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        found = timepoint_scores(batch) if known is None else known
        rows = []
        for enrolment_id in batch:
            scores = found.get(enrolment_id) or TimepointScores()
            baseline_values = scores.values.get(base, {})
            baseline_reasons = scores.not_scorable.get(base, {})
            for tp in timepoints:
                if tp.is_baseline:
                    continue
                later, later_reasons = scores.values.get(tp.pk), scores.not_scorable.get(tp.pk)
                if later or later_reasons:
                    outcomes = evaluate_all(rules, baseline_values, later or {},
                                            baseline_reasons=baseline_reasons,
                                            followup_reasons=later_reasons)
                else:
                    key = (tuple(sorted(baseline_values)), tuple(sorted(baseline_reasons.items())))
                    if key not in without_followup:
                        without_followup[key] = evaluate_all(
                            rules, baseline_values, {}, baseline_reasons=baseline_reasons)
                    outcomes = without_followup[key]
                rows.extend(
                    (enrolment_id, tp.pk, rule_ids[code], str(outcome.verdict),
                     outcome.reason[:200],
                     "" if outcome.change is None else exact_of(outcome.change))
                    for code, outcome in outcomes.items()
                )
        yield rows


def ensure_rules(*, study, rules) -> list[ResponderRule]:
    """Create the study's missing responder rules from pure rule objects.

    Rules that already exist keep their (maybe edited) definition. A new rule is
    checked as the admin checks one (``ResponderRule.clean``): on a score an
    instrument scheduled in the study produces, at baseline too, improving the way
    that score does;
    otherwise ``ValidationError`` names each rule, and nothing is created.
    """
    from .responders import CombinedRule
    from .scheduled import (
        direction_message,
        not_at_baseline_message,
        study_scores,
        unknown_score_message,
    )

    existing = set(ResponderRule.objects.filter(study=study).values_list("code", flat=True))
    scores = study_scores(study)
    problems = []
    for rule in rules:
        if isinstance(rule, CombinedRule) or rule.code in existing:
            continue
        found = scores.get(rule.score)
        if found is None:
            problems.append(f"{rule.code}: {unknown_score_message(study, rule.score, scores)}")
        elif str(rule.direction) != found.improvement:
            problems.append(f"{rule.code}: {direction_message(found, str(rule.direction))}")
        elif (not_at_baseline := not_at_baseline_message(study, found)) is not None:
            problems.append(f"{rule.code}: {not_at_baseline}")
    if problems:
        raise ValidationError(problems)
    rows = {}
    for order, rule in enumerate(rules):
        combined = isinstance(rule, CombinedRule)
        row, created = ResponderRule.objects.get_or_create(
            study=study,
            code=rule.code,
            defaults={
                "description": rule.description,
                "score": "" if combined else rule.score,
                "direction": "" if combined else str(rule.direction),
                "kind": str(rule.combinator if combined else rule.kind),
                "threshold": None if combined else Decimal(
                    rule.threshold.numerator) / Decimal(rule.threshold.denominator),
                "order": order,
            },
        )
        rows[rule.code] = (row, created, rule)
    for row, created, rule in rows.values():
        if created and isinstance(rule, CombinedRule):
            row.parts.set([rows[part][0] for part in rule.parts])
    return [row for row, _, _ in rows.values()]


class AlreadyCompleted(Exception):
    """The response (or visit) was already submitted; it can no longer change by link."""


def save_answers(
    *, visit, instrument: Instrument, answers: dict[str, int | None],
    actor=None, actor_label: str = "patient link", source: str = Response.Source.WEB,
) -> Response:
    """Store ``answers`` on the visit's live response to ``instrument``, creating it if needed.

    Answers are merged into what was saved before, so a patient who saves half a
    page and comes back keeps both halves. Raises ``AlreadyCompleted`` once the
    response is completed.
    """
    for attempt in range(2):
        try:
            with transaction.atomic():
                response = (
                    Response.objects.select_for_update(of=LOCK_SELF)
                    .filter(visit=visit, instrument=instrument, state__in=Response.LIVE_STATES)
                    .first()
                )
                if response is not None:
                    # The caller's rows, for the audit record's description: no lazy loads.
                    response.visit, response.instrument = visit, instrument
                    if response.state == Response.State.COMPLETED:
                        raise AlreadyCompleted(f"{instrument.code} was already submitted")
                    before = dict(response.answers)
                    merged = {**before, **answers}
                    if merged != before:
                        response.answers = merged
                        response.save(update_fields=["answers", "updated_at"])
                else:
                    before, merged = {}, dict(answers)
                    response = Response.objects.create(
                        visit=visit, instrument=instrument, answers=merged, source=source,
                        entered_by=actor if getattr(actor, "is_authenticated", False) else None,
                    )
                if merged != before:
                    record_change(
                        obj=response, action="update", actor=actor, actor_label=actor_label,
                        before={"answers": before}, after={"answers": merged},
                    )
                return response
        except IntegrityError:
            # Two first saves raced to create the response; the loser reads the winner's.
            if attempt:
                raise
    raise AssertionError("unreachable")


@transaction.atomic
def submit_visit(*, visit, actor=None, actor_label: str = "patient link",
                 completed_at: dt.datetime | None = None) -> list[Response]:
    """Complete every response of ``visit`` at once, then refresh responder status.

    Idempotent: the visit row is locked, and a visit already completed returns
    its responses unchanged, so two clicks or two tabs store one set. Raises
    ``ScoringError`` for a bad value (nothing is completed); a score too many blank
    answers leave out is recorded as not scorable, with the reason (SPEC 3.7).
    ``completed_at`` defaults to now (a form typed in later passes when it was answered).
    """
    from outcomes.followups.models import Visit
    from outcomes.followups.selectors import timepoint_instruments

    visit = Visit.objects.select_for_update(of=LOCK_SELF).select_related(
        "enrolment__study", "enrolment__patient", "timepoint",
    ).get(pk=visit.pk)
    wanted = [instrument.pk for instrument in timepoint_instruments(visit.timepoint)]
    # Locked here, under the visit's lock, so no save from another tab slips in between.
    responses = {
        r.instrument_id: r
        for r in Response.objects.select_for_update(of=LOCK_SELF)
        .filter(visit=visit, state__in=Response.LIVE_STATES).select_related("instrument")
    }
    missing = [pk for pk in wanted if pk not in responses]
    if missing:
        names = Instrument.objects.filter(pk__in=missing).values_list("code", flat=True)
        raise ScoringError("visit", f"not answered yet: {', '.join(sorted(names))}")
    now = completed_at or timezone.now()
    pending = [responses[pk] for pk in wanted
               if responses[pk].state != Response.State.COMPLETED]
    for response in pending:
        response.visit = visit
    if pending:
        _complete_locked(pending, actor=actor, actor_label=actor_label, completed_at=now,
                         study=visit.enrolment.study, visit_locked=True)
        if visit.status != Visit.Status.COMPLETED:
            # Every instrument of the time point is completed now: the visit is.
            _mark_completed(visit, now)
    refresh_responder_statuses(enrolment=visit.enrolment)
    return [responses[pk] for pk in wanted]


# What a typed-in form changes on a response, audited before and after.
ENTRY_FIELDS = ("answers", "source", "entered_by_id", "entered_at", "out_of_window")


def answered_at(answered_date: dt.date, *, time_zone: str, now: dt.datetime) -> dt.datetime:
    """Return the completion time of a form answered on ``answered_date`` (no hour known).

    Midday in the study's time zone, so the date reads the same wherever it is shown,
    but never later than ``now`` (a form answered this morning is not from the future).
    """
    from zoneinfo import ZoneInfo

    midday = dt.datetime.combine(answered_date, dt.time(12), tzinfo=ZoneInfo(time_zone))
    return min(midday, now)


def entry_refusal(visit) -> str:
    """Say why no form can be typed in for ``visit`` (one that does not accept entry)."""
    label = visit.timepoint.label
    if visit.status == visit.Status.COMPLETED:
        return (f"The {label} visit is already completed, so nothing was entered. To change "
                "an answer, a data manager corrects the response (Correct, on the patient's "
                "scores page), with a reason.")
    if visit.status == visit.Status.NOT_APPLICABLE:
        return f"The {label} visit is marked not applicable: nothing is collected there."
    return (f"The {label} window opens on {formats.date_format(visit.window_open_date)}: "
            "a form for this visit can be entered from then.")


@transaction.atomic
def enter_visit(
    *,
    visit,
    answers: Mapping[str, Mapping[str, int | None]],
    source: str,
    answered_date: dt.date,
    actor,
) -> list[Response]:
    """Record a paper or telephone questionnaire that staff type in for ``visit``.

    ``answers`` maps each instrument code still to be answered at the visit to its
    answers. The responses are completed by ``submit_visit``, so scores, visit
    scores and responder status are exactly what the patient's link would store.

    1. Lock the visit. Refuse a completed one (``AlreadyCompleted``: corrections go
       through the correction page), a not-applicable one or one whose window has not
       opened yet (a form meant for another visit, most likely), a source other than
       paper or phone, and an answer date in the future or before enrolment
       (``ValidationError`` naming the field).
    2. Put each instrument's answers on its live response, replacing whatever the
       patient saved by link: source, who entered it and when, and whether the date
       answered lies outside the visit's window (late forms are taken, and flagged).
    3. Complete the visit at the date answered (``submit_visit``: scores, verdicts).
    4. Audit each response and the visit, with before and after.

    Answers too blank for a score are entered, the score recorded as not scorable with
    the reason (SPEC 3.7), as an import does; a bad value raises ``ScoringError`` and
    stores nothing.
    """
    from outcomes.followups.models import Visit
    from outcomes.followups.schedule import Window, answered_date_problem
    from outcomes.followups.selectors import timepoint_instruments
    from outcomes.followups.services import study_today

    visit = Visit.objects.select_for_update(of=LOCK_SELF).select_related(
        "enrolment__study", "enrolment__patient", "timepoint",
    ).get(pk=visit.pk)
    if visit.status == Visit.Status.COMPLETED:
        raise AlreadyCompleted(f"{visit} is already completed")
    study = visit.enrolment.study
    today = study_today(study)
    if not visit.accepts_entry(today):
        raise ValidationError(entry_refusal(visit))
    if source not in Response.STAFF_SOURCES:
        raise ValidationError({"source": "Choose paper form or telephone interview."})
    problem = answered_date_problem(answered_date, today=today,
                                    enrolled=visit.enrolment.enrolled_date,
                                    written=formats.date_format)
    if problem:
        raise ValidationError({"answered_date": problem})
    window = Window(visit.window_open_date, visit.target_date, visit.window_close_date)
    late = not window.contains(answered_date)
    now = timezone.now()
    live = {
        r.instrument_id: r
        for r in Response.objects.select_for_update(of=LOCK_SELF)
        .filter(visit=visit, state__in=Response.LIVE_STATES)
    }
    to_answer = [instrument for instrument in timepoint_instruments(visit.timepoint)
                 if getattr(live.get(instrument.pk), "state", None) != Response.State.COMPLETED]
    if not to_answer:
        raise ValidationError("No questionnaire is left to answer at this visit.")
    wanted = {instrument.code for instrument in to_answer}
    if set(answers) != wanted:
        raise ValidationError(
            f"Answers are needed for {', '.join(sorted(wanted)) or 'no questionnaire'}, "
            f"not {', '.join(sorted(answers)) or 'none'}.")
    label = Response.Source(source).label
    for instrument in to_answer:
        response = live.get(instrument.pk)
        created = response is None
        if created:
            response = Response(visit=visit, instrument=instrument)
        before = {} if created else snapshot(response, ENTRY_FIELDS)
        response.visit, response.instrument = visit, instrument
        response.answers = dict(answers[instrument.code])
        response.source = source
        response.entered_by = actor
        response.entered_at = now
        response.out_of_window = late
        response.save()
        record_change(obj=response, action="create" if created else "update", actor=actor,
                      before=before, after=snapshot(response, ENTRY_FIELDS),
                      reason=f"{label} entered")
    visit_before = snapshot(visit, ["status", "completed_at"])
    completed_at = answered_at(answered_date, time_zone=study.time_zone, now=now)
    responses = submit_visit(visit=visit, actor=actor, actor_label=label.lower(),
                             completed_at=completed_at)
    visit.refresh_from_db(fields=["status", "completed_at"])
    record_change(
        obj=visit, action="update", actor=actor, before=visit_before,
        after={**snapshot(visit, ["status", "completed_at"]), "source": source,
               "answered_date": str(answered_date), "entered_at": now.isoformat(),
               "out_of_window": late},
        reason=f"{label} entered, answered {answered_date}",
    )
    return responses


def rescore_responses(*, study=None, instrument: str | None = None,
                      dry_run: bool = False) -> dict[str, int]:
    """Recompute the stored scores of completed responses after a scoring correction.

    Each response whose scores (or scoring version) change is rewritten with an
    audit record of the old and new values, and the responder status of its
    patient is refreshed. Returns counts: checked, changed, failed.
    """
    responses = Response.objects.filter(state=Response.State.COMPLETED).select_related(
        "instrument", "visit__enrolment__study",
    ).defer(*WITHOUT_DEFINITION).prefetch_related("scores").order_by("pk")
    if study is not None:
        responses = responses.filter(visit__enrolment__study=study)
    if instrument:
        responses = responses.filter(instrument__code=instrument)
    counts = {"checked": 0, "changed": 0, "failed": 0}
    touched = {}
    for response in responses.iterator(chunk_size=1000):
        counts["checked"] += 1
        try:
            scored = scored_for(response, study=response.visit.enrolment.study)
        except ScoringError:
            counts["failed"] += 1
            continue
        new = {k: exact_of(v) for k, v in stored_scores(scored.values).items()}
        old = {s.code: s.exact for s in response.scores.all()}
        versions = {s.scoring_version for s in response.scores.all()}
        if (new == old and versions <= {response.instrument.scoring_version}
                and scored.not_scorable == response.not_scorable):
            continue
        counts["changed"] += 1
        if dry_run:
            continue
        with transaction.atomic():
            before = {"scores": old, "not_scorable": response.not_scorable}
            store_scores(response=response, scored=scored)
            record_change(obj=response, action="update", actor_label="rescore",
                          before=before,
                          after={"scores": new, "not_scorable": scored.not_scorable},
                          reason=f"rescored with scoring version "
                                 f"{response.instrument.scoring_version}")
            # A corrected scorer may newly meet an alert on a score (never one on an item).
            raise_alerts(response=response, definition=definition_of(response.instrument),
                         values=scored.values, actor_label="rescore")
        touched[response.visit.enrolment_id] = response.visit.enrolment
    for enrolment in touched.values():
        refresh_responder_statuses(enrolment=enrolment)
    return counts


class NotCompleted(ValueError):
    """The response is no longer completed (corrected or voided meanwhile)."""


@transaction.atomic
def correct_response(*, response: Response, answers: dict[str, int | None], reason: str,
                     actor) -> Response:
    """Replace a completed response's answers, keeping the original as ``corrected``.

    The new response supersedes the old one, keeps its completion time, is
    scored (a score too many blank answers leave out recorded as not scorable, SPEC
    3.7), and the audit record holds both answer sets and the reason. Raises
    ``ValueError`` without a reason and ``ScoringError`` for a bad value.
    """
    if not reason or not reason.strip():
        raise ValueError("a correction needs a reason")
    original = Response.objects.select_for_update(of=LOCK_SELF).select_related(
        *RESPONSE_RELATED,
    ).get(pk=response.pk)
    if original.state != Response.State.COMPLETED:
        raise NotCompleted(
            f"only a completed response can be corrected, not a {original.state} one")
    code = original.instrument.code
    scored = score_response(definition_of(original.instrument), answers,
                            **scoring_options(code, original.visit.enrolment.study))
    original.state = Response.State.CORRECTED
    original.save(update_fields=["state", "updated_at"])
    replacement = Response.objects.create(
        visit=original.visit, instrument=original.instrument, answers=dict(answers),
        state=Response.State.COMPLETED, source=original.source,
        completed_at=original.completed_at, entered_by=actor, supersedes=original,
        out_of_window=original.out_of_window,  # answered on the same day as the original
        not_scorable=scored.not_scorable,
    )
    store_scores(response=replacement, scored=scored)
    record_change(obj=replacement, action="correct", actor=actor,
                  before={"answers": original.answers, "response": original.pk},
                  after={"answers": replacement.answers, "response": replacement.pk},
                  reason=reason.strip())
    alerts_after_correction(original=original, replacement=replacement,
                            definition=definition_of(original.instrument),
                            values=scored.values, actor=actor)
    refresh_responder_statuses(enrolment=original.visit.enrolment)
    return replacement


@transaction.atomic
def void_response(*, response: Response, reason: str, actor) -> Response:
    """Void a completed response (entered for the wrong patient, say), with a reason.

    The row stays, as ``voided``, with its scores; results and verdicts leave it out,
    and the visit is no longer complete unless another response takes its place: it
    takes the state ``schedule.state_after_void`` gives (what the correction page
    announces before the void, through ``selectors.void_consequence``), audited.
    """
    from outcomes.followups.models import Visit
    from outcomes.followups.schedule import Window, state_after_void
    from outcomes.followups.services import study_today

    if not reason or not reason.strip():
        raise ValueError("voiding a response needs a reason")
    original = Response.objects.select_for_update(of=LOCK_SELF).select_related(
        "visit__enrolment__study", "instrument",
    ).get(pk=response.pk)
    if original.state != Response.State.COMPLETED:
        raise NotCompleted(
            f"only a completed response can be voided, not a {original.state} one")
    original.state = Response.State.VOIDED
    original.save(update_fields=["state", "updated_at"])
    record_change(obj=original, action="void", actor=actor, before={"state": "completed"},
                  after={"state": "voided"}, reason=reason.strip())
    refresh_visit_scores(visit_ids=[original.visit_id])  # the results read VisitScores
    visit = original.visit
    if visit.status == Visit.Status.COMPLETED:
        window = Window(visit.window_open_date, visit.target_date, visit.window_close_date)
        state = state_after_void(
            window, today=study_today(visit.enrolment.study),
            withdrawn=visit.enrolment.status == visit.enrolment.Status.WITHDRAWN)
        Visit.objects.filter(pk=visit.pk).update(status=state, completed_at=None)
        record_change(obj=visit, action="update", actor=actor,
                      before={"status": visit.status}, after={"status": str(state)},
                      reason=f"{original.instrument.short_title} voided: {reason.strip()}")
    refresh_responder_statuses(enrolment=visit.enrolment)
    return original
