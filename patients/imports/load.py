"""Validate and write an import's patients and responses: all or nothing, in bulk.

1. Check every patient row (codes, arm, site, covariates, dates, contact details),
   keeping the rows in memory (a study's patients, not its answers).
2. Check every answer row on its own, in one pass over the file: the patient, time
   point, instrument and item are known, the value is an integer in range, the date
   is a date. Rows that pass go to a temporary table (``staging``).
3. If nothing is wrong so far, write the new patients, enrolments, contact details and
   visits, with their audit records, in a few statements.
4. Read the answers back a response at a time (sorted by the database) and check each
   response whole: an item given twice, completion dates that disagree, a completion
   before enrolment or in the future (errors), outside the visit's window (imported,
   flagged, warned), and its scores (not scorable: imported, warned, SPEC 3.7). A
   response already stored identically is skipped, so a second import changes nothing.
   Responses, scores and audit records are written a batch at a time; so are a new
   patient's ``VisitScores`` and responder statuses once its last response is written,
   from the scores just computed (the answers come sorted by patient), not read back.
5. Any problem anywhere refuses the import: the transaction rolls back and nothing is
   written. Otherwise visits whose every instrument is answered become completed, and
   the patients there before have their ``VisitScores`` and statuses brought up to date.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from outcomes.alerts.models import AnswerAlert
from outcomes.alerts.services import alert_records, queue_notifications
from outcomes.audit.models import AuditRecord
from outcomes.audit.services import diff, new_record, snapshot
from outcomes.followups.models import TimePoint, TimePointInstrument, Visit
from outcomes.followups.services import planned_visits, study_today
from outcomes.instruments.definitions.base import disabled_items
from outcomes.instruments.models import (
    Instrument,
    ResponderStatus,
    Response,
    Score,
    VisitScores,
    decimal_of,
    exact_of,
    stored_scores,
)
from outcomes.instruments.scoring import (
    Scored,
    ScoringError,
    describe_not_scorable,
    score_response,
)
from outcomes.instruments.scoring.alerts import alerts_raised
from outcomes.instruments.scoring.engine import condition_text
from outcomes.instruments.selectors import TimepointScores
from outcomes.instruments.services import (
    answered_at,
    complete_answered_visits,
    refresh_study_responder_statuses,
    refresh_visit_scores,
    responder_status_rows,
    scoring_options,
)
from outcomes.instruments.stored import instruments_by_code

from ..models import STUDY_DATE_RANGE, Contact, Enrolment, Patient, Site, Study
from ..services import CONTACT_FIELDS
from .bulk import Bulk
from .rows import Origin, Report
from .staging import AnswerStage

ACTOR = "import"
BATCH_RESPONSES = 2000


class ImportRefused(Exception):
    """The files have problems; nothing was written. ``problems`` has one line each."""

    def __init__(self, problems: list[str]):
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = problems


@dataclass(frozen=True)
class ImportSummary:
    patients_created: int
    responses_created: int
    patients_unchanged: int
    responses_unchanged: int
    warnings: tuple[str, ...] = ()
    warning_count: int = 0
    alerts_raised: int = 0


@dataclass
class PatientRow:
    origin: Origin
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
    contact: dict[str, str] | None


@dataclass(slots=True)
class Known:
    """A patient the answer rows may name: from the file, or already in the study."""

    enrolled: dt.date
    enrolment_id: int | None
    existed: bool


@dataclass(slots=True)
class Slot:
    """A patient's visit at a time point: its window, and its row once written."""

    timepoint_id: int
    open_date: dt.date
    close_date: dt.date
    status: str
    visit_id: int | None = None
    enrolment_id: int | None = None
    new: bool = False


@dataclass
class _Kept:
    """What is kept of a new patient's scoring until its last response is written."""

    scores: TimepointScores
    visits: dict[int, list]  # visit id → [timepoint id, {score key: float}]


@dataclass
class _Pending:
    """A response checked and ready to write."""

    origin: Origin
    line: int
    slot: Slot
    instrument: Instrument
    answers: dict[str, int | None]
    completed_at: dt.datetime
    late: bool
    scored: Scored
    existed: bool
    patient: str
    timepoint: str

    @property
    def label(self) -> str:
        return f"{self.patient} {self.timepoint} {self.instrument.code}"


def import_rows(*, study: Study, patient_rows: Iterable[tuple[Origin, int, dict[str, str]]],
                response_rows: Iterable[tuple], today: dt.date | None = None,
                report: Report | None = None) -> ImportSummary:
    """Validate and import rows; raise ``ImportRefused`` and write nothing on a problem.

    ``patient_rows`` yields (origin, line, {column: text}) with the columns of
    ``rows.PATIENT_COLUMNS`` (and any of ``CONTACT_COLUMNS``); ``response_rows``
    yields (origin, line, patient, time point, instrument, item, value text,
    completed date text). One transaction; nothing is written unless every row is sound.
    ``report`` collects the problems (a reader's own, about its files, included).
    """
    with transaction.atomic():
        run = _Import(study, today or study_today(study), report or Report())
        stage = AnswerStage()
        try:
            summary = run.run(patient_rows, response_rows, stage)
        finally:
            stage.close()
        return summary


def _field_problem(model, name: str, value) -> str | None:
    """Return why ``value`` is not valid for the model field, as its validators say."""
    try:
        model._meta.get_field(name).clean(value, None)
    except ValidationError as error:
        return " ".join(error.messages)
    return None


def _shown(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")


class _Import:
    def __init__(self, study: Study, today: dt.date, report: Report):
        self.study = study
        self.today = today
        self.now = timezone.now()
        self.report = report
        self.arms = {a.code: a for a in study.arms.all()}
        for arm in self.arms.values():
            arm.study = study  # for the audit record's description, without a query
        sites = list(study.sites.all()) or list(Site.objects.all())
        self.sites = {s.code: s for s in sites}
        self.timepoints = {tp.code: tp for tp in TimePoint.objects.filter(study=study)}
        self.baseline = next((tp for tp in self.timepoints.values() if tp.is_baseline), None)
        # Each code's instrument: the version the study schedules, else the newest
        # stored (named by the "not asked here" problem); each as its stored definition.
        stored = instruments_by_code(study)
        self.instruments = {code: row for code, (row, _) in stored.items()}
        self.definitions = {code: definition for code, (_, definition) in stored.items()}
        self.scheduled: dict[str, set[str]] = defaultdict(set)
        self.required: dict[int, set[int]] = defaultdict(set)
        for tp_id, tp_code, instrument_id, code in TimePointInstrument.objects.filter(
            timepoint__study=study,
        ).values_list("timepoint_id", "timepoint__code", "instrument_id", "instrument__code"):
            self.scheduled[tp_code].add(code)
            self.required[tp_id].add(instrument_id)
        # Each item's scored range, and its "not applicable" answers (outside it).
        self.ranges = {
            code: {item.code: (item.min_value, item.max_value, item.not_applicable_values)
                   for item in d.items}
            for code, d in self.definitions.items()
        }
        # Items the definition lets be blank ("required": false): no warning when they are.
        self.optional = {code: frozenset(item.code for item in d.items if not item.required)
                         for code, d in self.definitions.items()}
        self.options = {code: scoring_options(code, study) for code in self.instruments}
        self.known: dict[str, Known] = {}
        self.rejected: set[str] = set()
        self.slots: dict[tuple[str, str], Slot] = {}
        self.origins: list[Origin] = []
        self.origin_ids: dict[int, int] = {}
        self.dates: dict[str, dt.date | None] = {}
        self.date_problems: dict[str, str] = {}
        self.counts = defaultdict(int)
        self.pending: list[_Pending] = []
        self.touched_visits: set[int] = set()
        #: A new patient's scores, kept from the scoring (not read back) until its last
        #: response is written, then written as its visits' ``VisitScores`` rows and its
        #: responder statuses, and dropped: a batch's patients at a time.
        self.kept: dict[int, _Kept] = {}
        self.old_visits: set[int] = set()
        self.touched_enrolments: set[int] = set()
        self.new_enrolments: set[int] = set()
        self.bulk = Bulk()

    # 1. Patients ------------------------------------------------------------------------

    def run(self, patient_rows, response_rows, stage: AnswerStage) -> ImportSummary:
        patients = self.check_patients(patient_rows)
        self.load_existing(patients)
        self.check_answers(response_rows, stage)
        writing = not self.report.problem_count
        if writing:
            self.write_patients(patients)
        else:
            self.plan_slots(patients)
        patients.clear()  # their rows are written (or planned); the answers come next
        for group in stage.groups():
            self.check_response(group, writing=writing and not self.report.problem_count)
        self.flush(last=True)
        if self.report.problem_count:
            raise ImportRefused(self.report.problem_lines())
        self.finish()
        return ImportSummary(
            self.counts["patients_created"], self.counts["responses_created"],
            self.counts["patients_unchanged"], self.counts["responses_unchanged"],
            tuple(self.report.warning_lines()), self.report.warning_count,
            self.counts["alerts_raised"],
        )

    def date(self, origin, line, column, value) -> dt.date | None:
        """Return the ISO date ``value``, or None with the problem reported (cached)."""
        if value not in self.dates:
            day = None
            if len(value) == 10 and value[4] == value[7] == "-":
                with contextlib.suppress(ValueError):
                    day = dt.date.fromisoformat(value)
            low, high = STUDY_DATE_RANGE
            if day is None:
                self.date_problems[value] = f"expected a date YYYY-MM-DD, got {_shown(value)}"
            elif not low <= day <= high:
                self.date_problems[value] = f"{value} is outside {low}..{high}"
                day = None
            self.dates[value] = day
        day = self.dates[value]
        if day is None:
            self.report.problem(origin, line, column, self.date_problems[value])
        return day

    def decimal(self, origin, line, column, value, name) -> Decimal | None:
        if value == "":
            return None
        try:
            number = Decimal(value)
        except ArithmeticError:
            self.report.problem(origin, line, column, f"expected a number, got {_shown(value)}")
            return None
        problem = (_field_problem(Patient, name, number) if number.is_finite()
                   else "expected a number")
        if problem is None:
            return number
        self.report.problem(origin, line, column, f"{problem} (got {value})")
        return None

    def check_patients(self, rows) -> dict[str, PatientRow]:
        parsed: dict[str, PatientRow] = {}
        sexes = set(Patient.Sex.values)
        channels = set(Contact.Channel.values)
        languages = {code for code, _ in settings.LANGUAGES}
        report = self.report
        for origin, line, row in rows:
            before = report.problem_count
            code = row["patient"]
            if not code:
                report.problem(origin, line, "patient", "empty patient code")
            elif code in parsed:
                report.problem(origin, line, "patient",
                               f"{code} already on line {parsed[code].line}")
            elif problem := _field_problem(Patient, "code", code):
                report.problem(origin, line, "patient",
                               f"{_shown(code)} is not a study code: {problem}")
            if row["arm"] not in self.arms:
                report.problem(origin, line, "arm", f"unknown arm {_shown(row['arm'])}; the "
                               f"study has {', '.join(sorted(self.arms))}")
            if row["site"] not in self.sites:
                report.problem(origin, line, "site", f"unknown site {_shown(row['site'])}")
            if row["sex"] not in sexes:
                report.problem(origin, line, "sex", f"must be one of {', '.join(sorted(sexes))}"
                               f", got {_shown(row['sex'])}")
            age = None
            if row["age"]:
                if row["age"].isdigit() and int(row["age"]) <= 130:
                    age = int(row["age"])
                else:
                    report.problem(origin, line, "age",
                                   f"must be whole years 0-130, got {_shown(row['age'])}")
            bmi = self.decimal(origin, line, "bmi", row["bmi"], "bmi")
            mme = self.decimal(origin, line, "opioid_mme", row["opioid_mme"],
                               "baseline_opioid_mme")
            enrolled = self.date(origin, line, "enrolled_date", row["enrolled_date"])
            index = self.date(origin, line, "index_date", row["index_date"])
            if enrolled and index and self.baseline is not None:
                after = self.baseline.window_after_days
                if (enrolled - index).days > after:
                    report.problem(
                        origin, line, "index_date",
                        f"{index} is {(enrolled - index).days} days before enrolment "
                        f"({enrolled}): the baseline window closes {after} days after the "
                        "index date, so no baseline could be answered once enrolled")
            contact = self.check_contact(origin, line, row, channels, languages)
            if report.problem_count == before:
                parsed[code] = PatientRow(origin, line, code, row["arm"], row["site"],
                                          row["sex"], age, bmi, mme, enrolled, index, contact)
            elif code:
                self.rejected.add(code)
        return parsed

    def check_contact(self, origin, line, row, channels, languages) -> dict[str, str] | None:
        values = {name: row.get(name, "") for name in ("email", "mobile", "preferred_channel",
                                                        "language")}
        if not any(values.values()):
            return None
        report = self.report
        ok = True
        for name in ("email", "mobile"):
            if values[name] and (problem := _field_problem(Contact, name, values[name])):
                report.problem(origin, line, name, f"{problem} (got {_shown(values[name])})")
                ok = False
        channel = values["preferred_channel"] or ("email" if values["email"] else "sms")
        if channel not in channels:
            report.problem(origin, line, "preferred_channel",
                           f"must be one of {', '.join(sorted(channels))}, got "
                           f"{_shown(channel)}")
            ok = False
        elif channel == "email" and not values["email"]:
            report.problem(origin, line, "email", "an email address is needed for email "
                                                  "reminders")
            ok = False
        elif channel == "sms" and not values["mobile"]:
            report.problem(origin, line, "mobile", "a mobile number is needed for text "
                                                   "reminders")
            ok = False
        language = values["language"] or "en"
        if language not in languages:
            report.problem(origin, line, "language", f"must be one of "
                           f"{', '.join(sorted(languages))}, got {_shown(language)}")
            ok = False
        if not ok:
            return None
        return {"email": values["email"], "mobile": values["mobile"],
                "preferred_channel": channel, "language": language}

    def load_existing(self, patients: dict[str, PatientRow]) -> None:
        """Read the study's enrolled patients and visits; check file rows against them."""
        for pk, code, enrolled in Enrolment.objects.filter(study=self.study).values_list(
                "pk", "patient__code", "enrolled_date").iterator(chunk_size=5000):
            self.known[code] = Known(enrolled, pk, existed=True)
        for code, tp, pk, enrolment_id, open_date, close_date, status, tp_id in (
            Visit.objects.filter(enrolment__study=self.study).values_list(
                "enrolment__patient__code", "timepoint__code", "pk", "enrolment_id",
                "window_open_date", "window_close_date", "status", "timepoint_id",
            ).iterator(chunk_size=5000)
        ):
            self.slots[(code, tp)] = Slot(tp_id, open_date, close_date, status, pk,
                                          enrolment_id)
        again = [code for code in patients if code in self.known]
        for start in range(0, len(again), 1000):
            chunk = again[start:start + 1000]
            for enrolment in Enrolment.objects.filter(
                study=self.study, patient__code__in=chunk,
            ).select_related("patient", "arm", "site", "patient__contact"):
                self.compare(patients.pop(enrolment.patient.code), enrolment)
        for code, row in patients.items():
            self.known[code] = Known(row.enrolled_date, None, existed=False)

    def compare(self, row: PatientRow, enrolment: Enrolment) -> None:
        p = enrolment.patient
        same = (enrolment.arm.code, enrolment.site.code, p.sex, p.age_at_enrolment, p.bmi,
                p.baseline_opioid_mme, enrolment.enrolled_date, enrolment.index_date) == (
            row.arm, row.site, row.sex, row.age, row.bmi, row.opioid_mme,
            row.enrolled_date, row.index_date)
        if row.contact is not None:
            contact = getattr(p, "contact", None)
            stored = None if contact is None else {
                name: getattr(contact, name) for name in row.contact}
            same = same and stored == row.contact
        if not same:
            self.report.problem(row.origin, row.line, None,
                                f"{row.code} already exists with other values; change it in "
                                "the app, where the change is audited")
        self.counts["patients_unchanged"] += 1

    # 2. Answer rows, one at a time ------------------------------------------------------

    def origin_id(self, origin: Origin) -> int:
        key = id(origin)
        if key not in self.origin_ids:
            self.origin_ids[key] = len(self.origins)
            self.origins.append(origin)
        return self.origin_ids[key]

    def check_answers(self, rows, stage: AnswerStage) -> None:
        report, known, rejected = self.report, self.known, self.rejected
        timepoints, scheduled, ranges = self.timepoints, self.scheduled, self.ranges
        last_origin = None
        origin_number = 0
        for origin, line, patient, tp, instrument, item, raw, completed in rows:
            if origin is not last_origin:
                last_origin, origin_number = origin, self.origin_id(origin)
            ok = True
            if patient not in known:
                ok = False
                if patient not in rejected:
                    problem = _field_problem(Patient, "code", patient) if patient else ""
                    report.problem(origin, line, "patient",
                                   f"{_shown(patient)} is not a study code: {problem}"
                                   if problem else f"unknown patient {_shown(patient)}")
            if tp not in timepoints:
                ok = False
                report.problem(origin, line, "timepoint", f"unknown time point {_shown(tp)}; "
                               f"the study has {', '.join(sorted(timepoints))}")
            items = ranges.get(instrument)
            bounds = None
            if items is None:
                ok = False
                report.problem(origin, line, "instrument",
                               f"unknown instrument {_shown(instrument)}")
            else:
                bounds = items.get(item)
                if bounds is None:
                    ok = False
                    report.problem(origin, line, "item",
                                   f"{instrument} has no item {_shown(item)}")
                elif tp in timepoints and instrument not in scheduled[tp]:
                    ok = False
                    report.problem(origin, line, "instrument",
                                   f"{instrument} is not asked at {tp} in this study")
            value = None
            if raw and bounds is not None:
                digits = raw[1:] if raw[0] == "-" else raw
                if digits.isdigit() and digits.isascii():
                    value = int(raw)
                    if not bounds[0] <= value <= bounds[1] and value not in bounds[2]:
                        ok = False
                        also = "".join(f" or {v} (not applicable)" for v in sorted(bounds[2]))
                        report.problem(origin, line, "value", f"{item} must be "
                                       f"{bounds[0]}-{bounds[1]}{also}, got {raw}")
                else:
                    ok = False
                    report.problem(origin, line, "value",
                                   f"{item} must be an integer, got {_shown(raw)}")
            if self.dates.get(completed) is None and (
                    self.date(origin, line, "completed_date", completed) is None):
                ok = False
            if ok:
                stage.add((line, origin_number, patient, tp, instrument, item, value,
                           completed))

    # 3. Patients written (or, when refused already, their visits planned) ---------------

    def _new_enrolments(self, patients: dict[str, PatientRow]):
        for row in patients.values():
            patient = Patient(study=self.study, code=row.code, sex=row.sex,
                              age_at_enrolment=row.age, bmi=row.bmi,
                              baseline_opioid_mme=row.opioid_mme, created_at=self.now)
            enrolment = Enrolment(study=self.study, patient=patient, arm=self.arms[row.arm],
                                  site=self.sites[row.site], enrolled_date=row.enrolled_date,
                                  index_date=row.index_date, created_at=self.now)
            yield row, patient, enrolment

    def plan_slots(self, patients: dict[str, PatientRow]) -> None:
        timepoints = list(self.timepoints.values())
        for row, _, enrolment in self._new_enrolments(patients):
            for visit in planned_visits(enrolment=enrolment, timepoints=timepoints,
                                        today=self.today):
                self.slots[(row.code, visit.timepoint.code)] = Slot(
                    visit.timepoint.pk, visit.window_open_date, visit.window_close_date,
                    visit.status)

    def write_patients(self, patients: dict[str, PatientRow]) -> None:
        """Write the new patients, enrolments, contact details and visits, audited."""
        bulk = self.bulk
        timepoints = list(self.timepoints.values())
        made = self._new_enrolments(patients)
        while batch := list(itertools.islice(made, BATCH_RESPONSES)):
            _insert(bulk, Patient, PATIENT_FIELDS, [patient for _, patient, _ in batch])
            for _, patient, enrolment in batch:
                enrolment.patient = patient
            _insert(bulk, Enrolment, ENROLMENT_FIELDS, [e for _, _, e in batch])
            contacts = [Contact(patient=patient, full_name="", **row.contact)
                        for row, patient, _ in batch if row.contact]
            _insert(bulk, Contact, CONTACT_COLUMNS, contacts)
            visits = []
            for row, _, enrolment in batch:
                self.known[row.code].enrolment_id = enrolment.pk
                self.new_enrolments.add(enrolment.pk)
                visits.extend(planned_visits(enrolment=enrolment, timepoints=timepoints,
                                             today=self.today))
            _insert(bulk, Visit, VISIT_FIELDS, visits)
            for visit in visits:
                self.slots[(visit.enrolment.patient.code, visit.timepoint.code)] = Slot(
                    visit.timepoint.pk, visit.window_open_date, visit.window_close_date,
                    visit.status, visit.pk, visit.enrolment_id, new=True)
            records = []
            for _, patient, enrolment in batch:
                records.append(new_record(obj=patient, action="create", actor_label=ACTOR,
                                          after=snapshot(patient)))
                records.append(new_record(obj=enrolment, action="create", actor_label=ACTOR,
                                          after=snapshot(enrolment)))
            records.extend(
                new_record(obj=contact, action="create", actor_label=ACTOR,
                           after=snapshot(contact, CONTACT_FIELDS))
                for contact in contacts)
            for record in records:
                record.at = self.now
            _insert(bulk, AuditRecord, AUDIT_FIELDS, records, ids=False)
            self.counts["patients_created"] += len(batch)

    # 4. Responses, whole ----------------------------------------------------------------

    def check_response(self, group: list[tuple], *, writing: bool) -> None:
        report = self.report
        line0, origin0, patient, tp, instrument = group[0][:5]
        origin = self.origins[origin0]
        completed = group[0][7]
        answers: dict[str, int | None] = {}
        seen: dict[str, int] = {}
        sound = True
        for line, number, _, _, _, item, value, day in group:
            if item in seen:
                report.problem(self.origins[number], line, "item",
                               f"{item} already given on line {seen[item]}")
                sound = False
                continue
            seen[item] = line
            if day != completed:
                report.problem(self.origins[number], line, "completed_date",
                               f"differs from line {line0} for the same response")
                sound = False
            answers[item] = value
        day = self.dates[completed]
        label = f"{patient} {tp} {instrument}"
        definition = self.definitions[instrument]
        # An answer to a question the response's other answers leave out is an error
        # (as on the staff entry page): the source may be mistyped, so nothing guesses.
        unasked = disabled_items(definition, answers)
        answered_unasked = False
        for line, number, _, _, _, item, value, _ in group:
            if item in unasked and value is not None:
                report.problem(self.origins[number], line, "value",
                               f"{label}: {item} is answered, but it is "
                               f"{condition_text(definition.items, item)}: leave it empty")
                answered_unasked = True
        if answered_unasked:
            return
        info = self.known[patient]
        if day < info.enrolled:
            report.problem(origin, line0, "completed_date",
                           f"{label} completed on {day}, before the patient was enrolled "
                           f"({info.enrolled})")
            sound = False
        if day > self.today:
            report.problem(origin, line0, "completed_date",
                           f"{label} completed on {day}, in the future (today is "
                           f"{self.today} in the study's time zone)")
            sound = False
        try:
            scored = score_response(self.definitions[instrument], answers,
                                    **self.options[instrument])
        except ScoringError as error:
            report.problem(origin, line0, None, f"{label}: {error}")
            return
        slot = self.slots.get((patient, tp))
        if slot is None:
            report.problem(origin, line0, "timepoint", f"{patient} has no {tp} visit (the "
                           "time point was added to the schedule after enrolment)")
            return
        if not sound:
            return
        late = not slot.open_date <= day <= slot.close_date
        if late:
            report.warning(origin, line0, "completed_date",
                           f"{label} completed on {day}, outside the visit's window "
                           f"({slot.open_date} to {slot.close_date}): imported and flagged "
                           "out of window")
        if scored.not_scorable:
            for sentence in describe_not_scorable(scored.not_scorable):
                report.warning(origin, line0, None, f"{label}: {sentence}; imported, and its "
                                                    "responder rules are not evaluable")
        else:
            blank = [code for code, value in answers.items() if value is None]
            blank += [code for code in self.ranges[instrument] if code not in answers]
            blank = [code for code in blank
                     if code not in self.optional[instrument] and code not in unasked]
            if blank:
                report.warning(origin, line0, None, f"{label}: {', '.join(blank)} "
                                                    "unanswered; imported (the score allows it)")
        if not writing:
            return
        at = answered_at(day, time_zone=self.study.time_zone, now=self.now)
        self.pending.append(_Pending(origin, line0, slot, self.instruments[instrument],
                                     answers, at, late, scored, info.existed, patient, tp))
        if len(self.pending) >= BATCH_RESPONSES:
            self.flush()

    def flush(self, *, last: bool = False) -> None:
        """Write the pending responses (skipping those already stored identically), and
        the responder statuses of the new patients whose responses are now all written
        (the answers come sorted by patient: all but the batch's last patient, unless
        ``last``)."""
        pending, self.pending = self.pending, []
        if self.report.problem_count:
            return
        if not pending:
            if last:
                self.write_kept(set(self.kept))
            return
        live = {}
        again = [p.slot.visit_id for p in pending if p.existed]
        if again:
            live = {
                (visit_id, instrument_id): (state, answers)
                for visit_id, instrument_id, state, answers in Response.objects.filter(
                    visit_id__in=again, state__in=Response.LIVE_STATES,
                ).values_list("visit_id", "instrument_id", "state", "answers")
            }
        new = []
        for p in pending:
            current = live.get((p.slot.visit_id, p.instrument.pk))
            if current is not None:
                state, answers = current
                if state == Response.State.COMPLETED and answers == p.answers:
                    self.counts["responses_unchanged"] += 1
                else:
                    self.report.problem(
                        p.origin, p.line, None,
                        f"{p.label} already has "
                        f"{'an in-progress' if state == 'in_progress' else 'a different'}"
                        " response; correct it in the app, with a reason")
                continue
            new.append(p)
        if self.report.problem_count:
            return
        now, completed = self.now, Response.State.COMPLETED
        ids = self.bulk.insert(Response, RESPONSE_FIELDS, [
            (p.slot.visit_id, p.instrument.pk, p.answers, completed, Response.Source.IMPORT,
             now, now, p.completed_at, p.late, p.scored.not_scorable)
            for p in new
        ], with_ids=True)
        scores = []
        records = []
        alerts = []
        for p, pk in zip(new, ids, strict=True):
            definition = self.definitions[p.instrument.code]
            if definition.alerts:
                alerts.extend(
                    AnswerAlert(response_id=pk, visit_id=p.slot.visit_id,
                                enrolment_id=p.slot.enrolment_id, instrument_id=p.instrument.pk,
                                key=found.alert.key, value=exact_of(found.value),
                                answer=found.shown[:200],
                                message=found.alert.staff_message[:300], raised_at=now)
                    for found in alerts_raised(definition, p.answers, p.scored.values))
            version = p.instrument.scoring_version
            scores.extend(
                (pk, code, decimal_of(value), exact_of(value), version)
                for code, value in stored_scores(p.scored.values).items())
            records.append((
                now, ACTOR, "create", "instruments.response", str(pk),
                f"{p.instrument.code} for {p.patient} @ {p.timepoint}"[:200],
                diff({}, {"answers": p.answers, "state": completed, "source": "import",
                          "completed_at": str(p.completed_at), "out_of_window": p.late,
                          "not_scorable": p.scored.not_scorable}), ""))
            self.touched_visits.add(p.slot.visit_id)
            if not p.slot.new:
                self.old_visits.add(p.slot.visit_id)
            self.touched_enrolments.add(p.slot.enrolment_id)
            if p.slot.new:  # a visit of a patient new in this import
                self.keep(p)
        self.bulk.insert(Score, SCORE_FIELDS, scores)
        self.bulk.insert(AuditRecord, AUDIT_FIELDS, records)
        if alerts:
            # Answers needing attention, from old forms as from new: raised, audited and
            # emailed as a web submit's are (the email once the import commits).
            _insert(self.bulk, AnswerAlert, ALERT_FIELDS, alerts)
            _insert(self.bulk, AuditRecord, AUDIT_FIELDS,
                    alert_records(alerts, actor_label=ACTOR), ids=False)
            queue_notifications([alert.pk for alert in alerts])
            self.counts["alerts_raised"] += len(alerts)
        self.counts["responses_created"] += len(new)
        done = set(self.kept)
        if not last:
            done.discard(pending[-1].slot.enrolment_id)  # its next response may follow
        self.write_kept(done)

    def keep(self, p: _Pending) -> None:
        """Keep a new patient's response's scores as the database would give them back:
        ``VisitScores``' floats (``float(Fraction(exact))`` is ``float(value)``) and
        ``selectors.timepoint_scores``' exact values and reasons."""
        slot = p.slot
        values = p.scored.values
        kept = self.kept.get(slot.enrolment_id)
        if kept is None:
            kept = self.kept[slot.enrolment_id] = _Kept(TimepointScores(), {})
        row = kept.visits.get(slot.visit_id)
        if row is None:
            row = kept.visits[slot.visit_id] = [slot.timepoint_id, {}]
        for code, value in stored_scores(values).items():
            row[1][code] = float(value)  # every numeric score, as its Score row holds it
        if p.scored.not_scorable:
            kept.scores.not_scorable[slot.timepoint_id].update(p.scored.not_scorable)
        for code, value in stored_scores(values).items():
            # An int or a Fraction, as the scorer gave it: the rules read either
            # exactly (responders.exact_value), as they read the stored text.
            kept.scores.values[slot.timepoint_id][code] = value

    def write_kept(self, enrolment_ids: set[int]) -> None:
        """Insert these new patients' visit scores and responder statuses, from what was
        kept of their scoring; drop it."""
        if not enrolment_ids:
            return
        kept = {pk: self.kept.pop(pk) for pk in sorted(enrolment_ids)}
        self.bulk.insert(VisitScores, ("visit_id", "enrolment_id", "timepoint_id",
                                       "values"), [
            (visit, enrolment, *row) for enrolment, found in kept.items()
            for visit, row in sorted(found.visits.items())
        ])
        scores = {pk: found.scores for pk, found in kept.items()}
        for rows in responder_status_rows(study_id=self.study.pk, enrolment_ids=scores,
                                          known=scores):
            self.bulk.insert(ResponderStatus, STATUS_FIELDS,
                             [(*row, self.now) for row in rows])

    # 5. Visits completed; the scores and verdicts of patients there before ----------

    def finish(self) -> None:
        """Complete the visits now fully answered; bring the other patients' scores and
        verdicts up to date.

        The patients new in this import have their ``VisitScores`` and responder
        statuses already, written in bulk as their last response was (``write_kept``).
        Those that were there before go through the services' upsert, as any other change
        to them would.
        """
        if not self.touched_visits:
            return
        complete_answered_visits(visit_ids=self.touched_visits)
        if self.old_visits:
            refresh_visit_scores(visit_ids=self.old_visits)
        old = self.touched_enrolments - self.new_enrolments
        if old:
            refresh_study_responder_statuses(study_id=self.study.pk, enrolment_ids=old)


PATIENT_FIELDS = ("study_id", "code", "sex", "age_at_enrolment", "bmi", "baseline_opioid_mme",
                  "created_at")
ENROLMENT_FIELDS = ("study_id", "patient_id", "arm_id", "site_id", "enrolled_date",
                    "index_date", "status", "status_reason", "created_at")
CONTACT_COLUMNS = ("patient_id", "full_name", "email", "mobile", "preferred_channel",
                   "language")
VISIT_FIELDS = ("enrolment_id", "timepoint_id", "target_date", "window_open_date",
                "window_close_date", "status", "token_nonce")
RESPONSE_FIELDS = ("visit_id", "instrument_id", "answers", "state", "source", "started_at",
                   "updated_at", "completed_at", "out_of_window", "not_scorable")
SCORE_FIELDS = ("response_id", "code", "value", "exact", "scoring_version")
ALERT_FIELDS = ("response_id", "visit_id", "enrolment_id", "instrument_id", "key", "value",
                "answer", "message", "raised_at", "notification", "notify_attempts", "note",
                "correction_note", "notify_error")
AUDIT_FIELDS = ("at", "actor_label", "action", "object_type", "object_id", "object_repr",
                "changes", "reason")
STATUS_FIELDS = ("enrolment_id", "timepoint_id", "rule_id", "verdict", "reason", "change",
                 "computed_at")


def _insert(bulk: Bulk, model, fields: tuple[str, ...], objects: list, *,
            ids: bool = True) -> None:
    """Insert model instances through ``bulk``; give them their ids."""
    pks = bulk.insert(model, fields, [tuple(getattr(obj, name) for name in fields)
                                      for obj in objects], with_ids=ids)
    for obj, pk in zip(objects, pks, strict=False):
        obj.pk = pk

