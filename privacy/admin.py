"""The access log and the retention runs in the admin: read only (append-only records)."""

from django.contrib import admin

from privacy.models import AccessLogEntry, RetentionRun


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AccessLogEntry)
class AccessLogAdmin(ReadOnly):
    list_display = ("at", "actor", "kind", "target", "address")
    list_filter = ("kind",)
    search_fields = ("actor", "target", "cases")
    date_hierarchy = "at"


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnly):
    list_display = ("at", "actor", "cases", "medical_cases")
