"""Each visit's numbers as a float array (``instruments.slots``): on PostgreSQL a trigger
writes ``instruments_visitscores.numbers`` from ``values`` as every row is written, the
number at its key's slot and NaN elsewhere, and the migration's backfill gives the rows
already there the same arrays; stored instrument versions get their scores' slots before
any response. The results' reading of the array is checked against the ORM's reading of
the jsonb maps in ``tests/integration/analysis/test_tables.py``."""

from __future__ import annotations

import datetime as dt
import math
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from outcomes.instruments.models import ScoreSlot, VisitScores
from patients.demo import load_demo

TODAY = dt.date(2026, 6, 1)
CATALOGUE = Path(__file__).resolve().parents[3] / "outcomes/instruments/library/catalogue"

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the array and its trigger are PostgreSQL's; CI runs this in its PostgreSQL pass")


def arrays() -> dict[int, list[float]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT visit_id, numbers FROM instruments_visitscores")
        return dict(cursor.fetchall())


def expected_array(values: dict) -> list[float]:
    """The array worked out in Python from the slots: each number at its key's slot,
    NaN in every other position up to the highest."""
    slot = dict(ScoreSlot.objects.values_list("key", "pk"))
    numbers = {slot[key]: float(value) for key, value in values.items()
               if isinstance(value, (int, float)) and not isinstance(value, bool)}
    return [numbers.get(n, math.nan) for n in range(1, max(numbers, default=0) + 1)]


def same(found: list[float], wanted: list[float]) -> bool:
    return len(found) == len(wanted) and all(
        (math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(found, wanted, strict=True))


@postgres_only
@pytest.mark.django_db
def test_every_row_holds_its_numbers_at_their_keys_slots(study):
    load_demo(size=8, today=TODAY)
    rows = list(VisitScores.objects.values_list("visit_id", "values"))
    assert len(rows) >= 10
    found = arrays()
    for visit, values in rows:
        assert same(found[visit], expected_array(values)), visit
    # Every number key stored has a slot; every slot is a key some row stores, once.
    keys = {key for _, values in rows for key in values}
    assert set(ScoreSlot.objects.values_list("key", flat=True)) >= keys


@postgres_only
@pytest.mark.django_db
def test_a_new_key_gets_a_slot_and_an_update_rewrites_the_array(study):
    load_demo(size=2, today=TODAY)
    row = VisitScores.objects.first()
    assert not ScoreSlot.objects.filter(key="brand_new").exists()
    VisitScores.objects.filter(pk=row.pk).update(
        values={**row.values, "brand_new": 7.25, "odi": 12.5, "a_label": "moderate"})
    slot = ScoreSlot.objects.get(key="brand_new").pk
    assert not ScoreSlot.objects.filter(key="a_label").exists()  # text gets no slot
    found = arrays()[row.pk]
    assert len(found) == slot and found[slot - 1] == 7.25
    assert found[ScoreSlot.objects.get(key="odi").pk - 1] == 12.5
    row.refresh_from_db()
    assert same(found, expected_array(row.values))
    # Emptied: no numbers, an empty array.
    VisitScores.objects.filter(pk=row.pk).update(values={})
    assert arrays()[row.pk] == []


@postgres_only
@pytest.mark.django_db
def test_the_migrations_backfill_gives_the_rows_already_there_the_same_arrays(study):
    from outcomes.instruments.slots import BACKFILL

    load_demo(size=4, today=TODAY)
    before = arrays()
    with connection.cursor() as cursor:
        # As the migration finds them: no arrays, no slots (replica: this session's
        # statements fire no trigger); then its backfill, the trigger in place.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute("UPDATE instruments_visitscores SET numbers = '{}'")
        cursor.execute("DELETE FROM instruments_scoreslot")
        assert all(numbers == [] for numbers in arrays().values())
        cursor.execute("SET LOCAL session_replication_role = origin")
        for statement in BACKFILL:
            cursor.execute(statement)
    for visit, values in VisitScores.objects.values_list("visit_id", "values"):
        assert same(arrays()[visit], expected_array(values)), visit
    assert len(before) == len(arrays()) >= 5


@pytest.mark.django_db
def test_an_imported_version_has_its_scores_slots_before_any_response():
    call_command("import_instrument", str(CATALOGUE / "phq9.json"), stdout=StringIO())
    assert set(ScoreSlot.objects.values_list("key", flat=True)) >= {"phq9_total"}
