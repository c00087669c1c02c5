"""Instrument content as data: the library's definition files, parsed (no Django).

Each file in ``outcomes/instruments/library`` is one instrument version (SPEC 3.6; the
format and its extensions in ``docs/instruments.md``). They are parsed and registered
here, at import; ``registry`` takes definitions from elsewhere too.
"""

from __future__ import annotations

from pathlib import Path

from .base import InstrumentDefinition, Item, Option, ScoreDef, ScoreSpec
from .files import DefinitionError, _parse, read_definition_file
from .registry import (
    INSTRUMENTS,
    SCORE_SPECS,
    definition_for,
    register_definition,
    registered_definitions,
)

LIBRARY = Path(__file__).resolve().parent.parent / "library"
"""The built-in library: one JSON definition file per instrument version."""


def library_files() -> list[Path]:
    """Return the library's definition files, by name."""
    return sorted(LIBRARY.glob("*.json"))


def _load_library() -> None:
    for path in library_files():
        try:
            # Function names are checked when the scoring package (which has them) loads.
            definition = _parse(read_definition_file(path), None)
        except DefinitionError as error:
            raise DefinitionError([f"{path.name}: {p}" for p in error.problems]) from None
        register_definition(definition)


_load_library()


def get_definition(code: str) -> InstrumentDefinition:
    """Return the current definition of instrument ``code``."""
    return definition_for(code)


__all__ = ["INSTRUMENTS", "LIBRARY", "SCORE_SPECS", "DefinitionError", "InstrumentDefinition",
           "Item", "Option", "ScoreDef", "ScoreSpec", "definition_for", "get_definition",
           "library_files", "register_definition", "registered_definitions"]
