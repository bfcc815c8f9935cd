"""The UNHCR status export at scale (cases booked and departed on 150 departures): time, peak memory and queries
for CSV and XLSX, against two baselines
measured in the same run — a bare csv.writer over values_list of the same columns (the floor) and
django-import-export's plain Resource.export() of the same data — and the API paged through at 500 a page.

The floor is printed twice: over the 8 columns stored on people and cases, and over all 11 columns of the
contract through the same joins as the export (the departure standing in for the itinerary, which no table holds).
Targets (the exchange issue): CSV under 1.5 times the floor; at least 20 times faster than the plain Resource;
peak memory that does not grow with the number of rows (printed at 10,000 and at 50,000 people); a constant
number of queries per API page.
Run: `.venv/bin/python bench/export_unhcr.py` (a throw-away SQLite database, or DATABASE_URL's with a test_ prefix).
"""

import csv
import datetime
import os
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402


class Null:
    def write(self, value):
        return len(value)


def fill(start_case, cases, people_per_case):
    from movements.models import Case, CaseState, Person

    states = [s for s, _ in CaseState.choices]
    batch = []
    for i in range(start_case, start_case + cases):
        batch.append(Case(case_number=f"BNC-2026-{i:06d}", progres_case_id=f"777-26C{i:06d}",
                          referral_date=datetime.date(2026, 1, 1), state=states[i % len(states)]))
    Case.objects.bulk_create(batch, batch_size=2000)
    ids = dict(Case.objects.filter(case_number__startswith="BNC-").values_list("case_number", "pk"))
    people = []
    for i in range(start_case, start_case + cases):
        for m in range(people_per_case(i)):
            people.append(Person(
                case_id=ids[f"BNC-2026-{i:06d}"], progres_individual_id=f"777-26C{i:06d}-{m + 1:02d}",
                relationship="PA" if m == 0 else "CHD", family_name=f"Family{i}", given_name=f"Member{m}",
                native_name="زهرا کریمی", sex="F", date_of_birth=datetime.date(1990, 1, 1), nationality="AFG",
                phone="+992931234567", visa_reference=f"V{i:07d}{m}",
            ))
    Person.objects.bulk_create(people, batch_size=2000)


def add_departures(count=150):
    """Book the booked and departed cases onto `count` two-leg flights (Dushanbe–Istanbul–Toronto), in bulk."""
    from movements.models import Case
    from travel.models import Booking, Departure, Leg

    start = datetime.datetime(2026, 12, 1, 1, 25, tzinfo=datetime.UTC)
    departures = []
    for n in range(count):
        leaves = start + datetime.timedelta(days=n % 60, hours=n // 60)
        departures.append(Departure(
            code=f"DEP-B{n:04d}", mode="air", destination_country="CAN", final_destination="Toronto", pnr="K7Q2XM",
            seat_block=400, state="final", departs_at=leaves, departure_date=leaves.date(),
            arrives_at=leaves + datetime.timedelta(hours=21), arrival_date=(leaves + datetime.timedelta(hours=21)).date(),
        ))
    Departure.objects.bulk_create(departures)
    departures = list(Departure.objects.filter(code__startswith="DEP-B").order_by("code"))
    Leg.objects.bulk_create([
        leg for d in departures for leg in (
            Leg(departure=d, number=1, origin="DYU", destination="IST", origin_tz="Asia/Dushanbe",
                destination_tz="Europe/Istanbul", departs_at=d.departs_at,
                arrives_at=d.departs_at + datetime.timedelta(hours=5), carrier="TK", flight_number="255"),
            Leg(departure=d, number=2, origin="IST", destination="YYZ", origin_tz="Europe/Istanbul",
                destination_tz="America/Toronto", departs_at=d.departs_at + datetime.timedelta(hours=8),
                arrives_at=d.arrives_at, carrier="TK", flight_number="17"),
        )
    ])
    travelled = list(Case.objects.filter(state__in=["booked", "departed", "arrived"], bookings__isnull=True)
                     .values_list("pk", flat=True))
    Booking.objects.bulk_create([Booking(departure=departures[i % count], case_id=pk) for i, pk in
                                 enumerate(travelled)], batch_size=2000)
    return len(travelled)


def analyze():
    """Table statistics after a bulk load, as PostgreSQL's autovacuum keeps them in a running database: without
    them the planner takes 50,000 freshly inserted rows for a few thousand and picks plans for that."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


class QueryCounter:
    """Counts the queries run (CaptureQueriesContext keeps only the last 9,000, too few for the plain Resource)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def measure(label, run, repeats=3):
    """(seconds, peak MB, queries) of a run: the best of `repeats` timed runs (the machine is shared: the least
    disturbed run is the truest figure, as timeit does), memory in a further run under tracemalloc (it slows
    what it traces)."""
    best = None
    for _ in range(repeats):
        counter = QueryCounter()
        with connection.execute_wrapper(counter):
            start = time.perf_counter()
            run()
            seconds = time.perf_counter() - start
        best = seconds if best is None else min(best, seconds)
    tracemalloc.start()
    run()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return best, peak / 1_048_576, counter.count


def floor():
    """The bare floor: csv.writer over values_list of the columns stored on people and cases (8 of the 11)."""
    from movements.models import Person

    writer = csv.writer(Null())
    rows = Person.objects.order_by("case__case_number", "id").values_list(
        F("case__progres_case_id"), "progres_individual_id", F("case__case_number"), "family_name", "given_name",
        F("case__state"), F("case__state_changed_at"), F("case__destination_country"))
    for row in rows.iterator(chunk_size=2000):
        writer.writerow(row)


def floor_all_columns():
    """The floor over every column of the contract: the same 8, and the departure and arrival dates and the
    departure (standing in for its itinerary, which no table stores) through the same joins as the export."""
    from django.db.models import FilteredRelation, Q

    from movements.models import Person

    writer = csv.writer(Null())
    rows = Person.objects.annotate(
        active_booking=FilteredRelation("case__bookings", condition=Q(case__bookings__status="active")),
    ).order_by("case__case_number", "id").values_list(
        F("case__progres_case_id"), "progres_individual_id", F("case__case_number"), "family_name", "given_name",
        F("case__state"), F("case__state_changed_at"), F("active_booking__departure__departure_date"),
        F("active_booking__departure_id"), F("active_booking__departure__arrival_date"),
        F("case__destination_country"))
    for row in rows.iterator(chunk_size=2000):
        writer.writerow(row)


def plain_resource():
    from import_export import fields, resources

    from movements.models import Person

    class PlainStatus(resources.ModelResource):
        progres_case_id = fields.Field(attribute="case__progres_case_id")
        case_number = fields.Field(attribute="case__case_number")
        case_status = fields.Field(attribute="case__state")
        status_date = fields.Field(attribute="case__state_changed_at")
        destination_country = fields.Field(attribute="case__destination_country")

        class Meta:
            model = Person
            fields = ("progres_case_id", "progres_individual_id", "case_number", "family_name", "given_name",
                      "case_status", "status_date", "destination_country")

    PlainStatus().export(Person.objects.order_by("case__case_number", "id")).csv  # noqa: B018


def ours_csv():
    from exchange import status

    sink = Null()
    for chunk in status.csv_chunks(status.StatusFilter()):
        sink.write(chunk)


def ours_xlsx():
    from exchange import status

    output, _rows = status.xlsx_file(status.StatusFilter())
    output.close()


def api_pages(client, token):
    pages, queries, url, params = 0, [], "/api/cases/", {"page_size": 500}
    start = time.perf_counter()
    people = 0
    while url:
        counter = QueryCounter()  # CaptureQueriesContext miscounts once the connection has logged 9,000 queries
        with connection.execute_wrapper(counter):
            response = client.get(url, params, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200, response.status_code
        body = response.json()
        people += sum(len(c["members"]) for c in body["results"])
        queries.append(counter.count)
        url, params = body["next"], {}
        pages += 1
    return time.perf_counter() - start, pages, people, sorted(set(queries))


def _book_more():
    """The cases added since: onto the same 150 departures."""
    from movements.models import Case
    from travel.models import Booking, Departure

    departures = list(Departure.objects.filter(code__startswith="DEP-B").order_by("code"))
    travelled = list(Case.objects.filter(state__in=["booked", "departed", "arrived"], bookings__isnull=True)
                     .values_list("pk", flat=True))
    Booking.objects.bulk_create([Booking(departure=departures[i % len(departures)], case_id=pk) for i, pk in
                                 enumerate(travelled)], batch_size=2000)
    return len(travelled)


def main():
    import argparse

    from django.conf import settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-only", action="store_true", help="fill 50,000 people and time only the API")
    args = parser.parse_args()
    from django.test.utils import setup_databases, teardown_databases
    from rest_framework.authtoken.models import Token

    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_CLASSES": []}
    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        print(f"database: {connection.vendor}")
        fill(0, 2_400, lambda i: 5 if i % 6 == 0 else 4)  # 10,000 people... roughly
        from movements.models import Person

        sizes = {}
        for target, grow in ((10_000, None), (50_000, lambda: fill(2_400, 9_600, lambda i: 5 if i % 5 == 0 else 4))):
            if grow:
                grow()
            add_departures() if grow is None else _book_more()
            analyze()
            people = Person.objects.count()
            if args.api_only:
                continue
            results = {name: measure(name, run, repeats) for name, run, repeats in (
                ("floor", floor, 3), ("floor, 11 columns", floor_all_columns, 3), ("csv", ours_csv, 3),
                ("xlsx", ours_xlsx, 3),
                ("plain Resource", plain_resource, 1))}  # the plain Resource takes half a minute a run
            sizes[people] = results
            from travel.models import Booking

            print(f"\n{people:,} people in {Person.objects.values('case').distinct().count():,} cases, "
                  f"{Booking.objects.count():,} of them booked or gone on 150 departures")
            for name, (seconds, peak, queries) in results.items():
                print(f"  {name:17} {seconds:7.2f} s   peak {peak:6.1f} MB   {queries:3d} queries")
            base, base_all = results["floor"][0], results["floor, 11 columns"][0]
            print(f"  csv / floor: {results['csv'][0] / base:.2f} (/ floor of 11 columns: "
                  f"{results['csv'][0] / base_all:.2f})   xlsx / floor: {results['xlsx'][0] / base:.2f}   "
                  f"plain Resource / csv: {results['plain Resource'][0] / results['csv'][0]:.1f}x")
        small, large = sorted(sizes) if len(sizes) == 2 else (None, None)
        if small is not None:
            print(f"\npeak memory, {small:,} → {large:,} people: csv {sizes[small]['csv'][1]:.1f} → "
              f"{sizes[large]['csv'][1]:.1f} MB; xlsx {sizes[small]['xlsx'][1]:.1f} → {sizes[large]['xlsx'][1]:.1f} MB; "
              f"plain Resource {sizes[small]['plain Resource'][1]:.1f} → {sizes[large]['plain Resource'][1]:.1f} MB")
        user = User.objects.create_user("bench-unhcr", password="bench-pass-123")
        user.groups.add(Group.objects.get(name="unhcr"))
        token = Token.objects.create(user=user).key
        seconds, pages, people, queries = api_pages(Client(), token)
        print(f"API: {people:,} people in {pages} pages of 500 cases: {seconds:.2f} s; queries per page: {queries}")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
