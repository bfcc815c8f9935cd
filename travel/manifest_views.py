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


# The advance passenger data's two forms: (document logged, how it is written, content type, file extension).
APD_FORMATS = {
    "csv": (PrintedDocument.APD, lambda d, rows: apd_csv(d, rows).encode("utf-8"), "text/csv; charset=utf-8"),
    # What a spreadsheet opens without turning document numbers into numbers.
    "xlsx": (PrintedDocument.APD_XLSX, apd_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


@login_required
def apd(request, code, fmt="csv"):
    departure = get_departure_for_user(request.user, code)
    if not can_manage(request.user):
        raise PermissionDenied("Only operations staff download advance passenger data.")
    document, write, content_type = APD_FORMATS[fmt]
    manifest = load_manifest(departure)
    content = write(departure, manifest.rows)
    record_download(departure, user=request.user, document=document, status=manifest.status,
                    passengers=len(manifest.rows), request=request, cases=[row.case_number for row in manifest.rows])
    return _download(content, content_type, f"apd-{departure.code}.{fmt}")


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
