"""The rules that keep a family from being stranded: one set of checks, asked at booking, when a departure is
made final, and by the pages that show which departures a case could go on.

Each refusal is a `Breach` with a machine code and a plain message naming the person or the limit, in the
style of readiness blockers. Readiness itself (documents, IME, pregnancy, orientation … on the departure's
date) is not repeated here: `movements.readiness` answers it for any date, given the departure as a plan.

A passenger's type is taken on the last day of the journey (the local date of arrival at the final stop): an infant
is under SAFAR_INFANT_AGE (2) that day and sits on a lap, taking no seat. A child who turns 2 between the first leg
and the last needs a seat on the later legs (IATA), so they hold one throughout. Ages in years, for the rules that
ask who may look after whom (a companion of 16, an adult of 18), are taken on the departure date, when they are
youngest.
"""

from dataclasses import dataclass, field

from django.conf import settings

from movements import readiness
from movements.medical import add_months
from travel.destinations import arrival_day_refusal, region_of, working_days_before
from travel.models import Mode, RuleCode

ADULT, CHILD, INFANT = "adult", "child", "infant"
KIND_LABELS = {ADULT: "adults", CHILD: "children", INFANT: "infants"}


@dataclass(frozen=True)
class Breach:
    code: str
    message: str
    rule: str = ""  # the destination rule (RuleCode) that an exception lifts; "" when nothing can lift it
    case_id: int | None = None
    person_id: int | None = None
    blocker: object = None  # the readiness Blocker behind it, kept for redaction per viewer
    short: str = ""  # a few words for the departure board ("arrives on a Friday")

    def __str__(self):
        return f"{self.code}: {self.message}"


# --- ages and passenger types on the journey -----------------------------------------------------------------


def born_on_or_before(day, years):
    """The latest date of birth of someone aged `years` or more on `day` (as Person.age_on counts: a 29 February
    birthday comes on 1 March in other years). SQL filters on it, so counts and Python agree to the day."""
    return add_months(day, -12 * years)


def age_on(date_of_birth, day):
    """Whole years on `day`, as `Person.age_on` counts them."""
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


class Ages:
    """Passenger types on a journey from `day` (the departure date) to `last_day` (its arrival's, default the
    same), from two date-of-birth cut-offs on the last day (computed once); ages in years on the first."""

    def __init__(self, day, last_day=None):
        self.day = day
        self.last_day = last_day or day
        self.infant_after = born_on_or_before(self.last_day, settings.SAFAR_INFANT_AGE)
        self.child_after = born_on_or_before(self.last_day, settings.SAFAR_ADULT_AGE)

    @classmethod
    def of(cls, departure):
        return cls(departure.departure_date, last_day(departure))

    def kind(self, date_of_birth):
        if date_of_birth > self.infant_after:
            return INFANT
        return CHILD if date_of_birth > self.child_after else ADULT

    def traveller(self, person, ssr, medical_escort=False):
        return Traveller(person, age_on(person.date_of_birth, self.day), self.kind(person.date_of_birth), ssr,
                         medical_escort)


def last_day(departure):
    """The journey's last day as passenger types count it: its arrival's local date, never before its departure's
    (a flight across the date line lands on the eve of the day it left)."""
    return max(departure.departure_date, departure.arrival_date or departure.departure_date)


def kind_on(date_of_birth, day):
    return Ages(day).kind(date_of_birth)


@dataclass
class Traveller:
    """A member who travels, as the rules see them: their age on the departure date, their type on the journey's
    last day."""

    person: object
    age: int
    kind: str
    ssr: list = field(default_factory=list)
    medical_escort: bool = False  # medical staff recorded "medical escort needed" (declared as MEDA)

    @property
    def takes_seat(self):
        return self.kind != INFANT

    @property
    def comes_of_seat_age_on_the_way(self):
        """Under 2 when the journey starts, 2 before it ends: a child with a seat, not an infant on a lap."""
        return self.kind != INFANT and self.age < settings.SAFAR_INFANT_AGE


def travellers_on(people, departure):
    """Travellers for these people on the departure (their SSR codes read from what was loaded with them)."""
    ages = Ages.of(departure)
    return [ages.traveller(p, p.ssr_codes, getattr(p.needs_or_none, "medical_escort", False)) for p in people]


# --- the rules ------------------------------------------------------------------------------------------------


def seats_breach(departure, taken, needed, case=None):
    """More passengers than the seat block (infants on a lap not counted)."""
    if taken + needed <= departure.seat_block:
        return None
    free = max(departure.seat_block - taken, 0)
    if case is None:
        return Breach("over_seat_block",
                      f"{departure.code} has {taken} passengers in seats and a seat block of {departure.seat_block}.",
                      short=f"{taken - departure.seat_block} over the seat block")
    return Breach(
        "no_seats_left",
        f"No seats left: {departure.code} has {free} seat{'s' if free != 1 else ''} free of {departure.seat_block}; "
        f"case {case.case_number} needs {needed} (infants on a lap take none).",
        case_id=case.pk,
    )


def flight_key(leg):
    """A flight as an airline sells it: carrier, number, from, and the local date it leaves (None for a leg that is
    not a numbered flight)."""
    if not (leg.carrier and leg.flight_number):
        return None
    return (leg.carrier.upper(), leg.flight_number.lstrip("0"), leg.origin.upper(), leg.local_departure().date())


def describe_flight(key):
    carrier, number, origin, day = key
    return f"{carrier} {number} from {origin} on {day.isoformat()}"


def destination_breaches(departure, legs, rule, exception_rules, refugees, flight_mates=None):
    """The destination's rules for the whole departure (`refugees`: everyone on it, infants included;
    `flight_mates`: `Facts.flight_mates`, the other departures to the same country on its flights)."""
    if rule is None:
        return []
    found = []
    limit = rule.max_refugees_per_flight
    if departure.mode == Mode.AIR and limit is not None and RuleCode.MAX_REFUGEES not in exception_rules:
        if refugees > limit:
            found.append(Breach(
                "max_refugees",
                f"{departure.code} would carry {refugees} refugees; {departure.destination_name} "
                f"accepts at most {limit} per flight unless an exception is recorded.",
                rule=RuleCode.MAX_REFUGEES, short=f"more than {limit} refugees",
            ))
        else:
            # The limit is per flight, not per booking: group bookings under other PNRs on the same flight count.
            for key in dict.fromkeys(map(flight_key, legs)):  # in the journey's order
                mates = (flight_mates or {}).get(key)
                if not mates:
                    continue
                total = refugees + sum(n for _code, n in mates)
                if total > limit:
                    others = ", ".join(f"{n} on {code}" for code, n in mates)
                    found.append(Breach(
                        "max_refugees",
                        f"{describe_flight(key)} would carry {total} refugees to {departure.destination_name}: "
                        f"{refugees} on {departure.code} and {others}; {departure.destination_name} accepts at "
                        f"most {limit} per flight unless an exception is recorded.",
                        rule=RuleCode.MAX_REFUGEES, short=f"more than {limit} refugees on {key[0]} {key[1]}",
                    ))
                    break
    if legs and RuleCode.ARRIVAL_DAY not in exception_rules:
        region = region_of(departure, legs)
        arrival = legs_arrival(departure, legs)
        refusal = arrival_day_refusal(rule, region, arrival.date())
        if refusal:
            short, why = refusal
            found.append(Breach(
                "arrival_day",
                f"{departure.code} arrives in {departure.final_destination} on {arrival:%A %Y-%m-%d} (local time), "
                f"{why}: {departure.destination_name} does not receive refugees then unless an "
                "exception is recorded.",
                rule=RuleCode.ARRIVAL_DAY, short=f"arrives {short}",
            ))
    return found


def legs_arrival(departure, legs):
    """The local arrival at the final stop: the last leg's (air), the latest vehicle's (road)."""
    last = legs[-1] if departure.is_air else max(legs, key=lambda leg: leg.arrives_at)
    return last.local_arrival()


def booking_breaches(departure, case, travellers, escort_count):
    """What one case's travellers need of their departure: an adult for each infant, an escort for a stretcher
    passenger, a person medical staff say needs a medical escort, or an unaccompanied minor."""
    found = []
    infants = [t for t in travellers if t.kind == INFANT]
    companions = [t for t in travellers if t.age >= settings.SAFAR_INFANT_COMPANION_MIN_AGE]
    if len(infants) > len(companions):
        found.append(Breach(
            "too_many_infants",
            f"Case {case.case_number}: {len(infants)} infant{'s' if len(infants) != 1 else ''} "
            f"({'; '.join(t.person.full_name for t in infants)}) and {len(companions)} traveller"
            f"{'s' if len(companions) != 1 else ''} aged {settings.SAFAR_INFANT_COMPANION_MIN_AGE} or over on "
            f"{departure.departure_date.isoformat()}: one infant per adult on a lap.",
            case_id=case.pk, person_id=infants[0].person.pk, short="more infants than adults in a case",
        ))
    if escort_count:
        return found
    for t in travellers:
        if "STCR" in t.ssr:
            found.append(Breach(
                "escort_required",
                f"{t.person.full_name} — stretcher (STCR): travels only on a departure with an escort; "
                f"{departure.code} has none.",
                case_id=case.pk, person_id=t.person.pk, short="stretcher without an escort",
            ))
        elif t.medical_escort:
            found.append(Breach(
                "escort_required",
                f"{t.person.full_name} — medical escort needed (MEDA): travels only on a departure with an escort; "
                f"{departure.code} has none.",
                case_id=case.pk, person_id=t.person.pk, short="medical case without an escort",
            ))
    adults = [t for t in travellers if t.age >= settings.SAFAR_UNACCOMPANIED_MINOR_AGE]
    minors = [t for t in travellers if "UMNR" in t.ssr or (not adults and t.age < settings.SAFAR_UNACCOMPANIED_MINOR_AGE)]
    for t in minors:
        found.append(Breach(
            "escort_required",
            f"{t.person.full_name} — unaccompanied minor (UMNR, aged {t.age}): travels only on a departure with an "
            f"escort; {departure.code} has none.",
            case_id=case.pk, person_id=t.person.pk, short="unaccompanied minor without an escort",
        ))
    return found


def plan_for(departure, member_ids):
    """The departure as readiness sees it: its local date and time, and who travels."""
    return readiness.TravelPlan(date=departure.departure_date, departs_at=departure.departs_at,
                                member_ids=frozenset(member_ids), label=departure.code,
                                last_date=last_day(departure))


def readiness_breaches(case, departure, member_ids):
    """The case's readiness blockers for booking (`gate="book"`) on the departure's date, as breaches."""
    blockers = readiness.blockers_for(case, gate="book", plan=plan_for(departure, member_ids))
    return [Breach(b.code, b.message, case_id=case.pk, person_id=b.person_id, blocker=b) for b in blockers]


def shown(breaches, access):
    """Breaches as this viewer may read them: medical readiness blockers redacted as on the case page."""
    out = []
    for breach in breaches:
        if breach.blocker is not None:
            (blocker,) = readiness.redacted([breach.blocker], access)
            breach = Breach(blocker.code, blocker.message, breach.rule, breach.case_id, breach.person_id, blocker,
                            breach.short)
        out.append(breach)
    return out


# --- the destination's deadlines, shown on the departure as warnings with dates --------------------------------


@dataclass(frozen=True)
class Deadline:
    code: str
    message: str
    due: object  # a date
    overdue: bool = False


def deadlines(departure, legs, rule, exception_rules, counts, today):
    """The destination's deadlines for this departure, counted in working days back from the local arrival date
    (weekends and the final destination's statutory holidays not counted)."""
    if rule is None or not legs:
        return []
    region = region_of(departure, legs)
    arrival = legs_arrival(departure, legs).date()
    found = []
    if rule.notification_working_days:
        due = working_days_before(rule, region, arrival, rule.notification_working_days)
        found.append(Deadline(
            "notification_due",
            f"Notification of arrival due by {due:%a %Y-%m-%d}: {rule.notification_working_days} working days before "
            f"arrival on {arrival:%a %Y-%m-%d} (weekends and {region.label}'s statutory holidays not counted).",
            due, due < today,
        ))
    limit = rule.max_refugees_per_flight
    if rule.exception_request_working_days and limit is not None and departure.mode == Mode.AIR \
            and max(counts.people, departure.seat_block) > limit and RuleCode.MAX_REFUGEES not in exception_rules:
        due = working_days_before(rule, region, arrival, rule.exception_request_working_days)
        found.append(Deadline(
            "exception_request_due",
            f"To carry more than {limit} refugees, the exception request is due by {due:%a %Y-%m-%d}: "
            f"{rule.exception_request_working_days} working days before arrival (the seat block is "
            f"{departure.seat_block}; {counts.people} booked).",
            due, due < today,
        ))
    return found
