"""Instruments (synced from pure definitions), responses, scores and responder rules."""

from __future__ import annotations

import functools
from decimal import Decimal
from fractions import Fraction

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from outcomes.validators import code_validator


class Instrument(models.Model):
    """One version of a questionnaire: its whole definition file, stored (SPEC 3.6).

    ``definition`` is the file (``definitions.files.definition_to_dict``), from the
    built-in library (``services.sync_instruments``) or imported by a data manager
    (``services.import_instrument_definition``); the other columns repeat what it says,
    for lists and filters. ``digest`` is the SHA-256 of the definition's canonical JSON:
    each process keeps its parsed copy while the row's digest is the same
    (``stored.definition_of``). A version that has responses never changes (here, and
    on PostgreSQL in the database itself), but for its metadata
    (``definitions.metadata``): a correction is a new version.
    """

    code = models.CharField(max_length=32, validators=[code_validator])
    version = models.CharField(max_length=16)
    title = models.CharField(max_length=200)
    short_title = models.CharField(max_length=50)
    scoring_version = models.CharField(max_length=16)
    licence = models.TextField(blank=True)
    source = models.TextField(blank=True)
    definition = models.JSONField(
        default=dict, editable=False,
        help_text="The whole definition file: items, options, scores (SPEC 3.6).",
    )
    digest = models.CharField(
        max_length=64, blank=True, editable=False,
        help_text="SHA-256 of the definition's canonical JSON.",
    )

    #: The columns a version with responses keeps for ever.
    CONTENT_FIELDS = ("code", "version", "title", "short_title", "scoring_version", "licence",
                      "source", "definition", "digest")

    class Meta:
        ordering = ["code", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "version"], name="instruments_instrument_version_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.short_title} v{self.version}"

    def save(self, *args, **kwargs):
        from .stored import digest_of

        self.digest = digest_of(self.definition or {})
        if self.pk is not None:
            stored = (Instrument.objects.filter(pk=self.pk)
                      .values_list(*self.CONTENT_FIELDS).first())
            if stored is not None and stored != tuple(
                    getattr(self, name) for name in self.CONTENT_FIELDS) \
                    and not self._metadata_only(dict(zip(self.CONTENT_FIELDS, stored,
                                                          strict=True))) \
                    and Response.objects.filter(instrument_id=self.pk).exists():
                raise PermissionError(version_in_use(self))
        super().save(*args, **kwargs)

    def _metadata_only(self, stored: dict) -> bool:
        """True if this row differs from ``stored`` in metadata alone.

        ``definitions.metadata``: the file's source, licence and scores' LOINC codes
        and names (with the ``licence`` and ``source`` columns, which repeat the
        file's, and the digest). What a version with responses may change.
        """
        from .definitions.metadata import differences, is_metadata
        from .stored import is_definition_file

        if not (is_definition_file(stored["definition"])
                and is_definition_file(self.definition)):
            return False
        if any(stored[name] != getattr(self, name) for name in (
                "code", "version", "title", "short_title", "scoring_version")):
            return False
        if (self.licence, self.source) != (self.definition.get("licence", ""),
                                           self.definition.get("source", "")):
            return False
        return all(is_metadata(path)
                   for path in differences(stored["definition"], self.definition))

    def clean(self) -> None:
        from .definitions import DefinitionError
        from .definitions.files import parse_definition
        from .stored import is_definition_file

        if not is_definition_file(self.definition):
            return
        try:
            parsed = parse_definition(self.definition)
        except DefinitionError as error:
            raise ValidationError({"definition": error.problems}) from None
        if (parsed.code, parsed.version) != (self.code, self.version):
            raise ValidationError({"definition": f"the file is {parsed.code} version "
                                                 f"{parsed.version}, not {self.code} "
                                                 f"version {self.version}"})

    @property
    def has_responses(self) -> bool:
        return self.pk is not None and Response.objects.filter(instrument_id=self.pk).exists()


def version_in_use(instrument) -> str:
    """The sentence refusing to change a version that has responses."""
    return (f"{instrument.code} version {instrument.version} has responses, so it never "
            "changes: import the correction as a new version.")


NEVER_DELETED = "Responses are never deleted: correct or void them, with a reason."


class ResponseQuerySet(models.QuerySet):
    def delete(self):
        raise PermissionError(NEVER_DELETED)

    delete.alters_data = True
    delete.queryset_only = True


class Response(models.Model):
    """One instrument answered at one visit. Never deleted (model, queryset, database)."""

    class State(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CORRECTED = "corrected", "Corrected (superseded)"
        VOIDED = "voided", "Voided"

    class Source(models.TextChoices):
        WEB = "web", "Web (patient link)"
        PAPER = "paper", "Paper form"
        PHONE = "phone", "Telephone interview"
        IMPORT = "import", "Import"

    STAFF_SOURCES = (Source.PAPER, Source.PHONE)

    LIVE_STATES = (State.IN_PROGRESS, State.COMPLETED)

    visit = models.ForeignKey(
        "followups.Visit", on_delete=models.PROTECT, related_name="responses",
    )
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="responses")
    answers = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=12, choices=State.choices, default=State.IN_PROGRESS)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.WEB)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", help_text="Staff member who entered a paper form or a correction.",
    )
    entered_at = models.DateTimeField(
        null=True, blank=True, help_text="When staff entered a paper or telephone form.",
    )
    out_of_window = models.BooleanField(
        default=False,
        help_text="Answered on a date outside the visit's window (a late paper form, say).",
    )
    # SPEC 3.7: a response too blank for a score is data. Its Score rows hold only the
    # values it gives; each score it cannot give is named here, with why.
    not_scorable = models.JSONField(
        default=dict, blank=True,
        help_text="Scores these answers cannot give, each with the reason, e.g. "
        '{"odi": "2 sections unanswered; at most 1 allowed"}.',
    )
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by",
    )

    objects = ResponseQuerySet.as_manager()

    class Meta:
        ordering = ["visit_id", "instrument_id"]
        constraints = [
            # Never two live (in-progress or completed) responses to one instrument at a visit.
            models.UniqueConstraint(
                fields=["visit", "instrument"],
                condition=Q(state__in=["in_progress", "completed"]),
                name="instruments_response_one_live_per_visit",
            ),
            models.CheckConstraint(
                condition=Q(state="in_progress") | Q(completed_at__isnull=False),
                name="instruments_response_completed_has_time",
            ),
            # A paper or telephone form says who typed it in.
            models.CheckConstraint(
                condition=~Q(source__in=["paper", "phone"]) | Q(entered_by__isnull=False),
                name="instruments_response_staff_entry_names_who",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} for {self.visit}"

    def delete(self, *args, **kwargs):
        raise PermissionError(NEVER_DELETED)

    def clean(self) -> None:
        from .scoring import ScoringError, validate_answers
        from .stored import UndefinedInstrument, definition_of

        if self.instrument_id is None:
            return
        try:
            validate_answers(definition_of(self.instrument), self.answers)
        except UndefinedInstrument as error:
            raise ValidationError({"instrument": str(error)}) from error
        except ScoringError as error:
            raise ValidationError({"answers": str(error)}) from error


class Score(models.Model):
    """One derived value of a completed response, exact and with its scoring version.

    ``exact`` holds the value as an exact fraction or decimal string (``"320/9"``,
    ``"0.759"``), so responder thresholds are compared without floating-point
    drift; ``value`` is the same number rounded to 10 places, for sorting and display.
    """

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scores")
    code = models.CharField(max_length=32)
    value = models.DecimalField(max_digits=20, decimal_places=10)
    # Unbounded: a weighted_scores score's fraction has as many digits as its file's
    # weights, means and SDs give (each up to 15 significant digits).
    exact = models.TextField()
    scoring_version = models.CharField(max_length=16)

    class Meta:
        ordering = ["response_id", "code"]
        constraints = [
            models.UniqueConstraint(fields=["response", "code"], name="instruments_score_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.code}={self.value}"

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.exact)


class VisitScores(models.Model):
    """The numeric scores of one visit with data: one row, every score in ``values``.

    Derived from the ``Score`` rows of the visit's completed responses and rewritten
    whenever they are (``services.refresh_visit_scores``), so the study's results and
    exports read one narrow row per visit instead of joining scores, responses, visits
    and enrolments. ``values`` maps each score key the responses give to the float of
    its exact value (``{"odi": 32.0, "nrs": 6.0, ...}``; jsonb on PostgreSQL): any
    instrument's scores, so a new instrument needs no migration. A visit has a row
    exactly when it has a completed response; a score it lacks has no key.
    """

    visit = models.OneToOneField(
        "followups.Visit", on_delete=models.CASCADE, primary_key=True, related_name="+",
    )
    # The visit's own enrolment and time point, copied (a visit never changes either).
    enrolment = models.ForeignKey(
        "patients.Enrolment", on_delete=models.CASCADE, related_name="+",
    )
    timepoint = models.ForeignKey(
        "followups.TimePoint", on_delete=models.CASCADE, related_name="+",
    )
    values = models.JSONField(
        default=dict, blank=True,
        help_text="Every numeric score of the visit's completed responses, by key, as a "
        'float, e.g. {"odi": 32.0, "nrs": 6.0}.',
    )

    class Meta:
        verbose_name_plural = "visit scores"

    def __str__(self) -> str:
        return f"scores of visit {self.visit_id}"


class ScoreSlot(models.Model):
    """A numeric score key's position in each visit's array of numbers (PostgreSQL's
    ``instruments_visitscores.numbers``, kept by a trigger: ``slots``): the id is the
    position, from 1. Added the first time a key is stored or its instrument version is;
    never renumbered or removed."""

    key = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.key} (slot {self.pk})"


class ReliabilityItem(models.Model):
    """One item of a score as the score reads it, for Cronbach's alpha (the SEM of the
    MCID estimates): the item's code and, where the score recodes or reverses it, the
    map from answer to value (``{"3": 2, ...}``). Listed with its version when the
    services store it (``reliability.list_items``), by migration 0013 and
    ``rebuild_reliability_sums`` for versions already answered; the trigger that keeps
    ``ReliabilitySums`` sums the items listed here.
    """

    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    score = models.CharField(max_length=64)
    position = models.PositiveSmallIntegerField()
    item = models.CharField(max_length=64)
    recode = models.JSONField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["instrument", "score", "position"],
                                    name="instruments_reliabilityitem_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.score}[{self.position}] = {self.item}"


class ReliabilitySums(models.Model):
    """Running sums over the completed responses of one instrument version at one time
    point, for one score's alpha: for an item (``position``; -1 for the items' total),
    the number of responses with every item of the score answered, the sum of the item's
    values and the sum of their squares. Integers, so exact: every variance alpha needs
    follows from them. A key may have many rows, which add up: a PostgreSQL trigger on
    ``instruments_response`` appends one per key and statement that completes, corrects
    or voids responses, whatever writes it (web, paper, import, a bulk load), and
    ``reliability.fold`` replaces a key's rows by their sum now and then.
    """

    timepoint = models.ForeignKey("followups.TimePoint", on_delete=models.CASCADE,
                                  related_name="+")
    instrument = models.ForeignKey(Instrument, on_delete=models.CASCADE, related_name="+")
    score = models.CharField(max_length=64)
    position = models.SmallIntegerField()
    n = models.BigIntegerField(default=0)
    total = models.DecimalField(max_digits=38, decimal_places=10, default=0)
    squares = models.DecimalField(max_digits=38, decimal_places=10, default=0)

    class Meta:
        verbose_name_plural = "reliability sums"
        indexes = [models.Index(fields=["instrument", "timepoint", "score"],
                                name="instruments_relsums_key")]

    def __str__(self) -> str:
        return f"{self.score}[{self.position}]: n={self.n}"


# Both are pure functions of a number, and the same few thousand values recur (ODI,
# EQ-5D and T-score values, changes between them): an import computes each once.
@functools.lru_cache(maxsize=65536)
def decimal_of(value: Fraction | int) -> Decimal:
    """Return ``value`` as a Decimal rounded to the 10 places ``Score.value`` keeps."""
    fraction = Fraction(value)
    return (Decimal(fraction.numerator) / Decimal(fraction.denominator)).quantize(
        Decimal("1e-10"),
    )


@functools.lru_cache(maxsize=65536)
def exact_of(value: Fraction | int) -> str:
    """Return ``value`` as the shortest exact string: a decimal when it terminates."""
    fraction = Fraction(value)
    denominator = fraction.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:
        as_decimal = Decimal(fraction.numerator) / Decimal(fraction.denominator)
        text = format(as_decimal.normalize(), "f")
        if Fraction(text) == fraction:
            return text
    return f"{fraction.numerator}/{fraction.denominator}"


def stored_scores(values) -> dict[str, Fraction | int | Decimal]:
    """Return the scores among a scorer's output kept as ``Score`` rows: its exact numbers.

    Every key whose value is a number (a Fraction, an int, a Decimal), whatever the
    instrument; text (bands, health states), booleans and None are not stored.
    """
    return {key: value for key, value in values.items()
            if isinstance(value, (Fraction, int, Decimal)) and not isinstance(value, bool)}


@functools.lru_cache(maxsize=65536)
def float_of_exact(exact: str) -> float:
    """Return the float nearest a stored exact value (``"36.5"``, ``"320/9"``).

    What ``VisitScores`` holds and the results compute with. Both routes round
    correctly, so a terminating decimal is parsed directly and only a repeating one
    needs a Fraction.
    """
    return float(Fraction(exact)) if "/" in exact else float(exact)


class ResponderRule(models.Model):
    """A study's definition of a responder: a threshold on one score, or a combination.

    Whether a rule is primary is the study's to say, with the time point:
    ``patients.PrimaryComparison`` (SPEC section 8, multiplicity).
    """

    class Direction(models.TextChoices):
        DECREASE = "decrease", "Decrease is improvement"
        INCREASE = "increase", "Increase is improvement"

    class Kind(models.TextChoices):
        POINTS = "points", "Points"
        PERCENT = "percent", "Percent of baseline"
        ALL = "all", "All of the parts"
        ANY = "any", "Any of the parts"

    study = models.ForeignKey(
        "patients.Study", on_delete=models.CASCADE, related_name="responder_rules",
    )
    code = models.CharField(max_length=32, validators=[code_validator])
    description = models.CharField(max_length=300, blank=True)
    score = models.CharField(max_length=32, blank=True, help_text="Score code, e.g. odi.")
    direction = models.CharField(max_length=8, choices=Direction.choices, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    threshold = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    parts = models.ManyToManyField(
        "self", symmetrical=False, blank=True, related_name="used_by",
        help_text="For 'all' and 'any' rules: the rules combined.",
    )
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["study_id", "order", "code"]
        constraints = [
            models.UniqueConstraint(fields=["study", "code"], name="instruments_rule_code_unique"),
            models.CheckConstraint(
                condition=Q(kind__in=["all", "any"])
                | (Q(threshold__isnull=False) & ~Q(score="") & ~Q(direction="")),
                name="instruments_rule_simple_is_complete",
            ),
            models.CheckConstraint(
                condition=Q(threshold__isnull=True) | Q(threshold__gt=0),
                name="instruments_rule_threshold_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        """A simple rule measures a score one of its study's scheduled instruments produces.

        A rule on a score no instrument gives, or none at baseline, was saved silently
        and left every visit "not evaluable". Left blank, the direction is the score's
        own improvement (lower is better: a decrease); one against the score's is
        refused, since a rule's direction says which way is improvement, and that
        belongs to the score.
        """
        if self.is_combination or self.study_id is None:
            return
        from .scheduled import (
            direction_message,
            not_at_baseline_message,
            study_scores,
            unknown_score_message,
        )

        scores = study_scores(self.study)
        if not self.score:
            raise ValidationError({"score": "A threshold rule measures one score: choose it "
                                            "from the list."})
        found = scores.get(self.score)
        if found is None:
            raise ValidationError({"score": unknown_score_message(self.study, self.score,
                                                                  scores)})
        not_at_baseline = not_at_baseline_message(self.study, found)
        if not_at_baseline is not None:
            raise ValidationError({"score": not_at_baseline})
        if not self.direction:
            self.direction = found.improvement
        elif self.direction != found.improvement:
            raise ValidationError({"direction": direction_message(found, self.direction)})

    @property
    def is_combination(self) -> bool:
        return self.kind in (self.Kind.ALL, self.Kind.ANY)


class ResponderStatus(models.Model):
    """A patient's verdict under one rule at one time point, computed from stored scores."""

    class Verdict(models.TextChoices):
        RESPONDER = "responder", "Responder"
        NON_RESPONDER = "non_responder", "Non-responder"
        NOT_EVALUABLE = "not_evaluable", "Not evaluable"

    enrolment = models.ForeignKey(
        "patients.Enrolment", on_delete=models.CASCADE, related_name="responder_statuses",
    )
    timepoint = models.ForeignKey(
        "followups.TimePoint", on_delete=models.CASCADE, related_name="+",
    )
    rule = models.ForeignKey(ResponderRule, on_delete=models.CASCADE, related_name="statuses")
    verdict = models.CharField(max_length=16, choices=Verdict.choices)
    reason = models.CharField(max_length=200, blank=True)
    # Unbounded, as Score.exact is: the difference of two such fractions.
    change = models.TextField(blank=True, help_text="Exact improvement.")
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "responder statuses"
        ordering = ["enrolment_id", "timepoint_id", "rule_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "timepoint", "rule"], name="instruments_status_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment.patient} {self.timepoint.code} {self.rule.code}: {self.verdict}"
