"""The day of travel's pages, per role: the boarding page on a phone (search, one family by the manifest's QR
address, taps that are recorded once, refusals next to the family), closing, arrival, incidents, the escort's
dashboard, the departure and case pages — and fixed query counts however many passengers a departure has."""

import datetime
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from movements.models import Case, CaseChange, MedicalExam
from movements.once import new_token
from privacy.models import AccessLogEntry
from tests.conftest import make_departure, make_user, page_text, pass_pre_embarkation, ready_case, visible_text
from travel import boarding, services
from travel.models import BoardingLogEntry, Booking, FitToTravelOverride, Incident, Passenger

pytestmark = pytest.mark.django_db

UTC = datetime.timezone.utc
BOOKED_ON = datetime.datetime(2026, 11, 20, 5, tzinfo=UTC)
FLIGHT_DAY = datetime.date(2026, 12, 9)
GATE = datetime.datetime(2026, 12, 8, 23, 0, tzinfo=UTC)  # 04:00 in Dushanbe; TK 255 leaves at 05:45
LANDED = datetime.datetime(2026, 12, 9, 23, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(BOOKED_ON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def family(ops):
    """The Karimis, five of them, with their names in Dari."""
    return ready_case(ops, members=5)


@pytest.fixture
def flight(clock, ops, escort, family):
    departure = make_departure(ops, day=FLIGHT_DAY, escorts=[escort])
    services.book_case(departure, family, by=ops)
    departure = services.finalise_departure(departure, by=ops)
    clock.move_to(GATE)
    pass_pre_embarkation(family)
    return departure


def url(departure, suffix=""):
    return f"/departures/{departure.code}/boarding/{suffix}"


def pax(case, given="Zahra"):
    return Passenger.objects.get(person__case=case, person__given_name=given)


def tap(client, departure, passenger, status, token="t1", reason="", **where):
    data = {"mark": f"{passenger.pk}:{status}", "token": token, f"reason-{passenger.pk}": reason, **where}
    return client.post(url(departure, "mark/"), data)


# --- who may ------------------------------------------------------------------------------------------------------


def test_the_boarding_address_is_the_one_the_manifest_prints(flight):
    assert reverse("travel_boarding", args=[flight.code]) == f"/departures/{flight.code}/boarding/"


@pytest.mark.parametrize("who, status", [("operations", 200), ("escort", 200), ("medical", 404), ("trainer", 404),
                                         ("unhcr", 404)])
def test_each_role_gets_the_expected_answer_from_the_boarding_pages(client, personas, flight, family, who, status):
    client.force_login(personas[who])

    assert client.get(url(flight)).status_code == status
    assert client.get(f"/departures/{flight.code}/arrival/").status_code == status
    assert client.get(f"/departures/{flight.code}/incidents/new/").status_code == status
    if status == 404:
        assert tap(client, flight, pax(family), "boarded").status_code == 404
        assert client.post(url(flight, "close/")).status_code == 404
        assert not BoardingLogEntry.objects.exists()


def test_an_escort_of_another_departure_gets_404_and_marks_nothing(client, flight, family):
    farrukh = make_user("farrukh", "escort")
    client.force_login(farrukh)

    assert client.get(url(flight)).status_code == 404
    assert client.get(url(flight) + f"?case={family.case_number}").status_code == 404
    assert tap(client, flight, pax(family), "boarded").status_code == 404
    assert pax(family).boarding == "waiting"


def test_anonymous_visitors_are_sent_to_log_in(client, flight):
    response = client.get(url(flight))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- the page -----------------------------------------------------------------------------------------------------


def test_the_page_counts_groups_by_family_and_shows_names_in_both_scripts(client, ops, escort, flight, family):
    boarding.mark(flight, pax(family, "Zahra"), "boarded", by=escort)
    boarding.mark(flight, pax(family, "Yasin"), "no_show", by=escort)
    client.force_login(escort)

    page = page_text(client.get(url(flight)))

    assert "<strong>boarded 1 of 5</strong> · 1 no-show · 3 waiting" in page
    assert "KARIMI family" in page and family.case_number in page
    assert 'lang="fa">زهرا کریمی</span>' in page
    assert page.count('class="bd-yes">Mark boarded<span class="visually-hidden">: ') == 3
    assert "✓ BOARDED" in page and "✗ NO-SHOW" in page
    assert "No-show: Yasin Karimi." in page
    assert "Ask operations to approve a split" in page  # an escort asks; operations approve


def test_the_qr_address_opens_the_page_on_one_family(client, ops, escort, flight, family):
    other = ready_case(ops, members=1)
    flight = services.reopen_departure(flight, by=ops, reason="one more family")
    services.book_case(flight, other, by=ops)
    services.finalise_departure(flight, by=ops)
    client.force_login(escort)

    page = page_text(client.get(url(flight) + f"?case={family.case_number.lower()}"))

    assert f'id="case-{family.case_number}"' in page and f'id="case-{other.case_number}"' not in page
    assert "Show all 2 families" in page
    assert "<strong>boarded 0 of 6</strong>" in page  # the count is the departure's, whatever is shown


@pytest.mark.parametrize("query", ["karimi omid", "امید", "OMID", None])
def test_the_search_finds_a_family_by_any_name_or_its_case_number(client, ops, escort, flight, family, query):
    query = query or family.case_number[-5:]
    client.force_login(escort)

    page = page_text(client.get(url(flight), {"q": query}))

    assert f'id="case-{family.case_number}"' in page


def test_a_search_that_finds_nobody_says_so(client, escort, flight):
    client.force_login(escort)

    page = page_text(client.get(url(flight), {"q": "Rahmonov"}))

    assert "Nobody on" in page and "matches “Rahmonov”" in page


def test_nobody_can_be_marked_before_boarding_opens(client, clock, escort, flight):
    clock.move_to(datetime.datetime(2026, 12, 6, 12, tzinfo=UTC))
    client.force_login(escort)

    page = page_text(client.get(url(flight)))

    assert "Boarding opens Tue 08 Dec 05:45" in page
    assert "Mark boarded" not in page


# --- taps ---------------------------------------------------------------------------------------------------------


def test_a_double_tap_is_recorded_once(client, escort, flight, family):
    client.force_login(escort)

    first = tap(client, flight, pax(family), "boarded", token="abc", q="karimi")
    second = tap(client, flight, pax(family), "boarded", token="abc", q="karimi")

    assert first.status_code == second.status_code == 302
    # Back at the person just marked (the next to mark is below), not at the top of a family of perhaps nine.
    assert first["Location"] == url(flight) + f"?q=karimi#pax-{pax(family).pk}"
    assert BoardingLogEntry.objects.count() == 1
    assert BoardingLogEntry.objects.get().request_id == f"abc:{pax(family).pk}:boarded"
    page = page_text(client.get(second["Location"]))
    assert "Zahra Karimi: boarded." in page and "Zahra Karimi: already boarded; nothing changed." in page
    assert f'id="pax-{pax(family).pk}"' in page


def test_an_undo_with_a_reason_puts_the_passenger_back_to_waiting(client, escort, flight, family):
    client.force_login(escort)
    tap(client, flight, pax(family), "boarded")

    tap(client, flight, pax(family, "Ahmad"), "boarded")
    refused = tap(client, flight, pax(family), "waiting", token="t2")
    assert pax(family).boarding == "boarded"
    page = page_text(client.get(refused["Location"]))
    assert "code-reason_required" in page
    # Zahra's "Undo…" is open again, at the field to fill; Ahmad's stays closed.
    zahra, ahmad = pax(family).pk, pax(family, "Ahmad").pk
    assert re.search(rf'<details class="bd-undo" open><summary>Undo…<span[^<]*</span></summary>\s*<form [^>]*>.*?'
                     rf'<label for="reason-{zahra}">', page, re.S)
    assert re.search(rf'id="reason-{zahra}"[^>]*autofocus aria-invalid="true" aria-describedby="why-{zahra}">', page)
    assert f'<p class="fielderror" id="why-{zahra}">Give the reason for undoing this mark.</p>' in page
    assert re.search(rf'<details class="bd-undo"><summary>Undo…<span[^<]*</span></summary>\s*<form [^>]*>.*?'
                     rf'<label for="reason-{ahmad}">', page, re.S)
    # Each undo is a form of its own, whose only button is that undo: Enter in the reason (a phone's Go key) sends
    # it, and never the family's first "Mark boarded" (it did: someone still waiting was marked boarded).
    undo_form = re.search(rf'<form [^>]*>(?:(?!</form>).)*id="reason-{zahra}"(?:(?!</form>).)*</form>', page, re.S)
    assert re.findall(r'<button type="submit"[^>]*>', undo_form.group(0)) == [
        f'<button type="submit" name="mark" value="{zahra}:waiting">']
    tap(client, flight, pax(family), "waiting", token="t3", reason="Tapped the wrong Karimi")

    assert pax(family).boarding == "waiting"
    assert BoardingLogEntry.objects.order_by("-id").first().reason == "Tapped the wrong Karimi"


def test_a_refusal_is_shown_next_to_the_family_with_its_reason(client, escort, flight, family):
    MedicalExam.objects.filter(person__case=family, kind="ftt").delete()
    client.force_login(escort)

    response = tap(client, flight, pax(family), "boarded")
    page = page_text(client.get(response["Location"]))

    article = re.search(rf'<article [^>]*id="case-{family.case_number}".*?</article>', page, re.S).group(0)
    assert "code-blocked" in article
    assert "Karimi, Zahra — medical clearance for travel pending" in article



def test_a_family_boards_in_one_tap_each_member_logged_as_their_own_tap_and_a_double_tap_changes_nothing(
        client, escort, flight, family):
    client.force_login(escort)
    from movements import readiness

    readiness.refresh_snapshot(Case.objects.get(pk=family.pk))  # as the commit of the checks before boarding does
    page = page_text(client.get(url(flight)))
    assert "Mark all 5 boarded" in page and page.count('data-testid="board-family"') == 1

    response = client.post(url(flight, "mark/"), {"family": family.case_number, "token": "t7"})
    again = client.post(url(flight, "mark/"), {"family": family.case_number, "token": "t7"})

    assert response.status_code == again.status_code == 302
    assert set(Passenger.objects.filter(departure=flight).values_list("boarding", flat=True)) == {"boarded"}
    log = BoardingLogEntry.objects.filter(departure=flight)
    assert log.count() == 5 and set(log.values_list("user", flat=True)) == {escort.pk}
    text = visible_text(client.get(response["Location"]))
    assert "Boarded: Zahra, Ahmad, Omid, Hadia, Yasin." in text
    assert "Mark all" not in text  # nobody waits


def test_one_who_may_not_board_is_left_waiting_with_the_reason_and_the_rest_board(escort, flight, family):
    MedicalExam.objects.filter(person__case=family, kind="ftt", person__given_name="Zahra").delete()

    results = boarding.board_family(flight, family, by=escort, request_id="t8")

    refused = [(marked.passenger.person.given_name, error.code) for marked, error in results if error]
    assert refused == [("Zahra", "blocked")]
    assert pax(family, "Zahra").boarding == "waiting"
    assert Passenger.objects.filter(departure=flight, boarding="boarded").count() == 4


def test_no_family_button_while_a_check_holds_a_member_back(client, escort, flight, family):
    from movements import readiness

    MedicalExam.objects.filter(person__case=family, kind="ftt", person__given_name="Zahra").delete()
    readiness.refresh_snapshot(Case.objects.get(pk=family.pk))
    client.force_login(escort)

    assert 'data-testid="board-family"' not in page_text(client.get(url(flight)))

def test_a_family_held_at_the_gate_after_boarding_is_listed_to_offload(client, medic, escort, flight, family):
    from movements import transitions

    client.force_login(escort)
    tap(client, flight, pax(family, "Ahmad"), "boarded")
    transitions.hold(Case.objects.get(pk=family.pk), by=medic, reason="Fever at the gate", category="medical")

    page = page_text(client.get(url(flight)))

    offload = re.search(r'<section class="card bd-offload".*?</section>', page, re.S).group(0)
    assert "<strong>Karimi, Ahmad</strong>" in offload and "Zahra" not in offload
    assert "Fever" not in offload  # a medical hold's reason is not the escort's to read
    # The page named them: "who looked at this case?" says so.
    assert family.case_number in AccessLogEntry.objects.filter(kind="boarding").latest("id").cases.split()


def test_seats_released_by_a_hold_do_not_name_who_held_the_case_to_the_escort(client, medic, escort, ops, flight,
                                                                              family):
    from movements import transitions
    from movements.history import actor_label

    transitions.hold(Case.objects.get(pk=family.pk), by=medic, reason="Fever at the gate", category="medical")
    held_by = actor_label(medic)
    client.force_login(escort)

    boarding_page = page_text(client.get(url(flight)))
    departure_page = page_text(client.get(f"/departures/{flight.code}/"))

    changes = re.search(r'<ul class="plain bd-changes".*?</ul>', boarding_page, re.S).group(0)
    assert "put on hold while booked" in changes and "(IOM staff)" in changes and held_by not in changes
    history = re.search(r'data-testid="departure-history">.*?</ol>', departure_page, re.S).group(0)
    assert "put on hold while booked" in history and held_by not in history
    client.force_login(ops)  # who may read clearance details reads who it was
    assert held_by in page_text(client.get(f"/departures/{flight.code}/"))


def test_a_no_show_then_the_family_stays_behind_and_its_case_page_says_ready(client, ops, escort, flight, family):
    client.force_login(escort)
    tap(client, flight, pax(family, "Ahmad"), "boarded")
    tap(client, flight, pax(family, "Yasin"), "no_show", token="t2")

    response = client.post(url(flight, "decide/"), {"case_number": family.case_number, "decision": "stays_behind",
                                                    "note": "Not at the airport by 04:30"})
    page = page_text(client.get(response["Location"]))

    assert "stays behind (no-show: Karimi, Yasin)" in page and "its 5 seats freed" in page
    assert "Offload: Karimi, Ahmad had boarded" in page
    assert "<strong>boarded 0 of 0</strong>" in page
    # Ahmad and his bags must come off: said on every view of the page until boarding closes, not once, and in
    # the list of changes since the list was final.
    for _ in range(2):
        again = page_text(client.get(url(flight)))
        offload = re.search(r'<section class="card bd-offload".*?</section>', again, re.S).group(0)
        assert "Offload: 1 passenger and their checked luggage" in offload
        assert f"<strong>Karimi, Ahmad</strong>" in offload and family.case_number in offload
        assert "Yasin" not in offload  # he never boarded
    changes = re.search(r'<ul class="plain bd-changes".*?</ul>', again, re.S).group(0)
    assert "Offload: Karimi, Ahmad had boarded — they and their checked luggage come off." in changes
    client.force_login(ops)
    case_page = page_text(client.get(f"/cases/{family.case_number}/"))
    assert 'data-testid="case-state">Ready to travel<' in case_page
    assert f"Incident on {flight.code}: no-show at DYU" in case_page


def test_operations_approve_a_split_the_escort_asked_for_on_the_boarding_page(client, ops, escort, flight, family):
    boarding.mark(flight, pax(family, "Yasin"), "no_show", by=escort)
    split = boarding.request_split(flight, family, by=escort, reason="Yasin (21) stays; IRCC informed").split
    client.force_login(ops)

    page = page_text(client.get(url(flight)))
    assert "waiting for operations" in page and "Approve the split" in page
    # Enter in the note does nothing (it approved, whatever the note said): the form's first button is disabled.
    decision_form = re.search(rf'<form [^>]*action="[^"]*/splits/{split.pk}/"[^>]*>(?:(?!</form>).)*</form>', page, re.S)
    first_button = re.search(r'<button type="submit"[^>]*>', decision_form.group(0)).group(0)
    assert " disabled" in first_button and "decision" not in first_button
    departure_page = page_text(client.get(f"/departures/{flight.code}/"))
    assert "Splits waiting for operations" in departure_page
    client.post(url(flight, f"splits/{split.pk}/"), {"decision": "approve"})

    split.refresh_from_db()
    assert split.status == "approved" and split.decided_by == ops
    assert not pax(family, "Yasin").active



def test_a_split_asked_for_at_the_gate_is_waiting_on_operations_dashboard_and_no_one_elses(
        client, ops, escort, medic, unhcr, flight, family):
    client.force_login(ops)
    assert 'data-testid="waiting-for-operations"' not in client.get("/").content.decode()
    boarding.mark(flight, pax(family, "Yasin"), "no_show", by=escort)
    split = boarding.request_split(flight, family, by=escort, reason="Yasin (21) stays; IRCC informed").split

    card = visible_text(client.get("/"))
    assert "Waiting for operations" in card
    assert f"{flight.code} — Wed 09 Dec, to Toronto: 1 split asked for at the gate to decide (boarding cannot close " \
           "until then)." in card
    for other in (escort, medic, unhcr):
        client.force_login(other)
        assert 'data-testid="waiting-for-operations"' not in client.get("/", follow=True).content.decode()
    boarding.decide_split(split, by=ops, approve=True)
    client.force_login(ops)
    # Decided: no split waits; the list it changed is the manifest's to print again (the next test).
    card = visible_text(client.get("/"))
    assert "asked for at the gate" not in card and "the passenger list changed after it was made final" in card


def test_the_operations_card_needs_the_departure_pages_too(client, ops, escort, flight, family):
    """A role made by hand with the right to change and see all departures but not to open their pages is not shown
    departures it could not open (the shipped roles hold all three or none)."""
    from django.contrib.auth.models import Permission

    boarding.mark(flight, pax(family, "Yasin"), "no_show", by=escort)
    boarding.request_split(flight, family, by=escort, reason="Yasin (21) stays")
    planner = make_user("planner", "medical")
    planner.user_permissions.add(*Permission.objects.filter(
        content_type__app_label="travel", codename__in=["change_departure", "view_all_departures"]))
    client.force_login(planner)
    assert 'data-testid="waiting-for-operations"' not in client.get("/", follow=True).content.decode()
    planner.user_permissions.add(Permission.objects.get(content_type__app_label="travel", codename="view_departure"))
    assert 'data-testid="waiting-for-operations"' in client.get("/", follow=True).content.decode()


def test_a_final_list_changed_by_a_medical_hold_is_flagged_until_the_manifest_is_printed_again(
        client, clock, ops, medic, flight, family):
    from movements import transitions
    from travel.manifest import load_manifest

    other = ready_case(ops, members=2)
    flight = services.reopen_departure(flight, by=ops, reason="One more family")
    services.book_case(flight, other, by=ops)
    flight = services.finalise_departure(flight, by=ops)
    client.force_login(ops)
    client.get(f"/departures/{flight.code}/manifest.pdf")  # printed: 7 passengers
    assert 'data-testid="list-changed"' not in client.get(f"/departures/{flight.code}/").content.decode()

    clock.move_to(GATE + datetime.timedelta(minutes=5))
    transitions.hold(Case.objects.get(pk=other.pk), by=medic, reason="Medical review before travel",
                     category="medical")

    card = visible_text(client.get("/"))
    assert ("the passenger list changed after it was made final: print the manifest again for the escort and send "
            "the carrier the passenger data again.") in card
    notice = visible_text(client.get(f"/departures/{flight.code}/"))
    assert "The passenger list changed after it was made final, since the manifest was last printed" in notice
    assert f"Case {other.case_number} put on hold while booked: its 2 places released." in notice
    manifest = load_manifest(flight)
    assert manifest.changed_at is not None and len(manifest.rows) == 5
    clock.move_to(GATE + datetime.timedelta(minutes=10))
    client.get(f"/departures/{flight.code}/manifest.pdf")  # printed again
    assert 'data-testid="waiting-for-operations"' not in client.get("/").content.decode()
    assert 'data-testid="list-changed"' not in client.get(f"/departures/{flight.code}/").content.decode()

def test_the_arrival_page_says_when_the_principal_applicant_of_a_split_family_stayed_behind(client, ops, escort,
                                                                                             flight, family):
    boarding.mark(flight, pax(family, "Zahra"), "no_show", by=escort)
    boarding.request_split(flight, family, by=ops, reason="Zahra follows on the next flight; IRCC informed")
    for given in ("Ahmad", "Omid", "Hadia", "Yasin"):
        boarding.mark(flight, pax(family, given), "boarded", by=escort)
    boarding.close_boarding(flight, by=escort)
    client.force_login(escort)

    page = page_text(client.get(f"/departures/{flight.code}/arrival/"))

    # The family is known by its principal applicant's name, who is not on the plane: said, not to be looked for.
    assert re.search(r"<strong>Karimi, Zahra</strong>.*?<small>\(stayed behind\)</small> — 4 passengers", page, re.S)


def test_closing_from_the_page_is_refused_while_anyone_waits_then_done(client, ops, escort, flight, family):
    client.force_login(escort)
    page = page_text(client.get(url(flight)))
    assert "5 passengers still waiting: mark each boarded or no-show." in page
    assert 'type="button" disabled>Close boarding</button>' in page
    refused = client.post(url(flight, "close/"), {"seen": "0"})
    assert "code-passengers_waiting" in page_text(client.get(refused["Location"]))

    for given in ("Zahra", "Ahmad", "Omid", "Hadia", "Yasin"):
        boarding.mark(flight, pax(family, given), "boarded", by=escort)
    page = page_text(client.get(url(flight)))
    assert "Close boarding — 5 passengers leave" in page
    response = client.post(url(flight, "close/"), {"seen": "0"})

    assert response["Location"] == f"/departures/{flight.code}/arrival/"
    assert Case.objects.get(pk=family.pk).state == "departed"
    assert "Boarding closed: " in page_text(client.get(response["Location"]))


def test_a_refused_arrival_shows_its_page_again_with_the_time_typed_and_the_cases_ticked(
        client, clock, ops, escort, flight, family):
    for passenger in Passenger.objects.filter(departure=flight):
        boarding.mark(flight, passenger, "boarded", by=escort)
    boarding.close_boarding(flight, by=escort)
    clock.move_to(LANDED)
    client.force_login(escort)

    # Before the departure left: refused, with the reason.
    response = client.post(f"/departures/{flight.code}/arrival/", {
        "scope": "cases", "case_number": family.case_number, "arrived_at": "2026-06-15T10:00"})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'name="arrived_at" id="id_arrived_at" value="2026-06-15T10:00"' in page
    assert f'value="{family.case_number}" checked' in page
    assert Case.objects.get(pk=family.pk).state == "departed"


def test_the_arrival_is_confirmed_on_its_page_and_surveillance_shows_to_operations_only(
        client, clock, ops, escort, unhcr, flight, family):
    yasin = pax(family, "Yasin").person
    MedicalExam.objects.create(person=yasin, kind="pdms", exam_date=datetime.date(2026, 11, 1), clinic="IOM",
                               outcome="M2", tb_status="inactive")
    for passenger in Passenger.objects.filter(departure=flight):
        boarding.mark(flight, passenger, "boarded", by=escort)
    boarding.close_boarding(flight, by=escort)
    clock.move_to(LANDED)
    client.force_login(escort)

    client.post(f"/departures/{flight.code}/arrival/", {"scope": "all", "arrived_at": ""})

    assert Case.objects.get(pk=family.pk).state == "arrived"
    seen = AccessLogEntry.objects.count()
    escort_view = page_text(client.get(f"/departures/{flight.code}/arrival/"))
    # The family by name as well as by number (a read of its data), with no one's public-health visit.
    (read,) = AccessLogEntry.objects.order_by("id")[seen:]
    assert (read.kind, read.user, read.case_numbers) == ("departure", escort, [family.case_number])
    assert f'{family.case_number}</span> <strong>Karimi, Zahra</strong> <span dir="auto" lang="fa" class="native">' in escort_view
    # Toronto's own clock, as the departure page and the case say (not Dushanbe's: Thu 10 Dec 04:05).
    assert "(YYZ) at <strong>Wed 09 Dec 2026 18:05</strong> local time (EST)." in escort_view
    assert "arrived</strong> Wed 09 Dec 2026" in escort_view and "public health" not in escort_view
    client.force_login(ops)
    # Its arrival page names who reports to public health (operations only): one read.
    seen = AccessLogEntry.objects.count()
    assert "public health" in page_text(client.get(f"/departures/{flight.code}/arrival/"))
    (read,) = AccessLogEntry.objects.order_by("id")[seen:]
    assert (read.kind, read.user, read.detail, read.case_numbers) == ("departure", ops, {"page": "arrival"},
                                                                      [family.case_number])
    case_page = page_text(client.get(f"/cases/{family.case_number}/"))
    assert "Arrived in Toronto on <strong>Wed 09 Dec 2026 18:05</strong> local time." in case_page
    assert ("Karimi, Yasin</strong>: medical surveillance — report to public health within 30 days of arrival, by "
            "<strong>Fri 08 Jan 2027</strong>.") in case_page
    client.force_login(unhcr)
    assert "public health" not in page_text(client.get(f"/cases/{family.case_number}/"))


def test_the_boarding_and_arrival_pages_give_times_on_the_airports_own_clocks(client, ops):
    """A flight that leaves Istanbul (UTC+3) and lands in Toronto (UTC−5), seen from Dushanbe (UTC+5)."""
    from tests.conftest import tk_legs

    departure = make_departure(ops, legs=tk_legs(FLIGHT_DAY)[1:])
    client.force_login(ops)

    board = page_text(client.get(url(departure)))
    assert 'leaves <strong>Wed 09 Dec 14:20</strong> <small class="tz" title="Europe/Istanbul">UTC+03:00</small>' in board
    arrival = page_text(client.get(f"/departures/{departure.code}/arrival/"))
    assert "(YYZ) at <strong>Wed 09 Dec 2026 18:05</strong> local time (EST)." in arrival


# --- incidents, overrides, the dashboard and the departure page --------------------------------------------------


def test_an_escort_logs_an_incident_for_a_family_and_it_shows_on_the_departure_and_case(client, ops, escort,
                                                                                        flight, family):
    client.force_login(escort)
    form = page_text(client.get(f"/departures/{flight.code}/incidents/new/?case={family.case_number}"))
    assert "Who it concerns (case" in form and "Karimi, Yasin" in form
    yasin = pax(family, "Yasin").person

    response = client.post(f"/departures/{flight.code}/incidents/new/",
                           {"submission": new_token(), "case": family.case_number, "kind": "medical", "place": "DYU", "people": [yasin.pk],
                            "note": "Felt faint at security; rested, cleared by the airport doctor"})

    assert response.status_code == 302
    incident = Incident.objects.get()
    assert [p.pk for p in incident.people.all()] == [yasin.pk]
    assert "Incident logged; it concerns Karimi, Yasin." in page_text(client.get(response["Location"]))
    departure_page = page_text(client.get(f"/departures/{flight.code}/"))
    assert "<strong>Medical event</strong> at DYU — Karimi, Yasin" in departure_page
    client.force_login(ops)
    assert CaseChange.objects.filter(case=family, summary__contains="an incident (details with").exists()


def test_an_incident_form_with_a_bad_place_is_refused_and_saves_nothing(client, escort, flight):
    client.force_login(escort)

    response = client.post(f"/departures/{flight.code}/incidents/new/", {"submission": new_token(), "kind": "other", "place": ""})

    assert response.status_code == 400 and not Incident.objects.exists()


def test_an_incident_naming_a_case_not_on_the_departure_is_refused_and_keeps_what_was_typed(
        client, escort, flight, family):
    client.force_login(escort)
    note = "Missed the connection in Istanbul"

    response = client.post(f"/departures/{flight.code}/incidents/new/",
                           {"submission": new_token(), "kind": "missed_connection", "place": "IST", "note": note,
                            "case_numbers": f"{family.case_number.lower()}, 00099"})

    assert response.status_code == 400 and not Incident.objects.exists()
    page = page_text(response)
    assert f"Not booked on {flight.code}: 00099. Give the full case numbers of families on this departure" in page
    assert note in page and f'value="{family.case_number.lower()}, 00099"' in page

    response = client.post(f"/departures/{flight.code}/incidents/new/",
                           {"submission": new_token(), "kind": "missed_connection", "place": "IST", "note": note,
                            "case_numbers": f"{family.case_number.lower()}; {family.case_number}"})

    assert response.status_code == 302
    assert Incident.objects.get().people.count() == 5
    assert "Incident logged; it concerns Karimi, " in page_text(client.get(response["Location"]))


def test_medical_staff_record_an_override_from_the_case_page(client, ops, medic, escort, flight, family):
    MedicalExam.objects.filter(person__case=family, kind="ftt").delete()
    client.force_login(medic)
    page = page_text(client.get(f"/cases/{family.case_number}/"))
    assert "Fit-to-travel overrides for" in page
    zahra = pax(family).person

    client.post("/departures/fit-to-travel-overrides/", {"person": zahra.pk, "reason": "Examined at the clinic"})

    assert FitToTravelOverride.objects.get().recorded_by == medic
    client.force_login(ops)
    assert "Fit-to-travel overrides for" not in page_text(client.get(f"/cases/{family.case_number}/"))
    assert client.post("/departures/fit-to-travel-overrides/", {"person": zahra.pk, "reason": "x"}).status_code == 403
    assert FitToTravelOverride.objects.count() == 1
    client.force_login(escort)
    boarding_page = page_text(client.get(url(flight)))
    assert "Fit to travel: cleared by medical staff (override)" in boarding_page
    assert "Examined at the clinic" not in boarding_page


def test_a_refused_override_or_withdrawal_keeps_the_reason_typed_beside_its_person(client, medic, flight, family):
    MedicalExam.objects.filter(person__case=family, kind="ftt").delete()
    zahra, omid = pax(family).person, pax(family, "Omid").person
    client.force_login(medic)
    reason = "Examined at the clinic on the morning of the flight; the certificate follows. " * 30  # too long

    refused = client.post("/departures/fit-to-travel-overrides/", {"person": zahra.pk, "reason": reason},
                          follow=True)

    assert not FitToTravelOverride.objects.exists()
    page = refused.content.decode()
    assert "keep it to 2,000" in page_text(refused)
    assert '<details class="overrides" data-testid="overrides" open>' in page
    assert f'id="override-{zahra.pk}" name="reason" required maxlength="2000" value="{reason}">' in page
    assert f'id="override-{omid.pk}" name="reason" required maxlength="2000" value="">' in page
    override = boarding.record_override(flight, zahra, by=medic, reason="Examined at the clinic")
    withdrawal = client.post(f"/departures/fit-to-travel-overrides/{override.pk}/withdraw/", {"reason": reason},
                             follow=True).content.decode()
    assert f'id="revoke-{override.pk}" name="reason" required maxlength="2000" value="{reason}">' in withdrawal
    again = client.get(f"/cases/{family.case_number}/").content.decode()
    assert reason not in again and '<details class="overrides" data-testid="overrides">' in again


def test_the_case_timeline_tells_unhcr_of_an_override_without_its_medical_fact(client, ops, medic, unhcr, flight,
                                                                              family):
    zahra = pax(family).person
    boarding.record_override(flight, zahra, by=medic, reason="Examined at the clinic")
    boarding.revoke_override(FitToTravelOverride.objects.get(), by=medic, reason="Check done after all")

    client.force_login(unhcr)
    for_unhcr = page_text(client.get(f"/cases/{family.case_number}/"))
    client.force_login(ops)
    for_operations = page_text(client.get(f"/cases/{family.case_number}/"))

    assert f"Karimi, Zahra cleared for boarding {flight.code} (details with medical staff)." in for_unhcr
    assert f"Boarding clearance of Karimi, Zahra for {flight.code} withdrawn (details with medical staff)." in for_unhcr
    assert "without a fit-to-travel check" not in for_unhcr and "check is needed again" not in for_unhcr
    assert (f"Medical staff cleared Karimi, Zahra for boarding {flight.code} without a fit-to-travel check in the "
            "window.") in for_operations
    assert "a fit-to-travel check is needed again" in for_operations


def test_the_escorts_dashboard_puts_todays_boarding_one_tap_away(client, escort, flight):
    client.force_login(escort)

    page = page_text(client.get("/"))

    assert f'<a class="button primary escort-go" href="/departures/{flight.code}/boarding/">Boarding now</a>' in page


def test_the_departure_page_links_to_boarding_and_has_no_bare_departed_or_arrived_button(client, ops, flight):
    client.force_login(ops)

    page = page_text(client.get(f"/departures/{flight.code}/"))

    assert f'href="/departures/{flight.code}/boarding/">Boarding</a>' in page
    assert "boarded 0 of 5 · 0 no-show · 5 waiting" in page
    assert "Mark departed" not in page and "Mark arrived" not in page


# --- queries ------------------------------------------------------------------------------------------------------


def _families(ops, departure, count, members=4):
    departure = services.reopen_departure(departure, by=ops, reason="more families")
    cases = [ready_case(ops, members=members) for _ in range(count)]
    for case in cases:
        services.book_case(departure, case, by=ops)
        pass_pre_embarkation(case)
    return services.finalise_departure(departure, by=ops), cases


def test_marking_one_passenger_runs_the_same_queries_whatever_the_departures_size(clock, ops, escort):
    from django.contrib.auth.models import User

    clock.move_to(BOOKED_ON)
    departure = make_departure(ops, day=FLIGHT_DAY, escorts=[escort], seat_block=200, state="final")
    clock.move_to(GATE)
    departure, small = _families(ops, departure, 2)
    counts = []
    for extra in (0, 8):
        if extra:
            departure, _ = _families(ops, departure, extra)
        case = small[len(counts)]
        by = User.objects.get(pk=escort.pk)  # as a new request has it: permissions not yet read
        with CaptureQueriesContext(connection) as ctx:
            boarding.mark(departure, pax(case), "boarded", by=by, request_id=f"r{extra}")
        counts.append(len(ctx.captured_queries))

    assert Passenger.objects.filter(departure=departure).count() == 40
    assert counts[0] == counts[1], counts


def test_the_boarding_page_runs_the_same_queries_whatever_the_departures_size(client, clock, ops, escort):
    clock.move_to(BOOKED_ON)
    departure = make_departure(ops, day=FLIGHT_DAY, escorts=[escort], seat_block=200, state="final")
    clock.move_to(GATE)
    client.force_login(escort)
    counts = []
    for extra in (2, 8):
        departure, cases = _families(ops, departure, extra)
        boarding.mark(departure, pax(cases[0]), "no_show", by=escort)
        client.get(url(departure))
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(departure)).status_code == 200
        counts.append(len(ctx.captured_queries))

    assert counts[0] == counts[1], counts


def test_an_escort_is_refused_cancelling_a_booking_or_deciding_a_split_whatever_the_body_says(
        client, escort, flight, family):
    boarding.mark(flight, pax(family, "Yasin"), "no_show", by=escort)
    split = boarding.request_split(flight, family, by=escort, reason="He follows on the next flight").split
    booking = Booking.objects.get(departure=flight, case=family)
    client.force_login(escort)

    for body in ({"reason": "Ab\x00cd", "back": "case"}, {"reason": "x" * 3000}, {"reason": "Family asked"}):
        assert client.post(f"/departures/{flight.code}/bookings/{booking.pk}/cancel/", body).status_code == 403
    for body in ({}, {"decision": "bogus"}, {"decision": "approve"}):
        assert client.post(url(flight, f"splits/{split.pk}/"), body).status_code == 403
    assert Booking.objects.get(pk=booking.pk).status == "active"
    split.refresh_from_db()
    assert split.is_pending
