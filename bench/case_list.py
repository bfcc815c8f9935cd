"""Render time of the case list for 1,000 and 10,000 cases, and their ratio; then the list's first page and a case
page at 10,000 cases with and without the access log.

Pagination should keep the ratio near 1: the page costs the same whatever the caseload.
Run: `.venv/bin/python bench/case_list.py` (uses a throw-away SQLite database, or the
database of DATABASE_URL with a `_bench` suffix when that points at PostgreSQL).
"""

import os
import statistics
import sys
import time
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
from django.test.utils import get_runner  # noqa: E402,F401

REPEATS = 15
PAGES = [
    ("first page", "/cases/"),
    ("search + filter", "/cases/?q=family1&state=approved"),
    # Operations' morning question: who flies in the next 14 days and is blocked, soonest first.
    ("flies in 14 d, blocked, by date", "/cases/?flies_within=14&blockers=yes&sort=travel_date"),
    ("by date, page 2", "/cases/?sort=travel_date&page=2"),
]


def render_times(client, url):
    client.get(url)  # warm up caches and connections
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return statistics.median(times), len(ctx.captured_queries)


def analyze():
    """Table statistics and a vacuum after a bulk load, as PostgreSQL's autovacuum does in a running database
    (without statistics the planner misjudges the freshly inserted rows, differently from run to run; without the
    vacuum the trigram indexes still hold the load in their pending lists, which every search reads through)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def main():
    from django.test.utils import setup_databases, teardown_databases

    from tests.bulk import bulk_caseload

    setup_test_environment()
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        user = User.objects.create_user("bench-ops", password="bench-pass-123")
        user.groups.add(Group.objects.get(name="operations"))
        client = Client()
        client.force_login(user)
        results = {}
        bulk_caseload(1_000)
        analyze()
        for label, url in PAGES:
            results[(1_000, label)] = render_times(client, url)
        bulk_caseload(9_000, start=1_000)
        analyze()
        for label, url in PAGES:
            results[(10_000, label)] = render_times(client, url)
        print(f"database: {connection.vendor}; median of {REPEATS} renders each")
        for label, _url in PAGES:
            (t1, q1), (t10, q10) = results[(1_000, label)], results[(10_000, label)]
            print(f"{label:32} 1,000 cases: {t1 * 1000:7.1f} ms ({q1} queries)   "
                  f"10,000 cases: {t10 * 1000:7.1f} ms ({q10} queries)   ratio 10k/1k: {t10 / t1:.2f}")
        # The access log (privacy) adds one insert per page: the same pages with and without it, at 10,000 cases.
        from movements import hooks
        from movements.models import Case

        case_page = f"/cases/{Case.objects.order_by('id').first().case_number}/"
        pages = [("first page", "/cases/"), ("case page", case_page)]
        # Rounds alternate with and without, so that a machine busy with something else weighs on both alike.
        rounds = {True: {label: [] for label, _ in pages}, False: {label: [] for label, _ in pages}}
        for _ in range(5):
            for on in (True, False):
                with hooks.isolated():
                    if not on:
                        hooks.personal_data_read.unregister("privacy.access_log.keep_read")
                    for label, url in pages:
                        rounds[on][label].append(render_times(client, url))
        for label, _url in pages:
            t_on = statistics.median(t for t, _q in rounds[True][label])
            t_off = statistics.median(t for t, _q in rounds[False][label])
            q_on, q_off = rounds[True][label][0][1], rounds[False][label][0][1]
            print(f"{label:16} with the access log: {t_on * 1000:7.1f} ms ({q_on} queries)   "
                  f"without: {t_off * 1000:7.1f} ms ({q_off} queries)")
        # The log's own cost, apart from the noise of whole pages: one read recorded, as a view records it.
        from django.test import RequestFactory

        from movements import reads

        request = RequestFactory().get("/cases/")
        request.user = user
        start = time.perf_counter()
        for _ in range(500):
            reads.record(reads.Kind.CASE, request=request, cases=["DYU-2026-00001"], target="DYU-2026-00001")
        print(f"one read recorded (the insert of the access log): {(time.perf_counter() - start) * 2:.2f} ms")
    finally:
        teardown_databases(old_config, verbosity=0)


if __name__ == "__main__":
    main()
