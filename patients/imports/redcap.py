"""A REDCap project's export in: the data dictionary, the records, and a map between them.

A study team leaving REDCap has two files: the **data dictionary** (one row per field,
REDCap's 18 columns: "Variable / Field Name", "Form Name", "Field Type", "Choices,
Calculations, OR Slider Labels", ...) and the **records** (a raw CSV export of a
longitudinal project: ``record_id``, ``redcap_event_name``, then one column per field;
one row per record and event). A **map** (JSON) says which is which:

    {"record_id": "record_id",
     "events": {"baseline_arm_1": "baseline", "month_3_arm_1": "m3"},
     "ignore_events": ["screening_arm_1"],
     "patient": {"event": "baseline_arm_1",
                 "arm": {"field": "arm", "values": {"1": "BMC", "2": "CONTROL"}},
                 "site": {"value": "MAIN"}, "sex": {"field": "sex", "values": {...}},
                 "age": "age", "bmi": "bmi", "opioid_mme": "mme",
                 "enrolled_date": "enrol_date", "index_date": "index_date"},
     "instruments": {"odi": {"completed_date": "odi_date",
                             "values": {"1": 0, "2": 1, "3": 2, "4": 3, "5": 4, "6": 5},
                             "items": {"pain_intensity": "odi_1", ...}}}}

A patient detail is a field name (its raw value as it is), ``{"field": ..., "values":
{REDCap code: our code}}`` or ``{"value": constant}``; the patient code is the record id
unless ``patient.code`` names another field. An item is a field name or ``{"field": ...,
"values": {...}}``; ``values`` (an instrument's, or an item's own) recodes REDCap choice
codes into the instrument's integer values, else the code is the value.

The map is checked whole against the dictionary and the study first (every field it
names exists, every event's time point, every instrument and item); then every record
value is checked against its field (a choice code must be one of the field's Choices);
then the rows go through the same validation and writing as ``import_study``'s CSV files
(``load.import_rows``), with problems naming the records file's line and field.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from outcomes.followups.models import TimePoint
from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.definitions.base import InstrumentDefinition
from outcomes.instruments.stored import instruments_by_code

from .load import ImportRefused, ImportSummary, import_rows
from .rows import CONTACT_COLUMNS, PATIENT_COLUMNS, Origin, Report

FIELD_NAME = "Variable / Field Name"
FORM_NAME = "Form Name"
FIELD_TYPE = "Field Type"
CHOICES = "Choices, Calculations, OR Slider Labels"
VALIDATION = "Text Validation Type OR Show Slider Number"
VALIDATION_MIN = "Text Validation Min"
VALIDATION_MAX = "Text Validation Max"
DICTIONARY_COLUMNS = (
    FIELD_NAME, FORM_NAME, "Section Header", FIELD_TYPE, "Field Label", CHOICES,
    "Field Note", VALIDATION, VALIDATION_MIN, VALIDATION_MAX, "Identifier?",
    "Branching Logic (Show field only if...)", "Required Field?", "Custom Alignment",
    "Question Number (surveys only)", "Matrix Group Name", "Matrix Ranking?",
    "Field Annotation",
)
"""The columns of a REDCap data dictionary, in REDCap's order."""
REQUIRED_COLUMNS = (FIELD_NAME, FORM_NAME, FIELD_TYPE, CHOICES)
EVENT = "redcap_event_name"
REPEAT_INSTRUMENT = "redcap_repeat_instrument"
EXPORT_COLUMNS = (EVENT, REPEAT_INSTRUMENT, "redcap_repeat_instance",
                  "redcap_data_access_group", "redcap_survey_identifier")
"""Columns a records export adds that the dictionary does not list."""
CODED_TYPES = ("radio", "dropdown", "yesno", "truefalse")
"""Field types whose value is one of a list of codes."""
ONE_VALUE_TYPES = (*CODED_TYPES, "text", "calc", "slider", "notes")
"""Field types whose value fits one item or one patient detail (not checkbox, file...)."""
PATIENT_DETAILS = (*PATIENT_COLUMNS[1:], *CONTACT_COLUMNS)


@dataclass(frozen=True)
class Field:
    """One field of the data dictionary."""

    name: str
    form: str
    type: str
    choices: tuple[str, ...] | None
    """The codes a coded field takes (None: not a coded field)."""


def _choice_codes(kind: str, text: str) -> tuple[str, ...] | None:
    """Return a coded field's codes: "1, Female | 2, Male" gives ("1", "2")."""
    if kind == "yesno":
        return ("1", "0")
    if kind == "truefalse":
        return ("1", "0")
    if kind not in ("radio", "dropdown", "checkbox"):
        return None
    return tuple(part.split(",", 1)[0].strip() for part in text.split("|") if part.strip())


def read_dictionary(stream: TextIO, origin: Origin, report: Report) -> dict[str, Field]:
    """Return the dictionary's fields by name, reporting a malformed file or field."""
    reader = csv.DictReader(stream)
    names = [name.lstrip("\ufeff").strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = names
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        report.problem(origin, 1, None, "not a REDCap data dictionary: no column "
                       + ", ".join(f'"{c}"' for c in missing))
        return {}
    fields: dict[str, Field] = {}
    for line, row in enumerate(reader, start=2):
        name = (row.get(FIELD_NAME) or "").strip()
        kind = (row.get(FIELD_TYPE) or "").strip()
        if not name:
            report.problem(origin, line, FIELD_NAME, "empty field name")
            continue
        choices = _choice_codes(kind, row.get(CHOICES) or "")
        if choices == ():
            report.problem(origin, line, CHOICES, f"{name}: a {kind} field with no choices")
        fields[name] = Field(name, (row.get(FORM_NAME) or "").strip(), kind, choices)
    return fields


@dataclass(frozen=True)
class Source:
    """Where a patient detail or an item comes from: a field (recoded) or a constant."""

    field: str | None = None
    values: Mapping[str, str] | None = None
    constant: str | None = None

    def read(self, row: Mapping[str, str]) -> str:
        if self.constant is not None:
            return self.constant
        raw = row.get(self.field, "")
        if self.values is not None and raw != "":
            return self.values.get(raw, raw)
        return raw


@dataclass
class RedcapMap:
    record_id: str
    events: dict[str, str]
    ignore_events: set[str]
    patient_event: str
    code: Source
    patient: dict[str, Source]
    instruments: dict[str, tuple[str, dict[str, Source]]] = field(default_factory=dict)
    """instrument code: (completed-date field, {item code: source})"""


class _MapReader:
    """Check a map against the dictionary and the study; one problem line per mistake."""

    def __init__(self, name: str, fields: dict[str, Field], timepoints: set[str],
                 report: Report, definitions: Mapping[str, InstrumentDefinition]):
        self.name, self.fields, self.timepoints, self.report = name, fields, timepoints, report
        self.definitions = definitions
        self.sound = True

    def problem(self, key: str, message: str) -> None:
        self.sound = False
        self.report.problem(None, 0, None, f"{self.name}: {key}: {message}")

    def field(self, key: str, name, *, kinds=ONE_VALUE_TYPES) -> str | None:
        if not isinstance(name, str) or not name:
            self.problem(key, f"expected a field name, got {name!r}")
            return None
        if name in EXPORT_COLUMNS:
            return name
        found = self.fields.get(name)
        if found is None:
            self.problem(key, f"no field {name!r} in the data dictionary")
            return None
        if found.type not in kinds:
            self.problem(key, f"{name} is a {found.type} field; it must hold one value")
            return None
        return name

    def recoding(self, key: str, values, field_name: str | None, *, numbers: bool):
        if values is None:
            return None
        if not isinstance(values, dict):
            self.problem(key, f"expected an object of REDCap code: value, got {values!r}")
            return None
        found = self.fields.get(field_name or "")
        for code, value in values.items():
            if found is not None and found.choices is not None and code not in found.choices:
                self.problem(key, f"{code!r} is not one of {field_name}'s choices "
                                  f"({', '.join(found.choices)})")
            if numbers and (type(value) is not int):
                self.problem(f"{key}.{code}", f"expected an integer value, got {value!r}")
        return {str(code): str(value) for code, value in values.items()}

    def source(self, key: str, spec, *, numbers: bool = False,
               shared: Mapping | None = None) -> Source | None:
        if isinstance(spec, str):
            name = self.field(key, spec)
            if shared is not None and name:
                self.recoding(key, shared, name, numbers=numbers)  # check against it
            return Source(name, {str(k): str(v) for k, v in shared.items()}
                          if shared else None) if name else None
        if isinstance(spec, dict) and "value" in spec:
            return Source(constant=str(spec["value"]))
        if isinstance(spec, dict) and "field" in spec:
            name = self.field(f"{key}.field", spec["field"])
            values = spec.get("values", shared)
            recoded = self.recoding(f"{key}.values", values, name, numbers=numbers)
            return Source(name, recoded) if name else None
        self.problem(key, 'expected a field name, {"field": ..., "values": {...}} or '
                          '{"value": ...}')
        return None

    def read(self, data) -> RedcapMap | None:
        if not isinstance(data, dict):
            self.problem("(top)", "expected a JSON object")
            return None
        record_id = self.field("record_id", data.get("record_id", "record_id"))
        events = data.get("events")
        if not isinstance(events, dict) or not events:
            self.problem("events", "expected an object of REDCap event: time point")
            events = {}
        for event, tp in events.items():
            if tp not in self.timepoints:
                self.problem(f"events.{event}", f"the study has no time point {tp!r} "
                             f"(it has {', '.join(sorted(self.timepoints))})")
        ignore = data.get("ignore_events", [])
        if not isinstance(ignore, list):
            self.problem("ignore_events", "expected a list of REDCap event names")
            ignore = []
        patient = data.get("patient")
        if not isinstance(patient, dict):
            self.problem("patient", "expected an object naming where each patient detail is")
            patient = {}
        event = patient.get("event", next(iter(events), ""))
        if event not in events:
            self.problem("patient.event", f"{event!r} is not one of the map's events")
        code = self.source("patient.code", patient.get("code", record_id or "record_id"))
        details = {}
        for name in PATIENT_DETAILS:
            if name in patient:
                details[name] = self.source(f"patient.{name}", patient[name])
            elif name in PATIENT_COLUMNS:
                self.problem("patient", f"no {name!r}: say which field holds it, or give "
                                        '{"value": ...}')
        unknown = set(patient) - {"event", "code", *PATIENT_DETAILS}
        for name in sorted(unknown):
            self.problem(f"patient.{name}", f"not a patient detail (expected one of "
                                            f"{', '.join(PATIENT_DETAILS)})")
        instruments = {}
        given = data.get("instruments")
        if not isinstance(given, dict) or not given:
            self.problem("instruments", "expected an object of instrument code: its fields")
            given = {}
        for code_, spec in given.items():
            instruments[code_] = self.instrument(f"instruments.{code_}", code_, spec)
        if not self.sound:
            return None
        return RedcapMap(record_id, dict(events), set(ignore), event, code, details,
                         instruments)

    def instrument(self, key: str, code: str, spec):
        definition = self.definitions.get(code)
        if definition is None:
            self.problem(key, f"no instrument {code!r} (known: "
                              f"{', '.join(sorted(self.definitions))})")
            return None
        if not isinstance(spec, dict) or not isinstance(spec.get("items"), dict):
            self.problem(key, 'expected {"completed_date": field, "items": {item: field}}')
            return None
        date = self.field(f"{key}.completed_date", spec.get("completed_date"))
        shared = spec.get("values")
        if shared is not None and not isinstance(shared, dict):
            self.problem(f"{key}.values", "expected an object of REDCap code: value")
            shared = None
        items = {}
        for item, source in spec["items"].items():
            if item not in definition.item_codes:
                self.problem(f"{key}.items.{item}", f"{code} has no item {item!r}")
                continue
            items[item] = self.source(f"{key}.items.{item}", source, numbers=True,
                                      shared=shared)
        return date, items


def read_map(text: str, name: str, fields: dict[str, Field], timepoints: set[str],
             report: Report, definitions: Mapping[str, InstrumentDefinition] | None = None
             ) -> RedcapMap | None:
    """Return the map, or None with each mistake reported (``MAP.json: key: why``).

    ``definitions`` are the instruments by code (default: the registered ones).
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        report.problem(None, 0, None, f"{name}: not JSON: {error.msg} at line {error.lineno}, "
                                      f"column {error.colno}")
        return None
    return _MapReader(name, fields, timepoints, report,
                      INSTRUMENTS if definitions is None else definitions).read(data)


class _Records:
    """The records export, read twice (patients, then answers) and never held whole."""

    def __init__(self, opener: Callable[[], TextIO], name: str, fields: dict[str, Field],
                 mapping: RedcapMap, report: Report):
        self.opener, self.name, self.fields, self.map, self.report = (
            opener, name, fields, mapping, report)
        self.codes: dict[str, str] = {}
        self.skipped: set[str] = set()
        self.orphans: set[str] = set()

    def rows(self) -> Iterator[tuple[int, dict[str, str]]]:
        origin = Origin(self.name)
        with self.opener() as stream:
            reader = csv.reader(stream)
            header = [cell.lstrip("\ufeff").strip() for cell in next(reader, [])]
            if EVENT not in header or self.map.record_id not in header:
                self.report.problem(origin, 1, None, f"no {self.map.record_id} and "
                                    f"{EVENT} columns: export the records of a longitudinal "
                                    "project, raw, one row per record and event")
                return
            for line, cells in enumerate(reader, start=2):
                if not cells:
                    continue
                if len(cells) > len(header):
                    self.report.problem(origin, line, None, "more fields than the header has")
                    continue
                row = {name: value.strip() for name, value in zip(header, cells, strict=False)}
                if row.get(REPEAT_INSTRUMENT):
                    self.report.problem(origin, line, REPEAT_INSTRUMENT,
                                        "repeating instruments are not imported")
                    continue
                event = row.get(EVENT, "")
                if event in self.map.ignore_events:
                    continue
                if event not in self.map.events:
                    self.report.problem(origin, line, EVENT, f"event {event!r} is not in the "
                                        "map (events, or ignore_events)")
                    continue
                yield line, row

    def checked(self, line: int, name: str | None, raw: str) -> bool:
        """True if ``raw`` may be field ``name``'s value (a choice code must be a choice)."""
        found = self.fields.get(name or "")
        if raw == "" or found is None or found.choices is None:
            return True
        if raw in found.choices:
            return True
        self.report.problem(Origin(self.name), line, name, f"{raw!r} is not one of the "
                            f"field's choices ({', '.join(found.choices)})")
        return False

    def patients(self) -> Iterator[tuple[Origin, int, dict[str, str]]]:
        mapping = self.map
        sources = {"patient": mapping.code, **mapping.patient}
        origin = Origin(self.name, {
            name: source.field or f"(the map's patient.{name})"
            for name, source in sources.items()})
        for line, row in self.rows():
            if row[EVENT] != mapping.patient_event:
                continue
            checks = [self.checked(line, source.field, row.get(source.field or "", ""))
                      for source in sources.values() if source.constant is None]
            values = {name: source.read(row) for name, source in sources.items()}
            if not all(checks):
                self.skipped.add(row[mapping.record_id])
                continue
            self.codes[row[mapping.record_id]] = values["patient"]
            yield origin, line, {name: values.get(name, "") for name in
                                 (*PATIENT_COLUMNS, *CONTACT_COLUMNS)}

    def answers(self) -> Iterator[tuple]:
        mapping = self.map
        origins = {
            (code, item): Origin(self.name, {"value": source.field, "item": source.field,
                                             "instrument": source.field,
                                             "completed_date": date,
                                             "patient": mapping.record_id,
                                             "timepoint": EVENT})
            for code, (date, items) in mapping.instruments.items()
            for item, source in items.items()
        }
        plain = Origin(self.name)
        for line, row in self.rows():
            record = row[mapping.record_id]
            patient = self.codes.get(record)
            if patient is None:
                if record not in self.skipped and record not in self.orphans:
                    self.orphans.add(record)
                    self.report.problem(plain, line, mapping.record_id,
                                        f"record {record!r} has no {mapping.patient_event} "
                                        "row, which holds the patient's details")
                continue
            tp = mapping.events[row[EVENT]]
            for code, (date_field, items) in mapping.instruments.items():
                raws = {item: row.get(source.field, "") for item, source in items.items()}
                completed = row.get(date_field, "")
                if not completed and not any(raws.values()):
                    continue  # the form was not filled in at this event
                for item, source in items.items():
                    if not self.checked(line, source.field, raws[item]):
                        continue
                    yield (origins[(code, item)], line, patient, tp, code, item,
                           source.read(row), completed)


def import_redcap(*, study_code: str, dictionary: TextIO, records: Callable[[], TextIO],
                  map_text: str, names: tuple[str, str, str] = (
                      "dictionary.csv", "records.csv", "map.json"), today=None
                  ) -> ImportSummary:
    """Import a REDCap export through the map; raise ``ImportRefused`` on any problem.

    ``records`` opens the records export (it is read twice, streamed); ``names`` are the
    three files' names as problem lines give them.
    """
    from . import study_named

    study = study_named(study_code)
    report = Report()
    fields = read_dictionary(dictionary, Origin(names[0]), report)
    if not fields:
        raise ImportRefused(report.problem_lines())
    timepoints = set(TimePoint.objects.filter(study=study).values_list("code", flat=True))
    definitions = {code: definition
                   for code, (_, definition) in instruments_by_code(study).items()}
    mapping = read_map(map_text, names[2], fields, timepoints, report, definitions)
    if mapping is None or report.problem_count:
        raise ImportRefused(report.problem_lines())
    source = _Records(records, names[1], fields, mapping, report)
    return import_rows(study=study, patient_rows=source.patients(),
                       response_rows=source.answers(), today=today, report=report)


def file_name(path: str) -> str:
    """The name problem lines give a file: its own name, without the folders."""
    return Path(path).name
