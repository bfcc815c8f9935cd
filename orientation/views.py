import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from movements import kept, once, reads
from movements.access import visible_cases
from movements.models import Person
from orientation import services
from orientation.access import can_manage, can_use_orientation, get_session_for_user, visible_sessions
from orientation.documents import attendance_sheet_pdf, certificate_pdf
from orientation.forms import EnrolForm, SessionForm
from orientation.models import (
    ATTENDED, AttendanceChange, AttendanceStatus, Declined, Session, SessionDay, SessionState,
)


def _days_text(days):
    """“Day 1 (Sun 29 Nov)”, “Days 1 and 2 (Sun 29 Nov, Mon 30 Nov)”."""
    numbers = [str(day.number) for day in days]
    said = numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} and {numbers[-1]}"
    return f"Day{'s' if len(days) > 1 else ''} {said} ({', '.join(f'{day.date:%a %d %b}' for day in days)})"


def _session_url(session):
    return reverse("orientation_session", args=[session.code])


@login_required
def session_list(request):
    if not can_use_orientation(request.user):
        raise PermissionDenied("Your role has no access to orientation sessions.")
    sessions = (
        visible_sessions(request.user).prefetch_related("days").annotate(enrolled=Count("enrolments")).order_by("-id")
    )
    rows = [{"session": s, "enrolled": s.enrolled} for s in sessions[:100]]
    # A trainer's first tap of the day: today's roll call of each session they may record (not a closed one).
    today = timezone.localdate()
    todays = [(row["session"], day) for row in rows for day in row["session"].ordered_days
              if day.date == today and row["session"].state != SessionState.CLOSED]
    return render(request, "orientation/session_list.html", {
        "rows": rows, "can_manage": can_manage(request.user), "todays": todays, "today": today})


@login_required
def session_create(request):
    if not can_manage(request.user):
        raise PermissionDenied("Only operations staff plan sessions.")
    form = SessionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        def plan():
            session = form.save()
            SessionDay.objects.bulk_create([
                SessionDay(session=session, number=n, date=form.cleaned_data[f"day_{n}"])
                for n in range(1, settings.SAFAR_ORIENTATION_DAYS + 1)
            ])
            return _session_url(session)

        address, made = once.create_once(request, form, plan)
        if not made:
            return once.already_made(request, address)
        messages.success(request, f"Session {form.instance.code} planned.")
        return redirect(address)
    return render(request, "orientation/session_form.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


def _record_read(request, session, enrolments, *, day=None):
    """A session's page and its roll calls name every family enrolled: one read for the access log."""
    if enrolments:
        reads.record(reads.Kind.SESSION, request=request, cases=sorted({e.person.case.case_number for e in enrolments}),
                     target=session.code, detail={"day": day} if day else None)


def _by_family(session):
    """The session's enrolments family by family (by case number), each family as every page and list orders it:
    the roll call on the screen and the attendance sheet on paper agree."""
    enrolments = session.enrolments.select_related("person__case")
    return sorted(enrolments, key=lambda e: (e.person.case.case_number, e.person.family_position))


def _participants(session, days):
    """The session's enrolments, each with its marks per day, completion and age on the first day."""
    enrolments = _by_family(session)
    statuses = services.statuses_for([e.person for e in enrolments])
    first_day = days[0].date if days else None
    for enrolment in enrolments:
        marks = {}
        for other, _days, other_marks in statuses[enrolment.person_id].enrolments:
            if other.pk == session.pk:
                marks = other_marks
        enrolment.marks = [marks.get(d.number, "") for d in days]
        enrolment.completed_here = bool(days) and all(m in ATTENDED for m in enrolment.marks)
        enrolment.age = enrolment.person.age_on(first_day) if first_day else enrolment.person.age
        # Enrolled, then said they will not attend (recorded by operations): the trainer need not wait for them.
        enrolment.declined = statuses[enrolment.person_id].declined is not None
    return enrolments


def _mark_days(days, enrolments):
    """Tell each day whether it is today and whether its roll call is recorded (from the marks already loaded)."""
    today = timezone.localdate()
    for index, day in enumerate(days):
        day.is_today = day.date == today
        day.is_future = day.date > today
        day.recorded = sum(1 for e in enrolments if e.marks[index])
        day.fully_recorded = bool(enrolments) and day.recorded == len(enrolments)
    return days


@login_required
def session_detail(request, code):
    session = get_session_for_user(request.user, code)
    days = session.ordered_days
    enrolments = _participants(session, days)
    _record_read(request, session, enrolments)
    _mark_days(days, enrolments)
    today = timezone.localdate()
    days_ahead = [d for d in days if d.date > today]
    return render(request, "orientation/session_detail.html", {
        "session": session,
        "days": days,
        "days_ahead": days_ahead,
        "enrolments": enrolments,
        "completed": sum(1 for e in enrolments if e.completed_here),
        "can_manage": can_manage(request.user),
        "min_age": settings.SAFAR_ORIENTATION_MIN_AGE,
        "enrol_form": EnrolForm(),
        "can_start": can_proceed(session.start),
        "can_close": can_proceed(session.close),
        "can_reopen": can_proceed(session.reopen),
        "state_changes": session.state_changes.select_related("changed_by"),
        # A refused close or reopen's reason, once (movements.kept).
        "typed_close": kept.take(request, f"session:{session.code}:close").get("reason", ""),
        "typed_reopen": kept.take(request, f"session:{session.code}:reopen").get("reason", ""),
        # The families that may be taken out (enrolled by mistake): none of their members has a mark here.
        "removable": _removable(enrolments) if session.state != SessionState.CLOSED else [],
        "typed_remove": kept.take(request, f"remove:{session.code}"),
    })


def _removable(enrolments):
    """(case number, "DYU-2026-00044 — Qaderi, Sohrab and 1 more") for the families none of whose members has a mark
    in the session, in the list's order."""
    marked = {e.person.case.case_number for e in enrolments if any(e.marks)}
    families = {}
    for e in enrolments:
        if e.person.case.case_number not in marked:
            families.setdefault(e.person.case.case_number, []).append(e.person.full_name)
    return [(number, f"{number} — {names[0]}" + (f" and {len(names) - 1} more" if len(names) > 1 else ""))
            for number, names in families.items()]


@login_required
@require_POST
def session_enrol(request, code):
    session = get_session_for_user(request.user, code, manage=True)
    form = EnrolForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Nobody was enrolled: give the case number of the family to enrol "
                                "(e.g. DYU-2026-00042).")
        return redirect(_session_url(session))
    case = visible_cases(request.user).filter(case_number=form.cleaned_data["case_number"]).first()
    if case is None:
        messages.error(request, f"There is no case {form.cleaned_data['case_number']}.")
        return redirect(_session_url(session))
    try:
        enrolled, refused = services.enrol_case(session, case, by=request.user)
    except services.OrientationError as e:
        messages.error(request, e.message)
        return redirect(_session_url(session))
    messages.success(request, f"Enrolled from {case.case_number}: " + ", ".join(p.full_name for p in enrolled) + ".")
    passed = [day for day in session.ordered_days if day.date < timezone.localdate()]
    if enrolled and passed:  # enrolled late (or recorded late, from paper): the days gone by count too
        messages.warning(request, f"{_days_text(passed)} of {session.code} {'has' if len(passed) == 1 else 'have'} "
                                  "passed: the family completes orientation in this session only if the roll call "
                                  f"of {'that day' if len(passed) == 1 else 'those days'} marks them present (or "
                                  "late). "
                                  "Otherwise enrol them in a later session.")
    if refused:
        messages.info(request, "Not enrolled: " + "; ".join(f"{p.full_name} ({reason})" for p, reason in refused))
    return redirect(_session_url(session))


@login_required
@require_POST
def session_remove(request, code):
    """Take a family enrolled by mistake out of the session (operations; before any mark of theirs)."""
    session = get_session_for_user(request.user, code, manage=True)
    number = request.POST.get("case_number", "").replace("\x00", "").strip()[:40]
    case = visible_cases(request.user).filter(case_number=number).first() if number else None
    if case is None:
        messages.error(request, "Nobody was taken out: choose the family's case from the list (reload the page if "
                                "it is not there).")
        return redirect(_session_url(session))
    try:
        people = services.remove_case(session, case, by=request.user,
                                      reason=request.POST.get("reason", "").replace("\x00", ""))
    except services.OrientationError as e:
        if e.code == "forbidden":
            raise PermissionDenied(e.message) from None
        if e.code == "not_enrolled":  # most often the same request sent twice: the first took them out
            messages.info(request, e.message)
        else:
            messages.error(request, e.message)
            kept.keep(request, f"remove:{session.code}", request.POST, ["case_number", "reason"])
    else:
        messages.success(request, f"Taken out of {session.code}: " + "; ".join(p.full_name for p in people) +
                                  f". Case {case.case_number} may be enrolled in another session.")
    return redirect(_session_url(session))


@login_required
@require_POST
def session_state(request, code, action):
    session = get_session_for_user(request.user, code, manage=True)
    try:
        session = services.change_session_state(session, action, by=request.user,
                                                reason=request.POST.get("reason", "").replace("\x00", ""))
    except services.OrientationError as e:
        messages.error(request, e.message)
        # The reason typed waits in its box on the session's page (movements.kept).
        kept.keep(request, f"session:{session.code}:{action}", request.POST, ["reason"])
    else:
        messages.success(request, f"Session {session.code} is now {session.get_state_display().lower()}.")
    return redirect(_session_url(session))


@login_required
def roll_call(request, code, number):
    session = get_session_for_user(request.user, code)
    day = get_object_or_404(SessionDay, session=session, number=number)
    enrolments = _participants(session, session.ordered_days)
    choices = AttendanceStatus.choices
    error = error_code = None
    reason = ""
    if request.method == "POST":
        marks = {}
        for enrolment in enrolments:
            value = request.POST.get(f"mark-{enrolment.pk}", "")
            if value:
                marks[enrolment.pk] = value
        if request.POST.get("all_present"):
            for enrolment in enrolments:
                marks.setdefault(enrolment.pk, AttendanceStatus.PRESENT)
        try:
            reason = request.POST.get("reason", "").replace("\x00", "")
            result = services.record_roll_call(day, marks, by=request.user, reason=reason)
        except services.OrientationError as e:
            error, error_code = e.message, e.code
            # Keep what the trainer tapped and typed, so nothing is lost.
            for enrolment in enrolments:
                enrolment.marks[day.number - 1] = marks.get(enrolment.pk, enrolment.marks[day.number - 1])
        else:
            messages.success(
                request,
                f"Day {day.number} saved: {result.recorded} recorded, {result.corrected} corrected, "
                f"{result.unchanged} unchanged.",
            )
            unmarked = [e.person.full_name for e in enrolments if e.pk not in marks and not e.marks[day.number - 1]]
            if unmarked:
                messages.warning(request, f"Still without a mark for day {day.number}: {'; '.join(unmarked)}.")
            return redirect(_session_url(session))
    rows = [{"enrolment": e, "mark": e.marks[day.number - 1]} for e in enrolments]
    history = list(
        AttendanceChange.objects.filter(attendance__day=day)
        .select_related("attendance__enrolment__person__case", "changed_by")
        .order_by("-changed_at", "-id")
    )
    not_yet, closed = day.date > timezone.localdate(), session.state == SessionState.CLOSED
    # The page names the people on its roll (while it can be taken) and in its history of marks.
    named = [] if not_yet or closed else enrolments
    _record_read(request, session, named + [h.attendance.enrolment for h in history], day=day.number)
    return render(request, "orientation/roll_call.html", {
        "session": session, "day": day, "rows": rows, "choices": choices, "error": error,
        # A refusal about the reason is shown at the reason's field too, and the page opens there (at the bottom).
        "reason_error": error if error_code in ("reason_required", "reason_too_long") else "", "typed_reason": reason,
        "unmarked": sum(1 for r in rows if not r["mark"]),
        "not_yet": not_yet, "closed": closed, "history": history,
    }, status=400 if error else 200)


def _pdf(content, filename):
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def attendance_sheet(request, code):
    session = get_session_for_user(request.user, code)
    enrolments = _by_family(session)
    reads.record(reads.Kind.ATTENDANCE_SHEET, request=request, cases=[e.person.case for e in enrolments],
                 target=session.code, detail={"session": session.code, "people": len(enrolments)})
    return _pdf(attendance_sheet_pdf(session, enrolments), f"attendance-{session.code}.pdf")


@login_required
def certificate(request, code, person_id):
    session = get_session_for_user(request.user, code)
    enrolment = session.enrolments.select_related("person__case").filter(person_id=person_id).first()
    if enrolment is None:
        raise Http404("This person is not in this session.")
    status = services.statuses_for([enrolment.person])[enrolment.person_id]
    if not status.completed or status.completed_in.pk != session.pk:
        messages.error(request, f"{enrolment.person.full_name} has not attended every day of {session.code}: "
                                "no certificate yet.")
        return redirect(_session_url(session))
    reads.record(reads.Kind.CERTIFICATE, request=request, cases=[enrolment.person.case], person=enrolment.person,
                 target=f"{session.code}, member {person_id}")
    return _pdf(certificate_pdf(enrolment.person, session), f"certificate-{session.code}-{person_id}.pdf")


@login_required
def suggestions(request):
    if not can_manage(request.user):
        raise PermissionDenied("Only operations staff enrol people.")
    groups = {}
    for person in services.suggestions():
        language = person.get_language_display() or "Language not recorded"
        groups.setdefault(language, {}).setdefault(person.case, []).append(person)
    open_sessions = Session.objects.exclude(state=SessionState.CLOSED).prefetch_related("days").order_by("id")
    declined = services.declined_people()
    shown = {case.case_number for cases in groups.values() for case in cases}
    shown |= {d.person.case.case_number for d in declined}
    if shown:
        reads.record(reads.Kind.WAITING, request=request, cases=sorted(shown), target="suggestions")
    by_language = {}
    today = timezone.localdate()
    # Sessions still to come first, soonest first; one under way after them, said so (its first day has been held:
    # a family enrolled now completes only if that day is marked present).
    for session in sorted(open_sessions, key=lambda s: (s.first_day is not None and s.first_day <= today,
                                                         s.first_day or datetime.date.max, s.pk)):
        session.under_way = session.first_day is not None and session.first_day <= today
        by_language.setdefault(session.get_language_display(), []).append(session)
    return render(request, "orientation/suggestions.html", {
        # Each language with its families and the open sessions held in it (each family enrolled in one click).
        "groups": sorted((lang, list(cases.items()), by_language.get(lang, [])) for lang, cases in groups.items()),
        "sessions": open_sessions,
        "total": sum(len(p) for cases in groups.values() for p in cases.values()),
        "declined": declined,
        "min_age": settings.SAFAR_ORIENTATION_MIN_AGE,
    })



@login_required
def declined(request, person_id):
    """Whether a person declines orientation (it is voluntary): record it, or withdraw it when they will attend after
    all. Either way with a reason, told in the case's history."""
    if not can_manage(request.user):
        raise PermissionDenied("Only operations staff record that someone declines orientation.")
    person = get_object_or_404(Person.objects.select_related("case").filter(case__in=visible_cases(request.user)),
                               pk=person_id)
    error, typed = "", ""
    if request.method == "POST":
        typed = request.POST.get("reason", "")
        action = {"decline": services.record_declined, "withdraw": services.withdraw_declined}.get(
            request.POST.get("action"))
        if action is None:
            error = "That request was incomplete; reload the page and try again."
        else:
            try:
                action(person, by=request.user, reason=typed)
            except services.OrientationError as e:
                error = e.message
            else:
                messages.success(request, f"{person.full_name} declines orientation: their family's travel no longer "
                                          "waits for it." if action is services.record_declined else
                                 f"{person.full_name} will attend orientation after all: it is due again.")
                return redirect(reverse("orientation_declined", args=[person.pk]))
    reads.record(reads.Kind.ORIENTATION_DECLINED, request=request, cases=[person.case], person=person,
                 target=f"{person.case.case_number}, member {person.pk}")
    status = services.statuses_for([person])[person.pk]
    response = render(request, "orientation/declined.html", {
        "person": person, "status": status, "error": error, "typed": typed,
        "due": services.orientation_due(person, services.travel_day(person.case, timezone.localdate())),
        "min_age": settings.SAFAR_ORIENTATION_MIN_AGE,
        "history": Declined.objects.filter(person=person).select_related("recorded_by", "withdrawn_by"),
    })
    if error:
        response.status_code = 400
    return response
