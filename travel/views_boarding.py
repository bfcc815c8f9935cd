"""The day of travel's pages: boarding on a phone (`/departures/<code>/boarding/`, `?case=<case number>` opens it
on one family, as the manifest's QR codes do), closing boarding, arrival, incidents, and the medical staff's
fit-to-travel override from the case page. Operations see every departure, an escort the departures assigned to
them; anyone else gets a 404, as for a departure that does not exist. Every change goes through
`travel.boarding`; a refusal is shown next to the family it concerns."""

import uuid
import zoneinfo
from operator import attrgetter
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from movements import once, reads, transitions
from movements.access import access_for, visible_cases
from movements.case_pages import add_principals
from movements.models import REASON_MAX_LENGTH, Case, HoldCategory, Person, Relationship
from movements.forms import PrintableText
from movements.once import SubmittedOnceMixin
from travel import boarding, boarding_page
from travel.access import get_departure_for_user
from travel.forms import LocalDateTimeField
from travel.pages import keep_panel_typing
from travel.models import (
    BoardingStatus, Booking, BookingStatus, DepartureState, FitToTravelOverride, IncidentKind, Passenger,
    SplitRequest,
)
from travel.services import TravelError

D = DepartureState


def _departure(request, code):
    """The departure if this user records its boarding (operations, its escorts), else 404."""
    departure = get_departure_for_user(request.user, code)
    if not boarding.may_board(request.user, departure):
        raise Http404("No such departure.")
    return departure


def boarding_url(departure, *, case_number="", q="", show="", anchor="", passenger=None):
    params = {k: v for k, v in (("q", q), ("show", show), ("case", case_number)) if v}
    url = reverse("travel_boarding", args=[departure.code])
    fragment = f"#pax-{passenger:d}" if passenger is not None else (f"#case-{anchor}" if anchor else "")
    return url + (f"?{urlencode(params)}" if params else "") + fragment


def _back(request, departure, case_number="", passenger=None):
    """Back to the boarding page as the user had it (search, filter, one family), at the family acted on, or at the
    person just marked (the next one to mark is below it: in a family of nine, going back to the family's top cost
    up to three screens of scrolling per tap)."""
    post = request.POST
    return redirect(boarding_url(departure, q=post.get("q", "")[:100], show=post.get("show", "")[:10],
                                 case_number=post.get("case", "")[:30], anchor=case_number, passenger=passenger))


def _tell(request, level, text, case_number=""):
    messages.add_message(request, level, text, extra_tags=f"case-{case_number}" if case_number else "")


def _refused(request, error, case_number="", tags=""):
    if error.code == "forbidden":
        raise PermissionDenied(error.message)
    messages.error(request, error.message, extra_tags=" ".join(
        t for t in (f"code-{error.code}", f"case-{case_number}" if case_number else "", tags) if t))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _reason(value):
    """A typed reason without NUL bytes (PostgreSQL's text holds none); its length is the service's to judge."""
    return (value or "").replace("\x00", "").strip()


def posted_text(request, name, limit):
    """A posted value as the database can compare it: without NUL bytes (PostgreSQL's text holds none), cut short."""
    return request.POST.get(name, "").replace("\x00", "")[:limit]


NOT_UNDERSTOOD = ("Nothing was recorded: there is no such passenger or mark on this departure (the page may be out of "
                  "date). Reload it and tap again.")


def _split_messages(request, shown_numbers):
    """The queued messages: those about a family shown on the page go with it, the rest at the top."""
    general, per_case = [], {}
    for message in messages.get_messages(request):
        number = next((t[5:] for t in message.extra_tags.split() if t.startswith("case-")), "")
        if number and number in shown_numbers:
            per_case.setdefault(number, []).append(message)
        else:
            general.append(message)
    return general, per_case


def _hold_categories(user):
    if not (user.is_superuser or user.has_perm("movements.hold_case")):
        return []
    return [(value, label) for value, label in HoldCategory.choices
            if transitions.SPECS["hold"].guard(None, user, category=value) is None]


# --- the boarding page ----------------------------------------------------------------------------------------


@login_required
def boarding_view(request, code):
    departure = _departure(request, code)
    access = access_for(request.user)
    q = request.GET.get("q", "")[:100]
    sheet = boarding_page.sheet(departure, access, q=q, case_number=request.GET.get("case", "")[:30],
                                show=request.GET.get("show", ""))
    shown = {f.case.case_number for f in sheet.families}
    # The families shown, and those whose members the offload box names.
    named = shown | {pax.booking.case.case_number for pax in sheet.offload}
    reads.record(reads.Kind.BOARDING, request=request, cases=sorted(named), target=departure.code,
                 detail={key: value[:100] for key, value in request.GET.items() if value})
    general, per_case = _split_messages(request, shown)
    for family in sheet.families:
        family.messages = per_case.get(family.case.case_number, [])
        family.undo_open = {tag[5:] for m in family.messages for tag in m.extra_tags.split() if tag.startswith("undo-")}
    return render(request, "travel/boarding.html", {
        "departure": departure,
        "sheet": sheet,
        "zone": sheet.legs[0].origin_tz if sheet.legs else settings.TIME_ZONE,
        "page_messages": general,
        # One token per drawing of the page: with the passenger and the mark, it names each tap (a double tap or
        # a retried request is recorded once).
        "token": uuid.uuid4().hex,
        "can_approve": boarding.may_approve_split(request.user),
        "hold_categories": _hold_categories(request.user),
        "filters": [("", "All", sheet.total), ("waiting", "Waiting", sheet.waiting),
                    ("boarded", "Boarded", sheet.boarded), ("no_show", "No-show", sheet.no_show)],
    })


@login_required
@require_POST
def boarding_mark(request, code):
    departure = _departure(request, code)
    if request.POST.get("family"):
        return _board_family(request, departure, posted_text(request, "family", 30))
    pid, _, status = request.POST.get("mark", "").partition(":")
    passenger = (Passenger.objects.select_related("booking__case").filter(pk=_int(pid) or 0, departure=departure)
                 .first())
    if passenger is None or status not in BoardingStatus.values:  # an escort at the gate keeps the page
        _refused(request, TravelError("not_understood", NOT_UNDERSTOOD))
        return _back(request, departure)
    number = passenger.booking.case.case_number
    token = posted_text(request, "token", 40)
    try:
        result = boarding.mark(departure, passenger, status, by=request.user,
                               reason=_reason(request.POST.get(f"reason-{passenger.pk}")),
                               request_id=f"{token}:{passenger.pk}:{status}" if token else "")
    except TravelError as e:
        # An undo without its reason: the page opens that passenger's "Undo…" again, to type it.
        _refused(request, e, number, tags=f"undo-{passenger.pk}" if e.code == "reason_required" else "")
    else:
        level = {BoardingStatus.BOARDED: messages.SUCCESS, BoardingStatus.NO_SHOW: messages.WARNING}.get(status,
                                                                                                          messages.INFO)
        _tell(request, level if result.changed else messages.INFO, result.summary, number)
        if result.withdrawn_split is not None:
            _tell(request, messages.WARNING, "The split asked for this family is withdrawn.", number)
        else:
            return _back(request, departure, number, passenger=passenger.pk)
    return _back(request, departure, number)


def _board_family(request, departure, number):
    """"Mark all boarded": each member of the family still waiting, as one tap each would be; who could not board
    stays waiting, with the reason."""
    booking = Booking.objects.filter(departure=departure, case__case_number=number,
                                     status=BookingStatus.ACTIVE).select_related("case").first()
    if booking is None:
        _refused(request, TravelError("not_understood", NOT_UNDERSTOOD))
        return _back(request, departure)
    token = posted_text(request, "token", 40)
    try:
        results = boarding.board_family(departure, booking.case, by=request.user, request_id=token)
    except TravelError as e:
        _refused(request, e, number)
        return _back(request, departure, number)
    boarded = [marked.passenger.person.given_name for marked, error in results if error is None and marked.changed]
    if boarded:
        _tell(request, messages.SUCCESS, f"Boarded: {', '.join(boarded)}.", number)
    for _marked, error in results:
        if error is not None:
            _refused(request, error, number)
    if not results:
        _tell(request, messages.INFO, "Nobody of this family is waiting any more; nothing changed.", number)
    return _back(request, departure, number)


@login_required
@require_POST
def boarding_decide(request, code):
    """A family with a no-show: it stays behind (the default), or travels split (asked, or approved at once by
    operations)."""
    departure = _departure(request, code)
    number = posted_text(request, "case_number", 30)
    booking = Booking.objects.select_related("case").filter(departure=departure, case__case_number=number).first()
    decision = request.POST.get("decision")
    if booking is None:
        _refused(request, TravelError("not_booked", f"Nothing was decided: there is no case “{number}” booked on "
                                                    f"{departure.code} (the page may be out of date). Reload it."))
        return _back(request, departure)
    if decision not in ("stays_behind", "split"):
        _refused(request, TravelError("not_understood", "Nothing was decided: choose whether the family stays behind "
                                                        "or travels split."), booking.case.case_number)
        return _back(request, departure, booking.case.case_number)
    case = booking.case
    try:
        if decision == "stays_behind":
            result = boarding.keep_case_behind(departure, case, by=request.user,
                                               reason=_reason(request.POST.get("note")),
                                               hold_category=request.POST.get("hold_category", ""),
                                               hold_reason=_reason(request.POST.get("hold_reason")))
        else:
            result = boarding.request_split(departure, case, by=request.user,
                                            reason=_reason(request.POST.get("reason")))
    except TravelError as e:
        _refused(request, e, case.case_number)
        return _back(request, departure, case.case_number)
    pending = result.split is not None and result.split.is_pending
    _tell(request, messages.WARNING if pending else messages.SUCCESS if result.changed else messages.INFO,
          result.summary, case.case_number if decision == "split" else "")
    # Who had boarded and comes off is in the summary, and in the page's offload box until boarding closes.
    return _back(request, departure, case.case_number if decision == "split" else "")


@login_required
@require_POST
def boarding_split(request, code, split_id):
    departure = _departure(request, code)
    if not boarding.may_approve_split(request.user):
        raise PermissionDenied("Only operations staff decide a split.")
    split = get_object_or_404(SplitRequest.objects.select_related("case"), pk=split_id, departure=departure)
    decision = request.POST.get("decision")
    if decision not in ("approve", "refuse"):  # never read a missing answer as a refusal
        _refused(request, TravelError("not_understood", "Nothing was decided: choose to approve or to refuse the "
                                                        "split."), split.case.case_number)
        return _back(request, departure, split.case.case_number)
    approve = decision == "approve"
    try:
        result = boarding.decide_split(split, by=request.user, approve=approve,
                                       note=_reason(request.POST.get("note")))
    except TravelError as e:
        _refused(request, e, split.case.case_number)
    else:
        _tell(request, messages.SUCCESS if result.changed else messages.INFO, result.summary, split.case.case_number)
    return _back(request, departure, split.case.case_number)


@login_required
@require_POST
def boarding_close(request, code):
    departure = _departure(request, code)
    seen = _int(request.POST.get("seen"))
    if seen is None:  # what the page last showed of the list's changes: without it, a change could go unseen
        _refused(request, TravelError("not_understood", "Boarding is still open: this page was out of date. Reload it "
                                                        "and close boarding again."))
        return _back(request, departure)
    try:
        closed = boarding.close_boarding(departure, by=request.user, seen_change=seen)
    except TravelError as e:
        _refused(request, e)
        return _back(request, departure)
    if closed.changed:
        messages.success(request, f"Boarding closed: {departure.code} has left with {closed.boarded} passenger"
                                  f"{'s' if closed.boarded != 1 else ''} in {closed.cases} case"
                                  f"{'s' if closed.cases != 1 else ''}.")
    else:
        messages.info(request, f"Boarding of {departure.code} was closed already.")
    return redirect(reverse("travel_arrival", args=[departure.code]))


# --- arrival ------------------------------------------------------------------------------------------------------


class ArrivalForm(forms.Form):
    arrived_at = LocalDateTimeField(required=False)


@login_required
def arrival(request, code):
    departure = _departure(request, code)
    last = boarding.final_leg(departure)
    zone = last.local_arrival().tzinfo if last else zoneinfo.ZoneInfo(settings.TIME_ZONE)
    typed = {}  # a refused confirmation: the page again, with what was typed and ticked, not a blank form
    if request.method == "POST":
        form = ArrivalForm(request.POST)
        numbers = [number.replace("\x00", "")[:30] for number in request.POST.getlist("case_number")]
        if form.is_valid():
            when = form.cleaned_data["arrived_at"]
            arrived_at = when.replace(tzinfo=zone) if when else None
            cases = list(Case.objects.filter(case_number__in=numbers)) if request.POST.get("scope") == "cases" else None
            try:
                if cases is not None and not cases:
                    raise TravelError("nothing_chosen", "Choose the cases whose arrival you confirm.")
                result = boarding.confirm_arrival(departure, by=request.user, cases=cases, arrived_at=arrived_at)
            except TravelError as e:
                _refused(request, e)
            else:
                if result.changed:
                    messages.success(request, f"Arrival confirmed for {len(result.bookings)} case"
                                              f"{'s' if len(result.bookings) != 1 else ''}"
                                              + (f"; {departure.code} has arrived." if result.whole else "."))
                else:
                    messages.info(request, "Their arrival was confirmed already.")
                return redirect(reverse("travel_arrival", args=[departure.code]))
        else:
            messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        typed = {"arrived_at": request.POST.get("arrived_at", "")[:16], "cases": set(numbers)}
    access = access_for(request.user)
    bookings = list(Booking.objects.filter(departure=departure, status=BookingStatus.ACTIVE)
                    .select_related("case", "arrival_confirmed_by").order_by("case__case_number"))
    counts = {}
    principal_travels = set()
    for booking_id, relationship in Passenger.objects.filter(departure=departure, active=True).values_list(
            "booking_id", "person__relationship"):
        counts[booking_id] = counts.get(booking_id, 0) + 1
        if relationship == Relationship.PA:
            principal_travels.add(booking_id)
    # Each family by its principal applicant's name as well as its number: how people at the destination know them
    # (and said when that person stayed behind in a split family, not to be looked for at the arrival).
    add_principals([booking.case for booking in bookings])
    surveillance = []
    for booking in bookings:
        booking.people = counts.get(booking.pk, 0)
        booking.principal_stayed = booking.pk not in principal_travels
        if access.can_see_clearance_details and booking.arrival_date:
            surveillance += [(booking.case, person, due) for person, due in boarding.surveillance_due(booking)]
    if bookings:  # the families, by name (and who reports to public health)
        reads.record(reads.Kind.DEPARTURE, request=request, cases=[booking.case for booking in bookings],
                     target=departure.code, detail={"page": "arrival"})
    for booking in bookings:
        booking.ticked = booking.case.case_number in typed.get("cases", ())
    return render(request, "travel/arrival.html", {
        "departure": departure, "last": last, "bookings": bookings,
        "waiting": [b for b in bookings if b.arrived_at is None], "surveillance": surveillance,
        "surveillance_days": settings.SAFAR_SURVEILLANCE_DAYS,
        "not_yet_due": last is not None and last.arrives_at > timezone.now(),
        "typed_arrived_at": typed.get("arrived_at"),
    }, status=400 if typed else 200)


# --- incidents ----------------------------------------------------------------------------------------------------


class IncidentForm(SubmittedOnceMixin, PrintableText, forms.Form):
    kind = forms.ChoiceField(choices=[("", "— what happened —")] + IncidentKind.choices)
    place = forms.CharField(max_length=100)
    at = LocalDateTimeField(label="When", required=False)
    case_numbers = forms.CharField(label="Cases concerned", max_length=500, required=False)
    people = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, error_messages={
        "invalid_choice": "Tick only members of the case named above (the page may be out of date: reload it)."})
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=REASON_MAX_LENGTH, required=False)

    def __init__(self, *args, family=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["people"].choices = [(str(p.pk), p.full_name) for p in family]


@login_required
def incident(request, code):
    departure = _departure(request, code)
    number = (request.GET.get("case", "") or request.POST.get("case", "")).replace("\x00", "")[:30]
    family = sorted(Person.objects.filter(passages__departure=departure, case__case_number=number).distinct(),
                    key=attrgetter("family_position")) if number else []
    legs = list(departure.legs.order_by("number"))
    form = IncidentForm(request.POST or None, family=family,
                        initial={"place": legs[0].origin if legs else ""})  # nobody ticked: name only who it concerns
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        people = [p for p in family if str(p.pk) in data["people"]]
        numbers = list(dict.fromkeys(n.strip().upper() for n in data["case_numbers"].replace(";", ",").split(",")
                                     if n.strip()))
        if numbers:
            on_it = list(Person.objects.filter(passages__departure=departure, case__case_number__in=numbers)
                         .select_related("case").distinct().order_by("case__case_number", "date_of_birth", "pk"))
            people += on_it
            unknown = [n for n in numbers if n not in {p.case.case_number for p in on_it}]
            if unknown:  # a mistyped number would log the incident against nobody, and reach no case's timeline
                form.add_error("case_numbers", f"Not booked on {departure.code}: {', '.join(unknown)}. Give the full "
                                               "case numbers of families on this departure, separated by commas.")
        at = data["at"].replace(tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)) if data["at"] else None

        def log():
            boarding.record_incident(departure, by=request.user, kind=data["kind"], place=data["place"],
                                     people=people, note=data["note"].replace("\x00", "").strip(), at=at)
            if departure.state == D.FINAL:
                return boarding_url(departure, anchor=number)
            return reverse("departure_detail", args=[departure.code]) + "#incidents"

        try:
            if not form.errors:
                address, first = once.create_once(request, form, log)
        except TravelError as e:
            form.add_error(None, e.message)
        if not form.errors:
            if not first:
                return once.already_made(request, address)
            concerned = list(dict.fromkeys(p.full_name for p in people))
            messages.success(request, f"Incident logged; it concerns {'; '.join(concerned)}." if concerned
                             else "Incident logged for the departure as a whole (no one named).")
            return redirect(address)
    if family:  # the family's members, to tick
        reads.record(reads.Kind.DEPARTURE, request=request, cases=[number], target=departure.code,
                     detail={"page": "incident"})
    return render(request, "travel/incident_form.html", {
        "departure": departure, "form": form, "family": family, "case_number": number,
        "places": boarding.places_of(departure, legs), "time_zone": settings.TIME_ZONE,
    }, status=400 if request.method == "POST" else 200)


# --- fit-to-travel overrides (medical staff, from the case page) ----------------------------------------------


@login_required
@require_POST
def override(request):
    if not (request.user.is_superuser or request.user.has_perm(boarding.PERM_OVERRIDE)):
        raise PermissionDenied("Only medical staff record a fit-to-travel override.")
    person = (Person.objects.select_related("case").filter(pk=_int(request.POST.get("person")) or 0,
                                                           case__in=visible_cases(request.user)).first())
    if person is None:
        messages.error(request, "No override was recorded: that person is not in a case you may see. Reload the case "
                                "page and try again.", extra_tags="code-no_such_person")
        return redirect(reverse("case_list"))
    passenger = (Passenger.objects.filter(person=person, active=True, booking__status=BookingStatus.ACTIVE)
                 .select_related("departure").first())
    if passenger is None:
        messages.error(request, f"No override was recorded: {person.full_name} is not booked on a departure.",
                       extra_tags="code-not_booked")
        return redirect(reverse("case_detail", args=[person.case.case_number]))
    try:
        boarding.record_override(passenger.departure, person, by=request.user,
                                 reason=_reason(request.POST.get("reason")))
    except TravelError as e:
        _refused(request, e)
        keep_panel_typing(request, person.case, f"override:{person.pk}")
    else:
        messages.success(request, f"{person.full_name} may board {passenger.departure.code} without a fit-to-travel "
                                  "check in the window (override recorded).")
    return redirect(reverse("case_detail", args=[person.case.case_number]))


@login_required
@require_POST
def override_revoke(request, override_id):
    found = get_object_or_404(FitToTravelOverride.objects.select_related("person__case", "departure"),
                              pk=override_id, person__case__in=visible_cases(request.user))
    try:
        boarding.revoke_override(found, by=request.user, reason=_reason(request.POST.get("reason")))
    except TravelError as e:
        _refused(request, e)
        keep_panel_typing(request, found.person.case, f"revoke:{found.pk}")
    else:
        messages.success(request, f"Override for {found.person.full_name} withdrawn.")
    return redirect(reverse("case_detail", args=[found.person.case.case_number]))


# --- what the departure's page shows of the day of travel ---------------------------------------------------------


def day_of_travel(departure, user, access):
    """For the departure's page: boarding counts and links, splits waiting for operations, incidents."""
    if departure.state not in (D.FINAL, D.DEPARTED, D.ARRIVED, D.OPEN):
        return {"day": None}
    counts = {s: 0 for s in BoardingStatus.values}
    for status in Passenger.objects.filter(departure=departure, active=True).values_list("boarding", flat=True):
        counts[status] += 1
    pending = list(SplitRequest.objects.filter(departure=departure, status="pending").select_related(
        "case", "requested_by").prefetch_related("staying"))
    return {"day": {
        "may_board": boarding.may_board(user, departure),
        "counts": counts, "total": sum(counts.values()),
        "opens_at": boarding.boarding_opens_at(departure),
        "pending_splits": pending,
        "incidents": boarding_page.incidents(departure),
        "now": timezone.now(),
    }}
