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
    # Every window has long closed: nobody is pending, all 4 allocated are in the ITT.
    assert (bmc["pending"], bmc["itt_denominator"]) == (0, 4)
    assert bmc["percent_itt"] == pytest.approx(50.0)
    control = find(results["responders"], arm="CONTROL", timepoint="m3", rule="nrs_2pt")
    assert (control["responders"], control["evaluable"], control["allocated"]) == (1, 2, 3)


def _results_on(study, day):
    import datetime as dt

    from outcomes.analysis.results import study_results

    return study_results(study, today=dt.date.fromisoformat(day))


def test_intention_to_treat_leaves_out_patients_whose_visit_is_not_yet_due(results, study):
    # 20 April 2025: the m3 window (13 April ± 14 days) is still open. C3 has no m3 form:
    # not yet due, pending; C1 and C2 answered (due). Later time points are all pending.
    on = _results_on(study, "2025-04-20")
    control = find(on["responders"], arm="CONTROL", timepoint="m3", rule="nrs_2pt")
    assert (control["pending"], control["itt_denominator"], control["responders"]) == (
        1, 2, 1)
    assert control["percent_itt"] == pytest.approx(50.0)  # not 1 of 3: C3 is not late yet
    m12 = find(on["responders"], arm="CONTROL", timepoint="m12", rule="nrs_2pt")
    assert (m12["pending"], m12["itt_denominator"], m12["percent_itt"]) == (3, 0, None)
    flow = next(f for f in on["flow"] if f["arm"] == "CONTROL")
    m3 = next(t for t in flow["timepoints"] if t["timepoint"] == "m3")
    assert (m3["with_data"], m3["missed"], m3["pending"]) == (2, 0, 1)
    # 28 April: the window has closed; C3 is missed and counts as a non-responder.
    after = find(_results_on(study, "2025-04-28")["responders"], arm="CONTROL",
                 timepoint="m3", rule="nrs_2pt")
    assert (after["pending"], after["itt_denominator"]) == (0, 3)
    assert after["percent_itt"] == pytest.approx(100 / 3)


def test_a_withdrawn_patient_stays_in_the_intention_to_treat_denominator(results, study):
    from patients.models import Enrolment
    from patients.services import set_enrolment_status

    enrolment = Enrolment.objects.get(patient__code="C3")
    set_enrolment_status(enrolment=enrolment, status="withdrawn", reason="moved away",
                         actor=None)
    on = _results_on(study, "2026-06-01")
    control = find(on["responders"], arm="CONTROL", timepoint="m12", rule="nrs_2pt")
    assert (control["allocated"], control["pending"], control["itt_denominator"]) == (3, 0, 3)
    assert find(on["responders"], arm="CONTROL", timepoint="m3", rule="nrs_2pt")[
        "itt_denominator"] == 3


def test_between_arm_tests_are_scipys_on_the_same_numbers(results):
    fisher = find(results["comparisons"], timepoint="m3", measure="nrs_2pt", test="fisher")
    assert fisher["p_value"] == pytest.approx(
        sps.fisher_exact([[2, 1], [1, 1]], alternative="two-sided").pvalue)
    bmc, control = [-4, -2, -1], [0, -2]
    welch = find(results["comparisons"], timepoint="m3", measure="nrs", test="welch_t")
    assert welch["p_value"] == pytest.approx(
        sps.ttest_ind(bmc, control, equal_var=False).pvalue)
    # A tie (-2 in both arms): scipy's own choice is the normal approximation, and the
    # row says which it is.
    mwu = find(results["comparisons"], timepoint="m3", measure="nrs",
               test="mann_whitney_normal")
    assert mwu["p_value"] == pytest.approx(
        sps.mannwhitneyu(bmc, control, alternative="two-sided", method="asymptotic").pvalue)
    for row in (fisher, welch, mwu):
        assert (row["arm"], row["reference_arm"]) == ("BMC", "CONTROL")


def test_effect_sizes_are_statsmodels_on_the_same_numbers(results):
    import numpy as np
    import statsmodels.api as sm
    from statsmodels.stats.contingency_tables import Table2x2
    from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    # nrs_2pt at m3: BMC 2 of 3 evaluable, CONTROL 1 of 2.
    row = find(results["comparisons"], timepoint="m3", measure="nrs_2pt", test="fisher")
    low, high = confint_proportions_2indep(2, 3, 1, 2, method="newcomb", compare="diff")
    assert row["difference"] == pytest.approx(100 * (2 / 3 - 1 / 2))
    assert (row["difference_ci_low"], row["difference_ci_high"]) == pytest.approx(
        (100 * low, 100 * high))
    table = Table2x2(np.array([[2, 1], [1, 1]]))
    assert (row["risk_ratio"], row["risk_ratio_ci_low"], row["risk_ratio_ci_high"]) == (
        pytest.approx((table.riskratio, *table.riskratio_confint())))
    assert (row["odds_ratio"], row["odds_ratio_ci_low"], row["odds_ratio_ci_high"]) == (
        pytest.approx((table.oddsratio, *table.oddsratio_confint())))
    bmc = find(results["responders"], arm="BMC", timepoint="m3", rule="nrs_2pt")
    assert (bmc["ci_low"], bmc["ci_high"]) == pytest.approx(
        tuple(100 * v for v in proportion_confint(2, 3, method="wilson")))
    # Changes in NRS at m3: BMC T1 8 -> 4, T2 7 -> 5, T3 6 -> 5; CONTROL C1 7 -> 7, C2 8 -> 6.
    change = find(results["comparisons"], timepoint="m3", measure="nrs", test="welch_t")
    means = CompareMeans(DescrStatsW([-4, -2, -1]), DescrStatsW([0, -2]))
    assert change["difference"] == pytest.approx(-7 / 3 - (-1))
    assert (change["difference_ci_low"], change["difference_ci_high"]) == pytest.approx(
        means.tconfint_diff(usevar="unequal"))
    baseline, follow_up, arm = [8, 7, 6, 7, 8], [4, 5, 5, 7, 6], [1, 1, 1, 0, 0]
    fit = sm.OLS(follow_up, sm.add_constant(np.column_stack([arm, baseline]))).fit()
    assert change["adjusted_difference"] == pytest.approx(fit.params[1])
    assert (change["adjusted_ci_low"], change["adjusted_ci_high"]) == pytest.approx(
        tuple(fit.conf_int()[1]))
    assert change["adjusted_p_value"] == pytest.approx(fit.pvalues[1])
    assert change["adjusted_n"] == 5
    mwu = find(results["comparisons"], timepoint="m3", measure="nrs",
               test="mann_whitney_normal")
    assert {k: mwu[k] for k in change if k.startswith(("difference", "adjusted"))} == {
        k: change[k] for k in change if k.startswith(("difference", "adjusted"))}


def test_the_study_s_primary_comparisons_come_first_and_no_p_value_is_adjusted(results):
    first, second, *rest = results["comparisons"]
    assert [(r["measure"], r["timepoint"], r["primary"]) for r in (first, second)] == [
        ("odi_mcid_10pt", "m12", True), ("nrs_2pt", "m12", True)]
    assert results["primary_comparisons"] == [{"rule": "odi_mcid_10pt", "timepoint": "m12"},
                                              {"rule": "nrs_2pt", "timepoint": "m12"}]
    assert not any(r["primary"] for r in rest)
    assert all(r["p_adjusted"] is False for r in results["comparisons"])


def test_a_time_point_with_no_data_reports_zero_and_nulls(results):
    m6 = find(results["scores"], arm="BMC", timepoint="m6", score="nrs")
    assert m6["n"] == 0 and m6["mean"] is None and m6["change_n"] == 0
    resp = find(results["responders"], arm="BMC", timepoint="m6", rule="nrs_2pt")
    assert (resp["responders"], resp["evaluable"], resp["percent"], resp["percent_itt"]) == (
        0, 0, None, 0.0)
    assert (resp["ci_low"], resp["ci_high"]) == (None, None)
    proportion = find(results["comparisons"], timepoint="m6", measure="nrs_2pt")
    assert proportion["difference"] is None and proportion["risk_ratio"] is None
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


def test_every_arm_is_compared_with_the_reference_arm_in_a_three_arm_study(study, tmp_path):
    from patients.models import Arm

    Arm.objects.create(study=study, code="SALINE", name="Saline injection", order=2)
    saline = "\n".join(f"S{i},SALINE,MAIN,female,58,26.0,0,2025-01-06,2025-01-13"
                        for i in (1, 2, 3))
    (tmp_path / "p.csv").write_text(PATIENTS + saline + "\n")
    rows = responses().splitlines() + [
        f"S{i},{tp},nrs11,pain,{value},{day}" for i, (b, m) in ((1, (7, 6)), (2, (8, 5)),
                                                                 (3, (6, 6)))
        for tp, value, day in (("baseline", b, "2025-01-10"), ("m3", m, "2025-04-12"))]
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    out = StringIO()
    call_command("results", "--study", "BMC-LBP", stdout=out)
    data = json.loads(out.getvalue())
    assert data["reference_arm"] == "CONTROL"  # the demo names it; SALINE is listed last
    pairs = {(r["arm"], r["reference_arm"]) for r in data["comparisons"]}
    assert pairs == {("BMC", "CONTROL"), ("SALINE", "CONTROL")}
    saline_nrs = find(data["comparisons"], timepoint="m3", measure="nrs", test="welch_t",
                      arm="SALINE")
    assert saline_nrs["difference"] == pytest.approx((-1 - 3 + 0) / 3 - (0 - 2) / 2)
    assert find(data["comparisons"], timepoint="m3", measure="nrs_2pt", arm="SALINE")[
        "responders"] == 1  # S2: 8 -> 5


def test_without_a_named_reference_the_last_arm_in_display_order_is_it(study):
    from django.core.exceptions import ValidationError

    from outcomes.analysis.results import study_results
    from patients.demo import ensure_demo_study
    from patients.models import Arm, Study

    Arm.objects.create(study=study, code="THIRD", name="Third arm", order=9)
    study.reference_arm = None
    study.save()
    data = study_results(Study.objects.get(pk=study.pk))
    assert data["reference_arm"] == "THIRD"
    assert {(r["arm"], r["reference_arm"]) for r in data["comparisons"]} == {
        ("BMC", "THIRD"), ("CONTROL", "THIRD")}
    other = Study.objects.create(code="OTHER", title="Another study")
    stranger = Arm.objects.create(study=other, code="X", name="X")
    study.reference_arm = stranger
    with pytest.raises(ValidationError) as error:
        study.full_clean()
    assert "reference_arm" in error.value.message_dict
    # The demo set-up names CONTROL again only if none is named.
    study.reference_arm = None
    study.save()
    assert ensure_demo_study().reference_arm.code == "CONTROL"


def test_a_study_that_does_not_ask_the_odi_has_no_odi_rows(results, study):
    from outcomes.followups.models import TimePointInstrument

    TimePointInstrument.objects.filter(timepoint__study=study,
                                       instrument__code="odi").delete()
    data = _results_on(study, "2026-06-01")
    assert "odi" not in {s["score"] for s in data["scores"]}
    assert "odi" not in {c["measure"] for c in data["comparisons"] if c["kind"] == "change"}
    assert {s["score"] for s in data["scores"]} == {"nrs", "eq5d_index_uk", "eq5d_index_us",
                                                    "eq5d_vas", "gph_t", "gmh_t",
                                                    "opioid_mme"}


#: SPEC section 9's stable keys, per table (and for comparisons, per kind).
SPEC_KEYS = {
    "scores": {"arm", "timepoint", "score", "n", "mean", "sd", "median", "q1", "q3"},
    "follow_up_scores": {"change_n", "change_mean", "change_ci_low", "change_ci_high"},
    "responders": {"arm", "timepoint", "rule", "responders", "evaluable", "allocated",
                   "percent", "ci_low", "ci_high", "pending", "itt_denominator",
                   "percent_itt"},
    "comparisons": {"timepoint", "measure", "kind", "test", "p_value", "arm",
                    "reference_arm", "primary"},
    "proportion": {"difference", "difference_ci_low", "difference_ci_high", "risk_ratio",
                   "risk_ratio_ci_low", "risk_ratio_ci_high", "odds_ratio",
                   "odds_ratio_ci_low", "odds_ratio_ci_high"},
    "change": {"difference", "difference_ci_low", "difference_ci_high",
               "adjusted_difference", "adjusted_ci_low", "adjusted_ci_high",
               "adjusted_p_value"},
}


def test_the_json_has_every_key_of_spec_section_9(results):
    assert {"study", "arms", "timepoints", "scores", "responders", "comparisons"} <= set(
        results)
    for row in results["scores"]:
        expected = SPEC_KEYS["scores"] | (SPEC_KEYS["follow_up_scores"]
                                          if row["timepoint"] != "baseline" else set())
        assert expected <= set(row), expected - set(row)
    for row in results["responders"]:
        assert SPEC_KEYS["responders"] <= set(row), SPEC_KEYS["responders"] - set(row)
    kinds = set()
    for row in results["comparisons"]:
        kinds.add(row["kind"])
        expected = SPEC_KEYS["comparisons"] | SPEC_KEYS[row["kind"]]
        assert expected <= set(row), expected - set(row)
    assert kinds == {"proportion", "change"}


def test_csv_output_has_every_row_and_every_key_of_the_json(results, study):
    out = StringIO()
    call_command("results", "--study", "BMC-LBP", "--format", "csv", stdout=out)
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    rows = list(reader)
    for table in ("scores", "responders", "comparisons", "baseline_characteristics",
                  "mcid_estimates"):
        mine = [r for r in rows if r["table"] == table]
        assert len(mine) == len(results[table])
        keys = {k for row in results[table] for k in row} - {"arms"}
        assert keys <= set(reader.fieldnames), keys - set(reader.fieldnames)
        for line, row in zip(mine, results[table], strict=True):
            for key in keys & set(row):
                value = row[key]
                assert line[key] == ("" if value is None else str(value)), (table, key)
    row = next(r for r in rows if r["table"] == "responders" and r["arm"] == "BMC"
               and r["timepoint"] == "m3" and r["rule"] == "nrs_2pt")
    assert row["responders"] == "2" and row["evaluable"] == "3"
    assert {r["table"] for r in rows} == {"scores", "responders", "comparisons", "flow",
                                          "subgroups", "regressions",
                                          "baseline_characteristics", "mcid_estimates"}


def test_table_1_describes_each_arm_at_baseline_as_the_statistics_module_does(results):
    import statistics

    def row(arm, characteristic, **keys):
        return find(results["baseline_characteristics"], arm=arm,
                    characteristic=characteristic, **keys)

    def described(values, of):
        q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
        return {"n": len(values), "missing": of - len(values),
                "mean": pytest.approx(statistics.fmean(values)),
                "sd": pytest.approx(statistics.stdev(values)), "q1": pytest.approx(q1),
                "median": pytest.approx(median), "q3": pytest.approx(q3)}

    def keys(found, expected):
        return {k: found[k] for k in expected}

    # PATIENTS: BMC T1-T4, CONTROL C1-C3; T3's and C3's opioid doses are unknown.
    assert row("BMC", "patients")["n"] == 4 and row("CONTROL", "patients")["n"] == 3
    expected = described([60, 55, 70, 45], 4)
    assert keys(row("BMC", "age"), expected) == expected
    expected = described([26.0, 33.0, 22.0], 3)
    assert keys(row("CONTROL", "bmi"), expected) == expected
    female = row("CONTROL", "sex", level="female")
    assert (female["count"], female["n"], female["percent"]) == (2, 3, pytest.approx(200 / 3))
    # Any opioid: of the patients whose dose is known (T2 takes none: 0 MME/day).
    opioid = row("BMC", "opioid_any")
    assert (opioid["count"], opioid["n"], opioid["missing"]) == (2, 3, 1)
    assert opioid["percent"] == pytest.approx(200 / 3)
    expected = described([30.0, 60.0], 2)
    assert keys(row("BMC", "opioid_mme_users"), expected) == expected
    # Every score the schedule asks, at baseline (NRS: T4 has none); opioid use is the
    # enrolment record's, above, not a score row.
    expected = described([8, 7, 6], 4)
    assert keys(row("BMC", "score", score="nrs"), expected) == expected
    odi = row("CONTROL", "score", score="odi")
    assert (odi["n"], odi["missing"], odi["mean"], odi["sd"]) == (0, 3, None, None)
    assert {r["score"] for r in results["baseline_characteristics"]
            if r["characteristic"] == "score"} == {"odi", "nrs", "eq5d_index_uk",
                                                   "eq5d_index_us", "eq5d_vas", "gph_t",
                                                   "gmh_t"}


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
        expected += [r["responders"], r["evaluable"], r["percent"], r["ci_low"], r["pending"],
                     r["itt_denominator"], r["percent_itt"]]
    for s in command["scores"]:
        expected += [s["n"], s["mean"], s["sd"], s["median"], s.get("change_mean")]
    for c in command["comparisons"]:
        expected += [c["difference"], c["p_value"]]
    assert cells == ["" if v is None else repr(v) if isinstance(v, float) else str(v)
                     for v in expected]
    download = client.get("/studies/BMC-LBP/results/?format=json")
    assert json.loads(download.content) == command
    # People words: labels, not codes; both arms named on every comparison.
    assert "ODI improved by 10 points or more" in page and "12 months" in page
    assert "Bone marrow concentrate + conventional care vs Conventional care" in page
    assert "Fisher&#x27;s exact test" in page or "Fisher's exact test" in page


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


def test_the_patients_page_shows_only_the_time_points_that_ask_each_score(
    client, study, tmp_path
):
    from django.contrib.auth.models import Group, User

    from outcomes.followups.models import TimePointInstrument
    from patients.models import Site
    from tests.htmltree import parse

    # The NRS asked at baseline, 3 and 12 months only; the ODI still at every time point.
    TimePointInstrument.objects.filter(timepoint__study=study, timepoint__code__in=["m1", "m6"],
                                       instrument__code="nrs11").delete()
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses())
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    doctor = User.objects.create_user("doc", password="x" * 12)
    doctor.groups.add(Group.objects.get(name="Clinicians"))
    Site.objects.get(code="MAIN").staff.add(doctor)
    client.force_login(doctor)
    page = parse(client.get("/studies/BMC-LBP/patients/T1/outcomes/").content)

    def rows(score: str) -> list[list[str]]:
        figure = page.find("figure", data_score=score)
        return [[cell.text for cell in row.find_all("td")]
                for row in figure.find("tbody").find_all("tr")]

    # T1: NRS 8 at baseline, 4 at 3 months; the 12-month visit asked it and was missed.
    assert rows("nrs") == [["Baseline", "8.0", ""], ["3 months", "4.0", "−4.0"],
                           ["12 months", "—", ""]]
    assert page.find("figure", data_score="nrs").find("p").text == (
        "Not asked at 1 month or 6 months.")
    assert [row[0] for row in rows("odi")] == [
        "Baseline", "1 month", "3 months", "6 months", "12 months"]
    assert not page.find("figure", data_score="odi").find_all("p")
    # Opioid use is recorded at every visit, whatever the questionnaires.
    assert len(rows("opioid_mme")) == 5

    verdicts = page.find("table", id="verdicts")
    heads = [th.text for th in verdicts.find("thead").find_all("th")][1:]
    assert heads == ["1 month", "3 months", "6 months", "12 months"]

    def cells(rule: str) -> list[str]:
        return [td.text for td in verdicts.find("tr", data_rule=rule).find_all("td")]

    nrs = cells("nrs_2pt")
    assert nrs[0] == nrs[2] == "Not asked at this time point"
    assert nrs[1] == "Responder"  # 8 → 4: 4 points better
    assert nrs[3].startswith("Not evaluable")  # asked, and missed
    # Any of the ODI and NRS rules: the ODI is asked at 1 month, so the verdict stands.
    assert "Not asked" not in " ".join(cells("primary"))
    assert not any("Not asked" in cell for cell in cells("odi_mcid_10pt"))


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


def test_the_subgroups_and_regressions_are_of_the_rules_of_the_primary_comparisons(
    results, study
):
    from outcomes.instruments.models import ResponderRule
    from patients.models import PrimaryComparison

    # The demo's primary comparisons: the ODI and the NRS rules at 12 months; only the
    # NRS has data here. The combined rule ``primary`` is in no primary comparison.
    assert {r["rule"] for r in results["subgroups"]} == {"nrs_2pt"}
    assert {r["rule"] for r in results["regressions"]} == {"nrs_2pt"}
    PrimaryComparison.objects.create(
        study=study, rule=ResponderRule.objects.get(study=study, code="nrs_30pct"),
        timepoint=study.timepoints.get(code="m3"), order=5)
    PrimaryComparison.objects.filter(study=study, rule__code="nrs_2pt").delete()
    data = _results_on(study, "2026-06-01")
    assert {r["rule"] for r in data["subgroups"]} == {"nrs_30pct"}
    assert {r["rule"] for r in data["regressions"]} == {"nrs_30pct"}
    assert data["primary_comparisons"] == [{"rule": "odi_mcid_10pt", "timepoint": "m12"},
                                           {"rule": "nrs_30pct", "timepoint": "m3"}]


def test_a_regression_is_not_fitted_on_too_few_events_and_says_so(results):
    fit = next(r for r in results["regressions"] if r["arm"] == "BMC"
               and r["timepoint"] == "m3" and r["rule"] == "nrs_2pt")
    assert fit["fitted"] is False and fit["terms"] == [] and fit["test"] == "wald"
    # T3's opioid dose is unknown, T4 is not evaluable: T1 and T2 remain, both responders.
    assert (fit["n"], fit["reason"]) == (2, "no variation: every patient responded")


@pytest.mark.parametrize("size", [4, 40])
def test_the_results_page_costs_the_same_queries_for_any_cohort(client, study, size,
                                                               django_assert_max_num_queries):
    from django.contrib.auth.models import User

    from patients.demo import load_demo

    load_demo(size=size)
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))
    # Measured: 28 statements on PostgreSQL (whole columns in one transaction: savepoint,
    # SET LOCAL, seven packed or aggregated reads), 25 on SQLite, at both sizes. Besides
    # the columns: the session, the user, the access guard's second-factor rule, the
    # study, its time points, arms, allocation, scheduled instruments, primary
    # comparisons, rules, patients no longer active, the names for the page (rules and
    # their parts, time points, arms: 4), and the idle-timeout session save. The MCID's
    # baseline answers (issue 17) are the one statement added (27 and 24 before); the
    # bound is unchanged.
    with django_assert_max_num_queries(29):
        page = client.get("/studies/BMC-LBP/results/")
    html = page.content.decode()
    # Charts: the 7 scores the schedule asks, opioid use, and the 2 rules of the primary
    # comparisons; and the flow diagram.
    assert page.status_code == 200 and html.count('class="chart"') == 10
    assert html.count("<svg") == 11 and html.count('class="flow-diagram"') == 1


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
