"""The day of travel: escorts and operations record boarding, no-shows, incidents and arrival (escorts on the
departures assigned to them); medical staff record fit-to-travel overrides."""

from django.db import migrations

from movements.migrations._grants import grant


def grant_day_of_travel(apps, schema_editor):
    grant(apps, "operations", [
        "board_departure", "view_boardinglogentry", "view_incident", "add_incident", "view_splitrequest",
        "view_fittotraveloverride",
    ], "travel")
    grant(apps, "escort", ["board_departure", "add_incident"], "travel")
    grant(apps, "medical", ["view_fittotraveloverride", "add_fittotraveloverride", "change_fittotraveloverride"],
          "travel")


class Migration(migrations.Migration):
    dependencies = [("travel", "0004_day_of_travel"), ("travel", "0002_roles")]
    operations = [migrations.RunPython(grant_day_of_travel, migrations.RunPython.noop)]
