"""Definition files (SPEC 3.6): parse and check a whole file, and write one back out.

``parse_definition`` takes the decoded file (a mapping, as ``json.load`` gives it) and
returns an ``InstrumentDefinition``, or raises ``DefinitionError`` listing every problem
found, one line each, naming its key path (``scores[0].items: no item 'phq10'``). It
checks everything the engine relies on, so a definition that parses scores any valid
answers without an error of its own. ``definition_to_dict`` is its inverse:
``parse_definition(definition_to_dict(d)) == d``. The format, with this project's
extensions, is in ``docs/instruments.md``. Pure: no Django.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import itertools
import json
import math
import operator
import re
import string
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from .base import (
    OPERATORS,
    AlertDef,
    Anchor,
    EnableWhen,
    InstrumentDefinition,
    Item,
    Number,
    Option,
    ScoreDef,
    Standardized,
    Term,
)

CODE = re.compile(r"[a-z][a-z0-9_]*\Z")
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z")
LOINC = re.compile(r"\d{1,7}-\d\Z")
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
"""NUL and lone surrogates: valid in JSON text (``\\u0000``), held by no database text."""
CODE_LENGTH = 32
"""Item codes and score keys are stored in 32-character columns (``Score.code``)."""
ITEM_VALUES = 1000
"""An item's values (option values, a scale's min and max, a recode's new values) are
integers from -1000 to 1000: real instruments use 0-10, 1-5, a 0-100 VAS."""
SCALE_SPAN = 1000
"""A scale has at most 1001 numbers (max - min at most 1000): a 0-100 VAS has 101."""
SCORE_MAGNITUDE = 10**9
"""A score's values, bands and range are within +-10^9: ``Score.value`` keeps 10 digits
before the point (a ``DecimalField(20, 10)``)."""
SCORE_PLACES = 10
"""... and 10 after it: a number a file gives has at most 10 decimal places."""
SCORE_DIGITS = 15
"""... and at most 15 significant digits, so the file written back out keeps it exactly
(a JSON number is read and written as a float's shortest repr)."""
LOOKUP_ROWS = 1000
"""A lookup's raw score spans at most this many sums (PROMIS tables have 17 to 41 rows)."""
PROFILES = 100_000
"""A value set has at most this many profiles (EQ-5D-5L has 3125, STarT Back 1280)."""

METHODS = ("sum", "mean", "prorated_sum", "percent_of_max", "transform_0_100", "lookup",
           "answered_count", "registered", "value_set", "weighted_scores")
"""SPEC 3.6's methods, then this project's extensions (``docs/instruments.md``)."""
DIRECTIONS = ("lower_is_better", "higher_is_better")
KINDS = ("choice", "scale")
REASON_FIELDS = frozenset({"missing", "allowed", "items", "blank", "first_blank", "s"})
"""The placeholders a ``missing_reason`` may use (``docs/instruments.md``)."""
NEEDS_EVERY_ITEM = ("lookup", "registered", "value_set")
"""Methods whose result means nothing with an item blank: their ``max_missing`` is 0."""

TOP_REQUIRED = ("code", "version", "title", "short_title", "licence", "source", "items",
                "scores")
TOP_OPTIONAL = ("scoring_version", "recall_period", "languages", "alerts")
ITEM_KEYS = ("code", "text", "kind", "required", "options", "min", "max", "enable_when")
OPTION_KEYS = ("value", "label")
OPTION_OPTIONAL = ("not_applicable",)
CONDITION_KEYS = ("item", "operator", "answer")
SCORE_KEYS = ("key", "label", "method", "items", "from", "max_missing", "direction",
              "bands", "table", "reverse", "reverse_items", "recode", "function",
              "missing_reason", "reported", "required", "decimals", "unit", "loinc",
              "loinc_display", "low", "high", "anchor", "terms", "metric")
TERM_KEYS = ("weight", "scores")
STANDARDIZED_KEYS = ("score", "mean", "sd")
METRIC_KEYS = ("mean", "sd")
READS_ITEMS = ("items", "from", "max_missing", "reverse_items", "recode", "missing_reason")
"""What a score computed over items (or ``from`` one) may say, and a ``weighted_scores``
score, which reads other scores, may not."""
BAND_KEYS = ("upto", "label")
ANCHOR_KEYS = ("label", "improved_upto", "improved_from")
ALERT_KEYS = ("key", "when", "staff_message", "patient_message")
WHEN_KEYS = ("item", "score", "at_least", "at_most")


class DefinitionError(ValueError):
    """A definition file that cannot be used; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


def shown(value: Any) -> str:
    """Return ``value`` as the file would spell it: ``"2"``, ``2.5``, ``true`` (an exact
    number that has no decimal form as its fraction, ``100/3``)."""
    if isinstance(value, Fraction):
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
        return format(decimal.normalize(), "f") if Fraction(decimal) == value else str(value)
    if isinstance(value, Decimal):
        return str(value)
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def number_of(value: Any) -> Number | None:
    """Return a JSON number as an exact int or Fraction (None if it is not a number).

    A float is taken as the decimal it prints as (``16.2`` is 162/10, not the binary
    neighbour), so a file read with the standard ``json`` module stays exact.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return None
        exact = Fraction(repr(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            return None
        exact = Fraction(value)
    elif isinstance(value, Fraction):
        exact = value
    else:
        return None
    return exact.numerator if exact.denominator == 1 else exact


class _Checker:
    """Collects problems, each prefixed with its key path."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def keys(self, path: str, data: Mapping, required: Collection[str],
             allowed: Collection[str]) -> None:
        """Name every required key absent and every key unknown (with a likely meaning)."""
        for key in required:
            self.present(path, data, key)
        known = set(required) | set(allowed)
        for key in data:
            if key not in known:
                close = difflib.get_close_matches(str(key), sorted(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.add(_join(path, str(key)), f"unknown key{hint}")

    def present(self, path: str, data: Mapping, key: str, why: str = "") -> bool:
        """Say unless ``data`` has ``key``: "missing", or "missing (why)"."""
        if key in data:
            return True
        self.add(_join(path, key), f"missing ({why})" if why else "missing")
        return False

    def mapping(self, path: str, value: Any) -> bool:
        if isinstance(value, Mapping):
            return True
        self.add(path, f"expected an object, got {shown(value)}")
        return False

    def array(self, path: str, value: Any, *, nonempty: bool = True) -> bool:
        if not isinstance(value, list | tuple):
            self.add(path, f"expected a list, got {shown(value)}")
            return False
        if nonempty and not value:
            self.add(path, "must not be empty")
            return False
        return True

    def text(self, path: str, value: Any, *, limit: int | None = None,
             empty: bool = False) -> str | None:
        if not isinstance(value, str):
            self.add(path, f"expected text, got {shown(value)}")
            return None
        if not empty and not value.strip():
            self.add(path, "must not be empty")
            return None
        if limit is not None and len(value) > limit:
            self.add(path, f"at most {limit} characters, got {len(value)}")
            return None
        unstorable = UNSTORABLE.search(value)
        if unstorable:
            # PostgreSQL's text and jsonb hold neither: the import would fail to save.
            self.add(path, f"contains U+{ord(unstorable.group()):04X}, a character text "
                           "cannot hold")
            return None
        return value

    def code(self, path: str, value: Any) -> str | None:
        text = self.text(path, value, limit=CODE_LENGTH)
        if text is None:
            return None
        if not re.fullmatch(r"[a-z0-9_]+", text):
            self.add(path, "must be lower-case letters, digits and underscores")
            return None
        if not CODE.match(text):
            self.add(path, "must start with a letter")
            return None
        return text

    def integer(self, path: str, value: Any) -> int | None:
        if type(value) is not int:
            self.add(path, f"expected an integer, got {shown(value)}")
            return None
        return value

    def item_value(self, path: str, value: Any) -> int | None:
        """Return an item's value (an option's, a scale's end, a recode's): an integer
        within +-``ITEM_VALUES``."""
        number = self.integer(path, value)
        if number is not None and not -ITEM_VALUES <= number <= ITEM_VALUES:
            self.add(path, f"an item's values are {-ITEM_VALUES} to {ITEM_VALUES}, "
                           f"got {number}")
            return None
        return number

    def number(self, path: str, value: Any) -> Number | None:
        exact = number_of(value)
        if exact is None:
            self.add(path, f"expected a number, got {shown(value)}")
        return exact

    def score_number(self, path: str, value: Any) -> Number | None:
        """Return a number a score can take (a table's value, a band's bound, a low or
        high) as an exact int or Fraction, if a stored score holds it and the file's
        writer writes it (``SCORE_MAGNITUDE``, ``SCORE_PLACES``, ``SCORE_DIGITS``)."""
        exact = self.number(path, value)
        if exact is None:
            return None
        why = score_number_problem(exact)
        if why:
            self.add(path, f"{why}, got {shown(value)}")
            return None
        return exact

    def coefficient(self, path: str, value: Any, *, positive: bool = False,
                    nonzero: bool = False) -> Number | None:
        """Return a weight, a mean or an SD a file gives (``weighted_scores``) as an exact
        int or Fraction: a number the file, written back out, keeps exactly."""
        exact = self.number(path, value)
        if exact is None:
            return None
        why = coefficient_problem(exact)
        if why:
            self.add(path, f"{why}, got {shown(value)}")
            return None
        if positive and exact <= 0:
            self.add(path, f"must be above 0, got {shown(value)}")
            return None
        if nonzero and exact == 0:
            self.add(path, "a weight of 0 adds nothing: leave the term out")
            return None
        return exact

    def boolean(self, path: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.add(path, f"expected true or false, got {shown(value)}")
            return None
        return value

    def fraction(self, path: str, value: Any) -> Fraction | None:
        """Return a table's value as a ``Fraction``, as ``score_number`` checks it."""
        exact = self.score_number(path, value)
        return None if exact is None else Fraction(exact)

    def given(self, path: str, data: Mapping, key: str, kind: Callable[..., Any],
              default: Any = None, **options: Any) -> Any:
        """Return ``data[key]`` checked by ``kind`` (``self.text``, ``self.integer`` ...)
        at ``path.key``, or ``default`` where the file leaves the key out."""
        if key not in data:
            return default
        return kind(_join(path, key), data[key], **options)

    def one_of(self, path: str, value: Any, choices: tuple[str, str]) -> bool:
        """Say unless ``value`` is one of two words: "must be 'choice' or 'scale', got ..."."""
        if value in choices:
            return True
        self.add(path, f"must be '{choices[0]}' or '{choices[1]}', got {shown(value)}")
        return False

    def rows(self, path: str, table: Mapping, key_of: Callable[[Any, dict], Any],
             value_of: Callable[[str, Any], Any]) -> dict | None:
        """Return a table's rows (``recode``, ``table``) checked: ``{key: value}``, or None
        when any row has a problem, each named at ``path.<row>``.

        ``key_of(raw, rows so far)`` returns the row's key, or a ``_Refused`` saying why
        not; ``value_of`` is the checker of its value (``self.integer``, ``self.fraction``).
        """
        rows: dict = {}
        ok = True
        for raw, value in table.items():
            here = f"{path}.{raw}"
            key = key_of(raw, rows)
            if isinstance(key, _Refused):
                self.add(here, key.message)
                ok = False
                continue
            checked = value_of(here, value)
            if checked is None:
                ok = False
                continue
            rows[key] = checked
        return rows if ok else None


def score_number_problem(value: Number) -> str:
    """Return why a score cannot take the exact number ``value`` ("" if it can)."""
    exact = Fraction(value)
    if abs(exact) > SCORE_MAGNITUDE:
        return f"at most {SCORE_MAGNITUDE:,} either side of 0 (what a stored score holds)"
    scaled = exact * 10**SCORE_PLACES
    if scaled.denominator != 1:
        return f"at most {SCORE_PLACES} decimal places (what a stored score keeps)"
    digits = str(abs(scaled.numerator)).rstrip("0")
    if len(digits) > SCORE_DIGITS:
        return f"at most {SCORE_DIGITS} significant digits (what the file keeps when written)"
    return ""


def coefficient_problem(value: Number) -> str:
    """Return why a file cannot give the exact number ``value`` as a weight, a mean or an
    SD ("" if it can): within +-10^9, at most 10 decimal places and 15 significant
    digits, so that the file written back out keeps it exactly."""
    exact = Fraction(value)
    if abs(exact) > SCORE_MAGNITUDE:
        return f"at most {SCORE_MAGNITUDE:,} either side of 0"
    scaled = exact * 10**SCORE_PLACES
    if scaled.denominator != 1:
        return f"at most {SCORE_PLACES} decimal places (what the file keeps when written)"
    if len(str(abs(scaled.numerator)).rstrip("0")) > SCORE_DIGITS:
        return f"at most {SCORE_DIGITS} significant digits (what the file keeps when written)"
    return ""


@dataclass(frozen=True)
class _Refused:
    """Why a table row's key is not one: what a key check of ``_Checker.rows`` returns."""

    message: str


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _plain(value: Number) -> int | float | None:
    """Return an exact number as the int or float a person reads (for ``low``/``high``)."""
    if value is None:
        return None
    exact = Fraction(value)
    return exact.numerator if exact.denominator == 1 else float(exact)


# -- items -------------------------------------------------------------------------------


def _item(check: _Checker, path: str, data: Any) -> Item | None:
    if not check.mapping(path, data):
        return None
    kind = data.get("kind")
    check.keys(path, data, ("code", "text", "kind"), ITEM_KEYS)
    code = check.given(path, data, "code", check.code)
    text = check.given(path, data, "text", check.text)
    if "kind" in data:
        check.one_of(_join(path, "kind"), kind, KINDS)
    required = check.given(path, data, "required", check.boolean, True)
    options = _options(check, path, data.get("options"), "options" in data,
                       nonempty=kind != "scale")
    low = high = None
    if kind == "choice":
        for key in ("min", "max"):
            if key in data:
                check.add(_join(path, key), "only a scale item has min and max "
                                            "(a choice item's values are its options')")
        if check.present(path, data, "options", "a choice item needs its options") and (
                options is not None):
            scored = [o for o in options if o is not None and not o.not_applicable]
            if len(options) < 2:
                check.add(_join(path, "options"), "a choice item needs at least 2 options")
            elif len(scored) < 2 and all(o is not None for o in options):
                check.add(_join(path, "options"), "a choice item needs at least 2 options "
                                                  "that are scored (not 'not applicable')")
            elif all(o is not None for o in options):
                values = [o.value for o in scored]
                low, high = min(values), max(values)
                for number, option in enumerate(options):
                    if option.not_applicable and low <= option.value <= high:
                        check.add(f"{path}.options[{number}].value",
                                  f"a 'not applicable' answer lies outside the scored values "
                                  f"({low}-{high}), so no one reads it as a score; got "
                                  f"{option.value}")
                        low = high = None
                        break
    elif kind == "scale":
        for key in ("min", "max"):
            check.present(path, data, key, "a scale item needs min and max")
        low = check.given(path, data, "min", check.item_value)
        high = check.given(path, data, "max", check.item_value)
        if low is not None and high is not None and low >= high:
            check.add(_join(path, "max"), f"must be above min ({low}), got {high}")
            low = high = None
        elif low is not None and high is not None and high - low > SCALE_SPAN:
            check.add(_join(path, "max"), f"a scale spans at most {SCALE_SPAN} (min to max), "
                                          f"got {low}-{high}")
            low = high = None
        for number, option in enumerate(options or ()):
            if option is not None and option.not_applicable:
                check.add(f"{path}.options[{number}].not_applicable",
                          "only a choice item's options may be 'not applicable' (a scale "
                          "item's options label its numbers)")
                low = high = None
        if options and low is not None and high is not None:
            for number, option in enumerate(options):
                if option is not None and not low <= option.value <= high:
                    check.add(f"{path}.options[{number}].value",
                              f"an anchor must be within {low}-{high}, got {option.value}")
    if None in (code, text, required, low, high) or kind not in KINDS or (
            options is not None and None in options):
        return None
    return Item(code, text, tuple(options or ()), low, high, kind=kind, required=required)


def _options(check: _Checker, path: str, data: Any, present: bool, *, nonempty: bool
             ) -> list | None:
    if not present:
        return None
    opath = _join(path, "options")
    if not check.array(opath, data, nonempty=nonempty):
        return None
    options: list[Option | None] = []
    seen_values: dict[int, int] = {}
    seen_labels: dict[str, int] = {}
    for number, entry in enumerate(data):
        here = f"{opath}[{number}]"
        if not check.mapping(here, entry):
            options.append(None)
            continue
        check.keys(here, entry, OPTION_KEYS, OPTION_OPTIONAL)
        value = check.given(here, entry, "value", check.item_value)
        not_applicable = False
        if "not_applicable" in entry:
            not_applicable = check.boolean(f"{here}.not_applicable", entry["not_applicable"])
            if not_applicable is None:
                value = None
        label = check.given(here, entry, "label", check.text)
        if value is not None:
            if value in seen_values:
                check.add(f"{here}.value", f"{value} is also options[{seen_values[value]}]'s")
                value = None
            else:
                seen_values[value] = number
        if label is not None:
            if label in seen_labels:
                check.add(f"{here}.label",
                          f"{shown(label)} is also options[{seen_labels[label]}]'s")
                label = None
            else:
                seen_labels[label] = number
        options.append(None if value is None or label is None
                       else Option(value, label, bool(not_applicable)))
    return options


def _condition(check: _Checker, path: str, data: Any, code: str, earlier: Mapping[str, Item],
               every: Collection[str], broken: Collection[str]) -> EnableWhen | None:
    """Check an item's ``enable_when``: a test of an earlier item's answer.

    Only an earlier item may be named, so conditions can never form a cycle, and a page
    read top to bottom always knows whether a question applies when it reaches it.
    """
    cpath = _join(path, "enable_when")
    if not check.mapping(cpath, data):
        return None
    check.keys(cpath, data, ("item",), CONDITION_KEYS)
    if "item" not in data:
        return None
    ref = data["item"]
    ipath = _join(cpath, "item")
    if not isinstance(ref, str):
        check.add(ipath, f"expected an item code, got {shown(ref)}")
        return None
    if ref in broken:
        return None  # that item's own problems are listed already
    if ref == code:
        check.add(ipath, "an item cannot be asked on a condition of its own answer")
        return None
    if ref not in earlier:
        check.add(ipath, f"{ref!r} comes after this item: a condition names an earlier item"
                  if ref in every else f"no item {ref!r}")
        return None
    item = earlier[ref]
    operator = data.get("operator", "=")
    if operator not in OPERATORS:
        check.add(_join(cpath, "operator"), f"must be '=', '!=' or 'exists', got "
                                            f"{shown(operator)}")
        return None
    apath = _join(cpath, "answer")
    if operator == "exists":
        exists = check.boolean(apath, data["answer"]) if "answer" in data else True
        return None if exists is None else EnableWhen(ref, operator, (), exists)
    if "answer" not in data:
        check.add(apath, f"missing (the answer of {ref} the item depends on, or a list)")
        return None
    given = data["answer"]
    listed = given if isinstance(given, list) else [given]
    if not listed:
        check.add(apath, "must not be empty")
        return None
    answers: list[int] = []
    for value in listed:
        if type(value) is not int:
            check.add(apath, f"expected an integer or a list of integers, got {shown(value)}")
            return None
        if value not in item.values:
            check.add(apath, f"{value} is not an answer of {ref} "
                             f"({', '.join(map(str, item.values))})"
                      if item.kind == "choice" else
                      f"{value} is not an answer of {ref} ({item.min_value}-{item.max_value})")
            return None
        if value in answers:
            check.add(apath, f"{value} is listed twice")
            return None
        answers.append(value)
    return EnableWhen(ref, operator, tuple(answers))


# -- scores ------------------------------------------------------------------------------


class _Scores:
    """Checks the ``scores`` list against the items (which must have parsed)."""

    def __init__(self, check: _Checker, items: dict[str, Item], broken: set[str],
                 functions: Mapping[str, Any] | None, every: Collection[str] = ()):
        self.check = check
        self.items = items
        self.broken = broken
        self.functions = functions
        self.every = every  # every score key the file gives, to tell "later" from "none"
        self.parsed: dict[str, ScoreDef | None] = {}
        self.paths: dict[str, str] = {}
        # Each parsed score's (low, high), exact: a ScoreDef holds an end with no short
        # decimal form (a weighted_scores score's) as a float, which a score reading it
        # must not take for the end (7 x a float 5/7 is not 5).
        self.ranges: dict[str, tuple[Number | None, Number | None]] = {}

    def values(self, item: Item, recode: Mapping[str, Mapping[int, int]]) -> tuple[int, int]:
        """Return an item's (lowest, highest) value once recoded and reversed."""
        if item.code in recode:
            mapped = recode[item.code].values()
            return min(mapped), max(mapped)
        return item.min_value, item.max_value

    def score(self, path: str, data: Any, number: int) -> ScoreDef | None:
        check = self.check
        if not check.mapping(path, data):
            return None
        check.keys(path, data, ("key", "label", "method"), SCORE_KEYS)
        key = check.given(path, data, "key", check.code)
        label = check.given(path, data, "label", check.text, limit=200)
        method = data.get("method")
        if "method" in data and method not in METHODS:
            check.add(_join(path, "method"),
                      f"unknown method {shown(method)}; known: {', '.join(METHODS)}")
            method = None
        ok = key is not None and label is not None and method is not None
        if key is not None:
            if key in self.paths or any(
                    key == f"{other}_band" for other in self.paths):
                check.add(_join(path, "key"), f"{shown(key)} is also another score's key")
                ok = False
            elif key.endswith("_band") and key[:-5] in self.paths:
                check.add(_join(path, "key"), f"{shown(key)} is the band key of {key[:-5]}")
                ok = False
            else:
                self.paths[key] = path
        flags = {}
        for flag in ("reported", "required", "reverse"):
            flags[flag] = check.given(path, data, flag, check.boolean, flag == "reported")
            ok = ok and flags[flag] is not None
        reported = flags["reported"]
        if "reverse" in data and method != "transform_0_100":
            check.add(_join(path, "reverse"), "only transform_0_100 takes reverse")
            ok = False
        direction = data.get("direction", "")
        if "direction" in data and not check.one_of(_join(path, "direction"), direction,
                                                    DIRECTIONS):
            ok = False
        elif "direction" not in data and reported:
            check.add(_join(path, "direction"),
                      "missing (a reported score says which way is better)")
            ok = False
        decimals = check.given(path, data, "decimals", check.integer, 1)
        if decimals is not None and not 0 <= decimals <= 6:
            check.add(_join(path, "decimals"), f"must be 0-6, got {decimals}")
            decimals = None
        unit = check.given(path, data, "unit", check.text, "{score}", limit=32)
        loinc = check.given(path, data, "loinc", check.text, "", empty=True)
        if loinc and not LOINC.match(loinc):
            check.add(_join(path, "loinc"), f"not a LOINC code: {shown(loinc)}")
            loinc = None
        loinc_display = check.given(path, data, "loinc_display", check.text, "", limit=255)
        if loinc_display and not loinc:
            check.add(_join(path, "loinc_display"), "a LOINC name without a 'loinc' code")
            loinc_display = None
        ok = ok and None not in (decimals, unit, loinc, loinc_display)

        inputs = self.inputs(path, data, method)
        if inputs is None:
            ok = False
            inputs = {}
        table = self.table(path, data, method, inputs) if method else ()
        function = self.function(path, data, method, inputs.get("items", ()))
        low, high, range_ok = self.range(path, data, method, inputs, table, function)
        bands = self.bands(path, data, high, function)
        reason = ""
        if "missing_reason" in data:
            reason = self.reason(path, data)
        anchor: Anchor | bool | None = None
        if "anchor" in data:
            anchor = self.anchor(path, data["anchor"], direction, reported, low, high)
            ok = ok and anchor is not False
        if None in (table, function, bands, reason) or not range_ok:
            ok = False
        if not ok:
            self.parsed[key or f"#{number}"] = None
            return None
        parsed = ScoreDef(
            key, label, _plain(low), _plain(high), direction, decimals=decimals, unit=unit,
            loinc=loinc, loinc_display=loinc_display, bands=bands, method=method,
            items=inputs.get("items", ()),
            max_missing=inputs.get("max_missing", 0), source=inputs.get("source", ""),
            reverse=flags["reverse"], reverse_items=inputs.get("reverse_items", ()),
            recode=inputs.get("recode", ()), table=table, function=function or "",
            missing_reason=reason, reported=reported, required=flags["required"],
            anchor=anchor or None, terms=inputs.get("terms", ()),
            metric=inputs.get("metric", (0, 1)),
        )
        self.parsed[key] = parsed
        self.ranges[key] = (low, high)
        return parsed

    def inputs(self, path: str, data: Mapping, method: str | None) -> dict | None:
        """Check what a score is computed from: ``items`` (and their options), or ``from``."""
        check = self.check
        result: dict[str, Any] = {}
        if method == "weighted_scores":
            return self.weighted(path, data)
        for key in ("terms", "metric"):
            if key in data:
                check.add(_join(path, key), "only weighted_scores takes terms and metric")
                return None
        if "from" in data:
            if method is not None and method not in ("lookup", "answered_count"):
                check.add(_join(path, "from"), "only lookup and answered_count take from")
                return None
            for key in ("items", "max_missing", "reverse_items", "recode", "missing_reason"):
                if key in data:
                    check.add(_join(path, key), "a score computed from another takes that "
                                                "one's items and blanks; leave this out")
                    return None
            source = data["from"]
            if not isinstance(source, str) or source not in self.parsed:
                check.add(_join(path, "from"), f"no earlier score {shown(source)}")
                return None
            parsed = self.parsed[source]
            if parsed is None:
                return None
            if parsed.terms:
                check.add(_join(path, "from"), f"{source} combines other scores; it has no "
                                               "items to count or raw sum to look up")
                return None
            if parsed.source:
                check.add(_join(path, "from"), f"{source} is itself computed from "
                                               f"{parsed.source}; name {parsed.source}")
                return None
            if method == "lookup":
                uncertain = self.not_always_scored(parsed.items)
                if uncertain:
                    check.add(_join(path, "from"), f"a lookup needs every item; {source}'s "
                                                   f"{uncertain}")
                    return None
                if parsed.method != "sum":
                    check.add(_join(path, "from"), f"a lookup reads a raw sum; {source} "
                                                   f"is a {parsed.method}")
                    return None
                if parsed.max_missing:
                    check.add(_join(path, "from"), f"a lookup needs every item; {source} "
                                                   f"allows {parsed.max_missing} blank")
                    return None
            return {"source": source, "items": (), "max_missing": 0, "of": parsed,
                    "conditional": self.conditional(parsed.items)}
        if method == "answered_count":
            check.add(_join(path, "from"), "missing (answered_count counts the answered "
                                           "items of the score it names)")
            return None
        if not check.present(path, data, "items"):
            return None
        ipath = _join(path, "items")
        if not check.array(ipath, data["items"]):
            return None
        codes: list[str] = []
        ok = True
        for number, code in enumerate(data["items"]):
            if isinstance(code, str) and code in self.broken:
                ok = False  # the item's own problems are listed already
            elif not isinstance(code, str) or code not in self.items:
                named = repr(code) if isinstance(code, str) else shown(code)
                check.add(ipath, f"no item {named}")
                ok = False
            elif code in codes:
                check.add(f"{ipath}[{number}]", f"{code} is listed twice")
                ok = False
            else:
                codes.append(code)
        if not ok:
            return None
        if method in NEEDS_EVERY_ITEM:
            uncertain = self.not_always_scored(codes)
            if uncertain:
                check.add(ipath, f"a {method} needs every item; {uncertain}")
                return None
        result["items"] = tuple(codes)
        result["conditional"] = self.conditional(codes)
        mm = check.given(path, data, "max_missing", check.integer, 0)
        if mm is None:
            return None
        if not 0 <= mm <= len(codes):
            check.add(_join(path, "max_missing"), f"must be 0-{len(codes)} (the score has "
                                                  f"{len(codes)} items), got {mm}")
            return None
        if mm and method in NEEDS_EVERY_ITEM:
            check.add(_join(path, "max_missing"), f"{method} needs every item; must be 0")
            return None
        result["max_missing"] = mm
        recode: dict[str, dict[int, int]] = {}
        if "recode" in data:
            recode = self.recode(path, data["recode"], codes)
            if recode is None:
                return None
            result["recode"] = tuple(
                (code, tuple(sorted(recode[code].items()))) for code in codes if code in recode)
        if method == "value_set":
            for key in ("recode", "reverse_items"):
                if key in data:
                    check.add(_join(path, key), "a value_set reads the answers as given; "
                                                "leave this out")
                    return None
        if "reverse_items" in data:
            rpath = _join(path, "reverse_items")
            if not check.array(rpath, data["reverse_items"]):
                return None
            reverse: list[str] = []
            for number, code in enumerate(data["reverse_items"]):
                if not isinstance(code, str) or code not in codes:
                    check.add(rpath, f"{shown(code)} is not one of the score's items")
                    return None
                if code in reverse:
                    check.add(f"{rpath}[{number}]", f"{code} is listed twice")
                    return None
                if code in recode:
                    check.add(f"{rpath}[{number}]", f"{code} is recoded too; recode it "
                                                    "straight to the reversed values")
                    return None
                reverse.append(code)
            result["reverse_items"] = tuple(c for c in codes if c in reverse)
        result["ranges"] = {code: self.values(self.items[code], recode) for code in codes}
        return result

    def weighted(self, path: str, data: Mapping) -> dict | None:
        """Check a ``weighted_scores`` score's ``terms`` and ``metric``.

        Each term is a nonzero weight and one or more earlier scores of the file, each
        with the mean and SD that standardize it; a score is read once. Only an earlier
        score may be named, so no score reads itself through others (no cycle), and
        each is computed before the scores that read it.
        """
        check = self.check
        ok = True
        for key in READS_ITEMS:
            if key in data:
                check.add(_join(path, key), "a weighted_scores score reads the scores its "
                                            "terms name, not items: leave this out")
                ok = False
        if not check.present(path, data, "terms", "the scores it combines, with their "
                                                  "weights"):
            return None
        tpath = _join(path, "terms")
        if not check.array(tpath, data["terms"]) or not ok:
            return None
        own = data.get("key")
        terms: list[Term] = []
        seen: dict[str, str] = {}
        ranges: dict[str, tuple[Number | None, Number | None]] = {}
        for number, entry in enumerate(data["terms"]):
            here = f"{tpath}[{number}]"
            if not check.mapping(here, entry):
                ok = False
                continue
            check.keys(here, entry, TERM_KEYS, ())
            weight = check.given(here, entry, "weight", check.coefficient, nonzero=True)
            scores: list[Standardized] = []
            spath = _join(here, "scores")
            if "scores" in entry and check.array(spath, entry["scores"]):
                for index, given in enumerate(entry["scores"]):
                    standardized = self.standardized(f"{spath}[{index}]", given, own, seen)
                    if standardized is None:
                        ok = False
                        continue
                    scores.append(standardized)
                    ranges[standardized.score] = self.ranges[standardized.score]
            else:
                ok = False
            if weight is None or not scores or any(key not in entry for key in TERM_KEYS):
                ok = False
                continue
            terms.append(Term(weight, tuple(scores)))
        metric: tuple[Number, Number] = (0, 1)
        if "metric" in data:
            mpath = _join(path, "metric")
            given = data["metric"]
            if not check.mapping(mpath, given):
                return None
            check.keys(mpath, given, METRIC_KEYS, ())
            mean = check.given(mpath, given, "mean", check.coefficient)
            sd = check.given(mpath, given, "sd", check.coefficient, positive=True)
            if mean is None or sd is None or any(key not in given for key in METRIC_KEYS):
                return None
            metric = (mean, sd)
        if not ok:
            return None
        return {"terms": tuple(terms), "metric": metric, "items": (), "max_missing": 0,
                "score_ranges": ranges}

    def standardized(self, path: str, data: Any, own: Any, seen: dict[str, str]
                     ) -> Standardized | None:
        """Check one score a term reads: an earlier numeric score, its mean and SD."""
        check = self.check
        if not check.mapping(path, data):
            return None
        before = len(check.problems)
        check.keys(path, data, STANDARDIZED_KEYS, ())
        mean = check.given(path, data, "mean", check.coefficient)
        sd = check.given(path, data, "sd", check.coefficient, positive=True)
        key = data.get("score")
        kpath = _join(path, "score")
        if "score" not in data:
            return None
        if not isinstance(key, str):
            check.add(kpath, f"expected a score key, got {shown(key)}")
            return None
        if key == own:
            check.add(kpath, "a score cannot read itself")
            return None
        if key not in self.parsed:
            band = key.endswith("_band") and key[:-5] in self.parsed
            if band:
                check.add(kpath, f"{shown(key)} is a band; name the score {key[:-5]}")
            elif key in self.every:
                check.add(kpath, f"{shown(key)} comes after this score: a weighted_scores "
                                 "score reads earlier scores (so none reads itself through "
                                 "others)")
            else:
                check.add(kpath, f"no earlier score {shown(key)}")
            return None
        parsed = self.parsed[key]
        if parsed is None:
            return None  # that score's own problems are listed already
        if parsed.function and self.functions is not None and getattr(
                self.functions.get(parsed.function), "returns", "number") == "text":
            check.add(kpath, f"{key} gives text ({parsed.function}); only numbers combine")
            return None
        if None in self.ranges[key]:
            # Its range is what this score's range and bands are derived from.
            why = " (a registered score gives its own)" if parsed.method == "registered" else ""
            check.add(kpath, f"{key} has no range{why}: give its low and high")
            return None
        if key in seen:
            check.add(kpath, f"{key} is also {seen[key]}'s: a score is read once")
            return None
        seen[key] = path
        if len(check.problems) > before or mean is None or sd is None:
            return None
        return Standardized(key, mean, sd)

    def conditional(self, codes) -> int:
        """Return how many of ``codes`` are asked only under a condition."""
        return sum(self.items[code].enable_when is not None for code in codes)

    def not_always_scored(self, codes) -> str:
        """Name the first item of ``codes`` that may have no score: "" if none may.

        An item asked only under a condition, or one with a "not applicable" answer,
        can leave a score without its value, which a lookup, a value set or a
        registered function cannot take.
        """
        for code in codes:
            item = self.items[code]
            if item.enable_when is not None:
                return f"{code} is asked only when {item.enable_when.item} allows it"
            if item.not_applicable_values:
                return f"{code} has a 'not applicable' answer, which is not scored"
        return ""

    def recode(self, path: str, data: Any, codes: list[str]) -> dict | None:
        check = self.check
        rpath = _join(path, "recode")
        if not check.mapping(rpath, data):
            return None
        result: dict[str, dict[int, int]] = {}
        ok = True
        for code, table in data.items():
            here = f"{rpath}.{code}"
            if code not in codes:
                check.add(here, f"{shown(code)} is not one of the score's items")
                ok = False
                continue
            if not check.mapping(here, table):
                ok = False
                continue
            item = self.items[code]

            def answer(raw: Any, _rows: dict, item: Item = item) -> int | _Refused:
                value = _integer_key(raw)
                if value is not None and value in item.not_applicable_values:
                    return _Refused(f"{value} is {item.code}'s 'not applicable' answer, "
                                    "which is never scored: leave it out")
                if value is None or value not in item.values:
                    return _Refused(f"not an answer of {item.code} "
                                   f"({item.min_value}-{item.max_value})")
                return value

            mapped = check.rows(here, table, answer, check.item_value)
            if mapped is None:
                ok = False
                continue
            absent = [v for v in item.scored_values if v not in mapped]
            if absent and ok:
                check.add(here, f"no new value for {', '.join(map(str, absent))}")
                ok = False
            result[code] = mapped
        return result if ok else None

    def table(self, path: str, data: Mapping, method: str, inputs: Mapping):
        check = self.check
        if method == "value_set":
            return self.value_set(path, data, inputs)
        if method != "lookup":
            if "table" in data:
                check.add(_join(path, "table"), "only a lookup or a value_set takes a table")
                return None
            return ()
        tpath = _join(path, "table")
        if not check.present(path, data, "table", "a lookup needs its table") or not (
                check.mapping(tpath, data["table"]) and inputs):
            return None
        possible = self.raw_sums(inputs)
        if isinstance(possible, int):
            check.add(tpath, f"a lookup has at most {LOOKUP_ROWS:,} rows; its raw score spans "
                             f"{possible:,}")
            return None
        said = _runs(possible)
        allowed = set(possible)

        def raw_score(raw: Any, rows: dict) -> int | _Refused:
            number = _integer_key(raw)
            if number is None:
                return _Refused("a raw score is a whole number")
            if number not in allowed:
                return _Refused(f"not a possible raw score ({said})")
            if number in rows:
                return _Refused(f"raw {number} is in the table twice")
            return number

        rows = check.rows(tpath, data["table"], raw_score, check.fraction)
        if rows is None:
            return None
        absent = [raw for raw in possible if raw not in rows]
        if absent:
            check.add(tpath, f"no row for raw {_runs(absent)} (the raw score is {said})")
            return None
        return tuple(sorted(rows.items()))

    def value_set(self, path: str, data: Mapping, inputs: Mapping):
        """Check a value set: one value for every profile of the items' answers.

        A profile is the items' values written in the score's item order, one digit each
        (the EQ-5D health state ``"21232"``); it is stored as that number (every profile
        has as many digits as the score has items, so ``"01234"`` is 1234 unambiguously).
        """
        check = self.check
        tpath = _join(path, "table")
        if not check.present(path, data, "table",
                             "a value_set needs its table of profiles") or not (
                check.mapping(tpath, data["table"]) and inputs):
            return None
        codes = inputs["items"]
        levels = []
        for code in codes:
            item = self.items[code]
            if not 0 <= item.min_value <= item.max_value <= 9:
                check.add(_join(path, "items"), f"{code}: a value_set's items take the values "
                                                "0-9 (one digit each in a profile)")
                return None
            levels.append([str(v) for v in item.values])
        count = math.prod(len(level) for level in levels)
        if count > PROFILES:
            check.add(_join(path, "items"), f"a value_set has at most {PROFILES:,} profiles; "
                                            f"these items make {count:,}")
            return None
        profiles = {"".join(p) for p in itertools.product(*levels)}

        def profile_of(profile: Any, _rows: dict) -> int | _Refused:
            if profile not in profiles:
                return _Refused(f"not a profile of {', '.join(codes)} (one digit per item, "
                               "in the score's order)")
            return int(profile)

        rows = check.rows(tpath, data["table"], profile_of, check.fraction)
        if rows is None:
            return None
        absent = sorted(p for p in profiles if int(p) not in rows)
        if absent:
            shown_absent = ", ".join(absent[:5]) + (f" and {len(absent) - 5} more"
                                                    if len(absent) > 5 else "")
            check.add(tpath, f"no value for profile {shown_absent} ({len(profiles)} profiles)")
            return None
        return tuple(sorted(rows.items()))

    def raw_sums(self, inputs: Mapping) -> list[int] | int:
        """Return the raw sums a lookup's items can give, every item answered, in rising
        order (a choice item's values only: items 0/2/4 sum to even numbers only); or,
        where they span more than ``LOOKUP_ROWS``, that span."""
        source = inputs.get("of")
        if source is not None:
            codes, recode, reverse = source.items, source.recode, source.reverse_items
        else:
            codes = inputs["items"]
            recode, reverse = inputs.get("recode", ()), inputs.get("reverse_items", ())
        recoded = dict(recode)
        values = []
        for code in codes:
            item = self.items[code]
            if code in recoded:
                given = {new for _, new in recoded[code]}
            elif code in reverse:
                given = {item.min_value + item.max_value - v for v in item.values}
            else:
                given = set(item.values)
            values.append(sorted(given))
        low = sum(v[0] for v in values)
        span = sum(v[-1] - v[0] for v in values) + 1
        if span > LOOKUP_ROWS:
            return span
        # The sums as bits of one integer, bit n for the sum low + n: each item adds its
        # values (less its lowest) to every sum so far.
        sums = 1
        for item_values in values:
            sums = functools.reduce(operator.or_, (sums << (v - item_values[0])
                                                   for v in item_values))
        return [low + n for n in range(span) if sums >> n & 1]

    def function(self, path: str, data: Mapping, method: str | None, items):
        check = self.check
        fpath = _join(path, "function")
        if method != "registered":
            if "function" in data:
                check.add(fpath, "only a registered method takes a function")
                return None
            return ""
        if not check.present(path, data, "function", "a registered method names its function"):
            return None
        name = check.code(fpath, data["function"])
        if name is None or self.functions is None:
            return name
        function = self.functions.get(name)
        if function is None:
            known = ", ".join(sorted(self.functions)) or "none"
            check.add(fpath, f"no registered scoring function {shown(name)}; known: {known}")
            return None
        if items and tuple(items) != tuple(function.items):
            check.add(_join(path, "items"),
                      f"{name} scores the items {', '.join(function.items)}, in that order")
            return None
        return name

    def range(self, path: str, data: Mapping, method, inputs, table, function):
        """Return the score's (low, high): as given, else as its method implies."""
        check = self.check
        given = {}
        for key in ("low", "high"):
            if key in data:
                given[key] = check.score_number(_join(path, key), data[key])
                if given[key] is None:
                    return None, None, False
        derived = (None, None)
        if inputs and method and table is not None:
            derived = _derived_range(method, inputs, table, self.functions, function)
            if derived == "bad":
                check.add(_join(path, "items"),
                          f"{method} needs items of one range (min and max)"
                          if method == "transform_0_100" else
                          f"{method} needs items whose maximum is above 0")
                return None, None, False
            beyond = [v for v in derived if v is not None and abs(v) > SCORE_MAGNITUDE]
            if beyond:
                read = "terms" if method == "weighted_scores" else "items"
                check.add(_join(path, read), f"the score reaches {shown(beyond[0])}: at most "
                                                f"{SCORE_MAGNITUDE:,} either side of 0 (what a "
                                                "stored score holds)")
                return None, None, False
        for key, bound, outside in (("low", derived[0], lambda g, d: g > d),
                                    ("high", derived[1], lambda g, d: g < d)):
            if key in given and bound is not None and outside(given[key], bound):
                # The engine would give values outside it: bands and tables follow it.
                check.add(_join(path, key), f"the score's range must contain what {method} "
                                            f"gives ({shown(derived[0])}-{shown(derived[1])}),"
                                            f" got {shown(given[key])}")
                return None, None, False
        low = given.get("low", derived[0])
        high = given.get("high", derived[1])
        if low is not None and high is not None and low >= high:
            check.add(_join(path, "high"), f"must be above low ({shown(low)})")
            return None, None, False
        if method == "registered" and data.get("reported", True) and (
                low is None or high is None):
            check.add(path, "a reported registered score gives its low and high (its range)")
            return None, None, False
        return low, high, True

    def bands(self, path: str, data: Mapping, high, function):
        check = self.check
        if "bands" not in data:
            return ()
        bpath = _join(path, "bands")
        if function and self.functions and getattr(
                self.functions.get(function), "returns", "number") == "text":
            check.add(bpath, f"{function} gives text; only a number has bands")
            return None
        if not check.array(bpath, data["bands"]):
            return None
        bands: list[tuple[Number, str]] = []
        ok = True
        for number, entry in enumerate(data["bands"]):
            here = f"{bpath}[{number}]"
            if not check.mapping(here, entry):
                ok = False
                continue
            check.keys(here, entry, BAND_KEYS, ())
            upto = check.given(here, entry, "upto", check.score_number)
            label = check.given(here, entry, "label", check.text)
            if upto is None or label is None:
                ok = False
                continue
            if bands and upto <= bands[-1][0]:
                check.add(f"{here}.upto", f"bands rise: {shown(upto)} is not above "
                                          f"{shown(bands[-1][0])}")
                ok = False
                continue
            if label in (b[1] for b in bands):
                check.add(f"{here}.label", f"{shown(label)} is another band's label")
                ok = False
                continue
            bands.append((upto, label))
        if ok and high is not None and bands and bands[-1][0] < high:
            check.add(bpath, f"the last band ends at {shown(bands[-1][0])}, below the "
                             f"score's highest value {shown(high)}")
            ok = False
        return tuple(bands) if ok else None

    def anchor(self, path: str, data: Any, direction: str, reported: bool, low, high
               ) -> Anchor | bool:
        """Check an anchor: its label and which values count as improved (False if bad).

        A lower-is-better anchor counts the values up to ``improved_upto`` as improved,
        a higher-is-better one those from ``improved_from``; the cut-off is within the
        score's range and leaves at least one value on each side.
        """
        check = self.check
        apath = _join(path, "anchor")
        if not check.mapping(apath, data):
            return False
        before = len(check.problems)
        check.keys(apath, data, ("label",), ANCHOR_KEYS)
        label = check.text(_join(apath, "label"), data["label"], limit=100) \
            if "label" in data else None
        given = [key for key in ("improved_upto", "improved_from") if key in data]
        wanted = "improved_upto" if direction == "lower_is_better" else "improved_from"
        cut = None
        if not reported:
            check.add(apath, "an anchor is a reported score (it says which way is better)")
        elif len(given) != 1:
            check.add(apath, f"missing {wanted} (the values that count as improved)"
                      if not given else "give improved_upto or improved_from, not both")
        elif direction in DIRECTIONS and given[0] != wanted:
            better = "lower" if direction == "lower_is_better" else "higher"
            check.add(_join(apath, given[0]), f"the score is {better}-is-better, so its "
                      f"{better} values are the improved ones: use {wanted}")
        else:
            cut = check.number(_join(apath, wanted), data[wanted])
            if cut is not None and low is not None and high is not None and not (
                    low <= cut < high if wanted == "improved_upto" else low < cut <= high):
                check.add(_join(apath, wanted),
                          f"must leave values on both sides within the score's range "
                          f"{shown(_plain(low))}-{shown(_plain(high))}, got {shown(cut)}")
                cut = None
        if len(check.problems) > before or label is None or cut is None:
            return False
        if wanted == "improved_upto":
            return Anchor(label, upto=cut)
        return Anchor(label, from_=cut)

    def reason(self, path: str, data: Mapping) -> str | None:
        check = self.check
        rpath = _join(path, "missing_reason")
        text = check.text(rpath, data["missing_reason"], limit=200)
        if text is None:
            return None
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
        except ValueError as error:
            check.add(rpath, f"not a template: {error}")
            return None
        unknown = sorted(names - REASON_FIELDS)
        if unknown:
            check.add(rpath, f"unknown placeholder {{{unknown[0]}}}; known: "
                             + ", ".join(f"{{{n}}}" for n in sorted(REASON_FIELDS)))
            return None
        return text


def _derived_range(method, inputs, table, functions, function):
    """Return the (low, high) a method gives over its inputs (None where unknown)."""
    source = inputs.get("of")
    conditional = inputs.get("conditional", 0)
    if method == "weighted_scores":
        return weighted_range(inputs["terms"], inputs["metric"], inputs["score_ranges"])
    if method == "answered_count":
        return source_count_range(source, conditional)
    if method in ("lookup", "value_set"):
        values = [value for _, value in table]
        return (min(values), max(values)) if values else (None, None)
    if method == "registered":
        return (None, None)  # the file says: a registered function's range is its own
    ranges = list(inputs["ranges"].values())
    n, mm = len(ranges), inputs["max_missing"]
    lows = sorted(r[0] for r in ranges)
    highs = sorted((r[1] for r in ranges), reverse=True)
    if method == "sum":
        # Blank and "not applicable" items (up to max_missing) and items not asked
        # (their condition unmet) leave fewer values to sum.
        counts = range(max(1, n - mm - conditional), n + 1)
        return (min(sum(lows[:m]) for m in counts), max(sum(highs[:m]) for m in counts))
    if method == "mean":
        return (lows[0], highs[0])
    if method == "prorated_sum":
        # Prorated over the items asked: an item not asked is not part of the sum.
        asked = range(max(1, n - conditional), n + 1)
        return (min(k * lows[0] for k in asked), max(k * highs[0] for k in asked))
    if method == "percent_of_max":
        if any(r[1] <= 0 for r in ranges):
            return "bad"
        return (100 * min(Fraction(r[0], r[1]) for r in ranges), 100)
    if method == "transform_0_100":
        if len(set(ranges)) != 1:
            return "bad"
        return (0, 100)
    return (None, None)


def weighted_range(terms, metric, ranges) -> tuple[Number | None, Number | None]:
    """Return the (low, high) a ``weighted_scores`` score gives, exactly: each term's
    weight × the mean of its scores' z at their lowest and highest, summed, on the
    metric. ``ranges`` gives each score read (low, high); unknown (None) if any is.
    The scores a term reads may all be at their ends at once (PROMIS-29's domains are
    answered apart), so the range is what the score can reach, not just a bound."""
    low = high = Fraction(0)
    for term in terms:
        ends = []
        for s in term.scores:
            lo, hi = ranges[s.score]
            if lo is None or hi is None:
                return (None, None)
            ends.append((s.z(lo), s.z(hi)))
        a = Fraction(term.weight) * sum(e[0] for e in ends) / len(ends)
        b = Fraction(term.weight) * sum(e[1] for e in ends) / len(ends)
        low, high = low + min(a, b), high + max(a, b)
    mean, sd = Fraction(metric[0]), Fraction(metric[1])
    return (mean + sd * low, mean + sd * high)


def source_count_range(source: ScoreDef, conditional: int = 0) -> tuple[int, int]:
    """Return the answered counts a score allows: items less max_missing (and less those
    asked only under a condition), to all of them."""
    n = len(source.items)
    return (max(1, n - source.max_missing - conditional), n)


def _integer_key(raw: Any) -> int | None:
    if type(raw) is int:
        return raw
    if isinstance(raw, str) and re.fullmatch(r"-?\d+", raw.strip()):
        return int(raw)
    return None


def _runs(values: list[int]) -> str:
    """Return ``[4, 5, 6, 9]`` as ``"4-6, 9"``."""
    parts: list[str] = []
    start = prev = values[0]
    for value in [*values[1:], None]:
        if value is not None and value == prev + 1:
            prev = value
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if value is not None:
            start = prev = value
    return ", ".join(parts)


# -- alerts ------------------------------------------------------------------------------


def _alerts(check: _Checker, data: Any, items: Mapping[str, Item], broken: set[str],
            scores: Mapping[str, ScoreDef], failed_scores: set[str]) -> tuple[AlertDef, ...]:
    """Check ``alerts``: each a key, a condition on one item or score, and two messages.

    A condition names an item or a score of the file (not a band), with ``at_least``
    and/or ``at_most`` (inclusive); some answer must meet it and some must not (an alert
    every patient raises, or none can, singles nothing out).
    """
    if not check.array("alerts", data, nonempty=False):
        return ()
    found: list[AlertDef] = []
    seen: dict[str, int] = {}
    for number, entry in enumerate(data):
        path = f"alerts[{number}]"
        if not check.mapping(path, entry):
            continue
        check.keys(path, entry, ALERT_KEYS, ())
        key = check.code(f"{path}.key", entry["key"]) if "key" in entry else None
        if key is not None and key in seen:
            check.add(f"{path}.key", f"{shown(key)} is also alerts[{seen[key]}]'s")
            key = None
        elif key is not None:
            seen[key] = number
        staff = check.text(f"{path}.staff_message", entry["staff_message"], limit=300) \
            if "staff_message" in entry else None
        patient = check.text(f"{path}.patient_message", entry["patient_message"], limit=1000) \
            if "patient_message" in entry else None
        when = _when(check, f"{path}.when", entry["when"], items, broken, scores,
                     failed_scores) if "when" in entry else None
        if key is None or staff is None or patient is None or when is None:
            continue
        found.append(AlertDef(key=key, staff_message=staff, patient_message=patient, **when))
    return tuple(found)


def _when(check: _Checker, path: str, data: Any, items: Mapping[str, Item], broken: set[str],
          scores: Mapping[str, ScoreDef], failed_scores: set[str]) -> dict | None:
    if not check.mapping(path, data):
        return None
    check.keys(path, data, (), WHEN_KEYS)
    if any(key not in WHEN_KEYS for key in data):
        return None
    if ("item" in data) == ("score" in data):
        check.add(path, "names one item or one score (\"item\" or \"score\"), not "
                        + ("both" if "item" in data else "neither"))
        return None
    bounds: dict[str, Number | None] = {}
    for bound in ("at_least", "at_most"):
        if bound in data:
            value = check.number(f"{path}.{bound}", data[bound])
            if value is None:
                return None
            bounds[bound] = value
    if not bounds:
        check.add(path, "needs at_least or at_most (or both)")
        return None
    low, high = bounds.get("at_least"), bounds.get("at_most")
    if low is not None and high is not None and low > high:
        check.add(f"{path}.at_most", f"{shown(high)} is below at_least {shown(low)}: no "
                                     "answer meets both")
        return None
    condition = AlertDef("", "", "", at_least=low, at_most=high)
    if "item" in data:
        code = data["item"]
        if isinstance(code, str) and code in broken:
            return None  # the item's own problems are listed already
        if not isinstance(code, str) or code not in items:
            check.add(f"{path}.item", f"no item {shown(code)}")
            return None
        values = items[code].values
        meeting = [value for value in values if condition.holds(value)]
        if not meeting:
            check.add(path, f"no answer of {code} meets it (its answers are {_runs(list(values))})")
            return None
        if len(meeting) == len(values):
            check.add(path, f"every answer of {code} meets it; an alert singles some out")
            return None
        return {"item": code, **bounds}
    key = data["score"]
    if isinstance(key, str) and key in failed_scores:
        return None
    if not isinstance(key, str) or key not in scores:
        band = isinstance(key, str) and key.endswith("_band") and key[:-5] in scores
        check.add(f"{path}.score", f"{shown(key)} is a band; name the score {key[:-5]}"
                  if band else f"no score {shown(key)}")
        return None
    score = scores[key]
    if score.low is not None and score.high is not None:
        if (low is not None and low > score.high) or (high is not None and high < score.low):
            check.add(path, f"no value of {key} meets it (it runs {shown(score.low)} to "
                            f"{shown(score.high)})")
            return None
        if (low is None or low <= score.low) and (high is None or high >= score.high):
            check.add(path, f"every value of {key} meets it; an alert singles some out")
            return None
    return {"score": key, **bounds}


# -- the whole file ----------------------------------------------------------------------


def read_definition_file(path: str | Path) -> Any:
    """Return a definition file's decoded JSON, numbers as exact decimals.

    The file is UTF-8, a byte-order mark allowed (as the admin's upload takes it);
    ``UnicodeDecodeError`` where it is not.
    """
    path = Path(path)
    return decode_definition(path.read_text(encoding="utf-8-sig"), path.name)


def decode_definition(text: str, name: str) -> Any:
    """Return ``text`` decoded as JSON, numbers as exact decimals, or raise
    ``DefinitionError`` with one line ``<name>: not JSON: ...`` saying why not (the line
    and column of a syntax error; nesting too deep or a number too long to read)."""
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        why = f"{error.msg} at line {error.lineno}, column {error.colno}"
    except RecursionError:
        why = "nested too deeply to read"
    except ValueError:
        # Python refuses an integer of thousands of digits (int_max_str_digits).
        why = "a number too long to read"
    raise DefinitionError([f"{name}: not JSON: {why}"])


def parse_definition(data: Mapping, *, functions: Mapping[str, Any] | None = None
                     ) -> InstrumentDefinition:
    """Return the definition ``data`` describes, or raise ``DefinitionError`` listing all.

    ``functions`` are the registered scoring functions a ``registered`` score may name
    (by default, those of ``outcomes.instruments.scoring.functions``).
    """
    if functions is None:
        functions = _registered_functions()
    return _parse(data, functions)


def _registered_functions() -> Mapping[str, Any]:
    # Imported here, not above: scoring imports the definitions, which parse the library.
    from ..scoring.functions import FUNCTIONS

    return FUNCTIONS


def _parse(data: Any, functions: Mapping[str, Any] | None) -> InstrumentDefinition:
    """Parse ``data``; with ``functions`` None, a registered function's name is not checked
    (the built-in library, parsed before the scoring package exists, is checked there)."""
    check = _Checker()
    if not isinstance(data, Mapping):
        raise DefinitionError([f"expected a JSON object, got {shown(data)}"])
    check.keys("", data, TOP_REQUIRED, TOP_OPTIONAL)
    code = check.given("", data, "code", check.code)
    version = check.given("", data, "version", check.text, limit=16)
    if version is not None and not VERSION.match(version):
        check.add("version", "must be letters, digits, '.', '-' or '_', starting with a "
                             "letter or digit")
        version = None
    texts = {}
    for key, limit, empty in (("title", 200, False), ("short_title", 50, False),
                              ("licence", None, False), ("source", None, False),
                              ("recall_period", None, True)):
        if key in data:
            texts[key] = check.text(key, data[key], limit=limit, empty=empty)
    scoring_version = check.given("", data, "scoring_version", check.text, "1", limit=16)
    languages: tuple[str, ...] | None = ("en",)
    if "languages" in data:
        languages = None
        if check.array("languages", data["languages"]):
            given = data["languages"]
            bad = [lang for lang in given if not isinstance(lang, str) or not LANGUAGE.match(lang)]
            if bad:
                check.add("languages", f"not a language code: {shown(bad[0])}")
            elif len(set(given)) != len(given):
                check.add("languages", "a language is listed twice")
            else:
                languages = tuple(given)

    items: list[Item] = []
    broken: set[str] = set()
    if "items" in data and check.array("items", data["items"]):
        seen: dict[str, int] = {}
        every = {entry.get("code") for entry in data["items"]
                 if isinstance(entry, Mapping) and isinstance(entry.get("code"), str)}
        for number, entry in enumerate(data["items"]):
            item = _item(check, f"items[{number}]", entry)
            if item is None:
                if isinstance(entry, Mapping) and isinstance(entry.get("code"), str):
                    broken.add(entry["code"])
                continue
            if item.code in seen:
                check.add(f"items[{number}].code",
                          f"{shown(item.code)} is also items[{seen[item.code]}]'s")
                continue
            if "enable_when" in entry:
                condition = _condition(check, f"items[{number}]", entry["enable_when"],
                                       item.code, {i.code: i for i in items}, every, broken)
                if condition is None:
                    broken.add(item.code)
                    continue
                item = dataclasses.replace(item, enable_when=condition)
            seen[item.code] = number
            items.append(item)

    scores: list[ScoreDef] = []
    failed_scores: set[str] = set()
    if "scores" in data and check.array("scores", data["scores"]):
        every_key = {entry["key"] for entry in data["scores"]
                     if isinstance(entry, Mapping) and isinstance(entry.get("key"), str)}
        checker = _Scores(check, {item.code: item for item in items}, broken, functions,
                          every_key)
        for number, entry in enumerate(data["scores"]):
            parsed = checker.score(f"scores[{number}]", entry, number)
            if parsed is not None:
                scores.append(parsed)
            elif isinstance(entry, Mapping) and isinstance(entry.get("key"), str):
                failed_scores.add(entry["key"])
    alerts: tuple[AlertDef, ...] = ()
    if "alerts" in data:
        alerts = _alerts(check, data["alerts"], {item.code: item for item in items}, broken,
                         {score.key: score for score in scores}, failed_scores)
    if check.problems:
        raise DefinitionError(check.problems)
    assert code and version and scoring_version and languages is not None
    return InstrumentDefinition(
        code=code, version=version, title=texts["title"], short_title=texts["short_title"],
        items=tuple(items), scoring_version=scoring_version, licence=texts["licence"],
        source=texts["source"], recall_period=texts.get("recall_period") or "",
        languages=languages, score_defs=tuple(scores), alerts=alerts,
    )


def load_definition_file(path: str | Path, *, functions: Mapping[str, Any] | None = None
                         ) -> InstrumentDefinition:
    """Read and parse a JSON definition file; problems name the file too.

    Numbers are read as exact decimals. Raises ``DefinitionError`` (for malformed JSON, the
    line and column) or ``OSError`` when the file cannot be read.
    """
    data = read_definition_file(path)
    return parse_definition(data, functions=functions)


# -- back out ----------------------------------------------------------------------------


def _json_number(value: Number) -> int | float:
    """Return an exact number as JSON writes it; refuse one a float would round."""
    exact = Fraction(value)
    if exact.denominator == 1:
        return exact.numerator
    as_float = float(exact)
    if Fraction(repr(as_float)) != exact:
        raise ValueError(f"{exact} has no short decimal form to write")
    return as_float


def definition_to_dict(defn: InstrumentDefinition) -> dict[str, Any]:
    """Return ``defn`` as a definition file's object (JSON-ready; defaults left out)."""
    out: dict[str, Any] = {
        "code": defn.code, "version": defn.version, "title": defn.title,
        "short_title": defn.short_title, "licence": defn.licence, "source": defn.source,
    }
    if defn.scoring_version != "1":
        out["scoring_version"] = defn.scoring_version
    if defn.recall_period:
        out["recall_period"] = defn.recall_period
    out["languages"] = list(defn.languages)
    out["items"] = [_item_dict(item) for item in defn.items]
    out["scores"] = []
    for score in defn.score_defs:
        out["scores"].append(_score_dict(defn, score))
    if defn.alerts:
        out["alerts"] = [_alert_dict(alert) for alert in defn.alerts]
    return out


def _alert_dict(alert: AlertDef) -> dict[str, Any]:
    when: dict[str, Any] = {"item": alert.item} if alert.item else {"score": alert.score}
    for key, value in (("at_least", alert.at_least), ("at_most", alert.at_most)):
        if value is not None:
            when[key] = _json_number(value)
    return {"key": alert.key, "when": when, "staff_message": alert.staff_message,
            "patient_message": alert.patient_message}


def dump_definition(defn: InstrumentDefinition) -> str:
    """Return ``defn`` as a definition file's text: JSON, one line per option, band, row."""
    return _dumped(definition_to_dict(defn), 0) + "\n"


def _dumped(value: Any, depth: int) -> str:
    flat = json.dumps(value, ensure_ascii=False)
    leaf = not any(isinstance(v, dict | list) for v in (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()))
    if not isinstance(value, dict | list) or (leaf and len(flat) <= 88) or not value:
        return flat
    pad, inner = "  " * depth, "  " * (depth + 1)
    if isinstance(value, list):
        parts = [inner + _dumped(v, depth + 1) for v in value]
        return "[\n" + ",\n".join(parts) + "\n" + pad + "]"
    parts = [f"{inner}{json.dumps(k)}: {_dumped(v, depth + 1)}" for k, v in value.items()]
    return "{\n" + ",\n".join(parts) + "\n" + pad + "}"


def _item_dict(item: Item) -> dict[str, Any]:
    entry: dict[str, Any] = {"code": item.code, "text": item.text, "kind": item.kind}
    if not item.required:
        entry["required"] = False
    if item.kind == "scale":
        entry["min"], entry["max"] = item.min_value, item.max_value
    if item.options or item.kind == "choice":
        entry["options"] = [{"value": o.value, "label": o.label,
                             **({"not_applicable": True} if o.not_applicable else {})}
                            for o in item.options]
    condition = item.enable_when
    if condition is not None:
        written: dict[str, Any] = {"item": condition.item}
        if condition.operator != "=":
            written["operator"] = condition.operator
        if condition.operator == "exists":
            if not condition.exists:
                written["answer"] = False
        else:
            written["answer"] = (condition.answers[0] if len(condition.answers) == 1
                                 else list(condition.answers))
        entry["enable_when"] = written
    return entry


def _score_dict(defn: InstrumentDefinition, score: ScoreDef) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": score.key, "label": score.label, "method": score.method}
    if score.function:
        entry["function"] = score.function
    if score.source:
        entry["from"] = score.source
    elif score.terms:
        entry["terms"] = [{"weight": _json_number(term.weight), "scores": [
            {"score": s.score, "mean": _json_number(s.mean), "sd": _json_number(s.sd)}
            for s in term.scores]} for term in score.terms]
        if tuple(score.metric) != (0, 1):
            entry["metric"] = {"mean": _json_number(score.metric[0]),
                               "sd": _json_number(score.metric[1])}
    else:
        entry["items"] = list(score.items)
        if score.max_missing:
            entry["max_missing"] = score.max_missing
    put: list[tuple[str, Any, Any]] = [
        ("direction", score.direction, ""),
        ("reported", score.reported, True),
        ("required", score.required, False),
        ("reverse", score.reverse, False),
        ("reverse_items", list(score.reverse_items), []),
        ("missing_reason", score.missing_reason, ""),
        ("decimals", score.decimals, 1),
        ("unit", score.unit, "{score}"),
        ("loinc", score.loinc, ""),
        ("loinc_display", score.loinc_display, ""),
    ]
    for key, value, default in put:
        if value != default:
            entry[key] = value
    if score.recode:
        entry["recode"] = {code: {str(raw): new for raw, new in table}
                           for code, table in score.recode}
    if score.table:
        width = len(score.items) if score.method == "value_set" else 0
        entry["table"] = {str(raw).zfill(width): _json_number(value)
                          for raw, value in score.table}
    # low and high only where the method does not imply them.
    implied = _implied_range(defn, score)
    for key, value, derived in (("low", score.low, implied[0]), ("high", score.high,
                                                                  implied[1])):
        # Compared as the definition holds them (a range with no short decimal form,
        # a weighted_scores score's, is held as the float next to it).
        if value is not None and (derived is None or _plain(derived) != value):
            entry[key] = _json_number(number_of(value))
    if score.bands:
        entry["bands"] = [{"upto": _json_number(upto), "label": label}
                          for upto, label in score.bands]
    if score.anchor is not None:
        cut = (("improved_upto", score.anchor.upto) if score.anchor.upto is not None
               else ("improved_from", score.anchor.from_))
        entry["anchor"] = {cut[0]: _json_number(cut[1]), "label": score.anchor.label}
    return entry


def _exact_range(defn: InstrumentDefinition, score: ScoreDef):
    """Return the (low, high) of ``score`` exactly, as parsing gave it: an end its file
    gave is the short decimal held; an end derived with no short decimal form (a
    ``weighted_scores`` score's), held as its float, is the implied end again."""
    implied = _implied_range(defn, score)
    return tuple(derived if derived is not None and _plain(derived) == held
                 else number_of(held)
                 for held, derived in ((score.low, implied[0]), (score.high, implied[1])))


def _implied_range(defn: InstrumentDefinition, score: ScoreDef):
    """Return the (low, high) parsing this score without low and high would give."""
    if score.method == "registered":
        return (None, None)
    if score.terms:
        ranges = {key: _exact_range(defn, defn.score(key)) for key in score.reads}
        return weighted_range(score.terms, score.metric, ranges)
    if score.source:
        source = defn.score(score.source)
        inputs: dict[str, Any] = {"of": source, "conditional": sum(
            defn.item(code).enable_when is not None for code in source.items)}
    else:
        recode = {code: dict(table) for code, table in score.recode}
        ranges = {}
        for code in score.items:
            item = defn.item(code)
            if code in recode:
                ranges[code] = (min(recode[code].values()), max(recode[code].values()))
            else:
                ranges[code] = (item.min_value, item.max_value)
        inputs = {"ranges": ranges, "max_missing": score.max_missing,
                  "conditional": sum(defn.item(code).enable_when is not None
                                     for code in score.items)}
    derived = _derived_range(score.method, inputs, score.table, None, score.function)
    return (None, None) if derived == "bad" else derived


__all__ = ["DefinitionError", "decode_definition", "definition_to_dict", "dump_definition",
           "load_definition_file", "parse_definition", "read_definition_file"]
