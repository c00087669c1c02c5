"""De-identified exports for the statistician: tidy long CSV, wide CSV, data dictionary.

Patients appear by study code only, with age in years; no names, contacts or dates
(time points stand for dates). Every number of the results can be recomputed from
the tidy file.
"""

from __future__ import annotations

from collections import defaultdict

from outcomes.csvfiles import csv_text
from outcomes.followups.models import TimePoint
from patients.models import Enrolment

from .results import SCORE_CODES
from .selectors import score_rows

SCORE_DESCRIPTIONS = {
    "odi": ("Oswestry Disability Index v2.1a", "percent 0-100, higher = more disability"),
    "nrs": ("NRS-11 pain intensity", "0-10, higher = more pain"),
    "eq5d_index_uk": ("EQ-5D-3L index, UK TTO value set (Dolan 1997)", "-0.594 to 1"),
    "eq5d_index_us": ("EQ-5D-3L index, US D1 value set (Shaw 2005)", "-0.109 to 1"),
    "eq5d_vas": ("EQ VAS", "0-100, higher = better health"),
    "gph_t": ("PROMIS Global Physical Health T-score (v1.2)", "T-score, mean 50 SD 10"),
    "gmh_t": ("PROMIS Global Mental Health T-score (v1.2)", "T-score, mean 50 SD 10"),
    "opioid_mme": ("Opioid use", "morphine milligram equivalents per day"),
}
PATIENT_COLUMNS = ("patient", "arm", "site", "sex", "age", "bmi", "baseline_opioid_mme",
                   "status")


def _enrolments(study, sites):
    """The study's enrolments, at ``sites`` only when given (a user's scope)."""
    enrolments = Enrolment.objects.filter(study=study)
    return enrolments if sites is None else enrolments.filter(site__in=sites)


def _patients(study, sites=None) -> dict[int, dict]:
    rows = _enrolments(study, sites).values_list(
        "pk", "patient__code", "arm__code", "site__code", "patient__sex",
        "patient__age_at_enrolment", "patient__bmi", "patient__baseline_opioid_mme", "status",
    ).order_by("patient__code")
    return {pk: dict(zip(PATIENT_COLUMNS, values, strict=True)) for pk, *values in rows}


def tidy_csv(study, sites=None) -> str:
    """One row per patient x time point x score: patient, arm, timepoint, score, value."""
    patients = _patients(study, sites)
    order = {tp: i for i, tp in enumerate(
        TimePoint.objects.filter(study=study).order_by("target_day").values_list("code",
                                                                                 flat=True))}
    rows = sorted((r for r in score_rows(study) if r.enrolment_id in patients),
                  key=lambda r: (patients[r.enrolment_id]["patient"], order.get(r.timepoint, 99),
                                 SCORE_CODES.index(r.score)))
    return csv_text(("patient", "arm", "timepoint", "score", "value"), (
        {"patient": patients[r.enrolment_id]["patient"], "arm": r.arm,
         "timepoint": r.timepoint, "score": r.score, "value": repr(r.value)}
        for r in rows))


def _wide(study, sites=None) -> tuple[list[str], list[str], dict[int, dict]]:
    """Return the time points, the score columns and one row per enrolment (by pk)."""
    patients = _patients(study, sites)
    timepoints = list(TimePoint.objects.filter(study=study).order_by("target_day")
                      .values_list("code", flat=True))
    values: dict[int, dict[str, float]] = defaultdict(dict)
    for r in score_rows(study):
        if r.enrolment_id in patients:
            values[r.enrolment_id][f"{r.score}_{r.timepoint}"] = repr(r.value)
    score_columns = [f"{code}_{tp}" for code in SCORE_CODES for tp in timepoints]
    rows = {pk: {**patient, **{c: values[pk].get(c) for c in score_columns}}
            for pk, patient in patients.items()}
    return timepoints, score_columns, rows


def wide_csv(study, sites=None) -> str:
    """One row per patient: demographics, then one column per score and time point."""
    _, score_columns, rows = _wide(study, sites)
    return csv_text((*PATIENT_COLUMNS, *score_columns), rows.values())


IDENTIFYING_COLUMNS = ("full_name", "email", "mobile", "date_of_birth", "enrolled_date",
                       "index_date")


def identified_csv(study, sites=None) -> str:
    """The wide file with names, contact details and calendar dates.

    For data managers only (the view checks ``patients.export_identified``) and
    every download is written to the audit trail.
    """
    from outcomes.followups.models import Visit

    timepoints, score_columns, rows = _wide(study, sites)
    identity = _enrolments(study, sites).values_list(
        "pk", "patient__contact__full_name", "patient__contact__email",
        "patient__contact__mobile", "patient__date_of_birth", "enrolled_date", "index_date",
    )
    for pk, *values in identity:
        rows[pk].update(zip(IDENTIFYING_COLUMNS, values, strict=True))
    completed_columns = [f"completed_{tp}" for tp in timepoints]
    for pk, tp, at in Visit.objects.filter(
        enrolment__in=_enrolments(study, sites), completed_at__isnull=False,
    ).values_list("enrolment_id", "timepoint__code", "completed_at").iterator(chunk_size=20000):
        rows[pk][f"completed_{tp}"] = at.date().isoformat()
    columns = (PATIENT_COLUMNS[0], *IDENTIFYING_COLUMNS, *PATIENT_COLUMNS[1:],
               *completed_columns, *score_columns)
    return csv_text(columns, ({c: row.get(c) for c in columns} for row in rows.values()))


def data_dictionary(study, sites=None) -> str:
    """Describe every column of the tidy and wide exports."""
    timepoints = list(TimePoint.objects.filter(study=study).order_by("target_day"))
    rows = [
        {"column": "patient", "description": "Pseudonymous study code", "values": "text"},
        {"column": "arm", "description": "Study arm code",
         "values": ", ".join(study.arms.values_list("code", flat=True))},
        {"column": "site", "description": "Enrolling site code", "values": "text"},
        {"column": "sex", "description": "Sex", "values": "female, male, other, unknown"},
        {"column": "age", "description": "Age at enrolment", "values": "whole years"},
        {"column": "bmi", "description": "Body-mass index at baseline", "values": "kg/m²"},
        {"column": "baseline_opioid_mme", "description": "Opioid use at baseline",
         "values": "MME/day"},
        {"column": "status", "description": "Enrolment status",
         "values": "active, paused, withdrawn, completed"},
        {"column": "timepoint", "description": "Time point (tidy file)",
         "values": "; ".join(f"{tp.code} = day {tp.target_day}" for tp in timepoints)},
        {"column": "score", "description": "Score code (tidy file)",
         "values": ", ".join(SCORE_CODES)},
        {"column": "value", "description": "Score value, unrounded (tidy file)",
         "values": "see the score"},
    ]
    for code in SCORE_CODES:
        title, unit = SCORE_DESCRIPTIONS[code]
        rows.append({"column": f"{code}_<timepoint>", "description": f"{title} (wide file)",
                     "values": unit})
    return csv_text(("column", "description", "values"), rows)


# De-identified: study codes, ages in years, time points instead of dates.
EXPORTS = {"tidy": tidy_csv, "wide": wide_csv, "dictionary": data_dictionary}
IDENTIFIED_EXPORTS = {"identified": identified_csv}
