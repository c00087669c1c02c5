"""Instruments store their whole definition file and its digest; answered versions are fixed.

1. ``Instrument.digest``: the SHA-256 of the definition's canonical JSON, which each
   process compares to keep its parsed copy (``stored.definition_of``).
2. Rows written before definitions were stored whole held a copy of their items only;
   a row whose version the built-in library has gets that file (the same items), so
   every row holds a file. Others keep what they hold.
3. On PostgreSQL the database refuses to change the content of a version that has
   responses (the model refuses too; this catches raw SQL and other clients): a
   correction is a new version.
"""

import hashlib
import json

from django.db import migrations, models

CREATE = """
CREATE OR REPLACE FUNCTION instruments_instrument_answered_never_changes() RETURNS trigger AS $$
BEGIN
    IF (NEW.code, NEW.version, NEW.title, NEW.short_title, NEW.scoring_version, NEW.licence,
        NEW.source, NEW.definition::jsonb, NEW.digest)
       IS DISTINCT FROM
       (OLD.code, OLD.version, OLD.title, OLD.short_title, OLD.scoring_version, OLD.licence,
        OLD.source, OLD.definition::jsonb, OLD.digest)
       AND EXISTS (SELECT 1 FROM instruments_response WHERE instrument_id = OLD.id) THEN
        RAISE EXCEPTION '% version % has responses, so it never changes: import the correction as a new version.',
            OLD.code, OLD.version USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS instruments_instrument_answered_never_changes ON instruments_instrument;
CREATE TRIGGER instruments_instrument_answered_never_changes
    BEFORE UPDATE ON instruments_instrument
    FOR EACH ROW EXECUTE FUNCTION instruments_instrument_answered_never_changes();
"""
DROP = """
DROP TRIGGER IF EXISTS instruments_instrument_answered_never_changes ON instruments_instrument;
DROP FUNCTION IF EXISTS instruments_instrument_answered_never_changes();
"""


def _digest(data) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def store_whole(apps, schema_editor):
    from outcomes.instruments.definitions import definition_for
    from outcomes.instruments.definitions.files import definition_to_dict

    Instrument = apps.get_model("instruments", "Instrument")
    for row in Instrument.objects.all():
        data = row.definition if isinstance(row.definition, dict) else {}
        if "code" not in data and data.get("items"):
            try:
                known = definition_for(row.code, row.version)
            except KeyError:
                known = None
            items = [item.get("code") for item in data["items"] if isinstance(item, dict)]
            if known is not None and list(known.item_codes) == items:
                data = definition_to_dict(known)
        row.definition = data
        row.digest = _digest(data)
        row.save(update_fields=["definition", "digest"])


def trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("instruments", "0010_visitscores_values")]
    operations = [
        migrations.AlterField(
            model_name="instrument",
            name="definition",
            field=models.JSONField(
                default=dict, editable=False,
                help_text="The whole definition file: items, options, scores (SPEC 3.6)."),
        ),
        migrations.AddField(
            model_name="instrument",
            name="digest",
            field=models.CharField(blank=True, editable=False, max_length=64,
                                   help_text="SHA-256 of the definition's canonical JSON."),
        ),
        migrations.RunPython(store_whole, migrations.RunPython.noop),
        migrations.RunPython(trigger, drop_trigger),
    ]
