"""Which answers a questionnaire page still needs, where to resume, how long it takes.

Pure: plain values in, plain values out, no Django. The form, the resume and the
submit check all ask these functions, so the page that says an answer is missing,
the page a returning patient lands on and the submit that refuses agree.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from outcomes.instruments.definitions.base import InstrumentDefinition, disabled_items
from outcomes.instruments.scoring.engine import max_missing_problems as engine_problems

SECONDS_PER_ITEM = 10
"""A rough pace for the first page's estimate: about ten seconds a question."""


@enum.unique
class Need(enum.StrEnum):
    """Why an item needs an answer."""

    ANSWER = "answer"
    """The item is required."""
    FEWER_BLANKS = "fewer_blanks"
    """The item may be left blank, but more items are blank than the instrument allows."""


@dataclass(frozen=True)
class Missing:
    """One item a page still needs, with the allowance it broke."""

    code: str
    need: Need
    allowed: int
    """Items of the broken score that may be left blank (0 for ``Need.ANSWER``)."""
    blank: int
    """Items of that score without a value: left blank, or answered "not applicable"."""
    total: int
    """Items of that score asked (for ``Need.ANSWER``: of the page, as ``blank`` is)."""
    not_applicable: int = 0
    """Of ``blank``, the items answered "not applicable" (they count as the engine counts
    them: against the score's allowance)."""


def blanks_allowed(definition: InstrumentDefinition, max_missing: Mapping[str, int]) -> int:
    """Return the fewest blanks any score of ``definition`` counted over items allows.

    A summary (0 where any score needs all its items, or there is none); which item may
    be blank is decided per score: ``skippable_items`` and ``missing_answers``.
    """
    allowances = [_allowance(definition, spec, max_missing)
                  for spec in _scores(definition) if spec.items]
    return min(allowances) if allowances else 0


def skippable_items(definition: InstrumentDefinition,
                    max_missing: Mapping[str, int]) -> frozenset[str]:
    """Return the item codes that may be left blank (and so get a "skip" answer).

    An item the definition does not require (``required: false``) always may; a required
    one where it is read by a score and every score reading it allows a blank (the
    study's ``Study.max_missing`` for the score, else its file's). A required item in no
    score, or in a score that needs all its items, never may.
    """
    allowances = _item_allowances(definition, max_missing)
    return frozenset(item.code for item in definition.items
                     if not item.required
                     or (item.code in allowances
                         and all(allowed > 0 for _, allowed in allowances[item.code])))


def _item_allowances(definition: InstrumentDefinition, max_missing: Mapping[str, int]
                     ) -> dict[str, list[tuple[object, int]]]:
    """Each item code to the ``(score, blanks it allows)`` of every score reading it."""
    read: dict[str, list[tuple[object, int]]] = {}
    for spec in _scores(definition):
        if not spec.items:
            continue  # computed from another score: that score's allowance counts
        allowed = _allowance(definition, spec, max_missing)
        for code in spec.items:
            read.setdefault(code, []).append((spec, allowed))
    return read


def _allowance(definition: InstrumentDefinition, spec, max_missing: Mapping[str, int]) -> int:
    """The study's allowance for ``spec`` where the scoring engine takes it, else the file's."""
    value = max_missing.get(spec.key)
    if value is None or engine_problems(definition, {spec.key: value}):
        return spec.max_missing
    return value


def _scores(definition: InstrumentDefinition) -> tuple:
    """Every score the definition computes (the unreported raw sums too)."""
    return definition.score_defs or definition.scores


def missing_answers(definition: InstrumentDefinition, answers: Mapping[str, object], *,
                    max_missing: Mapping[str, int]) -> list[Missing]:
    """Return the items ``answers`` still needs, in the page's order (empty: complete).

    A missing key and ``None`` both mean unanswered; an item the definition does not
    require (``required: false``) is never needed, nor is one not asked (its
    ``enable_when`` unmet by ``answers``); a "not applicable" answer is an answer.
    A required item left blank is needed where it is in no score, or a score reading it
    allows no blank (``Need.ANSWER``), or a score reading it has more items without a
    value than it allows, counted as the engine counts them: the items asked that are
    blank (optional ones too) or answered "not applicable" (``Need.FEWER_BLANKS``; every
    required blank item of that score is listed: any of them may be the one answered).
    """
    disabled = disabled_items(definition, answers)
    allowances = _item_allowances(definition, max_missing)
    asked = len(definition.items) - len(disabled)
    page_blank = sum(answers.get(item.code) is None for item in definition.items
                     if item.code not in disabled)
    counts: dict[str, tuple[int, int, int]] = {}  # score key -> (blank, N/A, asked)
    for spec, _allowed in (pair for pairs in allowances.values() for pair in pairs):
        if spec.key in counts:
            continue
        blank = inapplicable = in_score = 0
        for code in spec.items:
            if code in disabled:
                continue
            in_score += 1
            value = answers.get(code)
            if value is None:
                blank += 1
            elif value in definition.item(code).not_applicable_values:
                inapplicable += 1
        counts[spec.key] = (blank, inapplicable, in_score)
    missing = []
    for item in definition.items:
        code = item.code
        if not item.required or code in disabled or answers.get(code) is not None:
            continue
        scores = allowances.get(code, [])
        if not scores or any(allowed == 0 for _, allowed in scores):
            missing.append(Missing(code, Need.ANSWER, 0, page_blank, asked))
            continue
        for spec, allowed in scores:
            blank, inapplicable, in_score = counts[spec.key]
            if blank + inapplicable > allowed:
                missing.append(Missing(code, Need.FEWER_BLANKS, allowed, blank + inapplicable,
                                       in_score, inapplicable))
                break
    return missing


def resume_number(pages: Sequence[tuple[InstrumentDefinition, Mapping[str, object] | None]],
                  *, max_missing: Mapping[str, int]) -> int:
    """Return the page (1-based) a returning patient should land on.

    The first page never saved (``None``) or saved with an answer still needed; the
    last page when every page is complete (nothing left but the submit).
    """
    for number, (definition, answers) in enumerate(pages, start=1):
        if answers is None or missing_answers(definition, answers, max_missing=max_missing):
            return number
    return len(pages)


def minutes_needed(item_count: int, *, seconds_per_item: int = SECONDS_PER_ITEM) -> int:
    """Return the whole minutes ``item_count`` questions take, rounded up (at least 1)."""
    return max(1, math.ceil(item_count * seconds_per_item / 60))
