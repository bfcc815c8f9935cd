"""The day of travel, through its services: an escort marks who boarded, a family with a no-show stays behind
or travels split, boarding closes and every boarded case departs at once, the arrival is confirmed for the
departure or case by case, incidents are logged, medical staff may override a missing fit-to-travel check.

The flight is booked and made final on Friday 2026-11-20; it leaves on Wednesday 2026-12-09: TK 255 DYU 05:45
→ IST 09:05, TK 17 IST 14:20 → YYZ 18:05 (local times). Eraj escorts it; the gate opens at 04:00 in Dushanbe,
where every traveller passed a fit-to-travel check at 01:00 unless a test says otherwise."""

import datetime

import pytest
import time_machine

from movements import readiness, transitions
from movements.models import Case, CaseChange, CaseTransition, MedicalExam, TravelMedicalNeeds
from tests.conftest import make_user, pass_pre_embarkation, ready_case, make_departure
from travel import boarding, services
from travel.facts import passenger_counts
from travel.models import (
    BoardingLogEntry, Booking, Departure, DepartureLogEntry, FitToTravelOverride, Incident, Passenger,
    SplitRequest, TravelExclusion,
)
from travel.services import TravelError

pytestmark = pytest.mark.django_db

UTC = datetime.timezone.utc
BOOKED_ON = datetime.datetime(2026, 11, 20, 5, tzinfo=UTC)  # Friday, 10:00 in Dushanbe
FLIGHT_DAY = datetime.date(2026, 12, 9)
GATE = datetime.datetime(2026, 12, 8, 23, 0, tzinfo=UTC)  # 04:00 in Dushanbe, 1 h 45 before take-off
LANDED = datetime.datetime(2026, 12, 9, 23, 30, tzinfo=UTC)  # 18:30 in Toronto, 25 minutes after the 18:05


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(BOOKED_ON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def farrukh(db):
    """Another escort, of another departure."""
    return make_user("farrukh", "escort")


def final_flight(ops, escort, *cases, seat_block=20):
    departure = make_departure(ops, day=FLIGHT_DAY, seat_block=seat_block, escorts=[escort])
    for case in cases:
        services.book_case(departure, case, by=ops)
    return services.finalise_departure(departure, by=ops)


def at_the_gate(clock, *cases, checked=True):
    clock.move_to(GATE)
    if checked:
        for case in cases:
            pass_pre_embarkation(case)


def pax(case, given="Zahra"):
    return Passenger.objects.select_related("person").get(person__case=case, person__given_name=given)


def refused(call):
    with pytest.raises(TravelError) as excinfo:
        call()
    return excinfo.value


def seats(departure):
    return passenger_counts([departure])[departure.pk].seats


def mark_all(departure, case, status, by):
    for passenger in Passenger.objects.filter(booking__case=case, active=True).order_by("id"):
        boarding.mark(departure, passenger, status, by=by)


# --- marks ------------------------------------------------------------------------------------------------------


def test_an_escort_marks_a_passenger_boarded_and_the_log_says_who_when_and_on_what_check(clock, ops, escort):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)

    result = boarding.mark(flight, pax(case), "boarded", by=escort)

    assert result.changed and result.summary == "Zahra Karimi: boarded."
    stored = pax(case)
    assert (stored.boarding, stored.boarding_marked_by, stored.boarding_marked_at) == ("boarded", escort, GATE)
    entry = BoardingLogEntry.objects.get()
    assert (entry.user, entry.actor, entry.at, entry.from_status, entry.to_status) == (
        escort, "eraj", GATE, "waiting", "boarded")
    assert entry.data == {"case": case.case_number, "fit_to_travel_checked_at": "2026-12-09 01:00"}


def test_two_identical_requests_change_the_mark_once_and_write_one_log_row(clock, ops, escort):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)

    first = boarding.mark(flight, pax(case), "boarded", by=escort, request_id="tap-1:boarded")
    second = boarding.mark(flight, pax(case), "boarded", by=escort, request_id="tap-1:boarded")
    third = boarding.mark(flight, pax(case), "boarded", by=escort)  # a second tap from another page: same mark

    assert (first.changed, second.changed, third.changed) == (True, False, False)
    assert second.summary == "Zahra Karimi: already boarded; nothing changed."
    assert BoardingLogEntry.objects.count() == 1


def test_a_request_retried_after_its_mark_was_undone_does_not_mark_again(clock, ops, escort):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case), "boarded", by=escort, request_id="tap-1:boarded")
    boarding.mark(flight, pax(case), "waiting", by=escort, reason="Tapped the wrong Karimi", request_id="tap-2:undo")

    late = boarding.mark(flight, pax(case), "boarded", by=escort, request_id="tap-1:boarded")

    assert not late.changed
    assert pax(case).boarding == "waiting"
    assert list(BoardingLogEntry.objects.order_by("id").values_list("to_status", "reason")) == [
        ("boarded", ""), ("waiting", "Tapped the wrong Karimi")]


def test_an_undo_needs_a_reason_and_a_mark_is_changed_only_through_an_undo(clock, ops, escort):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case), "boarded", by=escort)

    assert refused(lambda: boarding.mark(flight, pax(case), "waiting", by=escort)).code == "reason_required"
    error = refused(lambda: boarding.mark(flight, pax(case), "no_show", by=ops))
    assert error.code == "already_marked"
    assert error.message == ("Karimi, Zahra is already marked boarded (at 04:00 by eraj): undo that mark first, "
                             "with a reason.")
    assert pax(case).boarding == "boarded"


def test_nobody_is_marked_before_boarding_opens_or_after_it_closed(clock, ops, escort):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    clock.move_to(datetime.datetime(2026, 12, 7, 12, tzinfo=UTC))  # two days before

    early = refused(lambda: boarding.mark(flight, pax(case), "no_show", by=escort))

    assert early.code == "too_early"
    assert early.message == "Boarding of DEP-20261209-YYZ opens at 2026-12-08 05:45 (24 h before it leaves)."
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case), "boarded", by=escort)
    boarding.close_boarding(flight, by=escort)
    late = refused(lambda: boarding.mark(flight, pax(case), "waiting", by=escort, reason="wrong person"))
    assert late.code == "boarding_closed"
    assert pax(case).boarding == "boarded"


def test_an_escort_of_another_departure_may_not_mark_its_passengers(clock, ops, escort, farrukh, medic):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)

    assert refused(lambda: boarding.mark(flight, pax(case), "boarded", by=farrukh)).code == "forbidden"
    assert refused(lambda: boarding.mark(flight, pax(case), "boarded", by=medic)).code == "forbidden"
    assert boarding.mark(flight, pax(case), "boarded", by=ops).changed  # operations board any departure


# --- the checks at boarding -----------------------------------------------------------------------------------------


def test_a_passenger_without_a_fit_to_travel_check_in_the_window_is_refused_with_the_reason(clock, ops, escort):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case, checked=False)
    # Checked 73 hours before take-off: outside the 72 hours.
    MedicalExam.objects.create(person=pax(case).person, kind="ftt", exam_date=datetime.date(2026, 12, 6),
                               examined_at=datetime.datetime(2026, 12, 5, 23, 45, tzinfo=UTC), clinic="IOM",
                               fit_to_travel=True)

    for_operations = refused(lambda: boarding.mark(flight, pax(case), "boarded", by=ops))
    for_the_escort = refused(lambda: boarding.mark(flight, pax(case), "boarded", by=escort))

    assert for_operations.code == for_the_escort.code == "blocked"
    assert [b.code for b in for_operations.breaches] == ["fit_to_travel_missing"]
    assert for_operations.message.startswith(
        "Karimi, Zahra cannot board: Karimi, Zahra — no passing fit-to-travel check within 72 h before departure "
        "DEP-20261209-YYZ on 2026-12-09 (checks count from 2026-12-06 05:45).")  # TK 255 leaves at 05:45
    # Escorts see no medical details: the reason reads as clearance pending, and where to send the person.
    assert for_the_escort.message == (
        "Karimi, Zahra cannot board: Karimi, Zahra — medical clearance for travel pending. Medical staff record a "
        "fit-to-travel check (or an override) before the person boards.")
    assert pax(case).boarding == "waiting" and not BoardingLogEntry.objects.exists()
    # Only Zahra is stopped: Ahmad's own check is what counts for him.
    pass_pre_embarkation_of(pax(case, "Ahmad").person)
    assert boarding.mark(flight, pax(case, "Ahmad"), "boarded", by=escort).changed


def pass_pre_embarkation_of(person, hours_ago=2):
    from django.utils import timezone

    examined = timezone.now() - datetime.timedelta(hours=hours_ago)
    MedicalExam.objects.create(person=person, kind="ftt", exam_date=examined.date(), examined_at=examined,
                               clinic="IOM", fit_to_travel=True)


def test_a_failed_fit_to_travel_check_does_not_let_the_person_board(clock, ops, escort):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case, checked=False)
    MedicalExam.objects.create(person=pax(case).person, kind="ftt", exam_date=datetime.date(2026, 12, 9),
                               examined_at=GATE - datetime.timedelta(hours=1), clinic="IOM", fit_to_travel=False)

    assert refused(lambda: boarding.mark(flight, pax(case), "boarded", by=escort)).code == "blocked"


def test_a_medical_override_lets_the_person_board_and_the_family_depart(clock, ops, escort, medic):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case, checked=False)
    pass_pre_embarkation_of(pax(case, "Ahmad").person)
    zahra = pax(case).person

    assert refused(lambda: boarding.record_override(flight, zahra, by=ops, reason="x")).code == "forbidden"
    assert refused(lambda: boarding.record_override(flight, zahra, by=medic, reason=" ")).code == "reason_required"
    override = boarding.record_override(flight, zahra, by=medic,
                                        reason="Examined at the clinic last night; the airport post was closed.")
    marked = boarding.mark(flight, pax(case), "boarded", by=escort)
    boarding.mark(flight, pax(case, "Ahmad"), "boarded", by=escort)
    boarding.close_boarding(flight, by=escort)

    assert marked.entry.data["fit_to_travel_override_by"] == "mehdi"
    assert Case.objects.get(pk=case.pk).state == "departed"
    assert override.recorded_by == medic
    change = CaseChange.objects.get(case=case, summary__contains="cleared Karimi, Zahra for boarding")
    assert "Examined" not in change.summary  # the medical reason stays with medical staff


def test_an_override_withdrawn_before_boarding_stops_the_person_again(clock, ops, escort, medic):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case, checked=False)
    override = boarding.record_override(flight, pax(case).person, by=medic, reason="Clinic exam")

    boarding.revoke_override(override, by=medic, reason="Recorded for the wrong person")

    assert FitToTravelOverride.objects.get().revoked_by == medic
    assert refused(lambda: boarding.mark(flight, pax(case), "boarded", by=escort)).code == "blocked"


def test_a_member_excluded_from_travel_is_not_on_the_list_and_cannot_be_marked(clock, ops, escort):
    case = ready_case(ops, members=2)
    departure = make_departure(ops, day=FLIGHT_DAY, escorts=[escort])
    services.book_case(departure, case, by=ops)
    ahmad = pax(case, "Ahmad")
    services.exclude_member(ahmad.person, by=ops, reason="IRCC refused him; the family travels")
    flight = services.finalise_departure(departure, by=ops)
    at_the_gate(clock, case)

    error = refused(lambda: boarding.mark(flight, ahmad, "boarded", by=escort))

    assert error.code == "not_travelling"
    assert "excluded from travel" in error.message


# --- a family with a no-show ------------------------------------------------------------------------------------


def test_a_no_show_in_a_family_of_five_takes_the_whole_case_off_and_frees_five_seats(clock, ops, escort):
    family, other = ready_case(ops, members=5), ready_case(ops, members=2)
    flight = final_flight(ops, escort, family, other)
    at_the_gate(clock, family, other)
    assert seats(flight) == 7
    for given in ("Zahra", "Ahmad", "Omid"):
        boarding.mark(flight, pax(family, given), "boarded", by=escort)
    boarding.mark(flight, pax(family, "Yasin"), "no_show", by=escort)

    decided = boarding.keep_case_behind(flight, family, by=escort, reason="Yasin not at the airport by 04:30")

    assert seats(flight) == 2
    family = Case.objects.get(pk=family.pk)
    assert family.state == "ready"
    assert Booking.objects.get(case=family).status == "cancelled"
    assert not Passenger.objects.filter(booking__case=family, active=True).exists()
    unbook = CaseTransition.objects.get(case=family, transition="unbook")
    assert (unbook.user, unbook.data) == (escort, {"departure": flight.code, "no_show": ["Karimi, Yasin"]})
    assert decided.summary == (f"Case {family.case_number} stays behind (no-show: Karimi, Yasin): taken off "
                               f"{flight.code}, its 5 seats freed; the case is ready again. Offload: Karimi, Zahra; "
                               "Karimi, Ahmad; Karimi, Omid had boarded — they and their checked luggage come off.")
    no_show = Incident.objects.get(kind="no_show")
    assert [p.given_name for p in no_show.people.all()] == ["Yasin"]
    assert (no_show.place, no_show.reported_by, no_show.note) == ("DYU", escort, "Yasin not at the airport by 04:30")
    offloaded = Incident.objects.get(kind="offloaded")
    assert sorted(p.given_name for p in offloaded.people.all()) == ["Ahmad", "Omid", "Zahra"]
    assert [p.full_name for p in decided.offloaded] == ["Karimi, Zahra", "Karimi, Ahmad", "Karimi, Omid"]
    timeline = list(CaseChange.objects.filter(case=family).values_list("summary", flat=True))
    assert f"Incident on {flight.code}: no-show at DYU, 2026-12-09 04:00 — Karimi, Yasin." in timeline
    # The other family still boards and flies.
    mark_all(flight, other, "boarded", escort)
    boarding.close_boarding(flight, by=escort)
    assert Case.objects.get(pk=other.pk).state == "departed"
    assert Case.objects.get(pk=family.pk).state == "ready"


def test_deciding_twice_that_a_family_stays_behind_changes_nothing_the_second_time(clock, ops, escort):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case), "no_show", by=escort)
    boarding.keep_case_behind(flight, case, by=escort)

    again = boarding.keep_case_behind(flight, case, by=escort)

    assert not again.changed
    assert DepartureLogEntry.objects.filter(action="stays_behind").count() == 1
    assert CaseTransition.objects.filter(case=case, transition="unbook").count() == 1


def test_a_family_stays_behind_only_once_someone_is_marked_no_show(clock, ops, escort):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)

    assert refused(lambda: boarding.keep_case_behind(flight, case, by=escort)).code == "no_no_show"
    assert Case.objects.get(pk=case.pk).state == "booked"


def test_operations_may_leave_the_family_on_hold_and_an_escort_may_not(clock, ops, escort):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case), "no_show", by=escort)

    forbidden = refused(lambda: boarding.keep_case_behind(flight, case, by=escort, hold_category="family",
                                                          hold_reason="Mother in hospital"))
    assert forbidden.code == "forbidden"
    assert Case.objects.get(pk=case.pk).state == "booked"

    boarding.keep_case_behind(flight, case, by=ops, hold_category="family", hold_reason="Mother in hospital")
    case = Case.objects.get(pk=case.pk)
    assert (case.state, case.hold_category, case.held_from) == ("on_hold", "family", "ready")


def test_an_escort_asks_for_a_split_and_operations_approve_it(clock, ops, escort):
    case = ready_case(ops, members=3)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case, "Zahra"), "boarded", by=escort)
    boarding.mark(flight, pax(case, "Ahmad"), "boarded", by=escort)
    boarding.mark(flight, pax(case, "Omid"), "no_show", by=escort)

    asked = boarding.request_split(flight, case, by=escort, reason="Omid (22) stays with his uncle; IRCC informed")
    assert asked.split.status == "pending"
    assert seats(flight) == 3
    closing = refused(lambda: boarding.close_boarding(flight, by=escort))
    assert closing.code == "decision_pending"
    assert "split waiting for operations' approval" in closing.message
    assert refused(lambda: boarding.decide_split(asked.split, by=escort, approve=True)).code == "forbidden"

    boarding.decide_split(asked.split, by=ops, approve=True)

    split = SplitRequest.objects.get()
    assert (split.status, split.requested_by, split.decided_by) == ("approved", escort, ops)
    exclusion = TravelExclusion.objects.get(case=case)
    assert exclusion.person.given_name == "Omid" and exclusion.excluded_by == ops
    assert "approved by Olga Ops" in exclusion.reason
    assert seats(flight) == 2
    assert CaseChange.objects.filter(case=case, summary__contains="Travels split on").get().data[
        "approved_by"] == "Olga Ops"
    boarding.close_boarding(flight, by=escort)
    assert Case.objects.get(pk=case.pk).state == "departed"
    assert CaseTransition.objects.get(case=case, transition="depart").data["boarded"] == 2


def test_a_split_asked_by_operations_is_approved_at_once(clock, ops, escort):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case, "Ahmad"), "no_show", by=escort)

    decided = boarding.request_split(flight, case, by=ops, reason="He follows on the next flight")

    assert decided.split.status == "approved"
    assert decided.split.requested_by == decided.split.decided_by == ops


def test_a_family_with_a_lap_infant_that_stays_behind_frees_the_seats_it_held(clock, ops, escort, client):
    case = ready_case(ops, members=3)
    Case.objects.get(pk=case.pk).members.filter(given_name="Omid").update(date_of_birth=datetime.date(2026, 1, 2))
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    assert seats(flight) == 2
    boarding.mark(flight, pax(case, "Ahmad"), "no_show", by=escort)
    client.force_login(escort)
    page = client.get(f"/departures/{flight.code}/boarding/").content.decode()
    assert f"Take the whole KARIMI family ({case.case_number}) off {flight.code}? Their 2 seats are freed." in page

    decided = boarding.keep_case_behind(flight, case, by=escort)

    assert seats(flight) == 0
    assert decided.summary.endswith(f"taken off {flight.code}, its 2 seats freed (a lap infant held none); the case "
                                    "is ready again.")
    logged = DepartureLogEntry.objects.get(departure=flight, action="stays_behind")
    assert logged.data["seats_freed"] == 2


def test_a_split_needs_a_reason_and_is_refused_when_it_leaves_an_infant_without_an_adult(clock, ops, escort):
    case = ready_case(ops, members=2)
    Case.objects.get(pk=case.pk).members.filter(given_name="Ahmad").update(date_of_birth=datetime.date(2026, 1, 2))
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case, "Zahra"), "no_show", by=escort)

    assert refused(lambda: boarding.request_split(flight, case, by=ops, reason="")).code == "reason_required"
    error = refused(lambda: boarding.request_split(flight, case, by=ops, reason="She follows later"))

    assert error.code == "too_many_infants"
    assert "one infant per adult" in error.message and error.message.endswith("The family stays behind.")
    assert not SplitRequest.objects.exists()


def test_undoing_a_no_show_withdraws_the_split_asked_for(clock, ops, escort):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case, "Ahmad"), "no_show", by=escort)
    boarding.request_split(flight, case, by=escort, reason="He follows later")

    result = boarding.mark(flight, pax(case, "Ahmad"), "waiting", by=escort, reason="He came running at 05:10")

    assert result.withdrawn_split is not None
    assert SplitRequest.objects.get().status == "withdrawn"


# --- closing boarding -------------------------------------------------------------------------------------------


def test_closing_is_refused_while_anyone_is_waiting_and_says_who(clock, ops, escort):
    case = ready_case(ops, members=2)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    boarding.mark(flight, pax(case), "boarded", by=escort)

    error = refused(lambda: boarding.close_boarding(flight, by=escort))

    assert error.code == "passengers_waiting"
    assert error.message == (f"Boarding of {flight.code} cannot close: 1 passenger is still waiting — Karimi, Ahmad "
                             f"({case.case_number}). Mark each boarded or no-show first.")
    assert Departure.objects.get(pk=flight.pk).state == "final"
    assert Case.objects.get(pk=case.pk).state == "booked"


def test_closing_departs_every_boarded_case_in_one_step_and_logs_it(clock, ops, escort):
    cases = [ready_case(ops, members=n) for n in (1, 2, 3)]
    flight = final_flight(ops, escort, *cases)
    at_the_gate(clock, *cases)
    for case in cases:
        mark_all(flight, case, "boarded", escort)

    closed = boarding.close_boarding(flight, by=escort)
    again = boarding.close_boarding(flight, by=escort)

    assert (closed.changed, closed.cases, closed.boarded, again.changed) == (True, 3, 6, False)
    assert Departure.objects.get(pk=flight.pk).state == "departed"
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("state", flat=True)) == {"departed"}
    assert CaseTransition.objects.filter(transition="depart", user=escort).count() == 3
    log = DepartureLogEntry.objects.get(departure=flight, action="depart")
    assert log.summary == f"Boarding closed: {flight.code} left with 6 passengers in 3 cases."


def two_families_boarded(clock, ops, escort):
    """Two ready families on a final flight, at the gate, every member marked boarded."""
    cases = [ready_case(ops), ready_case(ops)]
    flight = final_flight(ops, escort, *cases)
    at_the_gate(clock, *cases)
    for case in cases:
        mark_all(flight, case, "boarded", escort)
    return cases, flight


def test_a_case_that_may_no_longer_depart_stops_the_whole_closing(clock, ops, escort):
    cases, flight = two_families_boarded(clock, ops, escort)
    # After boarding, a visa reference turns out to be missing: that case may not depart.
    cases[1].members.update(visa_reference="")

    error = refused(lambda: boarding.close_boarding(flight, by=escort))

    assert error.code == "blocked"
    assert "visa" in error.message
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("state", flat=True)) == {"booked"}
    assert Departure.objects.get(pk=flight.pk).state == "final"


def test_closing_refused_for_a_medical_reason_tells_the_escort_no_medical_fact(clock, ops, escort):
    cases, flight = two_families_boarded(clock, ops, escort)
    # After boarding, medical staff record a pregnancy past the airline's limit without a certificate.
    zahra = cases[1].members.get(given_name="Zahra")
    TravelMedicalNeeds.objects.update_or_create(person=zahra, defaults={
        "pregnancy_weeks": 37, "pregnancy_weeks_on": FLIGHT_DAY})

    as_escort = refused(lambda: boarding.close_boarding(flight, by=escort))
    as_ops = refused(lambda: boarding.close_boarding(flight, by=ops))

    # What holds the family back is the pregnancy (as medical staff read it on the case page)...
    assert any("pregnan" in b.message for b in readiness.blockers_for(Case.objects.get(pk=cases[1].pk)))
    # ...which the escort does not read in the refusal; operations do, as on their case page.
    assert as_escort.code == as_ops.code == "blocked"
    assert "Zahra — medical clearance for travel pending" in as_escort.message
    assert "pregnan" not in as_escort.message.lower() and "week" not in as_escort.message.lower()
    assert {b.code for b in as_escort.breaches} == {"medical_clearance"}
    assert "Zahra — 37 weeks pregnant" in as_ops.message
    assert Departure.objects.get(pk=flight.pk).state == "final"


def test_what_changed_since_the_list_was_final_is_listed_and_closing_sees_it(clock, ops, escort, medic):
    held, flying = ready_case(ops, members=2), ready_case(ops)
    flight = final_flight(ops, escort, held, flying)
    at_the_gate(clock, held, flying)
    mark_all(flight, flying, "boarded", escort)
    seen = 0  # the escort's page was drawn before the hold
    transitions.hold(Case.objects.get(pk=held.pk), by=medic, reason="Active TB on the last X-ray", category="medical")

    changes = boarding.changes_since_final(flight)
    stale = refused(lambda: boarding.close_boarding(flight, by=escort, seen_change=seen))
    boarding.close_boarding(flight, by=escort, seen_change=changes[-1].pk)

    assert [c.action for c in changes] == ["released"]
    assert changes[0].summary == f"Case {held.case_number} put on hold while booked: its 2 places released."
    assert stale.code == "changed_since_seen"
    assert Case.objects.get(pk=flying.pk).state == "departed"


# --- arrival ----------------------------------------------------------------------------------------------------


def flown(clock, ops, escort, *cases):
    flight = final_flight(ops, escort, *cases)
    at_the_gate(clock, *cases)
    for case in cases:
        mark_all(flight, case, "boarded", escort)
    return boarding.close_boarding(flight, by=escort).departure


def test_the_arrival_of_the_whole_departure_carries_the_final_legs_local_time(clock, ops, escort):
    cases = [ready_case(ops), ready_case(ops, members=2)]
    flight = flown(clock, ops, escort, *cases)

    assert refused(lambda: boarding.confirm_arrival(flight, by=escort)).code == "too_early"
    clock.move_to(LANDED)
    arrived = boarding.confirm_arrival(flight, by=escort)

    assert arrived.whole and Departure.objects.get(pk=flight.pk).state == "arrived"
    assert set(Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("state", flat=True)) == {"arrived"}
    booking = Booking.objects.get(case=cases[0])
    assert booking.arrival_date == datetime.date(2026, 12, 9)
    assert booking.arrived_at == datetime.datetime(2026, 12, 9, 23, 5, tzinfo=UTC)  # 18:05 in Toronto
    assert CaseTransition.objects.get(case=cases[0], transition="arrive").data["arrived"] == \
        "2026-12-09 18:05 EST in Toronto"


def test_a_departure_that_splits_at_the_destination_arrives_case_by_case(clock, ops, escort):
    first, second = ready_case(ops), ready_case(ops)
    flight = flown(clock, ops, escort, first, second)
    clock.move_to(LANDED + datetime.timedelta(hours=24))
    # The second family missed the connection and came a day later, at 16:40.
    late = datetime.datetime(2026, 12, 10, 21, 40, tzinfo=UTC)

    one = boarding.confirm_arrival(flight, by=escort, cases=[first])
    assert not one.whole and Departure.objects.get(pk=flight.pk).state == "departed"
    two = boarding.confirm_arrival(flight, by=ops, cases=[second], arrived_at=late)

    assert two.whole and Departure.objects.get(pk=flight.pk).state == "arrived"
    assert Booking.objects.get(case=first).arrival_date == datetime.date(2026, 12, 9)
    assert Booking.objects.get(case=second).arrival_date == datetime.date(2026, 12, 10)
    assert CaseTransition.objects.get(case=second, transition="arrive").data["arrived"] == \
        "2026-12-10 16:40 EST in Toronto"
    assert refused(lambda: boarding.confirm_arrival(flight, by=escort, cases=[ready_case(ops)])).code == \
        "not_on_departure"


def test_an_arrival_time_in_the_future_is_refused(clock, ops, escort):
    case = ready_case(ops)
    flight = flown(clock, ops, escort, case)
    clock.move_to(LANDED)

    error = refused(lambda: boarding.confirm_arrival(flight, by=escort,
                                                     arrived_at=LANDED + datetime.timedelta(hours=3)))

    assert error.code == "bad_time"


# --- depart and arrive happen only here ---------------------------------------------------------------------------


def test_depart_and_arrive_are_refused_anywhere_but_these_services(clock, ops, escort, superuser, client):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)

    for name in ("depart", "arrive"):
        with pytest.raises(transitions.TransitionError) as excinfo:
            transitions.perform(Case.objects.get(pk=case.pk), name, by=superuser)
        assert excinfo.value.code == "owned_elsewhere"
    client.force_login(ops)
    page = client.get(f"/cases/{case.case_number}/").content.decode()
    assert 'value="depart"' not in page and "Confirm departure" not in page
    response = client.post(f"/cases/{case.case_number}/transition/", {"transition": "depart", "version": 1})
    assert Case.objects.get(pk=case.pk).state == "booked"
    assert response.status_code == 302
    assert client.post(f"/departures/{flight.code}/depart/").status_code == 404
    assert client.post(f"/departures/{flight.code}/arrive/").status_code == 404


def test_an_escort_closes_boarding_though_only_operations_move_cases_elsewhere(clock, ops, escort):
    case = ready_case(ops)
    flight = final_flight(ops, escort, case)
    at_the_gate(clock, case)
    mark_all(flight, case, "boarded", escort)
    assert not escort.has_perm("movements.move_case")

    boarding.close_boarding(flight, by=escort)

    assert CaseTransition.objects.get(case=case, transition="depart").user == escort


# --- incidents ----------------------------------------------------------------------------------------------------


def test_an_incident_is_logged_on_the_departure_and_each_concerned_cases_timeline(clock, ops, escort):
    first, second = ready_case(ops, members=2), ready_case(ops)
    flight = flown(clock, ops, escort, first, second)
    clock.move_to(datetime.datetime(2026, 12, 9, 8, tzinfo=UTC))
    people = [pax(first, "Ahmad").person, pax(second).person]

    incident = boarding.record_incident(flight, by=escort, kind="missed_connection", place="IST", people=people,
                                        note="TK 17 left without them; rebooked on TK 19 tomorrow 14:20")

    assert incident.actor == "eraj" and incident.place == "IST"
    assert CaseChange.objects.get(case=first).summary == (
        f"Incident on {flight.code}: missed connection at IST, 2026-12-09 13:00 — Karimi, Ahmad.")
    assert CaseChange.objects.get(case=second).summary.endswith("— Karimi, Zahra.")


def test_a_medical_event_is_not_named_on_the_case_timeline_that_unhcr_reads(clock, ops, escort):
    case = ready_case(ops)
    flight = flown(clock, ops, escort, case)

    boarding.record_incident(flight, by=escort, kind="medical", place="On board TK 255", people=[pax(case).person],
                             note="Fainted; seen by the cabin crew, recovered")

    summary = CaseChange.objects.get(case=case).summary
    assert "an incident (details with operations and the escort)" in summary
    assert "medical" not in summary.lower() and "Fainted" not in summary


def test_an_incident_names_only_passengers_of_the_departure(clock, ops, escort):
    case = ready_case(ops)
    flight = flown(clock, ops, escort, case)
    stranger = ready_case(ops).members.get()

    error = refused(lambda: boarding.record_incident(flight, by=escort, kind="other", place="DYU", people=[stranger]))

    assert error.code == "not_on_departure"
    assert not Incident.objects.exists()


def test_readiness_loaded_for_many_cases_at_once_says_what_it_says_case_by_case(clock, ops, escort, medic):
    from movements import readiness
    from orientation.models import Attendance

    cases = [ready_case(ops, members=3) for _ in range(4)]
    flight = final_flight(ops, escort, *cases)
    at_the_gate(clock, cases[0], cases[1])
    # No check for the third family's; an override for one of the fourth's; an orientation undone for the second.
    pass_pre_embarkation_of(pax(cases[3], "Ahmad").person)
    pass_pre_embarkation_of(pax(cases[3], "Omid").person)
    boarding.record_override(flight, pax(cases[3]).person, by=medic, reason="Clinic exam last night")
    Attendance.objects.filter(enrolment__person=pax(cases[1], "Omid").person, day__number=3).update(status="absent")
    cases = list(Case.objects.filter(pk__in=[c.pk for c in cases]).order_by("pk"))
    plans = {c.pk: readiness.travel_plan_for(c) for c in cases}

    together = readiness.contexts_for(cases, plans)

    for case in cases:
        one_by_one = [(b.code, b.person_id) for b in readiness.evaluate(case, {"depart"})]
        at_once = [(b.code, b.person_id) for b in readiness.evaluate(case, {"depart"}, context=together[case.pk])]
        assert at_once == one_by_one, case
    assert [b.code for b in readiness.evaluate(cases[2], {"depart"})] == ["fit_to_travel_missing"] * 3
    assert [b.code for b in readiness.evaluate(cases[1], {"depart"})] == ["orientation_missing"]
    assert readiness.evaluate(cases[3], {"depart"}) == []
