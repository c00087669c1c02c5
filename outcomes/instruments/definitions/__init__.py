"""Instrument content as data: one module per instrument version (no Django)."""

from __future__ import annotations

from .base import InstrumentDefinition, Item, Option, ScoreSpec
from .eq5d3l import EQ5D3L
from .nrs11 import NRS11
from .odi_v2_1a import ODI
from .promis_gh_v1_2 import PROMIS_GH

INSTRUMENTS: dict[str, InstrumentDefinition] = {
    d.code: d for d in (ODI, NRS11, EQ5D3L, PROMIS_GH)
}
"""The current version of each instrument, by code."""


SCORE_SPECS: dict[str, ScoreSpec] = {
    spec.key: spec for d in INSTRUMENTS.values() for spec in d.scores
}
"""Every reported score of every instrument, by key."""


def get_definition(code: str) -> InstrumentDefinition:
    """Return the current definition of instrument ``code``."""
    try:
        return INSTRUMENTS[code]
    except KeyError:
        raise KeyError(
            f"unknown instrument {code!r}; known: {', '.join(sorted(INSTRUMENTS))}"
        ) from None


__all__ = ["INSTRUMENTS", "SCORE_SPECS", "InstrumentDefinition", "Item", "Option", "ScoreSpec",
           "get_definition"]
