"""On PostgreSQL, the database itself refuses to change, delete or empty audit records.

The model refuses too; this catches raw SQL and other clients. ``TRUNCATE`` is
refused unless the session sets ``outcomes.allow_truncate = on``: the test settings
do, because Django empties test databases with TRUNCATE.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_auditrecord_never_changed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Audit records are never changed or deleted.'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE OR REPLACE FUNCTION outcomes_never_truncated() RETURNS trigger AS $$
BEGIN
    IF current_setting('outcomes.allow_truncate', true) = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is never emptied: its rows are kept for the audit.', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS audit_auditrecord_never_changed ON audit_auditrecord;
CREATE TRIGGER audit_auditrecord_never_changed
    BEFORE UPDATE OR DELETE ON audit_auditrecord
    FOR EACH ROW EXECUTE FUNCTION audit_auditrecord_never_changed();
DROP TRIGGER IF EXISTS audit_auditrecord_never_truncated ON audit_auditrecord;
CREATE TRIGGER audit_auditrecord_never_truncated
    BEFORE TRUNCATE ON audit_auditrecord
    FOR EACH STATEMENT EXECUTE FUNCTION outcomes_never_truncated();
"""
DROP = """
DROP TRIGGER IF EXISTS audit_auditrecord_never_truncated ON audit_auditrecord;
DROP TRIGGER IF EXISTS audit_auditrecord_never_changed ON audit_auditrecord;
DROP FUNCTION IF EXISTS audit_auditrecord_never_changed();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_delete_action")]
    operations = [migrations.RunPython(forwards, backwards)]
