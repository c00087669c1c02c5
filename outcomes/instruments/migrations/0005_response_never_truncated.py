"""On PostgreSQL, TRUNCATE of responses is refused like DELETE (see audit 0003)."""

from django.db import migrations

CREATE = """
DROP TRIGGER IF EXISTS instruments_response_never_truncated ON instruments_response;
CREATE TRIGGER instruments_response_never_truncated
    BEFORE TRUNCATE ON instruments_response
    FOR EACH STATEMENT EXECUTE FUNCTION outcomes_never_truncated();
"""
DROP = "DROP TRIGGER IF EXISTS instruments_response_never_truncated ON instruments_response;"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("instruments", "0004_ordering_by_columns"),
        ("audit", "0003_never_changed_in_the_database"),
    ]
    operations = [migrations.RunPython(forwards, backwards)]
