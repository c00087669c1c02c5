"""Reads for instruments: scores by time point and responder rules as pure values."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from django.db.models import OuterRef, Subquery

from .models import ResponderRule, Response
from .responders import Combinator, CombinedRule, Direction, SimpleRule, ThresholdKind
from .scoring.engine import first_unscorable_reason


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


@dataclass
class TimepointScores:
    """An enrolment's stored scores at each time point, and why any are not scorable."""

    values: dict[int, dict[str, Fraction]] = field(default_factory=lambda: defaultdict(dict))
    """``{timepoint_id: {score_code: exact value}}``"""
    not_scorable: dict[int, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    """``{timepoint_id: {score_code: reason}}`` (SPEC 3.7)"""


# Stored exact values recur (a few hundred ODI, EQ-5D and T-score values): parse each once.
_fraction = functools.lru_cache(maxsize=65536)(Fraction)


def timepoint_scores(enrolment_ids: Iterable[int]) -> dict[int, TimepointScores]:
    """Return each enrolment's ``TimepointScores`` from its completed responses.

    One query whatever the number of enrolments (chunk large sets at the caller).
    """
    result: dict[int, TimepointScores] = defaultdict(TimepointScores)
    rows = Response.objects.filter(
        visit__enrolment_id__in=list(enrolment_ids), state=Response.State.COMPLETED,
    ).values_list("visit__enrolment_id", "visit__timepoint_id", "not_scorable",
                  "scores__code", "scores__exact")
    for enrolment_id, timepoint_id, not_scorable, code, exact in rows:
        scores = result[enrolment_id]
        if not_scorable:
            scores.not_scorable[timepoint_id].update(not_scorable)
        if code is not None:
            scores.values[timepoint_id][code] = _fraction(exact)
    return result


@dataclass(frozen=True)
class StaffEntry:
    """How a visit's form typed in by staff got there: for the patient and outcomes pages."""

    timepoint: str
    source: str
    source_label: str
    entered_by: str
    entered_date: dt.date
    answered_date: dt.date
    out_of_window: bool


# Each column of a visit's first paper or telephone form, as ``entry_<name>``.
_ENTRY_COLUMNS = {"source": "source", "username": "entered_by__username",
                  "first_name": "entered_by__first_name", "last_name": "entered_by__last_name",
                  "entered_at": "entered_at", "completed_at": "completed_at",
                  "out_of_window": "out_of_window"}
ENTRY_FIELDS = tuple(f"entry_{name}" for name in _ENTRY_COLUMNS)


def staff_entry_columns() -> dict[str, Subquery]:
    """Annotations for a ``Visit`` queryset: its first form typed in by staff, if any.

    In the same query as the visits (no query of its own). The first form entered at a
    visit speaks for it (a visit's instruments are entered together); a corrected one
    still says who first typed it in.
    """
    first = Response.objects.filter(
        visit=OuterRef("pk"), source__in=Response.STAFF_SOURCES,
        state__in=[Response.State.COMPLETED, Response.State.CORRECTED],
        entered_at__isnull=False,
    ).order_by("pk")
    return {f"entry_{name}": Subquery(first.values(path)[:1])
            for name, path in _ENTRY_COLUMNS.items()}


def staff_entry(columns: Mapping[str, object], *, timepoint: str,
                time_zone: str) -> StaffEntry | None:
    """Return the ``StaffEntry`` of a visit read with ``staff_entry_columns``, or None.

    ``columns`` maps ``ENTRY_FIELDS`` to their values; dates are in the study's zone.
    """
    from zoneinfo import ZoneInfo

    source = columns["entry_source"]
    if not source:
        return None
    tz = ZoneInfo(time_zone)
    name = f"{columns['entry_first_name'] or ''} {columns['entry_last_name'] or ''}".strip()
    return StaffEntry(
        timepoint=timepoint, source=source, source_label=Response.Source(source).label,
        entered_by=name or columns["entry_username"] or "",
        entered_date=columns["entry_entered_at"].astimezone(tz).date(),
        answered_date=columns["entry_completed_at"].astimezone(tz).date(),
        out_of_window=bool(columns["entry_out_of_window"]),
    )


def void_consequence(response: Response, *, today: dt.date) -> str:
    """Say what voiding ``response`` does to its visit, before the data manager confirms.

    The same state ``void_response`` will set (``schedule.state_after_void``): "The
    3-month visit will be open again, and the patient's link will work until 15 July
    2026.", "... will be marked missed: its window closed on ...". ``response`` is read
    with its visit, time point and enrolment.
    """
    from django.utils import formats

    from outcomes.followups.models import Visit
    from outcomes.followups.schedule import VisitState, Window, state_after_void, visit_name

    visit = response.visit
    enrolment = visit.enrolment
    name = visit_name(visit.timepoint.label)
    if visit.status != Visit.Status.COMPLETED:
        return (f"The {name} is not complete, so it stays "
                f"{visit.get_status_display().lower()}.")
    window = Window(visit.window_open_date, visit.target_date, visit.window_close_date)
    state = state_after_void(window, today=today,
                             withdrawn=enrolment.status == enrolment.Status.WITHDRAWN)
    opens, closes = (formats.date_format(day) for day in (window.open_date, window.close_date))
    if state == VisitState.NOT_APPLICABLE:
        return (f"The {name} will be marked not applicable: the patient is withdrawn, so it "
                "will not be asked again.")
    if state == VisitState.MISSED:
        return f"The {name} will be marked missed: its window closed on {closes}."
    if state == VisitState.SCHEDULED:
        return f"The {name} will be scheduled again: its window opens on {opens}."
    if enrolment.status == enrolment.Status.ACTIVE:
        return (f"The {name} will be open again, and the patient's link will work until "
                f"{closes}.")
    return (f"The {name} will be open again until {closes}; the patient's status is "
            f"{enrolment.get_status_display().lower()}, so no reminder goes and the link "
            "does not work until they are active again.")


# The instrument version's page in the admin: its definition file, read as a document.

METHOD_WORDS = {
    "sum": "Sum of the answers",
    "mean": "Mean of the answers given",
    "prorated_sum": "Prorated sum: the mean of the answers given × the number of items",
    "percent_of_max": "Percent of maximum (the ODI's method): the points given over the "
                      "highest points of the items answered, × 100",
    "transform_0_100": "Transformed to 0-100: (mean − lowest answer) ÷ (highest − lowest) "
                       "× 100",
    "lookup": "Looked up in a table by the sum of the answers",
    "answered_count": "Number of items answered",
    "registered": "Computed by a registered scoring function",
    "value_set": "Value set: the answers, one digit each, as a health-state profile looked "
                 "up in a table",
    "weighted_scores": "Weighted sum of other scores, each standardized ((score − mean) ÷ "
                       "SD; several in one term: the mean of theirs)",
}
"""Each scoring method in people words (``docs/instruments.md``, *Methods*)."""

KIND_WORDS = {"choice": "Choice of statements", "scale": "Number on a scale"}
DIRECTION_WORDS = {"lower_is_better": "Lower is better", "higher_is_better": "Higher is better"}
LABELS_ONLY = re.compile(r"\blabels?\s+only\b", re.IGNORECASE)
"""How a file's licence says its items carry short labels, not the licensed wording
("Short labels only: obtain the licensed wording ...")."""


def number_text(value) -> str:
    """Return an exact number as people read it: ``16.2``, ``4``, ``−0.594``."""
    exact = Fraction(value)
    if exact.denominator == 1:
        text = str(exact.numerator)
    else:
        as_float = float(exact)
        text = repr(as_float) if Fraction(repr(as_float)) == exact else str(exact)
    return text.replace("-", "−")


@dataclass(frozen=True)
class ItemRow:
    """One question of a version, in order."""

    number: int
    code: str
    text: str
    label_only: bool
    kind: str
    scale: str  # "0..10" for a scale item, "" for a choice
    options: tuple[tuple[str, str], ...]  # (value, label): a choice's answers, a scale's anchors
    required: str


@dataclass(frozen=True)
class ScoreRow:
    """One score of a version: what it is and how it is computed."""

    label: str
    key: str
    method: str
    items: tuple[str, ...]  # "pain_intensity (question 1)"
    max_missing: str
    direction: str
    bands: tuple[tuple[str, str], ...]  # ("21 to 40", "moderate")
    table_heading: str
    table_key: str  # what the table is looked up by: "Raw sum", "Profile"
    table: tuple[tuple[str, str], ...]  # (raw sum or profile, value)
    details: tuple[tuple[str, str], ...]  # (what, said): reversed, recoded, unit, LOINC …
    reported: bool


@dataclass(frozen=True)
class InstrumentDocument:
    """An instrument version's definition file as a data manager reads it (plain data)."""

    title: str
    short_title: str
    code: str
    version: str
    scoring_version: str
    source: str
    licence: str
    labels_only: bool
    recall_period: str
    languages: str
    items: tuple[ItemRow, ...]
    scores: tuple[ScoreRow, ...]
    responses: int
    digest: str
    alerts: tuple[tuple[str, str, str, str], ...] = ()
    """(key, condition in words, what the study team reads, what the patient reads)."""
    problem: str = ""
    """Why the row has no usable definition (then no items and no scores)."""

    @property
    def has_responses(self) -> bool:
        return self.responses > 0


def _bands(score) -> tuple[tuple[str, str], ...]:
    rows, below = [], None
    for upto, label in score.bands:
        exact = Fraction(upto)
        if below is None:
            low = score.low
            span = (f"{number_text(Fraction(str(low)))} to {number_text(exact)}"
                    if low is not None else f"up to {number_text(exact)}")
        elif below.denominator == 1 and exact.denominator == 1 and _integer_score(score):
            span = f"{number_text(below + 1)} to {number_text(exact)}"
        else:
            span = f"above {number_text(below)}, up to {number_text(exact)}"
        rows.append((span, label))
        below = exact
    return tuple(rows)


def _integer_score(score) -> bool:
    """True if the score takes whole numbers only (a sum, a count, an integer table)."""
    if score.method in ("sum", "answered_count"):
        return True
    if score.method in ("lookup", "value_set"):
        return all(Fraction(value).denominator == 1 for _, value in score.table)
    return False


def _term_text(definition, term) -> str:
    """A ``weighted_scores`` term in words: "0.872 × (p29_pf_t − 50) ÷ 10" or, of
    several scores, "−0.094 × the mean of (p29_pi_t − 50) ÷ 10 and (...) ÷ 2.34"."""
    def centred(s) -> str:  # (x − 50); (x + 5) for a mean of −5, not (x − −5)
        mean = Fraction(s.mean)
        sign = "−" if mean >= 0 else "+"
        return f"({s.score} {sign} {number_text(abs(mean))}) ÷ {number_text(Fraction(s.sd))}"

    parts = [centred(s) for s in term.scores]
    read = parts[0] if len(parts) == 1 else (
        "the mean of " + ", ".join(parts[:-1]) + f" and {parts[-1]}")
    return f"{number_text(Fraction(term.weight))} × {read}"


def _score_row(definition, score, numbers: Mapping[str, int]) -> ScoreRow:
    source = definition.score(score.source) if score.source else None
    method = METHOD_WORDS.get(score.method, score.method)
    if score.method == "lookup" and source is not None:
        method = f"Looked up in a table by {source.label} ({source.key})"
    elif score.method == "answered_count" and source is not None:
        method = f"Number of the items of {source.label} ({source.key}) answered"
    elif score.method == "registered":
        method = f"{method}: {score.function}"
    if score.reverse:
        method += ", then reversed (100 minus it)"
    if source is not None:
        items = (f"those of {source.label} ({source.key})",)
        max_missing = f"as {source.label}"
    elif score.terms:
        items = tuple(_term_text(definition, term) for term in score.terms)
        max_missing = "none: not scorable when a score it combines is not"
    else:
        items = tuple(f"{code} (question {numbers[code]})" if code in numbers else code
                      for code in score.items)
        allowed = score.max_missing
        max_missing = ("none may be blank" if allowed == 0 else
                       f"{allowed} of {len(score.items)} may be blank")
    details = []
    if score.reverse_items:
        details.append(("Reversed first (lowest + highest − answer)",
                        ", ".join(score.reverse_items)))
    for code, table in score.recode:
        details.append((f"Recoded first: {code}",
                        ", ".join(f"{raw} → {new}" for raw, new in table)))
    if score.terms:
        mean, sd = (number_text(Fraction(n)) for n in score.metric)
        details.append(("On the metric", f"{mean} + {sd} × the weighted sum"))
    if score.low is not None and score.high is not None:
        ends = [Fraction(str(score.low)), Fraction(str(score.high))]
        shown = [round(end, score.decimals) for end in ends]
        details.append(("Range", f"{number_text(shown[0])} to {number_text(shown[1])}"
                        + (" (rounded to the decimals shown)" if shown != ends else "")))
    places = "place" if score.decimals == 1 else "places"
    details.append(("Shown to", f"{score.decimals} decimal {places}"))
    if score.unit != "{score}":
        details.append(("Unit (UCUM)", score.unit))
    if score.loinc:
        details.append(("LOINC", f"{score.loinc} {score.loinc_display}".strip()))
    if score.required:
        details.append(("Needed", "without this score the whole response is not scorable"))
    if score.anchor is not None:
        cut = (f"{number_text(Fraction(score.anchor.upto))} or lower"
               if score.anchor.upto is not None
               else f"{number_text(Fraction(score.anchor.from_))} or higher")
        details.append(("Anchor of the MCID estimates",
                        f"{cut} counts as “{score.anchor.label}”: the results estimate "
                        "each other score's MCID as its mean change among these patients"))
    example = first_unscorable_reason(score)
    if example:
        details.append(("When too many are blank", f"not scorable: “{example}”"))
    if score.method == "value_set":
        width = len(score.items)
        heading = f"Value of each of the {len(score.table):,} profiles"
        key = "Profile"
        table = tuple((str(raw).zfill(width), number_text(value)) for raw, value in score.table)
    elif score.table:
        heading = f"Value of each raw sum ({len(score.table)} rows)"
        key = "Raw sum"
        table = tuple((str(raw), number_text(value)) for raw, value in score.table)
    else:
        heading, key, table = "", "", ()
    return ScoreRow(
        label=score.label, key=score.key, method=method, items=items, max_missing=max_missing,
        direction=DIRECTION_WORDS.get(score.direction,
                                      "Not reported (kept with the response only)"
                                      if not score.reported else "Not said"),
        bands=_bands(score), table_heading=heading, table_key=key, table=table,
        details=tuple(details),
        reported=score.reported,
    )


def _language_names(codes) -> str:
    from django.utils.translation import get_language_info

    names = []
    for code in codes:
        try:
            names.append(str(get_language_info(code)["name"]))
        except KeyError:
            names.append(code)
    return ", ".join(names)


def instrument_document(instrument) -> InstrumentDocument:
    """Return what an ``Instrument`` row's definition file says, as a document to read.

    Its title, version, source, licence and recall period; each item in order (its
    answers value → label, or its scale's range); each score (method in words, items,
    blanks allowed, direction, bands, lookup table); whether the version has responses
    (then it never changes) and its digest. Two queries: the row's file if it was
    deferred and not yet parsed, and its responses counted.
    """
    from .stored import UndefinedInstrument, definition_of

    responses = Response.objects.filter(instrument_id=instrument.pk).count()
    common = {"code": instrument.code, "version": instrument.version,
              "responses": responses, "digest": instrument.digest}
    try:
        definition = definition_of(instrument)
    except UndefinedInstrument as error:
        return InstrumentDocument(
            title=instrument.title, short_title=instrument.short_title,
            scoring_version=instrument.scoring_version, source=instrument.source,
            licence=instrument.licence, labels_only=False, recall_period="", languages="",
            items=(), scores=(), problem=str(error), **common)
    labels_only = bool(LABELS_ONLY.search(definition.licence))
    items = tuple(
        ItemRow(number=number, code=item.code, text=item.text, label_only=labels_only,
                kind=KIND_WORDS.get(item.kind, item.kind),
                scale=(f"{number_text(item.min_value)}..{number_text(item.max_value)}"
                       if item.kind == "scale" else ""),
                options=tuple((number_text(o.value), o.label) for o in item.options),
                required="Required" if item.required else "Optional")
        for number, item in enumerate(definition.items, start=1))
    numbers = {item.code: item.number for item in items}
    return InstrumentDocument(
        title=definition.title, short_title=definition.short_title,
        scoring_version=definition.scoring_version, source=definition.source,
        licence=definition.licence, labels_only=labels_only,
        recall_period=definition.recall_period,
        languages=_language_names(definition.languages), items=items,
        scores=tuple(_score_row(definition, score, numbers)
                     for score in definition.score_defs),
        alerts=tuple((alert.key, _alert_condition(definition, alert, numbers),
                      alert.staff_message, alert.patient_message)
                     for alert in definition.alerts), **common)


def _alert_condition(definition, alert, numbers: Mapping[str, int]) -> str:
    """When an alert is raised, in words: "question 9 (phq9) answered 1 or more"."""
    bounds = []
    if alert.at_least is not None:
        bounds.append(f"{number_text(Fraction(alert.at_least))} or more")
    if alert.at_most is not None:
        bounds.append(f"{number_text(Fraction(alert.at_most))} or less")
    if alert.item:
        what = f"question {numbers.get(alert.item, '?')} ({alert.item}) answered"
    else:
        what = f"{definition.score(alert.score).label} ({alert.score})"
    return f"{what} {' and '.join(bounds)}"
