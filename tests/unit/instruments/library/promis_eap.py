"""PROMIS short-form tables recomputed from item calibrations: the method, pinned once.

HealthMeasures' raw score -> T-score (SE) tables for PROMIS short forms are EAP
summed-score tables (Lord & Wingersky, Appl Psychol Meas 1984;8:453-461) from the item
banks' graded-response calibrations with a standard normal prior. Over theta -4.5 to 4.5
in steps of 0.1 this reproduces every published PROMIS-29 v2.1 cell it is checked on
(``test_promis29.py``: 102 T and 85 SE cells); a wider range does not. Used by
``test_promis29.py``, ``test_promis_pi6a.py``, ``test_promis_pf6b.py`` and
``test_promis_six_item_forms.py``, which also takes ``published_table`` and
``cells_differing`` from here.
"""

from __future__ import annotations

import math
from fractions import Fraction

THETA_NODES = [Fraction(n, 10) for n in range(-45, 46)]
"""The quadrature: theta -4.5 to 4.5 in steps of 0.1 (91 nodes)."""


def eap_summed_score_table(items, theta=THETA_NODES) -> list[tuple[float, float]]:
    """Return (T, SE) for each summed score of graded-response items (Lord-Wingersky)."""
    nodes = [float(q) for q in theta]
    prior = [math.exp(-q * q / 2) for q in nodes]
    likelihood = [[1.0] for _ in nodes]
    for slope, thresholds in items:
        for n, q in enumerate(nodes):
            above = [1 / (1 + math.exp(-slope * (q - b))) for b in thresholds]
            category = [1 - above[0]] + [above[k] - above[k + 1] for k in range(3)] + [above[3]]
            old = likelihood[n]
            new = [0.0] * (len(old) + 4)
            for s, value in enumerate(old):
                for c, p in enumerate(category):
                    new[s + c] += value * p
            likelihood[n] = new
    rows = []
    for s in range(len(likelihood[0])):
        weights = [prior[n] * likelihood[n][s] for n in range(len(nodes))]
        total = sum(weights)
        mean = sum(w * q for w, q in zip(weights, nodes, strict=True)) / total
        var = sum(w * (q - mean) ** 2 for w, q in zip(weights, nodes, strict=True)) / total
        rows.append((50 + 10 * mean, 10 * math.sqrt(var)))
    return rows


def published_table(calibration: dict, items, first: int) -> dict[int, tuple[Fraction, Fraction]]:
    """Return {raw: (T, SE)} for these items (codes into ``calibration``: item ->
    (slope, thresholds)), rounded to 0.1 as the tables are published; ``first`` is the
    lowest raw sum."""
    rows = eap_summed_score_table([calibration[code] for code in items])
    return {first + n: (Fraction(f"{t:.1f}"), Fraction(f"{se:.1f}"))
            for n, (t, se) in enumerate(rows)}


def cells_differing(t_table, se_table, expected) -> set[tuple[str, int]]:
    """Return the (T or SE, raw) cells of the given tables that ``expected`` ({raw: (T,
    SE)}) does not give: a cell changed, added or missing."""
    keys = set(t_table) | set(se_table) | set(expected)
    return ({("T", r) for r in keys if t_table.get(r) != expected.get(r, (None,))[0]}
            | {("SE", r) for r in keys if se_table.get(r) != expected.get(r, (None, None))[1]})
