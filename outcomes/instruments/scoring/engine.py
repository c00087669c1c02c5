"""The one scoring engine: every definition's scores, by the methods of SPEC 3.6.

``score_definition(definition, answers)`` validates the answers, then computes each
score of the definition in file order:

1. take the score's items' answers (or, for a score computed ``from`` another, that
   score's value and answered items; for a ``weighted_scores`` score, the values of the
   earlier scores its terms name, and if any is not scorable, so is it, naming them):
   an item not asked (its ``enable_when`` unmet) is left out, neither answered nor
   blank; a "not applicable" answer counts as blank;
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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..definitions.base import InstrumentDefinition, ScoreDef, disabled_items
from ..definitions.files import number_of, shown
from .base import NotScorable, ScoringError, Unscored, checked_answers
from .functions import FUNCTIONS

NEEDS_EVERY_ITEM = ("lookup", "registered", "value_set")

MaxMissing = Mapping[str, int] | int | None
"""A study's allowance of blank items: score key → items that may be blank. The old
form, one number, sets every score that allows blanks at all (the ODI's sections)."""


@dataclass(frozen=True)
class _Plan:
    """One score, ready to compute: the definition's data in the shapes the loop wants."""

    spec: ScoreDef
    key: str
    source: str
    items: tuple[str, ...]
    maps: dict[str, dict[int, int]]  # item → answer → value: recode, or min + max − value
    not_applicable: dict[str, frozenset[int]]  # item → its "not applicable" answers
    compute: Callable[[dict[str, int]], Any]
    table: dict[int, Fraction]
    read_by_lookup: bool


def _method(spec: ScoreDef, highs: dict[str, int], lows: dict[str, int], table, function
            ) -> Callable[[dict[str, int]], Any]:
    """Return the score's method as a function of its answered (recoded) values."""
    method, n = spec.method, len(spec.items)
    if method == "sum":
        return lambda given: sum(given.values())
    if method == "mean":
        return lambda given: Fraction(sum(given.values()), len(given))
    if method == "prorated_sum":
        return lambda given: Fraction(sum(given.values()) * n, len(given))
    if method == "percent_of_max":
        return lambda given: Fraction(100 * sum(given.values()),
                                      sum(highs[code] for code in given))
    if method == "transform_0_100":
        low = lows[spec.items[0]]
        span = highs[spec.items[0]] - low

        def transformed(given: dict[str, int]) -> Fraction:
            value = Fraction(100 * (Fraction(sum(given.values()), len(given)) - low), span)
            return 100 - value if spec.reverse else value

        return transformed
    if method == "lookup":
        return lambda given: _row(spec, table, sum(given.values()))
    if method == "value_set":
        # The answers in the items' order, as digits: "11111" is EQ-5D-5L's full health.
        return lambda given: _row(spec, table, int("".join(str(given[code])
                                                            for code in spec.items)))
    if method == "registered":
        return function.compute
    if method == "answered_count":
        return len
    if method == "weighted_scores":
        return spec.combined  # of the scores it reads (``_combined``), not of items
    raise ValueError(f"{spec.key}: unknown method {method!r}")


def _row(spec: ScoreDef, table: Mapping[int, Fraction], raw: int) -> Fraction:
    """Return ``table``'s row for ``raw``. A parsed definition has a row for every raw
    its items can give; one that has not is the definition's fault, said as such."""
    try:
        return table[raw]
    except KeyError:
        raise ScoringError(spec.key, f"its table has no row for {raw}: the definition "
                                     "cannot score these answers") from None


def _combined(spec: ScoreDef, out: Mapping[str, object]) -> object:
    """Return a ``weighted_scores`` score from the earlier scores in ``out``, exactly;
    ``Unscored`` naming the scores it reads that are not scorable, if any is."""
    unscorable = [key for key in spec.reads if isinstance(out[key], Unscored)]
    if len(unscorable) == 1:
        (key,) = unscorable
        return Unscored(f"{key} not scorable ({out[key].reason})")  # type: ignore[union-attr]
    if unscorable:
        return Unscored(f"{', '.join(unscorable)} not scorable ({len(unscorable)} of the "
                        f"{len(spec.reads)} scores it combines)")
    return spec.combined({key: out[key] for key in spec.reads})  # type: ignore[misc]


def _band(spec: ScoreDef, value: Any) -> str:
    """Return the band of ``value``; above the last band (a definition that should not
    have parsed), a ``ScoringError`` saying so, not a crash."""
    if value > spec.bands[-1][0]:
        raise ScoringError(spec.key, f"{shown(value)} is above its last band "
                                     f"({shown(spec.bands[-1][0])}): the definition cannot "
                                     "score these answers")
    return spec.band(value)


def _plans(definition: InstrumentDefinition) -> tuple[_Plan, ...]:
    cached = _PLANS.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    read_by_lookup = {s.source for s in definition.score_defs if s.method == "lookup"}
    plans = []
    for spec in definition.score_defs:
        recode = {code: dict(table) for code, table in spec.recode}
        lows, highs, maps = {}, {}, {}
        for code in spec.items:
            item = definition.item(code)
            if code in recode:
                maps[code] = recode[code]
                lows[code], highs[code] = min(recode[code].values()), max(recode[code].values())
            else:
                lows[code], highs[code] = item.min_value, item.max_value
            if code in spec.reverse_items:
                maps[code] = {v: item.min_value + item.max_value - v
                              for v in item.scored_values}
        function = None
        if spec.method == "registered":
            function = FUNCTIONS.get(spec.function)
            if function is None:
                raise LookupError(f"{definition.code}: {spec.key} names the scoring function "
                                  f"{spec.function!r}, which is not registered")
        table = dict(spec.table)
        not_applicable = {code: definition.item(code).not_applicable_values
                          for code in spec.items if definition.item(code).not_applicable_values}
        plans.append(_Plan(spec, spec.key, spec.source, spec.items, maps, not_applicable,
                           _method(spec, highs, lows, table, function), table,
                           spec.key in read_by_lookup))
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
        if spec.terms:
            problems.append(f"{spec.key}: combines other scores ({', '.join(spec.reads)}); "
                            "set the allowance of a score it reads instead")
        elif spec.source:
            problems.append(f"{spec.key}: computed from {spec.source}; set {spec.source}'s "
                            "allowance instead")
        elif type(value) is not int or not 0 <= value <= len(spec.items):
            problems.append(f"{spec.key}: expected an integer 0-{len(spec.items)} (its items), "
                            f"got {value!r}")
        elif value and (spec.method in NEEDS_EVERY_ITEM or plan.read_by_lookup):
            problems.append(f"{spec.key}: needs every item (a {spec.method}"
                            f"{' read by a lookup' if plan.read_by_lookup else ''}); must be 0")
        else:
            problem = _reach_problem(definition, spec, value)
            if problem:
                problems.append(problem)
    scores = {spec.key for spec in definition.score_defs}
    for key in setting:
        if key in keys and key not in scores:
            problems.append(f"{key}: a band follows its score; set {key[:-5]}'s allowance")
    return problems


def _reach_problem(definition: InstrumentDefinition, spec: ScoreDef, blanks: int) -> str:
    """Return why ``blanks`` allowed for ``spec`` break a ``weighted_scores`` score that
    reads it, or reads its ``answered_count`` ("" if they do not).

    The reader's range and bands are derived from the range of the score it reads, which
    the file's ``max_missing`` gives: with more blanks, a sum of items that start above 0
    (or end below it) reaches beyond it, as a count of the answers reaches below its
    own, and a negative weight takes the reader above its last band, a valid response a
    ``ScoringError``.
    """
    if blanks <= spec.max_missing:
        return ""
    conditional = sum(definition.item(code).enable_when is not None for code in spec.items)
    answered = range(max(1, len(spec.items) - blanks - conditional), len(spec.items) + 1)
    reached: list[tuple[ScoreDef, Any]] = []
    if spec.method == "sum":
        recode = {code: dict(table) for code, table in spec.recode}
        ends = [(min(recode[code].values()), max(recode[code].values())) if code in recode
                else (definition.item(code).min_value, definition.item(code).max_value)
                for code in spec.items]
        lows = sorted(low for low, _ in ends)
        highs = sorted((high for _, high in ends), reverse=True)
        lowest = min(sum(lows[:m]) for m in answered)
        highest = max(sum(highs[:m]) for m in answered)
        if lowest < number_of(spec.low):
            reached.append((spec, lowest))
        elif highest > number_of(spec.high):
            reached.append((spec, highest))
    for count in definition.score_defs:
        if (count.method == "answered_count" and count.source == spec.key
                and answered[0] < number_of(count.low)):
            reached.append((count, answered[0]))
    for score, end in reached:
        readers = [other.key for other in definition.score_defs if score.key in other.reads]
        if not readers:
            continue
        read = "read by" if score is spec else f"its count {score.key} is read by"
        allowed = f"at most {spec.max_missing}" if spec.max_missing else "0"
        return (f"{spec.key}: {read} {', '.join(readers)} (weighted_scores), whose range and "
                f"bands follow {score.key}'s {shown(number_of(score.low))} to "
                f"{shown(number_of(score.high))}; with {blanks} blank"
                f"{'' if blanks == 1 else 's'} {score.key} reaches {shown(end)}: must be "
                f"{allowed}, as its file allows")
    return ""


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


def _reason(spec: ScoreDef, blank: list[str], allowed: int,
            not_applicable: list[str] = (), asked: bool = True) -> Unscored:
    """Return why ``spec`` is not scorable with ``blank`` items blank (SPEC 3.7 wording).

    ``not_applicable`` are the items answered "not applicable" (counted with the blank
    ones); where they are among what made the score not scorable, the reason says so.
    ``asked`` False: every item of the score was left out by its condition.
    """
    if not asked:
        return Unscored("no items asked (each is asked only on a condition, not met)")
    if not_applicable:
        return _not_applicable_reason(spec, blank, allowed, list(not_applicable))
    missing = len(blank)
    if missing <= allowed:
        return Unscored("no items answered")
    template = spec.missing_reason
    if template and not allowed:
        # "at most 0 allowed" is said "none may be missing", as the default wording says it.
        template = template.replace("at most {allowed} allowed", "none may be missing")
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


def first_unscorable_reason(spec: ScoreDef) -> str:
    """Return the reason ``spec`` gives with one item more blank than its file allows.

    Its first ``max_missing`` + 1 items blank: what a data manager reads as the rule
    ("2 sections unanswered; at most 1 allowed"). "" for a score computed ``from``
    another, or one that allows every item blank.
    """
    if spec.source or spec.max_missing >= len(spec.items):
        return ""
    return _reason(spec, list(spec.items[:spec.max_missing + 1]), spec.max_missing).reason


def _not_applicable_reason(spec: ScoreDef, blank: list[str], allowed: int,
                           not_applicable: list[str]) -> Unscored:
    """The reason when "not applicable" answers are among the items without a value.

    A file's own ``missing_reason`` speaks of blanks only, so this wording is used
    whatever the file says: "drive not applicable", "2 items not applicable; at most
    1 allowed", "1 item unanswered and 1 not applicable; at most 1 allowed".
    """
    missing = len(blank) + len(not_applicable)
    if missing <= allowed:
        return Unscored("no items answered other than not applicable")

    def counted(n: int) -> str:
        return f"{n} item{'' if n == 1 else 's'}"

    if allowed == 0 and not blank:
        names = ", ".join(not_applicable)
        if len(spec.items) == 1:
            return Unscored(f"{names} not applicable", not_applicable[0])
        return Unscored(f"{names} not applicable; none may be missing",
                        not_applicable[0] if len(not_applicable) == 1 else "")
    if allowed == 0:
        return Unscored(f"{', '.join(blank)} unanswered, {', '.join(not_applicable)} not "
                        "applicable; none may be missing")
    if not blank:
        return Unscored(f"{counted(len(not_applicable))} not applicable; at most {allowed} "
                        "allowed")
    return Unscored(f"{counted(len(blank))} unanswered and {len(not_applicable)} not "
                    f"applicable; at most {allowed} allowed")


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
    disabled = disabled_items(definition, values)
    for code in disabled:
        if values[code] is not None:
            raise ScoringError(code, f"answered, but {condition_text(definition.items, code)}")
    allowances = None if max_missing is None else _allowances(definition, plans, max_missing)
    out: dict[str, object] = {}
    answered: dict[str, int] = {}
    refusal: Unscored | None = None
    scored_any = False
    for plan in plans:
        spec = plan.spec
        value: object
        if plan.source:
            source = out[plan.source]
            count = answered[plan.source]
            if isinstance(source, Unscored):
                value = source
            elif plan.table:
                value = _row(spec, plan.table, source)  # type: ignore[arg-type]
                scored_any = True
            else:
                value = count
                scored_any = True
        elif spec.terms:
            count = 0  # it reads scores, not items
            value = _combined(spec, out)
            scored_any = scored_any or not isinstance(value, Unscored)
        else:
            given: dict[str, int] = {}
            blank: list[str] = []
            inapplicable: list[str] = []
            maps = plan.maps
            for code in plan.items:
                raw = values[code]
                if code in disabled:
                    continue  # not asked: neither answered nor blank
                if raw is None:
                    blank.append(code)
                elif raw in plan.not_applicable.get(code, ()):
                    inapplicable.append(code)
                else:
                    mapped = maps.get(code)
                    given[code] = raw if mapped is None else mapped[raw]
            count = len(given)
            allowed = spec.max_missing if allowances is None else allowances.get(
                plan.key, spec.max_missing)
            if len(blank) + len(inapplicable) > allowed or not given:
                value = _reason(spec, blank, allowed, inapplicable,
                                asked=bool(given or blank or inapplicable))
            elif spec.method == "prorated_sum" and disabled:
                # Prorated over the items asked: one not asked is not part of the sum.
                asked = len(given) + len(blank) + len(inapplicable)
                value = Fraction(sum(given.values()) * asked, len(given))
                scored_any = True
            else:
                value = plan.compute(given)
                scored_any = True
        answered[plan.key] = count
        out[plan.key] = value
        if spec.bands:
            out[spec.band_key] = value if isinstance(value, Unscored) else _band(spec, value)
        if spec.required and refusal is None and isinstance(value, Unscored):
            refusal = value
    if refusal is None and not scored_any:
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


def condition_text(items, code: str) -> str:
    """Return when item ``code`` of ``items`` (a definition's) is asked, in words:
    "asked only if uses_aid is 1 (Yes)"."""
    by_code = {item.code: item for item in items}
    condition = by_code[code].enable_when
    ref = by_code[condition.item]
    labels = {o.value: o.label for o in ref.options}

    def answer(value: int) -> str:
        return f"{value} ({labels[value]})" if value in labels else str(value)

    if condition.operator == "exists":
        return (f"asked only if {ref.code} is answered" if condition.exists
                else f"asked only if {ref.code} is blank")
    shown = " or ".join(answer(v) for v in condition.answers)
    if condition.operator == "!=":
        return f"asked only if {ref.code} is answered and is not {shown}"
    return f"asked only if {ref.code} is {shown}"


def numeric_keys(definition: InstrumentDefinition) -> tuple[str, ...]:
    """Return the output keys whose values are numbers (not bands, not texts)."""
    keys = []
    for spec in definition.score_defs:
        function = FUNCTIONS.get(spec.function) if spec.method == "registered" else None
        if function is None or function.returns == "number":
            keys.append(spec.key)
    return tuple(keys)


__all__ = ["condition_text", "first_unscorable_reason", "max_missing_problems", "numeric_keys",
           "score_definition",
           "setting_problems"]
