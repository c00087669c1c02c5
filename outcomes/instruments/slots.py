"""Each visit's numeric scores as a float array (PostgreSQL), for the study's results.

``VisitScores.values`` maps score keys to numbers (jsonb): any instrument's scores, no
column per score. Reading a number out of jsonb costs a conversion per value (jsonb keeps
it as exact decimal, and decimal to float8 goes through text): at 100,000 patients, half
a second of the results' read. So on PostgreSQL each row also holds ``numbers``, a
float8 array written by a trigger from ``values`` in the statement that writes the row:
position *n* (from 1) holds the score whose ``ScoreSlot`` id is *n*, NaN where the row
has no such number. Every numeric key gets a slot the first time a row has it (the
trigger adds it) or when an instrument version giving it is stored (``register``: before
any of its responses, so a long import writing a new instrument's first scores does not
hold back another writer waiting on the same new key). Slots are never renumbered or
removed; a row's array is as long as its highest slot.

The column is not a field of the model: Django never reads or writes it, the trigger
keeps it, and only the results' PostgreSQL fetcher reads it (``analysis.tables``). On
SQLite there is no column and the fetcher reads ``values``.
"""

from __future__ import annotations

from collections.abc import Iterable

# A slot for each number key of the row that has none, in key order (two writers adding
# the same new keys queue on the first one's, never deadlock).
REGISTER_SQL = """
INSERT INTO instruments_scoreslot (key)
SELECT k.key FROM jsonb_each({values}) k
 WHERE jsonb_typeof(k.value) = 'number'
   AND NOT EXISTS (SELECT 1 FROM instruments_scoreslot s WHERE s.key = k.key)
 ORDER BY k.key
    ON CONFLICT (key) DO NOTHING
"""

# The row's numbers with their slots, in one statement: the slots and the values (the
# same conversion as reading the map, ``->>`` then ``::float8``: the text of the exact
# decimal, correctly rounded), and how many number keys have no slot yet. Then NaN up
# to the highest slot, each number in its place.
_SLOTTED = """
    SELECT count(*) FILTER (WHERE s.id IS NULL),
           array_agg(s.id::int) FILTER (WHERE s.id IS NOT NULL),
           array_agg((k.value #>> '{}')::float8) FILTER (WHERE s.id IS NOT NULL)
      INTO missing, slots, found
      FROM jsonb_each(NEW."values") k
      LEFT JOIN instruments_scoreslot s ON s.key = k.key
     WHERE jsonb_typeof(k.value) = 'number'"""

COLUMN = """
ALTER TABLE instruments_visitscores
    ADD COLUMN numbers float8[] NOT NULL DEFAULT '{}';
"""
TRIGGER = f"""
CREATE OR REPLACE FUNCTION instruments_visitscores_numbers() RETURNS trigger AS $$
DECLARE
    missing bigint;
    slots int[];
    found float8[];
    numbers float8[];
BEGIN
    {_SLOTTED};
    IF missing > 0 THEN
        {REGISTER_SQL.format(values='NEW."values"')};
        {_SLOTTED};
    END IF;
    IF slots IS NULL THEN
        NEW.numbers := '{{}}';
        RETURN NEW;
    END IF;
    numbers := array_fill('NaN'::float8, ARRAY[(SELECT max(n) FROM unnest(slots) n)]);
    FOR i IN 1 .. array_length(slots, 1) LOOP
        numbers[slots[i]] := found[i];
    END LOOP;
    NEW.numbers := numbers;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER instruments_visitscores_numbers
    BEFORE INSERT OR UPDATE ON instruments_visitscores
    FOR EACH ROW EXECUTE FUNCTION instruments_visitscores_numbers();
"""

DROP = """
DROP TRIGGER IF EXISTS instruments_visitscores_numbers ON instruments_visitscores;
DROP FUNCTION IF EXISTS instruments_visitscores_numbers();
ALTER TABLE instruments_visitscores DROP COLUMN IF EXISTS numbers;
"""

# The rows already there, once the trigger is in place: every key a slot (one statement,
# in key order), then every row rewritten by the trigger.
BACKFILL = [
    """
INSERT INTO instruments_scoreslot (key)
SELECT DISTINCT k.key FROM instruments_visitscores vs, jsonb_each(vs."values") k
 WHERE jsonb_typeof(k.value) = 'number'
   AND NOT EXISTS (SELECT 1 FROM instruments_scoreslot s WHERE s.key = k.key)
 ORDER BY k.key
    ON CONFLICT (key) DO NOTHING
""",
    "UPDATE instruments_visitscores SET numbers = '{}'",
]


def register(keys: Iterable[str]) -> None:
    """Give each of these score keys a slot if it has none (any database: the table is
    there on SQLite too, unused)."""
    from .models import ScoreSlot

    keys = sorted(set(keys))
    known = set(ScoreSlot.objects.filter(key__in=keys).values_list("key", flat=True))
    ScoreSlot.objects.bulk_create([ScoreSlot(key=key) for key in keys if key not in known],
                                  ignore_conflicts=True)


def register_definition(definition) -> None:
    """Slots for the scores a definition gives (its numeric score keys)."""
    register(score.key for score in definition.score_defs)
