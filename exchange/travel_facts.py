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


def for_cases(case_ids):
    """{case id: TravelFacts} for the cases that have a booking, in three queries whatever their number."""
    from travel.models import Booking, BookingStatus, Leg, TravelExclusion

    case_ids = list(case_ids)
    if not case_ids:
        return {}
    bookings = list(
        Booking.objects.filter(case_id__in=case_ids, status=BookingStatus.ACTIVE)
        .select_related("departure", "case").only(
            "case_id", "case__state", "arrival_date", "departure__id", "departure__mode",
            "departure__departure_date", "departure__arrival_date",
        )
    )
    if not bookings:
        return {}
    legs = {}
    for leg in Leg.objects.filter(departure_id__in={b.departure_id for b in bookings}).only(
            "departure_id", "number", "carrier", "flight_number", "origin", "destination").order_by(
            "departure_id", "number"):
        legs.setdefault(leg.departure_id, []).append(leg)
    stayed = {}
    for case_id, individual in TravelExclusion.objects.filter(
            case_id__in=[b.case_id for b in bookings], lifted_at__isnull=True).values_list(
            "case_id", "person__progres_individual_id"):
        stayed.setdefault(case_id, {})[individual] = STAYED_BEHIND_STATUS
    facts = {}
    for booking in bookings:
        departure = booking.departure
        state = booking.case.state
        facts[booking.case_id] = TravelFacts(
            departure_date=departure.departure_date,
            itinerary=itinerary(departure, legs.get(departure.pk, [])),
            arrival_date=(booking.arrival_date or departure.arrival_date) if state == CaseState.ARRIVED else None,
            stayed_behind=stayed.get(booking.case_id, {}) if state in GONE_OR_BOOKED else {},
        )
    return facts
