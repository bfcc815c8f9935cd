"""Operations imports referral files and reads the import reports; nobody else does."""

from django.db import migrations

from movements.migrations._grants import grant


def grant_import(apps, schema_editor):
    grant(apps, "operations", ["import_referrals", "view_referralupload", "view_casechange"])
    grant(apps, "medical", ["view_casechange"])
    grant(apps, "unhcr", ["view_casechange"])


class Migration(migrations.Migration):
    dependencies = [("movements", "0005_referral_intake")]
    operations = [migrations.RunPython(grant_import, migrations.RunPython.noop)]
