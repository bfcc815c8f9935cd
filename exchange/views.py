"""The exports page: past exports and a new one, streamed as CSV or XLSX."""

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import render

from exchange import status
from exchange.access import require_export
from exchange.forms import StatusExportForm
from exchange.models import StatusExport
from movements import reads
from movements.history import actor_label


def record_export(user, fmt, status_filter, row_count, filename=""):
    return StatusExport.objects.create(
        user=user, actor=actor_label(user), format=fmt, filters=status_filter.as_dict(), row_count=row_count,
        filename=filename,
    )


@login_required
def exports(request):
    require_export(request.user)
    form = StatusExportForm(request.GET or None)
    if form.is_bound and form.is_valid():
        return download(request.user, form.cleaned_data["format"], form.cleaned_data["filter"], request=request)
    recent = StatusExport.objects.select_related("user").order_by("-at", "-id")[:30]
    return render(request, "exchange/exports.html", {"form": form, "recent": recent},
                  status=400 if form.is_bound else 200)


def download(user, fmt, status_filter, request=None):
    filename = status_filter.filename(fmt)
    if fmt == "csv":
        rows = status.count(status_filter)
        response = StreamingHttpResponse(status.csv_chunks(status_filter), content_type="text/csv; charset=utf-8")
    else:  # built before it is recorded: a workbook that could not be made was not exported
        output, rows = status.xlsx_file(status_filter)
        response = FileResponse(
            output, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    record_export(user, fmt, status_filter, rows, filename)
    # A whole export names no cases in the access log (that would cost a row's worth per case): its filters say
    # which cases it held.
    reads.record(reads.Kind.EXPORT, request=request, user=user, target=filename,
                 detail={"format": fmt, "filters": status_filter.as_dict(), "rows": rows})
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store, private"
    return response
