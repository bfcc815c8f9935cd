from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from movements import kept, once, reads
from movements.access import access_for, visible_cases
from movements.forms import why_refused
from movements.models import Person
from travel import services
from travel.access import (
    can_book, can_manage, can_plan, can_record_exceptions, get_departure_for_user, require_departures,
    visible_departures,
)
from travel.board import board_rows, departure_page
from travel.views_boarding import day_of_travel, posted_text
from travel.forms import (
    BoardFilterForm, DepartureForm, ExceptionForm, NewDepartureForm, ReasonForm, leg_formset, leg_initial,
)
from travel.manifest_views import manifest_panel
from travel.pages import keep_panel_typing
from travel.models import UPCOMING_STATES, Booking, DepartureState, Mode, TravelExclusion
from travel.services import Planned, TravelError


def departure_url(departure):
    return reverse("departure_detail", args=[departure.code])


def _case_url(case):
    return reverse("case_detail", args=[case.case_number])


def _refusal(request, error):
    if error.code == "forbidden":
        raise PermissionDenied(error.message)
    messages.error(request, error.message, extra_tags=f"code-{error.code}")


OUT_OF_DATE = "Nothing was changed: this page was out of date. Reload it and try again."


def _reason_refused(request, form):
    """The reason form's verdict: False when valid, else its message (what is wrong with the reason) is queued."""
    if form.is_valid():
        return False
    messages.error(request, "Nothing was changed: " + why_refused(form, "reason", "the reason"),
                   extra_tags="code-bad_reason")
    return True


def _with_reason(request, act, done):
    """A small form that gives a reason: `act(reason)` once the reason is valid. True when it was done (the message
    `done` queued); False when refused, the reason's fault or the service's told in a message."""
    form = ReasonForm(request.POST)
    if _reason_refused(request, form):
        return False
    try:
        act(form.cleaned_data.get("reason", ""))
    except TravelError as e:
        _refusal(request, e)
        return False
    messages.success(request, done)
    return True


# --- the board ------------------------------------------------------------------------------------------------


@login_required
def board(request):
    require_departures(request.user)
    form = BoardFilterForm(request.GET or None)
    departures = visible_departures(request.user)
    state, month = "upcoming", None
    if form.is_bound and form.is_valid():
        state = form.cleaned_data["state"] or "upcoming"
        month = form.cleaned_data["month"]
    if state == "upcoming":
        departures = departures.filter(state__in=UPCOMING_STATES)
    elif state != "all":
        departures = departures.filter(state=state)
    if month:
        departures = departures.filter(departure_date__year=month.year, departure_date__month=month.month)
    paginator = Paginator(departures.order_by("departure_date", "departs_at", "code").values_list("pk", flat=True),
                          settings.SAFAR_DEPARTURES_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = board_rows(list(page.object_list))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "travel/board.html", {
        "form": form, "page": page, "query": query.urlencode(), "total": paginator.count,
        "can_plan": can_plan(request.user), "state": state,
    })


def _access(request):
    return access_for(request.user)


# --- one departure --------------------------------------------------------------------------------------------


@login_required
def departure_detail(request, code):
    departure = get_departure_for_user(request.user, code)
    access = _access(request)
    context = departure_page(departure, access)
    user = request.user
    manage = can_manage(user)
    context.update({
        "departure": departure,
        "can_manage": manage,
        "can_book": can_book(user),
        "can_record_exceptions": can_record_exceptions(user) and departure.state in UPCOMING_STATES,
        "can_see_reasons": access.can_see_clearance_details,
        # Filled in again with what was typed when the last try was refused (movements.kept).
        "exception_form": ExceptionForm(initial=kept.take(request, f"exception:{departure.code}")),
        "actions": _actions(departure, request) if manage else [],
    })
    # A refused cancellation's reason, back in the box of the booking it was typed for (movements.kept).
    typed = kept.take(request, f"cancel:{departure.code}")
    for item in context["booked"]:
        item.typed_reason = typed.get("reason", "") if typed.get("form") == str(item.booking.pk) else ""
    context.update(day_of_travel(departure, request.user, access))
    context.update(manifest_panel(departure, user))
    shown = {b.booking.case.case_number for b in context["booked"]} | {b.case.case_number for b in context["cancelled"]}
    if shown:
        reads.record(reads.Kind.DEPARTURE, request=request, cases=sorted(shown), target=departure.code)
    return render(request, "travel/departure_detail.html", context)


ACTIONS = {
    # name: (button, needs a reason, confirmation, style)
    "open": ("Open for booking", False, "", "primary"),
    "finalise": ("Make final (lock the passenger list)", False,
                 "Lock the passenger list? Bookings can then change only after reopening, with a reason.", "primary"),
    "reopen": ("Reopen", True, "", ""),
    "cancel": ("Cancel departure", True, "Cancel this departure? Every booked case returns to ready.", "danger"),
}
SERVICES = {
    "open": services.open_departure, "finalise": services.finalise_departure, "reopen": services.reopen_departure,
    "cancel": services.cancel_departure,
}
ALLOWED = {
    DepartureState.PLANNED: ["open", "cancel"], DepartureState.OPEN: ["finalise", "cancel"],
    DepartureState.FINAL: ["reopen", "cancel"],  # it departs when boarding closes (views_boarding)
}


def _actions(departure, request):
    """The departure's buttons, each reason box filled in again with what was typed when its last try was refused."""
    return [{"name": name, "label": ACTIONS[name][0], "reason": ACTIONS[name][1], "confirm": ACTIONS[name][2],
             "style": ACTIONS[name][3],
             "typed": kept.take(request, f"action:{departure.code}:{name}").get("reason", "")}
            for name in ALLOWED.get(departure.state, [])]


@login_required
@require_POST
def departure_action(request, code, action):
    departure = get_departure_for_user(request.user, code, manage=True)
    if action not in SERVICES:
        raise Http404("No such action.")
    form = ReasonForm(request.POST)
    version = _int(request.POST.get("version"))
    if version is None:  # the page's version is how a stale page is told apart: without it, nothing moves
        messages.error(request, OUT_OF_DATE, extra_tags="code-stale")
    elif not _reason_refused(request, form):
        kwargs = {"by": request.user, "expected_version": version}
        if ACTIONS[action][1]:
            kwargs["reason"] = form.cleaned_data.get("reason", "")
        try:
            moved = SERVICES[action](departure, **kwargs)
        except TravelError as e:
            _refusal(request, e)
        else:
            messages.success(request, f"{moved.code} is now {moved.get_state_display().lower()}.")
            return redirect(departure_url(departure))
    # Refused (most often a page out of date: someone else moved the departure): the reason typed waits for the page.
    kept.keep(request, f"action:{departure.code}:{action}", request.POST, ["reason"])
    return redirect(departure_url(departure))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- planning and changing a departure -------------------------------------------------------------------------


@login_required
def departure_create(request):
    require_departures(request.user)
    if not can_plan(request.user):
        raise PermissionDenied("Only operations staff plan departures.")
    mode = request.GET.get("mode") if request.GET.get("mode") in Mode.values else Mode.AIR
    form = NewDepartureForm(request.POST or None, mode=mode)
    formset = leg_formset(mode, extra=3 if mode == Mode.AIR else 2)(request.POST or None, prefix="legs")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        plan = Planned(mode=mode, destination_country=data["destination_country"],
                       final_destination=data["final_destination"], legs=formset.leg_inputs(),
                       seat_block=data.get("seat_block"), pnr=data.get("pnr", ""), escorts=tuple(data["escorts"]),
                       notes=data["notes"])
        made = []

        def create():
            made.append(services.create_departure(plan, by=request.user))
            return departure_url(made[0])

        try:
            address, first = once.create_once(request, form, create)
        except TravelError as e:
            _attach(e, form, formset)
        else:
            if not first:
                return once.already_made(request, address)
            messages.success(request, f"Departure {made[0].code} planned. Open it for booking when it is ready.")
            return redirect(address)
    return render(request, "travel/departure_form.html",
                  {"form": form, "formset": formset, "mode": mode, "creating": True},
                  status=400 if request.method == "POST" else 200)


@login_required
def departure_edit(request, code):
    departure = get_departure_for_user(request.user, code, manage=True)
    if not departure.is_editable:
        messages.error(request, f"{departure.code} is {departure.get_state_display().lower()}: "
                       + ("reopen it (with a reason) before changing it." if departure.state == DepartureState.FINAL
                          else "it can no longer be changed."))
        return redirect(departure_url(departure))
    legs = list(departure.legs.order_by("number"))
    initial = {"destination_country": departure.destination_country, "final_destination": departure.final_destination,
               "seat_block": departure.seat_block, "pnr": departure.pnr, "escorts": list(departure.escorts.all()),
               "notes": departure.notes, "version": departure.version}
    form = DepartureForm(request.POST or None, mode=departure.mode, initial=initial)
    form.fields["version"].required = True  # drawn from the page: how an edit made meanwhile is told apart
    formset = leg_formset(departure.mode, extra=1)(request.POST or None, prefix="legs",
                                                   initial=[leg_initial(leg) for leg in legs])
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        fields = {"destination_country": data["destination_country"], "final_destination": data["final_destination"],
                  "notes": data["notes"]}
        if departure.mode == Mode.AIR:
            fields.update(seat_block=data["seat_block"], pnr=data["pnr"])
        try:
            services.update_departure(departure, by=request.user, expected_version=data.get("version"),
                                      legs=formset.leg_inputs(), escorts=list(data["escorts"]), **fields)
        except TravelError as e:
            _attach(e, form, formset)
        else:
            messages.success(request, f"Departure {departure.code} saved.")
            return redirect(departure_url(departure))
    return render(request, "travel/departure_form.html",
                  {"form": form, "formset": formset, "mode": departure.mode, "departure": departure,
                   "creating": False},
                  status=400 if request.method == "POST" else 200)


def _attach(error, form, formset):
    """A service's refusal on the form: per leg and field where it says which, else at the top."""
    if error.code == "forbidden":
        raise PermissionDenied(error.message)
    filled = formset.filled_forms()
    placed = False
    for problem in error.problems:
        if problem.index is not None and problem.index < len(filled) and problem.field in filled[problem.index].fields:
            leg_form = filled[problem.index]
            if problem.code == "ambiguous_local_time":
                leg_form.ask_which(problem.field, leg_form.cleaned_data[problem.field], problem.zone)
            leg_form.add_error(problem.field, problem.message)
            placed = True
        else:
            form.add_error(None, problem.message)
            placed = True
    if not placed:
        field = {"seat_block_too_small": "seat_block", "bad_seat_block": "seat_block", "bad_pnr": "pnr",
                 "not_an_escort": "escorts"}.get(error.code)
        form.add_error(field if field in form.fields else None, error.message)


# --- bookings ---------------------------------------------------------------------------------------------------


@login_required
@require_POST
def book(request, code):
    departure = get_departure_for_user(request.user, code)
    if not can_book(request.user):
        raise PermissionDenied("Only operations staff book travel.")
    number = posted_text(request, "case_number", 30)
    case = visible_cases(request.user).filter(case_number=number).first()
    if case is None:
        messages.error(request, f"Nothing was booked: there is no case “{number}” you may book." if number else
                       "Nothing was booked: give the case number of the family to book.", extra_tags="code-no_such_case")
        return redirect(departure_url(departure))
    version = _int(request.POST.get("version"))
    if version is None:
        messages.error(request, OUT_OF_DATE, extra_tags="code-stale")
        return redirect(_case_url(case))
    try:
        services.book_case(departure, case, by=request.user, expected_version=version)
    except TravelError as e:
        _refusal(request, e)
    else:
        messages.success(request, f"Case {case.case_number} booked on {departure.code}.")
    return redirect(_case_url(case))


@login_required
@require_POST
def cancel_booking(request, code, booking_id):
    departure = get_departure_for_user(request.user, code)
    if not can_book(request.user):  # before anything about the request: a refusal, not a correction to make
        raise PermissionDenied("Only operations staff cancel bookings.")
    booking = get_object_or_404(Booking, pk=booking_id, departure=departure)
    on_case = request.POST.get("back") == "case"
    back = _case_url(booking.case) if on_case else departure_url(departure)
    if _with_reason(request, lambda reason: services.cancel_booking(booking, by=request.user, reason=reason),
                    f"Booking of case {booking.case.case_number} on {departure.code} cancelled; the case is ready "
                    "again."):
        return redirect(back)
    # Refused: the reason typed waits in its box on the page the refusal leads back to.
    if on_case:
        keep_panel_typing(request, booking.case, "cancel")
    else:
        kept.keep(request, f"cancel:{departure.code}", {**request.POST.dict(), "form": str(booking.pk)},
                  ["form", "reason"])
    return redirect(back)


@login_required
@require_POST
def exclude_member(request):
    if not can_book(request.user):
        raise PermissionDenied("Only operations staff exclude members from travel.")
    person = (Person.objects.select_related("case").filter(pk=_int(request.POST.get("person")) or 0,
                                                           case__in=visible_cases(request.user)).first())
    if person is None:  # a page out of date (the member removed), or a request not made from one
        messages.error(request, "Nobody was excluded: that member is not in a case you may change. Reload the case "
                                "page and try again.", extra_tags="code-no_such_person")
        return redirect(reverse("case_list"))
    if _with_reason(request, lambda reason: services.exclude_member(person, by=request.user, reason=reason),
                    f"{person.full_name} is excluded from travel."):
        return redirect(_case_url(person.case))
    keep_panel_typing(request, person.case, "exclude")
    return redirect(_case_url(person.case))


@login_required
@require_POST
def include_member(request, exclusion_id):
    if not can_book(request.user):
        raise PermissionDenied("Only operations staff include members in travel.")
    exclusion = get_object_or_404(TravelExclusion.objects.select_related("case", "person"), pk=exclusion_id,
                                  case__in=visible_cases(request.user))
    if _with_reason(request, lambda reason: services.include_member(exclusion, by=request.user, reason=reason),
                    f"{exclusion.person.full_name} travels with the case again."):
        return redirect(_case_url(exclusion.case))
    keep_panel_typing(request, exclusion.case, f"include:{exclusion.pk}")
    return redirect(_case_url(exclusion.case))


@login_required
@require_POST
def record_exception(request, code):
    departure = get_departure_for_user(request.user, code)
    if not can_record_exceptions(request.user):
        raise PermissionDenied("Only operations staff record exceptions.")
    form = ExceptionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nothing was recorded: " + " ".join(
            why_refused(form, name, form.fields[name].label or name.replace("_", " ").capitalize())
            for name in form.errors if name in form.fields) + " Choose the rule and give who granted the exception "
            "and why.")
    else:
        try:
            services.record_exception(departure, by=request.user, **form.cleaned_data)
        except TravelError as e:
            _refusal(request, e)
        else:
            messages.success(request, "Exception recorded.")
            return redirect(departure_url(departure))
    kept.keep(request, f"exception:{departure.code}", request.POST, list(ExceptionForm.base_fields))
    return redirect(departure_url(departure))
