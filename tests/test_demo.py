"""`manage.py seed_demo`: a caseload in every state and departures in every state, all made through the real
services (travel takes the demo's booked, departed and arrived families there on its departures), idempotent."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.utils import timezone

from movements.models import Case
from tests.conftest import make_case, make_user
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
    # Decided between the referral and the flight, not on the day the demo was made.
    today = timezone.localdate()
    decided = Case.objects.filter(decision_date__isnull=False)
    assert decided.count() >= 25
    for case in decided:
        assert case.referral_date < case.decision_date < today, case.case_number
    for booking in Booking.objects.filter(status="active", case__state__in=("departed", "arrived")):
        assert booking.case.decision_date < booking.departure.departure_date, booking.case.case_number

    before = (Case.objects.count(), Departure.objects.count(), Booking.objects.count())
    again = io.StringIO()
    call_command("seed_demo", stdout=again)

    assert (Case.objects.count(), Departure.objects.count(), Booking.objects.count()) == before
    assert "0 new case(s)" in again.getvalue()


def test_the_demo_is_refused_where_settings_do_not_allow_it_and_changes_nothing(settings):
    settings.SAFAR_DEMO_DATA = False

    with pytest.raises(CommandError, match="only where DEBUG is on, or on a training server that sets "
                                           "SAFAR_DEMO_DATA=1"):
        call_command("seed_demo", stdout=io.StringIO())

    assert not User.objects.exists() and not Case.objects.exists()


def test_the_demo_is_refused_on_a_database_with_real_cases_and_resets_no_password():
    real = make_case(members=2)
    ops = make_user("ops", "operations")
    ops.set_password("a real secret 4821")
    ops.save()

    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", stdout=io.StringIO())

    assert str(refused.value) == (
        f"Nothing was changed: this database holds 1 case(s) that seed_demo did not make (the first: "
        f"{real.case_number}). Demo families would mix with them, in every list and in the status export to UNHCR; "
        "run seed_demo against a database of its own.")
    assert list(Case.objects.all()) == [real]
    ops.refresh_from_db()
    assert ops.check_password("a real secret 4821") and not ops.check_password("safar-demo")
    assert not User.objects.filter(username="admin").exists()
