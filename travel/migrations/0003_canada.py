"""Canada's rules for government-assisted refugees (IRCC REF-OVS-8-2, DOMAIN.md): at most 75 refugees per flight
unless an exception is requested 15 working days ahead; the notification of arrival due 10 working days before
arrival; no arrival on Friday, Saturday, Sunday or a statutory holiday of the final destination's province."""

from django.db import migrations


def seed_canada(apps, schema_editor):
    DestinationRule = apps.get_model("travel", "DestinationRule")
    DestinationRule.objects.get_or_create(country="CAN", defaults={
        "max_refugees_per_flight": 75,
        "no_arrival_weekdays": [5, 6, 7],
        "no_arrival_on_holidays": True,
        "weekend": [6, 7],
        "notification_working_days": 10,
        "exception_request_working_days": 15,
        "source": "IRCC REF-OVS-8-2 (resettlement: destining and travel arrangements)",
    })


class Migration(migrations.Migration):
    dependencies = [("travel", "0002_roles")]
    operations = [migrations.RunPython(seed_canada, migrations.RunPython.noop)]
