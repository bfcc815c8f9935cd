"""What left the system for partners: one append-only row per status export."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from movements.models import AppendOnlyModel, Person


class StatusExport(AppendOnlyModel):
    """Who exported UNHCR status data, when, in which format, with which filters, and how many rows."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "XLSX (Excel)"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    actor = models.CharField(max_length=200)
    format = models.CharField(max_length=4, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    row_count = models.PositiveIntegerField()
    filename = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        permissions = [("export_status", "Can export UNHCR status data (files and API)")]

    def __str__(self):
        return f"{self.filename or self.format} by {self.actor} at {self.at:%Y-%m-%d %H:%M}"

    # The order the filters are told in: PostgreSQL's jsonb keeps keys in its own order (shortest first).
    FILTER_ORDER = ("destination", "state", "since")

    @property
    def filter_text(self):
        keys = [k for k in self.FILTER_ORDER if k in self.filters] + [
            k for k in self.filters if k not in self.FILTER_ORDER]
        parts = [f"{key.replace('_', ' ')}: {self.filters[key]}" for key in keys if self.filters[key]]
        return "; ".join(parts) or "everything"


class PersonStatus(Person):
    """People as the status export sees them: the admin's "UNHCR status" list, exported with the same columns."""

    class Meta:
        proxy = True
        verbose_name = "UNHCR status (per person)"
        verbose_name_plural = "UNHCR status (per person)"
