"""Search: every person's stored names in the new normalised form (words, Tajik and Persian letters folded,
neighbouring words also joined), and on PostgreSQL a trigram index so that substring search uses an index."""

from django.db import migrations

from movements.migrations._search_text import recompute


def _connection(schema_editor):
    # Tests replay the data migrations without a schema editor (tests/conftest.py, `roles`).
    from django.db import connection

    return schema_editor.connection if schema_editor is not None else connection


def trigram_index(apps, schema_editor):
    connection = _connection(schema_editor)
    if connection.vendor != "postgresql":
        return  # SQLite scans; its LIKE is fast enough at a field office's size
    with connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS person_search_text_trgm ON movements_person USING gin (search_text gin_trgm_ops)"
        )
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS person_progres_id_trgm ON movements_person "
            "USING gin (UPPER(progres_individual_id) gin_trgm_ops)"
        )


def drop_trigram_index(apps, schema_editor):
    connection = _connection(schema_editor)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX IF EXISTS person_search_text_trgm")
            cursor.execute("DROP INDEX IF EXISTS person_progres_id_trgm")


class Migration(migrations.Migration):
    dependencies = [("movements", "0012_hooks_policy_holds_history")]
    operations = [
        migrations.RunPython(recompute, migrations.RunPython.noop),
        migrations.RunPython(trigram_index, drop_trigram_index),
    ]
