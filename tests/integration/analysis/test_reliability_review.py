"""Alpha's running sums under concurrent writers: what a hostile review found in the first
design (rows updated in place by every writer; a rebuild on the results page under a
table lock; a trigger clearing every study's sums when one moved its baseline), each
test failing on it and passing on this one (rows appended, never updated by writers;
an unlisted version read from its answers; every time point summed). PostgreSQL only
(the sums do not exist on SQLite):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outcomes_review \\
        nice -n 19 .venv/bin/pytest tests/integration/analysis/test_reliability_review.py
"""

from __future__ import annotations

import datetime as dt
import random
import threading

import pytest
from django.db import OperationalError, connection, transaction

from outcomes.analysis.selectors import study_scores
from outcomes.analysis.tables import orm_columns, postgres_columns
from tests.integration.analysis.test_tables import reliability_of

TODAY = dt.date(2026, 6, 1)
ARMS = ["BMC", "CONTROL"]

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the running sums are PostgreSQL's (DATABASE_URL=postgres://...)")


def both(study, specs):
    """(ORM's, PostgreSQL's) {score: (n, item variance sum, total variance)}."""
    scores = study_scores(study.pk)
    orm = orm_columns(study, arms=ARMS, scores=scores, today=TODAY, reliability=specs)
    packed = postgres_columns(study, arms=ARMS, scores=scores, today=TODAY, reliability=specs)

    def plain(found):
        return {key: (v.n, None if v.item_variance_sum is None else round(v.item_variance_sum, 9),
                      None if v.total_variance is None else round(v.total_variance, 9))
                for key, v in found.reliability.items()}

    return plain(orm), plain(packed)


def odi_answers(seed: int) -> dict:
    from patients.demo import _answers

    return _answers("odi", 0.5, random.Random(seed))


@pytest.fixture
def committed_study(transactional_db):
    """The demo study with a few patients, committed (other connections see it)."""
    from patients.demo import ensure_demo_study, load_demo

    study = ensure_demo_study()
    load_demo(size=12, today=TODAY)
    return study


def baseline_visit(study, code: str):
    from tests.factories import enrol

    return enrol(study, code, index_date=TODAY, today=TODAY).visits.get(
        timepoint__code="baseline")


# 1 ------------------------------------------------------------------------------------

def test_review_a_baseline_moved_in_another_study_leaves_this_studys_sums_alone(study):
    """REVIEW: ``instruments_reliability_baseline_moved`` runs ``DELETE FROM
    instruments_reliabilitysums; DELETE FROM instruments_reliabilityitem`` with no WHERE:
    one study's coordinator moving *their* baseline unlists every version of every
    study, so each study's next results read rebuilds all its sums from every answer
    under ``LOCK TABLE instruments_response IN SHARE ROW EXCLUSIVE MODE`` (46 s at
    100,000 patients, docs/performance.md), holding every patient's submit back."""
    from outcomes.followups.models import TimePoint
    from outcomes.instruments.models import ReliabilityItem, ReliabilitySums
    from patients.demo import load_demo
    from tests.factories import StudyFactory

    load_demo(size=12, today=TODAY)
    specs = reliability_of(study)
    both(study, specs)  # listed and summed
    mine = {pk for spec in specs for pk in spec.instruments}
    items = set(ReliabilityItem.objects.filter(instrument_id__in=mine)
                .values_list("pk", flat=True))
    sums = ReliabilitySums.objects.filter(timepoint__study=study).count()
    assert items and sums

    other = StudyFactory(code="OTHER")
    point = TimePoint.objects.create(study=other, code="baseline", label="Baseline",
                                     target_day=0, is_baseline=False)
    point.is_baseline = True
    point.save()  # another study, no patients, none of this study's answers

    assert set(ReliabilityItem.objects.filter(instrument_id__in=mine)
               .values_list("pk", flat=True)) == items
    assert ReliabilitySums.objects.filter(timepoint__study=study).count() == sums


# 2 ------------------------------------------------------------------------------------

def test_review_a_rebuild_racing_a_baseline_move_leaves_the_sums_wrong_for_good(
        committed_study):
    """REVIEW: the rebuild locks ``instruments_response`` but not ``followups_timepoint``;
    the baseline trigger takes no lock on the responses. A rebuild that runs while a
    baseline move is still uncommitted sums the OLD baseline's answers (its snapshot)
    and lists the items; the move's DELETE ran before those rows existed, so they
    survive it. After both commit the items are listed (nothing stale), the new
    baseline has no sums, and alpha reads n = 0 for every score, for good, while the
    ORM reads the new baseline's answers."""
    from outcomes.followups.models import TimePoint
    from outcomes.instruments.models import ReliabilityItem, ReliabilitySums

    study = committed_study
    specs = reliability_of(study)
    # As after an earlier move or a version stored by code that bypasses the services:
    # nothing listed, nothing summed (the next results read rebuilds).
    ReliabilityItem.objects.all().delete()
    ReliabilitySums.objects.all().delete()

    moved, rebuilt = threading.Event(), threading.Event()
    errors = []

    def move_baseline():
        try:
            with transaction.atomic():
                TimePoint.objects.filter(study=study, is_baseline=True).update(
                    is_baseline=False)
                TimePoint.objects.filter(study=study, code="m1").update(is_baseline=True)
                moved.set()
                assert rebuilt.wait(30)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
            moved.set()
        finally:
            connection.close()

    thread = threading.Thread(target=move_baseline, daemon=True)
    thread.start()
    assert moved.wait(30)
    # A results read at this moment (the old baseline still committed): rebuilds.
    scores = study_scores(study.pk)
    postgres_columns(study, arms=ARMS, scores=scores, today=TODAY, reliability=specs)
    rebuilt.set()
    thread.join(30)
    assert not thread.is_alive() and not errors, errors

    assert TimePoint.objects.get(study=study, is_baseline=True).code == "m1"
    orm, packed = both(study, specs)
    assert orm["odi"][0] > 0  # the new baseline has answers
    assert packed == orm


# 3 ------------------------------------------------------------------------------------

def _hold_open(write, started: threading.Event, release: threading.Event, errors: list):
    """In its own connection and transaction: ``write()``, then wait for ``release``."""
    def run():
        try:
            with transaction.atomic():
                write()
                started.set()
                assert release.wait(60)
        except Exception as error:  # pragma: no cover - reported by the test
            errors.append(error)
            started.set()
        finally:
            connection.close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _copy_completed(visit, instrument, answers):
    """A completed response written as the import writes it (``Bulk.insert``: COPY)."""
    from django.utils import timezone

    from outcomes.instruments.models import Response
    from patients.imports.bulk import Bulk
    from patients.imports.load import RESPONSE_FIELDS

    now = timezone.now()
    Bulk().insert(Response, RESPONSE_FIELDS, [
        (visit.pk, instrument.pk, answers, "completed", "import", now, now, now, False, {}),
    ], with_ids=True)


def test_review_an_import_in_progress_holds_back_a_patients_baseline_submit(committed_study):
    """REVIEW: every completed baseline response of one instrument version updates the same
    k + 1 ``instruments_reliabilitysums`` rows (one per item and the total), and holds
    their row locks until its transaction commits. An import is one transaction
    (``patients/imports/load.py``: minutes for a large file); while it runs, every
    patient submitting that questionnaire at that study's baseline waits for it (here:
    the lock timeout fires). Before this change the two wrote different rows and never
    waited for each other. Concurrent web submits serialise the same way."""
    from outcomes.instruments.models import Instrument, Response
    from outcomes.instruments.services import complete_response, save_answers

    study = committed_study
    odi = Instrument.objects.get(code="odi")
    imported, submitting = baseline_visit(study, "R-1"), baseline_visit(study, "R-2")
    response = save_answers(visit=submitting, instrument=odi, answers=odi_answers(2))

    started, release, errors = threading.Event(), threading.Event(), []
    thread = _hold_open(lambda: _copy_completed(imported, odi, odi_answers(1)),
                        started, release, errors)
    assert started.wait(30) and not errors, errors
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            complete_response(response=response)  # the patient's submit
    finally:
        release.set()
        thread.join(30)
    assert not errors, errors
    assert Response.objects.get(pk=response.pk).state == "completed"


# 4 ------------------------------------------------------------------------------------

def test_review_an_import_and_a_patients_submit_do_not_deadlock(committed_study):
    """REVIEW: the sums rows are locked in key order within one statement (``ORDER BY``),
    but an import writes many statements (a COPY per 2,000 responses) in one
    transaction. A batch with only PROMIS GH answers at baseline locks PROMIS's rows;
    a patient's ``submit_visit`` (one UPDATE of the visit's responses) then locks
    ODI's rows and waits for PROMIS's; the import's next batch, with ODI answers,
    waits for ODI's: PostgreSQL's deadlock detector kills one of them (the patient's
    submit or the whole import)."""
    from outcomes.instruments.models import Instrument
    from outcomes.instruments.services import save_answers, submit_visit
    from patients.demo import _answers

    study = committed_study
    odi, promis = Instrument.objects.get(code="odi"), Instrument.objects.get(code="promis_gh")
    first, second = (odi, promis) if odi.pk < promis.pk else (promis, odi)
    a, b = baseline_visit(study, "D-1"), baseline_visit(study, "D-2")
    patient = baseline_visit(study, "D-3")
    rng = random.Random(3)
    for instrument in patient.timepoint.instruments.all():
        save_answers(visit=patient, instrument=instrument,
                     answers=_answers(instrument.code, 0.5, rng))

    import_errors, submit_errors = [], []
    batch_one, submit_waiting, done = threading.Event(), threading.Event(), threading.Event()

    def an_import():
        try:
            with transaction.atomic():
                _copy_completed(a, second, _answers(second.code, 0.5, rng))  # batch 1
                batch_one.set()
                assert submit_waiting.wait(30)
                _copy_completed(b, first, _answers(first.code, 0.5, rng))  # batch 2
        except Exception as error:
            import_errors.append(error)
        finally:
            done.set()
            connection.close()

    def submit():
        try:
            submit_visit(visit=patient)
        except Exception as error:
            submit_errors.append(error)
        finally:
            connection.close()

    importer = threading.Thread(target=an_import, daemon=True)
    importer.start()
    assert batch_one.wait(30)
    submitter = threading.Thread(target=submit, daemon=True)
    submitter.start()
    # It locks the first instrument's sums rows, then waits for the second's (held by the
    # import); without the trigger it simply completes.
    submitter.join(1.5)
    submit_waiting.set()
    importer.join(30)
    submitter.join(30)
    assert not importer.is_alive() and not submitter.is_alive()
    assert not import_errors and not submit_errors, (import_errors, submit_errors)


# 5 ------------------------------------------------------------------------------------

def test_review_a_results_read_that_rebuilds_does_not_stop_every_submit(committed_study):
    """REVIEW: a results read that finds a version unlisted (after any baseline move, in
    any study: test 1) asks for ``SHARE ROW EXCLUSIVE`` on ``instruments_response``
    and waits for every open writer (an import of follow-up answers, here). While it
    waits in the lock queue, every later writer queues behind it: a patient's baseline
    submit, in another questionnaire and another study, stops until the import ends
    and the rebuild has summed every answer (46 s at 100,000 patients)."""
    from outcomes.instruments.models import Instrument, ReliabilityItem, Response
    from outcomes.instruments.services import complete_response, save_answers
    from patients.demo import _answers

    study = committed_study
    specs = reliability_of(study)
    nrs = Instrument.objects.get(code="nrs11")  # one item: no sums of its own
    follow_up = baseline_visit(study, "Q-1").enrolment.visits.get(timepoint__code="m3")
    patient = baseline_visit(study, "Q-2")
    response = save_answers(visit=patient, instrument=nrs,
                            answers=_answers("nrs11", 0.5, random.Random(5)))
    ReliabilityItem.objects.filter(score="odi").delete()  # as after a baseline move

    started, release, errors = threading.Event(), threading.Event(), []
    importer = _hold_open(
        lambda: _copy_completed(follow_up, nrs, _answers("nrs11", 0.5, random.Random(6))),
        started, release, errors)
    assert started.wait(30)

    def results():
        try:
            postgres_columns(study, arms=ARMS, scores=study_scores(study.pk), today=TODAY,
                             reliability=specs)
        except Exception as error:  # pragma: no cover
            errors.append(error)
        finally:
            connection.close()

    reader = threading.Thread(target=results, daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive()  # it reads the answers; it takes no lock to wait for
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '3s'")
            complete_response(response=response)  # the patient's submit
    except OperationalError:
        raise
    finally:
        release.set()
        importer.join(30)
        reader.join(60)
    assert not errors, errors
    assert Response.objects.get(pk=response.pk).state == "completed"
