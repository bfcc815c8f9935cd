"""The key journey in a real browser: Debian's Chromium driven by Playwright against a live server."""

import datetime
import os
import re
import shutil

import pytest
from django.db import connections
from django.utils import timezone

from movements import transitions
from orientation import services
from orientation.models import Session, SessionDay
from tests.conftest import PASSWORD, make_case, make_departure, ready_case

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.usefixtures("roles"),
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
# The machine has no network beyond package registries: keep Chromium from trying.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture
def browser():
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        # While Playwright's event loop runs, the ORM used a connection of that context; close it here, or it
        # outlives the test and PostgreSQL refuses to drop the test database.
        connections.close_all()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


def new_page(browser, width=1280, height=900):
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.set_default_timeout(15_000)
    return page


def log_in(page, live_server, user, path):
    page.goto(f"{live_server.url}{path}")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"{re.escape(path)}$"))


@pytest.mark.django_db(transaction=True)
def test_an_operations_officer_resolves_a_blocker_and_clears_a_case(live_server, browser, ops):
    case = make_case(2, visas=False)
    case = transitions.accept(case, by=ops)
    case = transitions.approve(case, by=ops)
    page = new_page(browser)
    log_in(page, live_server, ops, f"/cases/{case.case_number}/")

    readiness = page.get_by_test_id("readiness")
    assert "Not yet" in readiness.inner_text()
    assert "Karimi, Zahra — no visa / COPR reference recorded" in readiness.inner_text()
    assert page.get_by_role("button", name="Clear for travel").is_disabled()

    page.get_by_role("link", name="Edit case and members").click()
    page.fill("#id_members-0-visa_reference", "COPR-TEST-1")
    page.fill("#id_members-1-visa_reference", "COPR-TEST-2")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_url(re.compile(rf"/cases/{case.case_number}/$"))
    assert "Yes — every readiness requirement is met" in page.get_by_test_id("readiness").inner_text()

    page.get_by_role("button", name="Clear for travel").click()
    page.wait_for_url(re.compile(rf"/cases/{case.case_number}/$"))
    assert page.get_by_test_id("case-state").inner_text() == "Ready to travel"
    assert f"Case {case.case_number} cleared for travel." in page.locator(".messages").inner_text()
    assert "clear: Approved → Ready to travel" in page.locator(".timeline").inner_text()

    case.refresh_from_db()
    assert case.state == "ready"
    assert case.transitions.filter(transition="clear", user=ops).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_trainer_records_day_2_on_a_phone_and_the_case_page_shows_it(live_server, browser, ops, trainer):
    today = timezone.localdate()
    session = Session.objects.create(language="prs", location="IOM Dushanbe, room 2")
    session.trainers.add(trainer)
    for number in (1, 2, 3):
        SessionDay.objects.create(session=session, number=number, date=today + datetime.timedelta(days=number - 2))
    session.start()
    session.save()
    case = make_case(2, orientation=False)
    case = transitions.approve(transitions.accept(case, by=ops), by=ops)
    services.enrol_case(session, case, by=ops)
    services.record_roll_call(session.days.get(number=1), {e.pk: "present" for e in session.enrolments.all()},
                              by=trainer)

    phone = new_page(browser, width=390, height=844)
    log_in(phone, live_server, trainer, "/orientation/")
    phone.get_by_role("link", name=session.code).click()
    phone.get_by_role("link", name=re.compile(r"^Day 2")).click()
    phone.wait_for_url(re.compile(r"/days/2/$"))
    for row in phone.locator(".rc-row").all():
        row.get_by_text("Present", exact=True).click()
        assert row.locator("input[value=present]").is_checked()
    phone.get_by_role("button", name="Save day 2").click()
    phone.wait_for_url(re.compile(rf"/orientation/sessions/{session.code}/$"))
    assert "Day 2 saved: 2 recorded, 0 corrected, 0 unchanged." in phone.locator(".messages").inner_text()

    desk = new_page(browser)
    log_in(desk, live_server, ops, f"/cases/{case.case_number}/")
    notes = desk.get_by_test_id("member-note").all_inner_texts()
    assert notes == [f"Orientation {session.code} (in progress): 2 of 3 days attended"] * 2
    readiness = desk.get_by_test_id("readiness").inner_text()
    assert f"{session.code}: day 3 is on {(today + datetime.timedelta(days=1)).isoformat()}" in readiness


@pytest.mark.django_db(transaction=True)
def test_an_operations_officer_books_a_case_from_its_page_and_the_board_counts_the_seats(live_server, browser, ops):
    departure = make_departure(ops, seat_block=10)
    case = ready_case(ops, members=3)
    page = new_page(browser)
    log_in(page, live_server, ops, "/departures/")
    row = page.locator(f'tr[data-code="{departure.code}"]')
    assert row.get_by_test_id("seats").inner_text() == "0 / 10 of 10"

    page.goto(f"{live_server.url}/cases/{case.case_number}/")
    offer = page.get_by_test_id("book-on").locator(f'li[data-code="{departure.code}"]')
    assert "10 of 10 seats free" in offer.inner_text()
    offer.get_by_role("button", name=f"Book on {departure.code}").click()
    page.wait_for_url(re.compile(rf"/cases/{case.case_number}/$"))
    assert f"Case {case.case_number} booked on {departure.code}." in page.locator(".messages").inner_text()
    assert page.get_by_test_id("case-state").inner_text() == "Booked"
    assert departure.code in page.get_by_test_id("on-departure").inner_text()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Departures").click()
    page.wait_for_url(re.compile(r"/departures/$"))
    row = page.locator(f'tr[data-code="{departure.code}"]')
    assert row.get_by_test_id("seats").inner_text() == "3 / 7 of 10"
    assert "3 (3 adults, 0 children, 0 infants)" in row.get_by_test_id("passengers").inner_text()
