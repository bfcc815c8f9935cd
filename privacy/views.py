"""The data protection officer's pages: the access log (with CSV), a person's own record, the retention."""

import csv
import datetime
import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from movements.history import actor_label
from movements import reads
from movements.reads import Kind
from movements.spreadsheets import neutralise
from movements.words import counted
from privacy import access_log, retention, subject_record
from privacy.access import LOG_PERMISSION, RETENTION_PERMISSION, SUBJECT_PERMISSION, require
from privacy.forms import AccessLogFilter, SubjectForm
from privacy.models import AccessLogEntry, RetentionRun

PER_PAGE = 50
CSV_COLUMNS = ["at", "who", "username", "kind", "target", "cases", "person_id", "address", "detail"]


def _filtered(form):
    entries = AccessLogEntry.objects.all()
    if not form.is_bound or not form.is_valid():
        return entries
    data = form.cleaned_data
    if data["case"]:
        entries = entries & access_log.concerning_case(data["case"])
    if data["user"]:
        entries = entries.filter(user__username=data["user"])
    if data["kind"]:
        entries = entries.filter(kind=data["kind"])
    if data["since"]:
        entries = entries.filter(at__gte=retention.start_of_day(data["since"]))
    if data["until"]:
        entries = entries.filter(at__lt=retention.start_of_day(data["until"] + datetime.timedelta(days=1)))
    return entries


@login_required
def access_log_page(request):
    require(request.user, LOG_PERMISSION)
    form = AccessLogFilter(request.GET or None)
    entries = _filtered(form).select_related("user").order_by("-at", "-id")
    if form.is_bound and form.is_valid() and request.GET.get("format") == "csv":
        return _csv(entries)
    page = Paginator(entries, PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "privacy/access_log.html", {
        "form": form, "page": page, "query": query.urlencode(), "labels": Kind.LABELS,
        "csv_query": (query.urlencode() + "&" if query else "") + "format=csv",
    }, status=400 if form.is_bound and not form.is_valid() else 200)


class _Echo:
    def write(self, value):
        return value


def _csv(entries):
    writer = csv.writer(_Echo())

    def rows():
        yield "\ufeff" + writer.writerow(CSV_COLUMNS)
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow([neutralise(str(v)) for v in (
                timezone.localtime(e.at).isoformat(), e.actor, e.user.username if e.user else "", e.kind, e.target,
                " ".join(e.case_numbers), e.person_id or "", e.address,
                json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else "")])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="access-log-{timezone.localdate():%Y%m%d}.csv"'
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
def subject_page(request):
    require(request.user, SUBJECT_PERMISSION)
    form = SubjectForm(request.GET or None)
    person = None
    if form.is_bound and form.is_valid():
        person = subject_record.find_person(form.cleaned_data["person"])
        if person is None:
            form.add_error("person", "Nobody has this proGres individual id.")
        else:
            # Finding the person shows their names: a read like any other.
            reads.record(Kind.SUBJECT_RECORD, request=request, cases=[person.case], person=person,
                         target=f"{person.case.case_number}, member {person.pk} (looked up)")
    return render(request, "privacy/subject.html", {"form": form, "person": person},
                  status=400 if form.is_bound and person is None else 200)


@login_required
def subject_download(request, extension):
    require(request.user, SUBJECT_PERMISSION)
    person = subject_record.find_person(request.GET.get("person", ""))
    if person is None:
        messages.error(request, "Nobody has this proGres individual id: no record was produced.")
        return redirect(reverse("privacy_subject"))
    sections, produced = subject_record.produce(person, request=request)
    if extension == "pdf":
        content, content_type = subject_record.as_pdf(person, sections, produced), "application/pdf"
    else:
        content, content_type = subject_record.as_json(person, sections, produced), "application/json; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{subject_record.filename(person, extension)}"'
    response["Cache-Control"] = "no-store, private"
    return response


@login_required
def retention_page(request):
    require(request.user, RETENTION_PERMISSION)
    return render(request, "privacy/retention.html", {
        "plan": retention.preview(), "periods": retention.periods(),
        "runs": RetentionRun.objects.order_by("-at", "-id")[:20],
    })


@login_required
@require_POST
def retention_apply(request):
    require(request.user, RETENTION_PERMISSION)
    run = retention.apply(actor=actor_label(request.user))
    messages.success(request, f"Retention applied: {counted(run.cases, 'case')} anonymised, "
                              f"{counted(run.medical_cases, 'case')} with medical details removed, "
                              f"{counted(run.total_rows, 'row')} changed or deleted in all.")
    return redirect(reverse("privacy_retention"))
