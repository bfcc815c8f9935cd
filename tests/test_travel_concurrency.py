"""Officers booking at the same moment: real threads, real row locks (PostgreSQL only).

Seats are counted under the departure's row lock, and a case is locked before it is booked, so twenty officers
racing for five seats get five bookings, and one family raced onto two departures is booked once.
"""

import pytest
from django.db import connection

from movements.models import Case, CaseTransition
from tests.conftest import make_departure, ready_case
from tests.test_concurrency import race
from travel import services
from travel.facts import passenger_counts
from travel.models import Booking, DepartureLogEntry, Passenger
from travel.services import TravelError

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite has no row locks to race on (set DATABASE_URL=postgres://…)",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles"),
]


def test_twenty_officers_booking_the_last_five_seats_at_once_get_five_bookings(ops):
    departure = make_departure(ops, seat_block=8)
    services.book_case(departure, ready_case(ops, members=3), by=ops)  # 5 seats left
    cases = [ready_case(ops) for _ in range(20)]
    departure_copy = type(departure).objects.get(pk=departure.pk)

    results, errors = race(*[lambda case=case: services.book_case(departure_copy, case, by=ops) for case in cases])

    winners = [r for r in results if r is not None]
    losers = [e for e in errors if e is not None]
    assert len(winners) == 5, errors
    assert len(losers) == 15
    assert all(isinstance(e, TravelError) and e.code == "no_seats_left" for e in losers), losers
    assert all("No seats left" in e.message for e in losers)
    counts = passenger_counts([departure])[departure.pk]
    assert counts.seats == 8 == departure.seat_block
    assert Passenger.objects.filter(departure=departure, active=True).count() == 8
    assert Case.objects.filter(pk__in=[c.pk for c in cases], state="booked").count() == 5
    assert CaseTransition.objects.filter(case__in=cases, transition="book").count() == 5
    assert DepartureLogEntry.objects.filter(departure=departure, action="booked").count() == 6


def test_one_family_raced_onto_two_departures_is_booked_once(ops):
    first = make_departure(ops)
    second = make_departure(ops, day=first.departure_date)
    case = ready_case(ops, members=2)

    results, errors = race(lambda: services.book_case(first, case, by=ops),
                           lambda: services.book_case(second, case, by=ops))

    assert sum(r is not None for r in results) == 1, errors
    (loser,) = [e for e in errors if e is not None]
    assert isinstance(loser, TravelError)
    assert loser.code == "already_booked"
    assert Booking.objects.filter(case=case, status="active").count() == 1
    assert Passenger.objects.filter(person__case=case, active=True).count() == 2
    assert CaseTransition.objects.filter(case=case, transition="book").count() == 1
    assert Case.objects.get(pk=case.pk).state == "booked"


def test_a_hold_racing_a_booking_leaves_no_seat_taken_by_a_held_case(ops, medic):
    from movements import transitions

    departure = make_departure(ops)
    case = ready_case(ops)
    version = Case.objects.get(pk=case.pk).version

    results, errors = race(
        lambda: services.book_case(departure, case, by=ops),
        lambda: transitions.hold(case, by=medic, reason="Active TB", category="medical", expected_version=version),
    )

    stored = Case.objects.get(pk=case.pk)
    active = Passenger.objects.filter(departure=departure, active=True).count()
    if stored.state == "booked":
        assert active == 1
    else:
        assert stored.state == "on_hold" and active == 0


def test_two_departures_on_one_flight_booked_at_once_keep_the_limit_per_flight(ops, monkeypatch):
    # Each booking locks its own departure; the other departure on the same flights is not locked by it. Without a
    # lock per flight both saw the other's passengers as not yet there, and together they passed the limit.
    import threading

    from travel.models import DestinationRule

    DestinationRule.objects.filter(country="CAN").update(max_refugees_per_flight=3)
    first = make_departure(ops, pnr="AAAAAA")
    second = make_departure(ops, day=first.departure_date, pnr="BBBBBB")
    services.book_case(first, ready_case(ops), by=ops)
    cases = [ready_case(ops, members=2), ready_case(ops, members=2)]
    # Both bookings read what the flights carry, then wait for each other: without the lock both read before either
    # wrote (the race, every time); with it the second waits for the first to commit, and the wait times out.
    both_read = threading.Barrier(2, timeout=3)
    read = services.facts_for

    def read_then_wait(*args, **kwargs):
        found = read(*args, **kwargs)
        try:
            both_read.wait()
        except threading.BrokenBarrierError:
            pass
        return found

    monkeypatch.setattr(services, "facts_for", read_then_wait)

    results, errors = race(lambda: services.book_case(first, cases[0], by=ops),
                           lambda: services.book_case(second, cases[1], by=ops))

    assert sum(r is not None for r in results) == 1, errors
    (loser,) = [e for e in errors if e is not None]
    assert isinstance(loser, TravelError) and loser.code == "max_refugees", loser
    assert Passenger.objects.filter(departure__in=[first, second], active=True).count() == 3
