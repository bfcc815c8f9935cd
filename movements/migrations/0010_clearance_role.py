"""Clearance details (medically cleared until, travel needs, hold reasons) for operations and medical staff only."""

from django.db import migrations

from movements.migrations._grants import grant


def grant_clearance(apps, schema_editor):
    grant(apps, "operations", ["view_clearance_details"])
    grant(apps, "medical", ["view_clearance_details"])


class Migration(migrations.Migration):
    dependencies = [("movements", "0009_clearance_details")]
    operations = [migrations.RunPython(grant_clearance, migrations.RunPython.noop)]
