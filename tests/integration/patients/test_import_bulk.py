"""The import's bulk writer: COPY on PostgreSQL, bulk_create elsewhere, the same rows stored."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from outcomes.audit.models import AuditRecord
from patients.imports.bulk import Bulk


def test_text_json_and_nulls_are_stored_as_given_and_automatic_times_are_now(db):
    at = timezone.make_aware(dt.datetime(2025, 1, 10, 12, 0))
    awkward = 'tab\there, back\\slash, new\nline, carriage\rreturn, "quotes", ñ'
    ids = Bulk().insert(AuditRecord, ("at", "actor_id", "actor_label", "action", "object_type",
                                      "object_id", "object_repr", "changes", "reason"), [
        (at, None, "import", "create", "instruments.response", "7", awkward,
         {"answers": [None, {"walking": 3, "sex_life": None}], "why": [None, awkward]}, ""),
    ], with_ids=True)
    record = AuditRecord.objects.get(pk=ids[0])
    assert record.object_repr == awkward
    assert record.changes == {"answers": [None, {"walking": 3, "sex_life": None}],
                              "why": [None, awkward]}
    assert record.actor_id is None
    assert record.at > at  # auto_now_add: the time of writing, on either path


def test_a_given_time_and_json_answers_round_trip(study):
    from outcomes.instruments.models import Instrument, Response
    from tests.factories import enrol

    visit = enrol(study, "B-9", index_date=dt.date(2025, 1, 13),
                  today=dt.date(2025, 1, 13)).visits.get(timepoint__code="baseline")
    answered = dt.datetime(2025, 1, 10, 12, 0, tzinfo=dt.UTC)
    ids = Bulk().insert(Response, ("visit_id", "instrument_id", "answers", "state", "source",
                                   "started_at", "updated_at", "completed_at",
                                   "out_of_window", "not_scorable"), [
        (visit.pk, Instrument.objects.get(code="nrs11").pk, {"pain": None}, "completed",
         "import", answered, answered, answered, True, {"nrs": "pain unanswered"}),
    ], with_ids=True)
    response = Response.objects.get(pk=ids[0])
    assert response.completed_at == answered and response.out_of_window is True
    assert response.answers == {"pain": None}
    assert response.not_scorable == {"nrs": "pain unanswered"}


def test_ids_come_back_in_the_order_of_the_rows(db, study):
    from outcomes.instruments.models import Score

    assert Bulk().insert(Score, ("response_id",), []) == []
    from patients.models import Patient

    ids = Bulk().insert(Patient, ("study_id", "code", "sex", "bmi", "created_at"), [
        (study.pk, f"B-{n}", "female", Decimal("27.4"), timezone.now()) for n in range(3)
    ], with_ids=True)
    assert [Patient.objects.get(pk=pk).code for pk in ids] == ["B-0", "B-1", "B-2"]
    assert Patient.objects.get(pk=ids[0]).bmi == Decimal("27.4")
