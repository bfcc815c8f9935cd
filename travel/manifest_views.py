"""The departure's printed documents: the manifest (operations and the departure's escorts; anyone else gets a 404,
as for a departure that does not exist) and the advance passenger data (operations only: an escort of the
departure is refused with a 403, as for the departure's other operations-only actions). Every download is logged."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.urls import reverse

from travel.access import can_manage, get_departure_for_user
from travel.apd import apd_csv, apd_xlsx
from travel.manifest import load_manifest, record_download, render_manifest
from travel.boarding import changes_since_final
from travel.models import DepartureState, ManifestDownload, PrintedDocument


def _download(content, content_type, filename):
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def manifest_pdf(request, code):
    departure = get_departure_for_user(request.user, code)
    manifest = load_manifest(departure)
    pdf = render_manifest(departure, manifest=manifest)
    record_download(departure, user=request.user, status=manifest.status, passengers=len(manifest.rows),
                    request=request, cases=[row.case_number for row in manifest.rows])
    return _download(pdf, "application/pdf", f"manifest-{departure.code}-{manifest.status}.pdf")


@login_required
def apd(request, code):
    departure = get_departure_for_user(request.user, code)
    if not can_manage(request.user):
        raise PermissionDenied("Only operations staff download advance passenger data.")
    manifest = load_manifest(departure)
    content = apd_csv(departure, manifest.rows)
    record_download(departure, user=request.user, document=PrintedDocument.APD, status=manifest.status,
                    passengers=len(manifest.rows), request=request, cases=[row.case_number for row in manifest.rows])
    return _download(content.encode("utf-8"), "text/csv; charset=utf-8", f"apd-{departure.code}.csv")


@login_required
def apd_workbook(request, code):
    """The advance passenger data as XLSX: what a spreadsheet opens without turning document numbers into numbers."""
    departure = get_departure_for_user(request.user, code)
    if not can_manage(request.user):
        raise PermissionDenied("Only operations staff download advance passenger data.")
    manifest = load_manifest(departure)
    content = apd_xlsx(departure, manifest.rows)
    record_download(departure, user=request.user, document=PrintedDocument.APD_XLSX, status=manifest.status,
                    passengers=len(manifest.rows), request=request, cases=[row.case_number for row in manifest.rows])
    return _download(content, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     f"apd-{departure.code}.xlsx")


def manifest_panel(departure, user):
    """What the departure's page shows about its printed documents, and what changed the final passenger list since
    the manifest was last printed (operations print it again, and send the carrier its data again)."""
    manage = can_manage(user)
    unprinted = []
    if manage and departure.state == DepartureState.FINAL:
        changes = changes_since_final(departure)
        if changes:
            printed = (ManifestDownload.objects.filter(departure=departure, document=PrintedDocument.MANIFEST)
                       .order_by("-at").values_list("at", flat=True).first())
            unprinted = [entry for entry in changes if printed is None or entry.at >= printed]
    return {
        "unprinted_changes": unprinted,
        "manifest_url": reverse("departure_manifest", args=[departure.code]),
        "apd_url": reverse("departure_apd", args=[departure.code]) if manage else "",
        "apd_xlsx_url": reverse("departure_apd_xlsx", args=[departure.code]) if manage else "",
        "downloads": list(ManifestDownload.objects.filter(departure=departure).order_by("-at", "-id")[:5])
        if manage else [],
    }
