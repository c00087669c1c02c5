"""Import a study's patients and completed responses (SPEC section 9).

Two sources, one validation: the two CSV files of ``import_study`` (``import_study``
here), and a REDCap project's data dictionary and records export with a map saying
which field is which (``redcap.import_redcap``). Both feed ``load.import_rows``: every
row checked, one problem line each naming file, line and column, nothing written unless
all is sound, everything written in one transaction, in bulk; importing the same data
again changes nothing.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TextIO

from ..models import Study
from .load import ImportRefused, ImportSummary, import_rows
from .rows import (
    CONTACT_COLUMNS,
    FORMAT_HELP,
    PATIENT_COLUMNS,
    RESPONSE_COLUMNS,
    Origin,
    Report,
    csv_records,
)

PATIENTS_FILE = Origin("patients.csv")
RESPONSES_FILE = Origin("responses.csv")


def _stream(source: str | TextIO) -> TextIO:
    return io.StringIO(source) if isinstance(source, str) else source


def study_named(code: str) -> Study:
    """Return the study ``code``, or refuse the import naming it."""
    try:
        return Study.objects.get(code=code)
    except Study.DoesNotExist:
        raise ImportRefused([f"unknown study {code!r}"]) from None


def import_study(*, study_code: str, patients_csv: str | TextIO, responses_csv: str | TextIO,
                 today=None) -> ImportSummary:
    """Validate and import both CSV files (text or open files, read once, streamed).

    Raises ``ImportRefused`` with one line per problem, having written nothing.
    """
    study = study_named(study_code)
    header = Report()
    patients = csv_records(_stream(patients_csv), PATIENTS_FILE, PATIENT_COLUMNS,
                           CONTACT_COLUMNS, header)
    responses = csv_records(_stream(responses_csv), RESPONSES_FILE, RESPONSE_COLUMNS, (),
                            header)
    if patients is None or responses is None:
        raise ImportRefused(header.problem_lines())
    names = (*PATIENT_COLUMNS, *CONTACT_COLUMNS)
    patient_rows = ((PATIENTS_FILE, line, dict(zip(names, cells, strict=True)))
                    for line, cells in patients)
    return import_rows(study=study, patient_rows=patient_rows,
                       response_rows=_responses(responses), today=today, report=header)


def _responses(records) -> Iterator[tuple]:
    origin = RESPONSES_FILE
    for line, (patient, timepoint, instrument, item, value, completed) in records:
        yield origin, line, patient, timepoint, instrument, item, value, completed


__all__ = ["FORMAT_HELP", "ImportRefused", "ImportSummary", "import_study"]
