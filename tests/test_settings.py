"""Settings come from the environment through strict parsers, and production mode passes `check --deploy`."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, parse_database_url

PROJECT = Path(__file__).resolve().parent.parent
# Variables the settings read; each subprocess starts without them, then sets what it tests.
SETTINGS_VARIABLES = [
    "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD",
    "BEHIND_TLS_PROXY", "LOG_LEVEL", "SAFAR_DB_PREPARED_STATEMENTS", "SAFAR_DEMO_DATA", "DATABASE_URL",
    "SAFAR_API_THROTTLE",
]


# --- env_bool -------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["1", "true", "True", "TRUE", "yes", "Yes", "on", "ON", " true "])
def test_env_bool_reads_true_words(monkeypatch, raw):
    monkeypatch.setenv("SAFAR_TEST_FLAG", raw)

    assert env_bool("SAFAR_TEST_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "False", "no", "NO", "off", "Off", " 0 "])
def test_env_bool_reads_false_words(monkeypatch, raw):
    monkeypatch.setenv("SAFAR_TEST_FLAG", raw)

    assert env_bool("SAFAR_TEST_FLAG", True) is False


@pytest.mark.parametrize("default", [True, False])
def test_env_bool_falls_back_to_the_default_when_unset_or_empty(monkeypatch, default):
    monkeypatch.delenv("SAFAR_TEST_FLAG", raising=False)
    assert env_bool("SAFAR_TEST_FLAG", default) is default

    monkeypatch.setenv("SAFAR_TEST_FLAG", "")
    assert env_bool("SAFAR_TEST_FLAG", default) is default


@pytest.mark.parametrize("raw", ["maybe", "2", "y", "enabled", "tru"])
def test_env_bool_refuses_anything_else_and_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SAFAR_TEST_FLAG", raw)

    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_bool("SAFAR_TEST_FLAG", True)

    assert "SAFAR_TEST_FLAG" in str(excinfo.value)
    assert repr(raw) in str(excinfo.value)


# --- env_int, env_list, env_str -------------------------------------------------------------------


def test_env_int_reads_a_whole_number(monkeypatch):
    monkeypatch.setenv("SAFAR_TEST_NUMBER", " 42 ")

    assert env_int("SAFAR_TEST_NUMBER", 7) == 42


def test_env_int_falls_back_to_the_default_when_unset_or_empty(monkeypatch):
    monkeypatch.delenv("SAFAR_TEST_NUMBER", raising=False)
    assert env_int("SAFAR_TEST_NUMBER", 7) == 7

    monkeypatch.setenv("SAFAR_TEST_NUMBER", "")
    assert env_int("SAFAR_TEST_NUMBER", 7) == 7


@pytest.mark.parametrize("raw", ["ten", "1.5", "1e3", "12abc"])
def test_env_int_refuses_what_is_not_a_whole_number_and_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("SAFAR_TEST_NUMBER", raw)

    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int("SAFAR_TEST_NUMBER", 7)

    assert "SAFAR_TEST_NUMBER" in str(excinfo.value)


def test_env_int_refuses_a_value_below_the_minimum(monkeypatch):
    monkeypatch.setenv("SAFAR_TEST_NUMBER", "4")

    with pytest.raises(ImproperlyConfigured) as excinfo:
        env_int("SAFAR_TEST_NUMBER", 50, minimum=5)

    assert "SAFAR_TEST_NUMBER" in str(excinfo.value)
    assert "minimum of 5" in str(excinfo.value)


def test_env_int_accepts_the_minimum_itself(monkeypatch):
    monkeypatch.setenv("SAFAR_TEST_NUMBER", "5")

    assert env_int("SAFAR_TEST_NUMBER", 50, minimum=5) == 5


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("SAFAR_TEST_LIST", " safar.example.org, ,www.safar.example.org ,")

    assert env_list("SAFAR_TEST_LIST", ["localhost"]) == ["safar.example.org", "www.safar.example.org"]


def test_env_list_falls_back_to_a_copy_of_the_default(monkeypatch):
    monkeypatch.delenv("SAFAR_TEST_LIST", raising=False)
    default = ["localhost"]

    value = env_list("SAFAR_TEST_LIST", default)

    assert value == ["localhost"]
    assert value is not default


def test_env_str_reads_the_variable_or_the_default(monkeypatch):
    monkeypatch.delenv("SAFAR_TEST_TEXT", raising=False)
    assert env_str("SAFAR_TEST_TEXT", "fallback") == "fallback"

    monkeypatch.setenv("SAFAR_TEST_TEXT", "Asia/Dushanbe")
    assert env_str("SAFAR_TEST_TEXT", "fallback") == "Asia/Dushanbe"


# --- parse_database_url ---------------------------------------------------------------------------


def test_a_sqlite_url_with_a_relative_path_is_inside_the_project(tmp_path):
    db = parse_database_url("sqlite:///data/safar.sqlite3", tmp_path)

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == str(tmp_path / "data" / "safar.sqlite3")


def test_a_sqlite_url_with_four_slashes_is_an_absolute_path(tmp_path):
    db = parse_database_url("sqlite:////var/lib/safar/db.sqlite3", tmp_path)

    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/var/lib/safar/db.sqlite3"


def test_a_sqlite_url_without_a_path_uses_the_default_file(tmp_path):
    db = parse_database_url("sqlite://", tmp_path)

    assert db["NAME"] == str(tmp_path / "db.sqlite3")


def test_a_postgres_url_gives_user_password_host_port_and_name(tmp_path):
    db = parse_database_url("postgres://safar:s%40cr%2Ft@db.example.org:5433/safar_prod", tmp_path)

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert db["NAME"] == "safar_prod"
    assert db["USER"] == "safar"
    assert db["PASSWORD"] == "s@cr/t"
    assert db["HOST"] == "db.example.org"
    assert db["PORT"] == "5433"


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "pgsql"])
def test_every_postgres_spelling_is_understood(tmp_path, scheme):
    db = parse_database_url(f"{scheme}://postgres@127.0.0.1/test", tmp_path)

    assert db["ENGINE"] == "django.db.backends.postgresql"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == ("postgres", "", "127.0.0.1", "", "test")


def test_query_parameters_become_database_options(tmp_path):
    db = parse_database_url("postgres://safar@db/safar?sslmode=require&connect_timeout=5", tmp_path)

    assert db["OPTIONS"] == {"sslmode": "require", "connect_timeout": "5"}


def test_a_postgres_url_without_a_database_name_is_refused(tmp_path):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_database_url("postgres://safar@db.example.org:5432/", tmp_path)

    assert "DATABASE_URL" in str(excinfo.value)


@pytest.mark.parametrize("url", ["mysql://root@localhost/safar", "oracle://x@y/z", "db.sqlite3", ""])
def test_an_unknown_scheme_is_refused_and_names_the_variable(tmp_path, url):
    with pytest.raises(ImproperlyConfigured) as excinfo:
        parse_database_url(url, tmp_path)

    assert "DATABASE_URL" in str(excinfo.value)


# --- the settings module as a whole, in a fresh process ------------------------------------------


def run_django(args, **variables):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env.update(variables)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    return subprocess.run(
        [sys.executable, *args], cwd=PROJECT, env=env, capture_output=True, text=True, timeout=120
    )


def production(**variables):
    values = {"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(64), "ALLOWED_HOSTS": "safar.example.org",
              "SAFAR_BASE_URL": "https://safar.example.org"}
    values.update(variables)
    return values


def test_production_settings_pass_check_deploy_without_warnings():
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **production())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("address", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]",
                                     "http://0.0.0.0:8000", "http://[::ffff:127.0.0.1]"])
def test_check_deploy_warns_when_the_manifests_qr_codes_would_open_a_loopback_address(address):
    result = run_django(["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                        **production(SAFAR_BASE_URL=address))

    assert result.returncode == 1
    assert f"(travel.W001) SAFAR_BASE_URL is {address}: the QR codes on printed manifests" in result.stderr


@pytest.mark.parametrize("variable, value, message", [
    # Before, "lots" passed every check and each API request then failed with a 500 (DRF parses the rate there).
    ("SAFAR_API_THROTTLE", "lots", "SAFAR_API_THROTTLE='lots' is not a rate: write a number of requests per "
                                   "second, minute, hour or day, e.g. 600/minute."),
    ("SAFAR_API_THROTTLE", "0/minute", "SAFAR_API_THROTTLE='0/minute' is not a rate"),
    ("SAFAR_API_THROTTLE", "600/fortnight", "SAFAR_API_THROTTLE='600/fortnight' is not a rate"),
    # Before, "Unable to configure root logger", naming no variable.
    ("LOG_LEVEL", "loud", "LOG_LEVEL='loud' is not a logging level: use one of DEBUG, INFO, WARNING, ERROR, "
                          "CRITICAL."),
])
def test_a_bad_rate_or_log_level_stops_the_process_and_names_the_variable(variable, value, message):
    result = run_django(["manage.py", "check"], **production(**{variable: value}))

    assert result.returncode != 0
    assert message in result.stderr


def test_rates_and_log_levels_are_read_as_written():
    script = ("from django.conf import settings; "
              "print(settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['user'], settings.LOGGING['root']['level'])")
    result = run_django(["-c", f"import django; django.setup(); {script}"],
                        **production(SAFAR_API_THROTTLE=" 30/Hour ", LOG_LEVEL="info"))

    assert result.stdout.strip() == "30/hour INFO", result.stderr


@pytest.mark.parametrize("raw", ["600/min", "100/h", "10/s", "5/sec", "2/days", "600/minute"])
def test_every_rate_the_api_throttle_takes_is_taken(monkeypatch, raw):
    # A value that worked before the check (DRF reads the period's first letter) still starts the server.
    from rest_framework.throttling import SimpleRateThrottle

    from config.env import env_rate

    monkeypatch.setenv("SAFAR_API_THROTTLE", raw)
    rate = env_rate("SAFAR_API_THROTTLE", "600/minute")
    assert SimpleRateThrottle.parse_rate(None, rate) == SimpleRateThrottle.parse_rate(None, raw)


def test_warn_is_a_log_level(monkeypatch):
    from config.env import env_log_level

    monkeypatch.setenv("LOG_LEVEL", "warn")
    assert env_log_level("LOG_LEVEL", "ERROR") == "WARNING"


def test_seed_demo_refuses_under_production_settings_unless_a_training_server_says_so(tmp_path):
    database = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"

    refused = run_django(["manage.py", "seed_demo"], **production(DATABASE_URL=database))

    assert refused.returncode == 1
    assert "Nothing was changed: seed_demo makes users whose password is public (safar-demo)" in refused.stderr
    assert "SAFAR_DEMO_DATA=1" in refused.stderr
    assert not (tmp_path / "fresh.sqlite3").exists() or (tmp_path / "fresh.sqlite3").stat().st_size == 0

    training = production(DATABASE_URL=database, SAFAR_DEMO_DATA="1")
    assert run_django(["manage.py", "migrate", "-v0"], **training).returncode == 0
    made = run_django(["manage.py", "seed_demo"], **training)

    assert made.returncode == 0, made.stderr
    assert "Demo data ready: 40 new case(s)" in made.stdout


def test_production_settings_turn_on_https_only_cookies_and_hsts():
    script = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.ALLOWED_HOSTS]))"
    )

    result = run_django(["-c", script], **production())

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [False, True, True, True, 31536000, ["safar.example.org"]]


def test_production_without_a_secret_key_refuses_to_start():
    variables = production()
    del variables["SECRET_KEY"]

    result = run_django(["manage.py", "check"], **variables)

    assert result.returncode != 0
    # One line that names the variable, not a traceback with the message at its foot.
    assert result.stderr.strip() == "Safar cannot start: SECRET_KEY must be set when DEBUG is off."


def test_production_with_the_development_key_refuses_to_start():
    result = run_django(
        ["manage.py", "check"], **production(SECRET_KEY="dev-only-insecure-key-do-not-use-in-production")
    )

    assert result.returncode != 0
    assert "SECRET_KEY is the development key" in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    variables = production()
    del variables["ALLOWED_HOSTS"]

    result = run_django(["manage.py", "check"], **variables)

    assert result.returncode != 0
    assert "ALLOWED_HOSTS must be set when DEBUG is off" in result.stderr


def test_a_misspelt_debug_value_stops_the_process_and_names_the_variable():
    result = run_django(["manage.py", "check"], DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_development_needs_no_variables_at_all():
    result = run_django(["manage.py", "check"])

    assert result.returncode == 0, result.stderr


DATABASE_OPTIONS = (
    "import json, django; django.setup(); from django.conf import settings as s; "
    "d = s.DATABASES['default']; "
    "print(json.dumps([d['ENGINE'], d['OPTIONS'].get('server_side_binding'), d['OPTIONS'].get('prepare_threshold')]))"
)


def test_postgresql_connections_bind_on_the_server_and_prepare_repeated_queries():
    result = run_django(["-c", DATABASE_OPTIONS], DATABASE_URL="postgres://safar@db.example.org/safar")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["config.postgresql", True, 5]


def test_prepared_statements_can_be_turned_off_for_a_connection_pooler():
    result = run_django(
        ["-c", DATABASE_OPTIONS], DATABASE_URL="postgres://safar@db.example.org/safar", SAFAR_DB_PREPARED_STATEMENTS="0"
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == ["django.db.backends.postgresql", None, None]


def test_no_setting_knows_the_demo_password():
    for path in (PROJECT / "config").glob("*.py"):
        assert "safar-demo" not in path.read_text(encoding="utf-8"), path


# --- what deploy/ schedules ---------------------------------------------------------------------------------


def test_every_scheduled_job_in_deploy_runs_a_command_that_exists_and_each_is_scheduled_both_ways():
    import re

    from django.core.management import get_commands

    deploy = PROJECT / "deploy"
    # The web server's unit runs gunicorn, kept running; every other unit is a daily job with its timer.
    web = (deploy / "safar-web.service").read_text()
    assert re.search(r"^ExecStart=\S+/gunicorn --config config/gunicorn\.conf\.py config\.wsgi$", web, re.M)
    assert re.findall(r"^ExecStartPre=\S+ manage\.py (\w+)", web, re.M) == ["check", "migrate", "collectstatic"]
    services = {path.stem: re.search(r"^ExecStart=.*manage\.py (\w+)", path.read_text(), re.M).group(1)
                for path in deploy.glob("*.service") if path.stem != "safar-web"}
    cron = re.findall(r"^[^#\n].*manage\.py (\w+)\s*$", (deploy / "crontab.example").read_text(), re.M)

    assert sorted(services.values()) == sorted(cron) == ["apply_retention", "refresh_readiness"]
    assert all(name in get_commands() for name in cron)
    for stem in services:
        assert (deploy / f"{stem}.timer").exists(), stem


def test_every_variable_the_settings_and_gunicorn_read_is_documented_in_the_readme():
    # An operator reads the README, not config/: GUNICORN_FORWARDED_ALLOW_IPS (needed when the proxy is on another
    # host), LOG_LEVEL and SAFAR_API_THROTTLE were read but not listed.
    import re

    read = set()
    for path in (PROJECT / "config").rglob("*.py"):
        read |= set(re.findall(r'(?:env_[a-z_]+|os\.environ\.get|os\.getenv)\(\s*"([A-Z][A-Z0-9_]+)"', path.read_text()))
    readme = (PROJECT / "README.md").read_text()

    assert {"DATABASE_URL", "GUNICORN_FORWARDED_ALLOW_IPS", "LOG_LEVEL"} <= read
    assert sorted(name for name in read if f"`{name}`" not in readme) == []
