"""``VisitScores``: every numeric score in one ``values`` map, not a float column per score.

A new instrument's scores then need no migration. Forwards, each row's seven columns
move into ``values`` (the same floats), with the visit's other numeric scores
(``odi_answered``, ``gph_raw``, ...) read from its completed responses' ``Score`` rows,
as ``services.refresh_visit_scores`` now writes them; then the columns go. Backwards,
the columns come back and are filled from ``values`` (the other scores are dropped
with the map: they are still in the ``Score`` rows).
"""

from fractions import Fraction

from django.db import migrations, models

# The columns as of migration 0002, in its order.
CODES = ("odi", "nrs", "eq5d_index_uk", "eq5d_index_us", "eq5d_vas", "gph_t", "gmh_t")

# The exact string ("36.5", "320/9") as the float Python's float(Fraction(exact)) gives:
# strtod for decimals, one correctly rounded division for fractions (as in 0002).
FLOAT_OF_EXACT = """CASE WHEN strpos(sc.exact, '/') > 0
    THEN split_part(sc.exact, '/', 1)::float8 / split_part(sc.exact, '/', 2)::float8
    ELSE sc.exact::float8 END"""

# float8 to jsonb writes the shortest text that reads back as the same float8 (PostgreSQL
# 12 and later), so every value survives the move bit for bit.
# One statement, so each row is written once: a row updated twice in the migration's
# transaction would queue its foreign-key checks and refuse the ALTER TABLEs after.
FORWARDS_SQL = f"""
UPDATE instruments_visitscores vs
   SET "values" = jsonb_strip_nulls(jsonb_build_object({
       ", ".join(f"'{code}', vs.{code}" for code in CODES)}))
       || COALESCE(other.found, '{{}}'::jsonb)
  FROM instruments_visitscores v0
  LEFT JOIN (
      SELECT r.visit_id, jsonb_object_agg(sc.code, {FLOAT_OF_EXACT}) AS found
        FROM instruments_response r
        JOIN instruments_score sc ON sc.response_id = r.id
       WHERE r.state = 'completed'
         AND sc.code NOT IN ({", ".join(f"'{code}'" for code in CODES)})
       GROUP BY r.visit_id) other ON other.visit_id = v0.visit_id
 WHERE v0.visit_id = vs.visit_id
"""

BACKWARDS_SQL = "UPDATE instruments_visitscores SET " + ", ".join(
    f"""{code} = ("values"->>'{code}')::float8""" for code in CODES)


def forwards(apps, schema_editor):
    """Move the columns into ``values`` and add the visit's other numeric scores."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARDS_SQL)
        return
    VisitScores = apps.get_model("instruments", "VisitScores")
    Score = apps.get_model("instruments", "Score")
    ids = list(VisitScores.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 2000):
        batch = ids[start:start + 2000]
        rows = list(VisitScores.objects.filter(pk__in=batch))
        other: dict[int, dict[str, float]] = {}
        for visit, code, exact in (
            Score.objects.filter(response__visit_id__in=batch, response__state="completed")
            .exclude(code__in=CODES).order_by("response_id")
            .values_list("response__visit_id", "code", "exact")
        ):
            other.setdefault(visit, {})[code] = float(Fraction(exact))
        for row in rows:
            row.values = {
                **{code: getattr(row, code) for code in CODES
                   if getattr(row, code) is not None},
                **other.get(row.pk, {}),
            }
        VisitScores.objects.bulk_update(rows, ["values"])


def backwards(apps, schema_editor):
    """Fill the columns back from ``values``."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARDS_SQL)
        return
    VisitScores = apps.get_model("instruments", "VisitScores")
    ids = list(VisitScores.objects.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), 2000):
        rows = list(VisitScores.objects.filter(pk__in=ids[start:start + 2000]))
        for row in rows:
            for code in CODES:
                setattr(row, code, row.values.get(code))
        VisitScores.objects.bulk_update(rows, list(CODES))


class Migration(migrations.Migration):

    dependencies = [
        ("instruments", "0009_responderrule_is_primary_to_primary_comparisons"),
    ]

    operations = [
        migrations.AddField(
            model_name="visitscores",
            name="values",
            field=models.JSONField(
                blank=True, default=dict,
                help_text="Every numeric score of the visit's completed responses, by key, "
                'as a float, e.g. {"odi": 32.0, "nrs": 6.0}.'),
        ),
        migrations.RunPython(forwards, backwards),
        *(migrations.RemoveField(model_name="visitscores", name=code) for code in CODES),
    ]
