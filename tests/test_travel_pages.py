"""The departure board, a departure's page, the case page's travel panel, the admin — per role, with bad input
refused by a clear message that saves nothing, and a fixed number of queries whatever the size."""

import datetime
import html
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from movements.models import Case, TravelMedicalNeeds
from movements.once import new_token
from tests.conftest import complete_orientation, make_case, make_departure, page_text, ready_case, tk_legs
from travel import services
from travel.access import may_see_departure, visible_departures
from travel.models import Booking, Departure, Leg

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 5, tzinfo=datetime.timezone.utc)
FLIGHT_DAY = datetime.date(2026, 12, 9)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def flight(ops, escort):
    departure = make_departure(ops, day=FLIGHT_DAY, escorts=[escort])
    case = ready_case(ops, members=3)
    omid = case.members.get(given_name="Omid")
    type(omid).objects.filter(pk=omid.pk).update(date_of_birth=datetime.date(2025, 8, 1), special_needs="INFT")
    TravelMedicalNeeds.objects.create(person=case.members.get(given_name="Ahmad"), wheelchair="WCHR")
    services.book_case(departure, case, by=ops)
    return departure


def get(client, user, url):
    client.force_login(user)
    return client.get(url)


# --- who sees what ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role, status", [("operations", 200), ("escort", 200), ("medical", 404), ("trainer", 404),
                                          ("unhcr", 404)])
def test_each_role_gets_the_expected_answer_from_the_departure_pages(client, personas, flight, role, status):
    client.force_login(personas[role])

    assert client.get("/departures/").status_code == status
    assert client.get(f"/departures/{flight.code}/").status_code == status


@pytest.mark.parametrize("role", ["medical", "trainer", "unhcr", "escort"])
def test_roles_that_do_not_plan_get_no_planning_page(client, personas, role):
    client.force_login(personas[role])

    assert client.get("/departures/new/").status_code in (403, 404)


def test_a_missing_departure_and_a_hidden_one_look_the_same(client, trainer, flight):
    client.force_login(trainer)

    hidden, missing = client.get(f"/departures/{flight.code}/"), client.get("/departures/DEP-NOPE/")

    assert hidden.status_code == missing.status_code == 404


def test_an_escort_sees_only_the_departures_assigned_to_them(client, ops, escort, flight):
    other = make_departure(ops, day=datetime.date(2026, 12, 10))
    client.force_login(escort)

    board = page_text(client.get("/departures/"))
    assert flight.code in board and other.code not in board
    assert client.get(f"/departures/{other.code}/").status_code == 404
    assert client.post(f"/departures/{flight.code}/finalise/").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(client, flight):
    for url in ("/departures/", f"/departures/{flight.code}/"):
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_departures_are_in_the_navigation_of_operations_and_escorts_only(client, personas):
    for role, shown in [("operations", True), ("escort", True), ("medical", False), ("trainer", False),
                        ("unhcr", False)]:
        client.force_login(personas[role])
        page = page_text(client.get("/"))
        assert ('href="/departures/"' in page) == shown, role


def test_an_escorts_dashboard_lists_their_departures(client, escort, flight):
    page = page_text(get(client, escort, "/"))

    assert "Your departures" in page
    assert flight.code in page
    assert "3 passengers (2 adults, 1 infant)" in page


# --- the board ----------------------------------------------------------------------------------------------------


def test_the_board_shows_date_route_seats_passengers_blockers_and_escorts(client, ops, flight):
    page = page_text(get(client, ops, "/departures/"))

    row = re.search(rf'<tr data-code="{flight.code}">(.*?)</tr>', page, re.S).group(1)
    assert "Wed 09 Dec 2026" in row
    assert "DYU → IST → YYZ" in row
    assert re.search(r"<strong>2</strong> used, 18 free <small>of 20</small>", row)  # the infant sits on a lap
    assert "(2 adults, 0 children, 1 infant)" in row
    assert "Eraj" in row or "eraj" in row
    assert "none" in row  # no blockers


def test_the_board_says_what_blocks_a_departure(client, ops):
    departure = make_departure(ops, legs=tk_legs(
        datetime.date(2026, 12, 11)))  # lands in Toronto on a Friday
    page = page_text(get(client, ops, "/departures/"))

    row = re.search(rf'<tr data-code="{departure.code}">(.*?)</tr>', page, re.S).group(1)
    assert "arrives on a Friday" in row


def test_the_board_filters_by_state_and_month(client, ops, flight):
    planned = make_departure(ops, day=datetime.date(2027, 1, 13), state="planned")
    client.force_login(ops)

    december = page_text(client.get("/departures/?month=2026-12"))
    planned_only = page_text(client.get("/departures/?state=planned"))
    bad = client.get("/departures/?month=soon")

    assert flight.code in december and planned.code not in december
    assert planned.code in planned_only and flight.code not in planned_only
    assert bad.status_code == 200 and "Give a month as YYYY-MM" in page_text(bad)


# --- a departure's page ---------------------------------------------------------------------------------------------


def test_a_departures_page_shows_local_times_with_their_time_zones(client, ops, flight):
    page = page_text(get(client, ops, f"/departures/{flight.code}/"))

    assert "Wed 09 Dec 2026 05:45</time><br><small class=\"tz\" title=\"Asia/Dushanbe\">UTC+05:00 · Asia/Dushanbe" in page
    assert "Wed 09 Dec 2026 18:05</time><br><small class=\"tz\" title=\"America/Toronto\">EST · America/Toronto" in page
    assert "Toronto Pearson International Airport" in page


def test_a_departures_page_lists_booked_families_their_types_and_ssr_counts(client, ops, flight):
    page = page_text(get(client, ops, f"/departures/{flight.code}/"))

    assert "Karimi, Zahra" in page and "Karimi, Omid" in page
    assert '<td data-label="Type"><span>infant</span></td>' in page
    assert "INFT × 1" in page and "WCHR × 1" in page
    assert "Notification of arrival due by" in page
    assert "booked" in page and "Case " in page  # the history


def test_the_departures_history_and_the_cases_timeline_name_what_happened_in_words(client, ops, flight):
    case = Booking.objects.get(departure=flight).case
    services.finalise_departure(flight, by=ops)
    page = page_text(get(client, ops, f"/departures/{flight.code}/"))
    history = page[page.index('id="h-history"'):]

    assert f"<strong>made final</strong>: {flight.code} made final" in history
    assert "<strong>opened</strong>: " in history and "<strong>booked</strong>: Case " in history
    assert not re.search(r"<strong>[a-z]+_[a-z_]+</strong>", history)  # no code names
    timeline = page_text(client.get(f"/cases/{case.case_number}/"))
    assert "<strong>data</strong>" not in timeline and "<strong>book</strong>: " in timeline


def test_a_members_exclusion_is_dated_in_the_missions_time_zone(client, ops, flight):
    case = Booking.objects.get(departure=flight).case
    # 02:30 on 22 November in Dushanbe, still the 21st in UTC.
    at = datetime.datetime(2026, 11, 21, 21, 30, tzinfo=datetime.timezone.utc)
    services.exclude_member(case.members.get(given_name="Ahmad"), by=ops, reason="IRCC refused him", at=at)
    client.force_login(ops)

    page = page_text(client.get(f"/cases/{case.case_number}/"))

    assert "Not travelling (split decision, 2026-11-22)" in page


def test_a_members_exclusion_shows_on_the_case_and_the_departure_with_the_reason_for_operations_only(
        client, ops, escort, flight):
    case = Booking.objects.get(departure=flight).case
    ahmad = case.members.get(given_name="Ahmad")
    client.force_login(ops)

    response = client.post("/departures/exclusions/new/", {"person": ahmad.pk, "reason": "IRCC refused him"})

    assert response.status_code == 302
    case_page = page_text(client.get(f"/cases/{case.case_number}/"))
    assert "Not travelling (split decision)" in case_page and "IRCC refused him" in case_page
    ops_view = page_text(client.get(f"/departures/{flight.code}/"))
    assert "Not travelling (split decision): <strong>Karimi, Ahmad</strong> — <q>IRCC refused him</q>" in ops_view
    escort_view = page_text(get(client, escort, f"/departures/{flight.code}/"))
    assert "<strong>Karimi, Ahmad</strong>" in escort_view and "IRCC refused him" not in escort_view


def test_an_escort_reads_no_medical_blocker_in_full(client, ops, escort, flight):
    case = Booking.objects.get(departure=flight).case
    case.refresh_from_db()
    from movements import readiness

    readiness.refresh_snapshot(case)  # booked: the fit-to-travel check is still to do (a medical matter)

    ops_view = page_text(get(client, ops, f"/departures/{flight.code}/"))
    escort_view = page_text(get(client, escort, f"/departures/{flight.code}/"))
    assert "no passing fit-to-travel check" in ops_view
    assert "no passing fit-to-travel check" not in escort_view
    assert "medical clearance for travel pending" in escort_view


def test_operations_move_a_departure_from_its_page(client, ops, flight):
    client.force_login(ops)

    response = client.post(f"/departures/{flight.code}/finalise/", {"version": flight.version}, follow=True)

    assert Departure.objects.get(pk=flight.pk).state == "final"
    assert f"{flight.code} is now final (passenger list locked)." in page_text(response)
    refused = client.post(f"/departures/{flight.code}/reopen/", {"version": flight.version + 1, "reason": ""},
                          follow=True)
    assert "Give a reason: a final departure is not reopened without one." in page_text(refused)


def test_an_exception_is_recorded_from_the_departures_page(client, ops):
    departure = make_departure(ops, legs=tk_legs(
        datetime.date(2026, 12, 11)))
    client.force_login(ops)

    client.post(f"/departures/{departure.code}/exceptions/", {
        "rule": "arrival_day", "granted_by": "IRCC ROC-O", "reference": "R-1", "reason": "Sponsor receives on Friday"})

    page = page_text(client.get(f"/departures/{departure.code}/"))
    assert "Exceptions recorded" in page and "granted by IRCC ROC-O (ref. R-1)" in page
    assert 'data-code="arrival_day"' not in page


def test_a_refused_exception_comes_back_filled_in_with_what_was_typed_once(client, ops):
    departure = make_departure(ops, legs=tk_legs(datetime.date(2026, 12, 11)))
    typed = {"rule": "arrival_day", "granted_by": "IRCC ROC-O", "reference": "R-1", "reason": "Sponsor receives"}
    client.force_login(ops)
    client.post(f"/departures/{departure.code}/exceptions/", typed)

    response = client.post(f"/departures/{departure.code}/exceptions/", typed, follow=True)  # recorded already

    page = response.content.decode()
    assert "already" in page_text(response)
    form = response.context["exception_form"]
    assert {name: form[name].value() for name in typed} == typed
    assert '<details open><summary>Record an exception granted by the destination</summary>' in page
    again = client.get(f"/departures/{departure.code}/")  # read once: the next drawing is blank
    assert again.context["exception_form"]["granted_by"].value() is None


def test_a_cancellation_refused_for_a_page_out_of_date_keeps_the_reason_typed(client, ops):
    departure = make_departure(ops, legs=tk_legs(datetime.date(2026, 12, 10)))
    client.force_login(ops)
    reason = "IRCC moved the families to the January flight"

    # A version the departure no longer has: someone else changed it while the reason was typed.
    refused = client.post(f"/departures/{departure.code}/cancel/", {"version": departure.version + 1,
                                                                     "reason": reason}, follow=True)

    assert Departure.objects.get(pk=departure.pk).state == "open"
    assert f'<textarea id="reason-cancel" name="reason" rows="2" required maxlength="2000">{reason}</textarea>' in (
        refused.content.decode())
    assert f">{reason}</textarea>" not in client.get(f"/departures/{departure.code}/").content.decode()  # once


# --- the case page's panel -----------------------------------------------------------------------------------------


def test_book_on_lists_open_departures_and_shows_why_one_cannot_take_the_case(client, ops, flight):
    case = ready_case(ops, members=2, ime_date=datetime.date(2025, 12, 5))  # valid until 2026-12-04
    early = make_departure(ops, day=datetime.date(2026, 12, 2))
    page = page_text(get(client, ops, f"/cases/{case.case_number}/"))

    assert f'data-code="{early.code}"' in page and f'data-code="{flight.code}"' in page
    early_item = re.search(rf'<li class="offer" data-code="{early.code}">(.*?)</li>', page, re.S).group(1)
    assert f"Book on {early.code}</button>" in early_item and "disabled" not in early_item
    blocked = re.search(rf'<li class="offer is-blocked" data-code="{flight.code}">(.*?)</ul>', page, re.S).group(1)
    assert f'<button type="submit" disabled aria-describedby="why-{flight.code}">' in blocked
    assert f"Karimi, Zahra — IME valid until 2026-12-04, before departure {flight.code} on 2026-12-09" in blocked


def test_booking_from_the_case_page(client, ops, flight):
    case = ready_case(ops)
    client.force_login(ops)

    response = client.post(f"/departures/{flight.code}/book/",
                           {"case_number": case.case_number, "version": Case.objects.get(pk=case.pk).version},
                           follow=True)

    page = page_text(response)
    assert f"Case {case.case_number} booked on {flight.code}." in page
    assert f'<a class="code-nowrap" href="/departures/{flight.code}/"><strong>{flight.code}</strong></a>' in page
    assert "Seats: 3 used, 17 free of 20" in page
    assert Case.objects.get(pk=case.pk).state == "booked"


def test_booking_a_case_that_is_not_ready_from_a_page_says_why_and_saves_nothing(client, ops, flight):
    case = make_case(1)
    client.force_login(ops)

    response = client.post(f"/departures/{flight.code}/book/", {"case_number": case.case_number,
                                                                "version": case.version}, follow=True)

    assert f"Case {case.case_number} is referred: only a case that is ready to travel is booked." in page_text(response)
    assert not Booking.objects.filter(case=case).exists()


def test_cancelling_a_booking_from_the_case_page_needs_a_reason(client, ops, flight):
    booking = Booking.objects.get(departure=flight)
    client.force_login(ops)

    without = client.post(f"/departures/{flight.code}/bookings/{booking.pk}/cancel/", {"back": "case"}, follow=True)
    assert "Give a reason: a booking is not cancelled without one." in page_text(without)
    with_reason = client.post(f"/departures/{flight.code}/bookings/{booking.pk}/cancel/",
                              {"back": "case", "reason": "Family asked to wait"}, follow=True)

    assert with_reason.redirect_chain[-1][0] == f"/cases/{booking.case.case_number}/"
    assert Case.objects.get(pk=booking.case_id).state == "ready"


# A reason past the box's 2,000 characters (pasted, or sent by a script) is refused; the box gets it back, once.
LONG_REASON = "IRCC asked to hold the family until the new medical results arrive. " * 30


def box_value(response, box_id):
    """What the page's text box `box_id` holds (None when the page has no such box)."""
    found = re.search(rf'<input type="text" id="{box_id}" name="reason"[^>]*?(?: value="([^"]*)")?>',
                      response.content.decode())
    return None if found is None else html.unescape(found.group(1) or "")


@pytest.mark.parametrize("back", ["case", "departure"])
def test_a_refused_cancellation_keeps_its_reason_in_its_box_once(client, ops, flight, back):
    booking = Booking.objects.get(departure=flight)
    client.force_login(ops)
    page, box = (f"/cases/{booking.case.case_number}/", "cancel-booking") if back == "case" else (
        f"/departures/{flight.code}/", f"cancel-{booking.pk}")

    refused = client.post(f"/departures/{flight.code}/bookings/{booking.pk}/cancel/",
                          {"back": back, "reason": LONG_REASON}, follow=True)

    assert refused.redirect_chain[-1][0] == page
    assert "2,000" in page_text(refused) and Case.objects.get(pk=booking.case_id).state == "booked"
    assert box_value(refused, box) == LONG_REASON
    assert box_value(client.get(page), box) == ""


def test_a_refused_exclusion_keeps_the_member_chosen_and_the_reason(client, ops):
    case = ready_case(ops, members=3)
    omid = case.members.get(given_name="Omid")
    client.force_login(ops)

    refused = client.post("/departures/exclusions/new/", {"person": omid.pk, "reason": LONG_REASON}, follow=True)

    assert not case.travel_exclusions.exists()
    page = refused.content.decode()
    assert "<details open><summary>Exclude a member from travel" in page
    assert f'<option value="{omid.pk}" selected>' in page
    assert box_value(refused, "exclude-reason") == LONG_REASON
    again = client.get(f"/cases/{case.case_number}/")
    assert box_value(again, "exclude-reason") == "" and " selected>" not in again.content.decode()


def test_a_refused_inclusion_keeps_its_reason_beside_its_member(client, ops):
    case = ready_case(ops, members=3)
    first = services.exclude_member(case.members.get(given_name="Omid"), by=ops, reason="IRCC refused him")
    second = services.exclude_member(case.members.get(given_name="Ahmad"), by=ops, reason="IRCC refused him")
    client.force_login(ops)

    refused = client.post(f"/departures/exclusions/{second.pk}/lift/", {"reason": LONG_REASON}, follow=True)

    assert case.travel_exclusions.filter(lifted_at__isnull=True).count() == 2
    assert box_value(refused, f"include-{second.pk}") == LONG_REASON
    assert box_value(refused, f"include-{first.pk}") == ""


@pytest.mark.parametrize("role", ["unhcr", "medical"])
def test_other_roles_see_the_departure_of_a_case_but_no_booking_controls(client, personas, flight, role):
    case = Booking.objects.get(departure=flight).case

    page = page_text(get(client, personas[role], f"/cases/{case.case_number}/"))

    assert f"<strong class=\"code-nowrap\">{flight.code}</strong>" in page
    assert f'href="/departures/{flight.code}/"' not in page
    assert "Cancel booking" not in page and "Book on" not in page and "Exclude a member" not in page


def test_the_case_page_shows_the_departure_as_the_travel_date(client, ops, flight):
    case = Booking.objects.get(departure=flight).case

    page = page_text(get(client, ops, f"/cases/{case.case_number}/"))

    assert f'<dd data-testid="travel-date">2026-12-09 ({flight.code})</dd>' in page
    assert 'value="book"' not in page and 'value="depart"' not in page


# --- bad input on the planning form ---------------------------------------------------------------------------------


def form_post(**legs):
    data = {"submission": new_token(), "destination_country": "CAN", "final_destination": "Toronto", "seat_block": "20", "pnr": "",
            "legs-TOTAL_FORMS": "3", "legs-INITIAL_FORMS": "0", "legs-MIN_NUM_FORMS": "0", "legs-MAX_NUM_FORMS": "12"}
    rows = [
        {"carrier": "TK", "flight_number": "255", "origin": "DYU", "departs": "2026-12-09T05:45", "destination": "IST",
         "arrives": "2026-12-09T09:05"},
        {"carrier": "TK", "flight_number": "17", "origin": "IST", "departs": "2026-12-09T14:20", "destination": "YYZ",
         "arrives": "2026-12-09T18:05"},
    ]
    for key, value in legs.items():
        index, field = key.split("__")
        rows[int(index)][field] = value
    for i, row in enumerate(rows):
        for field, value in row.items():
            data[f"legs-{i}-{field}"] = value
    return data


def test_operations_plan_a_flight_from_the_form(client, ops):
    client.force_login(ops)

    response = client.post("/departures/new/?mode=air", form_post())

    departure = Departure.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/departures/{departure.code}/"
    assert departure.legs.count() == 2 and departure.state == "planned"


def test_an_unknown_airport_on_the_form_is_named_and_nothing_is_saved(client, ops):
    client.force_login(ops)

    response = client.post("/departures/new/?mode=air", form_post(**{"1__destination": "XQZ"}))

    assert response.status_code == 400
    assert "No airport has the IATA code XQZ" in page_text(response)
    assert not Departure.objects.exists() and not Leg.objects.exists()


def test_a_leg_in_the_past_on_the_form_is_named_and_nothing_is_saved(client, ops):
    client.force_login(ops)

    response = client.post("/departures/new/?mode=air", form_post(**{"0__departs": "2026-11-19T05:45",
                                                                     "0__arrives": "2026-11-19T09:05"}))

    assert response.status_code == 400
    assert "Leg 1 (TK 255 DYU→IST) leaves 2026-11-19 05:45 Asia/Dushanbe, which has already passed." in \
        page_text(response)
    assert not Departure.objects.exists()


def clocks_go_back_post(**extra):
    # Istanbul → Frankfurt landing at 02:30 on 31 October 2027, which happens twice there (clocks go back at 03:00).
    data = form_post(**{"0__carrier": "TK", "0__flight_number": "1587", "0__origin": "IST",
                        "0__departs": "2027-10-31T00:40", "0__destination": "FRA", "0__arrives": "2027-10-31T02:30",
                        "1__carrier": "LH", "1__flight_number": "470", "1__origin": "FRA",
                        "1__departs": "2027-10-31T04:15", "1__destination": "YYZ", "1__arrives": "2027-10-31T07:10"})
    data.update(extra)
    return data


def test_a_time_that_happens_twice_on_the_form_asks_which_and_keeps_what_was_typed(client, ops):
    client.force_login(ops)

    response = client.post("/departures/new/?mode=air", clocks_go_back_post())

    assert response.status_code == 400 and not Departure.objects.exists()
    page = page_text(response)
    assert "2027-10-31 02:30 happens twice in Europe/Berlin" in page
    assert "Which 02:30?" in page
    assert re.search(r'<input type="radio" name="legs-0-arrives_fold" value="2027-10-31T02:30\|0"[^>]*>\s*'
                     r'the first \(CEST, UTC\+02:00\)', page)
    assert re.search(r'<input type="radio" name="legs-0-arrives_fold" value="2027-10-31T02:30\|1"[^>]*>\s*'
                     r'the second \(CET, UTC\+01:00\)', page)
    assert 'value="2027-10-31T04:15"' in page  # nothing typed is lost
    # The other times happen once: no choice is offered for them.
    assert 'type="radio" name="legs-0-departs_fold"' not in page
    assert 'type="radio" name="legs-1-departs_fold"' not in page

    # A choice made for another time is not read for this one (the time was changed after choosing): asked again.
    stale = client.post("/departures/new/?mode=air", clocks_go_back_post(**{"legs-0-arrives_fold": "2026-10-25T02:30|1"}))
    assert stale.status_code == 400 and "Which 02:30?" in page_text(stale)

    response = client.post("/departures/new/?mode=air", clocks_go_back_post(**{"legs-0-arrives_fold": "2027-10-31T02:30|1"}))

    departure = Departure.objects.get()
    assert response.status_code == 302
    first = departure.legs.get(number=1)
    assert first.arrives_at == datetime.datetime(2027, 10, 31, 1, 30, tzinfo=datetime.timezone.utc)
    # The departure's page names the zone of that 02:30 (Django's date:"T" prints nothing for such a time).
    shown = page_text(client.get(f"/departures/{departure.code}/"))
    assert ('<time datetime="2027-10-31T02:30:00+01:00">Sun 31 Oct 2027 02:30</time><br><small class="tz" '
            'title="Europe/Berlin">CET · Europe/Berlin') in shown
    # Editing the departure keeps which 02:30 it is.
    edit = page_text(client.get(f"/departures/{departure.code}/edit/"))
    assert '<input type="hidden" name="legs-0-arrives_fold" value="2027-10-31T02:30|1"' in edit
    assert '<input type="hidden" name="legs-0-departs_fold" id' in edit  # 00:40 happens once: nothing to keep


def test_a_leg_edited_into_a_time_that_happens_twice_is_asked_which(client, ops):
    # Planned for the night before (02:30 happens once), then moved to the night the clocks go back.
    night_before = {"0__carrier": "TK", "0__flight_number": "1587", "0__origin": "IST", "0__departs": "2027-10-30T00:40",
                    "0__destination": "FRA", "0__arrives": "2027-10-30T02:30", "1__carrier": "LH",
                    "1__flight_number": "470", "1__origin": "FRA", "1__departs": "2027-10-30T04:15",
                    "1__destination": "YYZ", "1__arrives": "2027-10-30T07:10"}
    client.force_login(ops)
    assert client.post("/departures/new/?mode=air", form_post(**night_before)).status_code == 302
    departure = Departure.objects.get()
    edit = client.get(f"/departures/{departure.code}/edit/")
    version = edit.context["form"]["version"].value()
    # What the page carries back of its hidden choices of reading, as a browser posts them.
    hidden = dict(re.findall(r'<input type="hidden" name="(legs-\d-\w+_fold)"(?: value="([^"]*)")?', page_text(edit)))
    moved = {key: value.replace("2027-10-30", "2027-10-31") for key, value in night_before.items()}
    data = {**form_post(**moved), **hidden, "legs-INITIAL_FORMS": "2", "version": version}

    response = client.post(f"/departures/{departure.code}/edit/", data)

    assert response.status_code == 400
    assert "2027-10-31 02:30 happens twice in Europe/Berlin" in page_text(response)
    assert departure.legs.get(number=1).arrives_at == datetime.datetime(2027, 10, 30, 0, 30,
                                                                       tzinfo=datetime.timezone.utc)


def test_a_short_connection_on_the_form_names_the_legs(client, ops):
    client.force_login(ops)

    response = client.post("/departures/new/?mode=air", form_post(**{"1__departs": "2026-12-09T09:30"}))

    assert response.status_code == 400
    assert "a 25-minute connection; at least 60 minutes are needed." in page_text(response)


def test_a_seat_block_below_the_passengers_booked_is_refused_on_the_edit_form(client, ops, flight):
    client.force_login(ops)
    data = form_post()
    data.update({"seat_block": "1", "pnr": "K7Q2XM", "version": str(flight.version), "legs-INITIAL_FORMS": "2"})

    response = client.post(f"/departures/{flight.code}/edit/", data)

    assert response.status_code == 400
    assert f"{flight.code} has 2 passengers in seats: the seat block cannot go below 2." in page_text(response)
    assert Departure.objects.get(pk=flight.pk).seat_block == 20



def test_legs_moved_onto_a_flight_other_departures_fill_are_refused_on_the_edit_form(client, ops, flight):
    from travel.models import DestinationRule

    DestinationRule.objects.filter(country="CAN").update(max_refugees_per_flight=3)
    later = make_departure(ops, day=FLIGHT_DAY + datetime.timedelta(days=1), pnr="BBBBBB")
    services.book_case(later, ready_case(ops), by=ops)
    client.force_login(ops)
    data = form_post()  # TK 255 and TK 17 on FLIGHT_DAY, which `flight` flies with 3 refugees
    data.update({"seat_block": "20", "pnr": "BBBBBB", "version": str(later.version), "legs-INITIAL_FORMS": "2"})

    response = client.post(f"/departures/{later.code}/edit/", data)

    assert response.status_code == 400
    text = page_text(response)
    assert f"Nothing was changed: {later.code} cannot move to these flights." in text
    assert f"would carry 4 refugees to Canada: 1 on {later.code} and 3 on {flight.code}" in text
    assert 'value="2026-12-09T05:45"' in text  # what was typed is kept
    assert Departure.objects.get(pk=later.pk).departure_date == FLIGHT_DAY + datetime.timedelta(days=1)

# --- the admin --------------------------------------------------------------------------------------------------------


def test_the_admin_reads_departures_and_changes_them_only_through_the_services(client, superuser, ops, flight):
    client.force_login(superuser)

    assert client.get("/admin/travel/departure/").status_code == 200
    page = client.get(f"/admin/travel/departure/{flight.pk}/change/")
    assert page.status_code == 200 and 'name="seat_block"' not in page_text(page)
    assert client.get("/admin/travel/departure/add/").status_code == 403
    client.post("/admin/travel/departure/", {"action": "make_final", "_selected_action": [flight.pk]})
    assert Departure.objects.get(pk=flight.pk).state == "final"
    from travel.models import DepartureLogEntry

    assert DepartureLogEntry.objects.get(departure=flight, action="made_final").user == superuser


# --- a fixed number of queries ----------------------------------------------------------------------------------


def queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_the_board_and_a_departures_page_run_as_many_queries_for_many_departures_and_passengers(client, ops, escort):
    first = make_departure(ops, day=FLIGHT_DAY, escorts=[escort], seat_block=200)
    services.book_case(first, ready_case(ops, members=2), by=ops)
    client.force_login(ops)
    few = [queries(client, "/departures/"), queries(client, f"/departures/{first.code}/")]

    for n in range(6):
        other = make_departure(ops, day=FLIGHT_DAY + datetime.timedelta(days=7 * (n + 1)), escorts=[escort])
        services.book_case(other, ready_case(ops, members=2), by=ops)
    for size in (3, 5, 6):
        case = ready_case(ops, members=size)
        services.book_case(first, case, by=ops)
    excluded = case.members.order_by("id").last()
    services.exclude_member(excluded, by=ops, reason="Split decision")
    TravelMedicalNeeds.objects.create(person=case.members.first(), wheelchair="WCHC")
    many = [queries(client, "/departures/"), queries(client, f"/departures/{first.code}/")]

    assert many == few


@pytest.mark.django_db
def test_an_approved_family_of_one_shows_no_empty_travel_panel_and_a_larger_family_can_be_split(client, ops):
    client.force_login(ops)
    alone = make_case(1, state="approved")
    family = make_case(3, state="approved")

    assert "Travel" not in [h.strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", client.get(
        f"/cases/{alone.case_number}/").content.decode())]
    headings = [h.strip() for h in re.findall(r"<h2[^>]*>(.*?)</h2>", client.get(
        f"/cases/{family.case_number}/").content.decode())]
    assert "Travel" in headings


def _reads_of(queries, table):
    """Queries that read the table itself (not the case's row asking whether it holds any: `hooks.case_page_reads`)."""
    return sum(1 for q in queries if q["sql"].startswith(f'SELECT "{table}".'))


def test_the_case_page_reads_a_booked_familys_booking_exclusions_and_sessions_once(client, ops, flight):
    """Readiness, the travel panel and the member notes all ask for them; the page asks the database once."""
    case = Booking.objects.get(departure=flight).case
    services.exclude_member(case.members.get(given_name="Ahmad"), by=ops, reason="IRCC refused him")
    client.force_login(ops)
    client.get(f"/cases/{case.case_number}/")

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/cases/{case.case_number}/")

    text = page_text(response)
    assert "Not travelling (split decision" in text and "IRCC refused him" in text
    assert "Orientation completed" in text and flight.code in text
    reads = {table: _reads_of(ctx.captured_queries, table) for table in (
        "travel_booking", "travel_travelexclusion", "orientation_enrolment", "movements_person")}
    assert reads == {"travel_booking": 1, "travel_travelexclusion": 1, "orientation_enrolment": 1,
                     "movements_person": 1}


def test_the_case_page_of_a_family_neither_booked_nor_split_asks_travel_nothing_more_than_with_the_case(client, ops,
                                                                                                       flight):
    booked = Booking.objects.get(departure=flight).case
    services.exclude_member(booked.members.get(given_name="Ahmad"), by=ops, reason="IRCC refused him")
    case = ready_case(ops)
    lifted = ready_case(ops, members=2)
    exclusion = services.exclude_member(lifted.members.order_by("id").last(), by=ops, reason="IRCC asked to wait")
    services.include_member(exclusion, by=ops, reason="IRCC agreed")
    client.force_login(ops)
    for quiet in (case, lifted):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(f"/cases/{quiet.case_number}/")
        assert response.status_code == 200
        assert _reads_of(ctx.captured_queries, "travel_booking") == 0
        assert _reads_of(ctx.captured_queries, "travel_travelexclusion") == 0
        [case_row] = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "movements_case".')]
        assert '"travel_booking"' in case_row and '"travel_travelexclusion"' in case_row
        assert "Book on" in page_text(response) and "Not travelling" not in page_text(response)


def test_a_change_then_a_read_in_one_request_sees_the_change(ops):
    """Outside a page that only reads, nothing is kept: a service that books and then asks for the booking gets
    the new one."""
    case = ready_case(ops)
    assert services.active_booking(case.pk) is None
    services.book_case(make_departure(ops), case, by=ops)
    assert services.active_booking(case.pk) is not None


def test_may_see_departure_agrees_with_the_departures_each_role_sees(personas, flight, ops):
    another = make_departure(ops, day=FLIGHT_DAY + datetime.timedelta(days=1), pnr="ZZ9Q2X")
    for role, user in personas.items():
        for departure in (flight, another):
            expected = visible_departures(user).filter(pk=departure.pk).exists()
            assert may_see_departure(user, departure) == expected, (role, departure.code)
    # The escort sees the departure they escort and no other; operations see both without asking the database.
    assert may_see_departure(personas["escort"], flight) and not may_see_departure(personas["escort"], another)
    with CaptureQueriesContext(connection) as ctx:
        assert may_see_departure(ops, another)
    assert not [q for q in ctx.captured_queries if "travel_departure" in q["sql"]]


def test_a_booked_familys_case_page_reads_only_the_legs_and_seats_of_its_departure(client, ops, flight):
    """The panel shows the route and the seats; the destination's rules, exceptions and escorts are for booking."""
    case = Booking.objects.get(departure=flight).case
    client.force_login(ops)
    client.get(f"/cases/{case.case_number}/")

    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/cases/{case.case_number}/")

    text = page_text(response)
    # Three travel; the infant takes no seat.
    assert flight.code in text and "DYU → IST → YYZ" in text and "Seats: 2 used, 18 free of 20" in text
    reads = {table: _reads_of(ctx.captured_queries, table) for table in (
        "travel_leg", "travel_destinationrule", "travel_ruleexception", "travel_departure_escorts",
        "orientation_sessionday")}
    assert reads == {"travel_leg": 1, "travel_destinationrule": 0, "travel_ruleexception": 0,
                     "travel_departure_escorts": 0, "orientation_sessionday": 1}


def test_a_booked_familys_case_page_asks_as_many_queries_for_a_larger_family(client, ops):
    departure = make_departure(ops, day=FLIGHT_DAY)
    small, large = ready_case(ops, members=2), ready_case(ops, members=6)
    complete_orientation(list(small.members.all()) + list(large.members.all()))
    counts = []
    client.force_login(ops)
    for case in (small, large):
        services.book_case(departure, case, by=ops)
        client.get(f"/cases/{case.case_number}/")
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(f"/cases/{case.case_number}/").status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_a_departure_whose_rules_hold_but_whose_deadline_has_passed_does_not_read_all_clear(client, ops):
    with time_machine.travel(datetime.datetime(2026, 12, 1, 6, tzinfo=datetime.timezone.utc), tick=False):
        departure = make_departure(ops, legs=tk_legs(datetime.date(2026, 12, 8)))
        page = page_text(get(client, ops, f"/departures/{departure.code}/"))

    assert "Every rule holds for the cases booked, but 1 deadline has passed:" in page
    assert "<strong>Overdue:</strong> Notification of arrival due by" in page
    assert "Every rule holds for the cases booked.</p>" not in page and "card readiness is-due" in page
