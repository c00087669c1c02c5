"""On PostgreSQL, the database itself refuses to delete a response.

The model and its queryset refuse too; this catches raw SQL and other clients.
TRUNCATE is refused too (migration 0005).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION instruments_response_never_deleted() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Responses are never deleted: correct or void them, with a reason.'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS instruments_response_never_deleted ON instruments_response;
CREATE TRIGGER instruments_response_never_deleted
    BEFORE DELETE ON instruments_response
    FOR EACH ROW EXECUTE FUNCTION instruments_response_never_deleted();
"""
DROP = """
DROP TRIGGER IF EXISTS instruments_response_never_deleted ON instruments_response;
DROP FUNCTION IF EXISTS instruments_response_never_deleted();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("instruments", "0002_visitscores")]
    operations = [migrations.RunPython(forwards, backwards)]
