"""Oswestry Disability Index v2.1a: what its definition file cannot say.

The ODI is scored by the engine from ``library/odi.json`` (Fairbank JCT, Pynsent PB.
The Oswestry Disability Index. Spine 2000;25(22):2940-52). Here: its bands as the
file has them, and the paper-form rule for a section with two statements marked.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from ..definitions import definition_for
from .base import ScoringError

_SCORE = definition_for("odi").score("odi")
BANDS = _SCORE.bands
"""Fairbank 2000: disability bands by upper bound, inclusive (from the definition file)."""


def odi_band(score: Fraction | int) -> str:
    """Return the disability band of an ODI score (compared exactly)."""
    return _SCORE.band(score)


def paper_section_points(marked: Iterable[int]) -> int:
    """Return a paper section's points when several statements are marked: the highest.

    Fairbank 2000: "if a patient marks more than one statement in a section, the
    highest scoring statement is recorded".
    """
    points = list(marked)
    if not points:
        raise ScoringError("section", "no statement marked")
    return max(points)
