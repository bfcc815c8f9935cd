"""On PostgreSQL, trigram indexes for finding a case by a passport or visa / COPR number (substring search)."""

from django.db import migrations

INDEXES = {
    "traveldocument_number_trgm": "movements_traveldocument USING gin (UPPER(number) gin_trgm_ops)",
    "person_visa_reference_trgm": "movements_person USING gin (UPPER(visa_reference) gin_trgm_ops)",
}


def _connection(schema_editor):
    from django.db import connection

    return schema_editor.connection if schema_editor is not None else connection


def create(apps, schema_editor):
    connection = _connection(schema_editor)
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, target in INDEXES.items():
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def drop(apps, schema_editor):
    connection = _connection(schema_editor)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for name in INDEXES:
                cursor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("movements", "0016_hardening_text_limits")]
    operations = [migrations.RunPython(create, drop)]
