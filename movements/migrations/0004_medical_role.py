"""Medical records are for the medical role only: it alone gets the permissions on them."""

from django.db import migrations

from movements.migrations._grants import grant

MEDICAL = [
    "view_medicalexam", "add_medicalexam", "change_medicalexam",
    "view_travelmedicalneeds", "add_travelmedicalneeds", "change_travelmedicalneeds",
]


def grant_medical(apps, schema_editor):
    grant(apps, "medical", MEDICAL)


class Migration(migrations.Migration):
    dependencies = [("movements", "0003_medical")]
    operations = [migrations.RunPython(grant_medical, migrations.RunPython.noop)]
