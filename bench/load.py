"""Pages under load: gunicorn on PostgreSQL (database `perf_bench`) with 10,000 cases, a bounded loopback client.

Drives the case page, the dashboard, the case list (page 1 and page 150), a name search and a bare view behind
log-in (bench/load_urls.py, the floor) at 1, 8 and 32 users, and prints requests/s, p50/p95/p99, errors, and each
page's throughput as a fraction of the bare view's (driven just before and just after that page, in the same run);
then the server time and query count of one request per page, in process. The client connects to 127.0.0.1 only,
runs a bounded time and number of requests, and stops the server it started.

The server runs as `make serve` runs it (config/gunicorn.conf.py: its sync workers, as many as it chooses for this
machine) unless --workers or --threads say otherwise.

Run: `.venv/bin/python bench/load.py [--seconds 20] [--users 1,8,32] [--workers N] [--threads N] [--pages dash,list]`.
"""

import argparse
import http.client
import math
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB_URL = "postgres://postgres@127.0.0.1:5432/perf_bench"
SERVER_ENV = {
    "DEBUG": "0", "SECRET_KEY": "bench-" + secrets.token_urlsafe(40), "ALLOWED_HOSTS": "127.0.0.1",
    "DATABASE_URL": DB_URL, "SECURE_SSL_REDIRECT": "0", "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
    "DJANGO_SETTINGS_MODULE": "bench.load_settings", "GUNICORN_ACCESS_LOG": "0", "GUNICORN_LOG_LEVEL": "warning",
}
os.environ.update(SERVER_ENV)
MAX_REQUESTS_PER_USER = 200_000


def ensure_database():
    import psycopg

    with psycopg.connect("host=127.0.0.1 port=5432 user=postgres dbname=postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'perf_bench'").fetchone():
            conn.execute("CREATE DATABASE perf_bench")


def prepare():
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from movements.models import Case
    from tests.bulk import bulk_caseload

    call_command("migrate", verbosity=0, interactive=False)
    call_command("collectstatic", verbosity=0, interactive=False)
    have = Case.objects.filter(case_number__startswith="BLK-").count()
    if have < 10_000:
        print(f"filling perf_bench: {10_000 - have:,} cases …", flush=True)
        bulk_caseload(10_000 - have, start=have)
        # As autovacuum would soon after such a load: statistics for the planner, the trigram indexes' pending
        # lists merged.
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    user, _ = User.objects.get_or_create(username="bench-ops")
    user.groups.add(Group.objects.get(name="operations"))
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    case = Case.objects.filter(case_number__startswith="BLK-", state="approved").order_by("id").first()
    pages = {
        "bare view": "/bench/bare/",
        "case page": f"/cases/{case.case_number}/",
        "dashboard": "/",
        "list, page 1": "/cases/",
        # Of all cases (200 pages): the active ones that the list shows by default fill only 140, and page 150 of
        # them would measure the way past the end of the list (an old bookmark), not a page deep in it.
        "list, page 150": "/cases/?show=all&page=150",
        "name search": "/cases/?q=family4217",
    }
    return client, client.cookies["sessionid"].value, pages


def server_configuration(workers, threads):
    """The workers and threads gunicorn will run: those asked for here, else config/gunicorn.conf.py's own choice
    (from GUNICORN_WORKERS / GUNICORN_THREADS when set, as `make serve` reads them)."""
    import runpy

    saved = dict(os.environ)
    os.environ.update({name: str(value) for name, value in
                       (("GUNICORN_WORKERS", workers), ("GUNICORN_THREADS", threads)) if value is not None})
    try:
        conf = runpy.run_path(str(ROOT / "config/gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return conf["workers"], conf["threads"]


def start_server(port, workers, threads):
    env = dict(os.environ, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS=str(workers),
               GUNICORN_THREADS=str(threads))
    server = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "--config", "config/gunicorn.conf.py",
                               "config.wsgi"], cwd=ROOT, env=env)
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz/")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz/")


def drive(port, path, session, users, seconds):
    """`users` threads, each on one keep-alive connection, requesting `path` until `seconds` pass."""
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + seconds
    headers = {"Cookie": f"sessionid={session}", "Host": "127.0.0.1"}

    def user():
        mine, failed = [], 0
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(MAX_REQUESTS_PER_USER):
            if time.monotonic() >= deadline:
                break
            start = time.perf_counter()
            try:
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            except (OSError, http.client.HTTPException):
                failed += 1
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            mine.append(time.perf_counter() - start)
        connection.close()
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.monotonic()
    threads = [threading.Thread(target=user) for _ in range(users)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return summary(latencies, errors[0], elapsed)


def summary(latencies, errors, elapsed):
    latencies = sorted(latencies)

    def pct(p):
        # Nearest rank: the smallest latency that at least p of the requests did not exceed.
        return latencies[max(0, math.ceil(p * len(latencies)) - 1)] * 1000 if latencies else float("nan")

    return {"rps": len(latencies) / elapsed, "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99),
            "errors": errors, "latencies": latencies, "elapsed": elapsed}


def measure_level(port, pages, session, users, seconds):
    """Each page at `users` users, with the bare view driven before the first page and after every page (for half
    as long). A page's share is its throughput over the mean of the two bare runs beside it, so that the machine's
    drift over the minutes of a run (it is shared and noisy) moves the page and its floor together. The bare view's
    own row pools its runs."""
    bare_path = pages["bare view"]
    bare_runs = [drive(port, bare_path, session, users, seconds / 2)]
    results, floors = {}, {}
    for name, path in pages.items():
        if path == bare_path:
            continue
        results[name] = drive(port, path, session, users, seconds)
        bare_runs.append(drive(port, bare_path, session, users, seconds / 2))
        floors[name] = statistics.mean(run["rps"] for run in bare_runs[-2:])
    results = {"bare view": pooled(bare_runs), **results}
    return results, floors


def pooled(runs):
    """The bare view's runs as one row: every request of every run, over their time together."""
    return summary([t for r in runs for t in r["latencies"]], sum(r["errors"] for r in runs),
                   sum(r["elapsed"] for r in runs))


def in_process(client, pages):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print("\nserver time of one request, in process (median of 15), and its queries")
    for name, path in pages.items():
        client.get(path)
        times = []
        for _ in range(15):
            start = time.perf_counter()
            assert client.get(path).status_code == 200, path
            times.append(time.perf_counter() - start)
        with CaptureQueriesContext(connection) as ctx:
            client.get(path)
        print(f"  {name:16} {statistics.median(times) * 1000:6.1f} ms  {len(ctx.captured_queries):3d} queries")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--users", default="1,8,32")
    parser.add_argument("--workers", type=int, help="default: as config/gunicorn.conf.py chooses")
    parser.add_argument("--threads", type=int, help="default: as config/gunicorn.conf.py chooses (1: sync workers)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pages", help="only these pages, by the start of their names, comma-separated "
                        "(e.g. 'dash,list'; the bare view is always driven)")
    args = parser.parse_args()
    levels = [int(n) for n in args.users.split(",")]
    if not 1 <= args.seconds <= 120 or max(levels) > 64:
        raise SystemExit("--seconds within 1–120 and at most 64 users")
    ensure_database()
    client, session, pages = prepare()
    if args.pages:
        wanted = [w.strip() for w in args.pages.split(",") if w.strip()]
        pages = {name: path for name, path in pages.items()
                 if name == "bare view" or any(name.startswith(w) for w in wanted)}
        if len(pages) == 1:
            raise SystemExit(f"--pages matches none of the pages: {args.pages}")
    workers, threads = server_configuration(args.workers, args.threads)
    server = start_server(args.port, workers, threads)
    kind = "sync workers" if threads == 1 else f"workers × {threads} threads"
    try:
        print(f"gunicorn {workers} {kind}, PostgreSQL perf_bench, 10,000 cases, {args.seconds:g} s per page and level, "
              f"the bare view {args.seconds / 2:g} s before the first page and after each (a shared, noisy machine: "
              f"compare ratios)")
        for users in levels:
            print(f"\n{users} user(s)")
            print(f"  {'page':16} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'errors':>6} "
                  f"{'bare beside':>11} {'of bare':>8}")
            results, floors = measure_level(args.port, pages, session, users, args.seconds)
            for name, r in results.items():
                # A page's share: its requests/s over the mean of the bare runs just before and after it.
                beside, share = (f"{floors[name]:11.1f}", f"{r['rps'] / floors[name]:8.0%}") if name in floors \
                    else (f"{'(all runs)':>11}", f"{'':>8}")
                print(f"  {name:16} {r['rps']:7.1f} {r['p50']:7.1f} {r['p95']:7.1f} {r['p99']:7.1f} {r['errors']:6d} "
                      f"{beside} {share}")
    finally:
        server.terminate()
        server.wait(timeout=30)
    in_process(client, pages)


if __name__ == "__main__":
    main()
