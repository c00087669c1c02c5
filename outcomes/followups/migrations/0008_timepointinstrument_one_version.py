"""A time point asks one version of a questionnaire: two versions of one code each gave
the same score keys, and visit scores, exports and results kept one of them silently.

The row keeps its instrument's code (``instrument_code``) so that the database refuses a
second version. A database that has two already is not changed: the migration stops and
names them (the system check instruments.E004 does too, before ``migrate`` starts).
"""

from django.db import migrations, models


def fill_codes(apps, schema_editor):
    TimePointInstrument = apps.get_model("followups", "TimePointInstrument")
    db = schema_editor.connection.alias
    seen = {}
    twice = []
    rows = (TimePointInstrument.objects.using(db)
            .select_related("timepoint__study", "instrument").order_by("pk"))
    for row in rows:
        key = (row.timepoint_id, row.instrument.code)
        if key in seen:
            first = seen[key]
            twice.append(f"study {row.timepoint.study.code}, time point {row.timepoint.code}: "
                         f"{row.instrument.code} versions {first.instrument.version} and "
                         f"{row.instrument.version}")
            continue
        seen[key] = row
        row.instrument_code = row.instrument.code
        row.save(update_fields=["instrument_code"])
    if twice:
        raise RuntimeError(
            "A time point asks two versions of one questionnaire; one set of scores was "
            "never shown. Remove one of each pair in the admin (Time points), then migrate "
            "again: " + "; ".join(twice) + ".")


class Migration(migrations.Migration):

    dependencies = [
        ("followups", "0007_reminder_once_not_counting_cancelled"),
        ("instruments", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="timepointinstrument",
            name="instrument_code",
            field=models.CharField(
                default="", editable=False, max_length=32,
                help_text="The instrument's code (kept from it on save): one version per "
                          "time point."),
            preserve_default=False,
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="timepointinstrument",
            constraint=models.UniqueConstraint(
                fields=("timepoint", "instrument_code"),
                name="followups_timepointinstrument_one_version"),
        ),
    ]
