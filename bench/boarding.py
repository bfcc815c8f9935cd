"""The day of travel at charter size: marking one passenger on a 400-passenger departure (100 families of four)
and closing its boarding, with their query counts; and marking one passenger on a tenth of that, to show the
count of a mark does not grow with the passengers (tests/test_travel_boarding_pages.py asserts it too).

Targets: a mark runs a fixed number of queries; closing boarding for 400 passengers in 100 cases (every case
`depart`s, readiness re-checked, in one transaction) takes under 2 seconds on SQLite. The departure goes to
Toronto, so Canada's orientation requirement is checked too (a charter of 400 would carry IRCC's exception to
the 75 per flight; the bench inserts the departure as final and does not re-run booking rules).

Run: `.venv/bin/python bench/boarding.py` (a throw-away SQLite database, or the database of DATABASE_URL with a
`test_` prefix when that points at PostgreSQL). The families are bulk-inserted, ready to travel (documents, visas,
IMEs, orientation, fit-to-travel checks in the window); the marks and the closing go through `travel.boarding`.
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
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

MEMBERS = 4


def departure_with(families, escort, number):
    """A final departure leaving in two hours with `families` booked families of four, ready to board."""
    from movements.models import Case, MedicalExam, Person, TravelDocument
    from travel.models import Booking, Departure, DepartureLogEntry, Leg, Passenger

    from tests.conftest import complete_orientation

    dushanbe, istanbul, toronto = (zoneinfo.ZoneInfo(z) for z in
                                   ("Asia/Dushanbe", "Europe/Istanbul", "America/Toronto"))
    now = timezone.now()
    leaves = (now + datetime.timedelta(hours=2)).astimezone(dushanbe).replace(second=0, microsecond=0)
    lands = leaves + datetime.timedelta(hours=16)
    departure = Departure(code=f"DEP-BENCH-{number}", mode="air", destination_country="CAN",
                          final_destination="Toronto", pnr="BENCH1", seat_block=families * MEMBERS + 10,
                          departs_at=leaves, departure_date=leaves.date(), arrives_at=lands,
                          arrival_date=lands.astimezone(toronto).date())
    departure.save()
    Departure.objects.filter(pk=departure.pk).update(state="final")
    departure.refresh_from_db()
    Leg.objects.bulk_create([
        Leg(departure=departure, number=1, carrier="TK", flight_number="255", origin="DYU", destination="IST",
            departs_at=leaves, arrives_at=leaves + datetime.timedelta(hours=5, minutes=20), origin_tz=str(dushanbe),
            destination_tz=str(istanbul)),
        Leg(departure=departure, number=2, carrier="TK", flight_number="17", origin="IST", destination="YYZ",
            departs_at=leaves + datetime.timedelta(hours=7), arrives_at=lands, origin_tz=str(istanbul),
            destination_tz=str(toronto)),
    ])
    departure.escorts.add(escort)
    DepartureLogEntry.objects.create(departure=departure, actor="bench", action="made_final", summary="final",
                                     at=now - datetime.timedelta(days=5))
    cases = [Case(case_number=f"BEN-{number}-{i:05d}", progres_case_id=f"889-{number}C{i:05d}",
                  referral_date=now.date(), destination_country="CAN", blockers=[], blocker_count=0)
             for i in range(families)]
    Case.objects.bulk_create(cases)
    Case.objects.filter(pk__in=[c.pk for c in cases]).update(state="booked")
    people = []
    for case in cases:
        for m in range(MEMBERS):
            born = [datetime.date(1985, 3, 1), datetime.date(1990, 6, 2), datetime.date(2012, 9, 9),
                    datetime.date(2016, 1, 5)][m]
            people.append(Person(case=case, progres_individual_id=f"{case.progres_case_id}-{m + 1:02d}",
                                 relationship=["PA", "SPS", "CHD", "CHD"][m], family_name=f"Family{case.pk}",
                                 given_name=f"Member{m}", native_name="زهرا کریمی", sex="F", date_of_birth=born,
                                 nationality="AFG", visa_reference=f"V{case.pk}{m}", search_text=f"family{case.pk}"))
    Person.objects.bulk_create(people, batch_size=2000)
    TravelDocument.objects.bulk_create([
        TravelDocument(person=p, number=f"P{number}{p.pk:07d}", issuing_country="AFG",
                       expiry_date=datetime.date(2031, 1, 1)) for p in people], batch_size=2000)
    checked = now - datetime.timedelta(hours=3)
    MedicalExam.objects.bulk_create(
        [MedicalExam(person=p, kind="ime", exam_date=now.date() - datetime.timedelta(days=60), clinic="IOM",
                     outcome="M1", tb_status="none") for p in people]
        + [MedicalExam(person=p, kind="ftt", exam_date=checked.date(), examined_at=checked, clinic="IOM",
                       fit_to_travel=True) for p in people], batch_size=2000)
    # Canada: everyone aged 13 or over attended orientation (one closed session, three days present).
    complete_orientation([p for p in people if p.age_on(departure.departure_date) >= 13])
    bookings = Booking.objects.bulk_create([Booking(departure=departure, case=c) for c in cases])
    booking_of = {b.case_id: b for b in bookings}
    Passenger.objects.bulk_create([Passenger(booking=booking_of[p.case_id], departure=departure, person=p)
                                   for p in people], batch_size=2000)
    return departure


def mark_one(departure, passenger, escort_pk, request_id):
    from travel import boarding

    escort = User.objects.get(pk=escort_pk)  # as a request has it: permissions not read yet
    connection.queries_log.clear()  # the log keeps 9,000 queries: counted from empty each time
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        result = boarding.mark(departure, passenger, "boarded", by=escort, request_id=request_id)
        elapsed = time.perf_counter() - start
    assert result.changed
    return elapsed, len(ctx.captured_queries)


def main():
    from django.test.utils import setup_databases, teardown_databases

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        from travel import boarding
        from travel.models import Passenger

        escort = User.objects.create_user("bench-escort", password="bench-pass-123", first_name="Eraj")
        escort.groups.add(Group.objects.get(name="escort"))
        results = {}
        for label, families in (("tenth", 10), ("full", 100)):
            departure = departure_with(families, escort, families)
            passengers = list(Passenger.objects.filter(departure=departure).order_by("id"))
            times, queries = [], set()
            for index, passenger in enumerate(passengers):
                elapsed, count = mark_one(departure, passenger, escort.pk, f"bench-{index}")
                times.append(elapsed)
                queries.add(count)
            connection.queries_log.clear()
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                closed = boarding.close_boarding(departure, by=User.objects.get(pk=escort.pk))
                close_time = time.perf_counter() - start
            assert closed.changed and closed.boarded == families * MEMBERS and closed.cases == families
            results[label] = (len(passengers), families, statistics.median(times), queries, close_time,
                              len(ctx.captured_queries))

        print(f"database: {connection.vendor}; families of {MEMBERS}; every passenger marked through "
              "travel.boarding.mark, then boarding closed through travel.boarding.close_boarding")
        for label, (people, families, mark_time, queries, close_time, close_queries) in results.items():
            print(f"{label:5} {people:4} passengers in {families:3} cases: mark one passenger {mark_time * 1000:6.1f} ms "
                  f"(median; {', '.join(map(str, sorted(queries)))} queries)   close boarding {close_time:5.2f} s "
                  f"({close_queries} queries)")
        tenth_q, full_q = results["tenth"][3], results["full"][3]
        print(f"queries per mark: {'the same at both sizes' if tenth_q == full_q else 'GREW'}; "
              f"closing 400 passengers: {'under' if results['full'][4] < 2 else 'OVER'} the 2 s target")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
