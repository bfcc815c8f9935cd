"""The access log and the retention runs in the admin: read only (append-only records)."""

from django.contrib import admin

from movements.admin import ReadOnlyMixin
from privacy.models import AccessLogEntry, RetentionRun


@admin.register(AccessLogEntry)
class AccessLogAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "kind", "target", "address")
    list_filter = ("kind",)
    search_fields = ("actor", "target", "cases")
    date_hierarchy = "at"


@admin.register(RetentionRun)
class RetentionRunAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("at", "actor", "cases", "medical_cases")
