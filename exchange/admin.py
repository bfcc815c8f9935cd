"""The admin's view of what left for partners: the export log (read-only) and the per-person status list, whose
export uses the status export's own columns (StatusResource)."""

from django.contrib import admin
from django.utils import timezone
from import_export.admin import ExportMixin

from exchange.models import PersonStatus, StatusExport
from exchange.status import StatusResource
from movements.admin import ReadOnlyMixin


@admin.register(StatusExport)
class StatusExportAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "format", "filter_text", "row_count", "filename")
    list_filter = ("format",)


@admin.register(PersonStatus)
class PersonStatusAdmin(ExportMixin, admin.ModelAdmin):
    resource_classes = [StatusResource]
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
