"""The numbers behind the study's results, from columns (pure: numpy, no Django).

``tables.py`` reads the study's data as columns, the same columns whichever database
holds them (``StudyColumns``); ``compute`` turns them into every count, summary and
test the results report (``Tables``). Each figure is computed here once, with the
formulas of ``stats``; the tests check it against scipy and statsmodels on the same
numbers, not against a second implementation.

A cell is (arm, time point, score). For every cell: the summary (n, mean, SD,
quartiles) and the change from baseline (n, mean, SD over patients with both); for
each comparison (arm, reference arm) at each follow-up time point and score: the
Mann-Whitney test of the changes and the ANCOVA of the follow-up value on arm and
baseline. Then the visits per arm, time point and state (the flow, and the patients
whose visit is not yet due: ``pending``), the evaluable verdicts counted per arm, time
point, rule and verdict, the responder rates and regressions by covariate, and the
patients' characteristics at baseline by arm (a paper's Table 1). Last, the MCID the
study's own data estimate for each score (``mcid_estimates``): anchor-based (the mean
change among the patients an anchor such as the PGIC counts as improved) and
distribution-based (half the baseline SD; the SEM from Cronbach's alpha).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import stats
from .covariates import VerdictColumns, regressions_of, subgroups_of

Cell = tuple[str, str, str]  # arm, time point, score
Pair = tuple[str, str]  # arm, reference arm
Column = tuple[np.ndarray, np.ndarray]  # patients' positions in the cohort, their values

#: What a visit counts as in the flow: with data (analysed), not yet due (pending:
#: window not closed and no data), or due without data: missed, or not applicable
#: (a withdrawn patient's).
FLOW_STATES = ("with_data", "missed", "pending", "not_applicable")


class Cohort:
    """The study's enrolments as columns: arm (an index into ``arm_codes``), sex (an
    index into ``sex_codes``) and covariates (age, BMI, baseline opioid dose; NaN if
    unknown), and a map from enrolment ids to positions in the columns."""

    def __init__(self, ids: np.ndarray, arm: np.ndarray, sex: np.ndarray,
                 covariates: np.ndarray, *, arm_codes: list[str], sex_codes: list[str]):
        self.ids = np.asarray(ids, dtype=np.int64)
        self.arm = np.asarray(arm, dtype=np.int64)
        self.sex = np.asarray(sex, dtype=np.int64)
        self.covariates = np.asarray(covariates, dtype=np.float64).reshape(-1, 3)
        self.arm_codes, self.sex_codes = arm_codes, sex_codes
        # Ids to positions by one array lookup where the ids are dense enough (they are
        # in a database of a few studies); by binary search otherwise.
        self._low, self._lookup, self._order = 0, None, None
        if len(self.ids) and self.ids.max() - self.ids.min() < 8 * len(self.ids) + 100_000:
            self._low = int(self.ids.min())
            self._lookup = np.full(int(self.ids.max()) - self._low + 2, -1, np.int64)
            self._lookup[self.ids - self._low] = np.arange(len(self.ids))  # last: not found
        else:
            self._order = np.argsort(self.ids)

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Return each id's position in the columns, or -1 if not one of the study's."""
        ids = np.asarray(ids, dtype=np.int64)
        if self._lookup is not None:
            offset = ids - self._low
            outside = (offset < 0) | (offset >= len(self._lookup) - 1)
            return self._lookup[np.where(outside, len(self._lookup) - 1, offset)]
        if not len(self.ids):
            return np.full(len(ids), -1, np.int64)
        ordered = self.ids[self._order]
        at = np.minimum(np.searchsorted(ordered, ids), len(ordered) - 1)
        return np.where(ordered[at] == ids, self._order[at], -1)


@dataclass
class StudyColumns:
    """Everything ``compute`` needs, as a fetcher read it.

    ``scores`` maps (time point, score) to the positions of the patients with a value
    and the values (a patient at most once); ``visits`` counts visits by (arm, time
    point, state, due), the state ``with_data`` or else the visit's status, ``due``
    whether the window has closed; ``verdicts`` counts evaluable verdicts by (arm, time
    point, rule, verdict); ``primary`` holds the primary rules' evaluable verdicts.
    """

    cohort: Cohort
    baseline: str | None
    scores: dict[tuple[str, str], Column] = field(default_factory=dict)
    visits: dict[tuple[str, str, str, bool], int] = field(default_factory=dict)
    verdicts: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    primary: VerdictColumns | None = None
    #: Score → its items' variances among the complete baseline answers (Cronbach's alpha).
    reliability: dict[str, stats.ItemVariances] = field(default_factory=dict)


@dataclass(frozen=True)
class McidPlan:
    """What ``mcid_estimates`` estimates: the MCID of each of ``scores`` (the study's
    result scores, anchors left out), each made of ``items`` questions, at each of
    ``follow_ups``; ``anchors`` maps an anchor score's key to its cut-off (an object with
    ``label`` and ``upto`` or ``from_``: ``definitions.base.Anchor``), ``anchors_at`` a
    follow-up time point to the anchors the study asks there."""

    scores: Sequence[str]
    items: Mapping[str, int]
    follow_ups: Sequence[str]
    anchors: Mapping[str, object] = field(default_factory=dict)
    anchors_at: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass
class Tables:
    summaries: dict[Cell, stats.Summary] = field(default_factory=dict)
    changes: dict[Cell, stats.Moments] = field(default_factory=dict)
    # Keyed (arm, reference arm, time point, score).
    mann_whitney: dict[tuple[str, str, str, str], stats.RankTest | None] = field(
        default_factory=dict)
    ancova: dict[tuple[str, str, str, str], stats.Adjusted | None] = field(
        default_factory=dict)
    verdicts: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    flow: dict[tuple[str, str, str], int] = field(default_factory=dict)
    subgroups: list[dict] = field(default_factory=list)
    regressions: list[dict] = field(default_factory=list)
    baseline_characteristics: list[dict] = field(default_factory=list)
    mcid: list[dict] = field(default_factory=list)

    def pending(self, arm: str, timepoint: str) -> int:
        """Allocated patients of ``arm`` whose visit at ``timepoint`` is not yet due."""
        return self.flow.get((arm, timepoint, "pending"), 0)


def compute(data: StudyColumns, pairs: list[Pair], *,
            baseline_scores: Sequence[str] = (), mcid: McidPlan | None = None) -> Tables:
    """Return every table of the results from the study's columns; ``baseline_scores``
    are the scores Table 1 shows at baseline, in order (the study's instruments');
    ``mcid`` the scores and anchors of the MCID estimates."""
    tables = Tables()
    cohort = data.cohort
    arms = cohort.arm_codes
    for (tp, code), (at, values) in data.scores.items():
        arm = cohort.arm[at]
        for k, name in enumerate(arms):
            mine = values[arm == k]
            if len(mine):
                tables.summaries[(name, tp, code)] = stats.describe(mine)
    if data.baseline:
        for (tp, code), (at, values) in data.scores.items():
            if tp != data.baseline:
                _changes(tables, data, tp, code, at, values, pairs)
    flow: dict[tuple[str, str, str], int] = defaultdict(int)
    for (arm, tp, state, due), n in data.visits.items():
        if state == "with_data":
            flow[(arm, tp, "with_data")] += n
        elif not due:
            flow[(arm, tp, "pending")] += n
        elif state == "not_applicable":
            flow[(arm, tp, "not_applicable")] += n
        else:
            flow[(arm, tp, "missed")] += n
    tables.flow = dict(flow)
    tables.verdicts = dict(data.verdicts)
    if data.primary is not None:
        tables.subgroups = subgroups_of(data.primary)
        tables.regressions = regressions_of(data.primary)
    tables.baseline_characteristics = baseline_characteristics(data, baseline_scores)
    if mcid is not None:
        tables.mcid = mcid_estimates(data, mcid)
    return tables


def _improved(anchor, values: np.ndarray) -> np.ndarray:
    """Which of an anchor's values count as improved (at most ``upto``, or at least
    ``from_``); the cut-off is exact in the file, and the stored values are the floats
    of exact integers or decimals, so the float comparison is the exact one."""
    if getattr(anchor, "upto", None) is not None:
        return values <= float(anchor.upto)
    return values >= float(anchor.from_)


def mcid_estimates(data: StudyColumns, plan: McidPlan) -> list[dict]:
    """Return the MCID estimated from the study's own data, a row per score and follow-up
    time point (and anchor asked there; ``anchor`` None where the study asks none).

    - Anchor-based: among the patients whose anchor at that time point counts as improved
      (every arm), the change in the score (that time point − baseline, patients with
      both): n, mean, SD and the t 95% CI of the mean (``anchor_*``). ``anchor_answered``
      patients rated the anchor there, ``anchor_improved`` of them improved.
    - Half the SD of the baseline score, every arm pooled (``baseline_n``,
      ``baseline_sd``, ``half_sd``).
    - The SEM, baseline SD × √(1 − alpha), Cronbach's alpha of the score's items among
      the ``alpha_n`` patients who answered every one at baseline; a score of one item
      (``items`` 1) has no alpha, and so no SEM.
    """
    if not data.baseline:
        return []
    cohort = data.cohort
    empty = (np.zeros(0, np.int64), np.zeros(0))
    rows: list[dict] = []
    for code in plan.scores:
        base_at, base_values = data.scores.get((data.baseline, code), empty)
        spread = stats.describe(base_values)
        found = data.reliability.get(code) or stats.ItemVariances(
            0, plan.items.get(code, 0), None, None)
        alpha = stats.cronbach_alpha(found)
        common = {
            "baseline_n": spread.n, "baseline_sd": spread.sd,
            "half_sd": None if spread.sd is None else stats.HALF_SD * spread.sd,
            "items": plan.items.get(code, found.items), "alpha": alpha,
            "alpha_n": found.n, "sem": stats.standard_error_of_measurement(spread.sd, alpha),
        }
        base = np.full(len(cohort.ids), np.nan)
        base[base_at] = base_values
        for tp in plan.follow_ups:
            later = np.full(len(cohort.ids), np.nan)
            at, values = data.scores.get((tp, code), empty)
            later[at] = values
            change = later - base  # NaN unless both
            for key in plan.anchors_at.get(tp, ()) or (None,):
                row = {"score": code, "timepoint": tp, "anchor": key, "anchor_label": None,
                       "anchor_answered": 0, "anchor_improved": 0, "anchor_n": 0,
                       "anchor_mean_change": None, "anchor_sd_change": None,
                       "anchor_ci_low": None, "anchor_ci_high": None, **common}
                if key is not None:
                    anchor = plan.anchors[key]
                    rated_at, rated = data.scores.get((tp, key), empty)
                    improved = rated_at[_improved(anchor, rated)]
                    mine = change[improved]
                    summary = stats.describe(mine[~np.isnan(mine)])
                    low, high = stats.mean_ci_from(summary.n, summary.mean, summary.sd)
                    row.update(anchor_label=anchor.label, anchor_answered=len(rated_at),
                               anchor_improved=len(improved), anchor_n=summary.n,
                               anchor_mean_change=summary.mean, anchor_sd_change=summary.sd,
                               anchor_ci_low=low, anchor_ci_high=high)
                rows.append(row)
    return rows


def baseline_characteristics(data: StudyColumns, scores: Sequence[str]) -> list[dict]:
    """Return Table 1: the patients' characteristics at baseline, arm by arm.

    For each arm, in order: the patients allocated (``patients``); age (years at
    enrolment), BMI and each of ``scores`` at baseline as n, mean, SD, median and
    quartiles over the patients with a value, ``missing`` the others; sex as a count
    and percent of the allocated for each sex the study records (zero counts too);
    baseline opioid use from the enrolment record: any (a dose above 0 MME/day) as a
    count and percent of the patients whose dose is known, and the dose among those
    who take any (``opioid_mme_users``) as a continuous row. A row's ``n`` is always
    the patients it describes.
    """
    cohort = data.cohort
    base: dict[str, Column] = {code: data.scores.get((data.baseline, code),
                                                      (np.zeros(0, np.int64), np.zeros(0)))
                               for code in scores} if data.baseline else {}
    rows: list[dict] = []
    for k, arm in enumerate(cohort.arm_codes):
        mine = cohort.arm == k
        allocated = int(mine.sum())
        age, bmi, dose = (cohort.covariates[mine, j] for j in range(3))
        known = dose[~np.isnan(dose)]
        users = known[known > 0]
        rows.append({"arm": arm, "characteristic": "patients", "n": allocated})
        rows.append(_continuous(arm, "age", age[~np.isnan(age)], allocated, unit="years"))
        for s, sex in enumerate(cohort.sex_codes):
            rows.append(_count(arm, "sex", int((cohort.sex[mine] == s).sum()), allocated,
                               allocated, level=sex))
        rows.append(_continuous(arm, "bmi", bmi[~np.isnan(bmi)], allocated, unit="kg/m²"))
        rows.append(_count(arm, "opioid_any", len(users), len(known), allocated))
        rows.append(_continuous(arm, "opioid_mme_users", users, len(users),
                                unit="MME/day"))
        for code, (at, values) in base.items():
            rows.append(_continuous(arm, "score", values[cohort.arm[at] == k], allocated,
                                    score=code))
    return rows


def _continuous(arm: str, name: str, values: np.ndarray, of: int, **extra) -> dict:
    """A continuous row of Table 1: ``of`` patients, those without a value missing."""
    summary = stats.describe(values)
    return {"arm": arm, "characteristic": name, **extra, "n": summary.n,
            "missing": of - summary.n, "mean": summary.mean, "sd": summary.sd,
            "median": summary.median, "q1": summary.q1, "q3": summary.q3}


def _count(arm: str, name: str, hits: int, known: int, allocated: int, **extra) -> dict:
    """A count row of Table 1: ``hits`` of the ``known`` patients, as a percent."""
    return {"arm": arm, "characteristic": name, **extra, "count": hits, "n": known,
            "missing": allocated - known, "percent": 100 * hits / known if known else None}


def _changes(tables: Tables, data: StudyColumns, tp: str, code: str, at: np.ndarray,
             values: np.ndarray, pairs: list[Pair]) -> None:
    """Fill the changes from baseline of one time point and score, and its comparisons."""
    cohort = data.cohort
    base = np.full(len(cohort.ids), np.nan)
    base_at, base_values = data.scores.get((data.baseline, code),
                                           (np.zeros(0, np.int64), np.zeros(0)))
    base[base_at] = base_values
    before = base[at]
    paired = ~np.isnan(before)  # the patients with a baseline value too
    in_cell = set(np.flatnonzero(np.bincount(cohort.arm[at],
                                             minlength=len(cohort.arm_codes))).tolist())
    arm = cohort.arm[at[paired]]
    after, before = values[paired], before[paired]
    delta = after - before
    for k, name in enumerate(cohort.arm_codes):
        if k in in_cell:
            summary = stats.describe(delta[arm == k])
            tables.changes[(name, tp, code)] = (summary.n, summary.mean, summary.sd)
    index = {name: k for k, name in enumerate(cohort.arm_codes)}
    for name, reference in pairs:
        mine, theirs = arm == index[name], arm == index[reference]
        key = (name, reference, tp, code)
        tables.mann_whitney[key] = stats.mann_whitney(delta[mine], delta[theirs])
        both = mine | theirs
        tables.ancova[key] = stats.ancova(after[both], before[both], mine[both])
