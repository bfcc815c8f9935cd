import datetime
import re
from operator import attrgetter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from movements import case_edits, history, hooks, kept, medical, memo, readiness, reads, transitions
from movements.access import access_for, get_case_for_user, visible_cases
from movements import case_pages, case_sections
from movements.case_pages import page_of_cases
from movements.countries import NATIONALITY_CHOICES
from movements.member_cards import member_card_html
from movements.forms import (
    CaseFilterForm, CaseForm, CaseNotesForm, DocumentFormSet, MemberFormSet, NewCaseMemberFormSet, TransitionForm,
    why_refused,
)
from movements.models import (
    FINAL_STATES, FLIES_ON_KEY, Case, HoldCategory, Person, TravelDocument,
)
from movements.search import normalize_code, search_words


def _require_case_pages(user):
    if not access_for(user).can_use_case_pages:
        raise PermissionDenied("Your role does not give access to the case list.")


def search_cases(queryset, text, access=None):
    """Cases whose number or proGres id contains the text, or one of whose members' names holds every word of it
    (any order, any script; see movements.search). Roles that may see them also find passport, visa / COPR and
    phone numbers; nobody finds a case by a number they may not see."""
    text = text.strip()
    if not text:
        return queryset
    code = normalize_code(text)
    members = Person.objects.filter(case=OuterRef("pk"))
    named = members
    for word in search_words(text):
        named = named.filter(search_text__contains=word)
    match = Q(case_number__icontains=code) | Q(progres_case_id__icontains=code)
    match |= Exists(members.filter(progres_individual_id__icontains=code))
    if search_words(text):
        match |= Exists(named)
    if access is not None and access.can_see_documents and sum(c.isdigit() for c in code) >= 4:
        # Document and visa numbers hold digits (at least four: a name typed with a digit, "family1", is not one,
        # and saves two look-ups). Two separate look-ups, each on its own (trigram) index: one subquery joining
        # documents to people would scan both tables.
        match |= Exists(TravelDocument.objects.filter(person__case=OuterRef("pk"), number__icontains=code))
        match |= Exists(members.filter(visa_reference__icontains=code))
    if access is not None and access.can_see_contact:
        digits = re.sub(r"\D", "", code).removeprefix("00")  # 0093… is +93…
        if len(digits) >= 6:
            match |= Exists(members.filter(phone__contains=digits))
    return queryset.filter(match)


@login_required
def case_list(request):
    _require_case_pages(request.user)
    # Every country of the reference table: no scan of the cases to learn which ones occur.
    form = CaseFilterForm(request.GET or None)
    cases = visible_cases(request.user)
    # The filters that were understood apply; one that was not is named above the list and ignored, alone.
    data = {}
    if form.is_bound:
        form.is_valid()
        data = {name: None if name == "flies_within" else "" for name in form.fields} | form.cleaned_data
    order = case_pages.ORDERS.get(data.get("sort") or "priority", case_pages.BY_PRIORITY)
    # Active cases unless asked otherwise (or a state is chosen): arrived, rejected and withdrawn ones are closed.
    if not data.get("state"):
        if data.get("show") == "closed":
            cases = cases.filter(state__in=FINAL_STATES)
        elif data.get("show") != "all":
            cases = cases.exclude(state__in=FINAL_STATES)
    if data:
        cases = search_cases(cases, data["q"], access_for(request.user))
        if data["flies_within"] is not None:
            today = timezone.localdate()
            # On the travel order's indexed expression: a case with no date never flies within N days.
            cases = cases.alias(flies_key=FLIES_ON_KEY).filter(
                flies_key__range=(today, today + datetime.timedelta(days=data["flies_within"])))
        if data["state"]:
            cases = cases.filter(state=data["state"])
        if data["priority"]:
            cases = cases.filter(priority=data["priority"])
        if data["destination"]:
            cases = cases.filter(destination_country=data["destination"])
        if data["blockers"] == "yes":
            cases = cases.filter(blocker_count__gt=0)
        elif data["blockers"] == "no":
            cases = cases.filter(blocker_count=0)
    # A search gathers its matches in full to sort them: they are counted in the same query.
    page = page_of_cases(cases, request.GET, order=order, count_along=bool(data.get("q", "").strip()))
    # One access-log row per page: who searched for what (the search may be a name), and the cases it showed (each
    # row names its principal applicant), for "who looked at this case?". The rows add no query.
    reads.record(reads.Kind.CASE_LIST, request=request, cases=page.object_list,
                 target=request.GET.get("q", "")[:200],
                 detail={key: value[:200] for key, value in request.GET.items() if value})
    access = access_for(request.user)
    registry = readiness.requirements()
    hidden = {code for requirement in registry for code in requirement.confidential}
    address = case_pages.case_address()
    for case in page.object_list:
        # "Blocked by what?": the kinds, in words, as this user may read them (from the stored snapshot).
        shown = readiness.redacted(readiness.blocking(case.blockers), access, hidden_codes=hidden)
        case.blocker_kinds = [group.summary for group in readiness.grouped(shown, registry=registry)]
        case.row = case_pages.row_html(case, address=address(case.case_number), blocker_kinds=case.blocker_kinds)
    query = request.GET.copy()
    for position in ("page", "after", "before"):
        query.pop(position, None)
    return render(
        request,
        "movements/case_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "total": page.total,
         "total_capped": page.total_capped, "count_limit": f"{case_pages.COUNT_LIMIT:,}",
         "rows": mark_safe("".join(case.row for case in page.object_list)),  # each row escaped as it was written
         "options": form.options(), "order": order,
         "showing_closed": data.get("show") == "closed", "showing_all": data.get("show") == "all"},
    )


@login_required
@memo.read_only_page  # readiness, the panels and the notes share what they read (movements.memo)
def case_detail(request, case_number):
    case, access = get_case_for_user(request.user, case_number, page_reads=True)
    reads.record(reads.Kind.CASE, request=request, cases=[case], target=case.case_number)
    policy = case.state_policy
    # Members, their travel needs, documents and medical statuses are loaded once: readiness reads the same objects.
    by_record = memo.case_members(case)
    # Shown as every page and the manifest show a family: principal applicant, spouse, then oldest first.
    members = sorted(by_record, key=attrgetter("family_position"))
    statuses = medical.statuses_for(members)
    blockers = []
    if policy.readiness:
        # The plan the page shows too (Case.travel_plan is cached on the case).
        context = readiness.context_for(case, case.travel_plan, members=members, plan_known=True)
        medical.share_statuses(context, statuses)
        blockers = readiness.blockers_for(case, context=context)
    readiness.refresh_snapshot(case, blockers, context=context if policy.readiness else None)
    # Rules that can only be met in the last days before the flight (a fit-to-travel check) are "due before
    # boarding" on a booked case, not a reason to think the family cannot fly.
    shown = readiness.redacted(blockers, access)
    blocking = readiness.blocking(shown)
    before_boarding = [b for b in shown if b.gates == readiness.DUE_BEFORE_BOARDING]
    blockers_by_person = {}
    for blocker in blocking:
        blockers_by_person.setdefault(blocker.person_id, []).append(blocker)
    # Grouped by kind, in words, each person linked to the form that resolves it (when this user may open it).
    people = {person.pk: person for person in members}
    blocker_groups = readiness.grouped(blocking, case=case, access=access, people=people)
    before_boarding_groups = readiness.grouped(before_boarding, case=case, access=access, people=people)
    notes = {p.pk: [] for p in members}
    for person_id, items in _member_notes(members).items():
        notes.setdefault(person_id, []).extend(items)
    for person in members:
        person.notes = notes.get(person.pk, [])
        person.blocker_list = blockers_by_person.get(person.pk, [])
        person.medical = statuses[person.pk]
    may_edit = access.can_edit_cases
    can_edit_documents = may_edit and access.can_edit_documents and policy.documents
    member_cards = [member_card_html(p, case=case, access=access, can_edit_documents=can_edit_documents)
                    for p in members]
    timeline = history.timeline(case)
    for entry in timeline:
        entry.at_iso, entry.at_text = history.shown_time(entry.at)
        if not hasattr(entry, "transition"):  # a data change: a medical decision is told in words for all
            entry.shown_summary = history.shown_summary(entry, clearance_details=access.can_see_clearance_details)
        entry.shown_data = entry.data_items(confidential=access.can_see_clearance_details) \
            if hasattr(entry, "data_items") else []
        entry.shown_actor = history.shown_actor(entry, access)
    offered = transitions.available_transitions(case, request.user)
    return render(
        request,
        "movements/case_detail.html",
        {
            "case": case,
            "members": members,
            "can_edit_details": may_edit and policy.details,
            "readiness_panel": case_sections.readiness_html(
                case, checks_readiness=policy.readiness, blocking=blocking, before_boarding=before_boarding,
                blocker_groups=blocker_groups, before_boarding_groups=before_boarding_groups),
            "timeline": case_sections.timeline_html(timeline, show_reasons=access.can_see_clearance_details),
            "transition_forms": case_sections.transitions_html(
                request, case, offered, url=reverse("case_transition", args=[case.case_number]),
                typed=kept.take(request, f"transition:{case.case_number}"),  # a refused try's reason, once
                hold_categories=_hold_categories(request.user) if any(t.name == "hold" for t in offered) else (),
                blocked=bool(blocking), due_before_boarding=bool(before_boarding)),
            "panels": sorted(hooks.case_panels.collect(request, case, access), key=lambda p: p.order),
            "can_edit": may_edit and (policy.details or policy.notes),
            "member_cards": member_cards,
        },
    )


def _member_notes(members):
    """Every plug-in's notes beside each member (`hooks.member_notes`), merged."""
    merged = {}
    for provider in hooks.member_notes.providers:
        for person_id, items in provider(members).items():
            merged.setdefault(person_id, []).extend(items)
    return merged


def _hold_categories(user):
    """The hold categories this user may choose (medical staff place medical holds; operations the others)."""
    return [
        (value, label) for value, label in HoldCategory.choices
        if transitions.SPECS["hold"].guard(None, user, category=value) is None
    ]


@login_required
@require_POST
def case_transition(request, case_number):
    case, access = get_case_for_user(request.user, case_number)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        if "reason" in form.errors:
            messages.error(request, "Nothing was changed: " + why_refused(form, "reason", "the reason"))
        else:
            messages.error(request, "That request was incomplete; reload the page and try again.")
        return _refused_back(request, case)
    name = form.cleaned_data["transition"]
    params = {"category": form.cleaned_data["category"]} if name == "hold" else {}
    try:
        transitions.perform(
            case, name, by=request.user, reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"], **params,
        )
    except transitions.TransitionError as e:
        if e.code == "forbidden":
            raise PermissionDenied(e.message) from None
        # The readiness panel of the case page lists the blockers themselves.
        messages.error(request, e.message, extra_tags=f"code-{e.code}")
        return _refused_back(request, case)
    spec = transitions.SPECS[name]
    messages.success(request, f"Case {case.case_number} {spec.past}.")
    return redirect(case_url(case))


def case_url(case):
    return reverse("case_detail", args=[case.case_number])


def _refused_back(request, case):
    """Back to the case page, whose form for that transition is filled in again with the reason typed (and the kind
    of hold chosen): a refusal, most often a page out of date, must not cost the text (movements.kept)."""
    kept.keep(request, f"transition:{case.case_number}", request.POST, ["transition", "reason", "category"])
    return redirect(case_url(case))


def _save_case_with_members(request, form, formset, *, creating):
    """Save through the case-edit service; return the case, or None with the refusal on the form."""
    try:
        return case_edits.save_case(form, formset, by=request.user, creating=creating)
    except case_edits.EditRefused as e:
        form.add_error(None, e.message)
        return None


@login_required
def case_create(request):
    access = access_for(request.user)
    if not access.can_create_cases:
        raise PermissionDenied("Your role may not create cases.")
    form = CaseForm(request.POST or None)
    formset = NewCaseMemberFormSet(
        request.POST or None, instance=Case(), prefix="members", show_contact=access.can_see_contact
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        case = _save_case_with_members(request, form, formset, creating=True)
        if case is not None:
            messages.success(request, f"Case {case.case_number} created with {case.members.count()} member(s).")
            return redirect(case_url(case))
    status = 400 if request.method == "POST" else 200
    return render(
        request, "movements/case_form.html", {"form": form, "formset": formset, "creating": True}, status=status
    )


@login_required
def case_edit(request, case_number):
    case, access = get_case_for_user(request.user, case_number, write=True)
    policy = case.state_policy
    if not (policy.details or policy.notes):
        messages.error(request, case_edits.refusal(case, "notes"))
        return redirect(case_url(case))
    if policy.details:
        form = CaseForm(request.POST or None, instance=case)
        formset = MemberFormSet(
            request.POST or None, instance=case, prefix="members", show_contact=access.can_see_contact,
            allow_membership_changes=policy.membership,
        )
    else:
        # Booked or gone: the family's data is fixed (the passenger list depends on it); notes may still be kept.
        form, formset = CaseNotesForm(request.POST or None, instance=case), None
    if request.method == "POST" and form.is_valid() and (formset is None or formset.is_valid()):
        saved = _save_case_with_members(request, form, formset, creating=False)
        if saved is not None:
            messages.success(request, f"Case {saved.case_number} saved.")
            return redirect(case_url(saved))
    status = 400 if request.method == "POST" else 200
    reads.record(reads.Kind.CASE_EDIT, request=request, cases=[case], target=case.case_number)
    return render(
        request,
        "movements/case_form.html",
        {"form": form, "formset": formset, "case": case, "creating": False,
         "locked_reason": None if policy.details else case_edits.refusal(case, "details")},
        status=status,
    )


@login_required
def person_documents(request, case_number, person_id):
    case, access = get_case_for_user(request.user, case_number, write=True)
    if not access.can_edit_documents:
        raise PermissionDenied("Your role may not change travel documents.")
    person = get_object_or_404(Person, pk=person_id, case=case)
    reads.record(reads.Kind.DOCUMENTS, request=request, cases=[case], person=person,
                 target=f"{case.case_number}, member {person.pk}")
    if not case.state_policy.documents:
        messages.error(request, case_edits.refusal(case, "documents"))
        return redirect(case_url(case))
    # New rows start with the issuing country of the person's nationality (most carry their own country's passport).
    issuing = person.nationality if person.nationality in dict(NATIONALITY_CHOICES) else ""
    formset = DocumentFormSet(request.POST or None, instance=person, prefix="documents",
                              initial=[{"issuing_country": issuing}] * DocumentFormSet.extra if issuing else None)
    if request.method == "POST" and formset.is_valid():
        try:
            changed = case_edits.save_documents(case, person, formset, by=request.user)
        except case_edits.EditRefused as e:
            formset._non_form_errors = formset.error_class([e.message])
        else:
            if changed:
                messages.success(request, f"Travel documents of {person.full_name} saved.")
            else:
                messages.info(request, f"Nothing changed in the travel documents of {person.full_name}.")
            return redirect(case_url(case))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "movements/person_documents.html",
        {"case": case, "person": person, "formset": formset},
        status=status,
    )
