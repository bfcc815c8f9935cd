"""gunicorn's configuration for `make serve` and deployments: `gunicorn -c config/gunicorn.conf.py config.wsgi`.

Read from the environment through the strict parsers of config/env.py (a bad value stops the server with a message
naming the variable). Defaults suit this 2-core class of machine: each sync worker holds one database connection per
thread, so workers × threads must stay under PostgreSQL's max_connections.
"""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.env import env_bool, env_int, env_str  # noqa: E402

bind = env_str("GUNICORN_BIND", "127.0.0.1:8000")
# Two sync workers per CPU: while one waits on the database, the other computes. Measured on a 2-core machine at
# 8 users (bench/load.py, two rounds): with 4 sync workers the dashboard's p99 was 60–70 ms and the case page's
# 66–103 ms; with 5 (gunicorn's rule of thumb, 2 × CPUs + 1) 89–97 and 96–97 ms; with 2 workers × 4 threads 130–134
# and 114–143 ms (threads of one process wait for each other's turn at the interpreter lock).
# The CPUs this process may run on (a container's share, not the host's), and at most 9 workers: each holds a
# database connection (CONN_MAX_AGE), and PostgreSQL allows 100 by default; set GUNICORN_WORKERS for more.
workers = env_int("GUNICORN_WORKERS", min(2 * len(os.sched_getaffinity(0)), 9), minimum=1)
# More than one thread per worker switches gunicorn to its threaded worker (gthread).
threads = env_int("GUNICORN_THREADS", 1, minimum=1)
timeout = env_int("GUNICORN_TIMEOUT", 60, minimum=5)  # seconds a request may take before its worker is restarted
graceful_timeout = 30
keepalive = env_int("GUNICORN_KEEPALIVE", 5, minimum=0)
# Recycle workers now and then so that a slow leak cannot grow without bound (jitter spreads the restarts).
max_requests = env_int("GUNICORN_MAX_REQUESTS", 5000, minimum=0)
max_requests_jitter = max_requests // 10
# Behind a TLS proxy on the same host: trust its X-Forwarded-* headers (see BEHIND_TLS_PROXY in the settings).
forwarded_allow_ips = env_str("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = "-" if env_bool("GUNICORN_ACCESS_LOG", True) else None
errorlog = "-"
loglevel = env_str("GUNICORN_LOG_LEVEL", "info")
# Query strings can carry searched names: log the path and status, not the query.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
proc_name = "safar"
# gunicorn's control socket (a shared path under $HOME) is not used: two servers on one host would contend for it.
control_socket_disable = True
