"""The five roles of DESIGN.md as Django groups, with the permissions that say what each may do.

Trainers and escorts get no permission on cases here: they see only the people of their own
sessions and departures, which the orientation and travel apps grant by scope.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "operations": [
        "view_case", "add_case", "change_case", "move_case", "hold_case",
        "view_person", "add_person", "change_person", "delete_person",
        "view_traveldocument", "add_traveldocument", "change_traveldocument", "delete_traveldocument",
        "view_contact_details", "view_travel_documents", "view_casetransition",
    ],
    "medical": [
        "view_case", "hold_case", "view_person", "view_traveldocument",
        "view_contact_details", "view_travel_documents", "view_casetransition",
    ],
    "trainer": [],
    "escort": [],
    "unhcr": ["view_case", "view_person", "view_casetransition"],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; roles need them now.
    app_config = apps.get_app_config("movements")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = Permission.objects.filter(content_type__app_label="movements", codename__in=codenames)
        missing = set(codenames) - set(perms.values_list("codename", flat=True))
        if missing:
            raise RuntimeError(f"Role {role}: permissions not found: {sorted(missing)}")
        group.permissions.add(*perms)


class Migration(migrations.Migration):
    dependencies = [
        ("movements", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
