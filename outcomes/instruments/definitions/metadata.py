"""Metadata of a definition file: what may change on a version with responses.

A version that has responses never changes (a correction is a new version), except for
the keys below, which neither the patient's questions and answers nor any score read:
the exports' citations and codes, what the study team is told about an answer, and what
the results compare the other scores with. ``docs/instruments.md`` lists them too.

- ``source``: the citation the scoring follows (FHIR Questionnaire ``description``);
- ``licence``: the copyright and licence notice (FHIR ``copyright``; the patient's page
  prints it in small type under the questions);
- ``alerts``: the answers the study team must see (an alert added to a version already
  answered applies to the responses stored from then on: a safety check must not wait
  for a new version);
- ``scores[n].loinc``, ``scores[n].loinc_display``: a score's LOINC code and its long
  common name (FHIR Observation ``code``), added once checked against LOINC;
- ``scores[n].anchor``: the score as an anchor of the MCID estimates (the results).

Pure: no Django. Works on definition files as ``files.definition_to_dict`` writes them
(keys at their defaults left out: a ``loinc`` absent is the same as ``""``, ``alerts``
absent the same as ``[]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

INSTRUMENT_METADATA = ("source", "licence", "alerts")
"""Top-level keys of a file that are metadata."""
SCORE_METADATA = ("loinc", "loinc_display", "anchor")
"""Keys of each score that are metadata."""

_SCORE_KEY = re.compile(r"^scores\[\d+\]\.(\w+)(?:$|[.\[])")
_TOP_KEY = re.compile(r"^(\w+)(?:$|[.\[])")


def is_metadata(path: str) -> bool:
    """True if the key path (``licence``, ``alerts[0].when.item``, ``scores[0].loinc``,
    ``scores[1].anchor.label``) is metadata, or inside it."""
    top = _TOP_KEY.match(path)
    if top is not None and top.group(1) in INSTRUMENT_METADATA:
        return True
    found = _SCORE_KEY.match(path)
    return found is not None and found.group(1) in SCORE_METADATA


def without_metadata(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a definition file without its metadata: what forms and scores read."""
    kept = {key: value for key, value in data.items() if key not in INSTRUMENT_METADATA}
    scores = data.get("scores")
    if isinstance(scores, list):
        kept["scores"] = [
            {key: value for key, value in score.items() if key not in SCORE_METADATA}
            if isinstance(score, Mapping) else score
            for score in scores]
    return kept


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Return the key path of every value that differs between two files, in the order
    of ``after`` (then keys only ``before`` has).

    ``items[2].text``, ``scores[0].bands[1].label``; a key or list entry present in one
    only is named too (``items[10]``); ``scores[0].loinc`` absent and ``""`` are equal
    (a file leaves keys at their defaults out).
    """
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        found = []
        for key in dict.fromkeys([*after, *before]):
            here = f"{path}.{key}" if path else str(key)
            old, new = before.get(key), after.get(key)
            if key in (*SCORE_METADATA, *INSTRUMENT_METADATA) and _unset(old) and _unset(new):
                continue
            found.extend(differences(old, new, here))
        return found
    if _is_list(before) and _is_list(after):
        found = []
        for number in range(max(len(before), len(after))):
            here = f"{path}[{number}]"
            if number >= len(before) or number >= len(after):
                found.append(here)
            else:
                found.extend(differences(before[number], after[number], here))
        return found
    if before == after and isinstance(before, bool) == isinstance(after, bool):
        return []  # 1 and 1.0 are the same number in a file; true is not 1
    return [path or "(the file)"]


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def value_at(data: Any, path: str) -> Any:
    """Return the value at a key path of a file (``scores[0].loinc``); None if absent."""
    value = data
    for key, number in re.findall(r"([^.\[\]]+)|\[(\d+)\]", path):
        if number:
            value = value[int(number)] if _is_list(value) and int(number) < len(value) else None
        else:
            value = value.get(key) if isinstance(value, Mapping) else None
    return value


def next_version(version: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """Return a version to publish a correction as: ``1.0`` → ``1.1``, ``2.1a`` → ``2.1a.1``.

    The last number of a version ending in one goes up by one; otherwise ``.1`` is
    added. Versions in ``taken`` (stored already) are passed over.
    """
    candidate = version
    while True:
        found = re.search(r"(\d+)$", candidate)
        if found:
            candidate = candidate[:found.start()] + str(int(found.group(1)) + 1)
        else:
            candidate = f"{candidate}.1"
        if candidate not in taken:
            return candidate


__all__ = ["INSTRUMENT_METADATA", "SCORE_METADATA", "differences", "is_metadata",
           "next_version", "value_at", "without_metadata"]


def _unset(value: Any) -> bool:
    """A metadata key at its default: absent, ``""`` or ``[]``."""
    return value is None or value == "" or value == []
