"""The one scoring engine: every definition's scores, by the methods of SPEC 3.6.

``score_definition(definition, answers)`` validates the answers, then computes each
score of the definition in file order:

1. take the score's items' answers (or, for a score computed ``from`` another, that
   score's value and answered items);
2. recode the items ``recode`` names, then reverse those ``reverse_items`` names
   (min + max − value);
3. with more items blank than ``max_missing`` allows (the study may set its own), or
   none answered, the score is ``Unscored`` with its reason (SPEC 3.7);
4. otherwise apply the method, exactly (``Fraction``; a sum or a count is an ``int``),
   and name its band where the score has bands.

Where no score can be computed, or a score marked ``required`` cannot, the response is
not scorable at all: ``NotScorable`` names the reason. Pure: no Django.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..definitions.base import InstrumentDefinition, ScoreDef
from .base import NotScorable, Unscored, checked_answers
from .functions import FUNCTIONS

NEEDS_EVERY_ITEM = ("lookup", "registered", "value_set")

MaxMissing = Mapping[str, int] | int | None
"""A study's allowance of blank items: score key → items that may be blank. The old
form, one number, sets every score that allows blanks at all (the ODI's sections)."""


@dataclass(frozen=True)
class _Plan:
    """One score, ready to compute: the definition's data in the shapes the loop wants."""

    spec: ScoreDef
    recode: dict[str, dict[int, int]]
    reverse: dict[str, int]  # item → min + max
    lows: dict[str, int]
    highs: dict[str, int]
    table: dict[int, Fraction]
    function: Any
    read_by_lookup: bool


def _plans(definition: InstrumentDefinition) -> tuple[_Plan, ...]:
    cached = _PLANS.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    read_by_lookup = {s.source for s in definition.score_defs if s.method == "lookup"}
    plans = []
    for spec in definition.score_defs:
        recode = {code: dict(table) for code, table in spec.recode}
        lows, highs = {}, {}
        for code in spec.items:
            item = definition.item(code)
            if code in recode:
                lows[code], highs[code] = min(recode[code].values()), max(recode[code].values())
            else:
                lows[code], highs[code] = item.min_value, item.max_value
        function = None
        if spec.method == "registered":
            function = FUNCTIONS.get(spec.function)
            if function is None:
                raise LookupError(f"{definition.code}: {spec.key} names the scoring function "
                                  f"{spec.function!r}, which is not registered")
        plans.append(_Plan(
            spec, recode, {code: lows[code] + highs[code] for code in spec.reverse_items},
            lows, highs, dict(spec.table), function, spec.key in read_by_lookup,
        ))
    result = tuple(plans)
    _PLANS[id(definition)] = (definition, result)
    return result


_PLANS: dict[int, tuple[InstrumentDefinition, tuple[_Plan, ...]]] = {}


def max_missing_problems(definition: InstrumentDefinition, setting: Mapping[str, Any]
                         ) -> list[str]:
    """Return what is wrong with a study's ``{score key: blanks allowed}`` for ``definition``.

    Keys of other instruments' scores are not this definition's business and are
    passed over; ``setting_problems`` checks a whole study's setting.
    """
    problems = []
    keys = set(definition.output_keys)
    for plan in _plans(definition):
        spec = plan.spec
        if spec.key not in setting:
            continue
        value = setting[spec.key]
        if spec.source:
            problems.append(f"{spec.key}: computed from {spec.source}; set {spec.source}'s "
                            "allowance instead")
        elif type(value) is not int or not 0 <= value <= len(spec.items):
            problems.append(f"{spec.key}: expected an integer 0-{len(spec.items)} (its items), "
                            f"got {value!r}")
        elif value and (spec.method in NEEDS_EVERY_ITEM or plan.read_by_lookup):
            problems.append(f"{spec.key}: needs every item (a {spec.method}"
                            f"{' read by a lookup' if plan.read_by_lookup else ''}); must be 0")
    scores = {spec.key for spec in definition.score_defs}
    for key in setting:
        if key in keys and key not in scores:
            problems.append(f"{key}: a band follows its score; set {key[:-5]}'s allowance")
    return problems


def setting_problems(definitions, setting: Mapping[str, Any]) -> list[str]:
    """Return what is wrong with a study's max-missing setting for its instruments.

    Every key must be a score of one of ``definitions``; each value as
    ``max_missing_problems`` checks it.
    """
    definitions = list(definitions)
    problems: list[str] = []
    known = {key for d in definitions for key in d.output_keys}
    for key in setting:
        if key not in known:
            problems.append(f"{key}: no instrument of the study has this score")
    for definition in definitions:
        problems.extend(max_missing_problems(definition, setting))
    return problems


def _allowances(definition: InstrumentDefinition, plans: tuple[_Plan, ...],
                max_missing: MaxMissing) -> dict[str, int] | None:
    if max_missing is None:
        return None
    if isinstance(max_missing, bool) or not isinstance(max_missing, int | Mapping):
        raise TypeError(f"max_missing: expected a mapping of score keys, got {max_missing!r}")
    if isinstance(max_missing, int):
        setting = {p.spec.key: max_missing for p in plans
                   if not p.spec.source and p.spec.max_missing > 0}
    else:
        setting = max_missing
    problems = max_missing_problems(definition, setting)
    if problems:
        raise ValueError(f"{definition.code} max_missing: " + "; ".join(problems))
    return {p.spec.key: setting[p.spec.key] for p in plans if p.spec.key in setting}


def _reason(spec: ScoreDef, blank: list[str], allowed: int) -> Unscored:
    """Return why ``spec`` is not scorable with ``blank`` items blank (SPEC 3.7 wording)."""
    missing = len(blank)
    if missing <= allowed:
        return Unscored("no items answered")
    template = spec.missing_reason
    if not template:
        if allowed:
            template = "{missing} item{s} unanswered; at most {allowed} allowed"
        elif len(spec.items) == 1:
            template = "{blank} unanswered"
        else:
            template = "{blank} unanswered; none may be missing"
    fields = {"missing": missing, "allowed": allowed, "items": len(spec.items),
              "blank": ", ".join(blank), "first_blank": blank[0],
              "s": "" if missing == 1 else "s"}
    item = ""
    for name in ("blank", "first_blank"):
        if template.startswith("{" + name + "} "):
            item = fields[name]
    return Unscored(template.format(**fields), item)


def _compute(plan: _Plan, given: dict[str, int]) -> Fraction | int | str:
    spec = plan.spec
    method = spec.method
    if method == "registered":
        return plan.function.compute(given)
    total = sum(given.values())
    n = len(given)
    if method == "sum":
        return total
    if method == "mean":
        return Fraction(total, n)
    if method == "prorated_sum":
        return Fraction(total * len(spec.items), n)
    if method == "percent_of_max":
        return Fraction(100 * total, sum(plan.highs[code] for code in given))
    if method == "transform_0_100":
        code = spec.items[0]
        low, high = plan.lows[code], plan.highs[code]
        transformed = Fraction(100 * (Fraction(total, n) - low), high - low)
        return 100 - transformed if spec.reverse else transformed
    if method == "lookup":
        return plan.table[total]
    if method == "value_set":
        return plan.table[int("".join(str(given[code]) for code in spec.items))]
    raise ValueError(f"{spec.key}: unknown method {method!r}")


def score_definition(definition: InstrumentDefinition, answers: Mapping[str, Any], *,
                     max_missing: MaxMissing = None) -> dict[str, object]:
    """Return every output key of ``definition`` for ``answers``, in order.

    A value is an exact ``Fraction`` or ``int``, a band label or a text (an EQ-5D health
    state), or ``Unscored(reason)``. ``max_missing`` maps score keys to the blanks a study
    allows instead of the file's (keys of other instruments are passed over; one number
    sets every score that allows blanks at all). Raises ``ScoringError`` for a bad value,
    ``NotScorable`` when no score (or a ``required`` one) can be computed, and
    ``ValueError`` for a ``max_missing`` the definition cannot take.
    """
    plans = _plans(definition)
    values = checked_answers(definition, answers)
    allowances = _allowances(definition, plans, max_missing)
    out: dict[str, object] = {}
    answered: dict[str, int] = {}
    refusal: Unscored | None = None
    for plan in plans:
        spec = plan.spec
        value: object
        if spec.source:
            source = out[spec.source]
            count = answered[spec.source]
            if isinstance(source, Unscored):
                value = source
            elif spec.method == "lookup":
                value = plan.table[source]  # type: ignore[index]
            else:
                value = count
        else:
            given: dict[str, int] = {}
            blank: list[str] = []
            for code in spec.items:
                raw = values[code]
                if raw is None:
                    blank.append(code)
                    continue
                if code in plan.recode:
                    raw = plan.recode[code][raw]
                elif code in plan.reverse:
                    raw = plan.reverse[code] - raw
                given[code] = raw
            count = len(given)
            allowed = spec.max_missing if allowances is None else allowances.get(
                spec.key, spec.max_missing)
            if len(blank) > allowed or not given:
                value = _reason(spec, blank, allowed)
            else:
                value = _compute(plan, given)
        answered[spec.key] = count
        out[spec.key] = value
        if spec.bands:
            out[spec.band_key] = value if isinstance(value, Unscored) else spec.band(value)
        if spec.required and refusal is None and isinstance(value, Unscored):
            refusal = value
    if refusal is None and all(isinstance(v, Unscored) for v in out.values()):
        reasons = {v.reason for v in out.values()}  # type: ignore[union-attr]
        if len(reasons) == 1:
            refusal = next(iter(out.values()))  # type: ignore[assignment]
        else:
            given_items = sum(v is not None for v in values.values())
            refusal = Unscored("no items answered" if not given_items else
                               f"{given_items} item{'' if given_items == 1 else 's'} "
                               "answered; too few for any score")
    if refusal is not None:
        item = refusal.item
        reason = refusal.reason[len(item) + 1:] if item else refusal.reason
        raise NotScorable(item or definition.code, reason, instrument=definition.code)
    return out


def numeric_keys(definition: InstrumentDefinition) -> tuple[str, ...]:
    """Return the output keys whose values are numbers (not bands, not texts)."""
    keys = []
    for spec in definition.score_defs:
        function = FUNCTIONS.get(spec.function) if spec.method == "registered" else None
        if function is None or function.returns == "number":
            keys.append(spec.key)
    return tuple(keys)


__all__ = ["max_missing_problems", "numeric_keys", "score_definition", "setting_problems"]
