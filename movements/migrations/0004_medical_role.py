"""Medical records are for the medical role only: it alone gets the permissions on them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

MEDICAL = [
    "view_medicalexam", "add_medicalexam", "change_medicalexam",
    "view_travelmedicalneeds", "add_travelmedicalneeds", "change_travelmedicalneeds",
]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("movements")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    perms = Permission.objects.filter(content_type__app_label="movements", codename__in=MEDICAL)
    if perms.count() != len(MEDICAL):
        raise RuntimeError("medical permissions not found")
    Group.objects.get(name="medical").permissions.add(*perms)


class Migration(migrations.Migration):
    dependencies = [("movements", "0003_medical")]
    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
