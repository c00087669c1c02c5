"""Responder rules (MCID) and their three-valued verdicts, on exact values (no Django).

SPEC section 4. A simple rule compares the improvement from baseline, exactly,
with a threshold in points or in percent of baseline; ``decrease`` is
improvement for ODI and NRS, ``increase`` for EQ-5D, EQ VAS and PROMIS T-scores.
A simple rule is not evaluable without a baseline or a follow-up score, or when
a percent rule meets a baseline of 0. Combinations follow three-valued logic:
``any`` is a responder if any part is, a non-responder if every part is an
evaluable non-responder, otherwise not evaluable; ``all`` is a responder if
every part is, a non-responder if any part is an evaluable non-responder,
otherwise not evaluable.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

Number = Fraction | int | Decimal | str


@enum.unique
class Verdict(enum.StrEnum):
    RESPONDER = "responder"
    NON_RESPONDER = "non_responder"
    NOT_EVALUABLE = "not_evaluable"


@enum.unique
class Direction(enum.StrEnum):
    DECREASE = "decrease"
    INCREASE = "increase"


@enum.unique
class ThresholdKind(enum.StrEnum):
    POINTS = "points"
    PERCENT = "percent"


@enum.unique
class Combinator(enum.StrEnum):
    ALL = "all"
    ANY = "any"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    reason: str = ""
    change: Fraction | None = None


@dataclass(frozen=True)
class SimpleRule:
    code: str
    score: str
    direction: Direction
    kind: ThresholdKind
    threshold: Fraction
    description: str = ""


@dataclass(frozen=True)
class CombinedRule:
    code: str
    combinator: Combinator
    parts: tuple[str, ...]
    description: str = ""


Rule = SimpleRule | CombinedRule


def exact_value(value: Number | None) -> Fraction | None:
    """Return ``value`` as an exact fraction; floats are refused (they break exactness)."""
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("pass exact values (Fraction, int, Decimal or str), not float")
    if isinstance(value, (Decimal, str)):
        return Fraction(str(value))
    return Fraction(value)


def _name(score: str) -> str:
    """The score's name as people read it (the reasons are shown on staff pages)."""
    from .definitions import SCORE_SPECS

    spec = SCORE_SPECS.get(score)
    return spec.label if spec else score


def evaluate(rule: SimpleRule, baseline: Number | None, followup: Number | None, *,
             baseline_reason: str = "", followup_reason: str = "") -> Outcome:
    """Return the verdict of one simple rule for one patient at one time point.

    A score that is missing because its response was not scorable (SPEC 3.7) makes the
    rule not evaluable with that reason (``baseline_reason``, ``followup_reason``).
    """
    base, later = exact_value(baseline), exact_value(followup)
    if base is None:
        if baseline_reason:
            return Outcome(Verdict.NOT_EVALUABLE,
                           f"{_name(rule.score)} not scorable at baseline: {baseline_reason}")
        return Outcome(Verdict.NOT_EVALUABLE, f"no {_name(rule.score)} at baseline")
    if later is None:
        if followup_reason:
            return Outcome(Verdict.NOT_EVALUABLE,
                           f"{_name(rule.score)} not scorable at this visit: {followup_reason}")
        return Outcome(Verdict.NOT_EVALUABLE, f"no {_name(rule.score)} at this visit")
    improvement = base - later if rule.direction == Direction.DECREASE else later - base
    if rule.kind == ThresholdKind.POINTS:
        met = improvement >= rule.threshold
    else:
        if base == 0:
            return Outcome(Verdict.NOT_EVALUABLE,
                           f"{_name(rule.score)} was 0 at baseline: no percent change",
                           improvement)
        met = improvement * 100 >= rule.threshold * abs(base)
    return Outcome(Verdict.RESPONDER if met else Verdict.NON_RESPONDER, "", improvement)


def combine(combinator: Combinator, outcomes: Sequence[Outcome]) -> Outcome:
    """Combine part verdicts with three-valued ``any`` / ``all``."""
    verdicts = [o.verdict for o in outcomes]
    if combinator == Combinator.ANY:
        if Verdict.RESPONDER in verdicts:
            return Outcome(Verdict.RESPONDER)
        if verdicts and all(v == Verdict.NON_RESPONDER for v in verdicts):
            return Outcome(Verdict.NON_RESPONDER)
    else:
        if verdicts and all(v == Verdict.RESPONDER for v in verdicts):
            return Outcome(Verdict.RESPONDER)
        if Verdict.NON_RESPONDER in verdicts:
            return Outcome(Verdict.NON_RESPONDER)
    reasons = "; ".join(o.reason for o in outcomes if o.verdict == Verdict.NOT_EVALUABLE)
    return Outcome(Verdict.NOT_EVALUABLE, reasons or "no parts")


def evaluate_all(
    rules: Iterable[Rule], baseline: Mapping[str, Number], followup: Mapping[str, Number],
    *, baseline_reasons: Mapping[str, str] | None = None,
    followup_reasons: Mapping[str, str] | None = None,
) -> dict[str, Outcome]:
    """Return every rule's outcome, resolving combinations by code in any order.

    ``baseline_reasons`` and ``followup_reasons`` map a score that is not scorable to
    why (SPEC 3.7), for the not-evaluable verdicts' reasons.
    """
    base_why, later_why = baseline_reasons or {}, followup_reasons or {}
    by_code = {rule.code: rule for rule in rules}
    results: dict[str, Outcome] = {}
    visiting: set[str] = set()

    def resolve(code: str) -> Outcome:
        if code in results:
            return results[code]
        rule = by_code.get(code)
        if rule is None:
            raise ValueError(f"unknown rule {code!r} in a combination")
        if code in visiting:
            raise ValueError(f"rule {code!r} includes itself")
        visiting.add(code)
        if isinstance(rule, SimpleRule):
            outcome = evaluate(rule, baseline.get(rule.score), followup.get(rule.score),
                               baseline_reason=base_why.get(rule.score, ""),
                               followup_reason=later_why.get(rule.score, ""))
        else:
            outcome = combine(rule.combinator, [resolve(part) for part in rule.parts])
        visiting.discard(code)
        results[code] = outcome
        return outcome

    for code in by_code:
        resolve(code)
    return results


def _points(code, score, direction, threshold, description) -> SimpleRule:
    return SimpleRule(code, score, Direction(direction), ThresholdKind.POINTS,
                      Fraction(threshold), description)


def _percent(code, score, threshold, description) -> SimpleRule:
    return SimpleRule(code, score, Direction.DECREASE, ThresholdKind.PERCENT,
                      Fraction(threshold), description)


DEFAULT_RULES: tuple[Rule, ...] = (
    _points("odi_mcid_10pt", "odi", "decrease", 10,
            "ODI decrease of at least 10 points from baseline (Ostelo 2008)"),
    _percent("odi_mcid_30pct", "odi", 30, "ODI decrease of at least 30% of baseline"),
    _percent("odi_50pct", "odi", 50, "ODI decrease of at least 50% of baseline"),
    _points("nrs_2pt", "nrs", "decrease", 2, "NRS pain decrease of at least 2 points"),
    _points("nrs_gt2pt", "nrs", "decrease", 3, "NRS pain decrease of more than 2 points (≥3)"),
    _percent("nrs_30pct", "nrs", 30, "NRS pain decrease of at least 30% (IMMPACT moderate)"),
    _percent("nrs_50pct", "nrs", 50, "NRS pain decrease of at least 50% (IMMPACT substantial)"),
    _points("eq5d_uk_mid", "eq5d_index_uk", "increase", Fraction("0.074"),
            "EQ-5D UK index increase of at least 0.074 (Walters & Brazier 2005)"),
    _points("gph_5t", "gph_t", "increase", 5, "PROMIS GPH T-score increase of at least 5"),
    _points("gmh_5t", "gmh_t", "increase", 5, "PROMIS GMH T-score increase of at least 5"),
    CombinedRule("primary", Combinator.ANY, ("odi_mcid_10pt", "nrs_2pt"),
                 "Primary: ODI MCID (10 points) or NRS decrease of 2 points"),
)
"""The seeded rules of SPEC section 3.5 for the back-pain study."""
