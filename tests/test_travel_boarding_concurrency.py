"""Two escorts at one gate, tapping at the same moment: real threads, real row locks (PostgreSQL only).

Every boarding service locks the departure row first, then the rows it changes, so marks on one family, a
family left behind and the closing of boarding are put in one order: whatever the timing, there is one
consistent outcome, each change is logged once, and no case is ever half departed."""

import datetime

import pytest
import time_machine
from django.db import connection

from movements.models import Case, CaseTransition
from tests.conftest import make_departure, make_user, pass_pre_embarkation, ready_case
from tests.test_concurrency import race
from travel import boarding, services
from travel.models import BoardingLogEntry, Departure, Passenger
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

UTC = datetime.timezone.utc
BOOKED_ON = datetime.datetime(2026, 11, 20, 5, tzinfo=UTC)
GATE = datetime.datetime(2026, 12, 8, 23, 0, tzinfo=UTC)  # 04:00 in Dushanbe; the flight leaves at 05:45


@pytest.fixture(autouse=True)
def clock():
    # Frozen for every thread: time_machine patches the clock of the whole process.
    with time_machine.travel(BOOKED_ON, tick=False) as traveller:
        yield traveller


@pytest.fixture
def escorts(db):
    return make_user("eraj", "escort"), make_user("farrukh", "escort")


def gate(clock, ops, escorts, *members):
    cases = [ready_case(ops, members=n) for n in members]
    departure = make_departure(ops, day=datetime.date(2026, 12, 9), escorts=list(escorts))
    for case in cases:
        services.book_case(departure, case, by=ops)
    departure = services.finalise_departure(departure, by=ops)
    clock.move_to(GATE)
    for case in cases:
        pass_pre_embarkation(case)
    return Departure.objects.get(pk=departure.pk), cases


def pax(case, given):
    return Passenger.objects.get(person__case=case, person__given_name=given)


def test_two_escorts_marking_one_family_at_once_boarded_and_no_show_are_both_kept_and_logged_once(clock, ops,
                                                                                                  escorts):
    eraj, farrukh = escorts
    departure, (family,) = gate(clock, ops, escorts, 2)
    zahra, ahmad = pax(family, "Zahra"), pax(family, "Ahmad")

    results, errors = race(lambda: boarding.mark(departure, zahra, "boarded", by=eraj, request_id="e1"),
                           lambda: boarding.mark(departure, ahmad, "no_show", by=farrukh, request_id="f1"))

    assert errors == [None, None]
    assert (pax(family, "Zahra").boarding, pax(family, "Ahmad").boarding) == ("boarded", "no_show")
    assert BoardingLogEntry.objects.filter(passenger=zahra).count() == 1
    assert BoardingLogEntry.objects.filter(passenger=ahmad).count() == 1
    assert Case.objects.get(pk=family.pk).state == "booked"  # waiting for the family's decision
    with pytest.raises(TravelError) as refused:
        boarding.close_boarding(departure, by=eraj)
    assert refused.value.code == "decision_pending"


def test_two_escorts_marking_the_same_person_differently_at_once_keep_one_mark(clock, ops, escorts):
    eraj, farrukh = escorts
    departure, (family,) = gate(clock, ops, escorts, 1)
    zahra = pax(family, "Zahra")

    results, errors = race(lambda: boarding.mark(departure, zahra, "boarded", by=eraj),
                           lambda: boarding.mark(departure, zahra, "no_show", by=farrukh))

    losers = [e for e in errors if e is not None]
    assert len(losers) == 1 and isinstance(losers[0], TravelError) and losers[0].code == "already_marked"
    winner = next(r for r in results if r is not None)
    assert pax(family, "Zahra").boarding == winner.passenger.boarding
    assert BoardingLogEntry.objects.count() == 1


def test_the_same_tap_sent_twice_at_once_is_recorded_once(clock, ops, escorts):
    eraj, _ = escorts
    departure, (family,) = gate(clock, ops, escorts, 1)
    zahra = pax(family, "Zahra")

    results, errors = race(*[lambda: boarding.mark(departure, zahra, "boarded", by=eraj, request_id="tap-7")] * 2)

    assert errors == [None, None]
    assert sorted(r.changed for r in results) == [False, True]
    assert BoardingLogEntry.objects.count() == 1


def test_a_family_left_behind_while_boarding_closes_never_leaves_half_of_it(clock, ops, escorts):
    eraj, farrukh = escorts
    departure, (flying, staying) = gate(clock, ops, escorts, 2, 3)
    for passenger in Passenger.objects.filter(booking__case=flying):
        boarding.mark(departure, passenger, "boarded", by=eraj)
    boarding.mark(departure, pax(staying, "Zahra"), "boarded", by=eraj)
    boarding.mark(departure, pax(staying, "Ahmad"), "boarded", by=eraj)
    boarding.mark(departure, pax(staying, "Omid"), "no_show", by=eraj)

    results, errors = race(lambda: boarding.close_boarding(departure, by=eraj),
                           lambda: boarding.keep_case_behind(departure, staying, by=farrukh))

    assert errors[1] is None  # the family is left behind in every order
    assert Case.objects.get(pk=staying.pk).state == "ready"
    assert not Passenger.objects.filter(booking__case=staying, active=True).exists()
    assert not CaseTransition.objects.filter(case=staying, transition="depart").exists()
    if Departure.objects.get(pk=departure.pk).state == "departed":
        assert errors[0] is None
        assert Case.objects.get(pk=flying.pk).state == "departed"
    else:
        assert errors[0].code == "decision_pending"  # it looked before the family was left behind
        assert Case.objects.get(pk=flying.pk).state == "booked"


def test_an_undo_racing_the_closing_of_boarding_is_either_too_late_or_stops_it(clock, ops, escorts):
    eraj, farrukh = escorts
    departure, (family,) = gate(clock, ops, escorts, 3)
    for passenger in Passenger.objects.filter(booking__case=family):
        boarding.mark(departure, passenger, "boarded", by=eraj)

    results, errors = race(
        lambda: boarding.close_boarding(departure, by=eraj),
        lambda: boarding.mark(departure, pax(family, "Omid"), "waiting", by=farrukh, reason="He is not on the bus"),
    )

    state = Departure.objects.get(pk=departure.pk).state
    omid = pax(family, "Omid").boarding
    assert (state, omid, Case.objects.get(pk=family.pk).state) in [
        ("departed", "boarded", "departed"),  # closed first: the undo came too late
        ("final", "waiting", "booked"),  # undone first: closing refused while Omid waits
    ]
    if state == "departed":
        assert errors[1].code == "boarding_closed"
    else:
        assert errors[0].code == "passengers_waiting"
