"""Import a study's patients and completed responses from two CSV files (SPEC section 9).

1. Read and validate every row of both files, collecting one message per problem
   (``responses.csv line 14, column value: walking must be 0-5, got 7``).
2. Score each (patient, time point, instrument) group with the same scorers as the web.
3. Only if nothing is wrong, write everything in one transaction: patients, enrolments,
   visits, completed responses, scores and responder status. Rows already imported
   identically are skipped, so importing the same files again changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from outcomes.followups.models import TimePoint, Visit
from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.models import Instrument, Response
from outcomes.instruments.scoring import ScoringError, score
from outcomes.instruments.services import complete_response, refresh_responder_statuses

from .models import STUDY_DATE_RANGE, Enrolment, Patient, Site, Study
from .services import enrol_patient

PATIENT_COLUMNS = ("patient", "arm", "site", "sex", "age", "bmi", "opioid_mme",
                   "enrolled_date", "index_date")
RESPONSE_COLUMNS = ("patient", "timepoint", "instrument", "item", "value", "completed_date")
ACTOR = "import"


class ImportRefused(Exception):
    """The files have problems; nothing was written. ``problems`` has one line each."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass
class PatientRow:
    line: int
    code: str
    arm: str
    site: str
    sex: str
    age: int | None
    bmi: Decimal | None
    opioid_mme: Decimal | None
    enrolled_date: dt.date
    index_date: dt.date


@dataclass
class ResponseGroup:
    line: int
    patient: str
    timepoint: str
    instrument: str
    completed_date: dt.date
    answers: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class ImportSummary:
    patients_created: int
    responses_created: int
    patients_unchanged: int
    responses_unchanged: int


class _Problems(list):
    def add(self, filename: str, line: int, column: str | None, message: str) -> None:
        where = f"{filename} line {line}" + (f", column {column}" if column else "")
        self.append(f"{where}: {message}")


def _rows(text: str, filename: str, columns: tuple[str, ...], problems: _Problems):
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = tuple(name.strip() for name in (reader.fieldnames or ()))
    missing = [c for c in columns if c not in header]
    if missing:
        problems.add(filename, 1, None, f"missing column(s): {', '.join(missing)}; "
                     f"expected header {','.join(columns)}")
        return []
    rows = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            problems.add(filename, number, None, "more fields than the header has")
            continue
        rows.append((number, {k.strip(): (v or "").strip() for k, v in row.items()}))
    return rows


def _date(value: str, filename, line, column, problems) -> dt.date | None:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        problems.add(filename, line, column, f"expected a date YYYY-MM-DD, got {value!r}")
        return None
    low, high = STUDY_DATE_RANGE
    if not low <= day <= high:
        problems.add(filename, line, column, f"{value} is outside {low}..{high}")
        return None
    return day


def _decimal(value, filename, line, column, problems, *, low, high) -> Decimal | None:
    if value == "":
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        problems.add(filename, line, column, f"expected a number, got {value!r}")
        return None
    if not number.is_finite() or not low <= number <= high:
        problems.add(filename, line, column, f"must be {low}-{high}, got {value}")
        return None
    return number


def _parse_patients(text, study, problems) -> dict[str, PatientRow]:
    name = "patients.csv"
    arms = set(study.arms.values_list("code", flat=True))
    sites = set(study.sites.values_list("code", flat=True)) or set(
        Site.objects.values_list("code", flat=True))
    sexes = set(Patient.Sex.values)
    parsed: dict[str, PatientRow] = {}
    for line, row in _rows(text, name, PATIENT_COLUMNS, problems):
        before = len(problems)
        code = row["patient"]
        if not code:
            problems.add(name, line, "patient", "empty patient code")
        elif code in parsed:
            problems.add(name, line, "patient", f"{code} already on line {parsed[code].line}")
        if row["arm"] not in arms:
            problems.add(name, line, "arm", f"unknown arm {row['arm']!r}; the study has "
                         f"{', '.join(sorted(arms))}")
        if row["site"] not in sites:
            problems.add(name, line, "site", f"unknown site {row['site']!r}")
        if row["sex"] not in sexes:
            problems.add(name, line, "sex", f"must be one of {', '.join(sorted(sexes))}, "
                         f"got {row['sex']!r}")
        age = None
        if row["age"]:
            if row["age"].isdigit() and 0 <= int(row["age"]) <= 130:
                age = int(row["age"])
            else:
                problems.add(name, line, "age", f"must be whole years 0-130, got {row['age']!r}")
        bmi = _decimal(row["bmi"], name, line, "bmi", problems, low=10, high=90)
        mme = _decimal(row["opioid_mme"], name, line, "opioid_mme", problems, low=0, high=10000)
        enrolled = _date(row["enrolled_date"], name, line, "enrolled_date", problems)
        index = _date(row["index_date"], name, line, "index_date", problems)
        if len(problems) == before and code:
            parsed[code] = PatientRow(line, code, row["arm"], row["site"], row["sex"], age,
                                      bmi, mme, enrolled, index)
    return parsed


def _parse_responses(text, study, patient_codes, problems) -> list[ResponseGroup]:
    name = "responses.csv"
    timepoints = set(TimePoint.objects.filter(study=study).values_list("code", flat=True))
    groups: dict[tuple[str, str, str], ResponseGroup] = {}
    seen_items: dict[tuple[str, str, str, str], int] = {}
    for line, row in _rows(text, name, RESPONSE_COLUMNS, problems):
        before = len(problems)
        patient, tp, code, item = row["patient"], row["timepoint"], row["instrument"], row["item"]
        if patient not in patient_codes:
            problems.add(name, line, "patient", f"unknown patient {patient!r}")
        if tp not in timepoints:
            problems.add(name, line, "timepoint", f"unknown time point {tp!r}; the study has "
                         f"{', '.join(sorted(timepoints))}")
        definition = INSTRUMENTS.get(code)
        spec = None
        if definition is None:
            problems.add(name, line, "instrument", f"unknown instrument {code!r}")
        else:
            spec = next((i for i in definition.items if i.code == item), None)
            if spec is None:
                problems.add(name, line, "item", f"{code} has no item {item!r}")
        value: int | None = None
        raw = row["value"]
        if raw and spec is not None:
            try:
                value = int(raw)
            except ValueError:
                problems.add(name, line, "value", f"{item} must be an integer, got {raw!r}")
            else:
                if not spec.min_value <= value <= spec.max_value:
                    problems.add(name, line, "value", f"{item} must be "
                                 f"{spec.min_value}-{spec.max_value}, got {raw}")
        completed = _date(row["completed_date"], name, line, "completed_date", problems)
        key4 = (patient, tp, code, item)
        if key4 in seen_items:
            problems.add(name, line, "item", f"{item} already given on line {seen_items[key4]}")
        seen_items.setdefault(key4, line)
        if len(problems) != before:
            continue
        group = groups.setdefault(
            (patient, tp, code), ResponseGroup(line, patient, tp, code, completed),
        )
        if group.completed_date != completed:
            problems.add(name, line, "completed_date",
                         f"differs from line {group.line} for the same response")
        group.answers[item] = value
    return list(groups.values())


def import_study(*, study_code: str, patients_csv: str, responses_csv: str) -> ImportSummary:
    """Validate and import both files; raise ``ImportRefused`` and write nothing on a problem."""
    try:
        study = Study.objects.get(code=study_code)
    except Study.DoesNotExist:
        raise ImportRefused([f"unknown study {study_code!r}"]) from None
    problems = _Problems()
    patients = _parse_patients(patients_csv, study, problems)
    known = set(Patient.objects.filter(study=study).values_list("code", flat=True))
    groups = _parse_responses(responses_csv, study, set(patients) | known, problems)
    for group in groups:
        options = {"max_missing": study.odi_max_missing} if group.instrument == "odi" else {}
        try:
            score(group.instrument, group.answers, **options)
        except ScoringError as error:
            problems.add("responses.csv", group.line, None,
                         f"{group.patient} {group.timepoint} {group.instrument}: {error}")
    if problems:
        raise ImportRefused(list(problems))
    with transaction.atomic():
        return _write(study, patients, groups)


def _write(study, patients, groups) -> ImportSummary:
    problems = _Problems()
    arms = {a.code: a for a in study.arms.all()}
    sites = {s.code: s for s in Site.objects.all()}
    existing = {
        e.patient.code: e
        for e in Enrolment.objects.filter(study=study).select_related("patient", "arm", "site")
    }
    created_patients = unchanged_patients = 0
    for row in patients.values():
        enrolment = existing.get(row.code)
        if enrolment is not None:
            p = enrolment.patient
            same = (enrolment.arm.code, enrolment.site.code, p.sex, p.age_at_enrolment, p.bmi,
                    p.baseline_opioid_mme, enrolment.enrolled_date, enrolment.index_date) == (
                row.arm, row.site, row.sex, row.age, row.bmi, row.opioid_mme,
                row.enrolled_date, row.index_date)
            if not same:
                problems.add("patients.csv", row.line, None,
                             f"{row.code} already exists with other values; change it in the "
                             "app, where the change is audited")
            unchanged_patients += 1
            continue
        existing[row.code] = enrol_patient(
            study=study, code=row.code, arm=arms[row.arm], site=sites[row.site],
            enrolled_date=row.enrolled_date, index_date=row.index_date, actor_label=ACTOR,
            sex=row.sex, age_at_enrolment=row.age, bmi=row.bmi, baseline_opioid_mme=row.opioid_mme,
        )
        created_patients += 1
    instruments = {i.code: i for i in Instrument.objects.filter(
        code__in={g.instrument for g in groups})}
    tz = ZoneInfo(study.time_zone)
    visits = {
        (v.enrolment.patient.code, v.timepoint.code): v
        for v in Visit.objects.filter(enrolment__study=study)
        .select_related("enrolment__patient", "timepoint")
    }
    live = {
        (r.visit_id, r.instrument.code): r
        for r in Response.objects.filter(
            visit__enrolment__study=study, state__in=Response.LIVE_STATES,
        ).select_related("instrument")
    }
    touched = set()
    created_responses = unchanged_responses = 0
    for group in groups:
        visit = visits[(group.patient, group.timepoint)]
        current = live.get((visit.pk, group.instrument))
        answers = {item: group.answers.get(item) for item in group.answers}
        if current is not None:
            if current.state == Response.State.COMPLETED and current.answers == answers:
                unchanged_responses += 1
                continue
            problems.add("responses.csv", group.line, None,
                         f"{group.patient} {group.timepoint} {group.instrument} already has "
                         f"a{'n in-progress' if current.state == 'in_progress' else ' different'}"
                         " response; correct it in the app, with a reason")
            continue
        response = Response.objects.create(
            visit=visit, instrument=instruments[group.instrument], answers=answers,
            source=Response.Source.IMPORT,
        )
        at = timezone.make_aware(dt.datetime.combine(group.completed_date, dt.time(12)), tz)
        complete_response(response=response, actor_label=ACTOR, completed_at=at,
                          refresh_status=False)
        touched.add(visit.enrolment_id)
        created_responses += 1
    if problems:
        # Roll back everything written above: the import is all or nothing.
        raise ImportRefused(list(problems))
    for enrolment in Enrolment.objects.filter(pk__in=touched).select_related("study"):
        refresh_responder_statuses(enrolment=enrolment)
    return ImportSummary(created_patients, created_responses, unchanged_patients,
                         unchanged_responses)
