"""Migration 0010: the score columns of ``VisitScores`` move into ``values``, and back."""

from __future__ import annotations

from fractions import Fraction

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from outcomes.instruments.models import Response, Score
from tests.integration.instruments.test_visit_scores import expected, stored

BEFORE = [("instruments", "0009_responderrule_is_primary_to_primary_comparisons")]
AFTER = [("instruments", "0010_visitscores_values")]
COLUMNS = ("odi", "nrs", "eq5d_index_uk", "eq5d_index_us", "eq5d_vas", "gph_t", "gmh_t")


def migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def old_rows() -> dict[int, tuple]:
    """The columns of migration 0008's table, read as SQL (the model has none now)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT visit_id, {', '.join(COLUMNS)} FROM instruments_visitscores")
        return {row[0]: row[1:] for row in cursor.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_the_columns_move_into_values_with_every_other_score_and_back(study):
    from patients.demo import load_demo

    load_demo(size=6)
    # A repeating fraction, to see the float survive both moves bit for bit.
    nrs = Score.objects.filter(code="nrs", response__state=Response.State.COMPLETED).first()
    Score.objects.filter(pk=nrs.pk).update(exact="320/9")
    from outcomes.instruments.services import refresh_visit_scores

    refresh_visit_scores(visit_ids=[nrs.response.visit_id])
    now = expected()
    assert stored() == now
    # Scores that had no column are in the map too: the ODI's sections answered, PROMIS raw.
    assert {"odi_answered", "gph_raw", "gmh_se"} <= {key for *_, v in now.values() for key in v}
    try:
        migrate(BEFORE)
        columns = old_rows()
        assert columns == {visit: tuple(values.get(code) for code in COLUMNS)
                           for visit, (_, _, values) in now.items()}
        assert columns[nrs.response.visit_id][1] == float(Fraction(320, 9))
        # Forwards, from the columns (and the Score rows for the rest): a value changed in
        # a column is the value moved, not one recomputed from the scores.
        with connection.cursor() as cursor:
            cursor.execute("UPDATE instruments_visitscores SET gmh_t = 12.5 WHERE visit_id = %s",
                           [nrs.response.visit_id])
        migrate(AFTER)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    moved = stored()
    assert moved[nrs.response.visit_id][2]["gmh_t"] == 12.5
    del moved[nrs.response.visit_id][2]["gmh_t"]
    now[nrs.response.visit_id][2].pop("gmh_t", None)
    assert moved == now
    assert moved[nrs.response.visit_id][2]["nrs"] == float(Fraction(320, 9))
