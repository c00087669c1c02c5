"""``results``: statistics checked against independent computations on the same numbers."""

from __future__ import annotations

import csv
import io
import json
import math
from io import StringIO

import pytest
from django.core.management import call_command
from scipy import stats as sps

PATIENTS = """patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date
T1,BMC,MAIN,female,60,27.0,30,2025-01-06,2025-01-13
T2,BMC,MAIN,male,55,31.0,0,2025-01-06,2025-01-13
T3,BMC,MAIN,female,70,24.0,,2025-01-06,2025-01-13
T4,BMC,MAIN,male,45,29.0,60,2025-01-06,2025-01-13
C1,CONTROL,MAIN,female,61,26.0,30,2025-01-06,2025-01-13
C2,CONTROL,MAIN,male,52,33.0,15,2025-01-06,2025-01-13
C3,CONTROL,MAIN,female,66,22.0,,2025-01-06,2025-01-13
"""
# NRS pain: baseline and m3 (T4 has no baseline: excluded from change, counted in ITT).
NRS = {
    "T1": (8, 4), "T2": (7, 5), "T3": (6, 5), "T4": (None, 2),
    "C1": (7, 7), "C2": (8, 6), "C3": (6, None),
}


def responses() -> str:
    lines = ["patient,timepoint,instrument,item,value,completed_date"]
    for patient, (base, m3) in NRS.items():
        if base is not None:
            lines.append(f"{patient},baseline,nrs11,pain,{base},2025-01-10")
        if m3 is not None:
            lines.append(f"{patient},m3,nrs11,pain,{m3},2025-04-12")
    return "\n".join(lines) + "\n"


@pytest.fixture
def results(study, tmp_path):
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses())
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    out = StringIO()
    call_command("results", "--study", "BMC-LBP", stdout=out)
    return json.loads(out.getvalue())


def find(rows, **keys):
    (match,) = [r for r in rows if all(r[k] == v for k, v in keys.items())]
    return match


def test_descriptive_statistics_match_a_hand_computation(results):
    m3 = find(results["scores"], arm="BMC", timepoint="m3", score="nrs")
    values = [4, 5, 5, 2]
    assert m3["n"] == 4
    assert m3["mean"] == pytest.approx(4.0)
    assert m3["sd"] == pytest.approx(math.sqrt((0 + 1 + 1 + 4) / 3))
    assert (m3["q1"], m3["median"], m3["q3"]) == (3.5, 4.5, 5.0)
    assert m3["mean"] == pytest.approx(sum(values) / 4)


def test_change_excludes_a_patient_without_baseline_and_has_a_t_interval(results):
    m3 = find(results["scores"], arm="BMC", timepoint="m3", score="nrs")
    changes = [4 - 8, 5 - 7, 5 - 6]  # T4 has no baseline
    assert m3["change_n"] == 3
    assert m3["change_mean"] == pytest.approx(-7 / 3)
    half = sps.t.ppf(0.975, 2) * sps.tstd(changes) / math.sqrt(3)
    assert m3["change_ci_low"] == pytest.approx(-7 / 3 - half)
    assert m3["change_ci_high"] == pytest.approx(-7 / 3 + half)


def test_responders_are_counted_complete_case_and_intention_to_treat(results):
    bmc = find(results["responders"], arm="BMC", timepoint="m3", rule="nrs_2pt")
    # T1 -4 and T2 -2 respond, T3 -1 does not, T4 not evaluable (no baseline).
    assert (bmc["responders"], bmc["evaluable"], bmc["allocated"]) == (2, 3, 4)
    assert bmc["percent"] == pytest.approx(200 / 3)
    assert bmc["percent_itt"] == pytest.approx(50.0)
    control = find(results["responders"], arm="CONTROL", timepoint="m3", rule="nrs_2pt")
    assert (control["responders"], control["evaluable"], control["allocated"]) == (1, 2, 3)


def test_between_arm_tests_are_scipys_on_the_same_numbers(results):
    fisher = find(results["comparisons"], timepoint="m3", measure="nrs_2pt", test="fisher")
    assert fisher["p_value"] == pytest.approx(
        sps.fisher_exact([[2, 1], [1, 1]], alternative="two-sided").pvalue)
    bmc, control = [-4, -2, -1], [0, -2]
    welch = find(results["comparisons"], timepoint="m3", measure="nrs", test="welch_t")
    assert welch["p_value"] == pytest.approx(
        sps.ttest_ind(bmc, control, equal_var=False).pvalue)
    mwu = find(results["comparisons"], timepoint="m3", measure="nrs", test="mann_whitney")
    assert mwu["p_value"] == pytest.approx(
        sps.mannwhitneyu(bmc, control, alternative="two-sided").pvalue)


def test_a_time_point_with_no_data_reports_zero_and_nulls(results):
    m6 = find(results["scores"], arm="BMC", timepoint="m6", score="nrs")
    assert m6["n"] == 0 and m6["mean"] is None and m6["change_n"] == 0
    resp = find(results["responders"], arm="BMC", timepoint="m6", rule="nrs_2pt")
    assert (resp["responders"], resp["evaluable"], resp["percent"], resp["percent_itt"]) == (
        0, 0, None, 0.0)
    p = find(results["comparisons"], timepoint="m6", measure="nrs", test="welch_t")
    assert p["p_value"] is None


def test_an_empty_arm_is_reported_not_dropped(study):
    from patients.models import Arm

    Arm.objects.create(study=study, code="THIRD", name="Third arm", order=9)
    out = StringIO()
    call_command("results", "--study", "BMC-LBP", stdout=out)
    data = json.loads(out.getvalue())
    assert data["arms"] == ["BMC", "CONTROL", "THIRD"]
    assert find(data["scores"], arm="THIRD", timepoint="baseline", score="odi")["n"] == 0
    assert find(data["responders"], arm="THIRD", timepoint="m3", rule="primary")[
        "allocated"] == 0


def test_csv_output_has_one_row_per_table_entry(results, study):
    out = StringIO()
    call_command("results", "--study", "BMC-LBP", "--format", "csv", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == (len(results["scores"]) + len(results["responders"])
                         + len(results["comparisons"]))
    row = next(r for r in rows if r["table"] == "responders" and r["arm"] == "BMC"
               and r["timepoint"] == "m3" and r["rule"] == "nrs_2pt")
    assert row["responders"] == "2" and row["evaluable"] == "3"


def test_opioid_use_change_is_reported_by_arm(results):
    base = find(results["scores"], arm="BMC", timepoint="baseline", score="opioid_mme")
    assert base["n"] == 3 and base["mean"] == pytest.approx(30.0)


def test_an_unknown_study_is_refused(db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="unknown study"):
        call_command("results", "--study", "NOPE")


def test_the_results_page_and_the_command_agree_to_the_last_digit(client, study, settings):
    import re

    from django.contrib.auth.models import User

    from patients.demo import load_demo

    load_demo(size=16)
    out = StringIO()
    call_command("results", "--study", "BMC-LBP", stdout=out)
    command = json.loads(out.getvalue())
    user = User.objects.create_superuser("admin", "a@example.org", "x" * 12)
    client.force_login(user)
    page = client.get("/studies/BMC-LBP/results/").content.decode()
    cells = re.findall(r'data-value="([^"]*)"', page)
    expected = []
    for r in command["responders"]:
        expected += [r["responders"], r["evaluable"], r["percent"], r["percent_itt"]]
    for s in command["scores"]:
        expected += [s["n"], s["mean"], s["sd"], s["median"], s.get("change_mean")]
    expected += [c["p_value"] for c in command["comparisons"]]
    assert cells == ["" if v is None else repr(v) if isinstance(v, float) else str(v)
                     for v in expected]
    download = client.get("/studies/BMC-LBP/results/?format=json")
    assert json.loads(download.content) == command


@pytest.mark.parametrize("size", [4, 40])
def test_the_clinicians_patient_page_shows_scores_verdicts_and_signs_off(
    client, study, size, django_assert_max_num_queries
):
    from django.contrib.auth.models import Group, User

    from outcomes.audit.models import AuditRecord
    from patients.demo import load_demo
    from patients.models import Site

    load_demo(size=size)
    doctor = User.objects.create_user("doc", password="x" * 12)
    doctor.groups.add(Group.objects.get(name="Clinicians"))
    Site.objects.get(code="MAIN").staff.add(doctor)
    client.force_login(doctor)
    url = "/studies/BMC-LBP/patients/DEMO-0001/outcomes/"
    # 21: the page (its scores from the schedule: 1; the rules' labels: 2), the user's
    # permissions (2) and the study's second-factor rule (1).
    with django_assert_max_num_queries(21):
        page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "<svg" in html and "ODI (0-100, lower is better)" in html
    assert "ODI improved by 10 points or more" in html and 'data-rule="odi_mcid_10pt"' in html
    assert "Bone marrow concentrate" in html and "Total nucleated cells" in html
    assert "demo0001@patients.example" not in html  # no contact details on this page
    client.post(url, {"note": "reviewed at clinic"})
    record = AuditRecord.objects.get(action="sign_off")
    assert record.actor == doctor and record.reason == "reviewed at clinic"
    assert "Reviewed by doc" in client.get(url).content.decode()


def test_every_result_number_can_be_recomputed_from_the_tidy_export(results, study):
    out = StringIO()
    call_command("export_study", "--study", "BMC-LBP", "--format", "tidy", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert {"patient", "arm", "timepoint", "score", "value", "missing_reason"} <= set(rows[0])
    m3 = [float(r["value"]) for r in rows if r["arm"] == "BMC" and r["timepoint"] == "m3"
          and r["score"] == "nrs" and not r["missing_reason"]]
    summary = find(results["scores"], arm="BMC", timepoint="m3", score="nrs")
    assert summary["n"] == len(m3) and summary["mean"] == sum(m3) / len(m3)
    text = out.getvalue()
    assert "@" not in text and "2025-" not in text  # no contacts, no dates


def test_the_wide_export_has_one_row_per_patient_and_the_dictionary_names_each_column(
    results, study
):
    out = StringIO()
    call_command("export_study", "--study", "BMC-LBP", "--format", "wide", stdout=out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["patient"] for r in rows] == ["C1", "C2", "C3", "T1", "T2", "T3", "T4"]
    t1 = next(r for r in rows if r["patient"] == "T1")
    assert (t1["nrs_baseline"], t1["nrs_m3"], t1["nrs_m6"]) == ("8", "4", "")
    out = StringIO()
    call_command("export_study", "--study", "BMC-LBP", "--format", "dictionary", stdout=out)
    dictionary = {r["column"] for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert {"patient", "arm", "odi_m3", "opioid_mme_baseline"} <= dictionary


def test_the_flow_counts_visits_with_data_missed_and_pending_per_arm(results):
    bmc = next(f for f in results["flow"] if f["arm"] == "BMC")
    assert bmc["allocated"] == 4
    m3 = next(t for t in bmc["timepoints"] if t["timepoint"] == "m3")
    baseline = next(t for t in bmc["timepoints"] if t["timepoint"] == "baseline")
    assert (m3["with_data"], baseline["with_data"], baseline["missed"]) == (4, 3, 1)
    control = next(f for f in results["flow"] if f["arm"] == "CONTROL")
    assert next(t for t in control["timepoints"] if t["timepoint"] == "m3")["missed"] == 1


def test_responder_rates_by_age_group_within_an_arm(results):
    rows = [r for r in results["subgroups"] if r["arm"] == "BMC" and r["timepoint"] == "m3"
            and r["rule"] == "nrs_2pt" and r["factor"] == "age"]
    # T1 (60) and T2 (55) respond, T3 (70) does not; T4 is not evaluable.
    assert {(r["level"], r["responders"], r["evaluable"]) for r in rows} == {
        ("50-64", 2, 2), ("65+", 0, 1)}


def test_a_regression_is_not_fitted_on_too_few_events(results):
    fit = next(r for r in results["regressions"] if r["arm"] == "BMC"
               and r["timepoint"] == "m3" and r["rule"] == "nrs_2pt")
    assert fit["fitted"] is False and fit["terms"] == []


@pytest.mark.parametrize("size", [4, 40])
def test_the_results_page_costs_the_same_queries_for_any_cohort(client, study, size,
                                                               django_assert_max_num_queries):
    from django.contrib.auth.models import User

    from patients.demo import load_demo

    load_demo(size=size)
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))
    # PostgreSQL reads whole columns in one transaction (savepoint, SET LOCAL): 20
    # statements; plus the access guard's second-factor rule and the idle-timeout session
    # save (UPDATE in its savepoint): 24. SQLite needs fewer.
    # The charts: the study's scores from its schedule (1), time point and arm names (2),
    # the primary rules' labels (2): 29.
    with django_assert_max_num_queries(29):
        page = client.get("/studies/BMC-LBP/results/")
    # Charts: the 7 scores the schedule asks, opioid use, and the 3 primary rules.
    assert page.status_code == 200 and page.content.decode().count("<svg") == 11


def test_the_results_page_title_is_plain_text(client, study):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))
    html = client.get("/studies/BMC-LBP/results/").content.decode()
    title = html.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title == "BMC-LBP · Results"
    assert html.count('id="subgroups"') == 1


def test_a_future_visit_is_not_yet_due_not_not_evaluable(client, demo):
    from django.contrib.auth.models import User

    from outcomes.followups.models import Visit

    client.force_login(User.objects.get(username="clinician"))
    future = (Visit.objects.filter(enrolment__patient__code="DEMO-0001",
                                   status__in=["scheduled", "open"])
              .exclude(timepoint__is_baseline=True).select_related("timepoint").first())
    assert future is not None
    html = client.get("/studies/BMC-LBP/patients/DEMO-0001/outcomes/").content.decode()
    table = html[html.index('id="verdicts"'):html.index("</table>", html.index('id="verdicts"'))]
    header = table[:table.index("</thead>")]
    columns = header.split("<th")[2:]
    column = columns.index(next(c for c in columns if f">{future.timepoint.label}<" in c))
    for row in table.split("<tr")[2:]:
        cells = row.split("<td")[1:]
        assert "Not yet due" in cells[column], row
    assert "at this time point" not in table and "no odi" not in table
