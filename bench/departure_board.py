"""Render time and query count of the departure board and of one 400-passenger departure's page, with 200
departures and 20,000 passengers and with a tenth of that (20 departures, 2,000 passengers), and their ratios.

The query count must not grow with passengers or departures (tests/test_travel_pages.py asserts it too); the
time ratio should stay under 1.5: the board pages on an index and counts in SQL, a departure's page fetches its
passengers once. Run: `.venv/bin/python bench/departure_board.py` (a throw-away SQLite database, or the database
of DATABASE_URL with a `test_` prefix when that points at PostgreSQL).

The bookings are bulk-inserted (the services would book 20,000 people one case at a time, readiness and all):
this measures the pages, not booking.
"""

import datetime
import os
import statistics
import sys
import time
import zoneinfo
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

REPEATS = 11
MEMBERS = 4  # per case
BIG = 400  # passengers on the departure whose page is measured


def render(client, url):
    client.get(url)  # warm up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return statistics.median(times), len(ctx.captured_queries)


class Filler:
    """Departures with legs, escorts and booked families, inserted in bulk."""

    def __init__(self, escort):
        self.escort = escort
        self.number = 0
        self.case_number = 0
        self.today = timezone.localdate()

    def departures(self, sizes):
        """One departure per size (its passengers), a day apart from the last one made."""
        from movements.models import Case, Person
        from travel.models import Booking, Departure, Leg, Passenger

        dushanbe, istanbul, toronto = (zoneinfo.ZoneInfo(z) for z in
                                       ("Asia/Dushanbe", "Europe/Istanbul", "America/Toronto"))
        made = []
        for passengers in sizes:
            self.number += 1
            day = self.today + datetime.timedelta(days=10 + self.number)
            legs = [
                ("TK", "255", "DYU", "IST", datetime.datetime.combine(day, datetime.time(5, 45), dushanbe),
                 datetime.datetime.combine(day, datetime.time(9, 5), istanbul), dushanbe, istanbul),
                ("TK", "17", "IST", "YYZ", datetime.datetime.combine(day, datetime.time(14, 20), istanbul),
                 datetime.datetime.combine(day, datetime.time(18, 5), toronto), istanbul, toronto),
            ]
            departure = Departure(
                code=f"DEP-{day:%Y%m%d}-YYZ-B{self.number}", mode="air", destination_country="CAN",
                final_destination="Toronto", pnr="BENCH1", seat_block=passengers + 20, departs_at=legs[0][4],
                departure_date=day, arrives_at=legs[1][5], arrival_date=day,
            )
            departure.save()
            Departure.objects.filter(pk=departure.pk).update(state="open" if self.number % 3 else "final")
            Leg.objects.bulk_create([
                Leg(departure=departure, number=n, carrier=c, flight_number=f, origin=o, destination=d,
                    departs_at=dep, arrives_at=arr, origin_tz=str(oz), destination_tz=str(dz))
                for n, (c, f, o, d, dep, arr, oz, dz) in enumerate(legs, start=1)
            ])
            departure.escorts.add(self.escort)
            cases = []
            for _ in range((passengers + MEMBERS - 1) // MEMBERS):
                self.case_number += 1
                cases.append(Case(case_number=f"BEN-2026-{self.case_number:06d}",
                                  progres_case_id=f"888-26C{self.case_number:06d}", referral_date=self.today,
                                  destination_country="CAN", blockers=[], blocker_count=0))
            Case.objects.bulk_create(cases)
            Case.objects.filter(pk__in=[c.pk for c in cases]).update(state="booked")
            people, left = [], passengers
            for case in cases:
                for m in range(min(MEMBERS, left)):
                    born = [datetime.date(1985, 3, 1), datetime.date(1990, 6, 2), datetime.date(2014, 9, 9),
                            day - datetime.timedelta(days=300)][m]
                    people.append(Person(case=case, progres_individual_id=f"{case.progres_case_id}-{m + 1:02d}",
                                         relationship=["PA", "SPS", "CHD", "CHD"][m], family_name=f"Family{case.pk}",
                                         given_name=f"Member{m}", native_name="زهرا کریمی", sex="F",
                                         date_of_birth=born, nationality="AFG",
                                         special_needs=["", "WCHR", "", "INFT"][m], search_text=""))
                    left -= 1
            Person.objects.bulk_create(people, batch_size=2000)
            bookings = Booking.objects.bulk_create([Booking(departure=departure, case=c) for c in cases])
            booking_of = {b.case_id: b for b in bookings}
            Passenger.objects.bulk_create(
                [Passenger(booking=booking_of[p.case_id], departure=departure, person=p) for p in people],
                batch_size=2000)
            made.append(departure)
        return made


def main():
    from django.test.utils import setup_databases, teardown_databases

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        user = User.objects.create_user("bench-ops", password="bench-pass-123")
        user.groups.add(Group.objects.get(name="operations"))
        escort = User.objects.create_user("bench-escort", password="bench-pass-123", first_name="Eraj")
        escort.groups.add(Group.objects.get(name="escort"))
        client = Client()
        client.force_login(user)
        filler = Filler(escort)
        results = {}

        # A tenth: 20 departures, 2,000 passengers (one of them the 400-passenger departure).
        rest = (2_000 - BIG) // 19
        first = filler.departures([rest] * 9)
        big = filler.departures([BIG])[0]
        filler.departures([rest] * 9 + [2_000 - BIG - rest * 18])
        pages = {"board": "/departures/", f"departure ({BIG} passengers)": f"/departures/{big.code}/"}
        for label, url in pages.items():
            results[("tenth", label)] = render(client, url)
        # Full size: 200 departures, 20,000 passengers.
        more = (20_000 - 2_000) // 180
        filler.departures([more] * 179 + [20_000 - 2_000 - more * 179])
        from travel.models import Departure, Passenger

        assert Departure.objects.count() == 200 and Passenger.objects.count() == 20_000, "the sizes are off"
        for label, url in pages.items():
            results[("full", label)] = render(client, url)

        print(f"database: {connection.vendor}; median of {REPEATS} renders each; "
              f"{first[0].code}… 20 then 200 departures, 2,000 then 20,000 passengers")
        for label in pages:
            (t1, q1), (t10, q10) = results[("tenth", label)], results[("full", label)]
            print(f"{label:26} tenth: {t1 * 1000:7.1f} ms ({q1} queries)   full: {t10 * 1000:7.1f} ms ({q10} queries)"
                  f"   time ratio full/tenth: {t10 / t1:.2f}   queries {'same' if q1 == q10 else 'GREW'}")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
