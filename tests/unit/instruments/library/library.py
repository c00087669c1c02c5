"""Helpers for the library tests: load a library file through the engine's loader, score it."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

from outcomes.instruments.definitions.files import load_definition_file
from outcomes.instruments.scoring.engine import score_definition

LIBRARY = (Path(__file__).resolve().parents[4] / "outcomes" / "instruments" / "library"
           / "catalogue")


def raw(name: str) -> dict[str, Any]:
    """Return a library file as JSON decodes it (to read its tables cell by cell)."""
    return json.loads((LIBRARY / name).read_text(encoding="utf-8"))


def load(name: str):
    """Return the parsed definition of a library file (raises DefinitionError if broken)."""
    return load_definition_file(LIBRARY / name)


def score(name: str, answers: dict[str, int | None], **kwargs) -> dict[str, Any]:
    return score_definition(load(name), answers, **kwargs)


def summing_to(items: list[str], total: int, *, high: int = 3) -> dict[str, int]:
    """Answers to ``items`` summing to ``total``: ``high`` from the first item, then the rest."""
    values = {}
    left = total
    for code in items:
        values[code] = min(high, left)
        left -= values[code]
    assert left == 0, f"{total} is more than {len(items)} items can sum to"
    return values


def table_of(name: str, key: str) -> dict[int, Fraction]:
    """Return score ``key``'s lookup table from the file, as exact numbers by raw score."""
    for entry in raw(name)["scores"]:
        if entry["key"] == key:
            return {int(k): Fraction(str(v)) for k, v in entry["table"].items()}
    raise KeyError(key)


def exact(values) -> list[Fraction]:
    """Return decimal literals (given as text or numbers) as exact Fractions."""
    return [Fraction(str(v)) for v in values]
