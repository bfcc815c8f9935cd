"""Case.status_changed_at: when what the status export says of a case's members last changed (UNHCR's "changed
since" delta). Existing cases start from their last transition, which is all the export's delta read until now."""

import django.utils.timezone
from django.db import migrations, models


def from_last_transition(apps, schema_editor):
    Case = apps.get_model("movements", "Case")
    Case.objects.update(status_changed_at=models.F("state_changed_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("movements", "0025_form_submission"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="status_changed_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, editable=False),
        ),
        migrations.RunPython(from_last_transition, migrations.RunPython.noop, elidable=True),
    ]
