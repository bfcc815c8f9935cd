"""`manage.py seed_demo`: a caseload in every state and departures in every state, all made through the real
services (travel takes the demo's booked, departed and arrived families there on its departures), idempotent."""

import io

import pytest
from django.core.management import call_command

from movements.models import Case
from travel.models import Booking, Departure, RuleException

pytestmark = pytest.mark.django_db


def test_the_demo_has_departures_in_every_state_with_their_families_and_runs_twice_without_change():
    out = io.StringIO()
    call_command("seed_demo", stdout=out)

    states = {d.state for d in Departure.objects.all()}
    assert states == {"planned", "open", "final", "departed", "arrived", "cancelled"}
    for state in ("booked", "departed", "arrived"):
        cases = Case.objects.filter(state=state)
        assert cases.exists()
        assert Booking.objects.filter(case__in=cases, status="active").count() == cases.count(), state
    toronto = Departure.objects.filter(state="open", legs__destination="YYZ").distinct().get()
    assert [f"{leg.flight} {leg.origin}→{leg.destination}" for leg in toronto.legs.order_by("number")] == [
        "TK 255 DYU→IST", "TK 17 IST→YYZ"]
    assert toronto.bookings.filter(status="active").exists()
    excepted = RuleException.objects.get(departure__final_destination="Vancouver")
    assert excepted.rule == "arrival_day" and excepted.departure.arrival_date.isoweekday() == 5
    road = Departure.objects.get(mode="road")
    assert road.legs.count() == 2 and road.seat_block == sum(leg.seats for leg in road.legs.all())
    cancelled = Departure.objects.get(state="cancelled")
    assert Case.objects.get(bookings__departure=cancelled).state == "ready"
    assert "escort" in out.getvalue() and "safar-demo" in out.getvalue()

    before = (Case.objects.count(), Departure.objects.count(), Booking.objects.count())
    again = io.StringIO()
    call_command("seed_demo", stdout=again)

    assert (Case.objects.count(), Departure.objects.count(), Booking.objects.count()) == before
    assert "0 new case(s)" in again.getvalue()
