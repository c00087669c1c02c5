"""PROMIS Global Health v1.2 scoring: GPH and GMH raw scores, T-scores and SEs.

Hays RD, Bjorner JB, Revicki DA, Spritzer KL, Cella D. Qual Life Res
2009;18:873-880, and the HealthMeasures PROMIS Global Health scoring manual.
Global07r (pain, 0-10) is rescored 0 -> 5, 1-3 -> 4, 4-6 -> 3, 7-9 -> 2, 10 -> 1.
GPH raw = global03 + global06 + rescored global07r + global08r; GMH raw =
global02 + global04 + global05 + global10r; all four items are needed for a
scale (no proration), and one scale can be scored while the other is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ..definitions.promis_gh_v1_2 import PROMIS_GH
from .base import Answers, NotScorable, ScoringError, Unscored, checked_answers, exact

SCORING_VERSION = "1"
GPH_ITEMS = ("global03", "global06", "global07r", "global08r")
GMH_ITEMS = ("global02", "global04", "global05", "global10r")


def _table(rows: str) -> dict[int, tuple[Fraction, Fraction]]:
    table = {}
    for row in rows.strip().splitlines():
        raw, t, se = row.split()
        table[int(raw)] = (exact(t), exact(se))
    return table


GPH_T = _table("""
4 16.2 4.8
5 19.9 4.7
6 23.5 4.5
7 26.7 4.3
8 29.6 4.2
9 32.4 4.2
10 34.9 4.1
11 37.4 4.1
12 39.8 4.1
13 42.3 4.2
14 44.9 4.3
15 47.7 4.4
16 50.8 4.6
17 54.1 4.7
18 57.7 4.9
19 61.9 5.2
20 67.7 5.9
""")
"""Global Physical Health raw score to T-score and SE (scoring manual, table 1)."""

GMH_T = _table("""
4 21.2 4.6
5 25.1 4.1
6 28.4 3.9
7 31.3 3.7
8 33.8 3.7
9 36.3 3.7
10 38.8 3.6
11 41.1 3.6
12 43.5 3.6
13 45.8 3.6
14 48.3 3.7
15 50.8 3.7
16 53.3 3.7
17 56.0 3.8
18 59.0 3.9
19 62.5 4.2
20 67.6 5.3
""")
"""Global Mental Health raw score to T-score and SE (scoring manual, table 2; raw 4 = 21.2
as in the manual, where Hays' 2009 working file has 21.1)."""


def rescore_pain(value: int) -> int:
    """Return global07r (0-10) on the 1-5 scale the GPH sum uses."""
    if value == 0:
        return 5
    if value <= 3:
        return 4
    if value <= 6:
        return 3
    if value <= 9:
        return 2
    return 1


def _scale(values: Mapping[str, int | None], items: tuple[str, ...], table, prefix: str):
    parts = [values[item] for item in items]
    blank = [item for item, part in zip(items, parts, strict=True) if part is None]
    if blank:
        why = Unscored(f"{', '.join(blank)} unanswered; all four items are needed")
        return {f"{prefix}_raw": why, f"{prefix}_t": why, f"{prefix}_se": why}
    raw = sum(rescore_pain(v) if item == "global07r" else v
              for item, v in zip(items, parts, strict=True))
    t, se = table[raw]
    return {f"{prefix}_raw": raw, f"{prefix}_t": t, f"{prefix}_se": se}


def promis_scores(answers: Answers) -> dict[str, object]:
    """Return GPH and GMH raw, T and SE (``Unscored`` for a scale missing an item), 2 items."""
    values = checked_answers(PROMIS_GH, answers)
    if all(v is None for v in values.values()):
        raise NotScorable("promis_gh", "no items answered")
    return {
        **_scale(values, GPH_ITEMS, GPH_T, "gph"),
        **_scale(values, GMH_ITEMS, GMH_T, "gmh"),
        **{item: Unscored(f"{item} unanswered") if values[item] is None else values[item]
           for item in ("global01", "global09r")},
    }


def from_v1_0(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Return v1.0/1.1 answers in v1.2 coding: Global08 and Global10 reversed (6 - x)."""
    converted = {k: v for k, v in answers.items() if k not in ("global08", "global10")}
    for old, new in (("global08", "global08r"), ("global10", "global10r")):
        value = answers.get(old)
        if value is not None:
            if type(value) is not int or not 1 <= value <= 5:
                raise ScoringError(old, f"expected an integer 1-5, got {value!r}")
            converted[new] = 6 - value
    return converted
