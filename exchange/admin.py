"""The admin's view of what left for partners: the export log (read-only) and the per-person status list, whose
export uses the status export's own columns (StatusResource)."""

from django.contrib import admin
from django.utils import timezone
from import_export.admin import ExportMixin
from import_export.formats.base_formats import CSV, XLSX

from exchange.models import PersonStatus, StatusExport
from exchange.status import StatusResource
from movements import reads
from movements.admin import ReadOnlyMixin, ReadsLoggedMixin
from movements.history import actor_label


@admin.register(StatusExport)
class StatusExportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "format", "filter_text", "row_count", "filename")
    list_filter = ("format",)


@admin.register(PersonStatus)
class PersonStatusAdmin(ReadsLoggedMixin, ExportMixin, admin.ModelAdmin):
    person_path = "pk"
    resource_classes = [StatusResource]
    formats = [CSV, XLSX]  # the status export's two (not TSV, JSON, YAML or an HTML page)
    list_display = ("progres_individual_id", "family_name", "given_name", "case")
    list_filter = ("case__state", "case__destination_country")
    search_fields = ("progres_individual_id", "case__case_number", "case__progres_case_id")
    list_select_related = ("case",)
    fields = list_display
    readonly_fields = list_display

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_export_permission(self, request):
        return request.user.has_perm("exchange.export_status")

    def get_export_filename(self, request, queryset, file_format):
        """Named as the status export's files are, dated in the mission's time zone (not "PersonStatus-…")."""
        return f"safar-status-{timezone.localdate().isoformat()}.{file_format.get_extension()}"

    def get_export_data(self, file_format, request, queryset, **kwargs):
        """The file, logged as every status export is (`StatusExport`, and a row of the access log): names and
        proGres ids of whoever the list's filters selected leave with it."""
        data = super().get_export_data(file_format, request, queryset, **kwargs)
        extension = file_format.get_extension()
        filename = self.get_export_filename(request, queryset, file_format)
        rows = queryset.count()
        filters = {"admin list": request.GET.urlencode()[:500]}
        StatusExport.objects.create(user=request.user, actor=actor_label(request.user), format=extension,
                                    filters=filters, row_count=rows, filename=filename)
        reads.record(reads.Kind.EXPORT, request=request, target=filename,
                     detail={"format": extension, "filters": filters, "rows": rows, "via": "admin"})
        return data
