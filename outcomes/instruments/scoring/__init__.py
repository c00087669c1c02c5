"""Scoring: every instrument through the one engine, by its definition (no Django).

The registries here (``SCORERS``, ``SCORING_VERSIONS``, ``SCORE_KEYS``,
``NUMERIC_SCORE_KEYS``) are views of the registered definitions (the library's files,
and any registered since), not lists of instruments. ``score(code, answers)`` returns
exact values (``Fraction`` or ``int``), text
(bands, health states) or None; ``to_jsonable`` turns them into JSON numbers
for output. ``score_response`` says, besides, why each missing value is missing
(SPEC 3.7: a response too blank for a score is data, not an error). Nothing here
imports Django.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Set
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..definitions import INSTRUMENTS, definition_for, registered_definitions
from ..definitions.base import InstrumentDefinition
from ..definitions.registry import generation
from .base import NotScorable, ScoringError, Unscored, checked_answers
from .engine import MaxMissing, numeric_keys, score_definition
from .functions import FUNCTIONS

Scorer = Callable[..., dict[str, object]]


class _ByCode(Mapping[str, Any]):
    """A read-only view of the current definitions, by code: it follows the registry."""

    def __init__(self, of: Callable[[Any], Any]):
        self._of = of

    def __getitem__(self, code: str) -> Any:
        return self._of(INSTRUMENTS[code])

    def __iter__(self) -> Iterator[str]:
        return iter(INSTRUMENTS)

    def __len__(self) -> int:
        return len(INSTRUMENTS)


class _NumericKeys(Set[str]):
    """The output keys whose values are numbers, over every registered definition."""

    def __init__(self) -> None:
        self._cache: tuple[int, frozenset[str]] = (-1, frozenset())

    def _keys(self) -> frozenset[str]:
        if self._cache[0] != generation():
            self._cache = (generation(), frozenset(
                key for d in registered_definitions() for key in numeric_keys(d)))
        return self._cache[1]

    def __contains__(self, key: object) -> bool:
        return key in self._keys()

    @classmethod
    def _from_iterable(cls, iterable):
        # What set operations (``keys - {...}``) return: a plain frozenset.
        return frozenset(iterable)

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._keys()))

    def __len__(self) -> int:
        return len(self._keys())


def _scorer(definition) -> Scorer:
    def scorer(answers: Mapping[str, Any], *, max_missing: MaxMissing = None
               ) -> dict[str, object]:
        return score_definition(definition, answers, max_missing=max_missing)

    scorer.__name__ = f"score_{definition.code}"
    return scorer


SCORERS: Mapping[str, Scorer] = _ByCode(_scorer)
"""The scorer of each instrument's current definition: the engine, given that definition."""

SCORING_VERSIONS: Mapping[str, str] = _ByCode(lambda d: d.scoring_version)

SCORE_KEYS: Mapping[str, tuple[str, ...]] = _ByCode(lambda d: d.output_keys)
"""The output keys of each instrument (SPEC section 3), in order."""

NUMERIC_SCORE_KEYS: Set[str] = _NumericKeys()
"""Keys whose values are numbers: the ones stored as ``Score`` rows."""


def unregistered_functions() -> list[str]:
    """Return a line for each registered definition naming a function nobody registered."""
    return [f"{d.code} {d.version}: {s.key} names the scoring function {s.function!r}, "
            "which is not registered"
            for d in registered_definitions() for s in d.score_defs
            if s.method == "registered" and s.function not in FUNCTIONS]


def _definition(code, version: str | None):
    """Return the definition ``code`` names: a code (and version), or a definition itself
    (one read from the database: ``stored.definition_of``)."""
    if isinstance(code, InstrumentDefinition):
        return code
    if version is None:
        current = INSTRUMENTS.get(code)
        if current is not None:
            return current
    try:
        return definition_for(code, version)
    except KeyError:
        if code in INSTRUMENTS:
            raise ScoringError("version", f"{code} has no version {version!r}") from None
        raise ScoringError("instrument", f"unknown instrument {code!r}") from None


def _scored(code: str, answers: Mapping[str, Any], max_missing: MaxMissing,
            version: str | None = None) -> dict[str, object]:
    return score_definition(_definition(code, version), answers, max_missing=max_missing)


def score(code: str | InstrumentDefinition, answers: Mapping[str, Any], *,
          max_missing: MaxMissing = None, version: str | None = None) -> dict[str, object]:
    """Score ``answers`` to instrument ``code``; raise ``ScoringError`` naming the item.

    ``code`` is an instrument's code, or its definition (as stored: every function
    here takes either).

    A key the answers cannot give is None; answers too blank for any score raise
    ``NotScorable`` (a ``ScoringError``), as a form that asks for them wants.
    ``max_missing`` is the study's ``{score key: blanks allowed}`` (or one number for
    every score that allows blanks); ``version`` picks a version other than the current.
    """
    return {key: None if isinstance(value, Unscored) else value
            for key, value in _scored(code, answers, max_missing, version).items()}


@dataclass(frozen=True)
class Scored:
    """What a response's answers give: every output key, and why each missing one is.

    ``values`` has every output key of the instrument (None where not scorable);
    ``not_scorable`` maps each of those None keys to its reason. ``refusal`` is the
    scorer's message when no score at all can be computed ("odi: 2 sections
    unanswered; at most 1 allowed"), else "".
    """

    values: dict[str, object]
    not_scorable: dict[str, str] = field(default_factory=dict)
    refusal: str = ""

    @property
    def scorable(self) -> bool:
        """True if at least one score could be computed."""
        return not self.refusal


def score_response(code: str | InstrumentDefinition, answers: Mapping[str, Any], *,
                   max_missing: MaxMissing = None, version: str | None = None) -> Scored:
    """Score ``answers`` as stored data: too many blanks give reasons, not an error.

    Raises ``ScoringError`` for a bad value (unknown item, wrong type, out of range),
    which is an error still.
    """
    definition = _definition(code, version)
    try:
        raw = score_definition(definition, answers, max_missing=max_missing)
    except NotScorable as error:
        keys = definition.output_keys
        return Scored({key: None for key in keys}, {key: error.why for key in keys},
                      refusal=str(error))
    values = {}
    reasons = {}
    for key, value in raw.items():
        if isinstance(value, Unscored):
            values[key], reasons[key] = None, value.reason
        else:
            values[key] = value
    return Scored(values, reasons)


def validate_answers(code: str | InstrumentDefinition, answers: Mapping[str, Any], *,
                     version: str | None = None) -> dict[str, int | None]:
    """Check item codes, types and ranges only (partial answers are fine)."""
    return checked_answers(_definition(code, version), answers)


def describe_not_scorable(not_scorable: Mapping[str, str]) -> list[str]:
    """Return a response's not-scorable scores as sentences, by name: one per reason.

    "ODI not scorable: 2 sections unanswered; at most 1 allowed". Scores reported by
    name (the definitions' ``ScoreSpec``) are named; others only when no named one is.
    """
    from ..definitions import SCORE_SPECS

    named = [key for key in SCORE_SPECS if key in not_scorable]
    keys = named or list(not_scorable)
    by_reason: dict[str, list[str]] = {}
    for key in keys:
        label = SCORE_SPECS[key].label if key in SCORE_SPECS else key
        by_reason.setdefault(not_scorable[key], []).append(label)
    lines = []
    for reason, labels in by_reason.items():
        names = labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
        lines.append(f"{names} not scorable: {reason}")
    return lines


def to_jsonable(scores: Mapping[str, object]) -> dict[str, object]:
    """Return scores with exact fractions as (full-precision) floats, for JSON output."""
    return {k: float(v) if isinstance(v, Fraction) else v for k, v in scores.items()}


_missing = unregistered_functions()
if _missing:
    raise LookupError("; ".join(_missing))

__all__ = ["NUMERIC_SCORE_KEYS", "SCORERS", "SCORE_KEYS", "SCORING_VERSIONS", "NotScorable",
           "Scored", "ScoringError", "Unscored", "describe_not_scorable",
           "score", "score_definition", "score_response", "to_jsonable",
           "unregistered_functions", "validate_answers"]
