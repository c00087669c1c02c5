"""The two fetchers read the same columns, and the tables are scipy's on the stored rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from fractions import Fraction

import numpy as np
import pytest
from django.db import connection

from outcomes.analysis.selectors import study_scores
from outcomes.analysis.tables import orm_columns, postgres_columns, result_tables
from patients.demo import load_demo
from tests.conftest import rolled_back_after

TODAY = dt.date(2026, 6, 1)
ARMS = ["BMC", "CONTROL"]


@pytest.fixture(scope="module")
def _cohort(django_db_setup, django_db_blocker):
    with rolled_back_after(django_db_blocker):
        load_demo(size=40, today=TODAY)
        yield


@pytest.fixture
def cohort(_cohort, study):
    """The demo study with 40 patients, loaded once for the module: every database test
    here reads it, none changes it."""
    return study


def stored_values(study) -> dict[tuple[str, str, str], dict[int, float]]:
    """{(arm, time point, score): {enrolment: value}} from the Score rows themselves."""
    from outcomes.instruments.models import Score

    found: dict = defaultdict(dict)
    for enrolment, arm, tp, code, exact in Score.objects.filter(
        response__visit__enrolment__study=study, response__state="completed",
    ).values_list("response__visit__enrolment_id", "response__visit__enrolment__arm__code",
                  "response__visit__timepoint__code", "code", "exact"):
        found[(arm, tp, code)][enrolment] = float(Fraction(exact))
    return found


def test_the_tables_are_scipy_and_statsmodels_on_the_stored_scores(cohort):
    import statsmodels.api as sm
    from scipy.stats import mannwhitneyu

    scores = study_scores(cohort.pk)
    tables = result_tables(cohort, arms=ARMS, scores=scores, pairs=[("BMC", "CONTROL")],
                           today=TODAY)
    values = stored_values(cohort)
    checked = 0
    for tp in ("m3", "m6"):
        for code in ("odi", "nrs", "eq5d_index_us", "gmh_t"):
            deltas, rows = {}, []
            for arm in ARMS:
                later, base = values[(arm, tp, code)], values[(arm, "baseline", code)]
                summary = tables.summaries[(arm, tp, code)]
                assert summary.n == len(later)
                assert summary.mean == pytest.approx(np.mean(list(later.values())), rel=1e-12)
                paired = [pk for pk in later if pk in base]
                assert len(paired) >= 3
                deltas[arm] = [later[pk] - base[pk] for pk in paired]
                n, mean, sd = tables.changes[(arm, tp, code)]
                assert (n, mean) == (len(paired), pytest.approx(np.mean(deltas[arm]),
                                                                rel=1e-12))
                assert sd == pytest.approx(np.std(deltas[arm], ddof=1), rel=1e-12)
                rows += [(later[pk], base[pk], arm == "BMC") for pk in paired]
            ranks = tables.mann_whitney[("BMC", "CONTROL", tp, code)]
            assert ranks.p_value == pytest.approx(mannwhitneyu(
                deltas["BMC"], deltas["CONTROL"], alternative="two-sided").pvalue, rel=1e-9)
            y, base, arm = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
            fit = sm.OLS(y, sm.add_constant(np.column_stack([arm, base]))).fit()
            adjusted = tables.ancova[("BMC", "CONTROL", tp, code)]
            assert (adjusted.estimate, adjusted.p_value) == pytest.approx(
                (fit.params[1], fit.pvalues[1]), rel=1e-7)
            checked += 1
    assert checked == 8


def test_pending_counts_the_visits_not_yet_due_and_without_data(cohort):
    from django.db.models import Exists, OuterRef

    from outcomes.followups.models import Visit
    from outcomes.instruments.models import Response

    tables = result_tables(cohort, arms=ARMS, scores=study_scores(cohort.pk), pairs=[],
                           today=TODAY)
    answered = Response.objects.filter(visit=OuterRef("pk"), state="completed")
    expected: dict = defaultdict(int)
    for arm, tp in (Visit.objects.filter(enrolment__study=cohort, window_close_date__gte=TODAY)
                    .annotate(data=Exists(answered)).filter(data=False)
                    .values_list("enrolment__arm__code", "timepoint__code")):
        expected[(arm, tp)] += 1
    assert sum(expected.values()) > 0
    for arm in ARMS:
        for tp in ("baseline", "m1", "m3", "m6", "m12"):
            assert tables.pending(arm, tp) == expected[(arm, tp)], (arm, tp)


def test_postgres_reads_the_same_columns_as_the_orm(cohort):
    if connection.vendor != "postgresql":
        pytest.skip("the packed columns are PostgreSQL's; CI runs this in its PostgreSQL pass")
    scores = study_scores(cohort.pk)
    orm = orm_columns(cohort, arms=ARMS, scores=scores, today=TODAY)
    packed = postgres_columns(cohort, arms=ARMS, scores=scores, today=TODAY)

    def by_id(data):
        return {key: sorted(zip(data.cohort.ids[at].tolist(), values.tolist(), strict=True))
                for key, (at, values) in data.scores.items()}

    assert by_id(packed) == by_id(orm) and len(by_id(orm)) > 20
    assert packed.visits == orm.visits and packed.verdicts == orm.verdicts
    assert packed.baseline == orm.baseline == "baseline"

    def people(data):  # what Table 1 reads: each patient's arm, sex, age, BMI, dose
        c = data.cohort
        return sorted(zip(c.ids.tolist(), [c.arm_codes[i] for i in c.arm],
                          [c.sex_codes[i] for i in c.sex],
                          [tuple(None if v != v else v for v in row)
                           for row in c.covariates.tolist()], strict=True))

    assert people(packed) == people(orm) and len(people(orm)) > 20

    def verdicts(data):
        p = data.primary

        def known(values):
            return [None if np.isnan(v) else v for v in values.tolist()]

        return sorted(zip([p.timepoint_codes[i] for i in p.timepoint],
                          [p.rule_codes[i] for i in p.rule], p.responder.tolist(),
                          [p.arm_codes[i] for i in p.arm], [p.sex_codes[i] for i in p.sex],
                          known(p.age), known(p.bmi), known(p.opioid), strict=True),
                      key=repr)

    assert verdicts(packed) == verdicts(orm) and len(verdicts(orm)) > 50


def reliability_of(study):
    """The ``ReliabilitySpec`` of every multi-item result score the study schedules."""
    from outcomes.analysis.selectors import study_schedule
    from outcomes.analysis.tables import reliability_specs

    schedule = study_schedule(study.pk)
    definitions = list({pk: d for _, pk, d in schedule}.items())
    return reliability_specs(definitions, study_scores(study.pk))


def test_the_orms_item_variances_are_numpys_on_the_stored_answers(cohort):
    from outcomes.analysis import stats
    from outcomes.instruments.models import Response

    specs = reliability_of(cohort)
    assert {"odi", "gph_t", "gmh_t", "eq5d_index_uk"} <= {s.score for s in specs}
    assert "nrs" not in {s.score for s in specs}  # one item: no alpha
    orm = orm_columns(cohort, arms=ARMS, scores=study_scores(cohort.pk), today=TODAY,
                      reliability=specs)
    # The ODI's ten sections as answered (points 0-5, none recoded), complete ones only.
    sections = ["pain_intensity", "personal_care", "lifting", "walking", "sitting",
                "standing", "sleeping", "sex_life", "social_life", "travelling"]
    rows = [[answers.get(code) for code in sections] for answers in Response.objects.filter(
        visit__enrolment__study=cohort, visit__timepoint__code="baseline",
        state="completed", instrument__code="odi").values_list("answers", flat=True)]
    complete = np.array([r for r in rows if None not in r], float)
    c = np.cov(complete, rowvar=False)
    found = orm.reliability["odi"]
    assert (found.n, found.items) == (len(complete), 10) and found.n >= 20
    assert stats.cronbach_alpha(found) == pytest.approx(
        10 / 9 * (1 - np.trace(c) / c.sum()), rel=1e-9)


def test_postgres_aggregates_the_same_item_variances_as_the_orm(cohort):
    if connection.vendor != "postgresql":
        pytest.skip("the aggregate is PostgreSQL's; CI runs this in its PostgreSQL pass")
    specs = reliability_of(cohort)
    scores = study_scores(cohort.pk)
    orm = orm_columns(cohort, arms=ARMS, scores=scores, today=TODAY, reliability=specs)
    packed = postgres_columns(cohort, arms=ARMS, scores=scores, today=TODAY,
                              reliability=specs)
    assert set(packed.reliability) == set(orm.reliability) == {s.score for s in specs}
    for key, mine in orm.reliability.items():
        theirs = packed.reliability[key]
        assert (theirs.n, theirs.items) == (mine.n, mine.items), key
        assert mine.n >= 20, key
        assert theirs.item_variance_sum == pytest.approx(mine.item_variance_sum, rel=1e-9)
        assert theirs.total_variance == pytest.approx(mine.total_variance, rel=1e-9)


def test_alphas_items_are_as_the_score_uses_them_recoded_reversed_or_its_sources():
    from outcomes.analysis.tables import ReliabilitySpec, scored_items
    from outcomes.instruments.definitions.files import parse_definition

    choice = [{"value": v, "label": f"{v}"} for v in range(1, 6)]
    definition = parse_definition({
        "code": "alphatest", "version": "1", "title": "Alpha test", "short_title": "AT",
        "licence": "Test only.", "source": "This test.",
        "items": [{"code": c, "text": c, "kind": "choice", "options": choice}
                  for c in ("a", "b", "c")],
        "scores": [
            {"key": "at_raw", "label": "raw", "method": "sum", "items": ["a", "b", "c"],
             "reverse_items": ["b"], "recode": {"c": {"1": 1, "2": 1, "3": 2, "4": 3, "5": 3}},
             "direction": "lower_is_better"},
            {"key": "at_t", "label": "T", "method": "lookup", "from": "at_raw",
             "table": {str(r): r * 10 for r in range(3, 14)},
             "direction": "lower_is_better"}]})
    items = scored_items(definition, "at_t")  # a lookup: its raw sum's items
    assert items == scored_items(definition, "at_raw")
    spec = ReliabilitySpec("at_t", (1,), items)
    # b reversed (1 + 5 - 4 = 2), c recoded (4 -> 3); a blank item: not complete.
    assert spec.values({"a": 2, "b": 4, "c": 4}) == [2.0, 2.0, 3.0]
    assert spec.values({"a": 2, "b": None, "c": 4}) is None
    assert spec.values({"a": 2, "c": 4}) is None
