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


@pytest.mark.parametrize("batch", [1, 2, 3, 2000])
def test_statuses_and_visit_scores_kept_from_the_scoring_are_those_read_back(
    study, files, monkeypatch, batch
):
    """The import writes each new patient's responder statuses and visit scores from the
    scores it has just computed, when the patient's last response is written (batches
    end mid-patient here); they are what the services compute from the stored scores."""
    from outcomes.instruments.models import VisitScores
    from outcomes.instruments.services import responder_status_rows, visit_score_values
    from patients.imports import load

    monkeypatch.setattr(load, "BATCH_RESPONSES", batch)
    run_import(*files())
    stored = set(ResponderStatus.objects.values_list(
        "enrolment_id", "timepoint_id", "rule_id", "verdict", "reason", "change"))
    enrolments = list(Enrolment.objects.values_list("pk", flat=True))
    fresh = {row for rows in responder_status_rows(study_id=study.pk,
                                                   enrolment_ids=enrolments)
             for row in rows}
    assert stored == fresh and len(stored) == 2 * 4 * study.responder_rules.count()
    columns = [f.name for f in VisitScores._meta.get_fields()
               if f.get_internal_type() == "FloatField"]
    rows = {row[0]: dict(zip(columns, row[1:], strict=True))
            for row in VisitScores.objects.values_list("visit_id", *columns)}
    expected = {visit: {code: found.get(code) for code in columns}
                for visit, found in visit_score_values(rows).items()}
    assert rows == expected and len(rows) == 3


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
    # At a follow-up with no data the baseline's reason comes first, as at 3 months; a
    # patient whose baseline was scored hears that the follow-up has no ODI.
    reasons = dict(ResponderStatus.objects.filter(
        timepoint__code="m6", rule__code="odi_mcid_10pt").values_list(
        "enrolment__patient__code", "reason"))
    assert reasons == {"L-001": "no ODI at this visit", "L-002": status.reason}


def test_a_missing_column_is_named(study, files, capsys):
    with pytest.raises(CommandError):
        run_import(*files(patients=PATIENTS.replace(",bmi,", ",weight,")))
    assert "patients.csv line 1: missing column(s): bmi" in capsys.readouterr().err


def test_an_unknown_study_is_refused(db, files, capsys):
    with pytest.raises(CommandError):
        run_import(*files())
    assert "unknown study 'BMC-LBP'" in capsys.readouterr().err


def problems_of(capsys) -> str:
    return capsys.readouterr().err


def test_a_completion_before_enrolment_or_in_the_future_is_refused(study, files, capsys):
    # L-001 was enrolled on 2025-01-06; a form cannot be answered before that, nor in 2099.
    bad = (responses_csv().replace("L-001,baseline,nrs11,pain,7,2025-01-10",
                                   "L-001,baseline,nrs11,pain,7,2025-01-02")
           .replace("L-001,m3,nrs11,pain,5,2025-04-12", "L-001,m3,nrs11,pain,5,2099-04-12"))
    with pytest.raises(CommandError, match="nothing was imported"):
        run_import(*files(responses=bad))
    err = problems_of(capsys)
    assert ("responses.csv line 22, column completed_date: L-001 baseline nrs11 completed on "
            "2025-01-02, before the patient was enrolled (2025-01-06)") in err
    assert ("responses.csv line 23, column completed_date: L-001 m3 nrs11 completed on "
            "2099-04-12, in the future") in err
    assert not Patient.objects.exists()


def test_a_completion_outside_its_window_is_imported_flagged_and_warned(study, files, capsys):
    # L-001's index date is 2025-01-13: m3 targets day 90 (2025-04-13), window +/-14 days,
    # so 2025-03-30 to 2025-04-27. A form dated 2025-05-20 is late: taken, and flagged.
    late = responses_csv().replace("L-001,m3,nrs11,pain,5,2025-04-12",
                                   "L-001,m3,nrs11,pain,5,2025-05-20")
    run_import(*files(responses=late))
    err = problems_of(capsys)
    assert ("warning: responses.csv line 23, column completed_date: L-001 m3 nrs11 completed on "
            "2025-05-20, outside the visit's window (2025-03-30 to 2025-04-27): imported and "
            "flagged out of window") in err
    flagged = dict(Response.objects.filter(visit__enrolment__patient__code="L-001",
                                           visit__timepoint__code="m3")
                   .values_list("instrument__code", "out_of_window"))
    assert flagged == {"odi": False, "nrs11": True}


def test_an_index_date_long_before_enrolment_is_refused(study, files, capsys):
    # The baseline window closes 7 days after the index date (SPEC 5): an index date 38
    # days before enrolment leaves no day on which a baseline could be answered.
    patients = PATIENTS.replace("2025-01-08,2025-01-08", "2025-01-08,2024-12-01")
    with pytest.raises(CommandError):
        run_import(*files(patients=patients))
    assert ("patients.csv line 3, column index_date: 2024-12-01 is 38 days before enrolment "
            "(2025-01-08)") in problems_of(capsys)
    assert not Patient.objects.exists()


def test_an_index_date_within_the_baseline_window_before_enrolment_is_taken(study, files):
    run_import(*files(patients=PATIENTS.replace("2025-01-08,2025-01-08",
                                                "2025-01-08,2025-01-01")))
    assert Enrolment.objects.get(patient__code="L-002").index_date.isoformat() == "2025-01-01"


@pytest.mark.parametrize("code", ['"=HYPERLINK(""http://x.example/"",""click"")"',
                                  "L-" + "0" * 42])
def test_a_patient_code_that_breaks_the_code_format_is_a_problem_line(
    study, files, capsys, code
):
    patients = PATIENTS.replace("L-002,CONTROL", f"{code},CONTROL")
    with pytest.raises(CommandError, match="nothing was imported"):
        run_import(*files(patients=patients))
    err = problems_of(capsys)
    assert "patients.csv line 3, column patient: " in err
    assert "is not a study code: " in err
    assert "Traceback" not in err
    assert not Patient.objects.exists()


def test_a_responses_row_naming_a_code_of_the_wrong_format_says_so(study, files, capsys):
    with pytest.raises(CommandError):
        run_import(*files(responses=responses_csv() + "@SUM(A1),m3,nrs11,pain,5,2025-04-12\n"))
    assert ("responses.csv line 34, column patient: '@SUM(A1)' is not a study code: Use "
            "letters, digits") in problems_of(capsys)


CONTACTS = """\
patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date,email,mobile,\
preferred_channel,language
L-001,BMC,MAIN,female,61,27.4,30,2025-01-06,2025-01-13,ana@example.org,,,es
L-002,CONTROL,MAIN,male,48,31.0,,2025-01-08,2025-01-08,,+44 7700 900123,sms,
"""


def test_contact_columns_create_contact_details_audited(study, files):
    from outcomes.audit.models import AuditRecord
    from patients.models import Contact

    run_import(*files(patients=CONTACTS))
    contacts = {c.patient.code: c for c in Contact.objects.select_related("patient")}
    assert (contacts["L-001"].email, contacts["L-001"].preferred_channel,
            contacts["L-001"].language) == ("ana@example.org", "email", "es")
    assert (contacts["L-002"].mobile, contacts["L-002"].preferred_channel,
            contacts["L-002"].language) == ("+44 7700 900123", "sms", "en")
    record = AuditRecord.objects.get(object_type="patients.contact",
                                     object_id=str(contacts["L-002"].pk))
    assert record.actor_label == "import" and record.changes["mobile"] == [None,
                                                                           "+44 7700 900123"]


def test_contact_columns_are_optional_and_checked_like_the_contact_model(study, files, capsys):
    bad = (CONTACTS.replace("ana@example.org,,,es", "=HYPERLINK(1),,,de")
           .replace(",+44 7700 900123,sms,", ",,sms,"))
    with pytest.raises(CommandError):
        run_import(*files(patients=bad))
    err = problems_of(capsys)
    assert "patients.csv line 2, column email: Enter a valid email address." in err
    assert "patients.csv line 2, column language: must be one of en, es, got 'de'" in err
    assert ("patients.csv line 3, column mobile: a mobile number is needed for text "
            "reminders") in err
    assert not Patient.objects.exists()


def test_reimporting_with_contact_columns_changes_nothing_and_a_changed_one_is_refused(
    study, files, capsys
):
    paths = files(patients=CONTACTS)
    run_import(*paths)
    run_import(*paths)
    assert "2 patients and 5 responses already there, unchanged" in capsys.readouterr().out
    with pytest.raises(CommandError):
        run_import(*files(patients=CONTACTS.replace("ana@example.org", "ana@example.net")))
    assert "patients.csv line 2: L-001 already exists with other values" in problems_of(capsys)


def test_help_prints_both_file_formats_with_an_example_row():
    from io import StringIO

    from patients.management.commands.import_study import Command

    out = StringIO()
    Command(stdout=out).create_parser("manage.py", "import_study").print_help(out)
    text = out.getvalue()
    assert "patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date" in text
    assert "L-001,BMC,MAIN,female,61,27.4,30,2025-01-06,2025-01-13" in text
    assert "email,mobile," in text and "preferred_channel,language" in text
    assert "patient,timepoint,instrument,item,value,completed_date" in text
    assert "L-001,baseline,odi,walking,1,2025-01-10" in text


def test_an_instrument_not_asked_at_the_time_point_is_refused(study, files, capsys):
    from outcomes.followups.models import TimePointInstrument

    TimePointInstrument.objects.filter(timepoint__code="m3",
                                       instrument__code="nrs11").delete()
    with pytest.raises(CommandError):
        run_import(*files())
    assert ("responses.csv line 23, column instrument: nrs11 is not asked at m3 in this "
            "study") in problems_of(capsys)


def test_a_blank_item_the_score_allows_is_imported_with_a_warning(study, files, capsys):
    run_import(*files())
    assert ("warning: responses.csv line 24: L-002 baseline odi: sex_life unanswered; imported"
            in problems_of(capsys))


def test_a_second_import_adds_follow_ups_to_patients_imported_before(study, files):
    # The first file has the baselines; the second the same patients' 3-month forms:
    # the verdicts are those of one import of both (ODI 24 -> 14: exactly 10 points).
    first = "".join(line + "\n" for line in responses_csv().splitlines()
                    if ",m3," not in line)
    second = "".join(line + "\n" for line in responses_csv().splitlines()
                     if ",baseline," not in line)
    run_import(*files(responses=first))
    enrolment = Enrolment.objects.get(patient__code="L-001")
    assert ResponderStatus.objects.get(enrolment=enrolment, timepoint__code="m3",
                                       rule__code="odi_mcid_10pt").verdict == "not_evaluable"
    run_import(*files(responses=second))
    statuses = dict(ResponderStatus.objects.filter(
        enrolment=enrolment, timepoint__code="m3").values_list("rule__code", "verdict"))
    assert statuses["odi_mcid_10pt"] == statuses["nrs_2pt"] == "responder"
    from outcomes.instruments.models import VisitScores

    assert VisitScores.objects.get(visit__enrolment=enrolment,
                                   visit__timepoint__code="m3").values["odi"] == 14


def test_a_conflict_found_late_refuses_everything_written_before_it(study, files, capsys):
    run_import(*files())
    patients = PATIENTS + "L-003,BMC,MAIN,female,55,24.0,,2025-02-01,2025-02-03\n"
    changed = (responses_csv().replace("L-001,m3,nrs11,pain,5,", "L-001,m3,nrs11,pain,6,")
               + "L-003,baseline,nrs11,pain,4,2025-02-02\n")
    with pytest.raises(CommandError, match="nothing was imported"):
        run_import(*files(patients=patients, responses=changed))
    assert ("responses.csv line 23: L-001 m3 nrs11 already has a different response"
            in problems_of(capsys))
    assert not Patient.objects.filter(code="L-003").exists()
    assert Response.objects.count() == 5


def test_a_wholly_wrong_file_lists_the_first_thousand_problems_and_counts_the_rest(
    study, files, capsys
):
    bad = responses_csv() + "".join(f"L-001,m6,nrs11,pain,{11 + n},2025-07-10\n"
                                    for n in range(1200))
    with pytest.raises(CommandError, match="import refused: 1001 problem"):
        run_import(*files(responses=bad))
    err = problems_of(capsys).splitlines()
    assert "... and 200 more problems (the first 1,000 are listed)" in err
