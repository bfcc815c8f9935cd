"""Search: every person's stored names refolded with the transliteration rule of movements.search (o as u, e as a,
a repeated Latin letter once), so that Mohammad, Muhammad and Mohammed find one another."""

from django.db import migrations

from movements.migrations._search_text import recompute


class Migration(migrations.Migration):
    dependencies = [("movements", "0017_document_search_trigrams")]
    operations = [migrations.RunPython(recompute, migrations.RunPython.noop)]
