"""Planning a departure: legs with local times in each airport's own time zone, the checks that refuse a bad
itinerary (naming the legs), road convoys, seats, codes people can say on the phone, and the departure's life
and history. Time is frozen on Friday 2026-11-20."""

import datetime

import pytest
import time_machine

from tests.conftest import make_departure, ready_case, tk_legs
from travel import services
from travel.legs import LegInput
from travel.models import Departure, DepartureLogEntry, Leg
from travel.services import Planned, TravelError

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 11, 20, 5, tzinfo=datetime.timezone.utc)
UTC = datetime.timezone.utc


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def refused(call):
    with pytest.raises(TravelError) as excinfo:
        call()
    return excinfo.value


def plan(legs, **fields):
    fields.setdefault("mode", "air")
    fields.setdefault("destination_country", "CAN")
    fields.setdefault("final_destination", "Toronto")
    fields.setdefault("seat_block", 20)
    return Planned(legs=legs, **fields)


def leg(flight, origin, destination, departs, arrives):
    carrier, number = flight.split()
    return LegInput(carrier=carrier, flight_number=number, origin=origin, destination=destination,
                    departs=datetime.datetime.fromisoformat(departs), arrives=datetime.datetime.fromisoformat(arrives))


# --- legs and time zones -------------------------------------------------------------------------------------------


def test_each_time_is_read_in_its_own_airports_time_zone(ops):
    departure = services.create_departure(plan(tk_legs(datetime.date(2026, 12, 9))), by=ops)

    first, second = departure.legs.order_by("number")
    assert (first.origin_tz, first.destination_tz, second.destination_tz) == (
        "Asia/Dushanbe", "Europe/Istanbul", "America/Toronto")
    assert first.departs_at == datetime.datetime(2026, 12, 9, 0, 45, tzinfo=UTC)  # 05:45 in Dushanbe (UTC+5)
    assert first.arrives_at == datetime.datetime(2026, 12, 9, 6, 5, tzinfo=UTC)  # 09:05 in Istanbul (UTC+3)
    assert second.arrives_at == datetime.datetime(2026, 12, 9, 23, 5, tzinfo=UTC)  # 18:05 in Toronto (UTC-5)
    assert departure.departure_date == departure.arrival_date == datetime.date(2026, 12, 9)
    assert f"{second.local_arrival():%H:%M}" == "18:05"


def test_a_departure_gets_a_code_people_can_say_on_the_phone(ops):
    first = services.create_departure(plan(tk_legs(datetime.date(2026, 12, 9))), by=ops)
    second = services.create_departure(plan(tk_legs(datetime.date(2026, 12, 9))), by=ops)

    assert (first.code, second.code) == ("DEP-20261209-YYZ", "DEP-20261209-YYZ-2")


def test_an_unknown_airport_code_is_refused_and_nothing_is_saved(ops):
    legs = [leg("TK 255", "DYU", "XQZ", "2026-12-09 05:45", "2026-12-09 09:05")]

    error = refused(lambda: services.create_departure(plan(legs), by=ops))

    assert error.code == "unknown_airport"
    assert error.message == ("Leg 1: No airport has the IATA code XQZ; check the code on the ticket "
                             "(e.g. DYU, IST, YYZ).")
    assert not Departure.objects.exists() and not Leg.objects.exists()


def test_a_leg_that_arrives_before_it_leaves_is_refused_with_both_local_times(ops):
    legs = [leg("TK 255", "DYU", "IST", "2026-12-09 05:45", "2026-12-09 09:05"),
            leg("TK 17", "IST", "YYZ", "2026-12-09 14:20", "2026-12-09 06:10")]

    error = refused(lambda: services.create_departure(plan(legs), by=ops))

    assert error.code == "arrives_before_departing"
    assert error.message.startswith(
        "Leg 2 (TK 17 IST→YYZ) arrives 2026-12-09 06:10 America/Toronto, before it leaves 2026-12-09 14:20 "
        "Europe/Istanbul")


def test_a_leg_that_seems_to_land_before_it_leaves_but_does_not_across_time_zones_is_accepted(ops):
    # 14:20 in Istanbul is 11:20 UTC; 13:05 in Toronto is 18:05 UTC: a seven-hour-ish flight westwards.
    legs = [leg("TK 17", "IST", "YYZ", "2026-12-09 14:20", "2026-12-09 13:05")]

    departure = services.create_departure(plan(legs), by=ops)

    assert departure.legs.get().arrives_at > departure.legs.get().departs_at


def test_a_connection_shorter_than_60_minutes_is_refused_naming_both_legs(ops):
    legs = [leg("TK 255", "DYU", "IST", "2026-12-09 05:45", "2026-12-09 09:05"),
            leg("TK 17", "IST", "YYZ", "2026-12-09 09:50", "2026-12-09 14:10")]

    error = refused(lambda: services.create_departure(plan(legs), by=ops))

    assert error.code == "connection_too_short"
    assert error.message == (
        "Leg 1 (TK 255 DYU→IST) lands 2026-12-09 09:05 Europe/Istanbul and leg 2 (TK 17 IST→YYZ) leaves "
        "2026-12-09 09:50 Europe/Istanbul: a 45-minute connection; at least 60 minutes are needed.")


def test_a_connection_of_exactly_60_minutes_is_accepted(ops):
    legs = [leg("TK 255", "DYU", "IST", "2026-12-09 05:45", "2026-12-09 09:05"),
            leg("TK 17", "IST", "YYZ", "2026-12-09 10:05", "2026-12-09 14:10")]

    assert services.create_departure(plan(legs), by=ops).legs.count() == 2


def test_a_connection_is_measured_in_real_minutes_on_the_night_clocks_go_forward(ops):
    # Frankfurt's clocks go from 02:00 to 03:00 on 28 March 2027: 01:30 → 03:20 is 50 minutes, not 110.
    legs = [leg("TK 1587", "IST", "FRA", "2027-03-27 23:10", "2027-03-28 01:30"),
            leg("LH 470", "FRA", "YYZ", "2027-03-28 03:20", "2027-03-28 06:10")]

    error = refused(lambda: services.create_departure(plan(legs), by=ops))

    assert error.code == "connection_too_short"
    assert "a 50-minute connection; at least 60 minutes are needed" in error.message


def night_clocks_go_back(first_landing_fold=None, second_leaving_fold=None):
    # Frankfurt's clocks go from 03:00 back to 02:00 on 31 October 2027: 02:30 happens twice, at 00:30 UTC (summer
    # time) and at 01:30 UTC (winter time). 03:15 happens once (02:15 UTC).
    legs = [leg("TK 1587", "IST", "FRA", "2027-10-31 00:40", "2027-10-31 02:30"),
            leg("LH 470", "FRA", "YYZ", "2027-10-31 03:15", "2027-10-31 06:10")]
    legs[0].arrives_fold = first_landing_fold
    legs[1].departs_fold = second_leaving_fold
    return legs


def test_a_time_that_happens_twice_as_clocks_go_back_is_refused_until_someone_says_which(ops):
    error = refused(lambda: services.create_departure(plan(night_clocks_go_back()), by=ops))

    assert error.code == "ambiguous_local_time"
    assert error.problems[0].index == 0 and error.problems[0].field == "arrives"
    assert error.problems[0].zone == "Europe/Berlin"
    assert ("Leg 1 (TK 1587 IST→FRA): 2027-10-31 02:30 happens twice in Europe/Berlin, as the clocks go back that "
            "night: say which, the first (CEST, UTC+02:00) or the second (CET, UTC+01:00).") in error.message
    assert not Departure.objects.exists()


def test_a_connection_on_the_night_clocks_go_back_is_measured_in_real_minutes(ops):
    # Landing at the first 02:30 (00:30 UTC) and leaving 03:15 (02:15 UTC) is 105 minutes, not 45.
    departure = services.create_departure(plan(night_clocks_go_back(first_landing_fold=0)), by=ops)

    first, second = departure.legs.order_by("number")
    assert first.arrives_at == datetime.datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert (second.departs_at - first.arrives_at) == datetime.timedelta(minutes=105)


def test_the_second_reading_of_a_time_that_happens_twice_is_an_hour_later(ops):
    # Landing at the second 02:30 (01:30 UTC) leaves 45 minutes to the 03:15 flight.
    error = refused(lambda: services.create_departure(plan(night_clocks_go_back(first_landing_fold=1)), by=ops))

    assert error.code == "connection_too_short"
    assert "a 45-minute connection; at least 60 minutes are needed" in error.message
    assert "2027-10-31 02:30 Europe/Berlin (UTC+01:00)" in error.message


def test_which_reading_is_asked_only_of_a_time_that_happens_twice(ops):
    # A choice given for a time that happens once changes nothing (the form always sends one).
    legs = night_clocks_go_back(first_landing_fold=0, second_leaving_fold=1)

    departure = services.create_departure(plan(legs), by=ops)

    assert departure.legs.get(number=2).departs_at == datetime.datetime(2027, 10, 31, 2, 15, tzinfo=UTC)


def test_legs_that_do_not_meet_are_refused(ops):
    legs = [leg("TK 255", "DYU", "IST", "2026-12-09 05:45", "2026-12-09 09:05"),
            leg("TK 17", "SAW", "YYZ", "2026-12-09 14:20", "2026-12-09 18:05")]

    error = refused(lambda: services.create_departure(plan(legs), by=ops))

    assert error.code == "legs_not_connected"


def test_a_leg_in_the_past_is_refused(ops):
    legs = [leg("TK 255", "DYU", "IST", "2026-11-20 05:45", "2026-11-20 09:05")]  # it is 10:00 in Dushanbe

    error = refused(lambda: services.create_departure(plan(legs), by=ops))

    assert error.code == "leg_in_the_past"
    assert error.message == "Leg 1 (TK 255 DYU→IST) leaves 2026-11-20 05:45 Asia/Dushanbe, which has already passed."


def test_a_time_that_does_not_exist_because_clocks_go_forward_is_refused(ops):
    # Toronto moves its clocks from 02:00 to 03:00 on 14 March 2027.
    legs = [leg("TK 17", "IST", "YYZ", "2027-03-13 20:00", "2027-03-14 02:30")]

    error = refused(lambda: services.create_departure(plan(legs), by=ops))

    assert error.code == "no_such_local_time"
    assert "2027-03-14 02:30 does not exist in America/Toronto" in error.message


def test_every_problem_is_reported_at_once(ops):
    legs = [leg("TK 255", "DYU", "XXX", "2026-12-09 05:45", "2026-12-09 09:05"),
            leg("T 17", "IST", "YYZ", "2026-12-09 14:20", "2026-12-09 06:00")]

    error = refused(lambda: services.create_departure(plan(legs), by=ops))

    assert [p.code for p in error.problems] == ["unknown_airport", "bad_flight", "arrives_before_departing"]


# --- seats and fields -----------------------------------------------------------------------------------------------


def test_an_air_departure_needs_a_seat_block(ops):
    assert refused(lambda: services.create_departure(plan(tk_legs(datetime.date(2026, 12, 9)), seat_block=None),
                                                     by=ops)).code == "bad_seat_block"


def test_the_seat_block_cannot_go_below_the_passengers_already_booked(ops):
    departure = make_departure(ops, day=datetime.date(2026, 12, 9), seat_block=5)
    services.book_case(departure, ready_case(ops, members=3), by=ops)

    error = refused(lambda: services.update_departure(departure, by=ops, seat_block=2))

    assert error.code == "seat_block_too_small"
    assert error.message == f"{departure.code} has 3 passengers in seats: the seat block cannot go below 3."
    assert Departure.objects.get(pk=departure.pk).seat_block == 5
    services.update_departure(departure, by=ops, seat_block=3)
    assert Departure.objects.get(pk=departure.pk).seat_block == 3


def test_a_road_convoys_seats_are_its_vehicles_seats(ops):
    convoy = [
        LegInput(origin="Khorog", destination="Dushanbe", departs=datetime.datetime(2026, 11, 26, 6),
                 arrives=datetime.datetime(2026, 11, 26, 20), vehicle="Bus", plate="01 234 ab", driver="Rustam",
                 seats=30),
        LegInput(origin="Khorog", destination="Dushanbe", departs=datetime.datetime(2026, 11, 26, 6, 15),
                 arrives=datetime.datetime(2026, 11, 26, 20, 30), vehicle="Minibus", plate="02 567 BA", seats=12),
    ]

    departure = services.create_departure(plan(convoy, mode="road", destination_country="TJK",
                                               final_destination="Dushanbe", seat_block=None), by=ops)

    assert departure.code == "DEP-20261126-ROAD"
    assert departure.seat_block == 42
    assert departure.pnr == ""
    assert [leg.plate for leg in departure.legs.order_by("number")] == ["01 234 AB", "02 567 BA"]
    assert departure.legs.first().origin_tz == "Asia/Dushanbe"


def test_a_road_vehicle_needs_its_plate_and_seats(ops):
    convoy = [LegInput(origin="Khorog", destination="Dushanbe", departs=datetime.datetime(2026, 11, 26, 6),
                       arrives=datetime.datetime(2026, 11, 26, 20), vehicle="Bus")]

    error = refused(lambda: services.create_departure(plan(convoy, mode="road", seat_block=None), by=ops))

    assert [p.field for p in error.problems] == ["plate", "seats"]


def test_only_escorts_escort(ops, trainer):
    error = refused(lambda: services.create_departure(plan(tk_legs(datetime.date(2026, 12, 9)), escorts=(trainer,)),
                                                      by=ops))

    assert error.code == "not_an_escort"


def test_only_operations_plan_departures(medic, escort):
    for user in (medic, escort):
        error = refused(lambda user=user: services.create_departure(plan(tk_legs(datetime.date(2026, 12, 9))),
                                                                    by=user))
        assert error.code == "forbidden"


# --- changes and their history --------------------------------------------------------------------------------------


def test_every_change_is_logged_with_who_what_and_the_old_and_new_values(ops, escort):
    departure = make_departure(ops, day=datetime.date(2026, 12, 9), state="planned")

    services.update_departure(departure, by=ops, seat_block=30, pnr="ab12cd", escorts=[escort],
                              legs=tk_legs(datetime.date(2026, 12, 10)))

    entry = DepartureLogEntry.objects.filter(departure=departure, action="changed").get()
    assert entry.user == ops
    assert entry.data["seat_block"] == "20 → 30"
    assert entry.data["pnr"] == "K7Q2XM → AB12CD"
    assert entry.data["escorts"] == "eraj"
    assert ("PNR", "K7Q2XM → AB12CD") in entry.data_items() and ("Seat block", "20 → 30") in entry.data_items()
    assert entry.data["legs"]["after"][0] == "TK 255 DYU→IST 2026-12-10 05:45 → 2026-12-10 09:05"
    departure = Departure.objects.get(pk=departure.pk)
    assert departure.departure_date == datetime.date(2026, 12, 10)
    assert departure.code == "DEP-20261209-YYZ"  # people said it on the phone already: it stays


def test_saving_without_a_change_logs_nothing(ops):
    departure = make_departure(ops, day=datetime.date(2026, 12, 9), state="planned")

    services.update_departure(departure, by=ops, seat_block=20, legs=tk_legs(datetime.date(2026, 12, 9)))

    assert not DepartureLogEntry.objects.filter(action="changed").exists()


def test_a_stale_edit_is_refused(ops):
    departure = make_departure(ops, day=datetime.date(2026, 12, 9), state="planned")
    seen = departure.version
    services.update_departure(departure, by=ops, seat_block=25)

    error = refused(lambda: services.update_departure(departure, by=ops, expected_version=seen, seat_block=30))

    assert error.code == "conflict"


def test_the_life_of_a_departure_is_its_history(ops):
    departure = make_departure(ops, day=datetime.date(2026, 12, 9), state="planned")
    services.open_departure(departure, by=ops)
    services.finalise_departure(departure, by=ops)
    services.reopen_departure(departure, by=ops, reason="A late family")

    assert list(DepartureLogEntry.objects.filter(departure=departure).order_by("id")
                .values_list("action", flat=True)) == ["created", "open", "made_final", "reopen"]
    assert refused(lambda: services.open_departure(departure, by=ops)).code == "not_allowed"


def test_a_departure_and_its_history_are_never_deleted(ops):
    from django.core.exceptions import ValidationError

    departure = make_departure(ops, day=datetime.date(2026, 12, 9))

    with pytest.raises(ValidationError):
        departure.delete()
    with pytest.raises(ValidationError):
        DepartureLogEntry.objects.filter(departure=departure).delete()
    with pytest.raises(ValidationError):
        DepartureLogEntry.objects.filter(departure=departure).update(summary="rewritten")


def test_a_departure_changes_state_only_through_its_services(ops):
    departure = make_departure(ops, day=datetime.date(2026, 12, 9))

    with pytest.raises(AttributeError):
        departure.state = "final"
