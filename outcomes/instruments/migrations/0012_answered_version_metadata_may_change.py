"""A version with responses may change its metadata, and nothing else.

On PostgreSQL the trigger ``instruments_instrument_answered_never_changes`` (0011)
refused every change to an answered version. It now lets the file's metadata change
(``definitions.metadata``: ``source``, ``licence``, ``alerts``, each score's ``loinc``,
``loinc_display`` and ``anchor``), with the ``licence`` and ``source`` columns following
the file and a new digest, and refuses everything else as before: any other key of the
file, the code, version, titles and scoring version; a column or digest changed without
the file; a file whose licence or source the columns do not repeat.
"""

import importlib

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION instruments_definition_without_metadata(data jsonb) RETURNS jsonb AS $$
    SELECT CASE
        WHEN jsonb_typeof(data) = 'object' AND jsonb_typeof(data -> 'scores') = 'array' THEN
            (data - 'source' - 'licence' - 'alerts') || jsonb_build_object('scores', COALESCE((
                SELECT jsonb_agg(CASE WHEN jsonb_typeof(score) = 'object'
                                      THEN score - 'loinc' - 'loinc_display' - 'anchor' ELSE score END
                                 ORDER BY position)
                FROM jsonb_array_elements(data -> 'scores') WITH ORDINALITY AS s(score, position)),
                '[]'::jsonb))
        WHEN jsonb_typeof(data) = 'object' THEN data - 'source' - 'licence' - 'alerts'
        ELSE data
    END
$$ LANGUAGE sql IMMUTABLE;

CREATE OR REPLACE FUNCTION instruments_instrument_answered_never_changes() RETURNS trigger AS $$
DECLARE
    new_file jsonb := NEW.definition::jsonb;
    old_file jsonb := OLD.definition::jsonb;
BEGIN
    IF ((NEW.code, NEW.version, NEW.title, NEW.short_title, NEW.scoring_version,
         instruments_definition_without_metadata(new_file))
        IS DISTINCT FROM
        (OLD.code, OLD.version, OLD.title, OLD.short_title, OLD.scoring_version,
         instruments_definition_without_metadata(old_file)))
       OR (new_file = old_file
           AND (NEW.licence, NEW.source, NEW.digest) IS DISTINCT FROM
               (OLD.licence, OLD.source, OLD.digest))
       OR (new_file IS DISTINCT FROM old_file
           AND ((NEW.licence, NEW.source) IS DISTINCT FROM
                (COALESCE(new_file ->> 'licence', ''), COALESCE(new_file ->> 'source', ''))
                OR NEW.digest IS NOT DISTINCT FROM OLD.digest))
    THEN
        IF EXISTS (SELECT 1 FROM instruments_response WHERE instrument_id = OLD.id) THEN
            RAISE EXCEPTION '% version % has responses, so it never changes: import the correction as a new version.',
                OLD.code, OLD.version USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""
DROP_HELPER = "DROP FUNCTION IF EXISTS instruments_definition_without_metadata(jsonb);"


def metadata_may_change(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def nothing_may_change(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        before = importlib.import_module(
            "outcomes.instruments.migrations.0011_instrument_definition_stored_whole")
        schema_editor.execute(before.CREATE, params=None)
        schema_editor.execute(DROP_HELPER)


class Migration(migrations.Migration):
    dependencies = [("instruments", "0011_instrument_definition_stored_whole")]
    operations = [migrations.RunPython(metadata_may_change, nothing_may_change)]
