"""Every change to a departure, a booking or a member's exclusion from travel: lock, check, log, save.

Each service locks the departure row (`select_for_update`) before it reads what it checks — seats are counted
under that lock, so two officers booking the last seat at the same moment cannot both get it — then writes
an append-only `DepartureLogEntry` with a data payload in the same transaction, and refuses with a coded
`TravelError` (tests assert the code; pages show the message). Case state changes go through
`movements.transitions.perform(…, performer="travel")`: travel owns `book`, `unbook`, `depart` and `arrive`
(`hooks.transition_owners`), and the booking row is written first, so readiness sees the departure's date.
The day of travel (boarding, no-shows, departure and arrival) is in `travel.boarding`.

Locks are always taken departure first, then case: a hold or a withdrawal of a booked case, which releases its
seats, locks the departure before the case too (`lock_departure_first`, through `hooks.transition_locks`). Row locks
are `FOR NO KEY UPDATE` (`select_for_update(no_key=True)`): the log and boarding rows that refer to a locked
departure or case are written without waiting for its lock.

`at=` (default now) is the moment the action happens, for the log and for "in the past" checks; only the demo
data passes another one, to lay down an honest history of departures that have already flown.
"""

import hashlib
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django_fsm import can_proceed

from movements import history, hooks, memo, readiness, transitions
from movements.access import access_for
from movements.models import Case, CaseState, Person, states_where, status_changed
from movements.transitions import TransitionError
from travel import rules
from travel.facts import facts_for, passenger_counts
from travel.legs import check_legs, clock, schedule
from travel.models import (
    Booking, BookingStatus, Departure, DepartureLogEntry, DepartureState, Leg, Mode, Passenger, RuleCode,
    RuleException, TravelExclusion,
)

D = DepartureState
ESCORT_ROLE = "escort"
# A member's exclusion from travel is decided while the case is being prepared (approved, ready or booked).
EXCLUDABLE_STATES = set(states_where("preparing"))

PERM_CREATE = "travel.add_departure"
PERM_MANAGE = "travel.change_departure"
PERM_BOOK = "travel.book_case"
PERM_EXCEPTION = "travel.add_ruleexception"


class TravelError(Exception):
    def __init__(self, code, message, breaches=(), problems=()):
        super().__init__(message)
        self.code = code
        self.message = message
        self.breaches = list(breaches)
        self.problems = list(problems)


def _refused(breaches, intro, *, by):
    """A refusal listing its breaches as `by` may read them: a medical readiness blocker is "medical clearance for
    travel pending" to all but medical staff, in the message, the breaches and the code alike (`rules.shown`)."""
    if by is not None:
        breaches = rules.shown(breaches, access_for(by))
    first = breaches[0]
    return TravelError(first.code, intro + " " + " ".join(_sentence(b.message) for b in breaches), breaches)


def _sentence(text):
    return text if text.endswith(".") else text + "."


def _require(by, perm, message):
    if by is not None and not by.is_superuser and not by.has_perm(perm):
        raise TravelError("forbidden", message)


def _log(departure, action, summary, *, by, via="", reason="", data=None, at=None):
    return DepartureLogEntry.objects.create(
        departure=departure, at=at or timezone.now(), user=by, actor=history.actor_label(by, via), action=action,
        summary=summary, reason=reason, data=data or {},
    )


def _lock(departure, expected_version=None):
    locked = Departure.objects.select_for_update(no_key=True).get(pk=departure.pk)
    if expected_version is not None and locked.version != expected_version:
        raise TravelError("conflict", f"{locked.code} changed while you were looking at it (someone else saved it "
                                      "first). Nothing was changed by you; check it below and try again if needed.")
    return locked


def _bump(departure, *fields):
    departure.version += 1
    departure.save(update_fields=[*fields, "version"])


def _perform(case, name, *, by, via="", reason="", data=None, expected_version=None, readiness_context=None):
    """A case transition that travel owns, its refusal turned into a TravelError with the same code."""
    try:
        return transitions.perform(case, name, by=by, via=via, reason=reason, performer="travel", data=data,
                                   expected_version=expected_version, readiness_context=readiness_context)
    except TransitionError as e:
        breaches = [rules.Breach(b.code, b.message, case_id=case.pk, person_id=b.person_id, blocker=b)
                    for b in e.blockers]
        raise TravelError(e.code, f"Case {case.case_number}: {e.message}", breaches) from None


def _refresh_later(case_ids):
    """Readiness snapshots of these cases, after commit (their travel date or travellers changed)."""
    case_ids = list(case_ids)

    def refresh():
        for case in Case.objects.filter(pk__in=case_ids):
            readiness.refresh_snapshot(case)

    if case_ids:
        transaction.on_commit(refresh)


# --- travellers -------------------------------------------------------------------------------------------------


def open_exclusions(case):
    return TravelExclusion.objects.filter(case=case, lifted_at__isnull=True)


@hooks.case_page_reads.register(key="travel")
def case_page_reads():
    """Whether the case has an active booking or open exclusions, read with the case on its page: most cases have
    neither, and then the page asks no more of travel's tables."""
    return {
        "travel.has_active_booking": Exists(Booking.objects.filter(case_id=OuterRef("pk"),
                                                                   status=BookingStatus.ACTIVE)),
        "travel.has_open_exclusions": Exists(TravelExclusion.objects.filter(case_id=OuterRef("pk"),
                                                                           lifted_at__isnull=True)),
    }


def active_booking(case_id):
    """The case's active booking with its departure, or None; read once per page (`movements.memo`)."""
    if memo.recall(("travel.has_active_booking", case_id)) is False:
        return None
    return memo.once(("travel.active_booking", case_id), lambda: Booking.objects.filter(
        case_id=case_id, status=BookingStatus.ACTIVE).select_related("departure").first())


def open_exclusion_list(case_id):
    """The case's open exclusions, oldest first, with who is excluded and by whom; read once per page."""
    if memo.recall(("travel.has_open_exclusions", case_id)) is False:
        return []
    return memo.once(("travel.open_exclusions", case_id), lambda: list(
        TravelExclusion.objects.filter(case_id=case_id, lifted_at__isnull=True)
        .select_related("person", "excluded_by").order_by("excluded_at", "id")))


def travelling_members(case, *, also=(), without=()):
    """The members who travel: all but those excluded (a split decision), loaded with their travel needs."""
    # A page that only reads: the exclusions it reads once (none, when the case's row said so). The services that
    # change data call this too, never inside such a page, and read afresh.
    if memo.active():
        excluded = {e.person_id for e in open_exclusion_list(case.pk)}
    else:
        excluded = set(open_exclusions(case).values_list("person_id", flat=True))
    excluded -= {p.pk for p in also}
    excluded |= {p.pk for p in without}
    return list(
        Person.objects.filter(case=case).exclude(pk__in=excluded).select_related("medical_needs").order_by("id")
    )


# --- rules, as booking and the pages ask them -----------------------------------------------------------------


def booking_check(departure, case, people, *, joining=None, facts=None, with_readiness=True):
    """Every breach that would refuse booking `people` of `case` on `departure` now (empty: it may be booked).

    The departure's seats, its destination's rules (with the exceptions recorded), the case's own needs
    (an adult per infant, an escort for STCR/UMNR) and readiness on the departure's date. `joining`: those of
    `people` who would take new places (default: all; one member included again on a booked case). Pages call
    it without a lock to show why a departure cannot take a case; the services call it under the departure's lock.
    """
    if facts is None:
        _lock_flights(departure)
        facts = facts_for([departure])[departure.pk]
    travellers = rules.travellers_on(people, departure)
    newcomers = travellers if joining is None else rules.travellers_on(joining, departure)
    found = []
    seats = rules.seats_breach(departure, facts.seats_taken, sum(t.takes_seat for t in newcomers), case)
    if seats:
        found.append(seats)
    found += rules.destination_breaches(departure, facts.legs, facts.rule, facts.exception_rules,
                                        facts.counts.people + len(newcomers), facts.flight_mates)
    found += rules.booking_breaches(departure, case, travellers, facts.escort_count)
    if with_readiness:
        found += rules.readiness_breaches(case, departure, [p.pk for p in people])
    return found


def _lock_flights(departure):
    """In a booking's transaction: wait for any other booking on the same flights (under another departure, whose
    lock this one does not take), so that two departures on one flight cannot each pass the per-flight limit with
    the other's passengers not yet counted. PostgreSQL: a transaction-level advisory lock per flight, taken in
    order after the departure's row lock; SQLite writes one transaction at a time (IMMEDIATE) already."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block or not departure.is_air:
        return
    keys = sorted({key for key in map(rules.flight_key, departure.legs.all()) if key is not None})
    with connection.cursor() as cursor:
        for key in keys:
            lock = int.from_bytes(hashlib.sha256(f"flight:{key!r}".encode()).digest()[:8], "big", signed=True)
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock])


def departure_breaches(departure, facts, bookings, *, with_readiness=True):
    """Every breach of a departure as it stands: what `finalise_departure` refuses.

    `bookings`: active bookings with `travelling` (their passengers' people, loaded with travel needs) set, and
    `travellers` (as `rules.Traveller`s) when the caller has them already.
    """
    found = []
    if departure.is_air and not departure.pnr:
        found.append(rules.Breach("pnr_missing", f"{departure.code} has no group record locator (PNR) yet.",
                                  short="no PNR yet"))
    seats = rules.seats_breach(departure, facts.seats_taken, 0)
    if seats:
        found.append(seats)
    found += rules.destination_breaches(departure, facts.legs, facts.rule, facts.exception_rules,
                                        facts.counts.people, facts.flight_mates)
    for booking in bookings:
        travellers = getattr(booking, "travellers", None)
        if travellers is None:
            travellers = rules.travellers_on(booking.travelling, departure)
        found += rules.booking_breaches(departure, booking.case, travellers, facts.escort_count)
        if with_readiness:
            found += rules.readiness_breaches(booking.case, departure, [p.pk for p in booking.travelling])
    return found


def active_bookings(departure):
    """Active bookings of a departure, each with `travelling`: its passengers' people (travel needs loaded)."""
    bookings = list(Booking.objects.filter(departure=departure, status=BookingStatus.ACTIVE)
                    .select_related("case").order_by("booked_at", "id"))
    people = {}
    for passenger in (Passenger.objects.filter(booking__in=bookings, active=True)
                      .select_related("person__medical_needs").order_by("person_id")):
        people.setdefault(passenger.booking_id, []).append(passenger.person)
    for booking in bookings:
        booking.travelling = people.get(booking.pk, [])
    return bookings


# --- planning a departure -------------------------------------------------------------------------------------


@dataclass
class Planned:
    """What a departure form or a script gives (legs are `legs.LegInput`s with local times)."""

    mode: str
    destination_country: str
    final_destination: str
    legs: list
    seat_block: int | None = None
    pnr: str = ""
    escorts: tuple = ()
    notes: str = ""


def _check_escorts(escorts):
    User = get_user_model()
    ids = [u.pk for u in escorts]
    allowed = set(User.objects.filter(pk__in=ids, groups__name=ESCORT_ROLE, is_active=True)
                  .values_list("pk", flat=True))
    wrong = [u for u in escorts if u.pk not in allowed]
    if wrong:
        names = ", ".join(u.get_full_name() or u.get_username() for u in wrong)
        raise TravelError("not_an_escort", f"{names}: only active users in the escort group escort departures.")


def _raise_problems(problems):
    if problems:
        raise TravelError(problems[0].code, " ".join(_sentence(p.message) for p in problems), problems=problems)


def _clean_fields(mode, seat_block, pnr, legs):
    pnr = (pnr or "").strip().upper()
    if pnr and not (len(pnr) == 6 and pnr.isalnum()):
        raise TravelError("bad_pnr", "A record locator (PNR) is six capital letters or digits, e.g. K7Q2XM.")
    if mode == Mode.ROAD:
        seat_block = sum(leg.seats or 0 for leg in legs)
        pnr = ""
    elif not seat_block or seat_block < 1:
        raise TravelError("bad_seat_block", "Give the seat block: how many seats the airline holds for us.")
    elif seat_block > 1000:
        raise TravelError("bad_seat_block", f"A seat block of {seat_block} is more than any aircraft; check it.")
    return seat_block, pnr


def _new_code(departure_date, final):
    base = f"DEP-{departure_date:%Y%m%d}-{final}"
    taken = set(Departure.objects.filter(code__startswith=base).values_list("code", flat=True))
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _legs_data(legs):
    return [f"{leg.label} {clock(leg.local_departure(), '%Y-%m-%d %H:%M')} → "
            f"{clock(leg.local_arrival(), '%Y-%m-%d %H:%M')}"
            for leg in legs]


def create_departure(plan, *, by, via="", at=None):
    """Plan a departure (state planned) with its legs; returns it. Refuses bad input, saving nothing."""
    _require(by, PERM_CREATE, "Only operations staff plan departures.")
    at = at or timezone.now()
    if plan.mode not in Mode.values:
        raise TravelError("bad_mode", "A departure goes by air or by road.")
    final_destination = (plan.final_destination or "").strip()
    if not final_destination:
        raise TravelError("missing", "Give the final destination (city).")
    legs, problems = check_legs(plan.mode, plan.legs, now=at)
    _raise_problems(problems)
    seat_block, pnr = _clean_fields(plan.mode, plan.seat_block, plan.pnr, legs)
    escorts = list(plan.escorts)
    _check_escorts(escorts)
    departs_at, departure_date, arrives_at, arrival_date = schedule(plan.mode, legs)
    final = legs[-1].destination if plan.mode == Mode.AIR else "ROAD"
    for _attempt in range(5):
        try:
            with transaction.atomic():
                departure = Departure(
                    code=_new_code(departure_date, final), mode=plan.mode, destination_country=plan.destination_country,
                    final_destination=final_destination, pnr=pnr, seat_block=seat_block, notes=plan.notes.strip(),
                    departs_at=departs_at, departure_date=departure_date, arrives_at=arrives_at,
                    arrival_date=arrival_date, created_at=at, created_by=by,
                )
                departure.save()
                for leg in legs:
                    leg.departure = departure
                Leg.objects.bulk_create(legs)
                departure.escorts.set(escorts)
                _log(departure, "created", f"Departure {departure.code} planned ({departure.get_mode_display().lower()}"
                     f", {seat_block} seats).", by=by, via=via, at=at,
                     data={"legs": _legs_data(legs), "seat_block": seat_block, "pnr": pnr or "—",
                           "escorts": [u.get_username() for u in escorts] or "none"})
                return departure
        except IntegrityError:
            continue  # another departure took the same code at the same moment: take the next one
    raise TravelError("conflict", "Could not give the departure a code; try again.")


def update_departure(departure, *, by, expected_version=None, legs=None, escorts=None, via="", at=None, **fields):
    """Change a planned or open departure: its fields, legs (all of them, as given) and escorts. Logged with the
    old and new values. A final departure is reopened first (with a reason)."""
    _require(by, PERM_MANAGE, "Only operations staff change departures.")
    at = at or timezone.now()
    allowed = {"final_destination", "destination_country", "pnr", "seat_block", "notes"}
    unknown = set(fields) - allowed
    if unknown:
        raise TravelError("bad_request", f"A departure has no {', '.join(sorted(unknown))} to change.")
    with transaction.atomic():
        dep = _lock(departure, expected_version)
        if not dep.is_editable:
            raise TravelError("not_editable", f"{dep.code} is {dep.get_state_display().lower()}: "
                              + ("reopen it (with a reason) before changing it." if dep.state == D.FINAL
                                 else "it can no longer be changed."))
        changes = {}
        stored_legs = list(dep.legs.order_by("number"))
        new_legs = None
        if legs is not None:
            stored_keys = [_leg_key(leg) for leg in stored_legs]
            new_legs, problems = check_legs(dep.mode, legs, now=at, unchanged=_unchanged(stored_legs, legs))
            _raise_problems(problems)
            if [_leg_key(leg) for leg in new_legs] != stored_keys:
                changes["legs"] = {"before": _legs_data(stored_legs), "after": _legs_data(new_legs)}
            else:
                new_legs = None
        final_destination = fields.get("final_destination", dep.final_destination).strip()
        if not final_destination:
            raise TravelError("missing", "Give the final destination (city).")
        country = fields.get("destination_country", dep.destination_country)
        has_bookings = Booking.objects.filter(departure=dep, status=BookingStatus.ACTIVE).exists()
        if country != dep.destination_country and has_bookings:
            raise TravelError("bookings_exist", f"{dep.code} has cases booked for "
                              f"{dep.destination_name}: cancel them before changing the country.")
        seat_block, pnr = _clean_fields(dep.mode, fields.get("seat_block", dep.seat_block),
                                        fields.get("pnr", dep.pnr), new_legs or stored_legs)
        before = {"final_destination": dep.final_destination, "destination_country": dep.destination_country,
                  "pnr": dep.pnr, "seat_block": dep.seat_block, "notes": dep.notes}
        after = {"final_destination": final_destination, "destination_country": country, "pnr": pnr,
                 "seat_block": seat_block, "notes": fields.get("notes", dep.notes).strip()}
        for name, old in before.items():
            if after[name] != old:
                changes[name] = f"{old or '—'} → {after[name] or '—'}"
                setattr(dep, name, after[name])
        schedule_changed = False
        if new_legs is not None:
            departs_at, departure_date, arrives_at, arrival_date = schedule(dep.mode, new_legs)
            schedule_changed = (departs_at, arrives_at) != (dep.departs_at, dep.arrives_at)
            dep.departs_at, dep.departure_date, dep.arrives_at, dep.arrival_date = (
                departs_at, departure_date, arrives_at, arrival_date)
        # Seats are counted on the (new) journey's last day: an infant who turns 2 by then takes a seat.
        taken = passenger_counts([dep])[dep.pk].seats
        if dep.seat_block < taken:
            raise TravelError("seat_block_too_small", f"{dep.code} has {taken} passengers in seats: the seat block "
                              f"cannot go below {taken}" + (" (the vehicles' seats add up to "
                                                           f"{dep.seat_block})." if dep.mode == Mode.ROAD else "."))
        if escorts is not None:
            escorts = list(escorts)
            _check_escorts(escorts)
            current = set(dep.escorts.values_list("pk", flat=True))
            if current != {u.pk for u in escorts}:
                changes["escorts"] = ", ".join(history.user_label(u) for u in escorts) or "none"
        if not changes:
            return dep
        if new_legs is not None:
            dep.legs.all().delete()
            for leg in new_legs:
                leg.departure = dep
            Leg.objects.bulk_create(new_legs)
            if has_bookings and dep.is_air:
                _refuse_fuller_flights(dep, stored_legs, by=by)
        if escorts is not None and "escorts" in changes:
            dep.escorts.set(escorts)
        _bump(dep, "final_destination", "destination_country", "pnr", "seat_block", "notes", "departs_at",
              "departure_date", "arrives_at", "arrival_date")
        _log(dep, "changed", f"Departure changed: {', '.join(k.replace('_', ' ') for k in changes)}.", by=by,
             via=via, at=at, data=changes)
        if "legs" in changes and has_bookings:
            # The booked families' rows in UNHCR's status export (departure date, itinerary) changed with the legs.
            status_changed(Booking.objects.filter(departure=dep, status=BookingStatus.ACTIVE)
                           .values_list("case_id", flat=True), at=at)
        if schedule_changed and has_bookings:
            _refresh_later(Booking.objects.filter(departure=dep, status=BookingStatus.ACTIVE)
                           .values_list("case_id", flat=True))
    return dep


def _refuse_fuller_flights(dep, stored_legs, *, by):
    """In `update_departure`'s transaction, the new legs written: a departure with families booked, moved onto a
    flight that other departures to its country fill past the limit, is refused as booking them onto it would be
    (the limit is per flight, DOMAIN.md). Only the flights it moves onto are asked: a breach on a flight it was on
    already is shown on the board and refused when the departure is made final, and must not stop the change that
    mends it."""
    _lock_flights(dep)
    facts = facts_for([dep])[dep.pk]
    if facts.rule is None or facts.rule.max_refugees_per_flight is None \
            or facts.counts.people > facts.rule.max_refugees_per_flight:
        return  # no limit, or over it on its own already (an exception recorded, or the board's to show)
    before = {rules.flight_key(leg) for leg in stored_legs}
    joined = {key: mates for key, mates in facts.flight_mates.items() if key not in before}
    breaches = [b for b in rules.destination_breaches(dep, facts.legs, facts.rule, facts.exception_rules,
                                                      facts.counts.people, joined) if b.code == "max_refugees"]
    if breaches:
        raise _refused(breaches, f"Nothing was changed: {dep.code} cannot move to these flights.", by=by)


def _leg_key(leg):
    return (leg.origin, leg.destination, leg.origin_tz, leg.destination_tz, leg.departs_at, leg.arrives_at,
            leg.carrier, leg.flight_number, leg.vehicle, leg.plate, leg.driver, leg.seats)


def _unchanged(stored_legs, items):
    """Indexes of the given legs that leave when and where the stored leg of that number does (a leg that has
    left already is not refused as "in the past" because another field of the departure changed)."""
    same = set()
    for index, (leg, item) in enumerate(zip(stored_legs, items)):
        if timezone.is_naive(item.departs):
            departs = item.departs.replace(tzinfo=leg.local_departure().tzinfo, fold=item.departs_fold or 0)
        else:
            departs = item.departs
        if (item.origin or "").strip().upper() == leg.origin.upper() and departs == leg.departs_at:
            same.add(index)
    return same


# --- the life of a departure ------------------------------------------------------------------------------------

# A final departure leaves when its boarding closes, and arrives when its arrival is confirmed: travel.boarding.
PAST = {"open": "opened for booking", "finalise": "made final", "reopen": "reopened", "cancel": "cancelled"}


def _move(departure, name, *, expected_version=None):
    """Lock the departure and check that its own transition `name` applies; the caller checks the rest and
    finishes with `_finish_move` inside the same transaction."""
    dep = _lock(departure, expected_version)
    if not can_proceed(getattr(dep, name)):
        raise TravelError("not_allowed", f"{dep.code} is {dep.get_state_display().lower()}: it cannot be {PAST[name]}.")
    return dep


def _finish_move(dep, name, summary, *, by, via, reason, at, data=None):
    getattr(dep, name)()
    _bump(dep, "state")
    _log(dep, {"finalise": "made_final"}.get(name, name), summary, by=by, via=via, reason=reason, at=at,
         data=data)
    return dep


def open_departure(departure, *, by, expected_version=None, via="", at=None):
    _require(by, PERM_MANAGE, "Only operations staff open departures for booking.")
    with transaction.atomic():
        dep = _move(departure, "open", expected_version=expected_version)
        return _finish_move(dep, "open", f"{dep.code} opened for booking.", by=by, via=via, reason="",
                            at=at or timezone.now())


def finalise_departure(departure, *, by, expected_version=None, via="", at=None):
    """Lock the passenger list, once every rule holds for every booked case (readiness for booking on the
    departure's date; the before-boarding checks are for departure day)."""
    _require(by, PERM_MANAGE, "Only operations staff make a departure final.")
    with transaction.atomic():
        dep = _move(departure, "finalise", expected_version=expected_version)
        bookings = active_bookings(dep)
        facts = facts_for([dep])[dep.pk]
        breaches = departure_breaches(dep, facts, bookings)
        if breaches:
            raise _refused(breaches, f"{dep.code} cannot be made final:", by=by)
        people = facts.counts.people
        return _finish_move(dep, "finalise", f"{dep.code} made final: passenger list locked with "
                            f"{people} passenger{'s' if people != 1 else ''} ({facts.counts.describe()}).",
                            by=by, via=via, reason="", at=at or timezone.now(),
                            data={"cases": len(bookings), "passengers": facts.counts.people,
                                  "seats": f"{facts.seats_taken} of {dep.seat_block}"})


def reopen_departure(departure, *, by, reason, expected_version=None, via="", at=None):
    _require(by, PERM_MANAGE, "Only operations staff reopen departures.")
    reason = (reason or "").strip()
    if not reason:
        raise TravelError("reason_required", "Give a reason: a final departure is not reopened without one.")
    with transaction.atomic():
        dep = _move(departure, "reopen", expected_version=expected_version)
        return _finish_move(dep, "reopen", f"{dep.code} reopened: its passenger list may change again.", by=by,
                            via=via, reason=reason, at=at or timezone.now())


def cancel_departure(departure, *, by, reason, expected_version=None, via="", at=None):
    """Cancel a departure that has not left: every booked case returns to ready, with the reason."""
    _require(by, PERM_MANAGE, "Only operations staff cancel departures.")
    reason = (reason or "").strip()
    if not reason:
        raise TravelError("reason_required", "Give a reason: a departure is not cancelled without one.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _move(departure, "cancel", expected_version=expected_version)
        bookings = active_bookings(dep)
        for booking in bookings:
            _cancel(dep, booking, by=by, via=via, at=at, reason=f"Departure {dep.code} cancelled: {reason}",
                    action="unbooked")
        return _finish_move(dep, "cancel", f"{dep.code} cancelled; {len(bookings)} booked case"
                            f"{'s' if len(bookings) != 1 else ''} returned to ready.", by=by, via=via,
                            reason=reason, at=at, data={"cases": [b.case.case_number for b in bookings]})


# --- bookings ---------------------------------------------------------------------------------------------------


def book_case(departure, case, *, by, expected_version=None, via="", at=None):
    """Book a ready case — every member who travels — on an open departure. Returns the booking."""
    _require(by, PERM_BOOK, "Only operations staff book cases on departures.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(departure)
        locked = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
        if expected_version is not None and locked.version != expected_version:
            raise TravelError("conflict", transitions.CONFLICT_MESSAGE)
        current = Booking.objects.filter(case=locked, status=BookingStatus.ACTIVE).select_related("departure").first()
        if current is not None:
            raise TravelError("already_booked", f"Case {locked.case_number} is already booked on "
                              f"{current.departure.code}.")
        if locked.state != CaseState.READY:
            raise TravelError("case_not_ready", f"Case {locked.case_number} is {locked.get_state_display().lower()}: "
                              "only a case that is ready to travel is booked.")
        if dep.state != D.OPEN:
            raise TravelError("departure_not_open", f"{dep.code} is {dep.get_state_display().lower()}: cases are "
                              "booked on departures open for booking.")
        if locked.destination_country != dep.destination_country:
            raise TravelError("wrong_destination", f"{dep.code} goes to {dep.destination_name}; "
                              f"case {locked.case_number} is destined for {locked.get_destination_country_display()}.")
        people = travelling_members(locked)
        if not people:
            raise TravelError("nobody_travels", f"Nobody in case {locked.case_number} travels.")
        breaches = booking_check(dep, locked, people)
        if breaches:
            raise _refused(breaches, f"Case {locked.case_number} cannot be booked on {dep.code}:", by=by)
        booking = Booking.objects.create(departure=dep, case=locked, booked_by=by, booked_at=at)
        Passenger.objects.bulk_create([Passenger(booking=booking, departure=dep, person=p) for p in people])
        counts = rules.travellers_on(people, dep)
        _perform(locked, "book", by=by, via=via,
                 data={"departure": dep.code, "date": dep.departure_date.isoformat(), "travellers": len(people)})
        _log(dep, "booked", f"Case {locked.case_number} booked: {_describe(counts)}.", by=by, via=via, at=at,
             data={"case": locked.case_number, "travellers": [p.full_name for p in people],
                   "seats": sum(t.takes_seat for t in counts)})
    return booking


def _describe(travellers):
    kinds = {kind: sum(1 for t in travellers if t.kind == kind) for kind in (rules.ADULT, rules.CHILD, rules.INFANT)}
    words = {rules.ADULT: ("adult", "adults"), rules.CHILD: ("child", "children"), rules.INFANT: ("infant", "infants")}
    return ", ".join(f"{n} {words[k][n != 1]}" for k, n in kinds.items() if n)


def _cancel(dep, booking, *, by, via, at, reason, action):
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_by, booking.cancelled_at, booking.cancel_reason = by, at, reason
    booking.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason"])
    Passenger.objects.filter(booking=booking, active=True).update(active=False)
    _perform(booking.case, "unbook", by=by, via=via, reason=reason, data={"departure": dep.code})
    _log(dep, action, f"Booking of case {booking.case.case_number} cancelled; the case is ready again.", by=by,
         via=via, reason=reason, at=at, data={"case": booking.case.case_number})


def cancel_booking(booking, *, by, reason, via="", at=None):
    """Take a booked case off an open departure (the case returns to ready), with the reason."""
    _require(by, PERM_BOOK, "Only operations staff cancel bookings.")
    reason = (reason or "").strip()
    if not reason:
        raise TravelError("reason_required", "Give a reason: a booking is not cancelled without one.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(booking.departure)
        booking = Booking.objects.select_for_update(of=("self",), no_key=True).select_related("case").get(pk=booking.pk)
        if not booking.is_active:
            raise TravelError("not_booked", f"Case {booking.case.case_number} is no longer booked on {dep.code}.")
        if dep.state != D.OPEN:
            raise TravelError("departure_locked", f"{dep.code} is {dep.get_state_display().lower()}: its passenger "
                              "list is locked" + (". Reopen it (with a reason) to cancel a booking."
                                                  if dep.state == D.FINAL else "."))
        _cancel(dep, booking, by=by, via=via, at=at, reason=reason, action="unbooked")
    return booking


def lock_departure_first(case, name):
    """`hooks.transition_locks`: a hold or a withdrawal of a booked case will release its seats (below), so it
    locks the departure before the case, as every service here does. Without it, a medical hold racing an escort's
    mark, a booking's cancellation or the closing of boarding ended one of them with a deadlock (a 500 at the gate).
    Read without a lock: a booking made after this look waits for nothing it needs."""
    if name not in ("hold", "withdraw"):
        return
    departure_id = (Booking.objects.filter(case_id=case.pk, status=BookingStatus.ACTIVE)
                    .values_list("departure_id", flat=True).first())
    if departure_id is not None:
        list(Departure.objects.select_for_update(no_key=True).filter(pk=departure_id).values_list("pk", flat=True))


def release_for_transition(event):
    """`hooks.before_transition`: a booked case put on hold or withdrawn gives up its seats in the same
    transaction; the departure's history says so, and the case's log row names the departure.

    The departure is locked before the case (`lock_departure_first`); releasing seats can only make room, so a
    booking counting seats at this moment is never over-sold."""
    if event.name not in ("hold", "withdraw") or event.from_state != CaseState.BOOKED:
        return
    booking = (Booking.objects.select_for_update(of=("self",), no_key=True).select_related("departure")
               .filter(case_id=event.case.pk, status=BookingStatus.ACTIVE).first())
    if booking is None:
        return
    at = timezone.now()
    seats = Passenger.objects.filter(booking=booking, active=True).count()
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_by, booking.cancelled_at = event.by, at
    booking.cancel_reason = f"Case {transitions.SPECS[event.name].past}: {event.reason}"
    booking.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason"])
    Passenger.objects.filter(booking=booking, active=True).update(active=False)
    _log(booking.departure, "released", f"Case {event.case.case_number} {transitions.SPECS[event.name].past} while "
         f"booked: its {seats} place{'s' if seats != 1 else ''} released.", by=event.by, reason=event.reason, at=at,
         data={"case": event.case.case_number, "transition": event.name})
    event.data["released_from"] = booking.departure.code


def resume_target(case):
    """`hooks.resume_targets`: a case held while booked whose booking was released resumes as ready (a case with
    no booking record at all, booked before travel kept them, returns where it was held from)."""
    if case.state != CaseState.ON_HOLD or case.held_from != CaseState.BOOKED:
        return None
    statuses = set(Booking.objects.filter(case_id=case.pk).values_list("status", flat=True))
    if statuses and BookingStatus.ACTIVE not in statuses:
        return CaseState.READY
    return None


# --- members who do not travel (split decisions) -------------------------------------------------------------


def _lock_case_and_booking(case):
    """(locked departure or None, locked case, active booking or None), locks taken departure first."""
    booking = Booking.objects.filter(case=case, status=BookingStatus.ACTIVE).select_related("departure").first()
    dep = _lock(booking.departure) if booking else None
    locked = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
    again = Booking.objects.filter(case=locked, status=BookingStatus.ACTIVE).first()
    if (again.pk if again else None) != (booking.pk if booking else None):
        raise TravelError("conflict", f"Case {locked.case_number} was booked or unbooked while you were looking at "
                          "it. Nothing was changed by you; check the page and try again.")
    if dep is not None and dep.state != D.OPEN:
        raise TravelError("departure_locked", f"Case {locked.case_number} is booked on {dep.code}, which is "
                          f"{dep.get_state_display().lower()}: its passenger list is locked"
                          + (". Reopen it (with a reason) first." if dep.state == D.FINAL else "."))
    return dep, locked, again


def exclude_member(person, *, by, reason, via="", at=None):
    """Leave a member behind (a split decision): they neither count nor are checked for travel. If the case
    is booked, their seat is given up on the departure too."""
    _require(by, PERM_BOOK, "Only operations staff exclude members from travel.")
    reason = (reason or "").strip()
    if not reason:
        raise TravelError("reason_required", f"Give a reason: {person.full_name} is not excluded from travel "
                          "without one.")
    at = at or timezone.now()
    with transaction.atomic():
        dep, case, booking = _lock_case_and_booking(person.case)
        if case.state not in EXCLUDABLE_STATES:
            raise TravelError("not_allowed", f"Case {case.case_number} is {case.get_state_display().lower()}: "
                              "members are excluded from travel while it is approved, ready or booked.")
        if open_exclusions(case).filter(person=person).exists():
            raise TravelError("already_excluded", f"{person.full_name} is already excluded from travel.")
        if not travelling_members(case, without=[person]):
            raise TravelError("nobody_travels", f"{person.full_name} is the last member who travels: withdraw the "
                              "case instead.")
        exclusion = TravelExclusion.objects.create(case=case, person=person, reason=reason, excluded_by=by,
                                                   excluded_at=at)
        status_changed([case.pk], at=at)  # once the case is booked or gone, the member's exported status differs
        history.log_change(case, by=by, via=via, at=at,
                           summary=f"{person.full_name} excluded from travel (split decision).",
                           data={"excluded_from_travel": person.full_name,
                                 **({"departure": dep.code} if dep else {})})
        if booking is not None:
            Passenger.objects.filter(booking=booking, person=person, active=True).update(active=False)
            _log(dep, "member_excluded", f"{person.full_name} (case {case.case_number}) excluded from travel; "
                 "one place released.", by=by, via=via, reason=reason, at=at,
                 data={"case": case.case_number, "person": person.full_name})
        _refresh_later([case.pk])
    return exclusion


def include_member(exclusion, *, by, reason, via="", at=None):
    """Lift an exclusion: the member travels with the case again. On a booked case this is a booking of one
    more traveller, checked like one (seats, rules, readiness on the departure's date)."""
    _require(by, PERM_BOOK, "Only operations staff include members in travel.")
    reason = (reason or "").strip()
    person = exclusion.person
    if not reason:
        raise TravelError("reason_required", f"Give a reason: {person.full_name} is not included again without one.")
    at = at or timezone.now()
    with transaction.atomic():
        dep, case, booking = _lock_case_and_booking(exclusion.case)
        exclusion = TravelExclusion.objects.select_for_update(no_key=True).get(pk=exclusion.pk)
        if exclusion.lifted_at is not None:
            raise TravelError("not_excluded", f"{person.full_name} travels already.")
        if booking is not None:
            people = travelling_members(case, also=[person])
            breaches = booking_check(dep, case, people, joining=[p for p in people if p.pk == person.pk])
            if breaches:
                raise _refused(breaches, f"{person.full_name} cannot join case {case.case_number} on {dep.code}:", by=by)
            Passenger.objects.create(booking=booking, departure=dep, person=person)
            _log(dep, "member_included", f"{person.full_name} (case {case.case_number}) travels again; one place "
                 "taken.", by=by, via=via, reason=reason, at=at,
                 data={"case": case.case_number, "person": person.full_name})
        exclusion.lifted_by, exclusion.lifted_at, exclusion.lift_reason = by, at, reason
        exclusion.save(update_fields=["lifted_by", "lifted_at", "lift_reason"])
        status_changed([case.pk], at=at)
        history.log_change(case, by=by, via=via, at=at, summary=f"{person.full_name} travels with the case again.",
                           data={"included_in_travel": person.full_name})
        _refresh_later([case.pk])
    return exclusion


# --- exceptions to destination rules ----------------------------------------------------------------------------


def record_exception(departure, *, rule, reason, granted_by, reference="", by, via="", at=None):
    """Record that the destination granted an exception to one of its rules for this departure."""
    _require(by, PERM_EXCEPTION, "Only operations staff record exceptions.")
    reason, granted_by, reference = (reason or "").strip(), (granted_by or "").strip(), (reference or "").strip()
    if rule not in RuleCode.values:
        raise TravelError("bad_rule", "Choose the rule the exception lifts.")
    if not reason:
        raise TravelError("reason_required", "Give the reason the exception was granted.")
    if not granted_by:
        raise TravelError("granted_by_required", "Say who granted the exception.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(departure)
        if dep.state not in (D.PLANNED, D.OPEN, D.FINAL):
            raise TravelError("not_allowed", f"{dep.code} is {dep.get_state_display().lower()}: no exception can be "
                              "recorded any more.")
        if dep.rule_exceptions.filter(rule=rule).exists():
            raise TravelError("already_recorded", f"An exception to “{RuleCode(rule).label.lower()}” is already "
                              f"recorded for {dep.code}.")
        exception = RuleException.objects.create(departure=dep, rule=rule, reason=reason, granted_by=granted_by,
                                                 reference=reference, recorded_by=by, recorded_at=at)
        _log(dep, "exception", f"Exception recorded: {RuleCode(rule).label.lower()}, granted by {granted_by}.", by=by,
             via=via, reason=reason, at=at, data={"rule": rule, "granted_by": granted_by, "reference": reference or "—"})
    return exception
