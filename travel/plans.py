"""What travel plugs into the case's life in `movements`: the transitions it owns, the travel plan that makes a
booked case's travel date its departure's, the seats released when a booked case is held or withdrawn, and
where such a case resumes."""

from movements import hooks, memo, readiness
from travel import boarding, rules, services
from travel.models import Passenger

hooks.transition_owners.register(
    lambda: None, key="travel", transitions=("book", "unbook", "depart", "arrive"),
    # Escorts close boarding and confirm arrival on their departures, and leave a no-show's family behind:
    # travel.boarding checks who may (operations, or an escort of that departure) before it performs these.
    authorises=("unbook", "depart", "arrive"),
    message="A case is booked, unbooked, departed and arrived with its departure: book it from the case page's "
            "“Book on…” panel; it departs when boarding of its departure closes and arrives when the arrival is "
            "confirmed, on the departure's boarding and arrival pages.",
)


@hooks.travel_plans.register(key="travel")
def departure_plan(case):
    """A booked case travels on its departure's local date, with the passengers booked; a case with members
    excluded from travel (a split decision) travels without them, on its own date until it is booked."""
    if case.pk is None:
        return None
    booking = services.active_booking(case.pk)
    if booking is not None:
        departure = booking.departure
        members = Passenger.objects.filter(booking=booking, active=True).values_list("person_id", flat=True)
        return readiness.TravelPlan(date=departure.departure_date, departs_at=departure.departs_at,
                                    member_ids=frozenset(members), label=departure.code,
                                    last_date=rules.last_day(departure))
    excluded = {e.person_id for e in services.open_exclusion_list(case.pk)}
    if excluded:
        if memo.active():  # a page: the members it has loaded
            members = [p.pk for p in memo.case_members(case) if p.pk not in excluded]
        else:
            members = case.members.exclude(pk__in=excluded).values_list("pk", flat=True)
        return readiness.TravelPlan(date=None, member_ids=frozenset(members))
    return None


hooks.before_transition.register(services.release_for_transition, key="travel.release_seats")
hooks.transition_locks.register(services.lock_departure_first, key="travel.departure_first")
hooks.resume_targets.register(services.resume_target, key="travel.resume_ready")
hooks.fit_to_travel_overrides.register(boarding.overridden_people, key="travel.fit_to_travel_overrides")
hooks.readiness_preload.register(boarding.preload_overrides, key="travel.preload_overrides")
