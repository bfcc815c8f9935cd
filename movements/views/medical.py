"""Pages of the medical role: the work list, a person's medical record, recording exams and travel needs.

Every view here requires the medical permissions; other roles get 403 and see only the clearance
summary on the case page.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from movements import medical, once, reads
from movements.access import access_for
from movements.forms import NewMedicalExamForm, TravelMedicalNeedsForm
from movements.models import Case, CaseState, HoldCategory, MedicalExam, Person, TBStatus, TravelMedicalNeeds


def _require_medical(user, *, write=False):
    access = access_for(user)
    if not access.can_see_medical or (write and not access.can_record_medical):
        raise PermissionDenied("Medical records are for medical staff only.")
    return access


@login_required
def work_list(request):
    """The readiness registry's medical blockers, by due date: what stops families from flying that medical staff
    resolve (exams missing or expiring before the travel date, TB treatment, pregnancies past the airline's limit,
    certificates and MEDIF forms due)."""
    _require_medical(request.user)
    today = timezone.localdate()
    paginator = Paginator(medical.work_list_cases(), 25)
    page = paginator.get_page(request.GET.get("page"))
    items = medical.work_items(page.object_list)
    if items:
        reads.record(reads.Kind.MEDICAL_LIST, request=request, cases=sorted({item.case.case_number for item in items}),
                     target=f"page {page.number}")
    for item in items:
        item.days = (item.due - today).days if item.due else None
        item.not_yet = item.from_day is not None and item.from_day > today
    # What can be done today first; a check before boarding whose window has not opened after it (in due order).
    items.sort(key=lambda item: item.not_yet)
    return render(request, "movements/medical_work_list.html", {"page": page, "items": items, "today": today})


def _person(person_id):
    return get_object_or_404(Person.objects.select_related("case"), pk=person_id)


@login_required
def person_record(request, person_id):
    access = _require_medical(request.user)
    person = _person(person_id)
    reads.record(reads.Kind.MEDICAL, request=request, cases=[person.case], person=person,
                 target=f"{person.case.case_number}, member {person.pk}")
    status = medical.statuses_for([person])[person.pk]
    needs = status.needs or TravelMedicalNeeds(person=person)
    needs_form = TravelMedicalNeedsForm(instance=needs, person=person, prefix="needs")
    if request.method == "POST":
        _require_medical(request.user, write=True)
        needs_form = TravelMedicalNeedsForm(request.POST, instance=needs, person=person, prefix="needs")
        if needs_form.is_valid():
            with transaction.atomic():
                saved = needs_form.save(commit=False)
                saved.person = person
                saved.updated_by = request.user
                saved.save()
            messages.success(request, f"Travel medical needs of {person.full_name} saved.")
            return redirect(reverse("medical_person", args=[person.pk]))
    return render(
        request,
        "movements/medical_person.html",
        {
            "person": person,
            "case": person.case,
            "status": status,
            "exams": person.medical_exams.select_related("recorded_by"),
            "needs_form": needs_form,
            "can_record": access.can_record_medical,
            "tb_status_label": TBStatus(status.tb_status).label if status.tb_status else "not assessed",
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
def exam_create(request, person_id):
    _require_medical(request.user, write=True)
    person = _person(person_id)
    form = NewMedicalExamForm(request.POST or None, initial={"exam_date": timezone.localdate()},
                              instance=MedicalExam(person=person))  # its checks know whose exam it is
    if request.method == "POST" and form.is_valid():
        exam = form.save(commit=False)
        was_state = person.case.state

        def record():
            medical.record_exam(exam, by=request.user)
            return reverse("medical_person", args=[person.pk])

        address, made = once.create_once(request, form, record)
        # The case as it is now, read anew (not with refresh_from_db: django-fsm-2 lifts the state field's
        # protection for the whole process while it refreshes, and two threads refreshing at once trip over it).
        case = Case.objects.only("case_number", "state", "hold_category").get(pk=person.case_id)
        if not made:
            # A request sent again when the first one's answer was lost: what that answer said about the case
            # must not be lost with it.
            if case.state == CaseState.ON_HOLD and case.hold_category == HoldCategory.MEDICAL:
                messages.warning(request, f"Case {case.case_number} is on medical hold.")
            return once.already_made(request, address)
        messages.success(request, f"{exam.get_kind_display()} of {person.full_name} recorded.")
        outside = medical.fit_to_travel_outside_window(exam)
        if outside:
            messages.warning(request, outside)
        if case.state != was_state:
            messages.warning(request, f"Case {case.case_number} was put on medical hold.")
        return redirect(reverse("medical_person", args=[person.pk]))
    reads.record(reads.Kind.MEDICAL, request=request, cases=[person.case], person=person,
                 target=f"{person.case.case_number}, member {person.pk}", detail={"form": "new exam"})
    return render(
        request,
        "movements/medical_exam_form.html",
        {"person": person, "case": person.case, "form": form},
        status=400 if request.method == "POST" else 200,
    )
