"""Alpha's running sums on PostgreSQL (``outcomes/instruments/reliability.py``): they follow
every write as the ORM reads the answers, fold, and a version they do not list is read
from its answers until ``rebuild_reliability_sums``. Each test loads its own cohort: they
write (corrections, voids, a moved baseline, the sums themselves). Concurrent writers:
``test_reliability_review.py``."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from outcomes.analysis.selectors import study_scores
from outcomes.analysis.tables import orm_columns, postgres_columns
from patients.demo import load_demo
from tests.integration.analysis.test_tables import reliability_of

TODAY = dt.date(2026, 6, 1)
ARMS = ["BMC", "CONTROL"]

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the running sums are PostgreSQL's; CI runs this in its PostgreSQL pass")


@pytest.fixture
def cohort(study):
    load_demo(size=40, today=TODAY)
    return study


def assert_same_item_variances(study, specs):
    scores = study_scores(study.pk)
    orm = orm_columns(study, arms=ARMS, scores=scores, today=TODAY, reliability=specs)
    packed = postgres_columns(study, arms=ARMS, scores=scores, today=TODAY, reliability=specs)
    assert set(packed.reliability) == set(orm.reliability) == {s.score for s in specs}
    for key, mine in orm.reliability.items():
        theirs = packed.reliability[key]
        assert (theirs.n, theirs.items) == (mine.n, mine.items), key
        assert theirs.item_variance_sum == pytest.approx(mine.item_variance_sum, rel=1e-12)
        assert theirs.total_variance == pytest.approx(mine.total_variance, rel=1e-12)
    return orm.reliability


def test_postgres_running_sums_follow_every_write_after_they_start(study):
    """The study's versions' items are listed when they are stored, before any response:
    every response is counted by the trigger alone, in the statement that writes it: the
    demo's loading, a correction (old answers out, new in) and a void (out), as the ORM
    reads the answers."""
    from django.contrib.auth import get_user_model

    from outcomes.instruments.models import ReliabilityItem, ReliabilitySums, Response
    from outcomes.instruments.services import correct_response, void_response

    specs = reliability_of(study)
    assert ReliabilityItem.objects.filter(score="odi").count() == 10
    assert not ReliabilitySums.objects.exists()
    empty = postgres_columns(study, arms=ARMS, scores=study_scores(study.pk), today=TODAY,
                             reliability=specs)
    assert {key: v.n for key, v in empty.reliability.items()} == {s.score: 0 for s in specs}

    load_demo(size=40, today=TODAY)
    listed = list(ReliabilityItem.objects.order_by("pk").values_list("pk", flat=True))
    before = assert_same_item_variances(study, specs)
    assert before["odi"].n >= 20
    assert list(ReliabilityItem.objects.order_by("pk").values_list("pk", flat=True)) == listed

    baseline = Response.objects.filter(visit__enrolment__study=study, state="completed",
                                       visit__timepoint__code="baseline",
                                       instrument__code="odi").order_by("pk")
    first, second = baseline[0], baseline[1]
    staff = get_user_model().objects.create_user("coord", password="x" * 12)
    answers = dict(first.answers) | {"pain_intensity": 5, "lifting": 0}
    correct_response(response=first, answers=answers, reason="Misread the paper form.",
                     actor=staff)
    void_response(response=second, reason="Entered for the wrong patient.", actor=staff)
    after = assert_same_item_variances(study, specs)
    assert after["odi"].n == before["odi"].n - 1
    assert after["odi"].item_variance_sum != pytest.approx(before["odi"].item_variance_sum)


def test_postgres_reads_an_unlisted_versions_alpha_from_its_answers_until_rebuilt(cohort):
    """A version the trigger does not list as the results read it (none listed, or a map
    changed by hand): the results read that score's alpha from the answers, as the ORM
    does, and write nothing; ``rebuild_reliability_sums`` lists it and sums its answers,
    after which the sums give the same, and a second run has nothing to do."""
    from io import StringIO

    from django.core.management import call_command

    from outcomes.instruments.models import ReliabilityItem, ReliabilitySums

    specs = reliability_of(cohort)
    ReliabilityItem.objects.all().delete()
    ReliabilitySums.objects.all().delete()
    assert_same_item_variances(cohort, specs)
    assert not ReliabilitySums.objects.exists() and not ReliabilityItem.objects.exists()
    out = StringIO()
    call_command("rebuild_reliability_sums", stdout=out)
    assert "listed and summed again" in out.getvalue()
    assert ReliabilityItem.objects.filter(score="odi").count() == 10
    assert_same_item_variances(cohort, specs)
    call_command("rebuild_reliability_sums", stdout=out)
    assert "nothing to do" in out.getvalue()

    item = ReliabilityItem.objects.filter(score="gph_t", recode__isnull=False).first()
    assert item is not None  # PROMIS GH's pain item is recoded
    item.recode = {key: 0 for key in item.recode}
    item.save()
    ReliabilitySums.objects.filter(score="gph_t").update(n=0)  # wrong, and not read
    assert_same_item_variances(cohort, specs)


def test_postgres_sums_fold_into_one_row_per_key_and_add_up_the_same(study, monkeypatch):
    """The trigger appends a row per key and statement; a read that finds many (more than
    ``FOLD_AFTER`` a key: 8 here, for 40 patients) folds them into one per key, as the
    periodic task does, and alpha is unchanged."""
    from django.db.models import Count

    from outcomes.followups.models import TimePoint
    from outcomes.instruments import reliability
    from outcomes.instruments.models import ReliabilitySums
    from outcomes.instruments.tasks import fold_reliability_sums

    monkeypatch.setattr(reliability, "FOLD_AFTER", 8)
    load_demo(size=40, today=TODAY)
    specs = reliability_of(study)
    keys = ReliabilitySums.objects.values("timepoint", "instrument", "score", "position")
    assert keys.annotate(rows=Count("pk")).filter(rows__gt=1).exists()  # one per statement
    before = assert_same_item_variances(study, specs)  # reads, then folds: many rows
    assert not keys.annotate(rows=Count("pk")).filter(rows__gt=1).exists()
    assert assert_same_item_variances(study, specs) == before
    ReliabilitySums.objects.create(timepoint=TimePoint.objects.get(study=study, code="m1"),
                                   instrument_id=specs[0].instruments[0],
                                   score=specs[0].score, position=-1, n=0, total=0,
                                   squares=0)  # a second row for one key
    assert fold_reliability_sums() is True
    assert not keys.annotate(rows=Count("pk")).filter(rows__gt=1).exists()
    assert assert_same_item_variances(study, specs) == before


def test_postgres_sums_follow_the_baseline_when_it_moves(cohort):
    """Alpha is of the baseline answers: a study whose baseline becomes another time point
    (month 1 here) reads the new baseline's (every time point is summed)."""
    from outcomes.followups.models import TimePoint

    specs = reliability_of(cohort)
    before = assert_same_item_variances(cohort, specs)
    TimePoint.objects.filter(study=cohort, is_baseline=True).update(is_baseline=False)
    TimePoint.objects.filter(study=cohort, code="m1").update(is_baseline=True)
    after = assert_same_item_variances(cohort, specs)
    assert after["odi"].n != before["odi"].n or (
        after["odi"].total_variance != pytest.approx(before["odi"].total_variance))
