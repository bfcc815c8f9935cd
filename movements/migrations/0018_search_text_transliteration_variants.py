"""Search: every person's stored names refolded with the transliteration rule of movements.search (o as u, e as a,
a repeated Latin letter once), so that Mohammad, Muhammad and Mohammed find one another."""

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


class Migration(migrations.Migration):
    dependencies = [("movements", "0017_document_search_trigrams")]
    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
