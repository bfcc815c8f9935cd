"""Speed of the referral import: 10,000 individuals into an empty database.

Prints rows per second, queries per row, peak Python memory, and the ratio of the import time to a
bare `bulk_create` of the same cases and people (the floor). Targets on SQLite: at least 1,000 rows/s
and a ratio under 5. Run: `.venv/bin/python bench/import_referrals.py [ROWS]`.
"""

import csv
import datetime
import io
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_databases, setup_test_environment  # noqa: E402
from django.test.utils import teardown_databases  # noqa: E402

from movements.models import Case, CaseTransition, Person  # noqa: E402
from movements.referral_import import COLUMNS, run_import  # noqa: E402
from movements.search import normalize  # noqa: E402

GIVEN = [("Zahra", "زهرا"), ("Ahmad", "احمد"), ("Omid", "امید"), ("Hadia", "هدیه"), ("Firuz", "Фирӯз")]
FAMILY = [("Karimi", "کریمی"), ("Noori", "نوری"), ("Rahmonov", "Раҳмонов"), ("Ahmadi", "احمدی")]


def make_file(rows):
    rng = random.Random(7)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS)
    writer.writeheader()
    n = 0
    case = 0
    while n < rows:
        case += 1
        size = min(rng.randint(1, 7), rows - n)
        family = rng.choice(FAMILY)
        for i in range(size):
            given = rng.choice(GIVEN)
            writer.writerow({
                "progres_case_id": f"870-26C{case:05d}",
                "progres_individual_id": f"870-26C{case:05d}-{i + 1:02d}",
                "relationship": "PA" if i == 0 else rng.choice(["SPS", "CHD", "CHD", "PAR"]),
                "family_name": family[0], "given_name": given[0], "native_name": f"{given[1]} {family[1]}",
                "sex": rng.choice("FM"), "date_of_birth": f"{rng.randint(1950, 2024)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                "nationality": "AFG", "phone": f"+992 93 {rng.randint(100, 999)} {rng.randint(1000, 9999)}" if i == 0 else "",
                "destination_country": "CAN", "priority": "normal", "submission_category": "LPN",
                "referral_date": "2026-04-01", "special_needs": "WCHR" if rng.random() < 0.03 else "",
            })
            n += 1
    return out.getvalue().encode("utf-8"), case


def bare_bulk_create(data):
    """The floor: parse the CSV and bulk_create the same cases, people and log rows, no checks."""
    reader = csv.DictReader(io.StringIO(data.decode("utf-8")))
    rows = list(reader)
    with transaction.atomic():
        cases = {}
        for r in rows:
            cases.setdefault(r["progres_case_id"], r)
        created = Case.objects.bulk_create(
            [Case(case_number=f"BARE-{i:06d}", progres_case_id=cid, destination_country=r["destination_country"],
                  priority=r["priority"], submission_category=r["submission_category"],
                  referral_date=datetime.date.fromisoformat(r["referral_date"]))
             for i, (cid, r) in enumerate(cases.items())], batch_size=1000)
        pk = {c.progres_case_id: c.pk for c in created}
        CaseTransition.objects.bulk_create(
            [CaseTransition(case_id=c.pk, actor="bench", transition="create", to_state="referred") for c in created],
            batch_size=1000)
        Person.objects.bulk_create(
            [Person(case_id=pk[r["progres_case_id"]], progres_individual_id=r["progres_individual_id"],
                    relationship=r["relationship"], family_name=r["family_name"], given_name=r["given_name"],
                    native_name=r["native_name"], sex=r["sex"],
                    date_of_birth=datetime.date.fromisoformat(r["date_of_birth"]), nationality=r["nationality"],
                    phone=r["phone"], special_needs=r["special_needs"],
                    search_text=normalize(f"{r['family_name']} {r['given_name']} {r['native_name']}"))
             for r in rows], batch_size=1000)
        transaction.set_rollback(True)


def main():
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    data, cases = make_file(rows)
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False)
    try:
        # Alternate floor and import three times, each rolled back, and compare medians.
        floors, imports = [], []
        for _ in range(3):
            start = time.perf_counter()
            bare_bulk_create(data)
            floors.append(time.perf_counter() - start)
            with transaction.atomic():
                start = time.perf_counter()
                report = run_import(data, "bench.csv")
                imports.append(time.perf_counter() - start)
                assert report.ok and report.applied, report.errors[:5]
                transaction.set_rollback(True)
        floor, elapsed = statistics.median(floors), statistics.median(imports)

        # Memory, on a dry run (the same reading and checking), since tracing slows everything down.
        tracemalloc.start()
        run_import(data, "bench.csv", dry_run=True)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        with CaptureQueriesContext(connection) as queries:
            report = run_import(data, "bench.csv")
        assert report.ok and report.applied, report.errors[:5]
        assert Person.objects.count() == rows and Case.objects.count() == cases

        # Re-importing the same file: every row unchanged.
        start = time.perf_counter()
        again = run_import(data, "bench.csv")
        reimport = time.perf_counter() - start
        assert len(again.unchanged_people) == rows

        print(f"database: {connection.vendor}; {rows:,} individuals in {cases:,} cases, {len(data) / 1e6:.1f} MB")
        print(f"import:          {elapsed:6.2f} s  = {rows / elapsed:8,.0f} rows/s (median of 3)")
        print(f"queries:         {len(queries.captured_queries)} in all = {len(queries.captured_queries) / rows:.4f} per row")
        print(f"peak memory:     {peak / 1e6:.1f} MB (Python allocations of a dry run, tracemalloc)")
        print(f"bare bulk_create:{floor:6.2f} s  (the floor, median of 3)")
        print(f"ratio import / floor: {elapsed / floor:.2f}")
        print(f"re-import (all unchanged): {reimport:6.2f} s = {rows / reimport:,.0f} rows/s")
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
