"""People words and one number format (SPEC 7), checked against SPEC's own examples."""

from __future__ import annotations

from fractions import Fraction

import pytest

from outcomes.analysis import wording


def test_score_titles_say_the_range_and_which_way_is_better():
    # SPEC 7's example, word for word.
    assert wording.score_title("odi") == "ODI (0-100, lower is better)"
    assert wording.score_title("eq5d_index_uk") == (
        "EQ-5D index (UK) (\u22120.594 to 1, higher is better)")
    assert wording.score_title("opioid_mme") == "Opioid use (MME/day) (lower is better)"


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (20.43347735042735, 1, "20.4"), (58.85217435897436, 1, "58.9"),  # PROMIS-29 summaries
    (100.0, 1, "100"), (0.0, 1, "0"), (-0.594, 3, "\u22120.594"), (1.0, 3, "1"),
    (10.0, 0, "10"), (-0.04, 1, "0"), (22.5, 1, "22.5"),
])
def test_a_range_end_is_shown_at_the_scores_decimals(value, decimals, text):
    assert wording._bound(value, decimals) == text


@pytest.mark.parametrize(("rule", "label"), [
    # SPEC 7: "ODI improved by 10 points or more".
    ({"score": "odi", "direction": "decrease", "kind": "points", "threshold": "10.000000"},
     "ODI improved by 10 points or more"),
    ({"score": "odi", "direction": "decrease", "kind": "percent", "threshold": "30"},
     "ODI improved by 30% or more"),
    ({"score": "nrs", "direction": "decrease", "kind": "points", "threshold": "1"},
     "NRS pain improved by 1 point or more"),
    ({"score": "eq5d_index_uk", "direction": "increase", "kind": "points",
      "threshold": "0.074000"}, "EQ-5D index (UK) improved by 0.074 or more"),
    ({"score": "gmh_t", "direction": "increase", "kind": "points", "threshold": "5"},
     "PROMIS mental health (T-score) improved by 5 points or more"),
    # Against the score's grain, the words say what happened, not "improved".
    ({"score": "gph_t", "direction": "decrease", "kind": "points", "threshold": "5"},
     "PROMIS physical health (T-score) fell by 5 points or more"),
])
def test_a_rule_reads_as_a_sentence(rule, label):
    assert wording.simple_rule_label(**rule) == label


def test_combinations_name_their_parts_and_nest():
    rules = [
        {"code": "a", "score": "odi", "direction": "decrease", "kind": "points",
         "threshold": 10, "parts": []},
        {"code": "b", "score": "nrs", "direction": "decrease", "kind": "points",
         "threshold": 2, "parts": []},
        {"code": "both", "score": "", "direction": "", "kind": "all", "threshold": None,
         "parts": ["a", "b"]},
        {"code": "outer", "score": "", "direction": "", "kind": "any", "threshold": None,
         "parts": ["both", "a", "b"]},
    ]
    labels = wording.rule_labels(rules)
    assert labels["both"] == ("Both: ODI improved by 10 points or more and NRS pain improved "
                              "by 2 points or more")
    assert labels["outer"].startswith("Any of: Both: ODI")


@pytest.mark.parametrize(("key", "value", "shown"), [
    ("odi", Fraction(124, 3), "41.3"),  # never a raw fraction (issue 14: "124/3")
    ("odi", 32, "32.0"),
    ("eq5d_index_uk", -0.5943, "\u22120.594"),
    ("nrs", None, "—"),
    ("odi", -0.04, "0.0"),  # never "-0.0"
])
def test_scores_at_their_display_precision(key, value, shown):
    assert wording.score_value(key, value) == shown


def test_changes_carry_their_sign():
    assert wording.score_change("odi", -12.5) == "\u221212.5"
    assert wording.score_change("odi", 3) == "+3.0"
    assert wording.score_change("odi", 0) == "0.0"
    assert wording.score_change("eq5d_index_uk", Fraction(74, 1000)) == "+0.074"


def test_p_values_to_three_decimals_and_below_one_in_a_thousand():
    assert wording.p_value(0.0000012) == "<0.001"
    assert wording.p_value(0.001) == "0.001"
    assert wording.p_value(0.04449) == "0.044"
    assert wording.p_value(None) == "—"


def test_a_primary_comparison_reads_as_a_papers_abstract_states_it():
    from scipy.stats import fisher_exact
    from statsmodels.stats.proportion import confint_proportions_2indep

    # The example: the paper's 67% (24 of 36) against 8% (3 of 38), with the
    # Newcombe interval (statsmodels, method 10) and Fisher's p (scipy) of those counts.
    low, high = confint_proportions_2indep(24, 36, 3, 38, method="newcomb", compare="diff")
    row = {"responders": 24, "evaluable": 36, "reference_responders": 3,
           "reference_evaluable": 38, "difference": 100 * (24 / 36 - 3 / 38),
           "difference_ci_low": 100 * low, "difference_ci_high": 100 * high,
           "p_value": fisher_exact([[24, 12], [3, 35]]).pvalue}
    assert wording.proportion_sentence(
        rule="ODI improved by 10 points or more", timepoint="12 months", arm="BMC",
        reference="conventional care", row=row) == (
        "ODI improved by 10 points or more at 12 months: 67% (24 of 36) with BMC vs 8% "
        "(3 of 38) with conventional care; difference 59 percentage points (95% CI 38 to "
        "73); Fisher's exact p<0.001.")
    row.update(responders=1, evaluable=9, reference_responders=4, reference_evaluable=10,
               difference=100 * (1 / 9 - 4 / 10), difference_ci_low=-62.2,
               difference_ci_high=8.4, p_value=0.0413)
    assert wording.proportion_sentence(rule="R", timepoint="3 months", arm="A",
                                       reference="B", row=row).endswith(
        "11% (1 of 9) with A vs 40% (4 of 10) with B; difference \u221229 percentage points "
        "(95% CI \u221262 to 8); Fisher's exact p=0.041.")


def test_a_comparison_without_patients_in_an_arm_gives_no_difference():
    row = {"responders": 0, "evaluable": 0, "reference_responders": 1,
           "reference_evaluable": 2, "difference": None, "difference_ci_low": None,
           "difference_ci_high": None, "p_value": None}
    assert wording.proportion_sentence(rule="R", timepoint="12 months", arm="A",
                                       reference="B", row=row) == (
        "R at 12 months: — (0 of 0) with A vs 50% (1 of 2) with B; no difference can be "
        "estimated until both arms have a patient evaluable.")


def test_the_headline_change_names_each_estimate_and_its_test():
    row = {"difference": -16.94, "difference_ci_low": -22.04, "difference_ci_high": -11.81,
           "p_value": 0.00002, "adjusted_difference": -17.0, "adjusted_ci_low": -21.93,
           "adjusted_ci_high": -12.06, "adjusted_p_value": 0.0123}
    text = wording.change_sentence(
        score="odi", timepoint="12 months", arm="BMC", reference="conventional care",
        row=row, arm_change={"change_n": 30, "change_mean": -20.14},
        reference_change={"change_n": 32, "change_mean": -3.2})
    assert text == (
        "ODI (0-100, lower is better) at 12 months, change from baseline: \u221220.1 (n 30) "
        "with BMC vs \u22123.2 (n 32) with conventional care; difference in mean change "
        "\u221216.9 (95% CI \u221222.0 to \u221211.8), Welch's t-test p<0.001; adjusted for "
        "baseline (ANCOVA) \u221217.0 (95% CI \u221221.9 to \u221212.1), p=0.012.")
    one = wording.change_sentence(
        score="nrs", timepoint="12 months", arm="A", reference="B",
        row={"difference": None}, arm_change={"change_n": 0},
        reference_change={"change_n": 1, "change_mean": 1.0})
    assert one == ("NRS pain (0-10, lower is better) at 12 months, change from baseline: no "
                   "patient with both values yet with A vs +1.0 (n 1) with B.")


def test_intervals_thresholds_and_p_values_read_as_sentences_write_them():
    assert wording.interval(-0.5, 2.25, 1) == "\u22120.5 to 2.2" or wording.interval(
        -0.5, 2.25, 1) == "\u22120.5 to 2.3"
    assert wording.interval(None, 3) == ""
    assert wording.interval(41.2, 72.6, 0, "%") == "41% to 73%"
    assert (wording.p_is(0.0004), wording.p_is(0.05), wording.p_is(1.0)) == (
        "p<0.001", "p=0.050", "p=1.000")
    assert wording.threshold("10.000000") == "10" and wording.threshold("0.074000") == "0.074"
    assert wording.proportion(2, 3) == "67% (2 of 3)" and wording.proportion(0, 0) == (
        "— (0 of 0)")


def _mcid_row(**changes):
    row = {"anchor": "nrs", "anchor_label": "much improved or better", "anchor_answered": 40,
           "anchor_improved": 16, "anchor_n": 14, "anchor_mean_change": -12.04,
           "anchor_ci_low": -15.06, "anchor_ci_high": -8.94, "baseline_n": 38,
           "baseline_sd": 17.46, "half_sd": 8.73, "items": 10, "alpha": 0.8712,
           "alpha_n": 35, "sem": 6.266}
    return {**row, **changes}


def test_the_mcid_estimates_read_in_the_pages_one_format():
    from outcomes.analysis import wording

    assert wording.anchor_estimate("odi", "3 months", _mcid_row()) == (
        "3 months: −12.0 (95% CI −15.1 to −8.9), n 14 (16 of 40 patients rated themselves "
        "much improved or better on the NRS pain).")
    assert wording.anchor_estimate("odi", "3 months", _mcid_row(
        anchor_n=1, anchor_ci_low=None, anchor_ci_high=None)).startswith(
        "3 months: −12.0 (one patient: no CI), n 1 ")
    assert wording.half_sd_text("odi", _mcid_row()) == "8.7 (SD 17.5, n 38)"
    assert wording.sem_text("odi", _mcid_row()) == "6.3 (Cronbach's α 0.87, n 35)"
    assert wording.sem_text("nrs", _mcid_row(items=1, alpha=None, sem=None)).startswith(
        "Not estimable: the score is one question")
    assert wording.sem_text("odi", _mcid_row(alpha_n=1, alpha=None, sem=None)) == (
        "Not estimable yet: only 1 patient answered every question of the score at "
        "baseline; Cronbach's α needs 2 or more.")
