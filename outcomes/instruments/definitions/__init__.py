"""Instrument content as data: the library's definition files, parsed (no Django).

Each file in ``outcomes/instruments/library`` is one instrument version (SPEC 3.6; the
format and its extensions in ``docs/instruments.md``). They are parsed and registered
here, at import; ``registry`` takes definitions from elsewhere too.
"""

from __future__ import annotations

import json
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


INDEX = "index.json"
"""The library's shelf order: file names, listed first in this order (the order the
instruments are synced, so offered and listed); a file not listed follows, by name."""


def library_files() -> list[Path]:
    """Return the library's definition files: those of the index in order, then the rest."""
    listed = json.loads((LIBRARY / INDEX).read_text(encoding="utf-8"))
    found = {path.name: path for path in LIBRARY.glob("*.json") if path.name != INDEX}
    unknown = [name for name in listed if name not in found]
    if unknown:
        raise DefinitionError([f"{INDEX}: no file {name!r} in the library" for name in unknown])
    return [found[name] for name in listed] + sorted(
        path for name, path in found.items() if name not in listed)


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
