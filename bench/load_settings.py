"""Production settings with the benchmark's URLconf (bench/load.py passes this module to gunicorn)."""

from config.settings import *  # noqa: F401,F403

ROOT_URLCONF = "bench.load_urls"
