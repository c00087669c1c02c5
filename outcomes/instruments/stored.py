"""Instrument definitions stored in the database: each ``Instrument`` row's own file.

The database is the truth at run time. An ``Instrument`` row holds one version's whole
definition file (``definition``, as ``files.definition_to_dict`` writes it) and the
digest of that content (``digest``); a response points at the row it was answered on.
``definition_of(row)`` parses a row's file once per process and keeps the result for
as long as the digest read with the row is the same: a version imported (or replaced,
while it has no responses) through one process is what every other process sees at
its next read of the row, without a restart and without an extra query.

Parsed definitions are registered in the pure registry as well
(``definitions.register_definition``), so the code that knows a score by its key alone
(its label, its direction, its precision: ``analysis.wording``) finds an imported
instrument's scores like a built-in's. ``load_stored_definitions`` reads every row's
digest in one query and registers what changed, for the commands that name an
instrument by its code (``score``, ``rescore``, ``export_instrument``, imports).
"""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .definitions import DefinitionError, definition_for, library_files, register_definition
from .definitions.base import InstrumentDefinition
from .definitions.files import parse_definition
from .definitions.registry import unregister_definition

WITHOUT_DEFINITION = ("instrument__definition",)
"""For ``defer()`` on a list of responses read with their instrument: its name, not its
file (EQ-5D-5L's value sets are 150 kB). ``definition_of`` reads the file of a row it
has not parsed at its digest (once per process), and only then."""


class UndefinedInstrument(LookupError):
    """An ``Instrument`` row without a usable definition (none stored, or unreadable)."""


def canonical_json(data: Mapping[str, Any]) -> str:
    """Return ``data`` as one canonical JSON text: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest_of(data: Mapping[str, Any]) -> str:
    """Return the SHA-256 of a definition's canonical JSON: equal exactly when equal."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


def is_definition_file(data: object) -> bool:
    """True if ``data`` is a whole definition file (not a legacy copy of its items only)."""
    return isinstance(data, Mapping) and "code" in data and "scores" in data


_lock = threading.Lock()
#: Instrument pk → (digest, definition): this process's parsed copy of each row.
_parsed: dict[int, tuple[str, InstrumentDefinition]] = {}
#: (code, version) this module registered that the library had not: forgotten on request.
_added: set[tuple[str, str]] = set()
#: (code, version) of the library whose registered content a stored row replaced.
_displaced: dict[tuple[str, str], InstrumentDefinition] = {}


def _known(code: str, version: str) -> InstrumentDefinition | None:
    try:
        return definition_for(code, version)
    except KeyError:
        return None


def _register(definition: InstrumentDefinition, *, current: bool) -> None:
    here = (definition.code, definition.version)
    known = _known(*here)
    if known is None:
        _added.add(here)
    elif known != definition and here not in _added and here not in _displaced:
        # A library version stored with other content (answered before its file
        # changed): the stored one is what the responses were scored on.
        _displaced[here] = known
    register_definition(definition, current=current, replace=True)


def _parse_row(pk: int, code: str, version: str, data: object) -> InstrumentDefinition:
    if not is_definition_file(data):
        # A row written before definitions were stored whole: the library's file of
        # the same version, if there is one.
        known = _known(code, version)
        if known is not None and isinstance(data, Mapping) and data.get("items"):
            return known
        raise UndefinedInstrument(f"{code} version {version} has no definition: no "
                                  "questions to ask and no scores to compute")
    try:
        return parse_definition(data)
    except DefinitionError as error:
        raise UndefinedInstrument(
            f"{code} version {version}: its stored definition cannot be used: "
            + "; ".join(error.problems)) from None


def definition_of(instrument, *, current: bool = False) -> InstrumentDefinition:
    """Return the definition an ``Instrument`` row stores (parsed once per digest).

    Raises ``UndefinedInstrument`` for a row without a usable definition.
    """
    digest = instrument.digest
    cached = _parsed.get(instrument.pk)
    if cached is not None and cached[0] == digest and digest:
        return cached[1]
    definition = _parse_row(instrument.pk, instrument.code, instrument.version,
                            instrument.definition)
    with _lock:
        _register(definition, current=current)
        if digest:
            _parsed[instrument.pk] = (digest, definition)
    return definition


def maybe_definition_of(instrument) -> InstrumentDefinition | None:
    """Return ``definition_of(instrument)``, or None for a row without a usable one."""
    try:
        return definition_of(instrument)
    except UndefinedInstrument:
        return None


def _read_files(instruments: list) -> None:
    """Read, in one query, the deferred file of each row this process has not parsed."""
    from .models import Instrument

    wanted = {}
    for row in instruments:
        cached = _parsed.get(row.pk)
        if "definition" in row.get_deferred_fields() and (
                cached is None or cached[0] != row.digest or not row.digest):
            wanted.setdefault(row.pk, []).append(row)
    if wanted:
        for pk, data in Instrument.objects.filter(pk__in=list(wanted)).values_list(
                "pk", "definition"):
            for row in wanted[pk]:
                row.definition = data


def definitions_of(instruments: Iterable) -> dict[int, InstrumentDefinition]:
    """Return ``{pk: definition}`` of these rows, leaving out any without a usable one.

    Rows read without their file (``defer("definition")``) cost one query for all
    those this process has not parsed at their digest, none once it has.
    """
    instruments = list(instruments)
    _read_files(instruments)
    found = {}
    for instrument in instruments:
        definition = maybe_definition_of(instrument)
        if definition is not None:
            found[instrument.pk] = definition
    return found


def load_stored_definitions() -> dict[str, InstrumentDefinition]:
    """Register every stored definition that this process has not parsed at its digest.

    One query for every row's digest (the table holds a row per instrument version: a
    few dozen), and one more for the rows that changed. The newest row of each code
    (highest id: the version imported last) is its current version. Returns the
    current definition of each stored code.
    """
    from .models import Instrument

    rows = list(Instrument.objects.order_by("pk").values_list("pk", "code", "version",
                                                              "digest"))
    stale = [pk for pk, _, _, digest in rows if _parsed.get(pk, ("",))[0] != digest
             or not digest]
    if stale:
        for instrument in Instrument.objects.filter(pk__in=stale):
            try:
                definition_of(instrument)
            except UndefinedInstrument:
                continue
    newest = {code: pk for pk, code, _, _ in rows}
    current = {}
    for code, pk in newest.items():
        cached = _parsed.get(pk)
        if cached is None:
            continue
        with _lock:
            register_definition(cached[1], current=True, replace=True)
        current[code] = cached[1]
    return current


def stored_instrument(code: str, version: str | None = None):
    """Return the ``Instrument`` row of ``code`` at ``version`` (default: the newest).

    Raises ``UndefinedInstrument`` naming the stored codes or versions.
    """
    from .models import Instrument

    rows = Instrument.objects.filter(code=code).order_by("-pk")
    if version is not None:
        rows = rows.filter(version=version)
    found = rows.first()
    if found is not None:
        return found
    if version is not None and Instrument.objects.filter(code=code).exists():
        versions = ", ".join(Instrument.objects.filter(code=code).order_by("version")
                             .values_list("version", flat=True))
        raise UndefinedInstrument(f"{code} has no version {version!r}; stored: {versions}")
    codes = ", ".join(sorted(set(Instrument.objects.values_list("code", flat=True))))
    raise UndefinedInstrument(f"unknown instrument {code!r}; stored: {codes or 'none'}")


def study_instruments(study) -> list:
    """Return the ``Instrument`` rows a study (or study id) schedules, each once, in
    schedule order (by time point, then the patient's order); one query. Their files
    are not read (``definitions_of`` reads those it needs)."""
    from outcomes.followups.models import TimePointInstrument

    study_id = getattr(study, "pk", study)
    rows = (TimePointInstrument.objects.filter(timepoint__study_id=study_id)
            .select_related("instrument").defer(*WITHOUT_DEFINITION)
            .order_by("timepoint__target_day", "order", "pk"))
    found: dict[int, object] = {}
    for row in rows:
        found.setdefault(row.instrument_id, row.instrument)
    return list(found.values())


def definitions_for_study(study) -> list[tuple[Any, InstrumentDefinition]]:
    """Return ``(Instrument row, definition)`` of every instrument the study schedules,
    in schedule order; rows without a usable definition are left out. One query."""
    instruments = study_instruments(study)
    parsed = definitions_of(instruments)
    return [(row, parsed[row.pk]) for row in instruments if row.pk in parsed]


def instruments_by_code(study=None) -> dict[str, tuple[Any, InstrumentDefinition]]:
    """Return every stored instrument by code, as ``(Instrument row, definition)``: the
    version ``study`` schedules (the last it lists, if several), else the newest stored.
    Rows without a usable definition are left out. Two queries."""
    from .models import Instrument

    rows = {row.code: row for row in Instrument.objects.defer("definition").order_by("pk")}
    if study is not None:
        for row in study_instruments(study):
            rows[row.code] = row
    parsed = definitions_of(rows.values())
    return {code: (row, parsed[row.pk]) for code, row in rows.items() if row.pk in parsed}


@functools.cache
def library_versions() -> frozenset[tuple[str, str]]:
    """Return the (code, version) of every built-in library file."""
    from .definitions.files import read_definition_file

    found = set()
    for path in library_files():
        data = read_definition_file(path)
        found.add((str(data.get("code")), str(data.get("version"))))
    return frozenset(found)


def forget_stored_definitions() -> None:
    """Forget the stored definitions the library does not have (tests; a database emptied).

    They are unregistered, and library versions a stored row had replaced get their
    file's content back. Parsed copies of the library's own content are kept: a row is
    read again whenever its digest differs, whatever its id.
    """
    with _lock:
        gone = _added | set(_displaced)
        for code, version in sorted(_added):
            unregister_definition(code, version)
        for definition in _displaced.values():
            register_definition(definition, current=True, replace=True)
        _added.clear()
        _displaced.clear()
        for pk in [pk for pk, (_, d) in _parsed.items() if (d.code, d.version) in gone]:
            del _parsed[pk]


__all__ = ["WITHOUT_DEFINITION", "UndefinedInstrument", "canonical_json", "definition_of",
           "definitions_for_study", "definitions_of", "digest_of",
           "forget_stored_definitions", "instruments_by_code", "is_definition_file",
           "library_versions", "load_stored_definitions", "maybe_definition_of",
           "stored_instrument", "study_instruments"]
