"""Shared by the migrations that refold every person's stored search text (not a migration itself: the name
starts with _)."""

from movements.search import person_search_text


def recompute(apps, schema_editor):
    """Every person's `search_text` in the form movements.search gives it today, 2,000 people a write."""
    Person = apps.get_model("movements", "Person")
    batch = []
    for person in Person.objects.only("id", "family_name", "given_name", "native_name").iterator(chunk_size=2000):
        person.search_text = person_search_text(person.family_name, person.given_name, person.native_name)
        batch.append(person)
        if len(batch) >= 2000:
            Person.objects.bulk_update(batch, ["search_text"])
            batch = []
    Person.objects.bulk_update(batch, ["search_text"])
