"""EQ-5D-3L scoring: the health state, UK and US index values, and the EQ VAS.

UK: Dolan P. Modeling valuations for EuroQol health states. Med Care
1997;35(11):1095-1108 (time trade-off, N3 model). Index = 1 - decrements, with
1 exactly for 11111; range -0.594 (33333) to 1.

US: Shaw JW, Johnson JA, Coons SJ. US valuation of the EQ-5D health states:
development and testing of the D1 valuation model. Med Care 2005;43(3):203-220.
Full-precision coefficients (the widely copied 3-decimal table is off by up
to 0.007). Published checks: 11121 -> 0.827, 22112 -> 0.759, 33113 -> 0.102,
33333 -> -0.109.

All coefficients are exact fractions of their decimal literals. These are the code of
the registered scoring functions ``eq5d3l_state``, ``eq5d3l_index_uk`` and
``eq5d3l_index_us`` (``functions.py``) that ``library/eq5d3l.json`` names: the value
sets are model coefficients, not a table of states, so they stay here as data beside
the formula that reads them.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from fractions import Fraction

from .base import ScoringError, exact

DIMENSIONS = ("mobility", "self_care", "usual_activities", "pain_discomfort",
              "anxiety_depression")
"""The five dimensions' item codes, in the order a health state spells them."""

UK_CONSTANT = exact("0.081")
"""Dolan 1997, table 3 (TTO N3 model): constant, any dimension not at level 1."""
UK_N3 = exact("0.269")
"""Dolan 1997, table 3: N3, any dimension at level 3."""
UK_DECREMENTS: dict[str, tuple[Fraction, Fraction]] = {
    "mobility": (exact("0.069"), exact("0.314")),
    "self_care": (exact("0.104"), exact("0.214")),
    "usual_activities": (exact("0.036"), exact("0.094")),
    "pain_discomfort": (exact("0.123"), exact("0.386")),
    "anxiety_depression": (exact("0.071"), exact("0.236")),
}
"""Dolan 1997, table 3: decrements for level 2 and level 3 of each dimension."""

US_DECREMENTS: dict[str, tuple[Fraction, Fraction]] = {
    "mobility": (exact("0.146016"), exact("0.557685")),
    "self_care": (exact("0.1753425"), exact("0.4711896")),
    "usual_activities": (exact("0.1397295"), exact("0.3742594")),
    "pain_discomfort": (exact("0.1728907"), exact("0.5371011")),
    "anxiety_depression": (exact("0.156223"), exact("0.4501876")),
}
"""Shaw 2005, table 3 (D1 model): level 2 and level 3 coefficients."""
US_D1 = exact("-0.1395949")
US_I2_SQUARED = exact("0.0106868")
US_I3 = exact("-0.1215579")
US_I3_SQUARED = exact("-0.0147963")
"""Shaw 2005, table 3: D1, I2 squared, I3 and I3 squared terms."""


def _levels(state: str) -> tuple[int, ...]:
    if len(state) != 5 or any(c not in "123" for c in state):
        raise ScoringError("eq5d_state", f"expected five digits 1-3, got {state!r}")
    return tuple(int(c) for c in state)


@functools.cache  # 243 states: each is computed once, exactly
def index_uk(state: str) -> Fraction:
    """Return the UK TTO index (Dolan 1997) of a health state such as ``"21232"``."""
    levels = _levels(state)
    if all(level == 1 for level in levels):
        return Fraction(1)
    total = UK_CONSTANT
    for dimension, level in zip(DIMENSIONS, levels, strict=True):
        if level > 1:
            total += UK_DECREMENTS[dimension][level - 2]
    if 3 in levels:
        total += UK_N3
    return 1 - total


@functools.cache
def index_us(state: str) -> Fraction:
    """Return the US index (Shaw 2005, D1 model) of a health state such as ``"21232"``."""
    levels = _levels(state)
    total = Fraction(0)
    for dimension, level in zip(DIMENSIONS, levels, strict=True):
        if level > 1:
            total += US_DECREMENTS[dimension][level - 2]
    at2 = sum(level == 2 for level in levels)
    at3 = sum(level == 3 for level in levels)
    d1 = max(0, at2 + at3 - 1)
    i2 = max(0, at2 - 1)
    i3 = max(0, at3 - 1)
    total += US_D1 * d1 + US_I2_SQUARED * i2**2 + US_I3 * i3 + US_I3_SQUARED * i3**2
    return 1 - total


def health_state(levels: Mapping[str, int]) -> str:
    """Return the health state of the five dimensions' levels: ``"21232"``."""
    return "".join(str(levels[dimension]) for dimension in DIMENSIONS)


def state_index_uk(levels: Mapping[str, int]) -> Fraction:
    """Return the UK index of the five dimensions' levels (registered ``eq5d3l_index_uk``)."""
    return index_uk(health_state(levels))


def state_index_us(levels: Mapping[str, int]) -> Fraction:
    """Return the US index of the five dimensions' levels (registered ``eq5d3l_index_us``)."""
    return index_us(health_state(levels))
