"""People words and one number format for every page (SPEC 7). Pure: no Django.

Codes stay in files, URLs and data attributes; a person reads labels: "ODI (0-100,
lower is better)", "ODI improved by 10 points or more", "Welch's t-test", "3 months".
Numbers are rounded for display the same way everywhere: each score to its own
precision (1 decimal; the EQ-5D index to 3), p-values to 3 with "<0.001", never a
raw fraction. A change is always later minus baseline, with its sign written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from fractions import Fraction

from outcomes.instruments.definitions import SCORE_SPECS, ScoreSpec

#: A study-level measure that is not an instrument's score.
OPIOID = ScoreSpec("opioid_mme", "Opioid use (MME/day)", 0, None, "lower_is_better")


VERDICTS = {
    "responder": "Responder",
    "non_responder": "Non-responder",
    "not_evaluable": "Not evaluable",
    "not_yet_due": "Not yet due",
    "lost": "Lost (responder earlier)",
    "not_asked": "Not asked at this time point",
}

TESTS = {
    "fisher": "Fisher's exact test",
    "welch_t": "Welch's t-test",
    "mann_whitney": "Mann-Whitney U test",
    "mann_whitney_exact": "Mann-Whitney U test (exact)",
    "mann_whitney_normal": "Mann-Whitney U test (normal approximation)",
    "wald": "Wald test",
    "ancova": "ANCOVA on baseline (t-test)",
}

#: The subgroups' factors (``covariates.subgroups_of``) and the levels that are codes.
FACTORS = {
    "age": "Age group (years)",
    "sex": "Sex",
    "bmi": "BMI class (kg/m²)",
    "opioid": "Opioid use at baseline",
}
LEVELS = {"none": "None", "any": "Any", "unknown": "Not known"}

#: The logistic regressions' terms (``covariates.TERMS``).
TERMS = {
    "age": "Age (per year)",
    "male": "Male sex",
    "bmi": "BMI (per kg/m²)",
    "opioid_any": "Any opioid use at baseline",
}

COMBINATORS = ("any", "all")
MINUS = "\u2212"  # a real minus sign: the same width as +, read as "minus"


def spec_of(key: str) -> ScoreSpec:
    """Return the score's spec; an unknown key reads as itself, to one decimal."""
    if key == OPIOID.key:
        return OPIOID
    # The registry's own view, read now: it holds every instrument registered since
    # this module was imported (a stored definition, once read: instruments.stored).
    return SCORE_SPECS.get(key) or ScoreSpec(key, key, None, None, "lower_is_better")


def _bound(value: float, decimals: int) -> str:
    """A range's end as the score is shown: at most its decimals (a summary score's
    20.43347... reads 20.4), no trailing zeros (0-100, not 0.0-100.0)."""
    text = f"{round(value, decimals):.{decimals}f}"
    if decimals:
        text = text.rstrip("0").rstrip(".")
    if float(text) == 0:
        text = text.lstrip("-")
    return text.replace("-", MINUS)


def score_title(key: str) -> str:
    """Return "ODI (0-100, lower is better)": name, range and which way is better."""
    spec = spec_of(key)
    better = "lower is better" if spec.lower_is_better else "higher is better"
    if spec.low is not None and spec.high is not None:
        low, high = _bound(spec.low, spec.decimals), _bound(spec.high, spec.decimals)
        joined = f"{low}-{high}" if spec.low >= 0 else f"{low} to {high}"
        return f"{spec.label} ({joined}, {better})"
    return f"{spec.label} ({better})"


def number(value: float | Fraction | Decimal | int | None, decimals: int = 1) -> str:
    """Return ``value`` rounded to ``decimals`` ("—" for none), with a real minus sign."""
    if value is None:
        return "—"
    text = f"{float(value):.{decimals}f}"
    if float(text) == 0:
        text = text.lstrip("-")  # never "-0.0"
    return text.replace("-", MINUS)


def score_value(key: str, value) -> str:
    """Return a score as the pages show it, at that score's precision."""
    return number(value, spec_of(key).decimals)


def signed(value, decimals: int = 1) -> str:
    """Return a change with its sign written: "+3.0", "−12.5", "0.0"."""
    if value is None:
        return "—"
    text = number(value, decimals)
    if text.startswith(MINUS) or text == number(0, decimals):
        return text
    return f"+{text}"


def score_change(key: str, value) -> str:
    """Return a change (later minus baseline) of a score at that score's precision."""
    return signed(value, spec_of(key).decimals)


def p_value(p: float | None) -> str:
    """Return a p-value to 3 decimals, "<0.001" below that."""
    if p is None:
        return "—"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def percent(value: float | None, decimals: int = 0) -> str:
    return "—" if value is None else f"{number(value, decimals)}%"


def interval(low, high, decimals: int = 1, unit: str = "") -> str:
    """Return a confidence interval as "41 to 72" ("" when it cannot be given)."""
    if low is None or high is None:
        return ""
    return f"{number(low, decimals)}{unit} to {number(high, decimals)}{unit}"


def p_is(p: float | None) -> str:
    """Return "p<0.001" or "p=0.034", as a sentence writes a p-value."""
    text = p_value(p)
    return f"p{text}" if text.startswith("<") else f"p={text}"


def proportion(k: int, n: int) -> str:
    """Return "67% (24 of 36)": a whole percent and its counts ("— (0 of 0)" for none)."""
    return f"{percent(100 * k / n if n else None)} ({k} of {n})"


def better_side(key: str) -> str:
    """Return which way a change improves: "a fall is an improvement" or "a rise ..."."""
    return ("a fall is an improvement" if spec_of(key).lower_is_better
            else "a rise is an improvement")


def proportion_sentence(*, rule: str, timepoint: str, arm: str, reference: str,
                        row: Mapping) -> str:
    """Return a primary comparison as an abstract states it.

    "ODI improved by 10 points or more at 12 months: 67% (24 of 36) with BMC vs 8%
    (3 of 38) with conventional care; difference 59 percentage points (95% CI 41 to
    72); Fisher's exact p<0.001." ``row`` is the comparison's row of the results
    (complete case). Where an arm has no patient evaluable yet, the sentence says so
    instead of giving a difference.
    """
    counts = (f"{proportion(row['responders'], row['evaluable'])} with {arm} vs "
              f"{proportion(row['reference_responders'], row['reference_evaluable'])} "
              f"with {reference}")
    head = f"{rule} at {timepoint}: {counts}"
    if not row["evaluable"] or not row["reference_evaluable"]:
        return f"{head}; no difference can be estimated until both arms have a patient " \
               "evaluable."
    difference = f"difference {number(row['difference'], 0)} percentage points"
    ci = interval(row["difference_ci_low"], row["difference_ci_high"], 0)
    if ci:
        difference += f" (95% CI {ci})"
    return f"{head}; {difference}; Fisher's exact {p_is(row['p_value'])}."


def change_sentence(*, score: str, timepoint: str, arm: str, reference: str,
                    row: Mapping, arm_change: Mapping, reference_change: Mapping) -> str:
    """Return the headline change of a score, arm against reference, in one sentence.

    "ODI (0-100, lower is better) at 12 months, change from baseline: −20.1 (n 30)
    with BMC vs −3.2 (n 32) with conventional care; difference in mean change −16.9
    (95% CI −22.0 to −11.8), Welch's t-test p<0.001; adjusted for baseline (ANCOVA)
    −17.0 (95% CI −21.9 to −12.1), p<0.001." ``row`` is the Welch comparison row;
    ``arm_change`` and ``reference_change`` the arms' score rows at that time point.
    """
    decimals = spec_of(score).decimals

    def change(entry: Mapping) -> str:
        if not entry.get("change_n"):
            return "no patient with both values yet"
        return f"{score_change(score, entry['change_mean'])} (n {entry['change_n']})"

    head = (f"{score_title(score)} at {timepoint}, change from baseline: "
            f"{change(arm_change)} with {arm} vs {change(reference_change)} with {reference}")
    if row.get("difference") is None:
        return f"{head}."
    parts = [f"difference in mean change {signed(row['difference'], decimals)}"]
    ci = interval(row["difference_ci_low"], row["difference_ci_high"], decimals)
    if ci:
        parts[0] += f" (95% CI {ci})"
    if row.get("p_value") is not None:
        parts[0] += f", Welch's t-test {p_is(row['p_value'])}"
    if row.get("adjusted_difference") is not None:
        adjusted = f"adjusted for baseline (ANCOVA) {signed(row['adjusted_difference'], decimals)}"
        ci = interval(row["adjusted_ci_low"], row["adjusted_ci_high"], decimals)
        if ci:
            adjusted += f" (95% CI {ci})"
        if row.get("adjusted_p_value") is not None:
            adjusted += f", {p_is(row['adjusted_p_value'])}"
        parts.append(adjusted)
    return f"{head}; " + "; ".join(parts) + "."


def short_label(key: str) -> str:
    """Return a score's name without its range: "PGIC rating"."""
    return spec_of(key).label.split(" (")[0]


def anchor_estimate(score: str, timepoint: str, row: Mapping) -> str:
    """Return one follow-up's anchor-based MCID (a row of ``mcid_estimates``) in words.

    "3 months: −12.0 (95% CI −15.1 to −8.9), n 14 (16 of 40 patients rated themselves
    much improved or better on the PGIC rating)."
    """
    rated = (f"{row['anchor_improved']} of {row['anchor_answered']} patients rated "
             f"themselves {row['anchor_label']} on the {short_label(row['anchor'])}")
    if not row["anchor_n"]:
        return (f"{timepoint}: no estimate yet ({rated}; none of them has this score both "
                "at baseline and then).")
    ci = interval(row["anchor_ci_low"], row["anchor_ci_high"], spec_of(score).decimals)
    estimate = score_change(score, row["anchor_mean_change"])
    estimate += f" (95% CI {ci})" if ci else " (one patient: no CI)"
    return f"{timepoint}: {estimate}, n {row['anchor_n']} ({rated})."


def half_sd_text(score: str, row: Mapping) -> str:
    """Return half the baseline SD with the SD and its n: "8.7 (SD 17.5, n 6)"."""
    if row["baseline_sd"] is None:
        return "Not estimable yet: fewer than 2 patients have a baseline score."
    decimals = spec_of(score).decimals
    return (f"{number(row['half_sd'], decimals)} (SD {number(row['baseline_sd'], decimals)}, "
            f"n {row['baseline_n']})")


def sem_text(score: str, row: Mapping) -> str:
    """Return the SEM with Cronbach's alpha and its n, or why it cannot be given."""
    if row["sem"] is not None:
        return (f"{number(row['sem'], spec_of(score).decimals)} "
                f"(Cronbach's α {number(row['alpha'], 2)}, n {row['alpha_n']})")
    if row["items"] < 2:
        return ("Not estimable: the score is one question, and one question has no "
                "Cronbach's α (it needs two or more).")
    if row["alpha_n"] < 2:
        who = "only 1 patient" if row["alpha_n"] else "no patient"
        return (f"Not estimable yet: {who} answered every question of the score at "
                "baseline; Cronbach's α needs 2 or more.")
    if row["baseline_sd"] is None:
        return "Not estimable yet: fewer than 2 patients have a baseline score."
    if row["alpha"] is not None and row["alpha"] <= 0:
        return (f"Not estimable: Cronbach's α is {number(row['alpha'], 2)} (n "
                f"{row['alpha_n']}), 0 or below, so the questions do not measure one thing "
                "in these patients.")
    return "Not estimable: the baseline totals do not vary, so Cronbach's α is undefined."


def _threshold(value) -> str:
    exact = Fraction(str(value)) if not isinstance(value, Fraction) else value
    if exact.denominator == 1:
        return str(exact.numerator)
    return format(Decimal(str(value)).normalize(), "f")


def threshold(value) -> str:
    """Return a rule's threshold as its rule states it: "10", "0.074", never "10.000000"."""
    return _threshold(value)


def simple_rule_label(*, score: str, direction: str, kind: str, threshold) -> str:
    """Return "ODI improved by 10 points or more" (or "rose", "fell" against the grain)."""
    spec = spec_of(score)
    improves = (direction == "decrease") == spec.lower_is_better
    verb = "improved" if improves else ("fell" if direction == "decrease" else "rose")
    amount = _threshold(threshold)
    if kind == "percent":
        size = f"{amount}%"
    elif spec.decimals >= 2:
        size = amount  # an index has no "points"
    else:
        size = f"{amount} point{'' if amount == '1' else 's'}"
    return f"{spec.label} {verb} by {size} or more"


def combined_rule_label(combinator: str, parts: Iterable[str]) -> str:
    """Return "Either: A, or B" / "Both: A, and B" in plain words."""
    labels = list(parts)
    if not labels:
        return "No rule parts"
    joiner = " or " if combinator == "any" else " and "
    lead = "Any of" if combinator == "any" else "All of"
    if len(labels) == 2:
        lead = "Either" if combinator == "any" else "Both"
    return f"{lead}: " + joiner.join(labels)


def rule_labels(rules: Iterable[Mapping]) -> dict[str, str]:
    """Return ``{rule code: label}`` for a study's rules, combinations from their parts.

    Each rule is a mapping with ``code``, ``score``, ``direction``, ``kind``
    (``points``, ``percent``, or ``any``/``all`` for a combination), ``threshold``
    and ``parts`` (the codes a combination combines).
    """
    rules = list(rules)
    labels: dict[str, str] = {}
    for rule in rules:
        if rule["kind"] in COMBINATORS:
            continue
        labels[rule["code"]] = simple_rule_label(
            score=rule["score"], direction=rule["direction"], kind=rule["kind"],
            threshold=rule["threshold"])
    for _ in range(len(rules)):  # combinations of combinations, innermost first
        for rule in rules:
            if rule["kind"] in COMBINATORS and rule["code"] not in labels and all(
                    part in labels for part in rule["parts"]):
                labels[rule["code"]] = combined_rule_label(
                    rule["kind"], (labels[p] for p in rule["parts"]))
    for rule in rules:
        labels.setdefault(rule["code"], rule["code"])  # a cycle: say the code, not nothing
    return labels


def timepoint_label(code: str, labels: Mapping[str, str]) -> str:
    return labels.get(code, code)
