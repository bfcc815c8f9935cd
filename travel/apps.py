from django.apps import AppConfig


class TravelConfig(AppConfig):
    name = "travel"
    verbose_name = "Travel (departures and bookings)"

    def ready(self):
        # What travel plugs into movements' hooks: the transitions it owns, the travel plan of a booked case, seats
        # released on hold or withdrawal and where such a case resumes; the navigation entry, the case page's
        # panel, an escort's dashboard card; its demo departures.
        # What the retention removes from its records, and what a person's own record holds of them.
        # The deployment check of the manifest's QR codes' address.
        from travel import checks, demo, pages, plans, shredders, subject  # noqa: F401
