"""``VisitScores`` stays equal to the scores of completed responses on every write path.

Every numeric score of the visit's completed responses is in its row's ``values``, by
key, whatever the instrument: no column per score.
"""

from __future__ import annotations

from fractions import Fraction
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from outcomes.followups.models import Visit
from outcomes.instruments.models import Instrument, Response, Score, VisitScores
from outcomes.instruments.services import complete_response, correct_response, save_answers
from tests.integration.instruments.test_import_study import PATIENTS, responses_csv
from tests.threads import at_once


def expected() -> dict[int, tuple]:
    """Recompute every row from the source: every score of completed responses, by visit."""
    rows: dict[int, tuple] = {}
    for visit, enrolment, timepoint in Visit.objects.filter(
        responses__state=Response.State.COMPLETED,
    ).values_list("pk", "enrolment_id", "timepoint_id").distinct():
        rows[visit] = (enrolment, timepoint, {})
    for visit, code, exact in Score.objects.filter(
        response__state=Response.State.COMPLETED,
    ).values_list("response__visit_id", "code", "exact"):
        rows[visit][2][code] = float(Fraction(exact))
    return rows


def stored() -> dict[int, tuple]:
    return {row[0]: row[1:] for row in VisitScores.objects.values_list(
        "visit_id", "enrolment_id", "timepoint_id", "values")}


def load(study, tmp_path) -> None:
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses_csv())
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())


def test_the_demo_cohort_has_a_row_per_visit_with_data(study):
    from patients.demo import load_demo

    load_demo(size=12)
    assert stored() == expected()
    with_data = Visit.objects.filter(responses__state="completed").distinct().count()
    assert VisitScores.objects.count() == with_data > 0


def test_an_import_writes_the_rows_and_a_second_import_changes_nothing(study, tmp_path):
    load(study, tmp_path)
    first = stored()
    assert first == expected() and first
    load(study, tmp_path)
    assert stored() == first


def test_a_correction_replaces_the_value_and_the_original_stops_counting(study, tmp_path):
    load(study, tmp_path)
    nrs = Response.objects.filter(instrument__code="nrs11", state="completed").first()
    before = VisitScores.objects.get(visit=nrs.visit_id).values["nrs"]
    user = User.objects.create_user("coord", password="x" * 12)
    correct_response(response=nrs, answers={"pain": 0}, reason="paper form", actor=user)
    assert before != 0 and VisitScores.objects.get(visit=nrs.visit_id).values["nrs"] == 0
    assert stored() == expected()


def test_rescoring_a_tampered_score_rewrites_its_row(study, tmp_path):
    load(study, tmp_path)
    odi = Score.objects.filter(code="odi").first()
    Score.objects.filter(pk=odi.pk).update(exact="99", value=99)
    call_command("rescore", stdout=StringIO())
    assert stored() == expected()
    assert VisitScores.objects.get(visit=odi.response.visit_id).values["odi"] != 99


def test_bulk_loaded_scores_are_caught_up_in_batches(study, today):
    from outcomes.instruments.services import refresh_visit_scores
    from tests.factories import bulk_cohort

    bulk_cohort(study, 30, today=today)
    nrs = Instrument.objects.get(code="nrs11")
    visits = list(Visit.objects.filter(enrolment__study=study, timepoint__code="baseline"))
    responses = Response.objects.bulk_create([
        Response(visit=v, instrument=nrs, state="completed", completed_at=timezone.now(),
                 answers={"pain": n % 11}) for n, v in enumerate(visits)])
    Score.objects.bulk_create([
        Score(response=r, code="nrs", value=n % 11, exact=str(n % 11), scoring_version="1")
        for n, r in enumerate(responses)])
    assert VisitScores.objects.count() == 0
    assert refresh_visit_scores(visit_ids=[v.pk for v in visits], batch_size=7) == 30
    assert stored() == expected()
    # A visit whose only completed response is voided loses its row.
    Response.objects.filter(pk=responses[0].pk).update(state="voided")
    refresh_visit_scores(visit_ids=[visits[0].pk])
    assert stored() == expected() and visits[0].pk not in stored()


@pytest.mark.django_db(transaction=True)
def test_two_instruments_of_one_visit_rescored_at_once_both_count(study, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this in its PostgreSQL pass")
    import datetime as dt
    import time

    from outcomes.instruments.services import rescore_responses
    from tests.factories import enrol
    from tests.integration.survey.conftest import NRS, ODI_10

    enrolment = enrol(study, "P-400", index_date=dt.date(2026, 6, 1), today=dt.date(2026, 6, 1))
    visit = enrolment.visits.get(timepoint__code="baseline")
    items = {i.instrument.code: i.instrument for i in visit.timepoint.items.all()}
    for code, answers in (("odi", ODI_10), ("nrs11", NRS)):
        complete_response(response=save_answers(visit=visit, instrument=items[code],
                                                answers=answers))
    Score.objects.filter(code__in=["odi", "nrs"]).update(exact="99", value=99)
    # Each rescore pauses between reading the visit's scores and writing its row: without
    # the visit lock both would read before either commits, and the later write would
    # put back the other instrument's tampered score.
    write = VisitScores.objects.bulk_create

    def slow_write(*args, **kwargs):
        time.sleep(0.3)
        return write(*args, **kwargs)

    monkeypatch.setattr(VisitScores.objects, "bulk_create", slow_write)
    assert at_once(lambda: rescore_responses(instrument="odi"),
                   lambda: rescore_responses(instrument="nrs11")) == []
    row = VisitScores.objects.get(visit=visit).values
    # ODI: 16 points over 10 sections answered, 16/50 = 32%; NRS: the answer itself.
    assert (row["odi"], row["nrs"]) == (32.0, 6.0)
    assert stored() == expected()
