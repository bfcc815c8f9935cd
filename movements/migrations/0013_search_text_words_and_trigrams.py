"""Search: every person's stored names in the new normalised form (words, Tajik and Persian letters folded,
neighbouring words also joined), and on PostgreSQL a trigram index so that substring search uses an index."""

from django.db import migrations

from movements.search import person_search_text


def recompute(apps, schema_editor):
    Person = apps.get_model("movements", "Person")
    batch = []
    for person in Person.objects.only("id", "family_name", "given_name", "native_name").iterator(chunk_size=2000):
        person.search_text = person_search_text(person.family_name, person.given_name, person.native_name)
        batch.append(person)
        if len(batch) >= 2000:
            Person.objects.bulk_update(batch, ["search_text"])
            batch = []
    Person.objects.bulk_update(batch, ["search_text"])


def trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite scans; its LIKE is fast enough at a field office's size
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS person_search_text_trgm ON movements_person USING gin (search_text gin_trgm_ops)"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS person_progres_id_trgm ON movements_person "
        "USING gin (UPPER(progres_individual_id) gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS person_search_text_trgm")
        schema_editor.execute("DROP INDEX IF EXISTS person_progres_id_trgm")


class Migration(migrations.Migration):
    dependencies = [("movements", "0012_hooks_policy_holds_history")]
    operations = [
        migrations.RunPython(recompute, migrations.RunPython.noop),
        migrations.RunPython(trigram_index, drop_trigram_index),
    ]
