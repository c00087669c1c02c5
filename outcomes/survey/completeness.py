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
    """Items of the page that may be left blank."""
    blank: int
    """Items of the page that are blank."""
    total: int
    """Items of the page."""


def blanks_allowed(definition: InstrumentDefinition, max_missing: Mapping[str, int]) -> int:
    """Return how many items of ``definition`` a patient may leave blank on the web.

    Each score counted over items (``ScoreSpec.items``) allows ``max_missing[key]``
    blanks (the study's ``Study.max_missing``), else its definition's own; the page
    allows the fewest any of them does, so no score is left with more blanks than it
    takes. An instrument with no such score needs all its items.
    """
    allowances = [_allowance(definition, spec, max_missing)
                  for spec in _scores(definition) if spec.items]
    return min(allowances) if allowances else 0


def skippable_items(definition: InstrumentDefinition,
                    max_missing: Mapping[str, int]) -> frozenset[str]:
    """Return the item codes that may be left blank (and so get a "skip" answer).

    An item the definition does not require (``required: false``) always may; the
    items of its scores where the study's allowance lets some be blank.
    """
    optional = frozenset(item.code for item in definition.items if not item.required)
    if blanks_allowed(definition, max_missing) == 0:
        return optional
    return optional | frozenset(code for spec in _scores(definition) for code in spec.items)


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
    Where blanks are allowed but too many are blank, every blank item is listed: any of
    them may be the one answered.
    """
    disabled = disabled_items(definition, answers)
    blank = [item.code for item in definition.items
             if item.required and item.code not in disabled and answers.get(item.code) is None]
    allowed = blanks_allowed(definition, max_missing)
    if len(blank) <= allowed:
        return []
    need = Need.ANSWER if allowed == 0 else Need.FEWER_BLANKS
    asked = len(definition.items) - len(disabled)
    return [Missing(code, need, allowed, len(blank), asked) for code in blank]


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
