"""The shape of an instrument definition: immutable content, no Django.

A definition is what a definition file (SPEC 3.6, ``docs/instruments.md``) says, parsed
and checked by ``files.parse_definition``: the items a patient answers, and the scores
(``ScoreDef``) the one scoring engine computes from them. Everything is a frozen
dataclass of tuples, so a definition compares and hashes by value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from fractions import Fraction

Number = int | Fraction


@dataclass(frozen=True)
class Option:
    """One answer option: the stored value and its label.

    ``not_applicable`` marks an answer that is not a score ("Not applicable / I don't
    drive"): the item is answered (a required item so answered is satisfied) and the
    value is stored as given, but every score leaves it out, as if unanswered, and
    says "not applicable" when that is why it is not scorable (``docs/instruments.md``).
    """

    value: int
    label: str
    not_applicable: bool = False


OPERATORS = ("=", "!=", "exists")
"""How a condition compares: the referenced answer is one of ``answers``; is answered
and none of them; is answered (``exists`` True) or blank (False). FHIR's enableWhen
operators of the same names."""


@dataclass(frozen=True)
class EnableWhen:
    """When a conditional item is asked: a test of one earlier item's answer.

    ``operator`` "=": the earlier item's answer is one of ``answers``; "!=": it is
    answered and none of them; "exists": it is answered (``exists`` True) or blank
    (False). An earlier item that is itself not asked counts as blank.
    """

    item: str
    operator: str = "="
    answers: tuple[int, ...] = ()
    exists: bool = True

    def met(self, value: int | None) -> bool:
        """Return whether the condition holds for the earlier item's answer ``value``."""
        if self.operator == "exists":
            return (value is not None) == self.exists
        if value is None:
            return False
        return (value in self.answers) == (self.operator == "=")


@dataclass(frozen=True)
class Item:
    """One question. ``kind`` is "choice" (a list of statements) or "scale" (numbers).

    A choice item's options are its answers; a scale item's options are the labels of
    some of its numbers (the anchors: 0 "No pain", 10 "Worst possible pain").
    ``required`` False lets the patient leave the item blank (SPEC 3.6); a required
    item may still be left blank where a score's ``max_missing`` allows it.
    """

    code: str
    text: str
    options: tuple[Option, ...]
    min_value: int
    max_value: int
    kind: str = "choice"
    required: bool = True
    enable_when: EnableWhen | None = None

    @property
    def values(self) -> Sequence[int]:
        """Every answer the item accepts, in rising order ("not applicable" ones too; a
        scale's as a ``range``: a membership test or its length builds nothing)."""
        if self.kind == "choice":
            return tuple(sorted(option.value for option in self.options))
        return range(self.min_value, self.max_value + 1)

    @property
    def scored_values(self) -> tuple[int, ...]:
        """The answers that are scores, in rising order (not the "not applicable" ones)."""
        if self.kind == "choice":
            return tuple(sorted(o.value for o in self.options if not o.not_applicable))
        return self.values

    @property
    def not_applicable_values(self) -> frozenset[int]:
        """The answers that say "not applicable": given, stored, never scored."""
        return frozenset(o.value for o in self.options if o.not_applicable)


@dataclass(frozen=True)
class Anchor:
    """A score that serves as an anchor: the patient's own rating of change (PGIC).

    A patient counts as improved when the score is at most ``upto`` (a lower-is-better
    anchor: PGIC 1 "very much improved" to 7) or at least ``from_`` (a higher-is-better
    one); exactly one of the two is set. ``label`` names the improved group as people
    read it ("much improved or better"). The results estimate each other score's MCID
    as its mean change among the improved (``docs/instruments.md``).
    """

    label: str
    upto: Number | None = None
    from_: Number | None = None

    def improved(self, value: float) -> bool:
        """True if ``value`` counts as improved."""
        if self.upto is not None:
            return value <= self.upto
        return self.from_ is not None and value >= self.from_


@dataclass(frozen=True)
class Standardized:
    """A score a ``weighted_scores`` score reads, as a z-score: (value − ``mean``) ÷ ``sd``.

    ``score`` is the key of an earlier score of the file (a PROMIS T-score: mean 50,
    SD 10; a 0-10 rating with its population's mean and SD).
    """

    score: str
    mean: Number
    sd: Number

    def z(self, value: Number) -> Fraction:
        """Return ``value`` standardized, exactly."""
        return (Fraction(value) - Fraction(self.mean)) / Fraction(self.sd)


@dataclass(frozen=True)
class Term:
    """One term of a ``weighted_scores`` score: ``weight`` × the mean of its scores' z.

    A term of one score is that score's z; of several, a composite: the mean of their z
    (PROMIS-29's pain composite, the mean of pain interference's and pain intensity's).
    """

    weight: Number
    scores: tuple[Standardized, ...]

    def value(self, values: dict[str, Number]) -> Fraction:
        """Return the weight × the mean of the scores' z, given their ``values``."""
        total = sum((s.z(values[s.score]) for s in self.scores), Fraction(0))
        return Fraction(self.weight) * total / len(self.scores)


@dataclass(frozen=True)
class ScoreDef:
    """One score of an instrument: how people read it, and how the engine computes it.

    As people read it: ``label``; ``low``/``high`` its range; ``direction``
    ("lower_is_better" or "higher_is_better", what responder rules and charts use);
    ``decimals`` the display precision (SPEC 7: scores to 1 decimal, EQ-5D index to 3;
    stored values keep full precision); ``unit`` the UCUM code of the value (``%``, or
    an annotation such as ``{score}``: UCUM's way of saying "a count of points"), which
    FHIR and the data dictionary write; ``loinc`` the LOINC code of the score, where one
    exists and has been checked against LOINC's pages or an authoritative copy of them
    (``library/README.md`` says where, for the built-ins), else empty, and
    ``loinc_display`` that code's LOINC long common name (FHIR's display); ``bands``
    (upper bound, inclusive; label) in rising order, which add the output key
    ``<key>_band``.

    How it is computed (SPEC 3.6 and the extensions in ``docs/instruments.md``):
    ``method`` over ``items`` (or over the score ``source``, the file's ``from``), each
    item first recoded (``recode``: item → ((value, new value), ...)) then reversed
    (``reverse_items``: min + max − value); not scorable with more than ``max_missing``
    items blank, the reason worded by ``missing_reason`` when given. ``table`` (raw →
    value) for ``lookup``; ``function`` for ``registered``; ``reverse`` for
    ``transform_0_100``; ``terms`` (each a weight and the scores it standardizes) and
    ``metric`` (mean, SD) for ``weighted_scores``, which reads earlier scores, not
    items: metric mean + metric SD × the sum of the terms. ``reported`` False keeps an
    output (a raw score, an SE, a count) out of results, charts and pages; ``required``
    True makes the whole response not scorable when this score is not (SPEC 3.7: an
    EQ-5D-3L state without all five dimensions is an error, not a null). ``anchor``:
    this score is an anchor of change (``Anchor``), or None.
    """

    key: str
    label: str
    low: float | None
    high: float | None
    direction: str  # "lower_is_better" or "higher_is_better" ("" for an unreported output)
    decimals: int = 1
    unit: str = "{score}"
    loinc: str = ""
    loinc_display: str = ""
    bands: tuple[tuple[Number, str], ...] = ()
    method: str = "sum"
    items: tuple[str, ...] = ()
    max_missing: int = 0
    source: str = ""
    reverse: bool = False
    reverse_items: tuple[str, ...] = ()
    recode: tuple[tuple[str, tuple[tuple[int, int], ...]], ...] = ()
    table: tuple[tuple[int, Number], ...] = ()
    function: str = ""
    missing_reason: str = ""
    reported: bool = True
    required: bool = False
    anchor: Anchor | None = None
    terms: tuple[Term, ...] = ()
    metric: tuple[Number, Number] = (0, 1)

    @property
    def lower_is_better(self) -> bool:
        return self.direction == "lower_is_better"

    @property
    def band_key(self) -> str:
        """The output key of this score's band ("odi_band"), or "" without bands."""
        return f"{self.key}_band" if self.bands else ""

    @property
    def reads(self) -> tuple[str, ...]:
        """The keys of the scores a ``weighted_scores`` score combines, in its order."""
        return tuple(s.score for term in self.terms for s in term.scores)

    def combined(self, values: dict[str, Number]) -> Fraction:
        """Return a ``weighted_scores`` score from the ``values`` of the scores it reads:
        metric mean + metric SD × the sum of the terms, exactly."""
        mean, sd = self.metric
        total = sum((term.value(values) for term in self.terms), Fraction(0))
        return Fraction(mean) + Fraction(sd) * total

    def band(self, value: Number) -> str:
        """Return the label of the band ``value`` falls in (upper bounds inclusive, exact)."""
        for upto, label in self.bands:
            if value <= upto:
                return label
        raise ValueError(f"{self.key} {value} is above its last band")


ScoreSpec = ScoreDef
"""The name results, charts and exports know a score by (the same dataclass)."""


@dataclass(frozen=True)
class AlertDef:
    """An answer that must not sit unseen: a condition on one item or one score.

    Raised when the item's answer (``item``) or the score's value (``score``) is at
    least ``at_least`` and at most ``at_most`` (either may be None: no bound; bounds
    inclusive, compared exactly). ``staff_message`` says to the study team, in people
    words, which question and why it matters; ``patient_message`` is what the patient
    reads on the thank-you page (``docs/instruments.md``, *Alerts*).
    """

    key: str
    staff_message: str
    patient_message: str
    item: str = ""
    score: str = ""
    at_least: Number | None = None
    at_most: Number | None = None

    def holds(self, value: Number | None) -> bool:
        """True when ``value`` (None: unanswered, not scorable) meets the condition."""
        if not isinstance(value, int | Fraction) or isinstance(value, bool):
            return False  # unanswered, not scorable, or a text output (a health state)
        if self.at_least is not None and value < self.at_least:
            return False
        return self.at_most is None or value <= self.at_most


@dataclass(frozen=True)
class InstrumentDefinition:
    """One version of a questionnaire: items, scores, scoring version, licence and source.

    ``score_defs`` are every score the engine computes, in output order; ``scores`` the
    ones reported in results, charts and pages (by default, those ``reported``).
    """

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
    scores: tuple[ScoreDef, ...] = ()
    #: Every score the engine computes, in output order.
    score_defs: tuple[ScoreDef, ...] = field(default=())
    #: Answers that raise an alert for the study team (``AlertDef``), in file order.
    alerts: tuple[AlertDef, ...] = ()

    def __post_init__(self) -> None:
        if not self.scores and self.score_defs:
            object.__setattr__(self, "scores",
                               tuple(s for s in self.score_defs if s.reported))

    def __hash__(self) -> int:
        # By value, as a frozen dataclass hashes, but once: a definition is a cache key
        # (the survey's rendered pages), and hashing its tables each time costs.
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f.name) for f in fields(self)))
            object.__setattr__(self, "_hash", cached)
        return cached

    def item(self, code: str) -> Item:
        for item in self.items:
            if item.code == code:
                return item
        raise KeyError(f"{self.code} has no item {code!r}")

    def alert(self, key: str) -> AlertDef:
        for alert in self.alerts:
            if alert.key == key:
                return alert
        raise KeyError(f"{self.code} has no alert {key!r}")

    def score(self, key: str) -> ScoreDef:
        """Return the score definition of output key ``key`` (not a band key)."""
        for score in self.score_defs:
            if score.key == key:
                return score
        raise KeyError(f"{self.code} has no score {key!r}")

    @property
    def item_codes(self) -> tuple[str, ...]:
        return tuple(item.code for item in self.items)

    @property
    def has_conditions(self) -> bool:
        """True if any item is asked only under a condition (``enable_when``)."""
        return any(item.enable_when is not None for item in self.items)


    @property
    def output_keys(self) -> tuple[str, ...]:
        """Every key scoring gives, in order: each score, and its band right after it."""
        keys: list[str] = []
        for score in self.score_defs:
            keys.append(score.key)
            if score.bands:
                keys.append(score.band_key)
        return tuple(keys)


def disabled_items(definition: InstrumentDefinition, answers) -> frozenset[str]:
    """Return the items ``answers`` make not asked: their ``enable_when`` does not hold.

    In item order, so an item whose condition names an item that is itself not asked
    reads that item as blank (its answer, if any, is cleared: it never counts).
    """
    if not definition.has_conditions:
        return frozenset()
    disabled: set[str] = set()
    for item in definition.items:
        condition = item.enable_when
        if condition is None:
            continue
        value = None if condition.item in disabled else answers.get(condition.item)
        if not condition.met(value):
            disabled.add(item.code)
    return frozenset(disabled)
