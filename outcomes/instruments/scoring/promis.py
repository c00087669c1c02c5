"""PROMIS Global Health v1.2: its tables read from the definition file, and old codings.

Scored by the engine from ``library/promis_gh.json`` (Hays RD et al. Qual Life Res
2009;18:873-880; HealthMeasures PROMIS Global Health scoring manual): global07r
rescored 0 -> 5, 1-3 -> 4, 4-6 -> 3, 7-9 -> 2, 10 -> 1; raw score to T-score and SE.
``GPH_T``/``GMH_T`` and ``rescore_pain`` are the file's tables in the shape the tests
check them in; ``from_v1_0`` converts v1.0/1.1 data, which no file describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from ..definitions import definition_for
from .base import ScoringError

_PROMIS = definition_for("promis_gh")


def _table(prefix: str) -> dict[int, tuple[Fraction, Fraction]]:
    t = dict(_PROMIS.score(f"{prefix}_t").table)
    se = dict(_PROMIS.score(f"{prefix}_se").table)
    return {raw: (t[raw], se[raw]) for raw in t}


GPH_T = _table("gph")
"""Global Physical Health raw score to (T-score, SE): scoring manual, table 1."""
GMH_T = _table("gmh")
"""Global Mental Health raw score to (T-score, SE): scoring manual, table 2."""
_PAIN = dict(dict(_PROMIS.score("gph_raw").recode)["global07r"])


def rescore_pain(value: int) -> int:
    """Return global07r (0-10) on the 1-5 scale the GPH sum uses."""
    return _PAIN[value]


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
