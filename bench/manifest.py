"""The departure manifest at 75, 400 and 3,000 passengers (Dari names, landscape A4): for each, the median time of
five renders (queries, layout and PDF), the peak memory of one render, the number of database queries, and the
ratio of the time to the floor — the same strings hand-laid on a ReportLab canvas, row after row, Dari names shaped
the same way, drawn in the same run (median of five too).

Targets: the query count does not grow with passengers (tests/test_travel_manifest.py asserts it); the ratio stays
under 2 at every size; 400 passengers in under 0.5 s and 3,000 in under 3 s on the 2-core machine this project runs
on. Run: `.venv/bin/python bench/manifest.py` (a throw-away SQLite database, or the database of DATABASE_URL with a
`test_` prefix when that points at PostgreSQL).

The bookings are bulk-inserted (the services would book 3,000 people one case at a time, readiness and all): this
measures the manifest, not booking.
"""

import datetime
import io
import os
import statistics
import sys
import time
import tracemalloc
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

REPEATS = 5
SIZES = (75, 400, 3_000)
MEMBERS = [4, 7, 2, 5, 1, 3]  # family sizes, in turn
GIVEN = [("Zahra", "زهرا"), ("Ahmad", "احمد"), ("Bibi Gul", "بی‌بی گل"), ("Mohammad Nabi", "محمد نبی"),
         ("Fatima", "فاطمه"), ("Abdul Rahman", "عبدالرحمان"), ("Shabnam", "شبنم")]
FAMILY = [("Karimi", "کریمی"), ("Haidari", "حیدری"), ("Ahmadzai", "احمدزی"), ("Mohammadzadeh", "محمدزاده"),
          ("Rahimi", "رحیمی"), ("Nurzai", "نورزی")]


def build(passengers, number, escort):
    """A departure with `passengers` passengers in families of 1 to 7, each with a passport and a visa; a few
    wheelchairs, an infant in some families, one person in twenty under surveillance on arrival."""
    from movements.models import Case, MedicalExam, Person, TravelDocument, TravelMedicalNeeds
    from travel.models import Booking, Departure, EscortProfile, Leg, Passenger

    dushanbe, istanbul, toronto = (zoneinfo.ZoneInfo(z) for z in ("Asia/Dushanbe", "Europe/Istanbul",
                                                                   "America/Toronto"))
    day = timezone.localdate() + datetime.timedelta(days=20 + number)
    legs = [("TK", "255", "DYU", "IST", datetime.datetime.combine(day, datetime.time(6, 25), dushanbe),
             datetime.datetime.combine(day, datetime.time(9, 50), istanbul), dushanbe, istanbul),
            ("TK", "17", "IST", "YYZ", datetime.datetime.combine(day, datetime.time(13, 45), istanbul),
             datetime.datetime.combine(day, datetime.time(17, 35), toronto), istanbul, toronto)]
    departure = Departure.objects.create(
        code=f"DEP-{day:%Y%m%d}-YYZ-B{number}", mode="air", destination_country="CAN", final_destination="Toronto",
        pnr="BENCH1", seat_block=passengers + 20, departs_at=legs[0][4], departure_date=day, arrives_at=legs[1][5],
        arrival_date=day)
    Leg.objects.bulk_create([
        Leg(departure=departure, number=n, carrier=c, flight_number=f, origin=o, destination=d, departs_at=dep,
            arrives_at=arr, origin_tz=str(oz), destination_tz=str(dz))
        for n, (c, f, o, d, dep, arr, oz, dz) in enumerate(legs, start=1)])
    departure.escorts.add(escort)
    EscortProfile.objects.get_or_create(user=escort, defaults={"phone": "+992931234567"})
    sizes, left, i = [], passengers, 0
    while left:
        size = min(MEMBERS[i % len(MEMBERS)], left)
        sizes.append(size)
        left -= size
        i += 1
    cases = Case.objects.bulk_create([
        Case(case_number=f"BEN-{number}-{n:06d}", progres_case_id=f"88{number}-26C{n:05d}", referral_date=day,
             destination_country="CAN", blockers=[], blocker_count=0) for n in range(len(sizes))])
    people = []
    for n, (case, size) in enumerate(zip(cases, sizes)):
        family, family_native = FAMILY[n % len(FAMILY)]
        for m in range(size):
            given, given_native = GIVEN[(n + m) % len(GIVEN)]
            born = (day - datetime.timedelta(days=300)) if (m == size - 1 and size >= 4) else \
                datetime.date(1970 + (n + 7 * m) % 45, 1 + m % 12, 1 + n % 28)
            people.append(Person(
                case=case, progres_individual_id=f"{case.progres_case_id}-{m + 1:02d}",
                relationship="PA" if m == 0 else ("SPS" if m == 1 else "CHD"), family_name=family,
                given_name=given, native_name=f"{given_native} {family_native}", sex="FM"[(n + m) % 2],
                date_of_birth=born, nationality="AFG", visa_reference=f"V{number}{n:05d}{m:02d}", search_text=""))
    Person.objects.bulk_create(people, batch_size=2000)
    TravelDocument.objects.bulk_create([
        TravelDocument(person=p, document_type="passport", number=f"P{number}{p.pk:08d}", issuing_country="AFG",
                       expiry_date=day + datetime.timedelta(days=900)) for p in people], batch_size=2000)
    TravelMedicalNeeds.objects.bulk_create([TravelMedicalNeeds(person=p, wheelchair="WCHR")
                                            for p in people[5::17]])
    MedicalExam.objects.bulk_create([
        MedicalExam(person=p, kind="ime", exam_date=day - datetime.timedelta(days=60), clinic="IOM MHAC Dushanbe",
                    outcome="M1", tb_status="inactive" if k % 20 == 3 else "none") for k, p in enumerate(people)],
        batch_size=2000)
    bookings = Booking.objects.bulk_create([Booking(departure=departure, case=c) for c in cases])
    of_case = {b.case_id: b for b in bookings}
    Passenger.objects.bulk_create([Passenger(booking=of_case[p.case_id], departure=departure, person=p)
                                   for p in people], batch_size=2000)
    return departure


def floor(rows):
    """The least work that prints the same rows: every string of every cell of the manifest (the same texts, from
    `travel.manifest.cell_texts`, a line of a cell per string) drawn at a fixed place with drawString, in the same
    fonts and sizes, names in the Arabic script shaped and reordered by the same function, a new page every 14
    rows (as many pages as the manifest), "Page N" on each. No layout, no QR code, no rules or boxes."""
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    from movements.pdf import CONDENSED, for_print, is_rtl, register_fonts
    from travel.manifest import AIR_COLUMNS, cell_texts

    register_fonts()
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=landscape(A4))
    xs, x = [], 10 * mm
    widths = [col.width * mm or 40 * mm for col in AIR_COLUMNS]
    for w in widths:
        xs.append(x)
        x += w
    y, page = 0, 0
    for k, row in enumerate(rows):
        if k % 14 == 0:
            if k:
                c.showPage()
            page += 1
            c.setFont(CONDENSED, 8)
            c.drawString(10 * mm, 8 * mm, f"Page {page}")
            y = 185 * mm
        for x, cell in zip(xs, cell_texts(row, road=False)):
            if not cell or not cell[0]:
                continue
            text, role, _ = cell
            for n, line in enumerate(text.split("\n")):
                if is_rtl(line):
                    c.setFont(role.arabic_font, role.size)
                    c.drawString(x, y - n * 9, for_print(line))
                else:
                    c.setFont(role.latin_font, role.size)
                    c.drawString(x, y - n * 9, line)
        y -= 12 * mm
    c.showPage()
    c.save()
    return out.getvalue()


def median_times(fn, repeats=REPEATS):
    """(median wall time, median CPU time of this process) of `fn`: the machine is shared, and the CPU time is what
    the work itself costs when others are busy too."""
    walls, cpus = [], []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def main():
    from django.test.utils import setup_databases, teardown_databases

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        from travel.manifest import load_manifest, render_manifest

        escort = User.objects.create_user("bench-escort", first_name="Eraj", last_name="Escort")
        escort.groups.add(Group.objects.get(name="escort"))
        departures = [build(size, n, escort) for n, size in enumerate(SIZES, start=1)]
        print(f"database: {connection.vendor}; median of {REPEATS} renders each; floor: the same strings "
              "hand-laid on a canvas")
        for size, departure in zip(SIZES, departures):
            render_manifest(departure)  # warm up (fonts, caches)
            with CaptureQueriesContext(connection) as ctx:
                pdf = render_manifest(departure)
            queries = len(ctx.captured_queries)
            tracemalloc.start()
            render_manifest(departure)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows = load_manifest(departure).rows
            floor(rows)
            wall, cpu = median_times(lambda: render_manifest(departure))
            floor_wall, floor_cpu = median_times(lambda: floor(rows))
            pages = pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page")
            print(f"{size:>6} passengers: {wall:6.3f} s ({cpu:6.3f} s CPU)  {pages:>4} pages  {len(pdf) / 1024:6.0f} KiB  "
                  f"peak {peak / 2**20:5.1f} MiB  {queries} queries  floor {floor_wall:6.3f} s ({floor_cpu:6.3f} s CPU)"
                  f"  ratio {wall / floor_wall:4.2f} ({cpu / floor_cpu:4.2f} CPU)")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
