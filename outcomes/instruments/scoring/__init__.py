"""Scoring registry: one pure scorer per instrument code, with its scoring version.

``score(code, answers)`` returns exact values (``Fraction`` or ``int``), text
(bands, health states) or None; ``to_jsonable`` turns them into JSON numbers
for output. ``score_response`` says, besides, why each missing value is missing
(SPEC 3.7: a response too blank for a score is data, not an error). Nothing here
imports Django.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..definitions import INSTRUMENTS
from . import eq5d, nrs, odi, promis
from .base import NotScorable, ScoringError, Unscored, checked_answers

Scorer = Callable[..., dict[str, object]]

SCORERS: dict[str, Scorer] = {
    "odi": odi.odi_scores,
    "nrs11": nrs.nrs_scores,
    "eq5d3l": eq5d.eq5d_scores,
    "promis_gh": promis.promis_scores,
}

SCORING_VERSIONS: dict[str, str] = {
    "odi": odi.SCORING_VERSION,
    "nrs11": nrs.SCORING_VERSION,
    "eq5d3l": eq5d.SCORING_VERSION,
    "promis_gh": promis.SCORING_VERSION,
}

SCORE_KEYS: dict[str, tuple[str, ...]] = {
    "odi": ("odi", "odi_band", "odi_answered"),
    "nrs11": ("nrs",),
    "eq5d3l": ("eq5d_state", "eq5d_index_uk", "eq5d_index_us", "eq5d_vas"),
    "promis_gh": ("gph_raw", "gph_t", "gph_se", "gmh_raw", "gmh_t", "gmh_se",
                  "global01", "global09r"),
}
"""The output keys of each instrument (SPEC section 3), in order."""

NUMERIC_SCORE_KEYS: frozenset[str] = frozenset(
    key for keys in SCORE_KEYS.values() for key in keys
) - {"odi_band", "eq5d_state"}
"""Keys whose values are numbers: the ones stored as ``Score`` rows."""


MaxMissing = Mapping[str, int] | int | None
"""Blank items allowed: ``{score key: n}`` (a study's setting; a key left out takes the
definition's own), or, for the ODI alone as before, one number."""


def _scored(code: str, answers: Mapping[str, Any], max_missing: MaxMissing
            ) -> dict[str, object]:
    scorer = SCORERS.get(code)
    if scorer is None:
        raise ScoringError("instrument", f"unknown instrument {code!r}")
    if isinstance(max_missing, Mapping):
        # Only the ODI's scorer takes an allowance yet; its one score has the key "odi".
        max_missing = max_missing.get("odi") if code == "odi" else None
    if code == "odi" and max_missing is not None:
        return scorer(answers, max_missing=max_missing)
    return scorer(answers)


def score(code: str, answers: Mapping[str, Any], *, max_missing: MaxMissing = None
          ) -> dict[str, object]:
    """Score ``answers`` to instrument ``code``; raise ``ScoringError`` naming the item.

    A key the answers cannot give is None; answers too blank for any score raise
    ``NotScorable`` (a ``ScoringError``), as a form that asks for them wants.
    ``max_missing`` maps score keys to the blank items each allows.
    """
    return {key: None if isinstance(value, Unscored) else value
            for key, value in _scored(code, answers, max_missing).items()}


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


def score_response(code: str, answers: Mapping[str, Any], *,
                   max_missing: MaxMissing = None) -> Scored:
    """Score ``answers`` as stored data: too many blanks give reasons, not an error.

    Raises ``ScoringError`` for a bad value (unknown item, wrong type, out of range),
    which is an error still.
    """
    try:
        raw = _scored(code, answers, max_missing)
    except NotScorable as error:
        keys = SCORE_KEYS[code]
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


def validate_answers(code: str, answers: Mapping[str, Any]) -> dict[str, int | None]:
    """Check item codes, types and ranges only (partial answers are fine)."""
    definition = INSTRUMENTS.get(code)
    if definition is None:
        raise ScoringError("instrument", f"unknown instrument {code!r}")
    return checked_answers(definition, answers)


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


__all__ = ["NUMERIC_SCORE_KEYS", "SCORERS", "SCORE_KEYS", "SCORING_VERSIONS", "NotScorable",
           "Scored", "ScoringError", "describe_not_scorable", "score", "score_response",
           "to_jsonable", "validate_answers"]
