"""The working day in a real browser, one journey per role: operations from "flies in 14 days and blocked" to a
resolved blocker, a medical officer from their work list to a cleared certificate, a trainer on a phone to today's
roll call in one tap. Waits on elements, never on time."""

import datetime
import re

import pytest
import time_machine
from django.utils import timezone

from movements import readiness, transitions
from movements.models import Case, TravelMedicalNeeds
from orientation.models import Session, SessionDay
from tests.conftest import PASSWORD, book, make_case, make_departure, next_arrival_day, ready_case
from tests.test_browser import CHROMIUM, browser, new_page  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("roles"),
              pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="no chromium")]


def log_in_from_the_door(page, live_server, user):
    """Log in from the login page itself, as a person starting the day does; return where they land."""
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page.url.removeprefix(live_server.url)


@pytest.mark.django_db(transaction=True)
def test_ops_goes_from_flies_in_14_days_and_blocked_to_a_resolved_grouped_blocker(live_server, browser, ops):
    case = transitions.approve(transitions.accept(make_case(3, visas=False), by=ops), by=ops)
    case.planned_travel_date = timezone.localdate() + datetime.timedelta(days=6)
    case.save()
    readiness.refresh_snapshot(Case.objects.get(pk=case.pk))
    first = case.members.order_by("id").first()

    page = new_page(browser)
    assert log_in_from_the_door(page, live_server, ops) == "/"
    card = page.get_by_test_id("flies-soon")
    assert "Flies in the next 14 days and blocked 1" in " ".join(card.inner_text().split())
    page.get_by_test_id("flies-soon-link").click()
    page.wait_for_url(re.compile(r"/cases/\?flies_within=14"))
    page.get_by_role("link", name=case.case_number).click()
    page.wait_for_url(re.compile(rf"/cases/{case.case_number}/$"))

    group = page.locator('[data-testid=readiness] li[data-code="visa_missing"]')
    assert "No visa / COPR reference (3): Karimi: Zahra, Ahmad, Omid" in " ".join(group.inner_text().split())
    group.get_by_role("link", name="Zahra").click()
    page.wait_for_url(re.compile(rf"/cases/{case.case_number}/edit/#member-{first.pk}$"))
    for index in range(3):
        page.fill(f"#id_members-{index}-visa_reference", f"COPR-7{index}")
    page.get_by_role("button", name="Save changes").click()
    # (The browser keeps the link's #member-… across the redirect back to the case.)
    page.wait_for_url(re.compile(rf"/cases/{case.case_number}/(#member-\d+)?$"))
    assert "Yes — every readiness requirement is met" in page.get_by_test_id("readiness").inner_text()


@pytest.mark.django_db(transaction=True)
def test_a_medic_lands_on_the_work_list_and_clears_a_pregnancy_certificate(live_server, browser, ops, medic,
                                                                          settings):
    # The certificate is issued "within the hours before departure": widen that window so that the departure,
    # the next day Canada receives refugees (up to a week ahead), is within it today.
    settings.SAFAR_PREGNANCY_CERTIFICATE_HOURS = 24 * 9
    day = next_arrival_day(timezone.localdate() + datetime.timedelta(days=1))
    with time_machine.travel(timezone.now() - datetime.timedelta(days=30)):
        # Booked a month ago (booking deadlines hold then); the mother was 29 weeks pregnant.
        case = ready_case(ops, members=2)
        mother = case.members.get(relationship="PA")
        TravelMedicalNeeds.objects.create(person=mother, pregnancy_weeks=29, pregnancy_weeks_on=timezone.localdate())
        book(case, ops, make_departure(ops, day=day))
    readiness.refresh_snapshot(Case.objects.get(pk=case.pk))

    page = new_page(browser)
    assert log_in_from_the_door(page, live_server, medic) == "/medical/"
    item = page.locator('[data-testid=work-list] tr[data-code="pregnancy_certificate"]')
    assert "Fit-to-fly certificate for pregnancy due" in item.inner_text()
    item.get_by_role("link", name="Open record").click()
    page.wait_for_url(re.compile(rf"/medical/people/{mother.pk}/$"))
    issued = timezone.localtime().replace(second=0, microsecond=0) - datetime.timedelta(minutes=5)
    page.fill("#id_needs-fit_to_fly_certificate_at", issued.strftime("%Y-%m-%dT%H:%M"))
    page.locator("form:has(#id_needs-fit_to_fly_certificate_at) button[type=submit]").click()
    page.wait_for_url(re.compile(rf"/medical/people/{mother.pk}/$"))
    assert "saved" in page.locator(".messages").inner_text()

    page.goto(f"{live_server.url}/medical/")
    page.get_by_role("heading", name=re.compile("Medical work list")).wait_for()
    assert page.locator('tr[data-code="pregnancy_certificate"]').count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_trainer_on_a_phone_opens_todays_roll_call_in_one_tap(live_server, browser, trainer):
    today = timezone.localdate()
    session = Session.objects.create(language="prs", location="IOM Dushanbe, room 2")
    session.trainers.add(trainer)
    for number in (1, 2, 3):
        SessionDay.objects.create(session=session, number=number, date=today + datetime.timedelta(days=number - 2))
    session.start()
    session.save()

    phone = new_page(browser, width=390, height=844)
    assert log_in_from_the_door(phone, live_server, trainer) == "/orientation/"
    phone.get_by_role("link", name=re.compile(r"^Today's roll call")).click()
    phone.wait_for_url(re.compile(rf"/orientation/sessions/{session.code}/days/2/$"))
    assert phone.locator("h1").inner_text().startswith(f"{session.code} · Day 2")
