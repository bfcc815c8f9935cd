from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery, Value, When
from django.db.models import Case as SqlCase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from movements import medical, member_notes, readiness, transitions
from movements.access import access_for, get_case_for_user, visible_cases
from movements.forms import (
    CaseFilterForm, CaseForm, DocumentFormSet, MemberFormSet, NewCaseMemberFormSet, TransitionForm,
)
from movements.models import (
    FINAL_STATES, PRIORITY_RANK, READINESS_STATES, REASON_MAX_LENGTH, Case, CaseChange, CaseState, Person, Relationship,
)
from movements.search import normalize

# States in which members may still be added or removed; after booking the manifest depends on them.
MEMBERSHIP_OPEN_STATES = {CaseState.REFERRED, CaseState.IN_PROCESSING, CaseState.APPROVED, CaseState.READY,
                          CaseState.ON_HOLD}
EDITABLE_STATES = MEMBERSHIP_OPEN_STATES | {CaseState.BOOKED}

LIST_ORDER = (PRIORITY_RANK, "referral_date", "id")  # matches the case_list_order index


def _require_case_pages(user):
    if not access_for(user).can_use_case_pages:
        raise PermissionDenied("Your role does not give access to the case list.")


def search_cases(queryset, text):
    text = text.strip()
    if not text:
        return queryset
    folded = normalize(text)
    members = Person.objects.filter(case=OuterRef("pk"))
    name_match = Exists(members.filter(search_text__contains=folded))
    id_match = Exists(members.filter(progres_individual_id__icontains=text))
    return queryset.filter(
        Q(case_number__icontains=text) | Q(progres_case_id__icontains=text) | name_match | id_match
    )


def annotate_for_list(queryset):
    """What a list row shows: the principal applicant's names and the number of members."""
    principal = Person.objects.filter(case=OuterRef("pk"), relationship=Relationship.PA)
    members = Person.objects.filter(case=OuterRef("pk")).order_by().values("case").annotate(n=Count("pk"))
    return queryset.annotate(
        member_count=Subquery(members.values("n")[:1]),
        pa_family_name=Subquery(principal.values("family_name")[:1]),
        pa_given_name=Subquery(principal.values("given_name")[:1]),
        pa_native_name=Subquery(principal.values("native_name")[:1]),
    )


def page_of_cases(queryset, page_number):
    """Paginate on bare ids (the index gives the order), then annotate only the rows shown."""
    paginator = Paginator(queryset.order_by(*LIST_ORDER).values_list("pk", flat=True), settings.SAFAR_CASES_PER_PAGE)
    page = paginator.get_page(page_number)
    ids = list(page.object_list)
    rows = {case.pk: case for case in annotate_for_list(Case.objects.filter(pk__in=ids))}
    page.object_list = [rows[pk] for pk in ids if pk in rows]
    return page


@login_required
def case_list(request):
    _require_case_pages(request.user)
    base = visible_cases(request.user)
    destinations = sorted(base.order_by().values_list("destination_country", flat=True).distinct())
    form = CaseFilterForm(request.GET or None, destinations=destinations)
    cases = base
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        cases = search_cases(cases, data["q"])
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
    page = page_of_cases(cases, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "movements/case_list.html",
        {"form": form, "page": page, "query": query.urlencode(), "total": page.paginator.count},
    )


def _timeline(case):
    """State changes and data changes, newest first."""
    entries = list(case.transitions.order_by("-at", "-id")) + list(case.changes.order_by("-at", "-id"))
    return sorted(entries, key=lambda e: e.at, reverse=True)


@login_required
def case_detail(request, case_number):
    case, access = get_case_for_user(request.user, case_number)
    blockers = readiness.blockers_for(case) if case.state in READINESS_STATES else []
    readiness.refresh_snapshot(case, blockers)
    members = case.members.prefetch_related("documents").order_by(
        SqlCase(When(relationship=Relationship.PA, then=Value(0)), default=Value(1), output_field=IntegerField()),
        "date_of_birth",
    )
    blockers = readiness.redacted(blockers, access)
    blockers_by_person = {}
    for blocker in blockers:
        blockers_by_person.setdefault(blocker.person_id, []).append(blocker)
    members = list(members)
    statuses = medical.statuses_for(members)
    notes = member_notes.notes_for(members)
    for person in members:
        person.notes = notes.get(person.pk, [])
        person.blocker_list = blockers_by_person.get(person.pk, [])
        person.medical = statuses[person.pk]
    return render(
        request,
        "movements/case_detail.html",
        {
            "case": case,
            "members": members,
            "blockers": blockers,
            "requirements": readiness.requirements(),
            "timeline": _timeline(case),
            "transitions": transitions.available_transitions(case, request.user),
            "is_final": case.state in FINAL_STATES,
            "checks_readiness": case.state in READINESS_STATES,
            "can_edit": access.can_edit_cases and case.state in EDITABLE_STATES,
        },
    )


@login_required
@require_POST
def case_transition(request, case_number):
    case, access = get_case_for_user(request.user, case_number)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        if "reason" in form.errors:
            length = len(request.POST.get("reason", ""))
            messages.error(request, f"Nothing was changed: the reason has {length:,} characters; keep it to "
                                    f"{REASON_MAX_LENGTH:,} (a few sentences).")
        else:
            messages.error(request, "That request was incomplete; reload the page and try again.")
        return redirect(case_url(case))
    name = form.cleaned_data["transition"]
    try:
        transitions.perform(
            case, name, by=request.user, reason=form.cleaned_data["reason"],
            expected_version=form.cleaned_data["version"],
        )
    except transitions.TransitionError as e:
        if e.code == "forbidden":
            raise PermissionDenied(e.message) from None
        # The readiness panel of the case page lists the blockers themselves.
        messages.error(request, e.message, extra_tags=f"code-{e.code}")
        return redirect(case_url(case))
    spec = transitions.SPECS[name]
    messages.success(request, f"Case {case.case_number} {spec.past}.")
    return redirect(case_url(case))


def case_url(case):
    return reverse("case_detail", args=[case.case_number])


def _save_case_with_members(request, form, formset, *, creating):
    """Save the case and its members in one transaction; return the case, or None with form errors set."""
    try:
        with transaction.atomic():
            case = form.save(commit=False)
            if not creating:
                locked = Case.objects.select_for_update().get(pk=case.pk)
                if form.cleaned_data.get("version") != locked.version:
                    form.add_error(None, transitions.CONFLICT_MESSAGE)
                    raise _Abort
                case.version = locked.version + 1
                case.save(update_fields=[*form.Meta.fields, "version", "updated_at"])
            else:
                case.save()
                transitions.record_creation(case, by=request.user)
            formset.instance = case
            members = formset.save(commit=False)
            for removed in formset.deleted_objects:
                removed.delete()
            # One PA per case at every moment: a PA who becomes something else is saved before the new PA.
            demoted = {
                f.instance.pk for f in formset.forms
                if f.instance.pk and f.initial.get("relationship") == Relationship.PA
                and f.cleaned_data.get("relationship") != Relationship.PA
            }
            for member in sorted(members, key=lambda m: m.pk not in demoted):
                member.save()
            if not creating:
                _log_edit(request.user, case, form, formset)
    except _Abort:
        return None
    except IntegrityError:
        form.add_error(
            None,
            "These changes clash with data saved meanwhile (a proGres id now used elsewhere, or two principal "
            "applicants). Nothing was saved; check the ids and try again.",
        )
        return None
    return case


class _Abort(Exception):
    pass


def _log_documents(user, case, person, formset):
    """Name what changed in a person's travel documents (kinds and fields, never numbers)."""
    parts = [f"added {d.get_document_type_display().lower()}" for d in formset.new_objects]
    parts += [f"changed {d.get_document_type_display().lower()} ({', '.join(fields)})"
              for d, fields in formset.changed_objects]
    parts += [f"removed {d.get_document_type_display().lower()}" for d in formset.deleted_objects]
    if parts:
        CaseChange.objects.create(
            case=case, user=user, actor=user.get_full_name() or user.get_username(),
            summary=f"Travel documents of {person.full_name}: " + "; ".join(parts),
        )


def _log_edit(user, case, form, formset):
    """One CaseChange row naming what changed (field names, never values: the log is widely read)."""
    parts = []
    case_fields = [f for f in form.changed_data if f != "version"]
    if case_fields:
        parts.append(f"case ({', '.join(case_fields)})")
    for member in formset.forms:
        if member in formset.deleted_forms:
            parts.append(f"removed {member.instance.full_name}")
        elif member.has_changed():
            fields = ", ".join(member.changed_data)
            parts.append(f"{member.instance.full_name} ({fields})" if member.instance.pk else f"added {member.instance.full_name}")
    if parts:
        CaseChange.objects.create(
            case=case, user=user, actor=user.get_full_name() or user.get_username(), summary="Edited: " + "; ".join(parts)
        )


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
    if case.state not in EDITABLE_STATES:
        messages.error(request, f"A case that is {case.get_state_display().lower()} can no longer be edited.")
        return redirect(case_url(case))
    form = CaseForm(request.POST or None, instance=case)
    formset = MemberFormSet(
        request.POST or None, instance=case, prefix="members", show_contact=access.can_see_contact,
        allow_membership_changes=case.state in MEMBERSHIP_OPEN_STATES,
    )
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        saved = _save_case_with_members(request, form, formset, creating=False)
        if saved is not None:
            messages.success(request, f"Case {saved.case_number} saved.")
            return redirect(case_url(saved))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "movements/case_form.html",
        {"form": form, "formset": formset, "case": case, "creating": False},
        status=status,
    )


@login_required
def person_documents(request, case_number, person_id):
    case, access = get_case_for_user(request.user, case_number, write=True)
    if not access.can_edit_documents:
        raise PermissionDenied("Your role may not change travel documents.")
    person = get_object_or_404(Person, pk=person_id, case=case)
    if case.state not in EDITABLE_STATES:
        messages.error(request, f"A case that is {case.get_state_display().lower()} can no longer be edited.")
        return redirect(case_url(case))
    formset = DocumentFormSet(request.POST or None, instance=person, prefix="documents")
    if request.method == "POST" and formset.is_valid():
        try:
            with transaction.atomic():
                formset.save()
                _log_documents(request.user, case, person, formset)
        except IntegrityError:
            formset._non_form_errors = formset.error_class(
                ["A document with this type, country and number is already recorded (perhaps for someone else)."]
            )
        else:
            messages.success(request, f"Travel documents of {person.full_name} saved.")
            return redirect(case_url(case))
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "movements/person_documents.html",
        {"case": case, "person": person, "formset": formset},
        status=status,
    )
