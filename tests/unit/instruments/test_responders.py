"""Responder rules (SPEC section 4): exact thresholds and three-valued combinations."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from outcomes.instruments.responders import (
    DEFAULT_RULES,
    Combinator,
    CombinedRule,
    Outcome,
    Verdict,
    combine,
    evaluate,
    evaluate_all,
)

RULES = {rule.code: rule for rule in DEFAULT_RULES}
R, N, X = Verdict.RESPONDER, Verdict.NON_RESPONDER, Verdict.NOT_EVALUABLE


def test_odi_24_to_14_is_exactly_ten_points_and_a_responder():
    # SPEC 3: in floating point 24 - 14 through percentages drifts to 9.999999999999998.
    baseline, followup = Fraction(100 * 12, 50), Fraction(100 * 7, 50)
    outcome = evaluate(RULES["odi_mcid_10pt"], baseline, followup)
    assert outcome == Outcome(R, "", Fraction(10))


def test_an_eq5d_gain_of_exactly_0_074_is_a_responder():
    outcome = evaluate(RULES["eq5d_uk_mid"], Decimal("0.516"), "0.590")
    assert outcome.verdict == R and outcome.change == Fraction("0.074")


def test_a_30_percent_decrease_at_exact_equality_is_a_responder():
    # Nine sections answered both times: 10/45 -> 7/45 points is exactly 30% lower.
    baseline, followup = Fraction(1000, 45), Fraction(700, 45)
    assert evaluate(RULES["odi_mcid_30pct"], baseline, followup).verdict == R
    assert evaluate(RULES["odi_mcid_30pct"], baseline, followup + Fraction(1, 10**9)).verdict == N


def test_nrs_two_points_is_a_responder_for_nrs_2pt_but_not_for_more_than_two():
    assert evaluate(RULES["nrs_2pt"], 7, 5).verdict == R
    assert evaluate(RULES["nrs_gt2pt"], 7, 5).verdict == N
    assert evaluate(RULES["nrs_gt2pt"], 7, 4).verdict == R


def test_worsening_is_a_non_responder_with_a_negative_change():
    outcome = evaluate(RULES["nrs_2pt"], 4, 6)
    assert outcome.verdict == N and outcome.change == -2


def test_increase_rules_count_a_rise_as_improvement():
    assert evaluate(RULES["gph_5t"], Fraction("37.4"), Fraction("42.3")).verdict == N
    assert evaluate(RULES["gph_5t"], Fraction("37.4"), Fraction("42.4")).verdict == R


@pytest.mark.parametrize(("baseline", "followup", "reason"), [
    (None, 3, "no NRS pain at baseline"),
    (5, None, "no NRS pain at this visit"),
])
def test_missing_scores_are_not_evaluable_with_a_reason(baseline, followup, reason):
    assert evaluate(RULES["nrs_2pt"], baseline, followup) == Outcome(X, reason)


def test_a_percent_rule_on_a_baseline_of_zero_is_not_evaluable():
    outcome = evaluate(RULES["nrs_30pct"], 0, 0)
    assert outcome.verdict == X and "was 0 at baseline" in outcome.reason


def test_floats_are_refused():
    with pytest.raises(TypeError):
        evaluate(RULES["nrs_2pt"], 7.0, 5)


@pytest.mark.parametrize(("parts", "any_", "all_"), [
    ((R, R), R, R), ((R, N), R, N), ((R, X), R, X), ((N, N), N, N), ((N, X), X, N),
    ((X, X), X, X),
])
def test_three_valued_any_and_all(parts, any_, all_):
    outcomes = [Outcome(v) for v in parts]
    assert combine(Combinator.ANY, outcomes).verdict == any_
    assert combine(Combinator.ALL, outcomes).verdict == all_


def test_the_primary_rule_is_odi_mcid_or_two_point_pain_reduction():
    baseline = {"odi": Fraction(40), "nrs": 7}
    only_pain = evaluate_all(DEFAULT_RULES, baseline, {"odi": Fraction(36), "nrs": 5})
    assert only_pain["odi_mcid_10pt"].verdict == N
    assert only_pain["primary"].verdict == R
    no_odi = evaluate_all(DEFAULT_RULES, baseline, {"nrs": 6})
    assert no_odi["primary"].verdict == X


def test_combinations_resolve_in_any_order_and_refuse_cycles():
    rules = (CombinedRule("b", Combinator.ALL, ("a",)), CombinedRule("a", Combinator.ANY, ("b",)))
    with pytest.raises(ValueError, match="includes itself"):
        evaluate_all(rules, {}, {})
    with pytest.raises(ValueError, match="unknown rule"):
        evaluate_all((CombinedRule("c", Combinator.ANY, ("zz",)),), {}, {})


def test_the_seeded_rules_are_the_ones_the_spec_lists():
    assert set(RULES) == {"odi_mcid_10pt", "odi_mcid_30pct", "odi_50pct", "nrs_2pt",
                          "nrs_gt2pt", "nrs_30pct", "nrs_50pct", "eq5d_uk_mid", "gph_5t",
                          "gmh_5t", "primary"}
    assert RULES["eq5d_uk_mid"].threshold == Fraction("0.074")


# SPEC 3.5, the seeded rules written out: (score, direction, kind, threshold) each, and
# the combination. Sources: Ostelo 2008 (ODI 10 points or 30%; NRS 2 points or 30%),
# IMMPACT (NRS 30% moderate, 50% substantial), Walters & Brazier 2005 (EQ-5D UK 0.074),
# Terwee 2021 (PROMIS T-scores, 5 seeded).
SEEDED = {
    "odi_mcid_10pt": ("odi", "decrease", "points", Fraction(10)),
    "odi_mcid_30pct": ("odi", "decrease", "percent", Fraction(30)),
    "odi_50pct": ("odi", "decrease", "percent", Fraction(50)),
    "nrs_2pt": ("nrs", "decrease", "points", Fraction(2)),
    "nrs_gt2pt": ("nrs", "decrease", "points", Fraction(3)),
    "nrs_30pct": ("nrs", "decrease", "percent", Fraction(30)),
    "nrs_50pct": ("nrs", "decrease", "percent", Fraction(50)),
    "eq5d_uk_mid": ("eq5d_index_uk", "increase", "points", Fraction("0.074")),
    "gph_5t": ("gph_t", "increase", "points", Fraction(5)),
    "gmh_5t": ("gmh_t", "increase", "points", Fraction(5)),
}


@pytest.mark.parametrize("code", sorted(SEEDED))
def test_each_seeded_rule_has_the_score_direction_kind_and_threshold_the_spec_gives(code):
    rule = RULES[code]
    assert (rule.score, rule.direction, rule.kind, rule.threshold) == SEEDED[code]


def test_the_seeded_combination_is_any_of_the_odi_mcid_and_two_pain_points():
    assert (RULES["primary"].combinator, RULES["primary"].parts) == (
        Combinator.ANY, ("odi_mcid_10pt", "nrs_2pt"))


@pytest.mark.parametrize("combinator", [Combinator.ALL, Combinator.ANY])
def test_a_combination_of_no_parts_is_not_evaluable(combinator):
    # all() over nothing is true in Python: a rule with no parts must not make everyone a
    # responder (nor, for any, a non-responder).
    outcome = combine(combinator, [])
    assert outcome.verdict == X and outcome.reason == "no parts"
def test_a_score_not_scorable_makes_its_rules_not_evaluable_with_the_reason():
    # SPEC 3.7: the 3-month ODI had two blank sections; the pain rating was scored.
    why = "2 sections unanswered; at most 1 allowed"
    outcomes = evaluate_all(DEFAULT_RULES, {"odi": Fraction(40), "nrs": 7}, {"nrs": 6},
                            followup_reasons={"odi": why, "odi_answered": why})
    assert outcomes["odi_mcid_10pt"].verdict == X
    assert outcomes["odi_mcid_10pt"].reason == f"ODI not scorable at this visit: {why}"
    assert outcomes["nrs_2pt"].verdict == N
    assert outcomes["primary"].verdict == X
    assert why in outcomes["primary"].reason
    at_baseline = evaluate_all(DEFAULT_RULES, {"nrs": 7}, {"odi": Fraction(20), "nrs": 6},
                               baseline_reasons={"odi": why})
    assert at_baseline["odi_50pct"].reason == f"ODI not scorable at baseline: {why}"
