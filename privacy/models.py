"""Data protection records: who read personal data (the access log), and what each retention run removed."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from movements.models import AppendOnlyModel, Case
from movements.reads import Kind


class AccessLogEntry(AppendOnlyModel):
    """One read of personal data: who, when, from which address, what (a kind, a target, the cases concerned).

    Written once per request (a page of a list is one row, never one per case). Append-only like every history:
    only the retention prunes it, once an entry is older than SAFAR_ACCESS_LOG_DAYS (`prune`), and it is never
    anonymised before then — it is the record that says who looked at a family that has since been anonymised."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")
    actor = models.CharField(max_length=200, help_text="The user's name, or the command that read.")
    kind = models.CharField(max_length=20, choices=list(Kind.LABELS.items()))
    # The case numbers concerned, each between spaces (" DYU-2026-00001 DYU-2026-00007 "): "who looked at this
    # case?" is one search for " NUMBER ", on SQLite and PostgreSQL alike, and a read costs one insert.
    cases = models.TextField(blank=True)
    person_id = models.PositiveIntegerField(null=True, blank=True, help_text="A member, when one was read.")
    target = models.CharField(max_length=200, blank=True)
    address = models.CharField(max_length=45, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "access log entry"
        verbose_name_plural = "access log"
        indexes = [models.Index(fields=["user", "at"])]
        permissions = [
            ("read_subject_records", "Can produce a person's own record (data subject request)"),
            ("run_retention", "Can preview and apply the retention"),
        ]

    def __str__(self):
        return f"{self.actor} read {self.get_kind_display().lower()} {self.target} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def case_numbers(self):
        return self.cases.split()

    @classmethod
    def prune(cls, before):
        """The one door that deletes entries: those logged before `before` (the retention's cutoff)."""
        return models.QuerySet.delete(cls.objects.filter(at__lt=before))[0]


def case_key(number):
    return f" {number} "


class RetentionRun(AppendOnlyModel):
    """What one run of the retention removed: when, who or what ran it, and per kind how many rows changed."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=200)
    cases = models.PositiveIntegerField(default=0, help_text="Cases anonymised (names, documents, notes, …).")
    medical_cases = models.PositiveIntegerField(default=0, help_text="Cases whose medical details were removed.")
    # [{"kind", "label", "rows"}, …] in the order the shredders ran.
    removed = models.JSONField(default=list, blank=True)
    # The retention periods in force (days per closed state, medical, access log, log-in records).
    periods = models.JSONField(default=dict, blank=True)
    case_numbers = models.TextField(blank=True, help_text="The cases anonymised, by number.")

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"Retention run at {self.at:%Y-%m-%d %H:%M}: {self.cases} case(s)"

    @property
    def total_rows(self):
        return sum(line["rows"] for line in self.removed)


class AnonymisedCase(models.Model):
    """Which cases the retention has done, and when: their personal data (`personal_at`) and their medical details
    (`medical_at`, earlier: the stricter retention). A case done is not looked at again."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="anonymisation")
    personal_at = models.DateTimeField(null=True, blank=True)
    personal_run = models.ForeignKey(RetentionRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    medical_at = models.DateTimeField(null=True, blank=True)
    medical_run = models.ForeignKey(RetentionRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    def __str__(self):
        return f"{self.case} anonymised"

