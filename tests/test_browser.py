"""The key journey in a real browser: Debian's Chromium driven by Playwright against a live server."""

import datetime
import os
import re
import shutil

import pytest
from playwright.sync_api import expect
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
    assert "No visa / COPR reference (2): Karimi: Zahra, Ahmad" in " ".join(readiness.inner_text().split())
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
    # A screen reader is told the outcome: the message is put into the (polite) live region once the page loaded.
    expect(page.locator("#announce-polite")).to_contain_text(f"Case {case.case_number} cleared for travel.")
    assert page.locator("#announce-assertive").text_content() == ""

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
    phone.get_by_role("link", name=session.code, exact=True).click()
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
    assert row.get_by_test_id("seats").inner_text() == "0 used, 10 free of 10"

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
    assert row.get_by_test_id("seats").inner_text() == "3 used, 7 free of 10"
    assert "3 (3 adults, 0 children, 0 infants)" in row.get_by_test_id("passengers").inner_text()


def _shot(page, name):
    """Screenshots for a person to look at, when SAFAR_SCREENSHOTS names a folder (the suite does not need them)."""
    folder = os.environ.get("SAFAR_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=name.endswith("-full"))


@pytest.mark.django_db(transaction=True)
def test_the_demo_escort_boards_todays_departure_on_a_phone(live_server, browser):
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from movements.models import Case
    from travel.models import Departure, Passenger

    call_command("seed_demo", stdout=open(os.devnull, "w"))
    today = Departure.objects.get(state="final", escorts__username="escort", departure_date=timezone.localdate())
    families = []
    for case in Case.objects.filter(bookings__departure=today).order_by("case_number"):
        members = list(Passenger.objects.filter(booking__case=case, active=True).select_related("person")
                       .order_by("person__date_of_birth"))
        families.append((case, members))
    (first, first_people), (second, second_people), (third, third_people) = families[:3]
    phone = new_page(browser, width=390, height=844)
    phone.on("dialog", lambda dialog: dialog.accept())  # "Take the whole family off?", "Close boarding?"
    escort = User.objects.get(username="escort")
    phone.goto(f"{live_server.url}/accounts/login/")
    phone.fill("#id_username", escort.username)
    phone.fill("#id_password", "safar-demo")
    phone.click("button[type=submit]")
    phone.wait_for_url(re.compile(r"/$"))

    card = phone.get_by_test_id("escort-departures").locator(f'li[data-code="{today.code}"]')
    assert "today" in card.inner_text()
    card.get_by_role("link", name="Boarding now").click()
    phone.wait_for_url(re.compile(rf"/departures/{today.code}/boarding/$"))
    total = sum(len(people) for _, people in families)
    assert phone.get_by_test_id("boarding-count").inner_text() == f"boarded 0 of {total} · 0 no-show · {total} waiting"
    _shot(phone, "boarding-1-start")

    # The first family, found by its name: everyone boards; one mark is undone (wrong name tapped), then made again.
    phone.get_by_role("searchbox").fill(first_people[0].person.family_name.lower())
    phone.get_by_role("button", name="Find").click()
    family = phone.locator(f'article[data-case="{first.case_number}"]')
    for passenger in first_people:
        family.locator(f'li[data-person="{passenger.person_id}"]').get_by_role("button", name="Mark boarded").click()
        phone.wait_for_load_state()
    assert family.get_by_test_id("family-count").inner_text() == f"{len(first_people)} of {len(first_people)} boarded"
    _shot(phone, "boarding-2-family-boarded")
    row = family.locator(f'li[data-person="{first_people[0].person_id}"]')
    row.locator("summary", has_text="Undo…").click()
    row.get_by_label("Why undo this mark? (required)").fill("Tapped the wrong name: she is still at check-in")
    row.get_by_role("button", name=re.compile(r"^Undo: ")).click()
    phone.wait_for_load_state()
    row = phone.locator(f'li[data-person="{first_people[0].person_id}"]')
    assert row.get_by_role("button", name="Mark boarded").is_visible()
    assert "waiting again" in family.locator(".msg").inner_text()
    _shot(phone, "boarding-3-undone")
    row.get_by_role("button", name="Mark boarded").click()
    phone.wait_for_load_state()

    # The second family, found by its case number: one member does not come; the family stays behind.
    phone.get_by_role("searchbox").fill(second.case_number)
    phone.get_by_role("button", name="Find").click()
    family = phone.locator(f'article[data-case="{second.case_number}"]')
    family.locator(f'li[data-person="{second_people[-1].person_id}"]').get_by_role(
        "button", name="Mark no‑show").click()
    phone.wait_for_load_state()
    assert f"No-show: {second_people[-1].person.given_name}" in family.get_by_test_id("decision").inner_text()
    _shot(phone, "boarding-4-no-show")
    family.get_by_test_id("stays-behind").click()
    phone.wait_for_load_state()
    assert f"Case {second.case_number} stays behind" in phone.locator(".messages").inner_text()

    # The third family boards; then boarding closes.
    phone.goto(f"{live_server.url}/departures/{today.code}/boarding/?case={third.case_number}")
    for passenger in third_people:
        phone.locator(f'li[data-person="{passenger.person_id}"]').get_by_role("button", name="Mark boarded").click()
        phone.wait_for_load_state()
    phone.get_by_role("link", name=re.compile(r"^Show all")).click()
    boarded = len(first_people) + len(third_people)
    assert phone.get_by_test_id("boarding-count").inner_text() == f"boarded {boarded} of {boarded} · 0 no-show · 0 waiting"
    assert f"Case {second.case_number} stays behind" in phone.get_by_test_id("changes").inner_text()
    _shot(phone, "boarding-5-ready-to-close-full")
    phone.get_by_role("button", name=re.compile(r"^Close boarding — ")).click()
    phone.wait_for_url(re.compile(rf"/departures/{today.code}/arrival/$"))
    assert "Boarding closed" in phone.locator(".messages").inner_text()
    _shot(phone, "boarding-6-closed")

    desk = new_page(browser)
    desk.goto(f"{live_server.url}/accounts/login/?next=/cases/{first.case_number}/")
    desk.fill("#id_username", "ops")
    desk.fill("#id_password", "safar-demo")
    desk.click("button[type=submit]")
    desk.wait_for_url(re.compile(rf"/cases/{first.case_number}/$"))
    assert desk.get_by_test_id("case-state").inner_text() == "Departed"
    for case, state in ((third, "Departed"), (second, "Ready to travel")):
        desk.goto(f"{live_server.url}/cases/{case.case_number}/")
        assert desk.get_by_test_id("case-state").inner_text() == state
    assert f"Incident on {today.code}: no-show at DYU" in desk.locator(".timeline").inner_text()
    assert Departure.objects.get(pk=today.pk).state == "departed"
