"""Cronbach's alpha from running sums, kept by the database as responses are written.

Changing ``DELTAS_SQL`` needs a migration that recreates the trigger functions of
``instruments/0013`` with it.

The SEM of the MCID estimates needs each score's alpha over the baseline answers: the
number of complete answer sets, the sample variance of each item as scored and of their
total. Reading every baseline answer on each request took 2 s at 100,000 patients, so
PostgreSQL keeps the sums those variances follow from (``ReliabilitySums``: per baseline
time point, instrument version, score and item, the count, the sum of the values and of their
squares) in the statement that writes the responses: the trigger of migration
``instruments/0013`` runs ``DELTAS_SQL`` over the rows the statement changed (a
response completed counts +1, one corrected or voided -1), whatever wrote them.

The trigger knows a score's items from ``ReliabilityItem`` rows, written from the
definition the first time the results need that score's alpha (``ensure_items``), which
also sums every response already there, under a lock that holds writers back until the
sums are in place. The sums are integers (item values are), so the variances are exact.
SQLite has no trigger: its fetcher reads the answers row by row (``tables.orm_columns``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction

# ``{changed}``: (id, instrument_id, visit_id, answers, sign) of the responses to count,
# +1 or -1 each; ``{items}`` narrows the items summed (the trigger sums all). Only
# responses at a baseline time point count (alpha is of the baseline answers; a time
# point that stops or starts being the baseline unlists every version's items, migration
# 0013, so the next results rebuild them). A response counts for a score when every
# item of the score has a value: a number answered, read through the item's map where
# the score recodes it. Rows go in the sums' key order, so
# two statements at once lock them in the same order.
DELTAS_SQL = """
WITH changed AS ({changed}),
vals AS (
    SELECT c.id, c.sign, v.timepoint_id, c.instrument_id, ri.score, ri.position,
           CASE WHEN jsonb_typeof(c.answers -> ri.item) = 'number' THEN
                CASE WHEN ri.recode IS NULL THEN (c.answers ->> ri.item)::numeric
                     WHEN jsonb_typeof(ri.recode -> (c.answers ->> ri.item)) = 'number'
                     THEN (ri.recode ->> (c.answers ->> ri.item))::numeric
                END
           END AS x
      FROM changed c
      JOIN followups_visit v ON v.id = c.visit_id
      JOIN followups_timepoint tp ON tp.id = v.timepoint_id AND tp.is_baseline
      JOIN instruments_reliabilityitem ri ON ri.instrument_id = c.instrument_id {items}),
complete AS (
    SELECT timepoint_id, instrument_id, score, sign, array_agg(x ORDER BY position) AS xs,
           sum(x) AS x
      FROM vals GROUP BY id, sign, timepoint_id, instrument_id, score
    HAVING count(x) = count(*)),
deltas AS (
    SELECT c.timepoint_id, c.instrument_id, c.score, (i.position - 1)::smallint AS position,
           sum(c.sign) AS n, sum(c.sign * i.x) AS total, sum(c.sign * i.x * i.x) AS squares
      FROM complete c, unnest(c.xs) WITH ORDINALITY AS i(x, position)
     GROUP BY 1, 2, 3, 4
    UNION ALL
    SELECT timepoint_id, instrument_id, score, -1::smallint, sum(sign), sum(sign * x),
           sum(sign * x * x)
      FROM complete GROUP BY 1, 2, 3)
INSERT INTO instruments_reliabilitysums AS s
       (timepoint_id, instrument_id, score, position, n, total, squares)
SELECT * FROM deltas WHERE n <> 0 OR total <> 0 OR squares <> 0
 ORDER BY 1, 2, 3, 4
    ON CONFLICT (timepoint_id, instrument_id, score, position) DO UPDATE
   SET n = s.n + EXCLUDED.n, total = s.total + EXCLUDED.total,
       squares = s.squares + EXCLUDED.squares
"""

_COMPLETED = "SELECT id, instrument_id, visit_id, answers, {sign} AS sign FROM {rows} " \
             "WHERE state = 'completed'"


def changed_rows(rows: str, sign: int) -> str:
    """The ``{changed}`` of ``DELTAS_SQL`` for the completed rows of table ``rows``."""
    return _COMPLETED.format(rows=rows, sign=sign)


def scored_items(definition, key: str):
    """Return a score's items as scored, (item code, map or None) each, in its order: the
    score's own, or those of the score it is computed ``from`` (a T-score's raw sum)."""
    spec = definition.score(key)
    if spec.source:
        spec = definition.score(spec.source)
    recode = {code: table for code, table in spec.recode}
    items = []
    for code in spec.items:
        mapping = recode.get(code)
        if code in spec.reverse_items:
            item = definition.item(code)
            mapping = tuple((v, item.min_value + item.max_value - v) for v in item.values)
        items.append((code, mapping))
    return tuple(items)


def list_items(instrument, definition) -> None:
    """List for the trigger the items of every result score of ``instrument`` (a version just
    created or replaced, from ``definition``) read over two items or more, so its
    responses are summed from the first; PostgreSQL only (SQLite has no trigger)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        ensure_items(cursor, {(instrument.pk, key): items
                              for key, items in rows_of(definition).items()})


def rows_of(definition) -> dict[str, list]:
    """{score: [(item, map or None), ...]} of each result score of ``definition`` (those
    the results read) over two items or more, as ``ReliabilityItem`` lists them."""
    found = {}
    for spec in definition.scores:
        items = scored_items(definition, spec.key)
        if len(items) >= 2:
            found[spec.key] = _rows(items)
    return found


def ensure_specs(cursor, specs: Sequence) -> None:
    """``ensure_items`` for the items each ``ReliabilitySpec`` reads in its versions."""
    ensure_items(cursor, {(pk, spec.score): _rows(spec.items)
                          for spec in specs for pk in spec.instruments})


def ensure_items(cursor, wanted: dict[tuple[int, str], list]) -> None:
    """Make sure the trigger lists ``wanted``'s items ({(instrument id, score): [(item,
    map or None), ...]}), summing the responses already there for any it did not.

    Nothing is written when every version's items are listed as wanted (the usual case:
    the versions' items were listed when they were created, by ``list_items`` or by
    migration 0013, and never change once answered). Otherwise the responses table is
    locked against writes (``SHARE ROW EXCLUSIVE``: readers go on, writers and another
    rebuild wait) while the items are listed and those versions' sums rebuilt from every
    completed response, so no response is counted twice or missed."""
    if not wanted or not _stale(cursor, wanted):
        return
    cursor.execute("LOCK TABLE instruments_response IN SHARE ROW EXCLUSIVE MODE")
    stale = sorted(_stale(cursor, wanted))  # again, now that no one else can write
    if not stale:
        return
    instruments, scores = [pk for pk, _ in stale], [score for _, score in stale]
    pairs = "(%(instruments)s::bigint[]), unnest(%(scores)s::text[])"
    params = {"instruments": instruments, "scores": scores}
    for table in ("instruments_reliabilityitem", "instruments_reliabilitysums"):
        cursor.execute(f"DELETE FROM {table} WHERE (instrument_id, score) IN "
                       f"(SELECT unnest{pairs})", params)
    cursor.executemany(
        "INSERT INTO instruments_reliabilityitem (instrument_id, score, position, item, recode) "
        "VALUES (%s, %s, %s, %s, %s)",
        [(instrument, score, position, item, None if recode is None else json.dumps(recode))
         for instrument, score in stale
         for position, (item, recode) in enumerate(wanted[(instrument, score)])])
    # One pass over the responses of every version whose items were just listed.
    cursor.execute(DELTAS_SQL.format(
        changed=_COMPLETED.format(rows="instruments_response", sign=1)
        + " AND instrument_id = ANY(%(instruments)s)",
        items=f"AND (ri.instrument_id, ri.score) IN (SELECT unnest{pairs})"), params)


def _rows(items) -> list[tuple[str, dict | None]]:
    return [(code, None if mapping is None else {str(a): b for a, b in mapping})
            for code, mapping in items]


def _stale(cursor, wanted: dict) -> set[tuple[int, str]]:
    cursor.execute(
        "SELECT instrument_id, score, item, recode FROM instruments_reliabilityitem "
        "WHERE instrument_id = ANY(%s) ORDER BY instrument_id, score, position",
        [sorted({pk for pk, _ in wanted})])
    stored: dict[tuple[int, str], list] = {}
    for instrument, score, item, recode in cursor.fetchall():
        if isinstance(recode, str):
            recode = json.loads(recode)
        stored.setdefault((instrument, score), []).append((item, recode))
    return {key for key, rows in wanted.items() if stored.get(key) != rows}


def item_variances(cursor, specs: Sequence, baselines: Sequence[int]) -> dict:
    """Return each spec's score's ``ItemVariances`` over the completed responses at the
    ``baselines`` time points, from the running sums (one small statement)."""
    from outcomes.analysis.stats import ItemVariances

    ensure_specs(cursor, specs)
    cursor.execute(
        "SELECT instrument_id, score, position, n, total, squares "
        "FROM instruments_reliabilitysums WHERE timepoint_id = ANY(%s) "
        "AND instrument_id = ANY(%s) AND score = ANY(%s)",
        [list(baselines), sorted({pk for spec in specs for pk in spec.instruments}),
         sorted({spec.score for spec in specs})])
    sums: dict[tuple[int, str, int], list] = {}
    for instrument, score, position, n, total, squares in cursor.fetchall():
        found = sums.setdefault((instrument, score, position), [0, 0, 0])
        found[0] += n
        found[1] += Fraction(total)
        found[2] += Fraction(squares)
    out = {}
    for spec in specs:
        def added(position, spec=spec):
            n, total, squares = 0, Fraction(0), Fraction(0)
            for pk in spec.instruments:
                got = sums.get((pk, spec.score, position), (0, 0, 0))
                n, total, squares = n + got[0], total + got[1], squares + got[2]
            return n, total, squares

        n = added(-1)[0]
        k = len(spec.items)
        if n < 2:
            out[spec.score] = ItemVariances(n, k, None, None)
            continue
        item_sum = sum(_variance(*added(position)) for position in range(k))
        out[spec.score] = ItemVariances(n, k, float(item_sum), float(_variance(*added(-1))))
    return out


def _variance(n: int, total: Fraction, squares: Fraction) -> Fraction:
    """The sample variance from n, the sum and the sum of squares, exactly."""
    return (squares - total * total / n) / (n - 1)
