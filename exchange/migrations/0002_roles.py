"""UNHCR liaison officers and operations staff take status exports (files and the API)."""

from django.db import migrations

from movements.migrations._grants import grant


def grant_exports(apps, schema_editor):
    for role in ("unhcr", "operations"):
        grant(apps, role, ["export_status", "view_statusexport"], "exchange")


class Migration(migrations.Migration):
    dependencies = [("exchange", "0001_initial"), ("movements", "0002_roles")]
    operations = [migrations.RunPython(grant_exports, migrations.RunPython.noop)]
