"""The definitions in use, by code and version: the library's files, and any fed in later.

``register_definition`` adds one (the built-in library at import; definitions stored in
the database, by whoever reads them); ``definition_for`` finds one. ``INSTRUMENTS`` and
``SCORE_SPECS`` are the current versions' views, kept up to date in place, so a module
that imported them sees what is registered after. Pure: no Django.
"""

from __future__ import annotations

from .base import InstrumentDefinition, ScoreSpec

INSTRUMENTS: dict[str, InstrumentDefinition] = {}
"""The current version of each instrument, by code."""

SCORE_SPECS: dict[str, ScoreSpec] = {}
"""Every reported score of every instrument's current version, by key."""

_VERSIONS: dict[tuple[str, str], InstrumentDefinition] = {}
_OWNERS: dict[str, str] = {}
"""Output key → the instrument code that gives it: a key means one thing everywhere."""
_GENERATION = [0]


def generation() -> int:
    """Return a number that changes whenever a definition is registered (for caches)."""
    return _GENERATION[0]


def register_definition(defn: InstrumentDefinition, *, current: bool = True,
                        replace: bool = False) -> InstrumentDefinition:
    """Register ``defn``; with ``current``, as its instrument's current version.

    Registering the same content again changes nothing. A version registered with other
    content is refused (a version never changes) unless ``replace``. An output key that
    another instrument gives already is refused: stored scores, exports and responder
    rules know a score by its key alone.
    """
    here = (defn.code, defn.version)
    known = _VERSIONS.get(here)
    if known is not None and known != defn and not replace:
        raise ValueError(f"{defn.code} version {defn.version} is registered already with "
                         "other content; a correction is a new version")
    for key in defn.output_keys:
        owner = _OWNERS.get(key)
        if owner is not None and owner != defn.code:
            raise ValueError(f"{defn.code}: score key {key!r} is given by {owner} already")
    if known is not None and known != defn:
        _forget_keys(known)
    for key in defn.output_keys:
        _OWNERS[key] = defn.code
    _VERSIONS[here] = defn
    _GENERATION[0] += 1
    previous = INSTRUMENTS.get(defn.code)
    if current or previous is None or previous.version == defn.version:
        if previous is not None:
            for spec in previous.scores:
                SCORE_SPECS.pop(spec.key, None)
        INSTRUMENTS[defn.code] = defn
        for spec in defn.scores:
            SCORE_SPECS[spec.key] = spec
    return defn


def _forget_keys(defn: InstrumentDefinition) -> None:
    """Release the output keys only ``defn`` (of all its instrument's versions) gives."""
    kept = {key for (code, version), other in _VERSIONS.items()
            if code == defn.code and version != defn.version for key in other.output_keys}
    for key in defn.output_keys:
        if key not in kept and _OWNERS.get(key) == defn.code:
            del _OWNERS[key]


def unregister_definition(code: str, version: str) -> None:
    """Forget one registered version (a definition fed in from elsewhere, withdrawn).

    Its keys are released; if it was its instrument's current version, the version
    registered before it becomes current again (none left: the instrument is gone).
    Unknown versions are passed over.
    """
    defn = _VERSIONS.pop((code, version), None)
    if defn is None:
        return
    _forget_keys(defn)
    _GENERATION[0] += 1
    if INSTRUMENTS.get(code) is not defn:
        return
    for spec in defn.scores:
        SCORE_SPECS.pop(spec.key, None)
    del INSTRUMENTS[code]
    earlier = [other for (c, _), other in _VERSIONS.items() if c == code]
    if earlier:
        INSTRUMENTS[code] = earlier[-1]
        for spec in earlier[-1].scores:
            SCORE_SPECS[spec.key] = spec


def definition_for(code: str, version: str | None = None) -> InstrumentDefinition:
    """Return instrument ``code``'s definition: ``version``, else the current one.

    Raises ``KeyError`` naming what is known.
    """
    current = INSTRUMENTS.get(code)
    if current is None:
        raise KeyError(f"unknown instrument {code!r}; known: {', '.join(sorted(INSTRUMENTS))}")
    if version is None or current.version == version:
        return current
    try:
        return _VERSIONS[(code, version)]
    except KeyError:
        versions = sorted(v for c, v in _VERSIONS if c == code)
        raise KeyError(f"{code} has no version {version!r}; known: "
                       f"{', '.join(versions)}") from None


def key_owner(key: str) -> str | None:
    """Return the code of the instrument that gives output key ``key``, or None."""
    return _OWNERS.get(key)


def registered_definitions() -> tuple[InstrumentDefinition, ...]:
    """Return every registered definition, every version."""
    return tuple(_VERSIONS.values())
