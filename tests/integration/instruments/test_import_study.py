"""``import_study``: validated CSV import, all or nothing, idempotent."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from outcomes.instruments.models import ResponderStatus, Response, Score
from patients.models import Enrolment, Patient

PATIENTS = """patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date
L-001,BMC,MAIN,female,61,27.4,30,2025-01-06,2025-01-13
L-002,CONTROL,MAIN,male,48,31.0,,2025-01-08,2025-01-08
"""

ODI = ("pain_intensity", "personal_care", "lifting", "walking", "sitting", "standing",
       "sleeping", "sex_life", "social_life", "travelling")


def odi_rows(patient: str, timepoint: str, points: list[int | str], day: str) -> str:
    return "".join(
        f"{patient},{timepoint},odi,{item},{value},{day}\n"
        for item, value in zip(ODI, points, strict=True)
    )


def responses_csv() -> str:
    # L-001: ODI 24 -> 14 (12/50 -> 7/50 points) and NRS 7 -> 5: exactly at both
    # primary thresholds (10 points, 2 points), so a responder under each.
    return (
        "patient,timepoint,instrument,item,value,completed_date\n"
        + odi_rows("L-001", "baseline", [2, 1, 2, 1, 1, 1, 1, 1, 1, 1], "2025-01-10")
        + odi_rows("L-001", "m3", [1, 1, 1, 1, 1, 0, 1, 0, 1, 0], "2025-04-12")
        + "L-001,baseline,nrs11,pain,7,2025-01-10\n"
        + "L-001,m3,nrs11,pain,5,2025-04-12\n"
        + odi_rows("L-002", "baseline", [3, 3, 3, 3, 3, 3, 3, "", 3, 3], "2025-01-08")
    )


@pytest.fixture
def files(tmp_path: Path):
    def write(patients: str = PATIENTS, responses: str | None = None) -> tuple[str, str]:
        p, r = tmp_path / "patients.csv", tmp_path / "responses.csv"
        p.write_text(patients, encoding="utf-8")
        r.write_text(responses if responses is not None else responses_csv(), encoding="utf-8")
        return str(p), str(r)
    return write


def run_import(patients: str, responses: str):
    call_command("import_study", study="BMC-LBP", patients=patients, responses=responses)


def test_an_import_creates_patients_responses_scores_and_responder_status(study, files):
    run_import(*files())
    assert set(Patient.objects.values_list("code", flat=True)) == {"L-001", "L-002"}
    enrolment = Enrolment.objects.get(patient__code="L-001")
    assert enrolment.arm.code == "BMC"
    assert Response.objects.filter(state="completed", source="import").count() == 5
    odi_m3 = Score.objects.get(response__visit__enrolment=enrolment,
                               response__visit__timepoint__code="m3", code="odi")
    assert Fraction(odi_m3.exact) == 14
    statuses = dict(ResponderStatus.objects.filter(
        enrolment=enrolment, timepoint__code="m3").values_list("rule__code", "verdict"))
    assert statuses["odi_mcid_10pt"] == "responder"
    assert statuses["nrs_2pt"] == "responder"
    assert statuses["nrs_gt2pt"] == "non_responder"
    assert statuses["primary"] == "responder"
    assert statuses["eq5d_uk_mid"] == "not_evaluable"
    # L-002 left sex life blank: 27 points over 9 sections = 60% (one blank allowed).
    odi_base = Score.objects.get(response__visit__enrolment__patient__code="L-002", code="odi")
    assert Fraction(odi_base.exact) == 60


def test_importing_the_same_files_again_changes_nothing(study, files):
    paths = files()
    run_import(*paths)
    before = (Patient.objects.count(), Response.objects.count(), Score.objects.count(),
              list(ResponderStatus.objects.order_by("pk").values_list("pk", "verdict")))
    run_import(*paths)
    after = (Patient.objects.count(), Response.objects.count(), Score.objects.count(),
             list(ResponderStatus.objects.order_by("pk").values_list("pk", "verdict")))
    assert after == before


def test_one_bad_value_refuses_the_whole_import_and_names_line_and_column(study, files, capsys):
    bad = responses_csv().replace("L-001,baseline,odi,walking,1,", "L-001,baseline,odi,walking,7,")
    with pytest.raises(CommandError, match="nothing was imported"):
        run_import(*files(responses=bad))
    err = capsys.readouterr().err
    assert "responses.csv line 5, column value: walking must be 0-5, got 7" in err
    assert not Patient.objects.exists()
    assert not Response.objects.exists()


def test_every_problem_is_reported_not_only_the_first(study, files, capsys):
    patients = PATIENTS.replace("L-002,CONTROL,MAIN,male,48", "L-002,PLACEBO,MAIN,man,48")
    responses = responses_csv() + "L-009,m6,odi,walking,2,2025-07-01\nL-001,m2,nrs11,pain,x,2025\n"
    with pytest.raises(CommandError):
        run_import(*files(patients=patients, responses=responses))
    err = capsys.readouterr().err
    assert "patients.csv line 3, column arm: unknown arm 'PLACEBO'" in err
    assert "patients.csv line 3, column sex:" in err
    assert "column patient: unknown patient 'L-009'" in err
    assert "column timepoint: unknown time point 'm2'" in err
    assert "column value: pain must be an integer, got 'x'" in err
    assert "column completed_date: expected a date YYYY-MM-DD, got '2025'" in err
    assert not Patient.objects.exists()


def test_an_odi_too_blank_to_score_is_imported_not_scorable_with_a_warning(
    study, files, capsys
):
    # SPEC 3.7: two blank sections (at most one may be) make the ODI not scorable:
    # data, not an error. Its responder rules are not evaluable, with the reason.
    blank = responses_csv().replace(
        odi_rows("L-002", "baseline", [3, 3, 3, 3, 3, 3, 3, "", 3, 3], "2025-01-08"),
        odi_rows("L-002", "baseline", [3, 3, 3, 3, 3, 3, "", "", 3, 3], "2025-01-08"),
    ) + "L-002,m3,odi,walking,1,2025-04-08\n"
    run_import(*files(responses=blank))
    assert ("warning: responses.csv line 24: L-002 baseline odi: ODI not scorable: 2 sections "
            "unanswered; at most 1 allowed") in capsys.readouterr().err
    response = Response.objects.get(visit__enrolment__patient__code="L-002",
                                    visit__timepoint__code="baseline")
    assert response.state == "completed" and response.answers["sleeping"] is None
    assert response.not_scorable["odi"] == "2 sections unanswered; at most 1 allowed"
    assert not response.scores.exists()
    status = ResponderStatus.objects.get(enrolment=response.visit.enrolment,
                                         timepoint__code="m3", rule__code="odi_mcid_10pt")
    assert status.verdict == "not_evaluable"
    assert status.reason == ("ODI not scorable at baseline: 2 sections unanswered; at most 1 "
                             "allowed")


def test_a_missing_column_is_named(study, files, capsys):
    with pytest.raises(CommandError):
        run_import(*files(patients=PATIENTS.replace(",bmi,", ",weight,")))
    assert "patients.csv line 1: missing column(s): bmi" in capsys.readouterr().err


def test_an_unknown_study_is_refused(db, files, capsys):
    with pytest.raises(CommandError):
        run_import(*files())
    assert "unknown study 'BMC-LBP'" in capsys.readouterr().err
