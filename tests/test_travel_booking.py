"""Booking a case on a departure, and the rules that keep a family from being stranded: seats, Canada's rules,
readiness on the departure's date, infants and escorts — each refusal with a code and a message naming the
person or the limit. Time is frozen on Friday 2026-11-20 (Dushanbe); the usual flight leaves on Wednesday
2026-12-09: TK 255 DYU 05:45 → IST 09:05, TK 17 IST 14:20 → YYZ 18:05 (local times)."""

import datetime
import shutil
import subprocess

import pytest
import time_machine

from movements import transitions
from movements.models import Case, CaseChange, CaseTransition, MedicalExam, TravelDocument, TravelMedicalNeeds
from movements.transitions import TransitionError
from tests.conftest import (
    complete_orientation, fly, make_case, make_departure, page_text, pass_pre_embarkation, ready_case, tk_legs,
    visible_text,
)
from travel import boarding, services
from travel.legs import LegInput
from travel.models import Booking, Departure, DepartureLogEntry, DestinationRule, Passenger, TravelExclusion
from travel.services import TravelError

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 5, tzinfo=datetime.timezone.utc)  # Friday, 10:00 in Dushanbe
FLIGHT_DAY = datetime.date(2026, 12, 9)  # a Wednesday


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def flight(ops):
    return make_departure(ops, day=FLIGHT_DAY, seat_block=20)


def refused(call):
    with pytest.raises(TravelError) as excinfo:
        call()
    return excinfo.value


def born(year, month, day):
    return datetime.date(year, month, day)


def set_birth(person, day):
    type(person).objects.filter(pk=person.pk).update(date_of_birth=day)


def seats(departure):
    from travel.facts import passenger_counts

    return passenger_counts([departure])[departure.pk]


# --- booking --------------------------------------------------------------------------------------------------


def test_booking_takes_every_member_of_a_ready_case_and_books_the_case(ops, flight):
    case = ready_case(ops, members=3)

    booking = services.book_case(flight, case, by=ops)

    case.refresh_from_db()
    assert case.state == "booked"
    assert set(booking.passengers.values_list("person_id", flat=True)) == set(case.members.values_list("pk", flat=True))
    row = case.transitions.get(transition="book")
    assert row.data == {"departure": flight.code, "date": "2026-12-09", "travellers": 3}
    assert row.user == ops
    entry = DepartureLogEntry.objects.get(departure=flight, action="booked")
    assert entry.summary == f"Case {case.case_number} booked: 3 adults."
    assert entry.data["seats"] == 3


def test_the_travel_date_of_a_booked_case_is_its_departures_date(ops, flight, client):
    case = ready_case(ops, members=1, planned_travel_date=datetime.date(2027, 3, 1))

    services.book_case(flight, case, by=ops)

    case = Case.objects.get(pk=case.pk)
    assert case.travel_date == FLIGHT_DAY
    client.force_login(ops)
    page = page_text(client.get(f"/cases/{case.case_number}/"))
    assert f"2026-12-09 ({flight.code})" in page


def test_a_case_that_is_not_ready_is_not_booked_and_nothing_is_saved(ops, flight):
    case = make_case(1)
    transitions.accept(case, by=ops)

    error = refused(lambda: services.book_case(flight, case, by=ops))

    assert error.code == "case_not_ready"
    assert error.message == f"Case {case.case_number} is in processing: only a case that is ready to travel is booked."
    assert not Booking.objects.exists()
    assert not Passenger.objects.exists()
    assert not DepartureLogEntry.objects.filter(action="booked").exists()


def test_a_case_is_booked_on_one_departure_at_a_time(ops, flight):
    case = ready_case(ops)
    services.book_case(flight, case, by=ops)
    other = make_departure(ops, day=datetime.date(2026, 12, 10))

    error = refused(lambda: services.book_case(other, case, by=ops))

    assert error.code == "already_booked"
    assert error.message == f"Case {case.case_number} is already booked on {flight.code}."


def test_only_an_open_departure_takes_bookings(ops):
    planned = make_departure(ops, day=FLIGHT_DAY, state="planned")

    error = refused(lambda: services.book_case(planned, ready_case(ops), by=ops))

    assert error.code == "departure_not_open"


def test_a_case_is_booked_only_on_a_departure_to_its_destination(ops):
    departure = make_departure(ops, day=FLIGHT_DAY, destination_country="USA", legs=[
        LegInput(carrier="TK", flight_number="255", origin="DYU", destination="IST",
                 departs=datetime.datetime(2026, 12, 9, 5, 45), arrives=datetime.datetime(2026, 12, 9, 9, 5)),
        LegInput(carrier="TK", flight_number="11", origin="IST", destination="ORD",
                 departs=datetime.datetime(2026, 12, 9, 14, 0), arrives=datetime.datetime(2026, 12, 9, 17, 50))])

    error = refused(lambda: services.book_case(departure, ready_case(ops), by=ops))

    assert error.code == "wrong_destination"


def test_only_operations_book(ops, medic, flight):
    error = refused(lambda: services.book_case(flight, ready_case(ops), by=medic))

    assert error.code == "forbidden"


def test_book_unbook_depart_and_arrive_are_refused_anywhere_but_travel(ops):
    case = ready_case(ops)

    with pytest.raises(TransitionError) as excinfo:
        transitions.book(case, by=ops)

    assert excinfo.value.code == "owned_elsewhere"
    assert "Book on…" in excinfo.value.message
    assert Case.objects.get(pk=case.pk).state == "ready"
    assert [s.name for s in transitions.available_transitions(case, ops)] == ["hold", "withdraw"]


def test_the_case_page_cannot_book_a_case_with_a_bare_button(ops, client):
    case = ready_case(ops)
    client.force_login(ops)

    response = client.post(f"/cases/{case.case_number}/transition/",
                           {"transition": "book", "version": Case.objects.get(pk=case.pk).version}, follow=True)

    page = page_text(response)
    assert 'class="msg error code-owned_elsewhere"' in page
    assert "it departs when boarding of its departure closes and arrives when the arrival is confirmed" in page
    assert 'name="transition" value="book"' not in page
    assert Case.objects.get(pk=case.pk).state == "ready"
    assert not Booking.objects.exists()


# --- seats ----------------------------------------------------------------------------------------------------


def test_it_refuses_more_passengers_than_the_seat_block(ops):
    departure = make_departure(ops, day=FLIGHT_DAY, seat_block=4)
    services.book_case(departure, ready_case(ops, members=3), by=ops)
    family = ready_case(ops, members=2)

    error = refused(lambda: services.book_case(departure, family, by=ops))

    assert error.code == "no_seats_left"
    assert error.message == (f"Case {family.case_number} cannot be booked on {departure.code}: No seats left: "
                             f"{departure.code} has 1 seat free of 4; case {family.case_number} needs 2 (infants on a "
                             "lap take none).")
    assert seats(departure).seats == 3


def test_an_infant_on_a_lap_takes_no_seat(ops):
    departure = make_departure(ops, day=FLIGHT_DAY, seat_block=1)
    case = ready_case(ops, members=2)
    set_birth(case.members.order_by("id")[1], born(2024, 12, 10))  # 1 on the departure date

    services.book_case(departure, case, by=ops)

    counts = seats(departure)
    assert (counts.adults, counts.children, counts.infants, counts.seats) == (1, 0, 1, 1)


def test_a_child_who_turns_2_on_the_departure_date_takes_a_seat(ops):
    departure = make_departure(ops, day=FLIGHT_DAY, seat_block=1)
    case = ready_case(ops, members=2)
    set_birth(case.members.order_by("id")[1], born(2024, 12, 9))  # 2 on the departure date

    error = refused(lambda: services.book_case(departure, case, by=ops))

    assert error.code == "no_seats_left"
    assert "has 1 seat free of 1; case" in error.message and "needs 2" in error.message


def test_ages_are_taken_on_the_departure_date_not_today(ops):
    case = ready_case(ops, members=2)
    set_birth(case.members.order_by("id")[1], born(2024, 12, 1))  # an infant today, 2 by the flight
    departure = make_departure(ops, day=FLIGHT_DAY, seat_block=5)

    services.book_case(departure, case, by=ops)

    counts = seats(departure)
    assert (counts.adults, counts.children, counts.infants) == (1, 1, 0)


def test_an_infant_turning_2_on_a_29_february_birthday_counts_as_the_age_rule_does():
    from travel.rules import INFANT, born_on_or_before, kind_on

    day = datetime.date(2026, 2, 28)
    assert kind_on(born(2024, 2, 29), day) == INFANT  # turns 2 on 1 March
    assert kind_on(born(2024, 2, 28), day) != INFANT
    for offset in range(0, 800, 7):
        on = datetime.date(2026, 1, 1) + datetime.timedelta(days=offset)
        cutoff = born_on_or_before(on, 2)
        for birth in (cutoff - datetime.timedelta(days=1), cutoff, cutoff + datetime.timedelta(days=1),
                      born(2024, 2, 29)):
            age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
            assert (age >= 2) == (birth <= cutoff), (on, birth)


# --- readiness on the departure date ----------------------------------------------------------------------------


def test_an_ime_valid_until_the_day_before_departure_refuses_the_booking(ops, flight):
    case = ready_case(ops, ime_date=born(2025, 12, 9))  # valid until 2026-12-08

    error = refused(lambda: services.book_case(flight, case, by=ops))

    assert error.code == "medical_expired"
    assert f"Karimi, Zahra — IME valid until 2026-12-08, before departure {flight.code} on 2026-12-09" in error.message
    assert Case.objects.get(pk=case.pk).state == "ready"


def test_an_ime_valid_until_the_day_of_departure_lets_the_case_be_booked(ops, flight):
    case = ready_case(ops, ime_date=born(2025, 12, 10))  # valid until 2026-12-09

    services.book_case(flight, case, by=ops)

    assert Case.objects.get(pk=case.pk).state == "booked"


def test_a_passport_expiring_the_day_before_departure_refuses_the_booking(ops, flight):
    case = ready_case(ops, expiry=born(2026, 12, 8))

    error = refused(lambda: services.book_case(flight, case, by=ops))

    assert error.code == "document_expired"
    assert (f"Karimi, Zahra — passport valid until 2026-12-08, before departure {flight.code} on 2026-12-09"
            in error.message)


def test_a_passport_expiring_on_the_day_of_departure_is_still_valid(ops, flight):
    case = ready_case(ops, expiry=born(2026, 12, 9))

    services.book_case(flight, case, by=ops)

    assert Case.objects.get(pk=case.pk).state == "booked"


def test_the_departure_date_is_the_local_date_where_the_first_leg_leaves(ops):
    # 00:30 in Dushanbe on 9 December is still 8 December in UTC.
    legs = tk_legs(FLIGHT_DAY, first=("00:30", "03:50"), second=("06:00", "09:45"))
    departure = make_departure(ops, legs=legs)
    case = ready_case(ops, expiry=born(2026, 12, 8))

    error = refused(lambda: services.book_case(departure, case, by=ops))

    assert departure.departure_date == FLIGHT_DAY
    assert departure.departs_at == datetime.datetime(2026, 12, 8, 19, 30, tzinfo=datetime.timezone.utc)
    assert error.code == "document_expired"


def overnight(ops, seat_block=20):
    """TK 255 leaves Dushanbe at 23:50 on Wednesday 9 December; TK 17 lands in Toronto on Thursday the 10th."""
    at = datetime.datetime
    legs = [LegInput(carrier="TK", flight_number="255", origin="DYU", destination="IST",
                     departs=at(2026, 12, 9, 23, 50), arrives=at(2026, 12, 10, 2, 30)),
            LegInput(carrier="TK", flight_number="17", origin="IST", destination="YYZ",
                     departs=at(2026, 12, 10, 7, 0), arrives=at(2026, 12, 10, 11, 0))]
    departure = make_departure(ops, legs=legs, seat_block=seat_block)
    assert (departure.departure_date, departure.arrival_date) == (FLIGHT_DAY, datetime.date(2026, 12, 10))
    return departure


def test_a_passport_expiring_on_the_departure_date_of_an_overnight_journey_refuses_the_booking(ops):
    # Valid when the family leaves Dushanbe, expired when they board TK 17 in Istanbul and land in Canada.
    departure = overnight(ops)
    case = ready_case(ops, expiry=FLIGHT_DAY)

    error = refused(lambda: services.book_case(departure, case, by=ops))

    assert error.code == "document_expired"
    assert (f"Karimi, Zahra — passport valid until 2026-12-09, before 2026-12-10, the arrival of departure "
            f"{departure.code} (leaving 2026-12-09)") in error.message
    assert Case.objects.get(pk=case.pk).state == "ready"


def test_an_ime_valid_until_the_departure_date_of_an_overnight_journey_refuses_the_booking(ops):
    departure = overnight(ops)
    case = ready_case(ops, ime_date=born(2025, 12, 10))  # valid until 2026-12-09

    error = refused(lambda: services.book_case(departure, case, by=ops))

    assert error.code == "medical_expired"
    assert f"IME valid until 2026-12-09, before 2026-12-10, the arrival of departure {departure.code}" in error.message
    MedicalExam.objects.filter(person__case=case).update(exam_date=born(2025, 12, 11))  # valid until the arrival

    services.book_case(departure, case, by=ops)

    assert Case.objects.get(pk=case.pk).state == "booked"


def test_the_member_cards_ime_badge_reads_the_journeys_end_as_the_blocker_does(client, ops):
    departure = overnight(ops)
    case = ready_case(ops, ime_date=born(2025, 12, 11))  # valid until 2026-12-10, the arrival day
    services.book_case(departure, case, by=ops)
    client.force_login(ops)
    before = client.get(f"/cases/{case.case_number}/").content.decode()
    assert '<span class="badge clear">Medically cleared until' in before

    MedicalExam.objects.filter(person__case=case).update(exam_date=born(2025, 12, 10))  # until the 9th: too short
    page = client.get(f"/cases/{case.case_number}/").content.decode()

    assert '<span class="badge blocked">Medically cleared until' in page


def overnight_with_a_child(ops, born_on, seat_block=20):
    """The overnight departure with a parent and a child born on `born_on` booked on it."""
    departure = overnight(ops, seat_block=seat_block)
    family = ready_case(ops, members=2)
    set_birth(family.members.order_by("id")[1], born_on)
    services.book_case(departure, family, by=ops)
    return departure


def test_a_child_who_turns_2_during_the_journey_holds_a_seat_throughout(ops):
    # 1 when TK 255 leaves, 2 on the day TK 17 flies: the airline sells them a seat on TK 17, so the seat block
    # must hold one for them.
    departure = overnight_with_a_child(ops, born(2024, 12, 10), seat_block=2)

    counts = seats(departure)
    assert (counts.adults, counts.children, counts.infants, counts.seats) == (1, 1, 0, 2)
    error = refused(lambda: services.book_case(departure, ready_case(ops), by=ops))
    assert error.code == "no_seats_left" and "has 0 seats free of 2" in error.message


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")
def test_the_departure_page_and_the_manifest_say_a_child_who_turns_2_on_the_way_holds_a_seat(client, ops):
    from travel.manifest import render_manifest

    departure = overnight_with_a_child(ops, born(2024, 12, 10))
    client.force_login(ops)

    page = visible_text(client.get(f"/departures/{departure.code}/"))
    manifest = subprocess.run(["pdftotext", "-raw", "-", "-"], input=render_manifest(departure), capture_output=True,
                              check=True).stdout.decode()

    assert "child (2 before the last flight: holds a seat)" in " ".join(page.split())
    assert "2024-12-10\n1 · seat" in manifest and "1 infant" not in manifest


def test_a_pregnancy_is_counted_on_the_last_day_of_an_overnight_journey(ops):
    departure = overnight(ops)
    case = ready_case(ops)
    TravelMedicalNeeds.objects.create(person=case.members.get(), pregnancy_weeks=33,
                                      pregnancy_weeks_on=born(2026, 11, 19))  # 35 on 9 December, 36 on the 10th

    error = refused(lambda: services.book_case(departure, case, by=ops))

    assert error.code == "pregnancy_too_late"
    assert f"36 weeks pregnant on 2026-12-10, the arrival of departure {departure.code}" in error.message


def test_a_child_who_turns_2_the_day_after_the_journey_ends_is_still_an_infant(ops):
    departure = overnight_with_a_child(ops, born(2024, 12, 11), seat_block=1)

    counts = seats(departure)
    assert (counts.adults, counts.children, counts.infants, counts.seats) == (1, 0, 1, 1)


def test_a_pregnancy_past_the_airline_limit_on_the_departure_date_refuses_the_booking(ops, flight):
    case = ready_case(ops)
    TravelMedicalNeeds.objects.create(person=case.members.get(), pregnancy_weeks=34,
                                      pregnancy_weeks_on=born(2026, 11, 20))  # 34 today, 36 on 9 December

    error = refused(lambda: services.book_case(flight, case, by=ops))

    assert error.code == "pregnancy_too_late"
    assert "36 weeks pregnant on departure" in error.message


def test_a_child_who_turns_13_before_departure_must_have_completed_orientation(ops, flight):
    case = make_case(2, orientation=False)
    set_birth(case.members.order_by("id")[1], born(2013, 12, 1))  # 12 today, 13 on 9 December
    complete_orientation([case.members.order_by("id")[0]])
    for name in ("accept", "approve", "clear"):
        case = transitions.perform(case, name, by=ops)

    error = refused(lambda: services.book_case(flight, case, by=ops))

    assert error.code == "orientation_missing"
    assert "Karimi, Ahmad — orientation not completed: not enrolled in a session" in error.message


def test_an_ime_that_expires_before_a_rescheduled_flight_shows_on_the_case_and_in_the_list(
        ops, client, django_capture_on_commit_callbacks):
    departure = make_departure(ops, day=FLIGHT_DAY)
    case = ready_case(ops, ime_date=born(2025, 12, 20))  # valid until 2026-12-19
    services.book_case(departure, case, by=ops)
    booked = Case.objects.get(pk=case.pk)
    # The fit-to-travel check is stored, due before boarding: it does not count the case as blocked.
    assert ([b["code"] for b in booked.blockers], booked.blocker_count) == (["fit_to_travel_missing"], 0)

    with django_capture_on_commit_callbacks(execute=True):
        services.update_departure(departure, by=ops, legs=tk_legs(born(2026, 12, 22)))

    case = Case.objects.get(pk=case.pk)
    assert [b["code"] for b in case.blockers] == ["medical_expired", "fit_to_travel_missing"]
    client.force_login(ops)
    page = visible_text(client.get(f"/cases/{case.case_number}/"))
    assert (f"IME expires before travel: Karimi, Zahra — IME valid until 2026-12-19, before departure "
            f"{departure.code} on 2026-12-22") in page
    assert case.flies_on == born(2026, 12, 22)  # the list's travel date follows the departure
    listed = page_text(client.get("/cases/?blockers=yes"))
    assert case.case_number in listed and "1 blocker<" in listed
    # Its kinds say what blocks, not the check due before boarding.
    assert "IME expires before travel" in listed and "Fit-to-travel" not in listed


# --- Canada's rules, as data, and their exceptions -------------------------------------------------------------


def test_canadas_rules_are_seeded_as_data():
    rule = DestinationRule.objects.get(country="CAN")

    assert rule.max_refugees_per_flight == 75
    assert rule.no_arrival_weekdays == [5, 6, 7]
    assert rule.no_arrival_on_holidays
    assert (rule.notification_working_days, rule.exception_request_working_days) == (10, 15)


def _book_many(departure, ops, people):
    while people:
        size = min(people, 8)
        services.book_case(departure, ready_case(ops, members=size), by=ops)
        people -= size


def test_canada_takes_75_refugees_on_a_flight_and_refuses_the_76th(ops):
    departure = make_departure(ops, day=FLIGHT_DAY, seat_block=100)
    _book_many(departure, ops, 75)
    one_more = ready_case(ops)

    error = refused(lambda: services.book_case(departure, one_more, by=ops))

    assert seats(departure).people == 75
    assert error.code == "max_refugees"
    assert f"{departure.code} would carry 76 refugees; Canada accepts at most 75 per flight" in error.message
    services.record_exception(departure, rule="max_refugees", granted_by="IRCC ROC-O", reason="Charter approved",
                              by=ops)
    services.book_case(departure, one_more, by=ops)
    assert seats(departure).people == 76


def test_the_limit_per_flight_is_data_not_code(ops):
    DestinationRule.objects.filter(country="CAN").update(max_refugees_per_flight=2)
    departure = make_departure(ops, day=FLIGHT_DAY)
    services.book_case(departure, ready_case(ops, members=2), by=ops)

    error = refused(lambda: services.book_case(departure, ready_case(ops), by=ops))

    assert error.code == "max_refugees"
    assert "accepts at most 2 per flight" in error.message


def test_the_limit_counts_every_departure_on_the_same_flight_not_one_booking(ops):
    # DOMAIN.md: at most 75 refugees per *flight*. Two group bookings (two PNRs) on TK 255 and TK 17 the same day
    # are one flight's refugees; before, each departure was checked alone, and together they could carry 150.
    DestinationRule.objects.filter(country="CAN").update(max_refugees_per_flight=3)
    first = make_departure(ops, day=FLIGHT_DAY, pnr="AAAAAA")
    second = make_departure(ops, day=FLIGHT_DAY, pnr="BBBBBB")
    elsewhere = make_departure(ops, day=FLIGHT_DAY, pnr="CCCCCC", destination_country="USA", final_destination="Chicago",
                               legs=tk_legs(FLIGHT_DAY, to="ORD"))
    services.book_case(first, ready_case(ops, members=2), by=ops)
    services.book_case(elsewhere, ready_case(ops, members=1, destination_country="USA"), by=ops)  # not Canada's

    services.book_case(second, ready_case(ops), by=ops)  # 2 + 1: at the limit
    error = refused(lambda: services.book_case(second, ready_case(ops), by=ops))

    assert error.code == "max_refugees"
    assert (f"TK 255 from DYU on {FLIGHT_DAY.isoformat()} would carry 4 refugees to Canada: 2 on {second.code} and 2 "
            f"on {first.code}; Canada accepts at most 3 per flight unless an exception is recorded.") in error.message
    # The next day's TK 255 is another flight.
    later = make_departure(ops, legs=tk_legs(FLIGHT_DAY + datetime.timedelta(days=1)), pnr="DDDDDD")
    services.book_case(later, ready_case(ops, members=3), by=ops)
    # Lowered after booking: making either departure final is refused too, then allowed by an exception.
    DestinationRule.objects.filter(country="CAN").update(max_refugees_per_flight=2)
    assert refused(lambda: services.finalise_departure(first, by=ops)).code == "max_refugees"
    services.record_exception(first, rule="max_refugees", granted_by="IRCC ROC-O", reason="Charter approved", by=ops)
    services.finalise_departure(first, by=ops)
    assert refused(lambda: services.finalise_departure(second, by=ops)).code == "max_refugees"  # its own exception



def test_moving_a_booked_departure_onto_a_flight_that_others_fill_is_refused_and_changes_nothing(ops):
    # The limit is per flight: moving a departure's legs onto TK 255 and TK 17 of a day when another departure to
    # Canada flies them counts both, as booking a family onto either would.
    DestinationRule.objects.filter(country="CAN").update(max_refugees_per_flight=3)
    next_day = FLIGHT_DAY + datetime.timedelta(days=1)
    first = make_departure(ops, day=FLIGHT_DAY, pnr="AAAAAA")
    second = make_departure(ops, day=next_day, pnr="BBBBBB")
    services.book_case(first, ready_case(ops, members=2), by=ops)
    pair = services.book_case(second, ready_case(ops, members=2), by=ops)
    logged = DepartureLogEntry.objects.filter(departure=second).count()

    error = refused(lambda: services.update_departure(second, by=ops, legs=tk_legs(FLIGHT_DAY)))

    assert error.code == "max_refugees"
    assert error.message.startswith(f"Nothing was changed: {second.code} cannot move to these flights. TK 255 from "
                                    f"DYU on {FLIGHT_DAY.isoformat()} would carry 4 refugees to Canada: 2 on "
                                    f"{second.code} and 2 on {first.code}; Canada accepts at most 3 per flight")
    second.refresh_from_db()
    assert second.departure_date == next_day
    assert {leg.local_departure().date() for leg in second.legs.all()} == {next_day}
    assert DepartureLogEntry.objects.filter(departure=second).count() == logged

    # One refugee fewer, and it fits: 2 + 1.
    services.cancel_booking(pair, by=ops, reason="Family asked to travel later")
    services.book_case(second, ready_case(ops, members=1), by=ops)
    moved = services.update_departure(second, by=ops, legs=tk_legs(FLIGHT_DAY))
    assert moved.departure_date == FLIGHT_DAY

    # Over a limit lowered since, the flights it is on already do not stop a change of their times (the board and
    # making it final say so), nor does an exception on a flight it joins.
    DestinationRule.objects.filter(country="CAN").update(max_refugees_per_flight=2)
    services.update_departure(moved, by=ops, legs=tk_legs(FLIGHT_DAY, second=("15:20", "19:05")))
    assert refused(lambda: services.finalise_departure(moved, by=ops)).code == "max_refugees"
    third = make_departure(ops, day=next_day, pnr="CCCCCC")
    services.book_case(third, ready_case(ops, members=1), by=ops)
    assert refused(lambda: services.update_departure(third, by=ops, legs=tk_legs(FLIGHT_DAY))).code == "max_refugees"
    services.record_exception(third, rule="max_refugees", granted_by="IRCC ROC-O", reason="Charter approved", by=ops)
    assert services.update_departure(third, by=ops, legs=tk_legs(FLIGHT_DAY)).departure_date == FLIGHT_DAY

def test_a_flight_leaving_thursday_2330_and_landing_in_toronto_on_friday_is_refused(ops):
    legs = [
        LegInput(carrier="TK", flight_number="255", origin="DYU", destination="IST",
                 departs=datetime.datetime(2026, 12, 10, 23, 30), arrives=datetime.datetime(2026, 12, 11, 2, 50)),
        LegInput(carrier="TK", flight_number="17", origin="IST", destination="YYZ",
                 departs=datetime.datetime(2026, 12, 11, 6, 0), arrives=datetime.datetime(2026, 12, 11, 9, 45)),
    ]
    departure = make_departure(ops, legs=legs)
    case = ready_case(ops)

    error = refused(lambda: services.book_case(departure, case, by=ops))

    assert departure.departure_date == datetime.date(2026, 12, 10)  # a Thursday where it leaves
    assert error.code == "arrival_day"
    assert (f"{departure.code} arrives in Toronto on Friday 2026-12-11 (local time), a Friday (no arrivals on Friday, "
            "Saturday, Sunday or statutory holidays)") in error.message
    services.record_exception(departure, rule="arrival_day", granted_by="IRCC ROC-O", reason="Sponsor meets them",
                              by=ops)
    services.book_case(departure, case, by=ops)
    assert Case.objects.get(pk=case.pk).state == "booked"


def test_an_arrival_late_on_thursday_in_toronto_is_thursday_though_it_is_friday_in_utc(ops):
    # Lands 23:50 in Toronto on Thursday 10 December: 04:50 UTC on Friday.
    departure = make_departure(ops, legs=tk_legs(datetime.date(2026, 12, 10), second=("14:20", "23:50")))

    services.book_case(departure, ready_case(ops), by=ops)

    assert departure.arrival_date == datetime.date(2026, 12, 10)
    assert departure.arrives_at == datetime.datetime(2026, 12, 11, 4, 50, tzinfo=datetime.timezone.utc)


def test_no_arrival_on_a_statutory_holiday_of_the_final_destinations_province(ops):
    # Monday 28 December 2026: Boxing Day observed in Ontario.
    departure = make_departure(ops, legs=tk_legs(datetime.date(2026, 12, 28)))

    error = refused(lambda: services.book_case(departure, ready_case(ops), by=ops))

    assert error.code == "arrival_day"
    assert "Boxing Day (observed), a statutory holiday in Ontario" in error.message


def test_the_province_is_the_final_airports_a_quebec_holiday_does_not_stop_toronto():
    # Thursday 24 June 2027: Saint-Jean-Baptiste is a holiday in Quebec (YUL), not in Ontario (YYZ).
    from travel.destinations import arrival_day_refusal, region_of
    from travel.models import Departure, Leg

    rule = DestinationRule.objects.get(country="CAN")
    day = datetime.date(2027, 6, 24)
    air = Departure(destination_country="CAN", mode="air")
    montreal = region_of(air, [Leg(destination="YUL")])
    toronto = region_of(air, [Leg(destination="YYZ")])

    assert (montreal.subdivision, toronto.subdivision) == ("QC", "ON")
    assert arrival_day_refusal(rule, montreal, day)[1] == "Saint John the Baptist Day, a statutory holiday in Quebec"
    assert arrival_day_refusal(rule, toronto, day) is None


def test_an_exception_needs_its_reason_and_who_granted_it(ops, flight):
    assert refused(lambda: services.record_exception(flight, rule="arrival_day", granted_by="IRCC", reason=" ",
                                                     by=ops)).code == "reason_required"
    assert refused(lambda: services.record_exception(flight, rule="arrival_day", granted_by="", reason="Why",
                                                     by=ops)).code == "granted_by_required"

    exception = services.record_exception(flight, rule="arrival_day", granted_by="IRCC ROC-O", reason="Sponsor",
                                          reference="ROC-2026-1", by=ops)

    assert (exception.recorded_by, exception.granted_by, exception.reason) == (ops, "IRCC ROC-O", "Sponsor")
    assert DepartureLogEntry.objects.get(departure=flight, action="exception").data["granted_by"] == "IRCC ROC-O"


def test_the_deadlines_are_counted_in_working_days_without_ontarios_holidays(ops):
    # Arrival Tuesday 5 January 2027. Back from it, 1 January and 28 December (Boxing Day observed) and
    # 25 December are holidays in Ontario.
    departure = make_departure(ops, legs=tk_legs(datetime.date(2027, 1, 5)), seat_block=80)
    from travel.facts import facts_for
    from travel.rules import deadlines

    facts = facts_for([departure])[departure.pk]
    found = {d.code: d for d in deadlines(departure, facts.legs, facts.rule, facts.exception_rules, facts.counts,
                                          datetime.date(2026, 11, 20))}

    assert found["notification_due"].due == datetime.date(2026, 12, 17)
    assert found["notification_due"].message.startswith("Notification of arrival due by Thu 2026-12-17: 10 working "
                                                        "days before arrival on Tue 2027-01-05")
    assert found["exception_request_due"].due == datetime.date(2026, 12, 10)
    assert not found["notification_due"].overdue


# --- infants and escorts ---------------------------------------------------------------------------------------


def test_one_infant_per_adult_in_a_booking(ops, flight):
    case = ready_case(ops, members=3)
    zahra, ahmad, omid = case.members.order_by("id")
    set_birth(ahmad, born(2025, 6, 1))
    set_birth(omid, born(2026, 3, 1))

    error = refused(lambda: services.book_case(flight, case, by=ops))

    assert error.code == "too_many_infants"
    assert (f"Case {case.case_number}: 2 infants (Karimi, Ahmad; Karimi, Omid) and 1 traveller aged 16 or over on "
            "2026-12-09: one infant per adult on a lap.") in error.message


def test_a_stretcher_passenger_travels_only_with_an_escort(ops, escort):
    case = ready_case(ops)
    TravelMedicalNeeds.objects.create(person=case.members.get(), stretcher=True, medif_required=True,
                                      medif_recorded_at=NOW)
    alone = make_departure(ops, day=FLIGHT_DAY)
    escorted = make_departure(ops, day=datetime.date(2026, 12, 10), escorts=[escort])

    error = refused(lambda: services.book_case(alone, case, by=ops))

    assert error.code == "escort_required"
    assert f"Karimi, Zahra — stretcher (STCR): travels only on a departure with an escort; {alone.code} has none." \
        in error.message
    services.book_case(escorted, case, by=ops)


def test_a_person_who_needs_a_medical_escort_travels_only_with_an_escort(ops, escort, client):
    # DOMAIN.md: operational escorts go with unaccompanied minors and medical cases. Before, the flag only added
    # MEDA to the manifest, and the family could be booked onto (and finalised on) a departure with no escort.
    case = ready_case(ops)
    TravelMedicalNeeds.objects.create(person=case.members.get(), medical_escort=True, medif_required=True,
                                      medif_recorded_at=NOW)
    alone = make_departure(ops, day=FLIGHT_DAY)
    escorted = make_departure(ops, day=datetime.date(2026, 12, 10), escorts=[escort])

    error = refused(lambda: services.book_case(alone, case, by=ops))

    assert error.code == "escort_required"
    assert f"Karimi, Zahra — medical escort needed (MEDA): travels only on a departure with an escort; {alone.code} " \
        "has none." in error.message
    services.book_case(escorted, case, by=ops)
    # The escort leaves the departure: the board and the departure's page say what it now lacks.
    escorted.escorts.clear()
    client.force_login(ops)
    assert "medical case without an escort" in visible_text(client.get("/departures/"))
    assert "medical escort needed (MEDA): travels only on a departure with an escort" in \
        visible_text(client.get(f"/departures/{escorted.code}/"))


def test_an_unaccompanied_minor_travels_only_with_an_escort(ops, escort):
    case = ready_case(ops)
    set_birth(case.members.get(), born(2011, 5, 17))  # 15
    alone = make_departure(ops, day=FLIGHT_DAY)
    escorted = make_departure(ops, day=datetime.date(2026, 12, 10), escorts=[escort])

    error = refused(lambda: services.book_case(alone, case, by=ops))

    assert error.code == "escort_required"
    assert "Karimi, Zahra — unaccompanied minor (UMNR, aged 15)" in error.message
    services.book_case(escorted, case, by=ops)


def test_a_declared_umnr_needs_an_escort_even_in_a_family(ops):
    case = ready_case(ops, members=2)
    case.members.filter(relationship="SPS").update(special_needs="UMNR")

    error = refused(lambda: services.book_case(make_departure(ops, day=FLIGHT_DAY), case, by=ops))

    assert error.code == "escort_required"


# --- cancelling, holds, withdrawals ------------------------------------------------------------------------------


def test_cancelling_a_booking_needs_a_reason_and_returns_the_case_to_ready(ops, flight):
    case = ready_case(ops, members=2)
    booking = services.book_case(flight, case, by=ops)

    assert refused(lambda: services.cancel_booking(booking, by=ops, reason="  ")).code == "reason_required"
    services.cancel_booking(booking, by=ops, reason="Family asked to travel after the school term")

    case.refresh_from_db()
    assert case.state == "ready"
    row = case.transitions.get(transition="unbook")
    assert (row.reason, row.data) == ("Family asked to travel after the school term", {"departure": flight.code})
    booking.refresh_from_db()
    assert (booking.status, booking.cancel_reason) == ("cancelled", "Family asked to travel after the school term")
    assert seats(flight).people == 0
    assert DepartureLogEntry.objects.get(departure=flight, action="unbooked").reason == \
        "Family asked to travel after the school term"


@pytest.mark.parametrize("name", ["hold", "withdraw"])
def test_a_booked_case_held_or_withdrawn_gives_up_its_seats_in_the_same_step(ops, flight, name):
    case = ready_case(ops, members=3)
    services.book_case(flight, case, by=ops)
    kwargs = {"category": "security"} if name == "hold" else {}

    transitions.perform(Case.objects.get(pk=case.pk), name, by=ops, reason="Security re-check", **kwargs)

    assert seats(flight).people == 0
    assert not Booking.objects.filter(case=case, status="active").exists()
    row = case.transitions.get(transition=name)
    assert row.data["released_from"] == flight.code
    entry = DepartureLogEntry.objects.get(departure=flight, action="released")
    assert entry.reason == "Security re-check"
    assert entry.summary == f"Case {case.case_number} {'put on hold' if name == 'hold' else 'withdrawn'} while " \
                            "booked: its 3 places released."


def test_a_case_held_while_booked_resumes_as_ready_once_its_seats_were_released(ops, flight, client):
    case = ready_case(ops)
    services.book_case(flight, case, by=ops)
    held = transitions.hold(Case.objects.get(pk=case.pk), by=ops, reason="Family emergency", category="family")
    client.force_login(ops)

    assert "(resumes as <strong>ready to travel</strong>)" in page_text(client.get(f"/cases/{case.case_number}/"))
    resumed = transitions.resume(held, by=ops)

    assert resumed.state == "ready"


def test_a_refused_hold_releases_nothing(ops, flight, trainer):
    case = ready_case(ops)
    services.book_case(flight, case, by=ops)

    with pytest.raises(TransitionError):
        transitions.hold(Case.objects.get(pk=case.pk), by=trainer, reason="x", category="other")

    assert Booking.objects.filter(case=case, status="active").exists()
    assert seats(flight).people == 1


def test_cancelling_a_departure_returns_its_cases_to_ready_with_the_reason(ops, flight):
    cases = [ready_case(ops), ready_case(ops, members=2)]
    for case in cases:
        services.book_case(flight, case, by=ops)

    assert refused(lambda: services.cancel_departure(flight, by=ops, reason="")).code == "reason_required"
    services.cancel_departure(flight, by=ops, reason="Airline cancelled the group fare")

    flight.refresh_from_db()
    assert flight.state == "cancelled"
    for case in cases:
        case.refresh_from_db()
        assert case.state == "ready"
        assert case.transitions.get(transition="unbook").reason == \
            f"Departure {flight.code} cancelled: Airline cancelled the group fare"
    assert DepartureLogEntry.objects.get(departure=flight, action="cancel").reason == "Airline cancelled the group fare"


# --- split decisions: members who do not travel ------------------------------------------------------------------


def test_excluding_a_member_needs_a_reason_and_releases_their_seat(ops, flight):
    case = ready_case(ops, members=3)
    services.book_case(flight, case, by=ops)
    omid = case.members.get(given_name="Omid")

    assert refused(lambda: services.exclude_member(omid, by=ops, reason="")).code == "reason_required"
    services.exclude_member(omid, by=ops, reason="IRCC refused this member; the family travels")

    assert seats(flight).people == 2
    assert Case.objects.get(pk=case.pk).travel_plan.member_ids == frozenset(
        case.members.exclude(pk=omid.pk).values_list("pk", flat=True))
    assert CaseChange.objects.get(case=case).data == {"excluded_from_travel": "Karimi, Omid",
                                                      "departure": flight.code}
    assert DepartureLogEntry.objects.get(departure=flight, action="member_excluded").reason == \
        "IRCC refused this member; the family travels"


def test_a_member_excluded_before_booking_is_neither_booked_nor_checked(ops, flight):
    case = ready_case(ops, members=2)
    ahmad = case.members.get(given_name="Ahmad")
    services.exclude_member(ahmad, by=ops, reason="Split decision: refused")
    TravelDocument.objects.filter(person=ahmad).update(expiry_date=born(2026, 11, 30))  # would block him

    booking = services.book_case(flight, case, by=ops)

    assert list(booking.passengers.values_list("person__given_name", flat=True)) == ["Zahra"]


def test_the_last_member_who_travels_cannot_be_excluded(ops):
    case = ready_case(ops)

    error = refused(lambda: services.exclude_member(case.members.get(), by=ops, reason="refused"))

    assert error.code == "nobody_travels"
    assert not TravelExclusion.objects.exists()


def test_a_member_included_again_on_a_booked_case_takes_a_seat_if_there_is_one(ops):
    departure = make_departure(ops, day=FLIGHT_DAY, seat_block=2)
    case = ready_case(ops, members=2)
    ahmad = case.members.get(given_name="Ahmad")
    exclusion = services.exclude_member(ahmad, by=ops, reason="Pending decision")
    services.book_case(departure, case, by=ops)
    services.book_case(departure, ready_case(ops), by=ops)

    error = refused(lambda: services.include_member(exclusion, by=ops, reason="IRCC approved him after all"))

    assert error.code == "no_seats_left"
    assert TravelExclusion.objects.get(pk=exclusion.pk).lifted_at is None


# --- making a departure final ------------------------------------------------------------------------------------


def test_making_a_departure_final_rechecks_every_booked_case_on_its_date(ops, flight):
    case = ready_case(ops)
    services.book_case(flight, case, by=ops)
    MedicalExam.objects.filter(person__case=case).update(exam_date=born(2025, 12, 1))  # valid until 2026-11-30

    error = refused(lambda: services.finalise_departure(flight, by=ops))

    assert error.code == "medical_expired"
    assert f"Karimi, Zahra — IME valid until 2026-11-30, before departure {flight.code} on 2026-12-09" in error.message
    assert Departure.objects.get(pk=flight.pk).state == "open"


def test_making_a_departure_final_does_not_ask_for_the_before_boarding_checks(ops, flight):
    services.book_case(flight, ready_case(ops), by=ops)  # no fit-to-travel check yet: that is for the day

    services.finalise_departure(flight, by=ops)

    assert Departure.objects.get(pk=flight.pk).state == "final"


def test_a_final_departure_locks_its_passenger_list_until_reopened_with_a_reason(ops, flight):
    case = ready_case(ops)
    booking = services.book_case(flight, case, by=ops)
    services.finalise_departure(flight, by=ops)

    assert refused(lambda: services.cancel_booking(booking, by=ops, reason="x")).code == "departure_locked"
    assert refused(lambda: services.book_case(flight, ready_case(ops), by=ops)).code == "departure_not_open"
    assert refused(lambda: services.update_departure(flight, by=ops, seat_block=30)).code == "not_editable"
    assert refused(lambda: services.reopen_departure(flight, by=ops, reason="")).code == "reason_required"

    services.reopen_departure(flight, by=ops, reason="One family asks to travel later")
    services.cancel_booking(booking, by=ops, reason="Travels later")

    assert DepartureLogEntry.objects.get(departure=flight, action="reopen").reason == "One family asks to travel later"


def test_a_final_air_departure_needs_its_pnr(ops):
    departure = make_departure(ops, day=FLIGHT_DAY, pnr="")

    error = refused(lambda: services.finalise_departure(departure, by=ops))

    assert error.code == "pnr_missing"


# --- departed and arrived (the day of travel itself: tests/test_travel_boarding.py) ---------------------------------


def test_a_final_departure_departs_when_boarding_closes_and_arrives_with_its_cases(ops, flight):
    cases = [ready_case(ops), ready_case(ops, members=2)]
    for case in cases:
        services.book_case(flight, case, by=ops)
    services.finalise_departure(flight, by=ops)
    assert refused(lambda: boarding.close_boarding(flight, by=ops)).code == "too_early"

    with time_machine.travel(datetime.datetime(2026, 12, 9, 0, 0, tzinfo=datetime.timezone.utc), tick=False):
        for case in cases:
            pass_pre_embarkation(case, hours_ago=2)
        fly(flight, ops)
        assert {c.state for c in Case.objects.filter(pk__in=[c.pk for c in cases])} == {"departed"}
        assert refused(lambda: boarding.confirm_arrival(flight, by=ops)).code == "too_early"
    with time_machine.travel(datetime.datetime(2026, 12, 10, 0, 0, tzinfo=datetime.timezone.utc), tick=False):
        boarding.confirm_arrival(flight, by=ops)

    assert {c.state for c in Case.objects.filter(pk__in=[c.pk for c in cases])} == {"arrived"}
    assert CaseTransition.objects.get(case=cases[0], transition="arrive").data == {
        "departure": flight.code, "date": "2026-12-09", "arrived": "2026-12-09 18:05 EST in Toronto"}


def test_a_case_that_may_not_board_is_not_boarded_and_boarding_does_not_close_around_it(ops, flight):
    case = ready_case(ops)
    services.book_case(flight, case, by=ops)
    services.finalise_departure(flight, by=ops)

    with time_machine.travel(datetime.datetime(2026, 12, 9, 0, 0, tzinfo=datetime.timezone.utc), tick=False):
        passenger = Passenger.objects.get(person__case=case)
        error = refused(lambda: boarding.mark(flight, passenger, "boarded", by=ops))
        closing = refused(lambda: boarding.close_boarding(flight, by=ops))

    assert error.code == "blocked"
    assert "Karimi, Zahra — no passing fit-to-travel check within 72 h" in error.message
    assert closing.code == "passengers_waiting"
    assert Case.objects.get(pk=case.pk).state == "booked"
    assert Departure.objects.get(pk=flight.pk).state == "final"


def test_nothing_but_the_owners_service_departs_a_case_even_for_a_superuser(superuser, ops, flight):
    case = ready_case(ops)
    services.book_case(flight, case, by=ops)

    with pytest.raises(TransitionError) as excinfo:
        transitions.depart(Case.objects.get(pk=case.pk), by=superuser)

    assert excinfo.value.code == "owned_elsewhere"


def test_escorts_may_not_plan_or_book(escort, ops, flight):
    assert refused(lambda: services.book_case(flight, ready_case(ops), by=escort)).code == "forbidden"
    assert refused(lambda: services.cancel_departure(flight, by=escort, reason="x")).code == "forbidden"


def test_before_booking_a_member_left_behind_is_not_checked_and_the_case_keeps_its_own_date(ops):
    from movements import readiness

    case = make_case(2, planned_travel_date=born(2027, 1, 15))
    transitions.approve(transitions.accept(case, by=ops), by=ops)
    ahmad = case.members.get(given_name="Ahmad")
    TravelDocument.objects.filter(person=ahmad).update(expiry_date=born(2026, 12, 1))
    assert [b.person_id for b in readiness.blockers_for(Case.objects.get(pk=case.pk))] == [ahmad.pk]

    services.exclude_member(ahmad, by=ops, reason="IRCC refused him; the family travels")

    case = Case.objects.get(pk=case.pk)
    assert readiness.blockers_for(case) == []
    assert case.travel_date == born(2027, 1, 15)
    assert transitions.clear(case, by=ops).state == "ready"
