"""Fill the stored schedule of the participants enrolled before it existed.

It runs the current schedule engine (outcomes.schedule_table), not historical models: the
entries are derived data, and a participant the migration misses is built by the first page
that reads the schedule (enrollment.schedule_store.refresh) anyway.
"""

from django.db import migrations


def fill(apps, schema_editor):
    from outcomes.schedule_table import schedule_rebuild_all

    schedule_rebuild_all()


class Migration(migrations.Migration):
    dependencies = [
        ("dosing", "0007_text_caps"),
        ("enrollment", "0010_schedule_entries"),
        ("outcomes", "0006_text_caps"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
