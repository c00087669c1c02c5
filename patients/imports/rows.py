"""Where an import's rows come from, and the report of what is wrong with them.

Every problem and warning names its file, line and column (SPEC section 9:
``responses.csv line 14, column value: walking must be 0-5, got 7``). A REDCap export
names its own files and fields the same way: an ``Origin`` maps each logical column
(``value``, ``completed_date``) to the name it has in the file the row came from.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TextIO

PATIENT_COLUMNS = ("patient", "arm", "site", "sex", "age", "bmi", "opioid_mme",
                   "enrolled_date", "index_date")
CONTACT_COLUMNS = ("email", "mobile", "preferred_channel", "language")
"""Optional columns of patients.csv: contact details, kept apart (SPEC section 2)."""
RESPONSE_COLUMNS = ("patient", "timepoint", "instrument", "item", "value", "completed_date")

MAX_LISTED = 1000
"""Problems (and warnings) listed one by one; beyond, a count (a wholly wrong million-row
file would otherwise print a million lines and hold them all)."""


@dataclass(frozen=True)
class Origin:
    """A file rows come from, and what it calls each logical column."""

    file: str
    columns: Mapping[str, str] = field(default_factory=dict)

    def where(self, line: int, column: str | None = None) -> str:
        """Return "responses.csv line 14, column value" (the column as the file names it)."""
        place = f"{self.file} line {line}"
        if column:
            place += f", column {self.columns.get(column, column)}"
        return place


class Report:
    """The problems that refuse an import and the warnings that do not, one line each."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.problem_count = 0
        self.warning_count = 0

    def problem(self, origin: Origin | None, line: int, column: str | None,
                message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            where = origin.where(line, column) if origin else ""
            self.problems.append(f"{where}: {message}" if where else message)

    def warning(self, origin: Origin, line: int, column: str | None, message: str) -> None:
        self.warning_count += 1
        if len(self.warnings) < MAX_LISTED:
            self.warnings.append(f"{origin.where(line, column)}: {message}")

    @staticmethod
    def _listed(lines: list[str], count: int, kind: str) -> list[str]:
        if count > len(lines):
            return [*lines, f"... and {count - len(lines):,} more {kind} (the first "
                            f"{len(lines):,} are listed)"]
        return list(lines)

    def problem_lines(self) -> list[str]:
        return self._listed(self.problems, self.problem_count, "problems")

    def warning_lines(self) -> list[str]:
        return self._listed(self.warnings, self.warning_count, "warnings")


def csv_records(stream: TextIO, origin: Origin, required: tuple[str, ...],
                optional: tuple[str, ...], report: Report
                ) -> Iterator[tuple[int, list[str]]] | None:
    """Check a CSV file's header and return its records as (line, cells in column order).

    The cells are those of ``required`` then ``optional`` (an absent optional column
    reads as empty). Returns None, with the problem reported, when a required column
    is missing. Lines count records, the header being line 1.
    """
    reader = csv.reader(stream)
    try:
        header = next(reader)
    except StopIteration:
        report.problem(origin, 1, None, f"empty file; expected header {','.join(required)}")
        return None
    if header:
        header[0] = header[0].lstrip("\ufeff")
    names = [name.strip() for name in header]
    missing = [c for c in required if c not in names]
    if missing:
        report.problem(origin, 1, None, f"missing column(s): {', '.join(missing)}; "
                       f"expected header {','.join(required)}")
        return None
    positions = [names.index(c) if c in names else None for c in (*required, *optional)]
    width = len(names)
    return _records(reader, positions, width, origin, report)


def _records(reader, positions, width, origin, report):
    for number, cells in enumerate(reader, start=2):
        if len(cells) > width:
            report.problem(origin, number, None, "more fields than the header has")
            continue
        if not cells:
            continue  # a blank line
        yield number, [cells[p].strip() if p is not None and p < len(cells) else ""
                       for p in positions]


FORMAT_HELP = """\
patients.csv: one row per patient, with a header row:
  patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date
  L-001,BMC,MAIN,female,61,27.4,30,2025-01-06,2025-01-13
  patient: the study code (letters, digits, '-', '_', '.', starting with a letter or
  digit; at most 32); arm, site: codes of the study; sex: female, male, other or
  unknown; age: whole years at enrolment; bmi: 10-90, one decimal; opioid_mme:
  baseline MME/day, may be empty; dates YYYY-MM-DD. The index date may lie before
  enrolment by no more days than the baseline window stays open after it (7 in the
  default schedule).
  Optional contact columns (kept apart, shown to coordinators only), with an example:
  patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date,email,mobile,
  preferred_channel,language   (one line)
  L-002,CONTROL,MAIN,male,48,31.0,,2025-01-08,2025-01-08,ana@example.org,
  +44 7700 900123,sms,es   (one line)
  email: an email address; mobile: up to 32 characters; preferred_channel: email or
  sms (empty: email when an email is given, else sms); language: en or es (empty: en).

responses.csv: one row per answered item, with a header row:
  patient,timepoint,instrument,item,value,completed_date
  L-001,baseline,odi,walking,1,2025-01-10
  timepoint: a code of the study's schedule; instrument and item codes (SPEC 3; the
  instrument must be asked at that time point); value: an integer in the item's range
  (empty: unanswered); completed_date YYYY-MM-DD, on or after enrolment and not in
  the future (outside the visit's window: imported, flagged out of window, warned).

Every row is checked first; any problem refuses the whole import (one line per
problem naming file, line and column) and nothing is written. Responses too blank
to score are imported, their scores recorded as not scorable, with a warning.
Importing the same files again changes nothing.
"""
