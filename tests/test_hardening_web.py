"""What the browser is told (hardening): nothing behind log-in is cached, a strict Content-Security-Policy that
the pages really keep, a Permissions-Policy, and log-ins that end with the browser."""

import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

from movements import transitions
from movements.middleware import CONTENT_SECURITY_POLICY
from orientation.models import Session, SessionDay
from tests.conftest import PASSWORD, make_case
from tests.test_referral_import import FAULTY, upload

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def case(ops):
    case = make_case(2)
    transitions.accept(case, by=ops)
    return transitions.hold(case, by=ops, reason="Security re-check", category="security")


@pytest.fixture
def session(trainer):
    session = Session.objects.create(language="prs", location="IOM Dushanbe, room 2")
    session.trainers.add(trainer)
    today = datetime.date.today()
    SessionDay.objects.bulk_create(
        [SessionDay(session=session, number=n, date=today - datetime.timedelta(days=3 - n)) for n in (1, 2, 3)]
    )
    return session


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def pages_for(ops, trainer, medic, superuser, case, session):
    """Every kind of page, as someone who may see it: the pages whose headers and markup these tests read."""
    ops_client = logged_in(ops)
    import_url = upload(ops_client, FAULTY, "faulty.csv").url
    person = case.members.first()
    return [
        (ops_client, "/"),
        (ops_client, "/cases/"),
        (ops_client, f"/cases/{case.case_number}/"),
        (ops_client, f"/cases/{case.case_number}/edit/"),
        (ops_client, f"/cases/{case.case_number}/members/{person.pk}/documents/"),
        (ops_client, "/cases/new/"),
        (ops_client, "/imports/"),
        (ops_client, import_url),
        (ops_client, "/orientation/"),
        (ops_client, f"/orientation/sessions/{session.code}/"),
        (ops_client, "/orientation/sessions/new/"),
        (ops_client, "/orientation/suggestions/"),
        (logged_in(trainer), f"/orientation/sessions/{session.code}/days/1/"),
        (logged_in(medic), "/medical/"),
        (logged_in(medic), f"/medical/people/{person.pk}/"),
        (logged_in(superuser), "/admin/"),
        (logged_in(superuser), "/admin/movements/case/"),
        (logged_in(superuser), f"/admin/movements/case/{case.pk}/change/"),
        (ops_client, "/no-such-page/"),
        (logged_in(trainer), "/imports/"),  # 403
    ]


@pytest.fixture
def pages(ops, trainer, medic, superuser, case, session):
    return pages_for(ops, trainer, medic, superuser, case, session)


# --- no caching behind log-in -------------------------------------------------------------------------------


def test_every_page_behind_log_in_tells_the_browser_to_keep_nothing(pages):
    for client, url in pages:
        response = client.get(url)
        cache_control = {part.strip() for part in response["Cache-Control"].split(",")}
        assert {"no-store", "private"} <= cache_control, (url, response["Cache-Control"])


def test_downloads_with_personal_data_are_not_cached_either(ops, trainer, session, superuser, case):
    sheet = logged_in(trainer).get(f"/orientation/sessions/{session.code}/attendance-sheet.pdf")
    export = logged_in(superuser).post("/admin/movements/case/export/", {
        "format": "0", "resource": "0", "caseresource_case_number": "on", "caseresource_state": "on",
    })

    for response in (sheet, export):
        assert response.status_code == 200
        assert {"no-store", "private"} <= {p.strip() for p in response["Cache-Control"].split(",")}


# --- Content-Security-Policy ----------------------------------------------------------------------------


def test_pages_carry_a_strict_content_security_policy(client, pages):
    for page_client, url in pages + [(client, "/accounts/login/")]:
        policy = page_client.get(url)["Content-Security-Policy"]
        assert policy == CONTENT_SECURITY_POLICY, url
    directives = dict(d.split(" ", 1) for d in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle=", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+=", re.I)


def test_our_pages_keep_the_policy_no_inline_script_style_or_event_handler(pages, client):
    # The admin's own pages are Django's (they keep the policy but for cosmetic inline styles in some views).
    ours = [(c, url) for c, url in pages if not url.startswith("/admin/")] + [(client, "/accounts/login/")]
    for page_client, url in ours:
        html = page_client.get(url).content.decode()
        assert not INLINE_SCRIPT.search(html), url
        assert not INLINE_STYLE.search(html), (url, INLINE_STYLE.search(html))
        assert not EVENT_HANDLER.search(html), url


def test_no_template_of_ours_holds_an_inline_style_or_script():
    for path in (PROJECT / "templates").rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert not INLINE_STYLE.search(text), path
        assert not INLINE_SCRIPT.search(text), path
        assert not EVENT_HANDLER.search(text), path


def test_the_dashboard_draws_its_bars_without_inline_styles(ops, case):
    html = logged_in(ops).get("/").content.decode()

    assert '<rect class="fill state-on_hold" width="100" height="1"/>' in html


def test_the_server_error_page_keeps_the_policy_and_the_sites_look():
    from django.template import loader

    html = loader.get_template("errors/500.html").render()

    assert '<link rel="stylesheet" href="/static/safar/safar.css">' in html
    assert not INLINE_STYLE.search(html)


# --- Permissions-Policy -------------------------------------------------------------------------------------


def test_camera_microphone_geolocation_and_other_features_are_denied(client, pages):
    for page_client, url in pages[:3] + [(client, "/accounts/login/")]:
        policy = page_client.get(url)["Permissions-Policy"]
        features = dict(item.split("=") for item in policy.split(", "))
        for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
            assert features[feature] == "()", (url, feature)


# --- sessions end with the browser --------------------------------------------------------------------------


def test_the_log_in_cookie_ends_when_the_browser_closes(client, ops):
    response = client.post("/accounts/login/", {"username": "olga", "password": PASSWORD})

    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["max-age"] == "" and cookie["expires"] == ""


def session_setting(**variables):
    env = {k: v for k, v in os.environ.items() if k != "SESSION_EXPIRE_AT_BROWSER_CLOSE"}
    env.update(variables, DJANGO_SETTINGS_MODULE="config.settings")
    script = "import django; django.setup(); from django.conf import settings; print(settings.SESSION_EXPIRE_AT_BROWSER_CLOSE)"
    return subprocess.run([sys.executable, "-c", script], cwd=PROJECT, env=env, capture_output=True, text=True,
                          timeout=60)


def test_sessions_end_with_the_browser_unless_the_environment_says_otherwise():
    assert session_setting().stdout.strip() == "True"
    assert session_setting(SESSION_EXPIRE_AT_BROWSER_CLOSE="0").stdout.strip() == "False"
    refused = session_setting(SESSION_EXPIRE_AT_BROWSER_CLOSE="sometimes")
    assert refused.returncode != 0 and "SESSION_EXPIRE_AT_BROWSER_CLOSE='sometimes' is not a boolean" in refused.stderr


# --- changing one's own password ------------------------------------------------------------------------------

NEW_PASSWORD = "long-enough-and-new-42"


def test_the_header_links_to_the_password_change_page(ops):
    page = logged_in(ops).get("/").content.decode()

    assert '<a class="link" href="/accounts/password_change/">Password</a>' in page


def test_a_user_changes_their_password_stays_logged_in_and_logs_in_with_the_new_one(ops):
    client = Client()
    assert client.post("/accounts/login/", {"username": "olga", "password": PASSWORD}).status_code == 302

    form = client.get("/accounts/password_change/")
    changed = client.post("/accounts/password_change/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })

    assert form.status_code == 200 and "Change your password" in form.content.decode()
    assert changed.status_code == 302 and changed["Location"] == "/accounts/password_change/done/"
    assert "Password changed" in client.get(changed["Location"]).content.decode()
    assert client.get("/").status_code == 200  # still logged in
    again = Client()
    assert again.post("/accounts/login/", {"username": "olga", "password": PASSWORD}).status_code == 200
    assert again.post("/accounts/login/", {"username": "olga", "password": NEW_PASSWORD}).status_code == 302


@pytest.mark.parametrize("old, new1, new2, message", [
    ("not-my-password", NEW_PASSWORD, NEW_PASSWORD, "Your old password was entered incorrectly"),
    (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "The two password fields didn’t match."),
    (PASSWORD, "12345678", "12345678", "This password is too common."),
    (PASSWORD, "short", "short", "This password is too short."),
])
def test_a_wrong_old_password_or_a_weak_new_one_is_refused_with_a_plain_message(ops, old, new1, new2, message):
    client = logged_in(ops)

    response = client.post("/accounts/password_change/",
                           {"old_password": old, "new_password1": new1, "new_password2": new2})

    assert response.status_code == 200
    assert message in response.content.decode()
    ops.refresh_from_db()
    assert ops.check_password(PASSWORD)


def test_visitors_who_are_not_logged_in_are_sent_to_log_in(client):
    response = client.get("/accounts/password_change/")

    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_the_admins_own_password_page_keeps_the_admins_look(superuser):
    page = logged_in(superuser).get("/admin/password_change/").content.decode()

    assert 'id="site-name"' in page and "Change your password" not in page


# --- a change the database stopped -------------------------------------------------------------------------------


def _deadlock():
    import psycopg
    from django.db import OperationalError

    try:
        raise psycopg.errors.DeadlockDetected("deadlock detected")
    except psycopg.Error as cause:
        error = OperationalError("deadlock detected")
        error.__cause__ = cause
        return error


@pytest.mark.parametrize("error", [_deadlock, lambda: __import__("django.db").db.OperationalError(
    "database is locked")])
def test_a_change_the_database_stopped_is_a_503_that_says_try_again(client, ops, monkeypatch, error):
    from movements import transitions
    from tests.conftest import make_case

    case = make_case(1)
    client.force_login(ops)

    def stopped(*args, **kwargs):
        raise error()

    monkeypatch.setattr(transitions, "perform", stopped)
    response = client.post(f"/cases/{case.case_number}/transition/", {"transition": "accept", "version": case.version})

    assert response.status_code == 503 and response["Retry-After"] == "5"
    page = response.content.decode()
    assert "Not saved: try again" in page and "the database stopped your change: it was most likely not saved" in page


def test_the_api_says_so_in_json(client, unhcr, monkeypatch):
    from rest_framework.authtoken.models import Token

    from exchange import api

    token = Token.objects.create(user=unhcr)

    def stopped(*args, **kwargs):
        raise _deadlock()

    monkeypatch.setattr(api, "parse_filter", stopped)
    response = client.get("/api/cases/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 503
    assert "try again" in response.json()["detail"]


def test_any_other_database_error_is_still_the_500_page(client, ops, monkeypatch):
    from django.db import OperationalError

    from movements import transitions
    from tests.conftest import make_case

    case = make_case(1)
    client.force_login(ops)
    client.raise_request_exception = False

    def broken(*args, **kwargs):
        raise OperationalError("no such table: movements_case")

    monkeypatch.setattr(transitions, "perform", broken)
    response = client.post(f"/cases/{case.case_number}/transition/", {"transition": "accept", "version": case.version})

    assert response.status_code == 500


def test_a_message_naming_a_person_waits_on_the_server_not_in_a_cookie(medic, case):
    """Django's default keeps messages in a signed cookie, which anyone holding it can read: "Travel medical needs of
    <name> saved." sat in the browser and in any proxy's log. They wait in the session now."""
    client = logged_in(medic)
    person = case.members.first()

    saved = client.post(f"/medical/people/{person.pk}/", {"needs-wheelchair": "WCHR"})

    assert saved.status_code == 302
    assert "messages" not in saved.cookies
    shown = client.get(saved["Location"])
    assert f"Travel medical needs of {person.full_name} saved." in shown.content.decode()
    assert "messages" not in shown.cookies
    # Shown once.
    assert "Travel medical needs of" not in client.get(saved["Location"]).content.decode()
