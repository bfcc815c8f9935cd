"""What the rules and the pages read about departures, loaded in a fixed number of queries however many
departures and passengers there are: legs, the destination's rule, recorded exceptions, escorts, and
passengers counted by type on each departure's own date (in SQL, from date-of-birth cut-offs computed by
`rules.born_on_or_before`, so the counts agree with `Person.age_on` to the day).
"""

import datetime
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce

from django.conf import settings
from django.db.models import Count, Q

from travel.models import D, Departure, DestinationRule, Leg, Mode, Passenger, RuleException
from travel.rules import ADULT, CHILD, INFANT, born_on_or_before, flight_key, last_day


def kind_filters(departures, prefix=""):
    """{kind: Q} matching a passenger row of any of these (one or more) departures who is of that kind on the
    last day of its journey (its arrival's local date, as `travel.rules` takes passenger types).

    `prefix` is the path from the counted rows to the Passenger (e.g. "passengers__").
    """
    infants, children = [], []
    for departure in departures:
        infant_after = born_on_or_before(last_day(departure), settings.SAFAR_INFANT_AGE)
        adult_from = born_on_or_before(last_day(departure), settings.SAFAR_ADULT_AGE)
        own = Q(**{f"{prefix}departure_id": departure.pk})
        infants.append(own & Q(**{f"{prefix}person__date_of_birth__gt": infant_after}))
        children.append(own & Q(**{f"{prefix}person__date_of_birth__gt": adult_from,
                                    f"{prefix}person__date_of_birth__lte": infant_after}))

    infant, child = reduce(operator.or_, infants), reduce(operator.or_, children)
    return {INFANT: infant, CHILD: child, ADULT: ~infant & ~child}


@dataclass
class Counts:
    adults: int = 0
    children: int = 0
    infants: int = 0
    stretchers: int = 0
    declared_minors: int = 0

    @property
    def people(self):
        return self.adults + self.children + self.infants

    @property
    def seats(self):
        return self.adults + self.children

    def add(self, other):
        for name in ("adults", "children", "infants", "stretchers", "declared_minors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @classmethod
    def of(cls, travellers):
        """Counts of travellers already loaded (the pages, which fetch them anyway)."""
        counts = cls()
        for t in travellers:
            if t.kind == INFANT:
                counts.infants += 1
            elif t.kind == CHILD:
                counts.children += 1
            else:
                counts.adults += 1
            counts.stretchers += "STCR" in t.ssr
            counts.declared_minors += "UMNR" in t.ssr
        return counts

    def describe(self):
        parts = [(self.adults, "adult", "adults"), (self.children, "child", "children"),
                 (self.infants, "infant", "infants")]
        return ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n) or "nobody"


def passenger_counts(departures, *, by_booking=False):
    """Counts of active passengers per departure id (or per booking id), in one query."""
    departures = list(departures)
    result = defaultdict(Counts)
    if not departures:
        return result
    kinds = kind_filters(departures)
    key = "booking_id" if by_booking else "departure_id"
    rows = (
        Passenger.objects.filter(departure__in=[d.pk for d in departures], active=True)
        .values(key)
        .annotate(
            adults=Count("id", filter=kinds[ADULT]),
            children=Count("id", filter=kinds[CHILD]),
            infants=Count("id", filter=kinds[INFANT]),
            stretchers=Count("id", filter=Q(person__special_needs__contains="STCR")
                             | Q(person__medical_needs__stretcher=True)),
            declared_minors=Count("id", filter=Q(person__special_needs__contains="UMNR")),
        )
        .order_by()
    )
    for row in rows:
        result[row[key]] = Counts(row["adults"], row["children"], row["infants"], row["stretchers"],
                                  row["declared_minors"])
    return result


@dataclass
class Seats:
    """What a page shows of a departure beside its rules: its legs and the seats its passengers take."""

    departure: Departure
    legs: list = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    @property
    def seats_taken(self):
        return self.counts.seats

    @property
    def seats_free(self):
        return max(self.departure.seat_block - self.counts.seats, 0)


@dataclass
class Facts(Seats):
    """One departure as the rules read it."""

    rule: DestinationRule | None = None
    exceptions: list = field(default_factory=list)
    escort_count: int = 0
    # Other departures to the same country on the same flights (group bookings under other PNRs): for each of this
    # departure's flights ("TK 17 on 2026-12-09"), [(departure code, refugees on it)].
    flight_mates: dict = field(default_factory=dict)

    @property
    def exception_rules(self):
        return {e.rule for e in self.exceptions}


def _legs_and_counts(departures, kind, counts):
    found = {d.pk: kind(d) for d in departures}
    if not found:
        return found
    for leg in Leg.objects.filter(departure__in=list(found)).order_by("departure_id", "number"):
        found[leg.departure_id].legs.append(leg)
    counts = counts if counts is not None else passenger_counts(departures)
    for departure in departures:
        found[departure.pk].counts = counts.get(departure.pk) or Counts()
    return found


def seats_for(departures, *, counts=None):
    """{departure id: Seats} for these departures, in two queries (one when `counts` are given). What the rules
    read as well (the destination's rule, exceptions, escorts) comes with `facts_for`."""
    return _legs_and_counts(list(departures), Seats, counts)


def _flight_mates(departures, facts):
    """Fill `Facts.flight_mates`: two queries when any of the departures flies a numbered flight, else none."""
    wanted = {key for departure in departures if departure.is_air
              for key in map(flight_key, facts[departure.pk].legs) if key is not None}
    if not wanted:
        return
    flights = reduce(operator.or_, (Q(carrier__iexact=carrier, flight_number__endswith=number)
                                    for carrier, number, _origin, _day in wanted))
    # Only legs leaving within a day of those dates (a daily flight's legs of other days are not read).
    days = sorted(day for _carrier, _number, _origin, day in wanted)
    window = (datetime.datetime.combine(days[0] - datetime.timedelta(days=1), datetime.time(), datetime.UTC),
              datetime.datetime.combine(days[-1] + datetime.timedelta(days=2), datetime.time(), datetime.UTC))
    on_flight = defaultdict(dict)  # flight key: {departure id: departure}, a departure asked about included
    for leg in (Leg.objects.filter(flights, departs_at__range=window, departure__mode=Mode.AIR)
                .exclude(departure__state=D.CANCELLED).select_related("departure")):
        key = flight_key(leg)
        if key in wanted:
            on_flight[key][leg.departure_id] = leg.departure
    asked = {departure.pk for departure in departures}
    others = {pk for found in on_flight.values() for pk in found} - asked
    refugees = dict(Passenger.objects.filter(departure__in=others, active=True).values_list("departure_id")
                    .annotate(n=Count("id")).order_by()) if others else {}

    def people_on(pk):
        return facts[pk].counts.people if pk in asked else refugees.get(pk, 0)

    for departure in departures:
        own = facts[departure.pk]
        for key in {flight_key(leg) for leg in own.legs} & on_flight.keys():
            mates = [(mate.code, people_on(pk)) for pk, mate in sorted(on_flight[key].items())
                     if pk != departure.pk and mate.destination_country == departure.destination_country
                     and people_on(pk)]
            if mates:
                own.flight_mates[key] = mates


def facts_for(departures, *, counts=None):
    """{departure id: Facts} for these departures, in five queries (four when `counts` are given), and two more when
    they fly numbered flights (the other departures on those flights)."""
    departures = list(departures)
    facts = _legs_and_counts(departures, Facts, counts)
    if not facts:
        return facts
    ids = list(facts)
    rules = {r.country: r for r in DestinationRule.objects.filter(
        country__in={d.destination_country for d in departures})}
    for exception in RuleException.objects.filter(departure__in=ids).select_related("recorded_by"):
        facts[exception.departure_id].exceptions.append(exception)
    escorts = Departure.escorts.through.objects.filter(departure_id__in=ids).values("departure_id").annotate(
        n=Count("id")).order_by()
    for row in escorts:
        facts[row["departure_id"]].escort_count = row["n"]
    for departure in departures:
        facts[departure.pk].rule = rules.get(departure.destination_country)
    _flight_mates(departures, facts)
    return facts
