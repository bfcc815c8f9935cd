"""The five roles of DESIGN.md as Django groups, with the permissions that say what each may do.

Trainers and escorts get no permission on cases here: they see only the people of their own
sessions and departures, which the orientation and travel apps grant by scope.
"""

from django.db import migrations

from movements.migrations._grants import grant

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
    for role, codenames in ROLE_PERMISSIONS.items():
        grant(apps, role, codenames)


class Migration(migrations.Migration):
    dependencies = [
        ("movements", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
