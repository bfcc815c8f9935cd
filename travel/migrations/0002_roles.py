"""Operations plan departures, book cases and record exceptions; escorts read the departures assigned to them."""

from django.db import migrations

from movements.migrations._grants import grant


def grant_travel(apps, schema_editor):
    grant(apps, "operations", [
        "view_departure", "add_departure", "change_departure", "view_all_departures", "book_case", "view_leg",
        "view_booking", "view_passenger", "view_travelexclusion", "view_departurelogentry", "view_destinationrule",
        "view_ruleexception", "add_ruleexception",
    ], "travel")
    grant(apps, "escort", ["view_departure", "view_leg"], "travel")


class Migration(migrations.Migration):
    dependencies = [("travel", "0001_initial"), ("movements", "0002_roles")]
    operations = [migrations.RunPython(grant_travel, migrations.RunPython.noop)]
