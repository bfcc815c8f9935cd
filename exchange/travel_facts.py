"""What the travel app knows about a case, as the status export and the API read it: the departure's date,
the itinerary (`TK 255 DYU-IST / TK 17 IST-YYZ`, or the road route), the arrival date, and the members who
stayed behind in a split case (with their own status).

- `departure_date`: the local date of the first leg of the case's booking (planned while booked, the date it
  left once departed).
- `arrival_date`: the local date the case arrived at the final destination, once its arrival is confirmed
  (`arrived`): the last leg's, or the date given when the case's arrival was confirmed on its own.
- A member excluded from travel (a split decision) did not go with the case: once the case is booked or gone
  they show `ready` — cleared, still with the mission — and no departure, itinerary or arrival of their own.
"""

from dataclasses import dataclass, field

from movements.models import CaseState

GONE_OR_BOOKED = {CaseState.BOOKED, CaseState.DEPARTED, CaseState.ARRIVED}
STAYED_BEHIND_STATUS = CaseState.READY


@dataclass(frozen=True)
class TravelFacts:
    departure_date: object = None
    itinerary: str = ""
    arrival_date: object = None
    stayed_behind: dict = field(default_factory=dict)  # progres_individual_id -> status code


def itinerary(departure, legs):
    """`TK 255 DYU-IST / TK 17 IST-YYZ` for a flight; `Road Khorog-Dushanbe (2 vehicles)` for a convoy."""
    if not legs:
        return ""
    if departure.mode == "air":
        return " / ".join(f"{leg.carrier} {leg.flight_number} {leg.origin}-{leg.destination}".strip() for leg in legs)
    stops = []
    for leg in legs:
        for place in (leg.origin, leg.destination):
            if place not in stops:
                stops.append(place)
    return f"Road {'-'.join(stops)} ({len(legs)} vehicle{'s' if len(legs) != 1 else ''})"


class Departures:
    """Each departure's dates and itinerary, read once and kept for the whole of an export (its chunks share
    departures): two queries for the departures not yet known, none for those already read."""

    def __init__(self):
        self._known = {}

    def facts(self, departure_ids):
        """{departure id: (departure_date, arrival_date, itinerary)} for `departure_ids`."""
        from travel.models import Departure, Leg

        missing = {pk for pk in departure_ids if pk not in self._known}
        if missing:
            legs = {}
            for leg in Leg.objects.filter(departure_id__in=missing).only(
                    "departure_id", "number", "carrier", "flight_number", "origin", "destination").order_by(
                    "departure_id", "number"):
                legs.setdefault(leg.departure_id, []).append(leg)
            for departure in Departure.objects.filter(pk__in=missing).only("mode", "departure_date", "arrival_date"):
                self._known[departure.pk] = (departure.departure_date, departure.arrival_date,
                                             itinerary(departure, legs.get(departure.pk, [])))
        return self._known


def for_cases(case_ids):
    """{case id: TravelFacts} for the cases that have a booking, in four queries whatever their number."""
    from travel.models import Booking, BookingStatus, TravelExclusion

    case_ids = list(case_ids)
    if not case_ids:
        return {}
    bookings = list(
        Booking.objects.filter(case_id__in=case_ids, status=BookingStatus.ACTIVE).values_list(
            "case_id", "case__state", "arrival_date", "departure_id")
    )
    if not bookings:
        return {}
    departures = Departures().facts({b[3] for b in bookings})
    stayed = {}
    for case_id, individual in TravelExclusion.objects.filter(
            case_id__in=[b[0] for b in bookings], lifted_at__isnull=True).values_list(
            "case_id", "person__progres_individual_id"):
        stayed.setdefault(case_id, {})[individual] = STAYED_BEHIND_STATUS
    facts = {}
    for case_id, state, case_arrival, departure_id in bookings:
        departure_date, departure_arrival, route = departures[departure_id]
        facts[case_id] = TravelFacts(
            departure_date=departure_date,
            itinerary=route,
            arrival_date=(case_arrival or departure_arrival) if state == CaseState.ARRIVED else None,
            stayed_behind=stayed.get(case_id, {}) if state in GONE_OR_BOOKED else {},
        )
    return facts
