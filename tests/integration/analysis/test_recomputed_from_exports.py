"""Every number of ``results`` recomputed from the de-identified exports alone (SPEC 8).

A statistician's check, with pandas, scipy and statsmodels on two files of
``export_study``: the tidy file (values, reasons, covariates, ``due``) and the data
dictionary (the responder rules' definitions). Nothing is read from the database or the
project's statistics code. Recomputed, and compared with ``results --format json``:

1. every score summary (n, mean, SD, median, quartiles, the mean's t-interval) and
   every change from baseline with its t-interval;
2. every responder count: responders and evaluable under each rule (simple rules from
   the values and their definitions; ``any`` / ``all`` in three-valued logic), allocated,
   pending (``due`` = 0), the ITT denominator, both percents and Wilson's interval;
3. every comparison with the reference arm: Fisher's p, the difference with Newcombe's
   interval, risk and odds ratios with their log intervals (where no cell is zero),
   Welch's difference, interval and p, the Mann-Whitney p, the ANCOVA difference;
4. the flow (with data, missed, not applicable, pending) and the subgroup rates;
5. Table 1, the baseline characteristics by arm, but for one row (below).

What the files alone do not give exactly (README, *Exports for the statistician*):

- A threshold must be compared on exact values. The tidy file writes a repeating
  fraction (an ODI with a blank section: 200/9) to 10 significant digits; read as a
  decimal, 22.22222222 → 15.55555556 misses a 30% rule that 200/9 → 140/9 meets
  exactly. The exact value is the simplest fraction within half a unit in the last
  written digit (``exact`` below), as the test shows both ways.
- Ages are top-coded at 90 in these files (the identified file has the date of birth):
  Table 1's age row of an arm with a patient aged 90 or over, and the regressions on age
  then, are not exact (the test shows the age row both ways; the regressions are not
  checked here).
- ``due`` is as of the export's day: the results must be run the same day.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal
from fractions import Fraction
from io import StringIO

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import time_machine
from django.contrib.auth.models import User
from django.core.management import call_command
from scipy import stats as sps
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from patients.models import Enrolment
from patients.services import set_enrolment_status

# Index date 5 January 2026; today is day 100: baseline and 1 month closed, 3 months open
# (days 76-104), 6 and 12 months to come.
NOW = dt.datetime(2026, 4, 15, 12, tzinfo=dt.UTC)
PATIENTS = """patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date
B1,BMC,MAIN,female,61,27.4,30,2026-01-02,2026-01-05
B2,BMC,MAIN,male,48,31.0,0,2026-01-02,2026-01-05
B3,BMC,MAIN,female,70,24.5,,2026-01-02,2026-01-05
B4,BMC,MAIN,male,93,22.0,15,2026-01-02,2026-01-05
B5,BMC,MAIN,female,55,29.9,45,2026-01-02,2026-01-05
C1,CONTROL,MAIN,male,52,33.0,20,2026-01-02,2026-01-05
C2,CONTROL,MAIN,female,66,26.1,0,2026-01-02,2026-01-05
C3,CONTROL,MAIN,male,44,28.0,,2026-01-02,2026-01-05
C4,CONTROL,MAIN,female,58,25.0,10,2026-01-02,2026-01-05
"""
ODI_ITEMS = ("pain_intensity", "personal_care", "lifting", "walking", "sitting",
             "standing", "sleeping", "sex_life", "social_life", "travelling")
DATES = {"baseline": "2026-01-03", "m1": "2026-02-04", "m3": "2026-04-06"}


def odi(points: int, answered: int = 10) -> list:
    """Sections adding up to ``points``, the last ``10 - answered`` left blank."""
    given = [min(5, max(0, points - 5 * i)) for i in range(answered)]
    assert sum(given) == points
    return given + [""] * (10 - answered)


# ODI (percent of the maximum: points / (5 x answered) x 100) and NRS, by visit.
ANSWERS = {
    # 10/45 → 7/45: 200/9 → 140/9, exactly a 30% improvement (6000/9 = 30 x 200/9).
    "B1": {"baseline": (odi(10, 9), 8), "m1": (odi(7, 9), 5), "m3": (None, 3)},
    "B2": {"baseline": (odi(20), 7), "m1": (odi(12), 6), "m3": (None, 4)},
    # Two sections blank at 1 month (not scorable); NRS 0 at baseline (no percent rule).
    "B3": {"baseline": (odi(30), 0), "m1": (odi(12, 8), 0)},
    "B4": {"m1": (odi(10), 4)},  # no baseline: not evaluable
    "B5": {"baseline": (odi(25), 9)},  # withdrawn today: 3 months pending, not due
    "C1": {"baseline": (odi(18), 6), "m1": (odi(16), 6), "m3": (None, 5)},
    "C2": {"baseline": (odi(20, 9), 8), "m1": (odi(17, 9), 7)},
    "C3": {"baseline": (odi(30), 5)},  # 1 month missed
    "C4": {"baseline": (odi(14), 7), "m1": (odi(13), 4), "m3": (None, 6)},
}


def responses() -> str:
    lines = ["patient,timepoint,instrument,item,value,completed_date"]
    for patient, visits in ANSWERS.items():
        for timepoint, (sections, pain) in visits.items():
            day = DATES[timepoint]
            if sections is not None:
                lines += [f"{patient},{timepoint},odi,{item},{value},{day}"
                          for item, value in zip(ODI_ITEMS, sections, strict=True)]
            lines.append(f"{patient},{timepoint},nrs11,pain,{pain},{day}")
    return "\n".join(lines) + "\n"


def command(*args) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def exported(study, tmp_path):
    """The results as JSON, and the tidy file and dictionary as a statistician gets them."""
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses())
    command("import_study", "--study", "BMC-LBP", "--patients", str(tmp_path / "p.csv"),
            "--responses", str(tmp_path / "r.csv"))
    with time_machine.travel(NOW, tick=False):
        set_enrolment_status(enrolment=Enrolment.objects.get(patient__code="B5"),
                             status="withdrawn", reason="moved away",
                             actor=User.objects.create_user("dm", password="x" * 12))
    results = json.loads(command("results", "--study", "BMC-LBP", "--format", "json"))
    tidy = pd.read_csv(io.StringIO(command("export_study", "--study", "BMC-LBP", "--format",
                                           "tidy")), dtype=str, keep_default_na=False)
    dictionary = list(csv.DictReader(io.StringIO(command(
        "export_study", "--study", "BMC-LBP", "--format", "dictionary"))))
    return results, tidy, dictionary


# --- the statistician's reading of the files ---------------------------------------------

def exact(text: str) -> Fraction:
    """The exact value of a written score: as written, unless it has the file's 10
    significant digits (a repeating fraction, rounded): then the simplest fraction
    within half a unit in its last digit."""
    written = Decimal(text)
    digits = written.as_tuple()
    if len(digits.digits) < 10:
        return Fraction(written)
    half = Fraction(1, 2) * Fraction(10) ** digits.exponent
    for q in range(1, 10_000):
        p = round(Fraction(written) * q)
        if abs(Fraction(p, q) - Fraction(written)) <= half:
            return Fraction(p, q)
    return Fraction(written)


def parse_rules(dictionary: list[dict]) -> dict[str, tuple]:
    """The responder rules from the dictionary's definitions ("nrs: decrease from
    baseline of at least 2 points", "any of: odi_mcid_10pt, nrs_2pt; primary comparison
    at m12")."""
    rules = {}
    for row in dictionary:
        if row["file"] != "responder rules":
            continue
        text = re.sub(r"; primary comparison at .*$", "", row["values"])
        combined = re.fullmatch(r"(any|all) of: (.+)", text)
        if combined:
            rules[row["column"]] = ("combined", combined[1], combined[2].split(", "))
            continue
        simple = re.fullmatch(r"(\w+): (decrease|increase) from baseline of at least "
                              r"([\d.]+) (points|percent of baseline)", text)
        assert simple, text
        rules[row["column"]] = ("simple", simple[1], simple[2], Fraction(simple[3]),
                                "percent" if simple[4].startswith("percent") else "points")
    return rules


def verdict(rules: dict, code: str, values: dict, patient: str, timepoint: str) -> str:
    """SPEC 4 on exact values: "yes", "no" or "n/a" (not evaluable)."""
    rule = rules[code]
    if rule[0] == "combined":
        parts = [verdict(rules, part, values, patient, timepoint) for part in rule[2]]
        if rule[1] == "any":
            return "yes" if "yes" in parts else "no" if set(parts) == {"no"} else "n/a"
        return "yes" if set(parts) == {"yes"} else "no" if "no" in parts else "n/a"
    _, score, direction, threshold, kind = rule
    base = values.get((patient, "baseline", score))
    later = values.get((patient, timepoint, score))
    if base is None or later is None:
        return "n/a"
    gain = base - later if direction == "decrease" else later - base
    if kind == "points":
        return "yes" if gain >= threshold else "no"
    if base == 0:
        return "n/a"
    return "yes" if gain * 100 >= threshold * abs(base) else "no"


def approx(value):
    return None if value is None or (isinstance(value, float) and np.isnan(value)) \
        else pytest.approx(float(value), rel=1e-9, abs=1e-12)


def t_interval(xs: pd.Series) -> tuple:
    if len(xs) < 2:
        return None, None
    sem = xs.std(ddof=1) / np.sqrt(len(xs))
    if sem == 0:
        return approx(xs.mean()), approx(xs.mean())
    low, high = sps.t.interval(0.95, len(xs) - 1, loc=xs.mean(), scale=sem)
    return approx(low), approx(high)


class Reading:
    """What the tidy file says, as a statistician's data frames."""

    def __init__(self, tidy: pd.DataFrame, dictionary: list[dict]):
        self.tidy = tidy
        self.arm_of = dict(zip(tidy["patient"], tidy["arm"], strict=False))
        valued = tidy[tidy["missing_reason"] == ""]
        self.values = {(r.patient, r.timepoint, r.score): exact(r.value)
                       for r in valued.itertuples()}
        self.frame = valued.assign(number=[float(self.values[(r.patient, r.timepoint,
                                                              r.score)])
                                           for r in valued.itertuples()])
        self.rules = parse_rules(dictionary)
        self.primary = [row["column"] for row in dictionary
                        if row["file"] == "responder rules"
                        and "; primary comparison at " in row["values"]]
        self.baseline = tidy.loc[tidy["timepoint_order"] == "1", "timepoint"].iloc[0]

    def numbers(self, arm, timepoint, score) -> pd.Series:
        f = self.frame
        return f.loc[(f.arm == arm) & (f.timepoint == timepoint) & (f.score == score)] \
            .set_index("patient")["number"]

    def changes(self, arm, timepoint, score) -> pd.DataFrame:
        both = pd.concat({"after": self.numbers(arm, timepoint, score),
                          "before": self.numbers(arm, self.baseline, score)},
                         axis=1).dropna()
        return both.assign(change=both.after - both.before)

    def verdicts(self, arm, timepoint, rule) -> dict[str, str]:
        return {p: verdict(self.rules, rule, self.values, p, timepoint)
                for p, a in self.arm_of.items() if a == arm}

    def counts(self, arm, timepoint, rule) -> tuple[int, int]:
        found = list(self.verdicts(arm, timepoint, rule).values())
        return found.count("yes"), found.count("yes") + found.count("no")

    def visits(self, arm, timepoint) -> pd.DataFrame:
        """One row per patient: has data (a completed response), due, visit status."""
        rows = self.tidy[(self.tidy.arm == arm) & (self.tidy.timepoint == timepoint)]
        answered = rows[rows.score != "opioid_mme"].missing_reason.isin(["", "not_scorable"])
        return pd.DataFrame({
            "data": answered.groupby(rows.patient).any(),
            "due": rows.groupby("patient").due.first() == "1",
            "status": rows.groupby("patient").visit_status.first(),
        })


# --- the checks ---------------------------------------------------------------------------

def test_every_score_summary_and_change_is_recomputed(exported):
    results, tidy, dictionary = exported
    data = Reading(tidy, dictionary)
    checked = 0
    for row in results["scores"]:
        xs = data.numbers(row["arm"], row["timepoint"], row["score"])
        q1, median, q3 = (xs.quantile([0.25, 0.5, 0.75]) if len(xs) else (None,) * 3)
        expected = {"n": len(xs), "mean": approx(xs.mean()) if len(xs) else None,
                    "sd": approx(xs.std(ddof=1)) if len(xs) > 1 else None,
                    "median": approx(median), "q1": approx(q1), "q3": approx(q3)}
        expected["mean_ci_low"], expected["mean_ci_high"] = t_interval(xs)
        if "change_n" in row:
            changes = data.changes(row["arm"], row["timepoint"], row["score"]).change
            expected.update(change_n=len(changes),
                            change_mean=approx(changes.mean()) if len(changes) else None,
                            change_sd=approx(changes.std(ddof=1)) if len(changes) > 1
                            else None)
            expected["change_ci_low"], expected["change_ci_high"] = t_interval(changes)
        assert {key: row[key] for key in expected} == expected, row
        checked += len(xs) > 0
    # Every (arm, time point, score) with a value in the file has its row of results.
    assert checked == len({(data.arm_of[p], t, s) for p, t, s in data.values}) > 0


def test_every_responder_count_is_recomputed_with_the_rules_of_the_dictionary(exported):
    results, tidy, dictionary = exported
    data = Reading(tidy, dictionary)
    assert set(data.rules) == {row["rule"] for row in results["responders"]}
    for row in results["responders"]:
        arm, timepoint, rule = row["arm"], row["timepoint"], row["rule"]
        yes, evaluable = data.counts(arm, timepoint, rule)
        allocated = sum(1 for a in data.arm_of.values() if a == arm)
        pending = int((~data.visits(arm, timepoint).due).sum())
        due = allocated - pending
        low, high = (proportion_confint(yes, evaluable, method="wilson") if evaluable
                     else (None, None))
        expected = {
            "responders": yes, "evaluable": evaluable, "allocated": allocated,
            "pending": pending, "itt_denominator": due,
            "percent": approx(100 * yes / evaluable) if evaluable else None,
            "percent_itt": approx(100 * yes / due) if due else None,
            "ci_low": approx(100 * low) if evaluable else None,
            "ci_high": approx(100 * high) if evaluable else None,
        }
        assert {key: row[key] for key in expected} == expected, row
    # The cases the fixture is there for: B1's exact 30% improvement, B3's blank ODI and
    # NRS of 0, B4 without baseline, B5 withdrawn with 3 months still open (pending).
    bmc_m1 = data.verdicts("BMC", "m1", "odi_mcid_30pct")
    assert bmc_m1 == {"B1": "yes", "B2": "yes", "B3": "n/a", "B4": "n/a", "B5": "n/a"}
    assert data.verdicts("BMC", "m1", "nrs_30pct")["B3"] == "n/a"
    assert data.verdicts("BMC", "m1", "nrs_2pt")["B3"] == "no"
    visits = data.visits("BMC", "m3")
    assert (visits.loc["B5", "status"], bool(visits.loc["B5", "due"])) == (
        "not_applicable", False)


def test_a_threshold_read_on_the_written_decimals_can_miss_the_exact_verdict(exported):
    """Why ``exact``: the file writes B1's baseline ODI 200/9 as 22.22222222 and its
    1-month ODI 140/9 as 15.55555556; on those decimals the 30% rule fails."""
    _, tidy, dictionary = exported
    written = {(r.timepoint, r.score): r.value for r in tidy.itertuples()
               if r.patient == "B1"}
    base, later = Decimal(written[("baseline", "odi")]), Decimal(written[("m1", "odi")])
    assert (base, later) == (Decimal("22.22222222"), Decimal("15.55555556"))
    assert not (base - later) * 100 >= 30 * base  # the decimals: a non-responder
    assert (exact(str(base)), exact(str(later))) == (Fraction(200, 9), Fraction(140, 9))
    data = Reading(tidy, dictionary)
    assert data.verdicts("BMC", "m1", "odi_mcid_30pct")["B1"] == "yes"


def test_every_comparison_is_recomputed(exported):
    results, tidy, dictionary = exported
    data = Reading(tidy, dictionary)
    kinds = set()
    for row in results["comparisons"]:
        arm, ref, timepoint, measure = (row["arm"], row["reference_arm"], row["timepoint"],
                                        row["measure"])
        if row["kind"] == "proportion":
            (yes, n), (ref_yes, ref_n) = (data.counts(arm, timepoint, measure),
                                          data.counts(ref, timepoint, measure))
            if not n or not ref_n:
                assert row["p_value"] is None and row["difference"] is None
                continue
            table = [[yes, n - yes], [ref_yes, ref_n - ref_yes]]
            assert row["p_value"] == approx(sps.fisher_exact(table).pvalue)
            low, high = confint_proportions_2indep(yes, n, ref_yes, ref_n, method="newcomb")
            assert (row["difference"], row["difference_ci_low"], row["difference_ci_high"]) \
                == (approx(100 * (yes / n - ref_yes / ref_n)), approx(100 * low),
                    approx(100 * high))
            if 0 not in (yes, n - yes, ref_yes, ref_n - ref_yes):
                for compare, method, key in (("ratio", "log", "risk_ratio"),
                                             ("odds-ratio", "logit", "odds_ratio")):
                    low, high = confint_proportions_2indep(yes, n, ref_yes, ref_n,
                                                           method=method, compare=compare)
                    assert (row[f"{key}_ci_low"], row[f"{key}_ci_high"]) == (
                        approx(low), approx(high))
                kinds.add("ratios")
            kinds.add("proportion")
            continue
        mine, theirs = data.changes(arm, timepoint, measure), data.changes(ref, timepoint,
                                                                           measure)
        assert (row["change_n"], row["reference_change_n"]) == (len(mine), len(theirs))
        if row["test"] == "welch_t" and len(mine) > 1 and len(theirs) > 1 and (
                mine.change.var() + theirs.change.var() > 0):
            welch = sps.ttest_ind(mine.change, theirs.change, equal_var=False)
            interval = welch.confidence_interval(0.95)
            assert (row["p_value"], row["difference"], row["difference_ci_low"],
                    row["difference_ci_high"]) == (
                approx(welch.pvalue), approx(mine.change.mean() - theirs.change.mean()),
                approx(interval.low), approx(interval.high))
            kinds.add("welch")
        if row["test"].startswith("mann_whitney") and len(mine) and len(theirs):
            ranks = sps.mannwhitneyu(mine.change, theirs.change, alternative="two-sided")
            assert row["p_value"] == approx(ranks.pvalue)
            kinds.add("mann-whitney")
        if row["adjusted_difference"] is not None:
            both = pd.concat([mine.assign(arm=1.0), theirs.assign(arm=0.0)])
            fit = sm.OLS(both.after, sm.add_constant(both[["arm", "before"]])).fit()
            low, high = fit.conf_int().loc["arm"]
            assert (row["adjusted_difference"], row["adjusted_ci_low"],
                    row["adjusted_ci_high"], row["adjusted_p_value"]) == (
                approx(fit.params["arm"]), approx(low), approx(high),
                approx(fit.pvalues["arm"]))
            kinds.add("ancova")
    assert kinds == {"proportion", "ratios", "welch", "mann-whitney", "ancova"}


def test_the_flow_and_the_subgroups_are_recomputed(exported):
    results, tidy, dictionary = exported
    data = Reading(tidy, dictionary)
    for entry in results["flow"]:
        for point in entry["timepoints"]:
            visits = data.visits(entry["arm"], point["timepoint"])
            without = visits[~visits.data]
            expected = {
                "with_data": int(visits.data.sum()),
                "pending": int((~without.due).sum()),
                "not_applicable": int((without.due & (without.status == "not_applicable"))
                                      .sum()),
                "missed": int((without.due & (without.status != "not_applicable")).sum()),
            }
            assert {key: point[key] for key in expected} == expected, (entry["arm"], point)
    patients = tidy.groupby("patient").first()

    def band(value: str, cuts, labels) -> str:
        if value == "":
            return "unknown"
        return labels[int(np.searchsorted(cuts, float(value), side="right"))]

    level = {
        "age": lambda p: band(patients.loc[p, "age"], (50, 65), ("<50", "50-64", "65+")),
        "sex": lambda p: patients.loc[p, "sex"],
        "bmi": lambda p: band(patients.loc[p, "bmi"], (25, 30), ("<25", "25-29.9", "30+")),
        "opioid": lambda p: ("unknown" if patients.loc[p, "baseline_opioid_mme"] == "" else
                             "none" if float(patients.loc[p, "baseline_opioid_mme"]) == 0
                             else "any"),
    }
    expected = {}
    follow_ups = [t for t in dict.fromkeys(tidy.timepoint) if t != data.baseline]
    groups = [(arm, t, rule) for arm in dict.fromkeys(tidy.arm) for t in follow_ups
              for rule in data.primary]
    for arm, timepoint, rule in groups:
        for patient, found in data.verdicts(arm, timepoint, rule).items():
            if found == "n/a":
                continue
            for factor, of in level.items():
                tally = expected.setdefault((arm, timepoint, rule, factor, of(patient)), [0, 0])
                tally[0] += found == "yes"
                tally[1] += 1
    assert {(r["arm"], r["timepoint"], r["rule"], r["factor"], r["level"]):
            [r["responders"], r["evaluable"]] for r in results["subgroups"]} == expected
    assert expected  # the study's primary rules have evaluable verdicts


def test_table_1_is_recomputed_but_for_an_age_top_coded_at_90(exported):
    results, tidy, _ = exported
    patients = tidy.groupby("patient").first()
    baseline = Reading(tidy, []).frame
    baseline = baseline[baseline.timepoint == "baseline"]

    def continuous(xs: pd.Series, of: int) -> dict:
        if not len(xs):
            return {"n": 0, "missing": of, "mean": None, "sd": None, "median": None,
                    "q1": None, "q3": None}
        q1, median, q3 = xs.quantile([0.25, 0.5, 0.75])
        return {"n": len(xs), "missing": of - len(xs), "mean": approx(xs.mean()),
                "sd": approx(xs.std(ddof=1)) if len(xs) > 1 else None,
                "median": approx(median), "q1": approx(q1), "q3": approx(q3)}

    def number(column: str, arm: str) -> pd.Series:
        values = patients.loc[patients.arm == arm, column]
        return values[values != ""].astype(float)

    by_key = {(r["arm"], r["characteristic"], r.get("level"), r.get("score")): r
              for r in results["baseline_characteristics"]}
    sexes = sorted(set(patients.sex))
    looked_at = set()
    for arm in dict.fromkeys(tidy.arm):
        allocated = int((patients.arm == arm).sum())
        assert by_key[(arm, "patients", None, None)]["n"] == allocated
        for sex in sexes:
            count = int(((patients.arm == arm) & (patients.sex == sex)).sum())
            row = by_key[(arm, "sex", sex, None)]
            assert (row["count"], row["n"], row["percent"]) == (
                count, allocated, approx(100 * count / allocated))
        dose = number("baseline_opioid_mme", arm)
        users = dose[dose > 0]
        row = by_key[(arm, "opioid_any", None, None)]
        assert (row["count"], row["n"], row["missing"]) == (
            len(users), len(dose), allocated - len(dose))
        checks = {("bmi", None): continuous(number("bmi", arm), allocated),
                  ("opioid_mme_users", None): continuous(users, len(users))}
        for score in sorted(set(tidy.score) - {"opioid_mme"}):  # the study's scores
            xs = baseline.loc[(baseline.arm == arm) & (baseline.score == score), "number"]
            checks[("score", score)] = continuous(xs, allocated)
        for (name, score), expected in checks.items():
            row = by_key[(arm, name, None, score)]
            assert {key: row[key] for key in expected} == expected, (arm, name, score)
        looked_at |= {(arm, "patients", None, None), (arm, "opioid_any", None, None),
                      (arm, "age", None, None), *((arm, "sex", sex, None) for sex in sexes),
                      *((arm, name, None, score) for name, score in checks)}
        age = by_key[(arm, "age", None, None)]
        written = continuous(number("age", arm), allocated)
        if arm == "BMC":  # B4 is 93, written 90: the file's mean is 3/5 of a year lower
            assert age["mean"] == pytest.approx(number("age", arm).mean() + 3 / 5)
            assert age["mean"] != written["mean"]
        else:
            assert {key: age[key] for key in written} == written
    assert looked_at == set(by_key)  # every row of Table 1
