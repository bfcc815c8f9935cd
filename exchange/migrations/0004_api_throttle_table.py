"""The table of the API's rate counts (settings.CACHES["throttle"], a DatabaseCache): made here so that `migrate`,
which every deployment runs, makes it (Django's `createcachetable`, which does nothing for a table already made)."""

from django.core.management import call_command
from django.db import migrations


def make_table(apps, schema_editor):
    # (The tests replay data migrations without a schema editor, on the default database: tests/conftest.py.)
    alias = schema_editor.connection.alias if schema_editor is not None else "default"
    call_command("createcachetable", database=alias, verbosity=0)


class Migration(migrations.Migration):

    dependencies = [
        ("exchange", "0003_person_status"),
    ]

    operations = [
        migrations.RunPython(make_table, migrations.RunPython.noop),
    ]
