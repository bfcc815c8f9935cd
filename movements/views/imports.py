"""Referral intake pages for operations: upload → preview (a dry run) → confirm → result."""

import datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.core.files.uploadhandler import FileUploadHandler
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from movements import reads
from movements.models import Case, Person, ReferralUpload
from movements.referral_import import checksum, run_import, visible


class UploadForm(forms.Form):
    file = forms.FileField(label="Referral file (CSV or XLSX)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.SAFAR_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {upload.size / 1_048_576:.1f} MB; the largest accepted is {limit / 1_048_576:.1f} MB."
            )
        return upload


def _require_import(user):
    if not user.has_perm("movements.import_referrals"):
        raise PermissionDenied("Only operations staff import referral files.")


class SizeLimitedUploadHandler(FileUploadHandler):
    """Discard an uploaded file's bytes past the size limit instead of storing them, and say so.

    It runs before the handlers that keep files in memory or on disk, so a huge upload costs neither.
    """

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.request.upload_too_large = False

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > settings.SAFAR_MAX_UPLOAD_BYTES:
            self.request.upload_too_large = True
            return None  # later handlers never see this chunk
        return raw_data

    def file_complete(self, file_size):
        return None


def _too_large(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return length > settings.SAFAR_MAX_UPLOAD_BYTES + 64 * 1024 or getattr(request, "upload_too_large", False)


def expire_previews(now=None):
    """Previews left unconfirmed past SAFAR_IMPORT_PREVIEW_HOURS expire, and their files are deleted."""
    return ReferralUpload.stale_previews(now or timezone.now()).update(status=ReferralUpload.Status.EXPIRED,
                                                                        content=None)


def _expires_at(upload):
    return upload.uploaded_at + datetime.timedelta(hours=settings.SAFAR_IMPORT_PREVIEW_HOURS)


@csrf_exempt
def import_list(request):
    # Upload handlers must be in place before anything reads the body, the CSRF check included.
    request.upload_handlers.insert(0, SizeLimitedUploadHandler(request))
    return _import_list(request)


@login_required
@csrf_protect
def _import_list(request):
    _require_import(request.user)
    form = UploadForm()
    status = 200
    if request.method == "POST":
        if _too_large(request):
            # The oversized file was never stored (see SizeLimitedUploadHandler).
            form.errors["file"] = form.error_class([
                f"The file is larger than {settings.SAFAR_MAX_UPLOAD_BYTES / 1_048_576:.1f} MB, the largest accepted."
            ])
            status = 413
        else:
            form = UploadForm(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                data = upload.read()
                name = visible(upload.name)[:255]  # a file name can hold a NUL, which PostgreSQL refuses
                report = run_import(data, name, by=request.user, dry_run=True)
                record = ReferralUpload(
                    filename=name, content=data if report.ok else None, sha256=checksum(data),
                    size=len(data), uploaded_by=request.user,
                    status=ReferralUpload.Status.PREVIEWED if report.ok else ReferralUpload.Status.REFUSED,
                )
                record.keep_report(report)
                record.save()
                return redirect(reverse("import_detail", args=[record.pk]))
            status = 400
    expire_previews()
    # Never the reports or the files: the list shows their counts only.
    uploads = ReferralUpload.objects.select_related("uploaded_by").defer("content", "report")[:20]
    return render(request, "movements/import_list.html", {"form": form, "uploads": uploads}, status=status)


@login_required
def import_detail(request, upload_id):
    _require_import(request.user)
    expire_previews()
    upload = get_object_or_404(ReferralUpload.objects.defer("content"), pk=upload_id)
    earlier = (
        ReferralUpload.objects.defer("content", "report")
        .filter(sha256=upload.sha256, status=ReferralUpload.Status.IMPORTED, uploaded_at__lt=upload.uploaded_at)
        .select_related("uploaded_by")
        .order_by("-imported_at")
        .first()
    )
    report = upload.report
    new_cases = []
    if upload.status == ReferralUpload.Status.IMPORTED and report.get("new_cases"):
        # The case numbers given at import, linked, with whom each family is, as the case list names it (two
        # queries; a very large import lists its first ones).
        shown = report["new_cases"][:NEW_CASES_SHOWN]
        found = {progres_id: (number, members) for progres_id, number, members in Case.objects.filter(
            progres_case_id__in=shown).annotate(members_count=Count("members")).values_list(
            "progres_case_id", "case_number", "members_count")}
        principals = {progres_id: f"{family}, {given}" for progres_id, family, given in Person.objects.filter(
            case__progres_case_id__in=shown, relationship="PA").values_list(
            "case__progres_case_id", "family_name", "given_name")}
        new_cases = [(*found.get(progres_id, (None, 0)), progres_id, principals.get(progres_id, ""))
                     for progres_id in shown]
        # The list names families: one read for the access log ("who looked at this case?").
        reads.record(reads.Kind.CASE_LIST, request=request, cases=[c[0] for c in new_cases if c[0]],
                     target=f"import of {upload.filename}"[:200])
    if report.get("errors") or report.get("updated_people") or report.get("updated_cases"):
        # A refused file's report quotes its cells (names, dates of birth, phones, proGres ids), and a preview
        # lists the known people and cases it would change: a read of personal data too.
        people = sorted(report.get("updated_people") or {})[:NEW_CASES_SHOWN]
        case_ids = sorted(report.get("updated_cases") or {})[:NEW_CASES_SHOWN]
        cases = set(Person.objects.filter(progres_individual_id__in=people).values_list("case__case_number", flat=True)
                    ) if people else set()
        cases |= set(Case.objects.filter(progres_case_id__in=case_ids).values_list("case_number", flat=True)
                     ) if case_ids else set()
        reads.record(reads.Kind.IMPORT_REPORT, request=request, cases=cases,
                     target=f"import of {upload.filename}"[:200],
                     detail={"status": upload.status, "errors": len(report.get("errors") or [])})
    return render(request, "movements/import_detail.html", {
        "upload": upload, "report": report, "earlier": earlier, "new_cases": new_cases,
        "more_new_cases": max(0, len(report.get("new_cases") or []) - NEW_CASES_SHOWN),
        "expires_at": _expires_at(upload), "preview_hours": settings.SAFAR_IMPORT_PREVIEW_HOURS})


NEW_CASES_SHOWN = 500


@login_required
@require_POST
def import_discard(request, upload_id):
    """Drop a preview that will not be confirmed (a wrong file): its file is deleted, its record stays."""
    _require_import(request.user)
    with transaction.atomic():
        upload = get_object_or_404(ReferralUpload.objects.select_for_update(no_key=True).defer("content"), pk=upload_id)
        if upload.status != ReferralUpload.Status.PREVIEWED:
            messages.error(request, f"{upload.filename} is {upload.get_status_display().lower()}: there is no preview "
                                    "to discard.")
        else:
            upload.status, upload.content = ReferralUpload.Status.DISCARDED, None
            upload.save(update_fields=["status", "content"])
            messages.success(request, f"The preview of {upload.filename} was discarded: nothing was imported.")
    return redirect(reverse("import_list"))


@login_required
@require_POST
def import_confirm(request, upload_id):
    _require_import(request.user)
    expire_previews()
    with transaction.atomic():
        upload = get_object_or_404(ReferralUpload.objects.select_for_update(no_key=True), pk=upload_id)
        if upload.status == ReferralUpload.Status.EXPIRED:
            messages.error(request, f"The preview of {upload.filename} expired: it was not confirmed within "
                                    f"{settings.SAFAR_IMPORT_PREVIEW_HOURS} hours. Upload the file again to import it.")
            return redirect(reverse("import_detail", args=[upload.pk]))
        if upload.status != ReferralUpload.Status.PREVIEWED or upload.content is None:
            messages.error(request, f"{upload.filename} is {upload.get_status_display().lower()}: nothing to confirm.")
            return redirect(reverse("import_detail", args=[upload.pk]))
        report = run_import(bytes(upload.content), upload.filename, by=request.user)
        if report.busy:
            # Someone else is importing the same file or people right now: this one stays ready to confirm.
            messages.error(request, report.errors[0].message)
            return redirect(reverse("import_detail", args=[upload.pk]))
        upload.keep_report(report)
        if report.ok:
            upload.status = ReferralUpload.Status.IMPORTED
            upload.imported_at = timezone.now()
            upload.content = None  # personal data: keep the record of the import, not the file
            messages.success(request, report.summary())
        else:
            # The database changed since the preview (another import, an edit): nothing was saved.
            upload.status = ReferralUpload.Status.REFUSED
            upload.content = None
            messages.error(request, "The file no longer imports cleanly: " + report.summary())
        upload.save()
    return redirect(reverse("import_detail", args=[upload.pk]))
