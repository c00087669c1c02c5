"""What every scorer shares: the error type and answer validation (no Django).

Besides, the two rules of answers that come from elsewhere than the current form, which
no definition file can say: a paper ODI section with two statements marked (SPEC 3.1)
and PROMIS Global Health v1.0/1.1 codings (SPEC 3.4).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    if item.kind == "scale":
        return item.min_value, item.max_value, None, (
            f"an integer {item.min_value}-{item.max_value}")
    low, high = values[0], values[-1]
    if len(values) == high - low + 1:
        return low, high, None, f"an integer {low}-{high}"
    return low, high, frozenset(values), f"one of {', '.join(map(str, values))}"


def exact(text: str) -> Fraction:
    """Return a decimal literal as an exact fraction: ``exact("0.146016")``."""
    return Fraction(text)


def paper_section_points(marked: Iterable[int]) -> int:
    """Return a paper section's points when several statements are marked: the highest.

    Fairbank JCT, Pynsent PB. Spine 2000;25(22):2940-52: "if a patient marks more than
    one statement in a section, the highest scoring statement is recorded".
    """
    points = list(marked)
    if not points:
        raise ScoringError("section", "no statement marked")
    return max(points)


def from_v1_0(answers: Answers) -> dict[str, Any]:
    """Return PROMIS Global Health v1.0/1.1 answers in v1.2 coding.

    v1.0/1.1 code Global08 and Global10 the other way round (SPEC 3.4; HealthMeasures
    PROMIS Global Health scoring manual): reversed, 6 - x, they are global08r and
    global10r.
    """
    converted = {k: v for k, v in answers.items() if k not in ("global08", "global10")}
    for old, new in (("global08", "global08r"), ("global10", "global10r")):
        value = answers.get(old)
        if value is not None:
            if type(value) is not int or not 1 <= value <= 5:
                raise ScoringError(old, f"expected an integer 1-5, got {value!r}")
            converted[new] = 6 - value
    return converted
