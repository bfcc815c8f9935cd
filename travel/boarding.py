"""The day of travel: boarding marks, no-shows, closing boarding, arrival, incidents and fit-to-travel overrides.

On the day an escort (or an operations officer) marks each passenger boarded or no-show. A family travels
together: a case with a no-show either stays behind as a whole (the default; it is taken off the departure and
is ready again, or on hold) or travels split, which operations approve. Boarding closes once nobody is waiting
and every no-show is decided; then the departure has left and every case on it `depart`s, in one transaction.
Its arrival is confirmed for the whole departure or case by case.

Every service here locks the departure row first (`services._lock`), then what it changes — the case rows are
locked by the transitions — so two escorts marking one family at the same moment, or a mark racing the closing
of boarding, are put in one order and give one outcome. Marks are idempotent: the current mark is compared with
the one asked for under that lock, and a request id already recorded changes nothing; neither writes a log row.
Refusals are coded `TravelError`s. The case transitions travel owns (`unbook`, `depart`, `arrive`) are performed
here on behalf of an escort too: travel checks that they escort this departure (`may_board`), so movements does
not ask for its operations permission (`hooks.transition_owners`, `authorises=`).
"""

import datetime
from dataclasses import dataclass, field
from operator import attrgetter

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from movements import history, medical, readiness, transitions
from movements.access import access_for
from movements.models import REASON_MAX_LENGTH, Case, CaseState, HoldCategory, Person, status_changed
from travel import rules
from travel.models import (
    CHANGE_ACTIONS,
    BoardingLogEntry, BoardingStatus, Booking, BookingStatus, Departure, DepartureLogEntry, DepartureState,
    FitToTravelOverride, Incident, IncidentKind, Leg, Passenger, SplitRequest, SplitStatus, TravelExclusion,
)
from travel.services import (
    PERM_BOOK, TravelError, _bump, _lock, _log, _perform, _refresh_later, _sentence,
)

D = DepartureState
B = BoardingStatus
PERM_BOARD = "travel.board_departure"
PERM_ALL_DEPARTURES = "travel.view_all_departures"
PERM_OVERRIDE = "travel.add_fittotraveloverride"

# What changed a departure's passenger list (travel.models.CHANGE_ACTIONS); listed before boarding closes
# ("re-validated on the day").
MAX_NAMED = 12  # names listed in a refusal before "and N more"


def _name(user):
    return history.user_label(user) if user is not None else "the system"


def _local(moment, zone=None):
    return timezone.localtime(moment, zone) if zone else timezone.localtime(moment)


def _hhmm(moment):
    return _local(moment).strftime("%H:%M")


def _listed(names):
    names = list(names)
    if len(names) > MAX_NAMED:
        return "; ".join(names[:MAX_NAMED]) + f"; and {len(names) - MAX_NAMED} more"
    return "; ".join(names)


def _clean_reason(reason, what):
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX_LENGTH:
        raise TravelError("reason_too_long", f"The {what} has {len(reason):,} characters; keep it to "
                                             f"{REASON_MAX_LENGTH:,} (a few sentences).")
    return reason


# --- who may record the day of travel ---------------------------------------------------------------------------


def may_board(user, departure):
    """Operations on any departure, an escort on the departures assigned to them (None: a system process)."""
    if user is None:
        return True
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not user.has_perm(PERM_BOARD):
        return False
    return user.has_perm(PERM_ALL_DEPARTURES) or departure.escorts.filter(pk=user.pk).exists()


def _require_boarding(by, dep):
    if not may_board(by, dep):
        raise TravelError("forbidden", f"Only operations staff and the escorts of {dep.code} record its boarding "
                                       "and arrival.")


def may_approve_split(user):
    return user is None or user.is_superuser or user.has_perm(PERM_BOOK)


def boarding_opens_at(departure):
    return departure.departs_at - datetime.timedelta(hours=settings.SAFAR_BOARDING_OPENS_HOURS)


def _require_boarding_open(dep, at):
    if dep.state == D.FINAL:
        opens = boarding_opens_at(dep)
        if at < opens:
            raise TravelError("too_early", f"Boarding of {dep.code} opens at {_local(opens):%Y-%m-%d %H:%M} "
                                           f"({settings.SAFAR_BOARDING_OPENS_HOURS} h before it leaves).")
        return
    if dep.state in (D.DEPARTED, D.ARRIVED):
        raise TravelError("boarding_closed", f"Boarding of {dep.code} is closed: the departure has left. "
                                             "Nothing was changed.")
    if dep.state in (D.PLANNED, D.OPEN):
        raise TravelError("not_final", f"{dep.code} is {dep.get_state_display().lower()}: boarding starts once its "
                                       "passenger list is final.")
    raise TravelError("cancelled", f"{dep.code} is cancelled.")


def _first_place(dep):
    """Where boarding happens: the first leg's origin (an airport code, or a place for a convoy)."""
    leg = dep.legs.order_by("departs_at", "number").first()
    return leg.origin if leg else ""


# --- marks -----------------------------------------------------------------------------------------------------


@dataclass
class Marked:
    """What `mark` did: `changed` is False when the mark was already so (or the request already recorded)."""

    passenger: Passenger
    changed: bool
    entry: BoardingLogEntry | None = None
    withdrawn_split: SplitRequest | None = None

    @property
    def summary(self):
        person = self.passenger.person
        name = f"{person.given_name} {person.family_name}"
        status = self.passenger.get_boarding_display().lower()
        if not self.changed:
            return f"{name}: already {status}; nothing changed."
        if self.passenger.boarding == B.WAITING:
            return f"{name}: mark undone, waiting again."
        return f"{name}: {status}."


def _why_not_travelling(pax):
    booking = pax.booking
    if booking.status == BookingStatus.CANCELLED:
        return f"the booking of case {booking.case.case_number} was cancelled at {_hhmm(booking.cancelled_at)}"
    return "they were excluded from travel (split decision)"


def boarding_blockers(case, person_id):
    """What refuses `depart` for this person today (and for the case as a whole), as readiness blockers."""
    every = readiness.evaluate(case, {"depart"})
    return [b for b in readiness.gating(every, "depart") if b.person_id in (person_id, None)]


def mark(departure, passenger, status, *, by, reason="", request_id="", via="", at=None):
    """Mark a passenger boarded or no-show, or undo a mark (`status` waiting, with a reason). Idempotent."""
    if status not in B.values:
        raise TravelError("bad_request", "A passenger is marked boarded or no-show, or waiting again.")
    reason = _clean_reason(reason, "reason")
    request_id = (request_id or "").strip()[:120]
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(departure)
        _require_boarding(by, dep)
        _require_boarding_open(dep, at)
        try:
            pax = (Passenger.objects.select_related("person", "booking__case", "boarding_marked_by")
                   .get(pk=passenger.pk, departure=dep))
        except Passenger.DoesNotExist:
            raise TravelError("not_on_departure", f"This passenger is not booked on {dep.code}.") from None
        person, case = pax.person, pax.booking.case
        if request_id and BoardingLogEntry.objects.filter(departure=dep, request_id=request_id).exists():
            return Marked(pax, changed=False)
        if not pax.active:
            raise TravelError("not_travelling", f"{person.full_name} no longer travels on {dep.code}: "
                                                f"{_why_not_travelling(pax)}.")
        if pax.boarding == status:
            return Marked(pax, changed=False)
        data = {"case": case.case_number}
        withdrawn = None
        if status == B.WAITING:
            if not reason:
                raise TravelError("reason_required", f"Give a reason to undo the mark of {person.full_name} "
                                                     f"({pax.get_boarding_display().lower()}).")
            if pax.boarding == B.NO_SHOW:
                withdrawn = _withdraw_pending_split(dep, case, by=by, at=at,
                                                    why=f"{person.full_name} is no longer a no-show: {reason}")
        elif pax.boarding != B.WAITING:
            who = _name(pax.boarding_marked_by) if pax.boarding_marked_by_id else "someone"
            raise TravelError("already_marked", f"{person.full_name} is already marked "
                                                f"{pax.get_boarding_display().lower()} (at {_hhmm(pax.boarding_marked_at)}"
                                                f" by {who}): undo that mark first, with a reason.")
        elif status == B.BOARDED:
            data.update(_boarding_checks(dep, case, pax, by))
        before = pax.boarding
        pax.boarding, pax.boarding_marked_at, pax.boarding_marked_by = status, at, by
        pax.save(update_fields=["boarding", "boarding_marked_at", "boarding_marked_by"])
        entry = BoardingLogEntry.objects.create(
            departure=dep, passenger=pax, case=case, person=person, at=at, user=by,
            actor=history.actor_label(by, via), from_status=before, to_status=status, reason=reason,
            request_id=request_id, data=data,
        )
    return Marked(pax, changed=True, entry=entry, withdrawn_split=withdrawn)


def board_family(departure, case, *, by, request_id="", via="", at=None):
    """Mark boarded every member of a family still waiting at the gate, as one tap each would (`mark`: its checks,
    its log row, its request id): returns (Marked or None, TravelError or None) per member, in the family's order.
    One who may not board is left waiting, with the refusal; the others board."""
    results = []
    for pax in (Passenger.objects.select_related("person").filter(departure=departure, booking__case=case,
                                                                    active=True, boarding=B.WAITING)
                .order_by("id")):
        try:
            results.append((mark(departure, pax, B.BOARDED, by=by, via=via, at=at,
                                 request_id=f"{request_id}:{pax.pk}:{B.BOARDED}" if request_id else ""), None))
        except TravelError as e:
            if e.code == "forbidden":
                raise
            results.append((Marked(pax, changed=False), e))
    return results


def _boarding_checks(dep, case, pax, by):
    """Refuse boarding a person who may not depart today; else say on what the fit-to-travel check rests."""
    person = pax.person
    if TravelExclusion.objects.filter(person=person, lifted_at__isnull=True).exists():
        raise TravelError("excluded", f"{person.full_name} is excluded from travel (split decision): they do not "
                                      "board.")
    blockers = boarding_blockers(case, person.pk)
    if blockers:
        shown = readiness.redacted(blockers, access_for(by)) if by is not None else blockers
        raise TravelError(
            "blocked",
            f"{person.full_name} cannot board: " + " ".join(_sentence(b.message) for b in shown)
            + " Medical staff record a fit-to-travel check (or an override) before the person boards.",
            [rules.Breach(b.code, b.message, case_id=case.pk, person_id=b.person_id, blocker=b) for b in blockers],
        )
    if not settings.SAFAR_FIT_TO_TRAVEL_REQUIRED:
        return {}
    check = medical.fit_to_travel_check(person, dep.departs_at)
    if check is not None:
        return {"fit_to_travel_checked_at": _local(check.examined_at).strftime("%Y-%m-%d %H:%M")}
    override = (FitToTravelOverride.objects.filter(departure=dep, person=person, revoked_at__isnull=True)
                .select_related("recorded_by").first())
    if override is not None:
        return {"fit_to_travel_override_by": _name(override.recorded_by)}
    return {}


# --- a family with a no-show -----------------------------------------------------------------------------------


@dataclass
class Decided:
    case: Case
    changed: bool
    summary: str = ""
    offloaded: list = field(default_factory=list)  # people who had boarded and come off with their family
    split: SplitRequest | None = None


def _booking_on(dep, case, *, lock=True):
    query = Booking.objects.filter(departure=dep, case=case, status=BookingStatus.ACTIVE).select_related("case")
    if lock:
        query = query.select_for_update(of=("self",), no_key=True)
    return query.first()


def _passengers(booking):
    """The family's passengers, as the manifest and the pages list them (their names in messages follow suit)."""
    return sorted(Passenger.objects.filter(booking=booking, active=True).select_related("person__medical_needs"),
                  key=attrgetter("person.family_position"))


def _seats(dep, passengers):
    """The seats these passengers held on the departure (an infant on a lap holds none)."""
    return sum(t.takes_seat for t in rules.travellers_on([p.person for p in passengers], dep))


def _seats_freed(seats, passengers):
    """"4 seats freed", or "3 seats freed (a lap infant held none)": `seats` of these passengers' (`_seats`)."""
    infants = len(passengers) - seats
    text = f"{seats} seat{'s' if seats != 1 else ''} freed"
    if infants:
        text += f" ({'a lap infant' if infants == 1 else f'{infants} lap infants'} held none)"
    return text


def _stayed_behind_already(dep, case):
    return DepartureLogEntry.objects.filter(departure=dep, action="stays_behind",
                                            data__case=case.case_number).exists()


def keep_case_behind(departure, case, *, by, reason="", hold_category="", hold_reason="", via="", at=None):
    """A family with a no-show does not fly split: take the whole case off the departure (its seats are freed),
    back to ready — or on hold, with the category and reason, for a user who may place that hold. An incident
    is logged for the no-shows, and another for members who had boarded and come off again."""
    reason = _clean_reason(reason, "note")
    hold_reason = _clean_reason(hold_reason, "reason for the hold")
    if hold_category:
        if hold_category not in HoldCategory.values:
            raise TravelError("category_required", "Choose the kind of hold.")
        if not hold_reason:
            raise TravelError("reason_required", "Give the reason for the hold.")
        refusal = transitions.SPECS["hold"].guard(None, by, category=hold_category) if by is not None else None
        if refusal or (by is not None and not by.is_superuser and not by.has_perm("movements.hold_case")):
            raise TravelError("forbidden", refusal or "You may not put a case on hold: the case returns to ready; "
                                                      "operations can put it on hold from its page.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(departure)
        _require_boarding(by, dep)
        _require_boarding_open(dep, at)
        booking = _booking_on(dep, case)
        if booking is None:
            if _stayed_behind_already(dep, case):
                return Decided(case, changed=False, summary=f"Case {case.case_number} already stays behind.")
            raise TravelError("not_booked", f"Case {case.case_number} is not booked on {dep.code}.")
        case = booking.case
        people = _passengers(booking)
        no_shows = [p for p in people if p.boarding == B.NO_SHOW]
        if not no_shows:
            raise TravelError("no_no_show", f"Nobody in case {case.case_number} is marked no-show: mark who did not "
                                            "come first.")
        boarded = [p for p in people if p.boarding == B.BOARDED]
        _withdraw_pending_split(dep, case, by=by, at=at, why="The family stays behind.")
        names = [p.person.full_name for p in no_shows]
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_by, booking.cancelled_at = by, at
        booking.cancel_reason = (f"No-show at boarding ({'; '.join(names)}): the family stays behind"
                                 + (f". {reason}" if reason else "."))
        booking.save(update_fields=["status", "cancelled_by", "cancelled_at", "cancel_reason"])
        Passenger.objects.filter(booking=booking, active=True).update(active=False)
        _perform(case, "unbook", by=by, via=via, reason=booking.cancel_reason,
                 data={"departure": dep.code, "no_show": names})
        if hold_category:
            try:
                transitions.hold(Case.objects.get(pk=case.pk), by=by, reason=hold_reason, category=hold_category,
                                 via=via)
            except transitions.TransitionError as e:
                raise TravelError(e.code, f"Case {case.case_number}: {e.message}") from None
        outcome = "on hold" if hold_category else "ready again"
        seats = _seats(dep, people)
        summary = (f"Case {case.case_number} stays behind (no-show: {'; '.join(names)}): taken off {dep.code}, "
                   f"its {_seats_freed(seats, people)}; the case is {outcome}."
                   + (f" Offload: {'; '.join(p.person.full_name for p in boarded)} had boarded — they and their "
                      "checked luggage come off." if boarded else ""))
        _log(dep, "stays_behind", summary, by=by, via=via, reason=reason, at=at,
             data={"case": case.case_number, "no_show": names, "seats_freed": seats,
                   "boarded_then_offloaded": [p.person.full_name for p in boarded] or "none",
                   "case_now": CaseState.ON_HOLD if hold_category else CaseState.READY})
        place = _first_place(dep)
        _incident(dep, IncidentKind.NO_SHOW, place=place, at=at, by=by, via=via, people=[p.person for p in no_shows],
                  note=reason or "The family stays behind; the case is taken off the departure.")
        if boarded:
            _incident(dep, IncidentKind.OFFLOADED, place=place, at=at, by=by, via=via,
                      people=[p.person for p in boarded],
                      note=f"Boarded, then taken off with their family (no-show: {'; '.join(names)}). "
                           "Their checked luggage comes off too.")
    return Decided(case, changed=True, summary=summary, offloaded=[p.person for p in boarded])


def _withdraw_pending_split(dep, case, *, by, at, why):
    split = (SplitRequest.objects.select_for_update(no_key=True).filter(departure=dep, case=case, status=SplitStatus.PENDING)
             .first())
    if split is None:
        return None
    split.status, split.decided_by, split.decided_at, split.decision_note = SplitStatus.WITHDRAWN, by, at, why
    split.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    _log(dep, "split_withdrawn", f"Request for case {case.case_number} to travel split withdrawn.", by=by,
         reason=why, at=at, data={"case": case.case_number})
    return split


def request_split(departure, case, *, by, reason, via="", at=None):
    """Ask for a family with a no-show to travel without them (a reason is required). An operations officer's
    request is approved at once; an escort's waits for operations before boarding can close."""
    reason = _clean_reason(reason, "reason")
    if not reason:
        raise TravelError("reason_required", "Give a reason: a family travels split only for a reason operations "
                                             "can approve.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(departure)
        _require_boarding(by, dep)
        _require_boarding_open(dep, at)
        booking = _booking_on(dep, case)
        if booking is None:
            raise TravelError("not_booked", f"Case {case.case_number} is not booked on {dep.code}.")
        case = booking.case
        people = _passengers(booking)
        no_shows = [p for p in people if p.boarding == B.NO_SHOW]
        pending = SplitRequest.objects.filter(departure=dep, case=case, status=SplitStatus.PENDING).first()
        if pending is not None:
            if {p.person_id for p in no_shows} == set(pending.staying.values_list("pk", flat=True)):
                return Decided(case, changed=False, split=pending,
                               summary=f"A split of case {case.case_number} is already asked for.")
            raise TravelError("split_pending", f"A split of case {case.case_number} is already asked for; "
                                               "operations decide it first.")
        _check_split(dep, case, people, no_shows)
        split = SplitRequest.objects.create(departure=dep, case=case, reason=reason, requested_by=by,
                                            requested_at=at)
        split.staying.set([p.person for p in no_shows])
        names = [p.person.full_name for p in no_shows]
        _log(dep, "split_requested", f"Case {case.case_number} asks to travel split: {'; '.join(names)} would stay "
             "behind (no-show).", by=by, via=via, reason=reason, at=at,
             data={"case": case.case_number, "staying": names})
        if may_approve_split(by):
            return _approve(dep, split, people, no_shows, by=by, via=via, note="", at=at)
    return Decided(case, changed=True, split=split,
                   summary=f"Split of case {case.case_number} asked for: operations must approve it before boarding "
                           "closes.")


def _check_split(dep, case, people, no_shows):
    if not no_shows:
        raise TravelError("no_no_show", f"Nobody in case {case.case_number} is marked no-show: there is nothing to "
                                        "split.")
    travelling = [p for p in people if p.boarding != B.NO_SHOW]
    if not travelling:
        raise TravelError("nobody_travels", f"Everyone in case {case.case_number} is a no-show: the family stays "
                                            "behind.")
    travellers = rules.travellers_on([p.person for p in travelling], dep)
    breaches = rules.booking_breaches(dep, case, travellers, dep.escorts.count())
    if breaches:
        raise TravelError(breaches[0].code, f"Case {case.case_number} cannot travel without "
                          f"{'; '.join(p.person.full_name for p in no_shows)}: "
                          + " ".join(_sentence(b.message) for b in breaches) + " The family stays behind.", breaches)


def decide_split(split, *, by, approve, note="", via="", at=None):
    """Operations approve (or refuse, saying why) a split an escort asked for. Approved: the no-shows are
    excluded from travel, their seats freed, and the rest of the family boards."""
    if not may_approve_split(by):
        raise TravelError("forbidden", "Only operations staff approve or refuse a split.")
    note = _clean_reason(note, "note")
    if not approve and not note:
        raise TravelError("reason_required", "Say why the split is refused: the escort reads it at the gate.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(split.departure)
        _require_boarding(by, dep)
        _require_boarding_open(dep, at)
        split = SplitRequest.objects.select_for_update(no_key=True).select_related("case").get(pk=split.pk)
        case = split.case
        if split.status != SplitStatus.PENDING:
            done = split.status == (SplitStatus.APPROVED if approve else SplitStatus.REFUSED)
            if done:
                return Decided(case, changed=False, split=split,
                               summary=f"The split of case {case.case_number} is already {split.status}.")
            raise TravelError("not_pending", f"The split of case {case.case_number} is "
                                             f"{split.get_status_display().lower()} already.")
        if not approve:
            split.status, split.decided_by, split.decided_at, split.decision_note = (
                SplitStatus.REFUSED, by, at, note)
            split.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
            _log(dep, "split_refused", f"Split of case {case.case_number} refused: the family stays behind unless "
                 "the no-shows come.", by=by, via=via, reason=note, at=at, data={"case": case.case_number})
            return Decided(case, changed=True, split=split,
                           summary=f"Split of case {case.case_number} refused.")
        booking = _booking_on(dep, case)
        if booking is None:
            raise TravelError("not_booked", f"Case {case.case_number} is no longer booked on {dep.code}.")
        people = _passengers(booking)
        no_shows = [p for p in people if p.boarding == B.NO_SHOW]
        if {p.person_id for p in no_shows} != set(split.staying.values_list("pk", flat=True)):
            raise TravelError("no_shows_changed", f"The no-shows of case {case.case_number} changed since the split "
                                                  "was asked for: ask again.")
        return _approve(dep, split, people, no_shows, by=by, via=via, note=note, at=at)


def _approve(dep, split, people, no_shows, *, by, via, note, at):
    case = split.case
    _check_split(dep, case, people, no_shows)
    names = [p.person.full_name for p in no_shows]
    exclusion_reason = (f"No-show at boarding on {dep.code}; the family travels split (asked by "
                        f"{_name(split.requested_by)}, approved by {_name(by)}): {split.reason}")
    TravelExclusion.objects.bulk_create([
        TravelExclusion(case=case, person=p.person, reason=exclusion_reason, excluded_by=by, excluded_at=at)
        for p in no_shows])
    Passenger.objects.filter(pk__in=[p.pk for p in no_shows]).update(active=False)
    status_changed([case.pk], at=at)  # those who stay behind show their own status in UNHCR's export
    split.status, split.decided_by, split.decided_at, split.decision_note = SplitStatus.APPROVED, by, at, note
    split.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    history.log_change(case, by=by, via=via, at=at,
                       summary=f"Travels split on {dep.code}: {'; '.join(names)} stay{'s' if len(names) == 1 else ''} "
                               f"behind (no-show at boarding); approved by {_name(by)}.",
                       data={"departure": dep.code, "excluded_from_travel": names,
                             "asked_by": _name(split.requested_by), "approved_by": _name(by)})
    seats = _seats(dep, no_shows)
    summary = (f"Case {case.case_number} travels split: {'; '.join(names)} stay{'s' if len(names) == 1 else ''} behind "
               f"(no-show), {_seats_freed(seats, no_shows)}.")
    _log(dep, "split", summary, by=by, via=via, reason=split.reason, at=at,
         data={"case": case.case_number, "staying": names, "asked_by": _name(split.requested_by),
               "approved_by": _name(by), "seats_freed": seats})
    _incident(dep, IncidentKind.NO_SHOW, place=_first_place(dep), at=at, by=by, via=via,
              people=[p.person for p in no_shows], note=f"The family travels split: {split.reason}")
    _refresh_later([case.pk])
    return Decided(case, changed=True, split=split, summary=summary)


# --- closing boarding -------------------------------------------------------------------------------------------


def final_since(departure):
    """When the passenger list was last made final (None if it never was)."""
    entry = (DepartureLogEntry.objects.filter(departure=departure, action="made_final").order_by("-at", "-id")
             .only("at").first())
    return entry.at if entry else None


def changes_since_final(departure):
    """What changed the passenger list since it was made final, oldest first (the departure's history rows)."""
    since = final_since(departure)
    if since is None:
        return []
    return list(DepartureLogEntry.objects.filter(departure=departure, action__in=CHANGE_ACTIONS, at__gte=since)
                .select_related("user").order_by("at", "id"))


@dataclass
class Closed:
    departure: Departure
    changed: bool
    cases: int = 0
    boarded: int = 0


def close_boarding(departure, *, by, seen_change=None, via="", at=None):
    """Boarding is over: the departure has left and every case on it `depart`s, in one transaction (all or none).

    Refused while a passenger is still waiting, while a family with a no-show is undecided, or when the
    passenger list changed since the person closing looked at it (`seen_change`: the id of the last change they
    were shown, 0 for none)."""
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(departure)
        _require_boarding(by, dep)
        if dep.state in (D.DEPARTED, D.ARRIVED):
            return Closed(dep, changed=False)
        _require_boarding_open(dep, at)
        bookings = list(Booking.objects.filter(departure=dep, status=BookingStatus.ACTIVE).select_related("case")
                        .order_by("case__case_number"))
        passengers = list(Passenger.objects.filter(departure=dep, active=True)
                          .select_related("person", "booking__case").order_by("booking__case__case_number", "id"))
        waiting = [p for p in passengers if p.boarding == B.WAITING]
        if waiting:
            raise TravelError(
                "passengers_waiting",
                f"Boarding of {dep.code} cannot close: {len(waiting)} passenger{'s are' if len(waiting) != 1 else ' is'}"
                " still waiting — "
                + _listed(f"{p.person.full_name} ({p.booking.case.case_number})" for p in waiting)
                + ". Mark each boarded or no-show first.",
            )
        undecided = {}
        for p in passengers:
            if p.boarding == B.NO_SHOW:
                undecided.setdefault(p.booking.case.case_number, []).append(p.person.full_name)
        if undecided:
            pending = set(SplitRequest.objects.filter(departure=dep, status=SplitStatus.PENDING)
                          .values_list("case__case_number", flat=True))
            raise TravelError(
                "decision_pending",
                f"Boarding of {dep.code} cannot close: decide for each family with a no-show whether it stays behind "
                "or travels split — "
                + "; ".join(f"case {number} ({', '.join(names)}"
                            + ("; split waiting for operations' approval)" if number in pending else ")")
                            for number, names in undecided.items()) + ".",
            )
        changes = changes_since_final(dep)
        if seen_change is not None and changes and changes[-1].pk > seen_change:
            unseen = [c for c in changes if c.pk > seen_change]
            raise TravelError("changed_since_seen", f"The passenger list of {dep.code} changed while you were looking:"
                              f" {' '.join(_sentence(c.summary) for c in unseen)} Check the list, then close again.")
        boarded = {}
        for p in passengers:
            boarded.setdefault(p.booking_id, []).append(p.person_id)
        # Every case's readiness is checked again as it departs; what that reads is loaded for all of them at once.
        contexts = readiness.contexts_for(
            [b.case for b in bookings],
            {b.case_id: rules.plan_for(dep, boarded.get(b.pk, [])) for b in bookings})
        refusals = []
        for booking in bookings:
            try:
                _perform(booking.case, "depart", by=by, via=via, readiness_context=contexts[booking.case_id],
                         data={"departure": dep.code, "date": dep.departure_date.isoformat(),
                               "boarded": len(boarded.get(booking.pk, []))})
            except TravelError as e:
                refusals.append(e)
        if refusals:
            # Readiness blockers as this user may read them: an escort reads "medical clearance for travel pending",
            # never the pregnancy or the hold behind it (as when marking one person, `_boarding_checks`).
            access = access_for(by) if by is not None else None
            for e in refusals:
                e.breaches = rules.shown(e.breaches, access) if access is not None else e.breaches
            raise TravelError(
                refusals[0].code,
                f"Boarding of {dep.code} cannot close: {len(refusals)} of {len(bookings)} cases may not depart. "
                + " ".join(_sentence(e.message) + (" " + "; ".join(b.message for b in e.breaches) if e.breaches else "")
                           for e in refusals),
                [b for e in refusals for b in e.breaches],
            )
        dep.depart()
        _bump(dep, "state")
        stayed = [c.data.get("case") for c in changes if c.action == "stays_behind"]
        _log(dep, "depart", f"Boarding closed: {dep.code} left with {len(passengers)} passenger"
             f"{'s' if len(passengers) != 1 else ''} in {len(bookings)} case{'s' if len(bookings) != 1 else ''}.",
             by=by, via=via, at=at,
             data={"cases": len(bookings), "boarded": len(passengers), "stayed_behind": stayed or "none"})
    return Closed(dep, changed=True, cases=len(bookings), boarded=len(passengers))


# --- arrival ----------------------------------------------------------------------------------------------------


def final_leg(departure, legs=None):
    legs = list(legs if legs is not None else Leg.objects.filter(departure=departure).order_by("number"))
    if not legs:
        return None
    return legs[-1] if departure.is_air else max(legs, key=lambda leg: leg.arrives_at)


@dataclass
class Arrived:
    departure: Departure
    bookings: list
    changed: bool
    whole: bool = False  # the departure itself is now arrived


def confirm_arrival(departure, *, by, cases=None, arrived_at=None, via="", at=None):
    """Confirm that the departure's families reached the final destination: all of them (`cases` None), or the
    cases given (a departure that splits at the destination). Each case `arrive`s with the local arrival time of
    the final leg, or `arrived_at` when it came at another time; once every case has arrived, so has the
    departure."""
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(departure)
        _require_boarding(by, dep)
        if cases is not None:
            known = set(Booking.objects.filter(departure=dep, status=BookingStatus.ACTIVE)
                        .values_list("case_id", flat=True))
            strangers = {c.pk for c in cases} - known
            if strangers:
                raise TravelError("not_on_departure", f"{len(strangers)} of those cases did not travel on {dep.code}.")
        if dep.state == D.ARRIVED:
            return Arrived(dep, [], changed=False, whole=True)
        if dep.state != D.DEPARTED:
            raise TravelError("not_departed", f"{dep.code} is {dep.get_state_display().lower()}: an arrival is "
                                              "confirmed once boarding has closed.")
        last = final_leg(dep)
        zone = last.local_arrival().tzinfo
        moment = arrived_at or last.arrives_at
        if arrived_at is None and last.arrives_at > at:
            raise TravelError("too_early", f"{dep.code} is due in {dep.final_destination} at "
                              f"{last.local_arrival():%Y-%m-%d %H:%M} local time: confirm its arrival once it has "
                              "arrived, or give the time it arrived.")
        if arrived_at is not None and not (dep.departs_at < arrived_at <= at + datetime.timedelta(minutes=5)):
            raise TravelError("bad_time", "The arrival time must be after the departure left and not in the future.")
        waiting = list(Booking.objects.select_for_update(of=("self",), no_key=True).filter(
            departure=dep, status=BookingStatus.ACTIVE, arrived_at__isnull=True).select_related("case")
            .order_by("case__case_number"))
        chosen = waiting
        if cases is not None:
            wanted = {c.pk for c in cases}
            chosen = [b for b in waiting if b.case_id in wanted]
            if not chosen:
                return Arrived(dep, [], changed=False)
        local = timezone.localtime(moment, zone)
        for booking in chosen:
            _perform(booking.case, "arrive", by=by, via=via,
                     data={"departure": dep.code, "date": local.date().isoformat(),
                           "arrived": f"{local:%Y-%m-%d %H:%M} {local.tzname()} in {dep.final_destination}"})
            booking.arrived_at, booking.arrival_date, booking.arrival_confirmed_by = moment, local.date(), by
            booking.save(update_fields=["arrived_at", "arrival_date", "arrival_confirmed_by"])
        numbers = [b.case.case_number for b in chosen]
        whole = len(chosen) == len(waiting)
        if whole:
            dep.arrive()
            _bump(dep, "state")
            _log(dep, "arrive", f"{dep.code} arrived in {dep.final_destination} at {local:%Y-%m-%d %H:%M} local time"
                 f"{'' if cases is None else ' (the last of its cases)'}: {len(chosen)} case"
                 f"{'s' if len(chosen) != 1 else ''} confirmed.", by=by, via=via, at=at,
                 data={"cases": numbers, "arrived": f"{local:%Y-%m-%d %H:%M} {local.tzname()}"})
        else:
            _log(dep, "case_arrived", f"Arrival confirmed for {', '.join(numbers)} in {dep.final_destination} at "
                 f"{local:%Y-%m-%d %H:%M} local time; {len(waiting) - len(chosen)} case"
                 f"{'s' if len(waiting) - len(chosen) != 1 else ''} still to confirm.", by=by, via=via, at=at,
                 data={"cases": numbers, "arrived": f"{local:%Y-%m-%d %H:%M} {local.tzname()}"})
    return Arrived(dep, chosen, changed=True, whole=whole)


def surveillance_due(booking):
    """For an arrived case: [(person, due date)] for members under medical surveillance (report to public health
    within SAFAR_SURVEILLANCE_DAYS of arrival). Medical facts: show them only to roles that see clearance details."""
    if booking is None or booking.arrival_date is None:
        return []
    people = [p.person for p in Passenger.objects.filter(booking=booking, active=True).select_related("person")]
    statuses = medical.statuses_for(people)
    due = booking.arrival_date + datetime.timedelta(days=settings.SAFAR_SURVEILLANCE_DAYS)
    return [(p, due) for p in people if statuses[p.pk].surveillance]


# --- incidents --------------------------------------------------------------------------------------------------


def places_of(departure, legs):
    """Where an incident can happen on this departure: its airports, or its vehicles and places."""
    found = []
    for leg in legs:
        if departure.is_air:
            candidates = [leg.origin, leg.destination, f"On board {leg.flight}"]
        else:
            candidates = [leg.origin, leg.destination, " ".join(p for p in (leg.vehicle, leg.plate) if p)]
        for place in candidates:
            if place and place not in found:
                found.append(place)
    return found


def _incident(dep, kind, *, place, at, by, via="", people=(), note=""):
    incident = Incident.objects.create(departure=dep, kind=kind, at=at, place=place[:100], note=note,
                                       reported_by=by, actor=history.actor_label(by, via))
    people = list(people)
    if people:
        incident.people.set(people)
    by_case = {}
    for person in people:
        by_case.setdefault(person.case_id, []).append(person.full_name)
    for case in Case.objects.filter(pk__in=by_case):
        history.log_change(case, by=by, via=via, at=at, summary=case_timeline_summary(incident, by_case[case.pk]),
                           data={"incident": kind, "departure": dep.code, "place": incident.place,
                                 "people": by_case[case.pk]})
    return incident


def case_timeline_summary(incident, names):
    """How a case's timeline tells the incident: every role that sees the case reads it, UNHCR included, so a
    medical event is not named there (the escorts and operations read it on the departure's page)."""
    when = _local(incident.at).strftime("%Y-%m-%d %H:%M")
    what = ("an incident (details with operations and the escort)" if incident.kind == IncidentKind.MEDICAL
            else incident.get_kind_display().lower())
    return f"Incident on {incident.departure.code}: {what} at {incident.place}, {when} — {'; '.join(names)}."


def record_incident(departure, *, by, kind, place, people=(), note="", at=None, via=""):
    """Log what happened on the way (a no-show, an offload, a medical event, a missed connection): when, where,
    who reported it and the people concerned, who must be passengers of this departure."""
    if kind not in IncidentKind.values:
        raise TravelError("bad_kind", "Choose what happened.")
    place = (place or "").strip()
    if not place:
        raise TravelError("place_required", "Say where it happened: an airport or a vehicle.")
    if len(place) > 100:
        raise TravelError("place_too_long", "Name the place in a few words (an airport code or a vehicle).")
    note = _clean_reason(note, "note")
    now = timezone.now()
    at = at or now
    if at > now + datetime.timedelta(minutes=5):
        raise TravelError("bad_time", "An incident is logged once it has happened: the time is in the future.")
    with transaction.atomic():
        dep = _lock(departure)
        _require_boarding(by, dep)
        if dep.state not in (D.FINAL, D.DEPARTED, D.ARRIVED):
            raise TravelError("not_travelling", f"{dep.code} is {dep.get_state_display().lower()}: incidents are "
                                                "logged from boarding day on.")
        ids = {p.pk for p in people}
        on_board = set(Passenger.objects.filter(departure=dep, person_id__in=ids).values_list("person_id", flat=True))
        if ids - on_board:
            raise TravelError("not_on_departure", "Only passengers of this departure can be named in its incidents.")
        people = list(Person.objects.filter(pk__in=ids).order_by("family_name", "given_name"))
        incident = _incident(dep, kind, place=place, at=at, by=by, via=via, people=people, note=note)
    return incident


# --- fit-to-travel overrides -------------------------------------------------------------------------------------


def record_override(departure, person, *, by, reason, via="", at=None):
    """Medical staff let a traveller board this departure without a passing fit-to-travel check in the window,
    saying why (read by medical staff only)."""
    if by is not None and not by.is_superuser and not by.has_perm(PERM_OVERRIDE):
        raise TravelError("forbidden", "Only medical staff record a fit-to-travel override.")
    reason = _clean_reason(reason, "reason")
    if not reason:
        raise TravelError("reason_required", f"Give the medical reason {person.full_name} may board without a "
                                             "fit-to-travel check in the window.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(departure)
        if dep.state not in (D.OPEN, D.FINAL):
            raise TravelError("not_allowed", f"{dep.code} is {dep.get_state_display().lower()}: an override is "
                                             "recorded before boarding closes.")
        if not Passenger.objects.filter(departure=dep, person=person, active=True).exists():
            raise TravelError("not_on_departure", f"{person.full_name} does not travel on {dep.code}.")
        existing = FitToTravelOverride.objects.filter(departure=dep, person=person, revoked_at__isnull=True).first()
        if existing is not None:
            return existing
        override = FitToTravelOverride.objects.create(departure=dep, person=person, reason=reason, recorded_by=by,
                                                      recorded_at=at)
        history.log_change(person.case, by=by, via=via, at=at,
                           summary=f"Medical staff cleared {person.full_name} for boarding {dep.code} without a "
                                   "fit-to-travel check in the window.",
                           # UNHCR reads the timeline too, and another member's own record: no medical fact there.
                           summary_for_all=f"{person.full_name} cleared for boarding {dep.code} (details with "
                                           "medical staff).",
                           data={"departure": dep.code, "person": person.full_name})
        _log(dep, "fit_to_travel_override", f"Medical staff cleared {person.full_name} for boarding (fit-to-travel "
             "override).", by=by, via=via, at=at, data={"person": person.full_name})
        _refresh_later([person.case_id])
    return override


def revoke_override(override, *, by, reason, via="", at=None):
    if by is not None and not by.is_superuser and not by.has_perm("travel.change_fittotraveloverride"):
        raise TravelError("forbidden", "Only medical staff withdraw a fit-to-travel override.")
    reason = _clean_reason(reason, "reason")
    if not reason:
        raise TravelError("reason_required", "Give the reason the override is withdrawn.")
    at = at or timezone.now()
    with transaction.atomic():
        dep = _lock(override.departure)
        override = FitToTravelOverride.objects.select_for_update(no_key=True).select_related("person").get(pk=override.pk)
        if override.revoked_at is not None:
            return override
        if dep.state not in (D.OPEN, D.FINAL):
            raise TravelError("not_allowed", f"{dep.code} has left: the override stays on record.")
        override.revoked_by, override.revoked_at, override.revoke_reason = by, at, reason
        override.save(update_fields=["revoked_by", "revoked_at", "revoke_reason"])
        person = override.person
        history.log_change(person.case, by=by, via=via, at=at,
                           summary=f"Medical clearance of {person.full_name} for boarding {dep.code} withdrawn: a "
                                   "fit-to-travel check is needed again.",
                           summary_for_all=f"Boarding clearance of {person.full_name} for {dep.code} withdrawn "
                                           "(details with medical staff).",
                           data={"departure": dep.code, "person": person.full_name})
        _log(dep, "override_withdrawn", f"Fit-to-travel override of {person.full_name} withdrawn.",
             by=by, via=via, at=at, data={"person": person.full_name})
        _refresh_later([person.case_id])
    return override


def overridden_people(ctx):
    """`hooks.fit_to_travel_overrides`: the case's travellers with an open override on the departure it is
    booked on."""
    ids = [p.pk for p in ctx.travelling_members]
    if "travel_overrides" in ctx.extra:
        return [pk for pk in ids if pk in ctx.extra["travel_overrides"]]
    if not ids or ctx.case.pk is None:
        return []
    return list(FitToTravelOverride.objects.filter(
        person_id__in=ids, revoked_at__isnull=True, departure__bookings__case_id=ctx.case.pk,
        departure__bookings__status=BookingStatus.ACTIVE,
    ).values_list("person_id", flat=True).distinct())


def preload_overrides(contexts):
    """`hooks.readiness_preload`: the open overrides of every traveller of these cases, in one query."""
    cases = [ctx.case.pk for ctx in contexts if ctx.case.pk is not None]
    # One filter call, so that the booking is one join: active, and of the overridden person's own case.
    found = set(FitToTravelOverride.objects.filter(
        revoked_at__isnull=True, person__case_id__in=cases, departure__bookings__status=BookingStatus.ACTIVE,
        departure__bookings__case_id=F("person__case_id"),
    ).values_list("person_id", flat=True))
    for ctx in contexts:
        ctx.extra["travel_overrides"] = found
