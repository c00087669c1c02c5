"""Oswestry Disability Index v2.1a scoring.

Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-52:
score = points of the answered sections / (5 x sections answered) x 100, so that
16 points over 10 sections is 32%, and over 9 sections 16/45 = 35.56%. With more
sections unanswered than the study allows (default 1), the ODI is not scorable.
Bands (upper-inclusive): 0-20 minimal, 21-40 moderate, 41-60 severe,
61-80 crippled, 81-100 bed-bound.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from ..definitions.odi_v2_1a import ODI
from .base import Answers, NotScorable, ScoringError, checked_answers

SCORING_VERSION = "1"
DEFAULT_MAX_MISSING = 1
BANDS: tuple[tuple[int, str], ...] = (
    (20, "minimal"), (40, "moderate"), (60, "severe"), (80, "crippled"), (100, "bed-bound"),
)
"""Fairbank 2000: disability bands by upper bound, inclusive."""


def odi_band(score: Fraction | int) -> str:
    """Return the disability band of an ODI score (compared exactly)."""
    for upper, band in BANDS:
        if score <= upper:
            return band
    raise ValueError(f"ODI {score} is above 100")


def odi_scores(answers: Answers, *, max_missing: int = DEFAULT_MAX_MISSING) -> dict[str, object]:
    """Return ``odi`` (exact 0-100), ``odi_band`` and ``odi_answered``."""
    values = checked_answers(ODI, answers)
    given = [v for v in values.values() if v is not None]
    missing = len(values) - len(given)
    if missing > max_missing:
        raise NotScorable(
            "odi", f"{missing} section{'' if missing == 1 else 's'} unanswered; "
                   f"at most {max_missing} allowed",
        )
    score = Fraction(100 * sum(given), 5 * len(given))
    return {"odi": score, "odi_band": odi_band(score), "odi_answered": len(given)}


def paper_section_points(marked: Iterable[int]) -> int:
    """Return a paper section's points when several statements are marked: the highest."""
    points = list(marked)
    if not points:
        raise ScoringError("section", "no statement marked")
    return max(points)
