"""What every scorer shares: the error type and answer validation (no Django)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..definitions.base import InstrumentDefinition

Answers = Mapping[str, Any]


class ScoringError(ValueError):
    """Answers that cannot be scored; ``item`` names the culprit (or the instrument)."""

    def __init__(self, item: str, reason: str):
        super().__init__(f"{item}: {reason}")
        self.item = item
        self.reason = reason


class NotScorable(ScoringError):
    """Valid answers with too many left blank for a score (SPEC 3.7).

    A response like this is data, not an error: it is stored, with the score recorded
    as not scorable and this reason. ``score()`` still raises it (the patient's form
    asks for what is missing); ``score_response()`` returns it as a reason.
    """

    @property
    def why(self) -> str:
        """The reason in a sentence: "pain unanswered", "2 sections unanswered; ..."."""
        return self.reason if self.item == self.instrument else f"{self.item} {self.reason}"

    def __init__(self, item: str, reason: str, *, instrument: str = ""):
        super().__init__(item, reason)
        self.instrument = instrument or item


@dataclass(frozen=True)
class Unscored:
    """The value of an output key the answers cannot give, and why (a scorer returns it)."""

    reason: str


def checked_answers(definition: InstrumentDefinition, answers: Answers) -> dict[str, int | None]:
    """Return ``{item: value or None}`` for every item, after validating ``answers``.

    A missing key or ``None`` means unanswered. Unknown item codes, non-integers
    (``True``, ``3.0`` and ``"3"`` included) and out-of-range values raise
    ``ScoringError`` naming the item.
    """
    if not isinstance(answers, Mapping):
        raise ScoringError("answers", f"expected an object of item codes, got {answers!r}")
    codes = set(definition.item_codes)
    for code in answers:
        if code not in codes:
            raise ScoringError(str(code), f"unknown item code for {definition.code}")
    result: dict[str, int | None] = {}
    for item in definition.items:
        value = answers.get(item.code)
        if value is not None and (
            type(value) is not int or not item.min_value <= value <= item.max_value
        ):
            raise ScoringError(
                item.code,
                f"expected an integer {item.min_value}-{item.max_value}, got {value!r}",
            )
        result[item.code] = value
    return result


def exact(text: str) -> Fraction:
    """Return a decimal literal as an exact fraction: ``exact("0.146016")``."""
    return Fraction(text)
