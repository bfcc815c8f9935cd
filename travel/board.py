"""What the departure board and a departure's page show, each loaded in a fixed number of queries: counts
are made in SQL, a departure's passengers and their travel needs are fetched once, readiness is read from
each case's stored snapshot (kept fresh by the transitions, the signals of `movements` and the daily
`refresh_readiness`), and the rules run on what was loaded — the same functions that refuse a booking.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from operator import attrgetter
from types import SimpleNamespace

from django.utils import timezone

from movements import readiness
from movements.ssr import SSR_CODES, parse_ssr
from travel import rules, services
from travel.airports import airport
from travel.facts import Counts, facts_for
from travel.models import (
    UPCOMING_STATES, Booking, BookingStatus, Departure, DepartureLogEntry, DepartureState, Passenger, TravelExclusion,
)


def _not_ready(snapshot, access):
    """A booked case's stored blockers, split into those that refuse booking on its date and the before-boarding
    checks still to do; redacted for this viewer."""
    blockers = readiness.redacted(snapshot or [], access) if snapshot else []
    for_booking = [b for b in blockers if "book" in (b.get("gates") or ["book"])]
    before_boarding = [b for b in blockers if "book" not in (b.get("gates") or ["book"])]
    return for_booking, _grouped(before_boarding)


def _grouped(blockers):
    """[(fact, [names])]: "no fit-to-travel check within 72 h … — Karimi, Zahra; Karimi, Ahmad" reads better than
    the same sentence once per member."""
    groups = {}
    for blocker in blockers:
        name, _, fact = blocker["message"].partition(" — ")
        if not fact:
            name, fact = "", blocker["message"]
        groups.setdefault(fact, []).append(name)
    return [(fact, [n for n in names if n]) for fact, names in groups.items()]


@dataclass
class BoardRow:
    departure: Departure
    facts: object
    route: str
    breaches: list = field(default_factory=list)
    cases_not_ready: int = 0

    @property
    def blockers(self):
        found = [b.short or b.message for b in self.breaches]
        if self.cases_not_ready:
            found.append(f"{self.cases_not_ready} case{'s' if self.cases_not_ready != 1 else ''} not ready")
        return found


def route_of(departure, legs):
    if not legs:
        return "—"
    if departure.is_air:
        return " → ".join([legs[0].origin] + [leg.destination for leg in legs])
    stops = []
    for leg in legs:
        for place in (leg.origin, leg.destination):
            if place not in stops:
                stops.append(place)
    return " → ".join(stops) + f" ({len(legs)} vehicle{'s' if len(legs) != 1 else ''})"


def board_rows(departure_ids):
    """Rows of the board for these departures (in this order), in six queries whatever their number and size.

    The page's passengers are fetched once (dates of birth and travel needs, no more): their types and seats
    are counted from them, and the same rules that refuse a booking run on each booked case.
    """
    departures = {d.pk: d for d in Departure.objects.filter(pk__in=departure_ids).prefetch_related("escorts")}
    ordered = [departures[pk] for pk in departure_ids if pk in departures]
    ages = {d.pk: rules.Ages.of(d) for d in ordered}
    travellers = defaultdict(lambda: defaultdict(list))  # departure id -> booking id -> travellers
    cases = {}
    rows = (Passenger.objects.filter(departure__in=ordered, active=True)
            .values_list("departure_id", "booking_id", "booking__case_id", "booking__case__case_number", "person_id",
                         "person__family_name", "person__given_name", "person__date_of_birth",
                         "person__special_needs", "person__medical_needs__stretcher",
                         "person__medical_needs__medical_escort"))
    for dep_id, booking_id, case_id, case_number, person_id, family, given, born, needs, stretcher, escort in rows:
        person = SimpleNamespace(pk=person_id, full_name=f"{family}, {given}", date_of_birth=born)
        codes = parse_ssr(needs)
        if stretcher and "STCR" not in codes:
            codes.append("STCR")
        travellers[dep_id][booking_id].append(ages[dep_id].traveller(person, codes, bool(escort)))
        cases[booking_id] = SimpleNamespace(pk=case_id, case_number=case_number)
    counts = defaultdict(Counts)
    for dep_id, bookings in travellers.items():
        for people in bookings.values():
            counts[dep_id].add(Counts.of(people))
    facts = facts_for(ordered, counts=counts)
    not_ready = defaultdict(int)
    for dep_id, snapshot in (Booking.objects.filter(departure__in=ordered, status=BookingStatus.ACTIVE)
                             .values_list("departure_id", "case__blockers")):
        # Any stored blocker that refuses booking means "not ready" (redaction changes words, not the count).
        if any("book" in (b.get("gates") or ["book"]) for b in snapshot or []):
            not_ready[dep_id] += 1
    result = []
    for departure in ordered:
        f = facts[departure.pk]
        breaches = []
        if departure.state in UPCOMING_STATES:
            breaches = services.departure_breaches(departure, f, [], with_readiness=False)
            # A planned departure has time for its PNR; from open on, it is missing before the list is locked.
            breaches = [b for b in breaches if b.code != "pnr_missing" or departure.state != DepartureState.PLANNED]
            for booking_id, people in travellers[departure.pk].items():
                breaches += rules.booking_breaches(departure, cases[booking_id], people, f.escort_count)
        result.append(BoardRow(departure, f, route_of(departure, f.legs), breaches, not_ready[departure.pk]))
    return result


@dataclass
class BookedCase:
    booking: Booking
    passengers: list  # (person, traveller) pairs
    excluded: list  # TravelExclusion rows
    not_ready: list
    before_boarding: list
    typed_reason: str = ""  # a refused cancellation's reason, back in its box (movements.kept)


def departure_page(departure, access):
    """Everything a departure's page shows, in a fixed number of queries however many passengers it has."""
    passengers = defaultdict(list)
    for p in (Passenger.objects.filter(departure=departure, active=True)
              .select_related("person__medical_needs").order_by("person__date_of_birth", "person_id")):
        passengers[p.booking_id].append(p.person)
    for people in passengers.values():  # as the manifest and the boarding page list them
        people.sort(key=attrgetter("family_position"))
    travellers = {booking_id: rules.travellers_on(people, departure) for booking_id, people in passengers.items()}
    counts = Counts()
    for people in travellers.values():
        counts.add(Counts.of(people))
    facts = facts_for([departure], counts={departure.pk: counts})[departure.pk]
    for leg in facts.legs:
        leg.origin_airport = airport(leg.origin) if departure.is_air else None
        leg.destination_airport = airport(leg.destination) if departure.is_air else None
    bookings = list(Booking.objects.filter(departure=departure, status=BookingStatus.ACTIVE)
                    .select_related("case", "booked_by").order_by("case__case_number"))
    exclusions = defaultdict(list)
    for exclusion in (TravelExclusion.objects.filter(case__in=[b.case_id for b in bookings], lifted_at__isnull=True)
                      .select_related("person", "excluded_by")):
        exclusions[exclusion.case_id].append(exclusion)
    booked, ssr = [], defaultdict(int)
    for booking in bookings:
        booking.travelling = passengers.get(booking.pk, [])
        booking.travellers = travellers.get(booking.pk, [])
        for traveller in booking.travellers:
            for code in traveller.ssr:
                ssr[code] += 1
        not_ready, before_boarding = _not_ready(booking.case.blockers, access)
        booked.append(BookedCase(booking, list(zip(booking.travelling, booking.travellers)),
                                 exclusions.get(booking.case_id, []), not_ready, before_boarding))
    breaches = []
    if departure.state in UPCOMING_STATES:
        breaches = services.departure_breaches(departure, facts, bookings, with_readiness=False)
    cancelled = list(Booking.objects.filter(departure=departure, status=BookingStatus.CANCELLED)
                     .select_related("case", "cancelled_by").order_by("-cancelled_at"))
    log = list(DepartureLogEntry.objects.filter(departure=departure).select_related("user").order_by("-at", "-id"))
    for entry in log:
        entry.shown_by = entry.shown_actor(access)
    deadlines = rules.deadlines(departure, facts.legs, facts.rule, facts.exception_rules, facts.counts,
                                timezone.localdate())
    return {
        "facts": facts,
        "legs": facts.legs,
        "route": route_of(departure, facts.legs),
        "booked": booked,
        "cancelled": cancelled,
        "breaches": breaches,
        "deadlines": deadlines,
        "overdue": sum(1 for deadline in deadlines if deadline.overdue),
        "ssr": sorted(((code, n, SSR_CODES.get(code, "")) for code, n in ssr.items()), key=lambda r: r[0]),
        "not_ready": sum(1 for b in booked if b.not_ready),
        "log": log,
        "escorts": list(departure.escorts.all()),
    }
