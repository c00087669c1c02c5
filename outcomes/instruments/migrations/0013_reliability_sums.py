"""Running sums for Cronbach's alpha (``ReliabilitySums``), kept by a trigger.

On PostgreSQL two statement triggers on ``instruments_response`` (after INSERT, after
UPDATE; responses are never deleted) append, per key, the sums of the completed rows each
statement wrote and take away those it moved out of completed, through
``reliability.DELTAS_SQL``, for the scores whose items ``ReliabilityItem`` lists. Here
every stored version's items are listed and the answers already there summed, in one
pass, with response writes held back meanwhile (``reliability.rebuild``); a version
stored later is listed when it is (``reliability.list_items``). A definition that cannot
be read is left unlisted: the results read that score's alpha from its answers.
"""

import django.db.models.deletion
from django.db import migrations, models

from outcomes.instruments.reliability import DELTAS_SQL, changed_rows, every_version, rebuild

FUNCTION = """
CREATE OR REPLACE FUNCTION instruments_reliability_sums_{name}() RETURNS trigger AS $$
BEGIN
    {deltas};
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""
CREATE = (
    FUNCTION.format(name="inserted", deltas=DELTAS_SQL.format(
        changed=changed_rows("new_rows", 1), items=""))
    + FUNCTION.format(name="updated", deltas=DELTAS_SQL.format(
        changed=changed_rows("old_rows", -1) + " UNION ALL " + changed_rows("new_rows", 1),
        items=""))
    + """
CREATE TRIGGER instruments_response_reliability_inserted
    AFTER INSERT ON instruments_response REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION instruments_reliability_sums_inserted();
CREATE TRIGGER instruments_response_reliability_updated
    AFTER UPDATE ON instruments_response REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION instruments_reliability_sums_updated();
""")
DROP = """
DROP TRIGGER IF EXISTS instruments_response_reliability_inserted ON instruments_response;
DROP TRIGGER IF EXISTS instruments_response_reliability_updated ON instruments_response;
DROP FUNCTION IF EXISTS instruments_reliability_sums_inserted();
DROP FUNCTION IF EXISTS instruments_reliability_sums_updated();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE, params=None)
    wanted = every_version(apps.get_model("instruments", "Instrument").objects.all())
    with schema_editor.connection.cursor() as cursor:
        rebuild(cursor, wanted)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):

    dependencies = [
        ('followups', '0007_reminder_once_not_counting_cancelled'),
        ('instruments', '0012_answered_version_metadata_may_change'),
    ]

    operations = [
        migrations.CreateModel(
            name='ReliabilityItem',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('score', models.CharField(max_length=64)),
                ('position', models.PositiveSmallIntegerField()),
                ('item', models.CharField(max_length=64)),
                ('recode', models.JSONField(blank=True, null=True)),
                ('instrument', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='instruments.instrument')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('instrument', 'score', 'position'), name='instruments_reliabilityitem_unique')],
            },
        ),
        migrations.CreateModel(
            name='ReliabilitySums',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('score', models.CharField(max_length=64)),
                ('position', models.SmallIntegerField()),
                ('n', models.BigIntegerField(default=0)),
                ('total', models.DecimalField(decimal_places=10, default=0, max_digits=38)),
                ('squares', models.DecimalField(decimal_places=10, default=0, max_digits=38)),
                ('instrument', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='instruments.instrument')),
                ('timepoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='followups.timepoint')),
            ],
            options={
                'verbose_name_plural': 'reliability sums',
                'indexes': [models.Index(fields=['instrument', 'timepoint', 'score'], name='instruments_relsums_key')],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
