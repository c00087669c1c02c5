"""The shape of an instrument definition: immutable content, no Django."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """One answer option: the stored value and its label."""

    value: int
    label: str


@dataclass(frozen=True)
class Item:
    """One question. ``kind`` is "choice" (a list of statements) or "scale" (numbers)."""

    code: str
    text: str
    options: tuple[Option, ...]
    min_value: int
    max_value: int
    kind: str = "choice"


@dataclass(frozen=True)
class ScoreSpec:
    """A score an instrument produces, as people read it: name, range, which way is better.

    ``decimals`` is the display precision (SPEC 7: scores to 1 decimal, EQ-5D index to 3);
    stored values keep full precision. ``unit`` is the UCUM code of the value (``%``, or
    an annotation such as ``{score}``: UCUM's way of saying "a count of points"), which
    FHIR and the data dictionary write. ``loinc`` is the LOINC code of the score, where
    one exists and has been checked against LOINC's pages or an authoritative copy of
    them (the module says where); empty otherwise. ``loinc_display`` is that code's
    LOINC long common name, which FHIR writes as the coding's display.
    ``bands`` are (upper bound, inclusive; label) in rising order, as SPEC 3.6 has them.
    """

    key: str
    label: str
    low: float | None
    high: float | None
    direction: str  # "lower_is_better" or "higher_is_better"
    decimals: int = 1
    unit: str = "{score}"
    loinc: str = ""
    loinc_display: str = ""
    bands: tuple[tuple[float, str], ...] = ()

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower_is_better"


@dataclass(frozen=True)
class InstrumentDefinition:
    """One version of a questionnaire: items, scoring version, licence and source."""

    code: str
    version: str
    title: str
    short_title: str
    items: tuple[Item, ...]
    scoring_version: str
    licence: str
    source: str
    recall_period: str = ""
    languages: tuple[str, ...] = ("en",)
    #: The scores reported in results, charts and pages (not every output key).
    scores: tuple[ScoreSpec, ...] = ()

    def item(self, code: str) -> Item:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"{self.code} has no item {code!r}")

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(item.code for item in self.items)


def choice(code: str, text: str, labels: tuple[str, ...], *, first: int = 0,
           descending: bool = False) -> Item:
    """Return a single-choice item whose options score ``first`` upwards in label order.

    With ``descending`` the first label scores highest (PROMIS: Excellent = 5).
    """
    n = len(labels)
    values = range(first + n - 1, first - 1, -1) if descending else range(first, first + n)
    options = tuple(Option(v, label) for v, label in zip(values, labels, strict=True))
    return Item(code, text, options, min(values), max(values))
