"""The results page as a clinician reads it: summary, flow, Table 1, Table 2, charts.

The numbers a sentence or a cell states are recomputed here from the patients' raw
values with scipy, statsmodels and the statistics module, and compared with the page's
words; the page is read as a person reads it (element text), not as markup.
"""

from __future__ import annotations

import math
import statistics
from io import StringIO

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from scipy import stats as sps

from tests.htmltree import parse
from tests.integration.analysis.test_results import PATIENTS, responses

URL = "/studies/BMC-LBP/results/"
BMC = "Bone marrow concentrate + conventional care"
MINUS = "\u2212"


def fmt(value: float, decimals: int = 1) -> str:
    """SPEC 7's display: rounded, a real minus sign (written here, not the app's)."""
    text = f"{value:.{decimals}f}"
    return text.replace("-", MINUS) if float(text) != 0 else text.lstrip("-")


def signed(value: float, decimals: int = 1) -> str:
    text = fmt(value, decimals)
    return text if text.startswith(MINUS) or float(value) == 0 else f"+{text}"


def p_words(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


@pytest.fixture
def page(study, tmp_path, client):
    """The NRS cohort of ``test_results``, with the NRS rule at 3 months as the first
    primary comparison (the ODI rule at 12 months stays second, without data)."""
    from outcomes.instruments.models import ResponderRule
    from patients.models import PrimaryComparison

    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses())
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    PrimaryComparison.objects.filter(study=study, rule__code="nrs_2pt").delete()
    PrimaryComparison.objects.create(
        study=study, rule=ResponderRule.objects.get(study=study, code="nrs_2pt"),
        timepoint=study.timepoints.get(code="m3"), order=0)
    PrimaryComparison.objects.filter(study=study, rule__code="odi_mcid_10pt").update(order=1)
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))

    def get():
        reply = client.get(URL)
        assert reply.status_code == 200
        return parse(reply.content)

    return get


def _nrs_m3():
    """The cohort's NRS at baseline and 3 months (``test_results.NRS``), by arm."""
    from tests.integration.analysis.test_results import NRS

    def pairs(prefix):
        return [(b, m) for code, (b, m) in NRS.items() if code.startswith(prefix)
                and b is not None and m is not None]

    return pairs("T"), pairs("C")


def test_the_summary_states_each_primary_comparison_as_an_abstract_would(page):
    from statsmodels.stats.proportion import confint_proportions_2indep

    tree = page()
    summary = tree.find("section", id="summary")
    (item,) = summary.find_all("li", data_rule="nrs_2pt", data_timepoint="m3")
    # nrs_2pt at 3 months, complete case: BMC T1 (-4) and T2 (-2) of T1-T3; CONTROL C2
    # (-2) of C1-C2. Newcombe's interval by statsmodels, Fisher's p by scipy.
    low, high = confint_proportions_2indep(2, 3, 1, 2, method="newcomb", compare="diff")
    fisher = sps.fisher_exact([[2, 1], [1, 1]]).pvalue
    assert item.find("p", cls="summary-sentence").text == (
        f"NRS pain improved by 2 points or more at 3 months: 67% (2 of 3) with {BMC} vs "
        f"50% (1 of 2) with Conventional care; difference {fmt(100 * (2 / 3 - 1 / 2), 0)} "
        f"percentage points (95% CI {fmt(100 * low, 0)} to {fmt(100 * high, 0)}); "
        f"Fisher's exact {p_words(fisher)}.")
    # Intention to treat: every window has closed, all four and all three are due.
    assert "Intention to treat (missing counted as non-response): 50% (2 of 4) vs 33% " \
           "(1 of 3)." in item.text
    # The ODI rule at 12 months has no patient evaluable: no difference is made up.
    (odi,) = summary.find_all("li", data_rule="odi_mcid_10pt", data_timepoint="m12")
    assert "— (0 of 0) with" in odi.text and "no difference can be estimated" in odi.text
    notes = summary.find("p", cls="summary-multiplicity").text
    assert "reference arm, Conventional care" in notes
    assert "unadjusted and exploratory" in notes and "2 primary comparisons" in notes


def test_the_summary_gives_the_primary_scores_change_with_welch_and_ancova(page):
    import statsmodels.api as sm
    from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

    (change,) = page().find("section", id="summary").find_all(
        "li", cls="summary-change", data_score="nrs", data_timepoint="m3")
    bmc, control = _nrs_m3()
    mine, theirs = [m - b for b, m in bmc], [m - b for b, m in control]
    low, high = CompareMeans(DescrStatsW(mine), DescrStatsW(theirs)).tconfint_diff(
        usevar="unequal")
    welch = sps.ttest_ind(mine, theirs, equal_var=False).pvalue
    base = [b for b, _ in bmc + control]
    after = [m for _, m in bmc + control]
    fit = sm.OLS(after, sm.add_constant(np.column_stack(
        [[1] * len(bmc) + [0] * len(control), base]))).fit()
    a_low, a_high = fit.conf_int()[1]
    assert change.text == (
        f"NRS pain (0-10, lower is better) at 3 months, change from baseline: "
        f"{signed(statistics.fmean(mine))} (n 3) with {BMC} vs "
        f"{signed(statistics.fmean(theirs))} (n 2) with Conventional care; difference in "
        f"mean change {signed(statistics.fmean(mine) - statistics.fmean(theirs))} (95% CI "
        f"{fmt(low)} to {fmt(high)}), Welch's t-test {p_words(welch)}; adjusted for "
        f"baseline (ANCOVA) {signed(fit.params[1])} (95% CI {fmt(a_low)} to "
        f"{fmt(a_high)}), {p_words(fit.pvalues[1])}.")


def test_a_study_without_primary_comparisons_says_every_p_value_is_exploratory(page, study):
    from patients.models import PrimaryComparison

    PrimaryComparison.objects.filter(study=study).delete()
    summary = page().find("section", id="summary")
    assert summary.find_all("li", cls="summary-item") == []
    assert "named no primary comparison: every p-value on this page is unadjusted" in (
        summary.text)


def test_every_other_arm_is_stated_against_the_reference_in_a_three_arm_study(page, study):
    from patients.models import Arm, Enrolment, Patient, Site

    saline = Arm.objects.create(study=study, code="SALINE", name="Saline injection", order=2)
    patient = Patient.objects.create(study=study, code="S1", sex="male", age_at_enrolment=50)
    Enrolment.objects.create(study=study, patient=patient, arm=saline,
                             site=Site.objects.get(code="MAIN"),
                             enrolled_date="2025-01-06", index_date="2025-01-13")
    tree = page()
    items = tree.find("section", id="summary").find_all("li", data_rule="nrs_2pt")
    assert [i.attrs["data-arm"] for i in items] == ["BMC", "SALINE"]
    assert "with Saline injection vs" in items[1].text and "with Conventional care" in (
        items[1].text)
    row = tree.find("table", id="outcomes-responders").find(
        "tr", data_rule="nrs_2pt", data_timepoint="m3")
    assert f"{BMC}: " in row.text and "Saline injection: " in row.text


def test_table_1_describes_each_arm_at_baseline(page):
    table = page().find("table", id="baseline-characteristics")
    head = [th.text for th in table.find("thead").find_all("th")]
    assert head == ["Characteristic", f"{BMC} 4 patients", "Conventional care 3 patients"]
    rows = {tr.find("th").text: [td.text for td in tr.find_all("td")]
            for tr in table.find("tbody").find_all("tr")}
    ages = [60, 55, 70, 45]
    assert rows["Age, years: mean (SD)"][0] == (
        f"{fmt(statistics.fmean(ages))} ({fmt(statistics.stdev(ages))})")
    assert rows["Female"] == ["2 (50%)", "2 (67%)"] and rows["Male"] == ["2 (50%)", "1 (33%)"]
    bmi = [26.0, 33.0, 22.0]
    assert rows["BMI, kg/m²: mean (SD)"][1] == (
        f"{fmt(statistics.fmean(bmi))} ({fmt(statistics.stdev(bmi))})")
    # Opioids: T1 30, T2 none (0), T3 unknown, T4 60 MME/day.
    assert rows["Taking opioids at baseline: n (%)"][0] == "2 (67%) dose not known: 1"
    q1, median, q3 = statistics.quantiles([30.0, 60.0], n=4, method="inclusive")
    assert rows["Dose among those taking opioids, MME/day: median (IQR)"][0] == (
        f"{fmt(median)} ({fmt(q1)} to {fmt(q3)})")
    assert rows["NRS pain (0-10, lower is better)"] == ["7.0 (1.0) 3 of 4 answered",
                                                         "7.0 (1.0) 3 of 3 answered"]
    assert rows["ODI (0-100, lower is better)"] == ["— 0 of 4 answered", "— 0 of 3 answered"]


def test_table_2_puts_the_primary_rows_first_marks_them_and_names_each_test(page):
    from statsmodels.stats.proportion import proportion_confint

    tree = page()
    responders = tree.find("table", id="outcomes-responders")
    groups = responders.find_all("tbody")
    # The rules of the primary comparisons first, in the study's order; then the rest.
    assert [g.find("th").text for g in groups[:3]] == [
        "NRS pain improved by 2 points or more", "ODI improved by 10 points or more",
        "ODI improved by 30% or more"]
    primary = [(tr.attrs["data-rule"], tr.attrs["data-timepoint"])
               for tr in responders.find_all("tr", cls="primary")]
    assert primary == [("nrs_2pt", "m3"), ("odi_mcid_10pt", "m12")]
    row = responders.find("tr", data_rule="nrs_2pt", data_timepoint="m3")
    assert "Primary" in row.find("th").text
    cells = [td.text for td in row.find_all("td")]
    low, high = proportion_confint(2, 3, method="wilson")
    assert cells[0] == f"67% (2 of 3) 95% CI {fmt(100 * low, 0)} to {fmt(100 * high, 0)}%"
    assert cells[1] == "50% (2 of 4)"  # intention to treat: every visit is due
    assert cells[4].endswith(f"{p_words(sps.fisher_exact([[2, 1], [1, 1]]).pvalue)}, "
                             "Fisher's exact test")
    scores = tree.find("table", id="outcomes-scores")
    assert scores.find_all("tbody")[0].find("th").text.startswith("NRS pain")  # primary's
    nrs = [td.text for td in scores.find("tr", data_score="nrs", data_timepoint="m3")
           .find_all("td")]
    bmc, _ = _nrs_m3()
    mine = [m - b for b, m in bmc]
    half = sps.t.ppf(0.975, 2) * statistics.stdev(mine) / math.sqrt(3)
    assert nrs[1] == (f"{signed(statistics.fmean(mine))} ({fmt(statistics.fmean(mine) - half)}"
                      f" to {fmt(statistics.fmean(mine) + half)}) n 3")
    assert "Welch's t-test" in nrs[4] and nrs[5].endswith(", ANCOVA")
    # People words: the rule and score codes are attributes, never text.
    assert "nrs_2pt" not in tree.find("section", id="table-2").text
    assert "odi_mcid_10pt" not in tree.find("section", id="summary").text


def test_the_flow_diagram_draws_each_time_point_and_who_left_with_reasons(page, study):
    import time_machine

    from patients.models import Enrolment
    from patients.services import set_enrolment_status

    for code, status, reason in (("C3", "withdrawn", "moved away"),
                                 ("C2", "withdrawn", "moved away"),
                                 ("T3", "paused", "in hospital")):
        set_enrolment_status(enrolment=Enrolment.objects.get(patient__code=code),
                             status=status, reason=reason, actor=None)
    # 20 April 2025: the 3-month window (13 April +- 14 days) is open; C3 has no form.
    with time_machine.travel("2025-04-20 12:00Z", tick=False):
        tree = page()
    section = tree.find("section", id="flow-of-patients")
    svg = section.find("svg")
    assert svg.attrs["role"] == "img" and svg.attrs["aria-labelledby"] == "flow-title flow-desc"
    assert svg.find("title").text == "Flow of patients through the study"
    assert svg.find("desc").text.startswith("7 patients enrolled; 4 allocated to")
    texts = [t.text for t in svg.find_all("text")]
    assert "Enrolled: 7 patients" in texts
    assert "3 months: 2 with data, 0 missed" in texts  # CONTROL: C1, C2; C3 pending
    assert "1 not yet due" in texts and "3 months: 4 with data, 0 missed" in texts
    assert "No longer active: 2" in texts and "Withdrawn: moved away (2)" in texts
    assert "Paused: in hospital (1)" in texts
    table = section.find("details").find("table", id="flow")
    control = next(tr for tr in table.find_all("tr") if tr.find("th").text ==
                   "Conventional care")
    assert "2 / 0 / 1" in [td.text for td in control.find_all("td")]


def test_the_long_tables_are_collapsed_and_say_how_many_rows_they_hold(page):
    from outcomes.analysis.results import study_results
    from patients.models import Study

    results = study_results(Study.objects.get(code="BMC-LBP"))
    tree = page()
    details = tree.find("section", id="all-tables").find_all("details")
    summaries = {d.find("table").attrs["id"]: d.find("summary").text for d in details}
    assert all("open" not in d.attrs for d in details)
    assert summaries["responders"] == f"All responder rules ({len(results['responders'])} rows)"
    assert f"({len(results['scores'])} rows)" in summaries["scores"]
    assert summaries["comparisons"].startswith("Between arms: every comparison")
    assert f"({len(results['comparisons'])} rows)" in summaries["comparisons"]
    assert f"({len(results['subgroups'])} rows)" in summaries["subgroups"]
    assert f"({len(results['regressions'])} fits" in summaries["regressions"]
    # People words in the subgroups too: factors and levels, not their codes.
    cells = [[td.text for td in tr.find_all("td")]
             for tr in tree.find("table", id="subgroups").find("tbody").find_all("tr")]
    factors = {row[3] for row in cells}
    assert factors == {"Age group (years)", "Sex", "BMI class (kg/m²)",
                       "Opioid use at baseline"}
    assert {row[4] for row in cells if row[3] == "Opioid use at baseline"} <= {
        "None", "Any", "Not known"}
    assert {row[4] for row in cells if row[3] == "Sex"} == {"Female", "Male"}
    # Every chart's numbers, and the flow's, are in a table too, collapsed.
    for figure in tree.find("section", id="charts").find_all("figure"):
        assert figure.find("details").find("table")


def test_a_chart_draws_the_mcid_line_from_the_pooled_baseline_mean(page):
    tree = page()
    figure = next(f for f in tree.find("section", id="charts").find_all("figure")
                  if f.find("figcaption").text.startswith("NRS pain"))
    # Baseline NRS: BMC 8, 7, 6 and CONTROL 7, 8, 6: mean 7.0 of 6; the first points rule
    # of a primary comparison on the NRS is nrs_2pt (2 points): the line at 5.0.
    pooled = statistics.fmean([8, 7, 6, 7, 8, 6])
    assert figure.find("p").text == (
        f"Dashed line: the mean at baseline of every arm ({fmt(pooled)}, n 6) minus the 2 "
        f"of the rule \u201cNRS pain improved by 2 points or more\u201d: {fmt(pooled - 2)}.")
    svg = figure.find("svg")
    texts = [t.text for t in svg.find_all("text")]
    assert f"MCID: the baseline mean {MINUS} 2" in texts
    assert {BMC, "Conventional care"} <= set(texts)  # the legend names the arms
    assert "Mean NRS pain (lower is better)" in texts  # the y axis: score and direction
    dashed = [line for line in svg.find_all("line")
              if line.attrs.get("stroke-dasharray") == "7 5"]
    assert len(dashed) == 2  # the legend's sample and the line on the plot
