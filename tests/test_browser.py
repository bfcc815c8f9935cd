"""The key journey in a real browser: Debian's Chromium driven by Playwright against a live server."""

import os
import re
import shutil

import pytest
from django.db import connections

from tests.conftest import PASSWORD, make_case
from movements import transitions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (apt-get install chromium)"),
]
# The machine has no network beyond package registries: keep Chromium from trying.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture
def browser_page():
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes are still synchronous.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(15_000)
        yield page
        # While Playwright's event loop runs, the ORM used a connection of that context; close it here, or it
        # outlives the test and PostgreSQL refuses to drop the test database.
        connections.close_all()
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.mark.django_db(transaction=True)
def test_an_operations_officer_resolves_a_blocker_and_clears_a_case(live_server, browser_page, ops):
    case = make_case(2, visas=False)
    case = transitions.accept(case, by=ops)
    case = transitions.approve(case, by=ops)
    page = browser_page

    page.goto(f"{live_server.url}/cases/{case.case_number}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", ops.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(rf"/cases/{case.case_number}/$"))

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
