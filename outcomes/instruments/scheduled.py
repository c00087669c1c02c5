"""What a study's schedule asks: its instruments, and the scores they produce.

The guards of a study's set-up read these: a time point schedules only an instrument
with questions; a responder rule names a score that an instrument of its study
produces, and improves the way that score does; a study's blanks allowed
(``Study.max_missing``) name such scores too, each within its items.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .definitions.base import InstrumentDefinition, ScoreDef
from .scoring.engine import max_missing_problems as engine_problems

#: The way a responder rule's change improves, for each way a score is better.
IMPROVEMENT = {"lower_is_better": "decrease", "higher_is_better": "increase"}
BETTER = {"lower_is_better": "lower is better", "higher_is_better": "higher is better"}


def definition_of(instrument) -> InstrumentDefinition | None:
    """Return the definition an ``Instrument`` row stores, or None if it has none.

    Its own version's file, as every reader takes it (``stored.definition_of``).
    """
    from .stored import maybe_definition_of

    return maybe_definition_of(instrument)


def blanks_limit(definition: InstrumentDefinition, spec: ScoreDef) -> int | None:
    """Return the most blanks a study may let ``spec`` leave (None: none).

    One fewer than its items (one must be answered), or fewer where the engine takes
    fewer: a sum a ``weighted_scores`` score reads only as far as it stays within its
    range. Allowing n blanks is refused only if allowing more is too, so the allowed
    numbers run from 0 to the limit.
    """
    if spec.source or len(spec.items) < 2:
        return None
    limit = 0
    while limit < len(spec.items) - 1 and not engine_problems(definition,
                                                               {spec.key: limit + 1}):
        limit += 1
    return limit or None


def has_items(instrument) -> bool:
    """True if ``instrument`` has questions to ask.

    Its stored definition file lists its items. A row added by hand with a name only
    (before instruments came from their files) has none: scheduled, it gave the
    patient's link a server error.
    """
    definition = definition_of(instrument)
    return definition is not None and bool(definition.items)


def no_items_message(instrument) -> str:
    """The sentence refusing to schedule ``instrument``, naming it as its users do."""
    name = instrument.short_title or instrument.title or instrument.code
    return f"{name} has no questions yet: it cannot be scheduled."


def second_version_message(asked, timepoint) -> str:
    """The sentence refusing a second version of ``asked``'s questionnaire at ``timepoint``.

    ``asked`` is the ``Instrument`` row the time point asks already.
    """
    name = asked.short_title or asked.title or asked.code
    return (f"{name} is already asked at {timepoint.label} (version {asked.version}); a "
            f"time point asks one version of a questionnaire. To move it to another "
            f"version, change that row's instrument.")


@dataclass(frozen=True)
class StudyScore:
    """A score one of a study's scheduled instruments produces, as its definition says."""

    key: str
    label: str
    direction: str
    """``lower_is_better`` or ``higher_is_better`` (``ScoreSpec.direction``)."""
    instrument: str
    """The short title of the instrument producing it."""
    items: int
    """The items it counts its answers over."""
    default_max_missing: int
    """The blanks its definition allows when the study sets none."""
    blanks_limit: int | None = None
    """The most blanks a study may allow (``blanks_limit``); None: none."""
    reported: bool = True
    """Shown in results, charts and pages: a score a responder rule may name."""

    @property
    def choice_label(self) -> str:
        """People words plus the key: "ODI (odi)"."""
        return f"{self.label} ({self.key})"

    @property
    def improvement(self) -> str:
        """The change that is an improvement: ``decrease`` or ``increase``."""
        return IMPROVEMENT[self.direction]

    @property
    def takes_blanks(self) -> bool:
        """Whether a study may allow some blank (``blanks_limit``)."""
        return self.blanks_limit is not None


def scheduled_instruments(study) -> list:
    """Return the ``Instrument`` rows the study's time points ask, each once, in order."""
    from outcomes.followups.models import TimePointInstrument

    rows = (TimePointInstrument.objects.filter(timepoint__study_id=study.pk)
            .select_related("instrument").order_by("timepoint__target_day", "order", "pk"))
    found: dict[int, object] = {}
    for row in rows:
        found.setdefault(row.instrument_id, row.instrument)
    return list(found.values())


def study_scores(study, *, reported_only: bool = True) -> dict[str, StudyScore]:
    """Return the scores the study's scheduled instruments produce, by key, in order.

    The reported ones (those a responder rule may name), or with ``reported_only``
    False every score the engine computes. An instrument without questions produces
    none; a study not yet saved has none.
    """
    if study is None or study.pk is None:
        return {}
    scores: dict[str, StudyScore] = {}
    for instrument in scheduled_instruments(study):
        definition = definition_of(instrument)
        if definition is None or not has_items(instrument):
            continue
        for spec in definition.score_defs or definition.scores:
            if reported_only and not spec.reported:
                continue
            scores.setdefault(spec.key, StudyScore(
                key=spec.key, label=spec.label, direction=spec.direction,
                instrument=definition.short_title, items=len(spec.items),
                default_max_missing=spec.max_missing,
                blanks_limit=blanks_limit(definition, spec), reported=spec.reported))
    return scores


def blank_scores(study) -> list[StudyScore]:
    """The study's scores it may let leave items blank, each a number in its admin."""
    return [score for score in study_scores(study, reported_only=False).values()
            if score.takes_blanks]


def choices_text(scores: Mapping[str, StudyScore]) -> str:
    """Return "ODI (odi), NRS pain (nrs), …": the scores a user may choose from."""
    return ", ".join(score.choice_label for score in scores.values())


def unknown_score_message(study, key: str, scores: Mapping[str, StudyScore]) -> str:
    """The sentence refusing a score no scheduled instrument of ``study`` produces."""
    if not scores:
        return (f"No instrument with questions is scheduled in {study.code} yet, so no "
                f"score can be chosen: schedule one at a time point first.")
    return (f"No instrument scheduled in {study.code} produces the score {key!r}; "
            f"choose one of: {choices_text(scores)}.")


def baseline_score_keys(study) -> set[str] | None:
    """The score keys the study's baseline time point asks for; None without a baseline."""
    from outcomes.followups.models import TimePointInstrument

    baseline = study.timepoints.filter(is_baseline=True).first()
    if baseline is None:
        return None
    keys: set[str] = set()
    for row in TimePointInstrument.objects.filter(timepoint=baseline).select_related(
            "instrument"):
        definition = definition_of(row.instrument)
        if definition is not None and has_items(row.instrument):
            keys.update(spec.key for spec in definition.score_defs or definition.scores)
    return keys


def not_at_baseline_message(study, score: StudyScore) -> str | None:
    """The sentence refusing a rule on ``score`` when the baseline does not ask for it.

    A rule compares each follow-up with baseline: on a score no instrument at baseline
    gives, every patient is "not evaluable". A score missing at some follow-ups is fine.
    """
    keys = baseline_score_keys(study)
    if keys is None or score.key in keys:
        return None
    baseline = study.timepoints.get(is_baseline=True)
    return (f"{score.choice_label} is not asked at baseline ({baseline.label}): a rule "
            f"compares each time point with baseline, so every patient would be 'not "
            f"evaluable'. Schedule {score.instrument} at {baseline.label} first, or choose "
            f"another score.")


def direction_message(score: StudyScore, direction: str) -> str:
    """The sentence refusing a rule whose improvement runs against its score's."""
    words = {"decrease": "a decrease", "increase": "an increase"}
    return (f"For {score.choice_label} {BETTER[score.direction]}, so an improvement is "
            f"{words[score.improvement]}, not {words.get(direction, repr(direction))}. "
            f"Leave the direction blank to take it from the score.")


def max_missing_problems(study, setting: object) -> list[str]:
    """Return what is wrong with ``setting`` as ``study``'s ``max_missing``, one line each.

    It maps score keys of the study's scheduled instruments that count their items to
    the blanks each allows: a whole number from 0 to one fewer than its items (with
    every item blank there is nothing to score).
    """
    if not isinstance(setting, dict):
        return ['Blanks allowed must map score keys to numbers, e.g. {"odi": 0}.']
    if not setting:
        return []
    scores = study_scores(study, reported_only=False)
    problems = []
    for key, value in setting.items():
        score = scores.get(key)
        if score is None:
            takers = {k: s for k, s in scores.items() if s.takes_blanks}
            choose = (f"those that may: {choices_text(takers)}." if takers else
                      "none of its scores may leave items blank.")
            problems.append(f"{key}: no instrument scheduled in {study.code} produces this "
                            f"score; {choose}")
            continue
        limit = score.blanks_limit
        if limit is None:
            problems.append(f"{score.choice_label}: this score needs every answer it uses; "
                            f"no blank can be allowed.")
        elif type(value) is not int or not 0 <= value <= limit:
            problems.append(f"{score.choice_label}: blanks allowed must be a whole number "
                            f"from 0 to {limit} (it counts {score.items} items), "
                            f"got {value!r}.")
    return problems
