"""Exports for the statistician (SPEC 9): tidy, wide, items, the data dictionary, and the
wide file for SPSS and Stata; and the identified file, for data managers alone.

De-identified by default: patients by study code, ages in whole years with 90 and over
top-coded as 90 ("90 or older"), every date a study day (days from the index date, the
day of the index date being day 0), no free text (no names, contacts, reasons or notes;
the tidy file's ``missing_detail`` is a scoring rule's own words, never a person's).

1. The study's schedule is read once: time points in order (``timepoint_order`` 1, 2,
   … by target day), the instruments each asks, and the scores each instrument reports
   (its definition's ``ScoreSpec``s), plus opioid use, recorded at every visit.
2. The patients are read in batches of ``BATCH`` (keyset on the study code, in the
   database's order of text: byte order on SQLite and on a "C" PostgreSQL), each batch
   with its visits, their ``VisitScores`` rows and their responses, in a fixed number of
   queries; only the enrolments the caller passes (``patients.selectors.enrolments_for``:
   the user's sites) are read, in SQL.
3. Lines are written as each batch is read (``csv_fields``), so the
   memory an export needs is one batch's, whatever the study's size.

Numbers: a score is written from its stored value to 10 significant digits in plain
decimal notation (``SIGNIFICANT``): every score that terminates within that (integers,
T-scores, EQ-5D indexes) exactly, a repeating ODI such as 320/9 as ``35.55555556``,
never float noise such as ``51.111111111111114``. Full precision stays in the JSON of
``results`` and FHIR. Measured values (BMI, opioid doses) as stored.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from outcomes.csvfiles import LINE_END, csv_fields, csv_text
from outcomes.followups.models import TimePoint, TimePointInstrument, Visit
from outcomes.instruments.definitions import ScoreSpec
from outcomes.instruments.models import Response, Score, VisitScores
from outcomes.instruments.scoring.engine import condition_text
from outcomes.instruments.stored import WITHOUT_DEFINITION, definitions_of
from patients.models import Contact, Enrolment, Patient

from . import wording

BATCH = 2000
SIGNIFICANT = 10
AGE_TOP_CODE = 90
MISSING_REASONS = {
    "not_scorable": "the questionnaire was answered, but too few items for this score",
    "missed": "the visit's window closed without this questionnaire (or, for opioid use, "
              "a visit without a recorded dose)",
    "not_yet_due": "the visit's window has not closed yet",
    "withdrawn": "the patient withdrew: the visit was made not applicable",
    "voided": "the only response was voided by a data manager",
}
OPIOID = wording.OPIOID
SEXES = tuple(Patient.Sex)
STATUSES = tuple(Enrolment.Status)
VISIT_STATUSES = tuple(Visit.Status)
SOURCES = tuple(Response.Source)

TIDY_COLUMNS = ("patient", "arm", "site", "timepoint", "timepoint_order", "study_day",
                "score", "value", "missing_reason", "scoring_version", "source",
                "missing_detail", "target_day", "visit_status", "out_of_window", "due",
                "sex", "age", "bmi", "baseline_opioid_mme", "status")
ITEM_COLUMNS = ("patient", "arm", "site", "timepoint", "timepoint_order", "study_day",
                "instrument", "instrument_version", "item", "item_order", "value", "source")
PATIENT_COLUMNS = ("patient", "arm", "site", "sex", "age", "bmi", "baseline_opioid_mme",
                   "status")
COVARIATES = PATIENT_COLUMNS[3:]
IDENTIFYING_COLUMNS = ("full_name", "email", "mobile", "date_of_birth", "enrolled_date",
                       "index_date")


# --- Numbers ---------------------------------------------------------------------------

def score_text(value: float | None) -> str:
    """Return a score to ``SIGNIFICANT`` significant digits, in plain decimal notation.

    ``51.111111111111114`` → ``51.11111111``; ``8.0`` → ``8``; ``-0.109`` stays;
    ``1e-05`` → ``0.00001``; none → empty.
    """
    if value is None:
        return ""
    text = f"{value:.{SIGNIFICANT}g}"
    if "e" in text:
        text = format(Decimal(text), "f")
    return "0" if text == "-0" else text


def decimal_text(value: Decimal | None) -> str:
    """Return a measured value as stored (``27.5``, ``30.00``); none → empty."""
    return "" if value is None else str(value)


def top_coded_age(age: int | None) -> int | None:
    """Return the age in whole years, 90 for 90 and over (HIPAA Safe Harbor's top code)."""
    return None if age is None else min(age, AGE_TOP_CODE)


def age_at(enrolled: dt.date, born: dt.date | None, recorded: int | None) -> int | None:
    """Return the age in whole years at enrolment: recorded, else from the date of birth."""
    if recorded is not None or born is None:
        return recorded
    return enrolled.year - born.year - ((enrolled.month, enrolled.day) < (born.month, born.day))


# --- The schedule ------------------------------------------------------------------------

@dataclass(frozen=True)
class ScheduledInstrument:
    code: str
    version: str
    scoring_version: str
    scores: tuple[ScoreSpec, ...]
    items: tuple  # the definition's Items, in form order
    title: str = ""


@dataclass(frozen=True)
class ScheduledPoint:
    pk: int
    code: str
    label: str
    order: int
    target_day: int
    window_after_days: int
    is_baseline: bool
    instruments: tuple[ScheduledInstrument, ...]

    @functools.cached_property
    def score_keys(self) -> list[str]:
        """The cell's scores, in the file's order (by code), opioid use among them."""
        keys = {spec.key for instrument in self.instruments for spec in instrument.scores}
        return sorted({*keys, OPIOID.key})


@dataclass(frozen=True)
class Schedule:
    points: tuple[ScheduledPoint, ...]
    scores: tuple[ScoreSpec, ...]  # every score asked somewhere, in schedule order, opioid last
    scoring_versions: dict[str, str]  # score key → scoring version (instruments' current)
    instruments: tuple[ScheduledInstrument, ...]  # every instrument asked, schedule order


def study_schedule(study) -> Schedule:
    """Return the study's time points with their instruments and scores (two queries).

    Each instrument as its stored definition says (``stored.definition_of``): an
    instrument imported from a file is exported like a built-in one.
    """
    by_point: dict[int, list[ScheduledInstrument]] = defaultdict(list)
    asked = list(TimePointInstrument.objects.filter(timepoint__study=study)
                 .order_by("timepoint__target_day", "order", "instrument__code")
                 .select_related("instrument").defer(*WITHOUT_DEFINITION))
    definitions = definitions_of(row.instrument for row in asked)
    for row in asked:
        instrument = row.instrument
        definition = definitions.get(instrument.pk)
        if definition is None:
            continue  # an instrument without a definition has no items to export
        by_point[row.timepoint_id].append(ScheduledInstrument(
            instrument.code, instrument.version, instrument.scoring_version,
            definition.scores, definition.items, definition.title))
    points = tuple(
        ScheduledPoint(pk, code, label, order, target_day, after, is_baseline,
                       tuple(by_point.get(pk, ())))
        for order, (pk, code, label, target_day, after, is_baseline) in enumerate(
            TimePoint.objects.filter(study=study).order_by("target_day", "code").values_list(
                "pk", "code", "label", "target_day", "window_after_days", "is_baseline"),
            start=1)
    )
    specs: dict[str, ScoreSpec] = {}
    versions: dict[str, str] = {}
    instruments: dict[str, ScheduledInstrument] = {}
    for point in points:
        for instrument in point.instruments:
            instruments.setdefault(instrument.code, instrument)
            for spec in instrument.scores:
                specs.setdefault(spec.key, spec)
                versions.setdefault(spec.key, instrument.scoring_version)
    return Schedule(points, (*specs.values(), OPIOID), versions, tuple(instruments.values()))


# --- Reading, a batch of patients at a time -------------------------------------------

@dataclass
class PatientData:
    """One enrolment and what the exports need of it, keyed for lookup."""

    enrolment_id: int
    patient_id: int
    code: str
    arm: str
    site: str
    sex: str
    age: int | None
    bmi: Decimal | None
    baseline_opioid_mme: Decimal | None
    status: str
    enrolled_date: dt.date
    index_date: dt.date
    visits: dict[int, tuple] = field(default_factory=dict)  # timepoint id → visit row
    scores: dict[int, dict] = field(default_factory=dict)  # visit id → VisitScores.values
    # (visit id, instrument code) → (state, source, out_of_window, completed_at,
    # scoring_version, answers) of its completed response, else of a voided one
    responses: dict[tuple[int, str], tuple] = field(default_factory=dict)


VISIT_FIELDS = ("pk", "enrolment_id", "timepoint_id", "status", "window_close_date",
                "completed_at", "opioid_mme")
ENROLMENT_FIELDS = ("pk", "patient_id", "patient__code", "arm__code", "site__code",
                    "patient__sex", "patient__age_at_enrolment", "patient__date_of_birth",
                    "patient__bmi", "patient__baseline_opioid_mme", "status", "enrolled_date",
                    "index_date")


def patient_batches(study, enrolments, *, answers: bool = False,
                    batch: int | None = None) -> Iterator[list[PatientData]]:
    """Yield the study's enrolments among ``enrolments``, ``batch`` at a time, by study
    code (the database's order of text), each with its visits, ``VisitScores`` rows and
    responses: four queries a batch, whatever the study's size.

    The batch's rows are chosen in SQL by its range of codes and ``enrolments`` (the
    caller's scope: a user's sites): each query walks the patients' (study, code) index
    to the enrolments and then each table's own index, where a list of a batch's ids
    would have the planner scan whole tables. ``answers``: read the responses' item
    answers too (the items file).
    """
    batch = batch or BATCH
    scope = enrolments.filter(study=study)
    # Both study filters: the patient's lets the keyset walk its (study, code) index.
    scoped = scope.filter(patient__study=study).order_by("patient__code")
    last = None
    while True:
        page = scoped if last is None else scoped.filter(patient__code__gt=last)
        rows = list(page.values_list(*ENROLMENT_FIELDS)[:batch])
        if not rows:
            return
        patients = {}
        for (pk, patient_id, code, arm, site, sex, age, born, bmi, mme, status, enrolled,
             index) in rows:
            patients[pk] = PatientData(pk, patient_id, code, arm, site, sex,
                                       age_at(enrolled, born, age), bmi, mme, status,
                                       enrolled, index)
        within = {"enrolment__patient__study": study, "enrolment__in": scope,
                  "enrolment__patient__code__lte": rows[-1][2]}
        if last is not None:
            within["enrolment__patient__code__gt"] = last
        visit_of = {}
        for visit in Visit.objects.filter(**within).order_by().values_list(*VISIT_FIELDS):
            patients[visit[1]].visits[visit[2]] = visit
            visit_of[visit[0]] = visit[1]
        for visit_id, enrolment_id, values in VisitScores.objects.filter(
                **within).order_by().values_list("visit_id", "enrolment_id", "values"):
            patients[enrolment_id].scores[visit_id] = values
        # Each response's scoring version is its scores' (a rescore rewrites them); a
        # response without a score (not scorable) falls back to its instrument's.
        version = Score.objects.filter(response=OuterRef("pk")).order_by("code").values(
            "scoring_version")[:1]
        fields = ["visit_id", "instrument__code", "state", "source", "out_of_window",
                  "completed_at", "score_version"]
        if answers:
            fields.append("answers")
        for row in (Response.objects.filter(
                **{f"visit__{key}": value for key, value in within.items()},
                state__in=[Response.State.COMPLETED, Response.State.VOIDED])
                .annotate(score_version=Subquery(version)).order_by().values_list(*fields)):
            key = (row[0], row[1])
            held = patients[visit_of[row[0]]].responses
            # A completed response wins over any voided one of the same instrument.
            if row[2] == Response.State.COMPLETED or key not in held:
                held[key] = row[2:] if answers else (*row[2:], None)
        yield list(patients.values())
        last = rows[-1][2]


# --- What a cell holds -------------------------------------------------------------------

class Context:
    """What every row needs beyond the batch: the schedule, the study's day and zone."""

    def __init__(self, study):
        self.schedule = study_schedule(study)
        self.zone = ZoneInfo(study.time_zone)
        self.today = timezone.now().astimezone(self.zone).date()
        #: Each time point, its code made safe, and its cells' scores in the file's order
        #: with the instrument (version) each comes from there (none for opioid use).
        self.plan = []
        for point in self.schedule.points:
            instrument_of = {spec.key: instrument for instrument in point.instruments
                             for spec in instrument.scores}
            self.plan.append((point, csv_fields((point.code,)),
                              [(key, instrument_of.get(key)) for key in point.score_keys]))

    def study_day(self, at: dt.datetime | None, index: dt.date) -> int | None:
        """Days from the index date to the day ``at`` in the study's time zone."""
        if at is None:
            return None
        return (at.astimezone(self.zone).date() - index).days

    def study_day_text(self, at: dt.datetime | None, index: dt.date) -> str:
        day = self.study_day(at, index)
        return "" if day is None else str(day)


def visit_reason(visit: tuple | None, point: ScheduledPoint, patient: PatientData,
                 today: dt.date) -> str:
    """Why a cell without a value has none, from its visit (the response aside).

    1. A visit made not applicable (what withdrawal does to the visits to come): withdrawn.
    2. A visit missed, or completed without this questionnaire, or whose window has closed
       though the periodic run has not yet marked it: missed.
    3. Otherwise its window is still to close: not yet due (a withdrawn patient's
       visit not yet made not applicable: withdrawn).
    """
    if visit is None:  # a time point added after this patient's visits were laid out
        close = patient.index_date + dt.timedelta(days=point.target_day
                                                  + point.window_after_days)
        status = Visit.Status.SCHEDULED
    else:
        status, close = visit[3], visit[4]
    if status == Visit.Status.NOT_APPLICABLE:
        return "withdrawn"
    if status in (Visit.Status.MISSED, Visit.Status.COMPLETED) or close < today:
        return "missed"
    if patient.status == Enrolment.Status.WITHDRAWN:
        return "withdrawn"
    return "not_yet_due"


def opioid_dose(visit: tuple | None, point: ScheduledPoint, patient: PatientData):
    """The visit's opioid dose as the results read it: recorded at a completed visit; at
    baseline, the enrolment record's dose when the visit has none."""
    if visit is None:
        return patient.baseline_opioid_mme if point.is_baseline else None
    dose = visit[6]
    if dose is None and point.is_baseline:
        dose = patient.baseline_opioid_mme
    if dose is not None and (visit[3] == Visit.Status.COMPLETED or point.is_baseline):
        return dose
    return None


# --- tidy ----------------------------------------------------------------------------------

class NotScorableReasons:
    """Why each not-scorable score of a batch's completed responses is so, read when the
    first such cell asks (one query for the batch; none for a batch without one).

    The reasons are the scoring rules' own words, stored with the response
    (``Response.not_scorable``: "2 sections unanswered; at most 1 allowed"), not free text.
    """

    def __init__(self, study, enrolments, patients: list[PatientData]):
        self.study, self.enrolments, self.patients = study, enrolments, patients
        self.found: dict[tuple[int, str], dict[str, str]] | None = None

    def __call__(self, visit_id: int, instrument: str, key: str) -> str:
        if self.found is None:
            self.found = {}
            if self.patients:
                codes = [patient.code for patient in self.patients]
                # The batch as patient_batches chose it: a range of codes within the
                # scope, which walks the indexes (a list of ids would scan the tables).
                for visit, code, reasons in (Response.objects.filter(
                        visit__enrolment__patient__study=self.study,
                        visit__enrolment__in=self.enrolments.filter(study=self.study),
                        visit__enrolment__patient__code__gte=min(codes),
                        visit__enrolment__patient__code__lte=max(codes),
                        state=Response.State.COMPLETED)
                        .exclude(not_scorable={}).order_by()
                        .values_list("visit_id", "instrument__code", "not_scorable")):
                    self.found[(visit, code)] = reasons
        return self.found.get((visit_id, instrument), {}).get(key, "")


def tidy_lines(context: Context, patients: Iterable[PatientData],
               reasons: NotScorableReasons | None = None) -> Iterator[str]:
    """Yield a line for every scheduled cell: patient × time point × score of the
    instruments asked there (and opioid use), its value or the reason it has none, and
    for a score too blank to compute, the scoring rule's words (``missing_detail``).

    Each line is put together from pieces made safe once (``csv_fields``): a patient's
    columns, a time point's, a scoring version's; the rest are numbers and codes.
    """
    today = context.today
    text_of: dict[str, str] = {}  # a scoring version or reason → its cell, made safe once

    def cell_text(value: str) -> str:
        found = text_of.get(value)
        if found is None:
            found = text_of[value] = csv_fields((value,))
        return found

    for patient in patients:
        head = csv_fields((patient.code, patient.arm, patient.site))
        tail = csv_fields((patient.sex, top_coded_age(patient.age), decimal_text(patient.bmi),
                           decimal_text(patient.baseline_opioid_mme), patient.status))
        for point, point_text, keys in context.plan:
            visit = patient.visits.get(point.pk)
            values = patient.scores.get(visit[0]) if visit else None
            fixed = f"{point.target_day},{visit[3] if visit else ''}"
            # Due as the results decide it: the visit has data (a VisitScores row), or its
            # window closed before today; else its patient is pending there.
            if values is not None:
                due = "1"
            else:
                close = visit[4] if visit else patient.index_date + dt.timedelta(
                    days=point.target_day + point.window_after_days)
                due = "1" if close < today else "0"
            reason_here = ""  # the visit's own reason, worked out once, when needed
            cells: dict[str, tuple] = {}  # instrument → what its response says
            for key, instrument in keys:
                value = reason = version = source = out_of_window = day = detail = ""
                if instrument is None:  # opioid use
                    dose = opioid_dose(visit, point, patient)
                    if dose is not None:
                        value = decimal_text(dose)
                        day = context.study_day_text(visit[5] if visit else None,
                                                     patient.index_date)
                    else:
                        reason = reason_here = reason_here or visit_reason(
                            visit, point, patient, today)
                else:
                    cell = cells.get(instrument.code)
                    if cell is None:
                        response = patient.responses.get((visit[0], instrument.code)) \
                            if visit else None
                        if response is None:
                            reason_here = reason_here or visit_reason(visit, point, patient,
                                                                      today)
                            cell = (None, reason_here, cell_text(instrument.scoring_version),
                                    "", "", "")
                        elif response[0] == Response.State.COMPLETED:
                            _, source, late, at, stored, _ = response
                            cell = (True, "", cell_text(stored or instrument.scoring_version),
                                    source, "1" if late else "0",
                                    context.study_day_text(at, patient.index_date))
                        else:
                            cell = (None, "voided", cell_text(response[4]
                                                              or instrument.scoring_version),
                                    response[1], "", "")
                        cells[instrument.code] = cell
                    answered, reason, version, source, out_of_window, day = cell
                    if answered:
                        number = values.get(key) if values else None
                        # A completed response without this score (too many blank items)
                        # is data, not scorable.
                        value = score_text(number)
                        if number is None:
                            reason = "not_scorable"
                            why = reasons(visit[0], instrument.code, key) if reasons else ""
                            detail = cell_text(why) if why else ""
                        else:
                            reason = ""
                yield (f"{head},{point_text},{point.order},{day},{key},{value},{reason},"
                       f"{version},{source},{detail},{fixed},{out_of_window},{due},{tail}"
                       f"{LINE_END}")


def tidy_stream(study, enrolments) -> Iterator[str]:
    """The tidy file: one line per scheduled cell, ordered by patient, time point, score."""
    context = Context(study)
    yield csv_fields(TIDY_COLUMNS) + LINE_END
    for batch in patient_batches(study, enrolments):
        yield "".join(tidy_lines(context, batch, NotScorableReasons(study, enrolments, batch)))


# --- items ---------------------------------------------------------------------------------

def item_lines(context: Context, patients: Iterable[PatientData]) -> Iterator[str]:
    """Yield a line per item of every completed response (blank items with no value)."""
    middles = {}  # instrument code and version → each item's ",code,order," in form order
    for point in context.schedule.points:
        for instrument in point.instruments:
            middles[(instrument.code, instrument.version)] = [
                (item.code, f",{item.code},{order},")
                for order, item in enumerate(instrument.items, start=1)]
    for patient in patients:
        head = csv_fields((patient.code, patient.arm, patient.site))
        for point, point_text, _ in context.plan:
            visit = patient.visits.get(point.pk)
            if visit is None:
                continue
            for instrument in point.instruments:
                response = patient.responses.get((visit[0], instrument.code))
                if response is None or response[0] != Response.State.COMPLETED:
                    continue
                _, source, _, at, _, answers = response
                prefix = (f"{head},{point_text},{point.order},"
                          f"{context.study_day_text(at, patient.index_date)},"
                          f"{csv_fields((instrument.code, instrument.version))}")
                tail = f",{source}{LINE_END}"
                for code, middle in middles[(instrument.code, instrument.version)]:
                    value = answers.get(code)
                    yield prefix + middle + ("" if value is None else str(int(value))) + tail


def items_stream(study, enrolments) -> Iterator[str]:
    """The items file: every answer of every completed response, in schedule order."""
    context = Context(study)
    yield csv_fields(ITEM_COLUMNS) + LINE_END
    for batch in patient_batches(study, enrolments, answers=True):
        yield "".join(item_lines(context, batch))


# --- wide ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class WideColumn:
    """One column of the wide file: its name, and where its value comes from."""

    name: str
    kind: str  # "patient", "day", "score", "opioid", "band"
    point: ScheduledPoint | None = None
    spec: ScoreSpec | None = None


def wide_layout(schedule: Schedule) -> list[WideColumn]:
    """Patient columns; each time point's study day; each score × time point; bands.

    Every name is the file's only one: a name made twice (a score key and a time point
    code that together spell a study day's or another score's column, e.g. key ``a_b``
    at ``c`` and key ``a`` at ``b_c``) is kept by its first column; the later one is
    written with ``_2`` (``_3``, …) after it. The import refuses the keys that would
    always do so (``reserved_key_problem``).
    """
    points = schedule.points
    layout = [WideColumn(name, "patient") for name in PATIENT_COLUMNS]
    layout += [WideColumn(f"study_day_{p.code}", "day", p) for p in points]
    for spec in schedule.scores:
        kind = "opioid" if spec.key == OPIOID.key else "score"
        layout += [WideColumn(f"{spec.key}_{p.code}", kind, p, spec)
                   for p in points if spec.key in p.score_keys]
    for spec in schedule.scores:
        if spec.bands:
            layout += [WideColumn(f"{spec.key}_band_{p.code}", "band", p, spec)
                       for p in points if spec.key in p.score_keys]
    taken = {column.name for column in layout}
    seen: set[str] = set()
    for position, column in enumerate(layout):
        if column.name in seen:
            number = 2
            while f"{column.name}_{number}" in taken:
                number += 1
            column = layout[position] = replace(
                column, name=f"{column.name}_{number}")
            taken.add(column.name)
        seen.add(column.name)
    return layout


#: Score keys the export files use already: a score with one of these keys would name
#: the same wide columns as they do, at every time point.
RESERVED_KEYS = {"study_day": "the study days (study_day_<time point>)",
                 OPIOID.key: "opioid use (opioid_mme_<time point>)"}


def reserved_key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a score key, or None: its wide columns would be the study
    days' or opioid use's (``RESERVED_KEYS``), or, with a time point's code, a patient
    column (``baseline_opioid`` at a time point ``mme``)."""
    if key in RESERVED_KEYS:
        return (f"{key!r} is a column of the export files already: its columns "
                f"{key}_<time point> would repeat those of {RESERVED_KEYS[key]}; choose "
                f"another key")
    clashes = [name for name in PATIENT_COLUMNS if name.startswith(f"{key}_")]
    if clashes:
        return (f"{key!r} would name the export files' {clashes[0]} column at a time point "
                f"{clashes[0][len(key) + 1:]!r}; choose another key")
    return None


def wide_columns(schedule: Schedule) -> list[str]:
    return [column.name for column in wide_layout(schedule)]


def band_of(spec: ScoreSpec, value: float | None) -> int | None:
    """Return the band's number (1 = the first, lowest) of a value, none without one."""
    if value is None:
        return None
    for number, (upto, _) in enumerate(spec.bands, start=1):
        if value <= upto:
            return number
    return None


def wide_plan(layout: list[WideColumn]) -> list[tuple]:
    """The wide layout by time point: (point, its study day's position, [(position, kind,
    spec) of its scores, opioid dose and bands]), so a row looks up each visit once."""
    plan = []
    points = list(dict.fromkeys(c.point for c in layout if c.point is not None))
    for point in points:
        day = next(i for i, c in enumerate(layout) if c.kind == "day" and c.point == point)
        cells = [(i, c.kind, c.spec) for i, c in enumerate(layout)
                 if c.point == point and c.kind != "day"]
        plan.append((point, day, cells))
    return plan


def wide_values(context: Context, layout: list[WideColumn], plan: list[tuple],
                patient: PatientData) -> list:
    """One patient's row of the wide file as values (numbers, codes, none), in the
    layout's order: the CSV writes them as text, SPSS and Stata as labelled numbers."""
    row: list = [None] * len(layout)
    for position, name in enumerate(PATIENT_COLUMNS):  # the layout starts with them
        row[position] = getattr(patient, name) if name != "patient" else patient.code
    row[PATIENT_COLUMNS.index("age")] = top_coded_age(patient.age)
    first_answer: dict[int, dt.datetime] = {}
    for (visit_id, _), response in patient.responses.items():
        if response[0] == Response.State.COMPLETED and response[3] is not None:
            held = first_answer.get(visit_id)
            first_answer[visit_id] = response[3] if held is None else min(held, response[3])
    for point, day_at, cells in plan:
        visit = patient.visits.get(point.pk)
        if visit is None:
            if point.is_baseline:
                for position, kind, _ in cells:
                    if kind == "opioid":
                        row[position] = opioid_dose(None, point, patient)
            continue
        at = visit[5] or first_answer.get(visit[0])
        row[day_at] = None if at is None else (at.astimezone(context.zone).date()
                                               - patient.index_date).days
        values = patient.scores.get(visit[0])
        for position, kind, spec in cells:
            if kind == "opioid":
                row[position] = opioid_dose(visit, point, patient)
            elif values is not None:
                value = values.get(spec.key)
                row[position] = value if kind == "score" else band_of(spec, value)
    return row


def wide_lines(context: Context, layout: list[WideColumn],
               patients: Iterable[PatientData]) -> Iterator[str]:
    """Yield the wide file's lines: codes made safe once each, numbers as plain text."""
    band_text = {(column.spec.key, n): csv_fields((label,))
                 for column in layout if column.kind == "band"
                 for n, (_, label) in enumerate(column.spec.bands, start=1)}
    kinds = [column.kind for column in layout]
    keys = [column.spec.key if column.spec else "" for column in layout]
    plan = wide_plan(layout)
    for patient in patients:
        cells = []
        for kind, key, value in zip(kinds, keys, wide_values(context, layout, plan, patient),
                                    strict=True):
            if value is None:
                cells.append("")
            elif kind == "score":
                cells.append(score_text(value))
            elif kind == "band":
                cells.append(band_text[(key, value)])
            elif isinstance(value, (Decimal, int)):  # a measured value as stored; a day
                cells.append(str(value))
            else:
                cells.append(csv_fields((value,)))
        yield ",".join(cells) + LINE_END


def wide_stream(study, enrolments) -> Iterator[str]:
    """The wide file: one line per patient, covariates, study days and every score."""
    context = Context(study)
    layout = wide_layout(context.schedule)
    yield csv_fields(column.name for column in layout) + LINE_END
    for batch in patient_batches(study, enrolments):
        yield "".join(wide_lines(context, layout, batch))


# --- identified ------------------------------------------------------------------------

def identified_stream(study, enrolments) -> Iterator[str]:
    """The wide file with names, contact details and calendar dates in front, and each
    visit's completion date at the end.

    For data managers only (the view checks ``patients.export_identified``); every
    download is written to the audit trail.
    """
    context = Context(study)
    layout = wide_layout(context.schedule)
    points = context.schedule.points
    yield csv_fields(("patient", *IDENTIFYING_COLUMNS, *(c.name for c in layout[1:]),
                      *(f"completed_{p.code}" for p in points))) + LINE_END
    for batch in patient_batches(study, enrolments):
        ids = [p.patient_id for p in batch]
        contact = {pid: values for pid, *values in Contact.objects.filter(
            patient_id__in=ids).values_list("patient_id", "full_name", "email", "mobile")}
        born = dict(Patient.objects.filter(pk__in=ids).values_list("pk", "date_of_birth"))
        lines = []
        for patient, wide in zip(batch, wide_lines(context, layout, batch), strict=True):
            name, email, mobile = contact.get(patient.patient_id, (None, None, None))
            completed = []
            for point in points:
                visit = patient.visits.get(point.pk)
                completed.append(visit[5].astimezone(context.zone).date().isoformat()
                                 if visit and visit[5] else None)
            head = csv_fields((patient.code, name, email, mobile, born.get(patient.patient_id),
                               patient.enrolled_date, patient.index_date))
            rest = wide[:-len(LINE_END)].split(",", 1)[1]  # the wide line after the code
            lines.append(f"{head},{rest},{csv_fields(completed)}{LINE_END}")
        yield "".join(lines)


# --- the dictionary ----------------------------------------------------------------------

DICTIONARY_COLUMNS = ("file", "column", "label", "type", "unit", "values", "direction",
                      "scoring_version", "precision", "missing")
UNITS = {"%": "percent of the maximum (0-100)", "{score}": "points",
         "{T-score}": "T-score (mean 50, SD 10 in the US general population)"}
SCORE_PRECISION = (f"{SIGNIFICANT} significant digits of the stored exact value (exact "
                   "wherever it terminates within that; a repeating fraction such as an ODI "
                   "of 320/9 is written 35.55555556); full precision in the results JSON "
                   "and FHIR")
NO_VALUE = "empty: no value (the tidy file's missing_reason says why)"


def _range(spec: ScoreSpec) -> str:
    if spec.low is None and spec.high is None:
        return "0 or more" if spec.low == 0 else ""
    if spec.high is None:
        return f"{spec.low:g} or more"
    return f"{spec.low:g} to {spec.high:g}"


def _direction(spec: ScoreSpec) -> str:
    return "lower is better" if spec.lower_is_better else "higher is better"


def _labels(pairs) -> str:
    return "; ".join(f"{code} = {label}" for code, label in pairs)


def _score_row(spec: ScoreSpec, schedule: Schedule, **extra) -> dict[str, object]:
    measured = spec.key == OPIOID.key
    return {
        "label": wording.score_title(spec.key), "type": "decimal",
        "unit": "MME/day" if measured else UNITS.get(spec.unit, spec.unit),
        "values": _range(spec), "direction": _direction(spec),
        "scoring_version": schedule.scoring_versions.get(spec.key, ""),
        "precision": "as recorded (2 decimal places)" if measured else SCORE_PRECISION,
        "missing": NO_VALUE, **extra,
    }


def _band_row(spec: ScoreSpec, schedule: Schedule, **extra) -> dict[str, object]:
    return {
        "type": "code", "values": _labels(
            (f"{n} (SPSS, Stata) / {label} (CSV)", f"up to {upto:g}")
            for n, (upto, label) in enumerate(spec.bands, start=1)),
        "direction": _direction(spec),
        "scoring_version": schedule.scoring_versions.get(spec.key, ""),
        "missing": NO_VALUE, **extra,
    }


def dictionary_rows(study, schedule: Schedule) -> list[dict[str, object]]:
    """Every column of every file (tidy, wide, items; the SPSS and Stata files are the
    wide file), then every score, every instrument's items, and the responder rules."""
    from .selectors import primary_comparisons, rule_labels

    arms = list(study.arms.order_by("order", "code").values_list("code", "name"))
    sites = list(study.sites.order_by("code").values_list("code", "name"))
    points = schedule.points
    point_values = _labels((p.code, f"{p.label} (day {p.target_day})") for p in points)
    common = {
        "patient": {"label": "Pseudonymous study code", "type": "text", "values": "",
                    "missing": "never empty"},
        "arm": {"label": "Study arm", "type": "code", "values": _labels(arms),
                "missing": "never empty"},
        "site": {"label": "Enrolling site", "type": "code", "values": _labels(sites),
                 "missing": "never empty"},
        "sex": {"label": "Sex", "type": "code", "values": _labels((s.value, s.label)
                                                                     for s in SEXES),
                "missing": "never empty (unknown is a value)"},
        "age": {"label": "Age at enrolment", "type": "integer", "unit": "years",
                "values": f"whole years; {AGE_TOP_CODE} = {AGE_TOP_CODE} or older (top-coded)",
                "precision": "whole years", "missing": "empty: not recorded"},
        "bmi": {"label": "Body-mass index at baseline", "type": "decimal", "unit": "kg/m²",
                "values": "10 to 90", "precision": "as recorded (1 decimal place)",
                "missing": "empty: not recorded"},
        "baseline_opioid_mme": {"label": "Opioid use at enrolment", "type": "decimal",
                                "unit": "MME/day", "values": "0 or more",
                                "precision": "as recorded (2 decimal places)",
                                "missing": "empty: not recorded"},
        "status": {"label": "Enrolment status", "type": "code",
                   "values": _labels((s.value, s.label) for s in STATUSES),
                   "missing": "never empty"},
        "timepoint": {"label": "Time point", "type": "code", "values": point_values,
                      "missing": "never empty"},
        "timepoint_order": {"label": "Time point in schedule order", "type": "integer",
                            "values": _labels((p.order, p.code) for p in points),
                            "missing": "never empty"},
        "study_day": {"label": "Day answered, counted from the index date (day 0)",
                      "type": "integer", "unit": "days", "precision": "whole days",
                      "missing": "empty: not answered"},
    }
    rows: list[dict[str, object]] = []

    def add(file: str, column: str, **values) -> None:
        rows.append({"file": file, "column": column, **values})

    scores = schedule.scores
    for column in TIDY_COLUMNS:
        if column in common:
            add("tidy", column, **common[column])
        elif column == "score":
            add("tidy", column, label="Score", type="code",
                values=_labels((s.key, wording.score_title(s.key)) for s in scores),
                missing="never empty")
        elif column == "value":
            add("tidy", column, label="The score's value (see the score's own row below)",
                type="decimal", precision=SCORE_PRECISION,
                missing="empty exactly when missing_reason is not")
        elif column == "missing_reason":
            add("tidy", column, label="Why the cell has no value", type="code",
                values=_labels(MISSING_REASONS.items()),
                missing="empty: the cell has a value")
        elif column == "scoring_version":
            add("tidy", column, label="Scoring version of the score", type="code",
                missing="empty for opioid use (not scored)")
        elif column == "source":
            add("tidy", column, label="How the questionnaire was answered", type="code",
                values=_labels((s.value, s.label) for s in SOURCES),
                missing="empty: not answered, or opioid use")
        elif column == "missing_detail":
            add("tidy", column, label="Why a not-scorable score could not be computed: the "
                "scoring rule's own words, stored with the response (e.g. \"2 sections "
                "unanswered; at most 1 allowed\", \"global03 unanswered; all four items are "
                "needed\")", type="text",
                missing="empty unless missing_reason is not_scorable (and empty then for a "
                        "response stored before reasons were kept)")
        elif column == "target_day":
            add("tidy", column, label="The time point's target day after the index date",
                type="integer", unit="days", missing="never empty")
        elif column == "visit_status":
            add("tidy", column, label="The visit's status", type="code",
                values=_labels((s.value, s.label) for s in VISIT_STATUSES),
                missing="empty: no visit laid out for this time point")
        elif column == "out_of_window":
            add("tidy", column, label="Answered outside the visit's window", type="integer",
                values="1 = yes; 0 = no", missing="empty: not answered")
        elif column == "due":
            add("tidy", column, label="The visit is due on the day of the export: it has "
                "data, or its window has closed (the results' intention-to-treat "
                "denominator counts the patients whose visit is due; the others are "
                "pending)", type="integer", values="1 = due; 0 = not yet due",
                missing="never empty")
    layout = wide_layout(schedule)
    for wide in layout:
        column, point, spec = wide.name, wide.point, wide.spec
        if wide.kind == "patient":
            add("wide", column, **common[column])
        elif wide.kind == "day":
            add("wide", column, **{**common["study_day"],
                                   "label": f"Day answered at {point.label}"})
        elif wide.kind in ("score", "opioid"):
            add("wide", column, **_score_row(spec, schedule,
                                             label=f"{wording.score_title(spec.key)}"
                                                   f" at {point.label}"))
        else:
            add("wide", column, **_band_row(spec, schedule,
                                            label=f"{spec.label} band at {point.label}"))
    # The SPSS and Stata files are the wide file; a name too long for them (or the same
    # as another's once shortened) is written as ``variable_names`` says: listed here.
    wide_rows = {row["column"]: row for row in rows if row["file"] == "wide"}
    for column, name in layout_variable_names(layout).items():
        if name != column:
            add("spss, stata", name, **{
                **{k: v for k, v in wide_rows[column].items() if k not in ("file", "column")},
                "label": labelled_label(column, wide_rows[column]["label"], name)})
    for column in ITEM_COLUMNS:
        if column in common:
            add("items", column, **common[column])
        elif column == "instrument":
            add("items", column, label="Questionnaire", type="code", values=_labels(
                (i.code, i.title) for i in schedule.instruments),
                missing="never empty")
        elif column == "instrument_version":
            add("items", column, label="Version of the questionnaire", type="code",
                values=_labels((i.code, i.version) for i in schedule.instruments),
                missing="never empty")
        elif column == "item":
            add("items", column, label="Item code (see the item rows below)", type="code",
                missing="never empty")
        elif column == "item_order":
            add("items", column, label="Item's place on the form", type="integer",
                missing="never empty")
        elif column == "value":
            add("items", column, label="The answer's value (see the item rows below)",
                type="integer", missing="empty: the item was left blank")
        elif column == "source":
            add("items", column, label="How the questionnaire was answered", type="code",
                values=_labels((s.value, s.label) for s in SOURCES), missing="never empty")
    for spec in scores:
        add("scores", spec.key, **_score_row(spec, schedule))
    for instrument in schedule.instruments:
        for item in instrument.items:
            anchors = _labels((o.value, o.label) for o in item.options)
            values = (_labels((o.value, o.label + (" (not applicable: not scored)"
                                                   if o.not_applicable else ""))
                              for o in item.options)
                      if item.kind == "choice" else
                      f"{item.min_value} to {item.max_value}"
                      + (f" ({anchors})" if anchors else ""))  # a scale may have none
            missing = "empty: left blank"
            if item.enable_when is not None:
                missing = ("empty: left blank, or not asked ("
                           f"{condition_text(instrument.items, item.code)})")
            add(f"items: {instrument.code} {instrument.version}", item.code, label=item.text,
                type="integer", values=values, missing=missing)
    labels = rule_labels(study.pk)
    primary_at: dict[str, list[str]] = {}
    for rule_code, tp in primary_comparisons(study):
        primary_at.setdefault(rule_code, []).append(tp)
    for rule in study.responder_rules.order_by("order", "code").prefetch_related("parts"):
        if rule.is_combination:
            definition = f"{rule.kind} of: " + ", ".join(p.code for p in rule.parts.all())
        else:
            definition = (f"{rule.score}: {rule.direction} from baseline of at least "
                          f"{wording._threshold(rule.threshold)} "
                          f"{'percent of baseline' if rule.kind == 'percent' else 'points'}")
        add("responder rules", rule.code, label=labels[rule.code], type="rule",
            values=definition + (f"; primary comparison at {', '.join(primary_at[rule.code])}"
                                 if rule.code in primary_at else ""),
            direction=(_direction(wording.spec_of(rule.score)) if rule.score else ""),
            scoring_version=schedule.scoring_versions.get(rule.score, ""),
            missing="not evaluable when baseline or the time point has no value, or a "
                    "percent rule meets a baseline of 0; any/all in three-valued logic")
    return rows


def dictionary_stream(study, enrolments) -> Iterator[str]:
    """The data dictionary (small: built whole)."""
    yield csv_text(DICTIONARY_COLUMNS, dictionary_rows(study, study_schedule(study)))


# --- SPSS and Stata ------------------------------------------------------------------------

def labelled_frame(study, enrolments):
    """Return the wide file as a data frame of numbers and codes, with its variable labels
    and value labels (arm, site, sex, status, bands, the top-coded age) for pyreadstat."""
    import pandas as pd

    context = Context(study)
    layout = wide_layout(context.schedule)
    columns = [column.name for column in layout]
    arms = list(study.arms.order_by("order", "code").values_list("code", "name"))
    sites = list(study.sites.order_by("code").values_list("code", "name"))
    codes = {"arm": arms, "site": sites, "sex": [(s.value, s.label) for s in SEXES],
             "status": [(s.value, s.label) for s in STATUSES]}
    number_of = {column: {code: n for n, (code, _) in enumerate(pairs, start=1)}
                 for column, pairs in codes.items()}
    value_labels = {column: {n: label for n, (_, label) in enumerate(pairs, start=1)}
                    for column, pairs in codes.items()}
    value_labels["age"] = {AGE_TOP_CODE: f"{AGE_TOP_CODE} or older"}
    for column in layout:
        if column.kind == "band":
            value_labels[column.name] = {n: label for n, (_, label) in
                                         enumerate(column.spec.bands, start=1)}
    records = []
    plan = wide_plan(layout)
    for batch in patient_batches(study, enrolments):
        for patient in batch:
            record = []
            for name, value in zip(columns, wide_values(context, layout, plan, patient),
                                   strict=True):
                if name in number_of:
                    value = number_of[name].get(value)
                elif isinstance(value, Decimal):
                    value = float(value)
                record.append(value)
            records.append(record)
    frame = pd.DataFrame.from_records(records, columns=columns)
    for column in columns[1:]:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    labels = {row["column"]: row["label"] for row in dictionary_rows(study, context.schedule)
              if row["file"] == "wide"}
    names = layout_variable_names(layout)
    return (frame.rename(columns=names),
            {names[c]: labelled_label(c, label, names[c]) for c, label in labels.items()},
            {names[c]: labels_ for c, labels_ in value_labels.items()})


#: The longest variable name written: Stata's limit (SPSS allows 64).
NAME_LIMIT = 32
#: The wide file's patient columns written with value labels (``labelled_frame``).
LABELLED_PATIENT_COLUMNS = ("arm", "site", "sex", "status", "age")


def layout_variable_names(layout: list[WideColumn]) -> dict[str, str]:
    """The SPSS and Stata name of each wide column (``variable_names``)."""
    labelled = [c.name for c in layout
                if c.kind == "band" or c.name in LABELLED_PATIENT_COLUMNS]
    return variable_names([c.name for c in layout], labelled=labelled)


def variable_name(column: str) -> str:
    """Return ``column`` in the letters of an SPSS and Stata variable name: letters,
    digits and ``_``, starting with a letter (not yet within ``NAME_LIMIT``)."""
    name = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in column)
    if not name[:1].isalpha():
        name = "v_" + name
    return name


def variable_names(columns: list[str], *, labelled: Iterable[str] = ()) -> dict[str, str]:
    """Return each wide column's SPSS and Stata variable name, every one different.

    A column whose name fits (``variable_name``, at most ``NAME_LIMIT`` characters) keeps
    it. One too long, or the same as another's once written so, is shortened: its
    first characters, ``_`` and four hexadecimal digits of the SHA-256 of its whole name
    (more digits should two ever meet), the same in every export. Names are compared
    without case (SPSS's). Its variable label starts with its whole column name
    (``labelled_label``) and the dictionary lists it.

    A ``labelled`` column (one with value labels) fits in fewer characters: pyreadstat
    names its Stata value label set after it plus a counter (``band_m10`` + ``12``),
    and a label set's name has Stata's limit too.
    """
    labelled = list(labelled)
    counter = len(str(max(len(labelled) - 1, 0)))
    limit = {column: NAME_LIMIT - (counter if column in labelled else 0) for column in columns}
    written = {column: variable_name(column) for column in columns}
    taken: set[str] = set()
    names: dict[str, str] = {}
    for column in columns:  # the names that fit first: none is taken from them
        name = written[column]
        if len(name) <= limit[column] and name.casefold() not in taken:
            names[column] = name
            taken.add(name.casefold())
    for column in columns:
        if column in names:
            continue
        digest = hashlib.sha256(column.encode()).hexdigest()
        for digits in range(4, len(digest) + 1):
            name = f"{written[column][:limit[column] - 1 - digits]}_{digest[:digits]}"
            if name.casefold() not in taken:
                break
        names[column] = name
        taken.add(name.casefold())
    return {column: names[column] for column in columns}


def labelled_label(column: str, label: str, name: str) -> str:
    """A variable's label in the SPSS and Stata files: ``label``, after the wide column's
    whole name when the variable's is shorter (Stata keeps 80 characters)."""
    return label if name == column else f"{column}: {label}"


def write_labelled(study, enrolments, path: str, kind: str) -> None:
    """Write the wide file to ``path`` as SPSS (``spss``, .sav) or Stata (``stata``, .dta)."""
    import pyreadstat

    frame, labels, value_labels = labelled_frame(study, enrolments)
    if kind == "spss":
        pyreadstat.write_sav(frame, path, column_labels=labels,
                             variable_value_labels=value_labels)
    else:
        # Stata: labels of at most 80 characters, value labels on whole numbers.
        pyreadstat.write_dta(frame, path, column_labels={c: label[:80] for c, label
                                                         in labels.items()},
                             variable_value_labels=value_labels, version=15)


# De-identified: study codes, ages top-coded, study days instead of dates.
EXPORTS = {"tidy": tidy_stream, "wide": wide_stream, "items": items_stream,
           "dictionary": dictionary_stream}
LABELLED_EXPORTS = {"spss": "sav", "stata": "dta"}
IDENTIFIED_EXPORTS = {"identified": identified_stream}
