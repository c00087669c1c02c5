"""Cronbach's alpha from running sums, kept by the database as responses are written.

Changing ``DELTAS_SQL`` needs a migration that recreates the trigger functions of
``instruments/0013`` with it.

The SEM of the MCID estimates needs each score's alpha over the baseline answers: the
number of complete answer sets, the sample variance of each item as scored and of their
total. Reading every baseline answer on each request took 2 s at 100,000 patients, so
PostgreSQL keeps the sums those variances follow from (``ReliabilitySums``: per time
point, instrument version, score and item, the count, the sum of the values and of their
squares). The trigger of migration ``instruments/0013`` runs ``DELTAS_SQL`` over the rows
each statement changed (a response completed counts +1, one corrected or voided -1),
whatever wrote them, and **appends** the statement's sums as new rows: it never updates
a row another transaction may be writing, so a long import and a patient's submit never
wait for each other. A read adds the rows up; ``fold`` (on a read that finds many, and
periodically) replaces each key's rows by their sum, skipping when another fold runs.

The trigger knows a score's items from ``ReliabilityItem`` rows: listed with a version
when the services store it (``list_items``), for the versions already there by migration
0013 (``rebuild``, with the answers summed). A version not listed as the results read it
(one stored by code that bypasses the services) is read from its answers by the results
(``tables.reliability_sql``) until ``manage.py rebuild_reliability_sums`` lists it. The
sums are integers (item values are), so the variances are exact. Every time point is
summed, so moving a study's baseline needs nothing. SQLite has no trigger: its fetcher
reads the answers row by row (``tables.orm_columns``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from fractions import Fraction

# ``{changed}``: (id, instrument_id, visit_id, answers, sign) of the responses to count,
# +1 or -1 each; ``{items}`` narrows the items summed (the trigger sums all). A response
# counts for a score when every item of the score has a value: a number answered, read
# through the item's map where the score recodes it.
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
INSERT INTO instruments_reliabilitysums
       (timepoint_id, instrument_id, score, position, n, total, squares)
SELECT * FROM deltas WHERE n <> 0 OR total <> 0 OR squares <> 0
"""

_COMPLETED = "SELECT id, instrument_id, visit_id, answers, {sign} AS sign FROM {rows} " \
             "WHERE state = 'completed'"

# Each key's rows replaced by one row, their sum, in one statement: rows appended by a
# transaction not yet committed are not seen, so stay, and are added up with the rest.
# One fold at a time, across processes: a statement that does not get the advisory lock
# (pg_try_advisory_xact_lock, held to the end of its transaction) deletes nothing.
_FOLD_SQL = """
WITH fold AS (SELECT pg_try_advisory_xact_lock(%(lock)s) AS mine),
gone AS (
    DELETE FROM instruments_reliabilitysums
     WHERE instrument_id = ANY(%(instruments)s) AND (SELECT mine FROM fold)
    RETURNING timepoint_id, instrument_id, score, position, n, total, squares)
INSERT INTO instruments_reliabilitysums
       (timepoint_id, instrument_id, score, position, n, total, squares)
SELECT timepoint_id, instrument_id, score, position, sum(n), sum(total), sum(squares)
  FROM gone GROUP BY 1, 2, 3, 4
HAVING sum(n) <> 0 OR sum(total) <> 0 OR sum(squares) <> 0
RETURNING (SELECT mine FROM fold)
"""
_FOLD_LOCK = 7_240_613_001
# A read that finds more rows than this per key folds them (the hourly task folds too).
FOLD_AFTER = 64


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


def rows_of(definition) -> dict[str, list]:
    """{score: [(item, map or None), ...]} of each result score of ``definition`` (those
    the results read) over two items or more, as ``ReliabilityItem`` lists them."""
    found = {}
    for spec in definition.scores:
        items = scored_items(definition, spec.key)
        if len(items) >= 2:
            found[spec.key] = _rows(items)
    return found


def _rows(items) -> list[tuple[str, dict | None]]:
    return [(code, None if mapping is None else {str(a): b for a, b in mapping})
            for code, mapping in items]


def list_items(instrument, definition) -> None:
    """List for the trigger the items of ``instrument``'s result scores (a version just
    created, or replaced while it has no response), so its responses are summed from the
    first; PostgreSQL only. A version with a completed response is left as it is listed
    (``rebuild`` sums its answers)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM instruments_response "
                       "WHERE instrument_id = %s AND state = 'completed')", [instrument.pk])
        if cursor.fetchone()[0]:
            return
        cursor.execute("DELETE FROM instruments_reliabilityitem WHERE instrument_id = %s",
                       [instrument.pk])
        _insert_items(cursor, {(instrument.pk, key): items
                               for key, items in rows_of(definition).items()})


def _insert_items(cursor, wanted: dict) -> None:
    cursor.executemany(
        "INSERT INTO instruments_reliabilityitem (instrument_id, score, position, item, recode) "
        "VALUES (%s, %s, %s, %s, %s)",
        [(instrument, score, position, item, None if recode is None else json.dumps(recode))
         for (instrument, score), rows in sorted(wanted.items())
         for position, (item, recode) in enumerate(rows)])


def rebuild(cursor, wanted: dict[tuple[int, str], list]) -> int:
    """List ``wanted``'s items ({(instrument id, score): [(item, map or None), ...]}) where
    they are not listed so, and sum every completed response of those versions again.

    Locks the responses table against writes while it works (``SHARE ROW EXCLUSIVE``: a
    write waits, reads go on), so no response is counted twice or missed: for migration
    0013 and ``manage.py rebuild_reliability_sums``, never for a page. Returns the number
    of (version, score) pairs rebuilt."""
    cursor.execute("LOCK TABLE instruments_response IN SHARE ROW EXCLUSIVE MODE")
    stale = sorted(stale_pairs(cursor, wanted))
    if not stale:
        return 0
    instruments = sorted({pk for pk, _ in stale})
    params = {"instruments": instruments}
    cursor.execute("DELETE FROM instruments_reliabilityitem WHERE instrument_id = ANY(%s)",
                   [instruments])
    cursor.execute("DELETE FROM instruments_reliabilitysums WHERE instrument_id = ANY(%s)",
                   [instruments])
    _insert_items(cursor, {key: rows for key, rows in wanted.items() if key[0] in instruments})
    cursor.execute(DELTAS_SQL.format(
        changed=_COMPLETED.format(rows="instruments_response", sign=1)
        + " AND instrument_id = ANY(%(instruments)s)", items=""), params)
    fold(cursor, instruments)
    return len(stale)


def stale_pairs(cursor, wanted: dict) -> set[tuple[int, str]]:
    """The (instrument id, score) pairs of ``wanted`` the trigger does not list as wanted."""
    if not wanted:
        return set()
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


def fold(cursor, instruments: Sequence[int]) -> bool:
    """Replace each key's rows of these versions by their sum, unless another fold is
    running (then nothing: the rows add up the same either way). One statement."""
    cursor.execute(_FOLD_SQL, {"instruments": list(instruments), "lock": _FOLD_LOCK})
    return any(row[0] for row in cursor.fetchall())


def fold_all(cursor) -> bool:
    """``fold`` every version's rows."""
    cursor.execute("SELECT DISTINCT instrument_id FROM instruments_reliabilityitem")
    return fold(cursor, [row[0] for row in cursor.fetchall()])


def every_version(instruments) -> dict:
    """{(instrument id, score): items} of each of ``instruments`` (a queryset of
    ``Instrument``, historical or not) whose stored definition can be read."""
    from .definitions.files import DefinitionError, parse_definition

    wanted = {}
    for pk, data in instruments.values_list("pk", "definition"):
        try:
            definition = parse_definition(data)
        except (DefinitionError, TypeError, ValueError):
            continue
        wanted.update({(pk, key): items for key, items in rows_of(definition).items()})
    return wanted


def split_specs(cursor, specs: Sequence) -> tuple[list, list]:
    """(the specs whose every version the trigger lists as the spec reads it, the others)."""
    wanted = {(pk, spec.score): _rows(spec.items) for spec in specs for pk in spec.instruments}
    stale = {score for _, score in stale_pairs(cursor, wanted)}
    return ([spec for spec in specs if spec.score not in stale],
            [spec for spec in specs if spec.score in stale])


def item_variances(cursor, specs: Sequence, baselines: Sequence[int]) -> dict:
    """Return each spec's score's ``ItemVariances`` over the completed responses at the
    ``baselines`` time points, from the running sums (one small statement; it folds the
    rows when it finds many). The specs must be listed (``split_specs``)."""
    from outcomes.analysis.stats import ItemVariances

    if not specs:
        return {}
    instruments = sorted({pk for spec in specs for pk in spec.instruments})
    cursor.execute(
        "SELECT instrument_id, score, position, n, total, squares "
        "FROM instruments_reliabilitysums WHERE timepoint_id = ANY(%s) "
        "AND instrument_id = ANY(%s) AND score = ANY(%s)",
        [list(baselines), instruments, sorted({spec.score for spec in specs})])
    rows = cursor.fetchall()
    sums: dict[tuple[int, str, int], list] = {}
    for instrument, score, position, n, total, squares in rows:
        found = sums.setdefault((instrument, score, position), [0, Fraction(0), Fraction(0)])
        found[0] += n
        found[1] += Fraction(total)
        found[2] += Fraction(squares)
    if len(rows) > FOLD_AFTER * max(len(sums), 1):
        fold(cursor, instruments)
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
