"""The `dpo` role (DESIGN.md): the data protection officer reads the access log, previews the retention and produces
a person's own record. No permission of any other app: no case list, no case page, no change."""

from django.db import migrations

from movements.migrations._grants import grant


def create_dpo(apps, schema_editor):
    grant(apps, "dpo", ["view_accesslogentry", "read_subject_records", "run_retention", "view_retentionrun"],
          "privacy")


class Migration(migrations.Migration):
    dependencies = [("privacy", "0001_initial"), ("movements", "0002_roles")]
    operations = [migrations.RunPython(create_dpo, migrations.RunPython.noop)]
