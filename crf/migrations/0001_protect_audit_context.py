"""Make the audit context table append-only in substance.

pghistory upserts a context row while a request or task runs, so UPDATE cannot be refused
outright; an update may add entries and update details (a reason, the participant concerned), but
never drop an entry or change who acted, and no row may be deleted. Event tables get their own append-only triggers from PGHISTORY_APPEND_ONLY.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION trialportal_protect_audit_context() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit context rows cannot be deleted';
    END IF;
    IF NOT (NEW.metadata::jsonb ?& ARRAY(SELECT jsonb_object_keys(OLD.metadata::jsonb)))
            OR (NEW.metadata::jsonb -> 'user') IS DISTINCT FROM (OLD.metadata::jsonb -> 'user')
            OR (NEW.metadata::jsonb -> 'username') IS DISTINCT FROM (OLD.metadata::jsonb -> 'username')
            OR (NEW.metadata::jsonb -> 'request_id') IS DISTINCT FROM (OLD.metadata::jsonb -> 'request_id')
            OR (NEW.metadata::jsonb -> 'task_id') IS DISTINCT FROM (OLD.metadata::jsonb -> 'task_id')
            OR NEW.id <> OLD.id OR NEW.created_at <> OLD.created_at THEN
        RAISE EXCEPTION 'audit context rows keep their entries and their actor';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER trialportal_protect_audit_context
    BEFORE UPDATE OR DELETE ON pghistory_context
    FOR EACH ROW EXECUTE FUNCTION trialportal_protect_audit_context();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS trialportal_protect_audit_context ON pghistory_context;
DROP FUNCTION IF EXISTS trialportal_protect_audit_context();
"""


class Migration(migrations.Migration):
    initial = True
    dependencies = [("pghistory", "0007_auto_20250421_0444")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
