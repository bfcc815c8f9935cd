"""What travel adds to the pages of `movements`: the "Departures" entry, the case page's travel panel (the
departure the case is on, members excluded from travel, and for operations "Book on…" with every open
departure and the reasons one cannot take the case; on the day of travel its arrival, overrides for medical staff
and the surveillance deadline after arrival), and an escort's dashboard card of their departures, each one tap
from its boarding page."""

import datetime
from operator import attrgetter

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from movements import hooks, kept, memo
from movements.compiled import compiled_once
from movements.hooks import NavEntry, Panel
from movements.models import CaseState
from travel import rules, services
from travel.access import (
    can_book, can_manage, can_use_departures, may_see_departure, sees_all_departures, visible_departures,
)
from travel.boarding import CHANGE_ACTIONS, PERM_OVERRIDE, boarding_opens_at, final_leg, surveillance_due
from travel.board import route_of
from travel.facts import facts_for, seats_for
from travel.models import (
    Departure, DepartureLogEntry, DepartureState, FitToTravelOverride, ManifestDownload, Passenger, PrintedDocument,
    SplitStatus, TravelExclusion,
)

# How many open departures the case page offers (the soonest first); the board lists them all.
OFFERED = 8
# The states in which a case page shows its travel panel.
PANEL_STATES = {CaseState.APPROVED, CaseState.READY, CaseState.BOOKED, CaseState.DEPARTED, CaseState.ARRIVED,
                CaseState.ON_HOLD}


@hooks.navigation.register(order=30)
def departures_navigation(request, access):
    if not can_use_departures(request.user):
        return []
    match = getattr(request, "resolver_match", None)
    current = bool(match and ((match.url_name or "").startswith("departure")
                              or (match.url_name or "").startswith("travel_")))
    return [NavEntry("Departures", reverse("departure_board"), current, order=30)]


@hooks.case_panels.register(order=10)
def travel_panel(request, case, access):
    if case.state not in PANEL_STATES:
        return []
    user = request.user
    booking = services.active_booking(case.pk)
    exclusions = services.open_exclusion_list(case.pk)
    may_book = can_book(user)
    departure = booking.departure if booking else None
    context = {
        "case": case, "booking": booking, "departure": departure, "exclusions": exclusions,
        "can_see_departure": departure is not None and may_see_departure(user, departure),
        "can_see_reasons": access.can_see_clearance_details,
        "may_book": may_book,
    }
    if departure is not None:
        seats = seats_for([departure])[departure.pk]  # the panel checks no rule of the departure it is on
        context.update(seats=seats, route=route_of(departure, seats.legs), legs=seats.legs)
        context["may_cancel"] = may_book and departure.state == DepartureState.OPEN and case.state == CaseState.BOOKED
        context.update(_day_of_travel(user, case, booking, access))
    if may_book and case.state in services.EXCLUDABLE_STATES and \
            (departure is None or departure.state == DepartureState.OPEN):
        excluded = {e.person_id for e in exclusions}
        context["may_exclude"] = True
        context["members"] = sorted((p for p in memo.case_members(case) if p.pk not in excluded),
                                    key=attrgetter("family_position"))
    if may_book and case.state == CaseState.READY and booking is None:
        context["offers"], context["more_open"] = _offers(case, access)
    # The exclusion form needs someone to stay behind and someone to travel: a family of one has nothing to show.
    may_split = context.get("may_exclude") and len(context["members"]) > 1
    if not (booking or exclusions or may_split or "offers" in context):
        return []
    _fill_typed(context, kept.take(request, panel_typing(case)))
    return [Panel("travel/case_panel.html", context, title="Travel", order=10)]


def panel_typing(case):
    return f"travel:{case.case_number}"


def keep_panel_typing(request, case, form):
    """A refused form of the case's travel panel: what was typed in it (the reason, the member chosen) waits for the
    case page, which fills that form in again, once (movements.kept). `form` names which of the panel's forms."""
    kept.keep(request, panel_typing(case), {**request.POST.dict(), "form": form}, ["form", "person", "reason"])


def _fill_typed(context, typed):
    """Each reason box of the panel, with what was typed in it when its form was last refused (else empty)."""
    which, reason = typed.get("form"), typed.get("reason", "")
    context["typed_cancel"] = reason if which == "cancel" else ""
    context["typed_exclude"] = typed if which == "exclude" else {}
    for exclusion in context["exclusions"]:
        exclusion.typed_reason = reason if which == f"include:{exclusion.pk}" else ""
    context["override_rows"] = [
        (person, override, reason if which == (f"revoke:{override.pk}" if override else f"override:{person.pk}")
         else "")
        for person, override in context.get("override_rows", [])]
    context["overrides_open"] = bool(which) and which.startswith(("override:", "revoke:"))


def _day_of_travel(user, case, booking, access):
    """The case page's part of the day of travel: its arrival; for medical staff the fit-to-travel overrides they
    may record or withdraw; for roles that see clearance details, who reports to public health after arrival."""
    found = {}
    if booking.arrived_at:
        # Formatted here: the template's date filter would show it in the mission's time zone.
        found["arrived"] = timezone.localtime(booking.arrived_at, _final_zone(booking.departure)).strftime(
            "%a %d %b %Y %H:%M")
        if access.can_see_clearance_details:
            found["surveillance"] = surveillance_due(booking)
            found["surveillance_days"] = settings.SAFAR_SURVEILLANCE_DAYS
    may_override = user.is_superuser or user.has_perm(PERM_OVERRIDE)
    if may_override and case.state == CaseState.BOOKED and booking.departure.state in (
            DepartureState.OPEN, DepartureState.FINAL):
        overrides = {o.person_id: o for o in FitToTravelOverride.objects.filter(
            departure=booking.departure, revoked_at__isnull=True).select_related("recorded_by")}
        travelling = sorted((p.person for p in Passenger.objects.filter(booking=booking, active=True)
                             .select_related("person")),
                            key=attrgetter("family_position"))
        found["override_rows"] = [(person, overrides.get(person.pk)) for person in travelling]
        found["may_override"] = True
    return found


def _final_zone(departure):
    leg = final_leg(departure)
    return leg.local_arrival().tzinfo if leg else None


def _offers(case, access):
    """The open departures to the case's destination, soonest first, each with what stops it taking the case."""
    open_departures = Departure.objects.filter(state=DepartureState.OPEN, destination_country=case.destination_country,
                                               departs_at__gte=timezone.now()).order_by("departs_at", "code")
    departures = list(open_departures[:OFFERED])
    more = open_departures.count() - len(departures) if len(departures) == OFFERED else 0
    facts = facts_for(departures)
    people = services.travelling_members(case)
    offers = []
    for departure in departures:
        f = facts[departure.pk]
        breaches = rules.shown(services.booking_check(departure, case, people, facts=f), access)
        offers.append({"departure": departure, "facts": f, "route": route_of(departure, f.legs),
                       "breaches": breaches})
    return offers, more


@hooks.dashboard_cards.register
def escort_departures(request, access):
    user = request.user
    if "escort" not in access.roles or not can_use_departures(user):
        return []
    today = timezone.localdate()
    # Today's and the coming days', and any that has left without its arrival confirmed yet.
    departures = list(
        visible_departures(user).filter(Q(departure_date__gte=today - datetime.timedelta(days=1))
                                        | Q(state=DepartureState.DEPARTED))
        .exclude(state__in=[DepartureState.CANCELLED, DepartureState.ARRIVED])
        .order_by("departs_at", "code")[:20]
    )
    facts = facts_for(departures)
    now = timezone.now()
    rows = [{"departure": d, "facts": facts[d.pk], "route": route_of(d, facts[d.pk].legs),
             "boarding_open": d.state == DepartureState.FINAL and now >= boarding_opens_at(d)} for d in departures]
    return [Panel("travel/escort_card.html", {"rows": rows, "today": today}, title="Your departures")]


@hooks.dashboard_cards.register(order=5)
def waiting_for_operations(request, access):
    """Operations' first card, when there is something only they can do on a final departure: a split an escort
    asked for at the gate (boarding cannot close until it is decided), or a passenger list that changed after it
    was made final (a medical hold released a family's places, say) and has not been printed since: the escort's
    manifest and the carrier's passenger data are out of date. One query; nothing shown when all is in order."""
    if not can_manage(request.user) or not can_use_departures(request.user):
        return []
    if sees_all_departures(request.user):
        # The same statement for everyone who sees all departures: built and compiled once per process.
        departures = list(compiled_once("travel.waiting_for_operations", lambda: _waiting(Departure.objects.all())))
    else:
        departures = list(_waiting(visible_departures(request.user)))
    if not departures:
        return []
    return [Panel("travel/operations_card.html", {"departures": departures}, title="Waiting for operations")]


def _waiting(departures):
    """Of `departures`, the final ones with a split waiting or a change not printed since (at most 20, soonest first),
    each with `splits_waiting` and `unprinted_change`."""
    last_final = (DepartureLogEntry.objects.filter(departure=OuterRef("departure"), action="made_final")
                  .order_by("-at", "-id").values("at")[:1])
    printed_after = ManifestDownload.objects.filter(departure=OuterRef("departure"), document=PrintedDocument.MANIFEST,
                                                    at__gt=OuterRef("at"))
    return (
        departures.filter(state=DepartureState.FINAL)
        .annotate(
            splits_waiting=Count("split_requests", filter=Q(split_requests__status=SplitStatus.PENDING),
                                 distinct=True),
            unprinted_change=Exists(
                DepartureLogEntry.objects.filter(departure=OuterRef("pk"), action__in=CHANGE_ACTIONS,
                                                 at__gte=Subquery(last_final))
                .exclude(Exists(printed_after))),
        )
        .filter(Q(splits_waiting__gt=0) | Q(unprinted_change=True)).order_by("departs_at", "code")[:20]
    )


@hooks.member_notes.register
def not_travelling(people):
    """Beside a member excluded from travel: they stay behind (the reason is in the travel panel, for operations)."""
    case_ids = {p.case_id for p in people}
    if len(case_ids) == 1:  # the case page: the exclusions its travel panel reads
        ids = {p.pk for p in people}
        excluded = [e for e in services.open_exclusion_list(case_ids.pop()) if e.person_id in ids]
    else:
        excluded = TravelExclusion.objects.filter(person__in=[p.pk for p in people], lifted_at__isnull=True)
    return {e.person_id: [(f"Not travelling (split decision, {timezone.localtime(e.excluded_at):%Y-%m-%d})", "warn")]
            for e in excluded}
