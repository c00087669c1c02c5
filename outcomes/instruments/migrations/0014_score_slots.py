"""Each visit's numeric scores as a float array beside its jsonb map (PostgreSQL).

``ScoreSlot`` numbers the score keys; on PostgreSQL ``instruments_visitscores`` gains the
column ``numbers`` (float8[], position = slot), kept by a row trigger from ``values``
(``slots``). Here every key already stored gets a slot and every row its array, with
the table locked meanwhile (the column's addition locks it until the migration commits).
On SQLite only the table of slots is created: the results read ``values`` there.
"""

from django.db import migrations, models

from outcomes.instruments.slots import BACKFILL, COLUMN, DROP, TRIGGER


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(COLUMN, params=None)
    schema_editor.execute(TRIGGER, params=None)
    for statement in BACKFILL:  # the trigger writes each row's array
        schema_editor.execute(statement, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('instruments', '0013_reliability_sums'),
    ]

    operations = [
        migrations.CreateModel(
            name='ScoreSlot',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=64, unique=True)),
            ],
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
