"""Brute-force protection of the log-in (hardening): a tester sent 204 wrong passwords for `admin` in a minute
and every one was answered. Now a user name, or an address, is paused after a few failures."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.management import call_command

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

# 09:00 in Dushanbe (UTC+5): the lockout page speaks in the mission's time.
NINE_IN_DUSHANBE = datetime.datetime(2026, 11, 20, 4, 0, tzinfo=datetime.timezone.utc)


@pytest.fixture(autouse=True)
def five_failures_and_fifteen_minutes(settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=15)


@pytest.fixture
def frozen():
    with time_machine.travel(NINE_IN_DUSHANBE, tick=False) as traveller:
        yield traveller


def log_in(client, username, password, address="203.0.113.7", url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=address)


def fail(client, username, times, address="203.0.113.7"):
    return [log_in(client, username, "wrong-password", address) for _ in range(times)]


def test_four_wrong_passwords_are_answered_as_before(client, superuser, frozen):
    responses = fail(client, "root", 4)

    assert [r.status_code for r in responses] == [200] * 4
    assert "Please enter a correct" in responses[-1].content.decode()
    assert log_in(client, "root", PASSWORD).status_code == 302


def test_the_fifth_wrong_password_pauses_the_user_name_and_says_until_when(client, superuser, frozen):
    *_, fifth = fail(client, "root", 5)

    assert fifth.status_code == 429
    page = fifth.content.decode()
    assert "Log-in paused" in page
    assert 'data-testid="locked-until"><time datetime="2026-11-20T09:15:00+05:00">09:15</time>' in page
    assert "(in about 15 minutes)" in page


def test_while_paused_even_the_right_password_is_refused_and_the_time_does_not_move(client, superuser, frozen):
    fail(client, "root", 5)
    frozen.shift(datetime.timedelta(minutes=10))

    response = log_in(client, "root", PASSWORD)

    assert response.status_code == 429
    assert "09:15</time>" in response.content.decode() and "(in about 5 minutes)" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_after_the_cool_off_the_right_password_logs_in(client, superuser, frozen):
    fail(client, "root", 5)
    frozen.shift(datetime.timedelta(minutes=16))

    response = log_in(client, "root", PASSWORD)

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(superuser.pk)


def test_the_user_name_is_paused_from_every_address(client, superuser, frozen):
    for n in range(5):
        fail(client, "root", 1, address=f"198.51.100.{n}")

    assert log_in(client, "root", PASSWORD, address="192.0.2.99").status_code == 429


def test_an_address_trying_many_user_names_is_paused_for_all_of_them(client, ops, frozen):
    for name in ["admin", "root", "ops", "test", "olga2"]:
        log_in(client, name, "wrong-password", address="198.51.100.66")

    assert log_in(client, "olga", PASSWORD, address="198.51.100.66").status_code == 429
    assert log_in(client, "olga", PASSWORD, address="192.0.2.10").status_code == 302


def test_the_admins_log_in_page_is_paused_too(client, superuser, frozen):
    responses = [log_in(client, "root", "wrong-password", url="/admin/login/") for _ in range(5)]

    assert responses[-1].status_code == 429
    assert log_in(client, "root", PASSWORD, url="/admin/login/").status_code == 429


def test_the_reset_command_lifts_the_pause(client, superuser, frozen):
    fail(client, "root", 5)

    call_command("axes_reset_username", "root")

    assert log_in(client, "root", PASSWORD).status_code == 302


def test_an_administrator_lifts_the_pause_in_the_admin(client, ops, superuser, frozen):
    fail(client, "olga", 5)
    attempt = AccessAttempt.objects.get(username="olga")
    admin = type(client)()
    admin.force_login(superuser)

    listing = admin.get("/admin/axes/accessattempt/")
    deleted = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})

    assert listing.status_code == 200 and "olga" in listing.content.decode()
    assert deleted.status_code == 302
    assert log_in(client, "olga", PASSWORD).status_code == 302


def test_the_failed_passwords_are_not_stored(client, superuser, frozen):
    fail(client, "root", 2)

    attempt = AccessAttempt.objects.get(username="root")
    assert "wrong-password" not in attempt.post_data
    assert attempt.failures_since_start == 2


def test_a_successful_log_in_forgets_earlier_typos(client, superuser, frozen):
    fail(client, "root", 4)
    assert log_in(client, "root", PASSWORD).status_code == 302
    client.logout()

    assert [r.status_code for r in fail(client, "root", 4)] == [200] * 4


def test_behind_the_proxy_the_address_it_appended_is_the_one_counted(client, ops, settings, frozen):
    settings.SAFAR_CLIENT_ADDRESS_FROM_PROXY = True
    for forged in ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"]:
        client.post("/accounts/login/", {"username": f"nobody{forged}", "password": "x"}, REMOTE_ADDR="10.0.0.1",
                    HTTP_X_FORWARDED_FOR=f"{forged}, 198.51.100.7")

    assert AccessAttempt.objects.filter(ip_address="198.51.100.7").count() == 5
    blocked = client.post("/accounts/login/", {"username": "olga", "password": PASSWORD}, REMOTE_ADDR="10.0.0.1",
                          HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert blocked.status_code == 429


# --- settings from the environment -------------------------------------------------------------------------

PROJECT = Path(__file__).resolve().parent.parent


def settings_in_a_fresh_process(**variables):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SAFAR_LOGIN_")}
    env.update(variables, DJANGO_SETTINGS_MODULE="config.settings")
    script = ("import django; django.setup(); from django.conf import settings as s; "
              "print(s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME.total_seconds(), s.AXES_LOCKOUT_PARAMETERS)")
    return subprocess.run([sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_the_limits_default_to_five_failures_and_fifteen_minutes_by_user_name_and_by_address():
    result = settings_in_a_fresh_process()

    assert result.stdout.strip() == "5 900.0 ['username', 'ip_address']", result.stderr


def test_the_limits_and_what_is_counted_come_from_the_environment():
    result = settings_in_a_fresh_process(SAFAR_LOGIN_FAILURE_LIMIT="10", SAFAR_LOGIN_COOLOFF_MINUTES="60",
                                         SAFAR_LOGIN_LOCKOUT_BY="username+ip_address")

    assert result.stdout.strip() == "10 3600.0 [['username', 'ip_address']]", result.stderr


@pytest.mark.parametrize("variable, value, message", [
    ("SAFAR_LOGIN_FAILURE_LIMIT", "0", "SAFAR_LOGIN_FAILURE_LIMIT=0 is below the minimum of 1."),
    ("SAFAR_LOGIN_COOLOFF_MINUTES", "soon", "SAFAR_LOGIN_COOLOFF_MINUTES='soon' is not a whole number."),
    ("SAFAR_LOGIN_LOCKOUT_BY", "password", "SAFAR_LOGIN_LOCKOUT_BY='password' is not a list of username, "
                                           "ip_address, username+ip_address"),
])
def test_a_bad_lockout_setting_stops_the_process_and_names_the_variable(variable, value, message):
    result = settings_in_a_fresh_process(**{variable: value})

    assert result.returncode != 0
    assert message in result.stderr


# --- log-out ---------------------------------------------------------------------------------------------------


def test_the_log_out_address_typed_in_asks_rather_than_logging_out_or_answering_405(client, ops):
    client.force_login(ops)

    asked = client.get("/accounts/logout/")

    assert asked.status_code == 200
    assert '<h1>Log out of Safar?</h1>' in asked.content.decode()
    assert client.get("/").status_code == 200  # still logged in: a GET (a link, an image) logs nobody out
    done = client.post("/accounts/logout/")
    assert done.status_code == 302 and done["Location"] == "/accounts/login/"
    # A shared computer's browser forgets what it kept of the pages read.
    assert done["Clear-Site-Data"] == '"cache", "storage"'
    assert client.get("/").status_code == 302


def test_the_log_out_address_sends_someone_not_logged_in_to_the_log_in_page(client, db):
    answer = client.get("/accounts/logout/")

    assert answer.status_code == 302 and answer["Location"] == "/accounts/login/"
