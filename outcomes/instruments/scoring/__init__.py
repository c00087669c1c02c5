"""Scoring registry: one pure scorer per instrument code, with its scoring version.

``score(code, answers)`` returns exact values (``Fraction`` or ``int``), text
(bands, health states) or None; ``to_jsonable`` turns them into JSON numbers
for output. Nothing here imports Django.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

from ..definitions import INSTRUMENTS
from . import eq5d, nrs, odi, promis
from .base import ScoringError, checked_answers

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


def score(code: str, answers: Mapping[str, Any], *, max_missing: int | None = None
          ) -> dict[str, object]:
    """Score ``answers`` to instrument ``code``; raise ``ScoringError`` naming the item."""
    scorer = SCORERS.get(code)
    if scorer is None:
        raise ScoringError("instrument", f"unknown instrument {code!r}")
    if code == "odi" and max_missing is not None:
        return scorer(answers, max_missing=max_missing)
    return scorer(answers)


def validate_answers(code: str, answers: Mapping[str, Any]) -> dict[str, int | None]:
    """Check item codes, types and ranges only (partial answers are fine)."""
    definition = INSTRUMENTS.get(code)
    if definition is None:
        raise ScoringError("instrument", f"unknown instrument {code!r}")
    return checked_answers(definition, answers)


def to_jsonable(scores: Mapping[str, object]) -> dict[str, object]:
    """Return scores with exact fractions as (full-precision) floats, for JSON output."""
    return {k: float(v) if isinstance(v, Fraction) else v for k, v in scores.items()}


__all__ = ["NUMERIC_SCORE_KEYS", "SCORERS", "SCORE_KEYS", "SCORING_VERSIONS", "ScoringError",
           "score", "to_jsonable", "validate_answers"]
