"""What every scorer shares: the error type and answer validation (no Django)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..definitions.base import InstrumentDefinition, Item

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
    """The value of an output key the answers cannot give, and why (a scorer returns it).

    ``item`` is the item the reason begins with ("pain" of "pain unanswered"), if any:
    a response refused for this reason is refused naming that item.
    """

    reason: str
    item: str = field(default="", compare=False)


def checked_answers(definition: InstrumentDefinition, answers: Answers) -> dict[str, int | None]:
    """Return ``{item: value or None}`` for every item, after validating ``answers``.

    A missing key or ``None`` means unanswered. Unknown item codes, non-integers
    (``True``, ``3.0`` and ``"3"`` included), out-of-range values and, for a choice
    item whose option values have gaps, a value between them raise ``ScoringError``
    naming the item.
    """
    if not isinstance(answers, Mapping):
        raise ScoringError("answers", f"expected an object of item codes, got {answers!r}")
    rules = _rules(definition)
    if not answers.keys() <= rules.keys():
        for code in answers:
            if code not in rules:
                raise ScoringError(str(code), f"unknown item code for {definition.code}")
    result: dict[str, int | None] = {}
    for code, (low, high, gaps, expected) in rules.items():
        value = answers.get(code)
        if value is not None and (
            type(value) is not int or not low <= value <= high
            or (gaps is not None and value not in gaps)
        ):
            raise ScoringError(code, f"expected {expected}, got {value!r}")
        result[code] = value
    return result


_RULES: dict[int, tuple[Any, dict[str, tuple[int, int, frozenset[int] | None, str]]]] = {}


def _rules(definition: InstrumentDefinition
           ) -> dict[str, tuple[int, int, frozenset[int] | None, str]]:
    """Return each item's (min, max, accepted values if not every one between, wording)."""
    cached = _RULES.get(id(definition))
    if cached is not None and cached[0] is definition:
        return cached[1]
    rules = {item.code: _rule(item) for item in definition.items}
    _RULES[id(definition)] = (definition, rules)
    return rules


def _rule(item: Item) -> tuple[int, int, frozenset[int] | None, str]:
    # Every answer accepted, "not applicable" ones (outside the scored range) too.
    values = item.values
    low, high = values[0], values[-1]
    if len(values) == high - low + 1:
        return low, high, None, f"an integer {low}-{high}"
    return low, high, frozenset(values), f"one of {', '.join(map(str, values))}"


def exact(text: str) -> Fraction:
    """Return a decimal literal as an exact fraction: ``exact("0.146016")``."""
    return Fraction(text)
