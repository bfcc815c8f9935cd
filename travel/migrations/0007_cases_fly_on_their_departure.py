from django.db import migrations
from django.db.models import OuterRef, Subquery


def from_departures(apps, schema_editor):
    """A booked case flies on its departure's date (movements' Case.flies_on, kept by the readiness snapshot)."""
    Case = apps.get_model("movements", "Case")
    Booking = apps.get_model("travel", "Booking")
    departure_date = Booking.objects.filter(case=OuterRef("pk"), status="active").values("departure__departure_date")
    Case.objects.filter(bookings__status="active").update(flies_on=Subquery(departure_date[:1]))


class Migration(migrations.Migration):

    dependencies = [
        ("travel", "0006_escort_phone_manifest_downloads"),
        ("movements", "0019_case_flies_on"),
    ]

    operations = [migrations.RunPython(from_departures, migrations.RunPython.noop)]
