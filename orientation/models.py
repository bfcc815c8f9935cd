"""Canadian Orientation Abroad: sessions of a few days, enrolment, per-day attendance and its history."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, transition

from movements.models import AppendOnlyModel, Language, Person, reason_field


class Curriculum(models.TextChoices):
    ADULT = "adult", "Adult"
    YOUTH = "youth", "Youth"


class SessionState(models.TextChoices):
    PLANNED = "planned", "Planned"
    RUNNING = "running", "Running"
    CLOSED = "closed", "Closed"


def default_capacity():
    return settings.SAFAR_ORIENTATION_CAPACITY


class Session(models.Model):
    code = models.CharField(max_length=30, unique=True, editable=False)
    curriculum = models.CharField(max_length=10, choices=Curriculum.choices, default=Curriculum.ADULT)
    language = models.CharField("language of instruction", max_length=3, choices=Language.choices)
    location = models.CharField(max_length=200)
    trainers = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="orientation_sessions", blank=True)
    capacity = models.PositiveSmallIntegerField(default=default_capacity)
    state = FSMField(default=SessionState.PLANNED, choices=SessionState.choices, protected=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("run_session", "Can record attendance in sessions they train")]

    def __str__(self):
        return self.code

    def save(self, *args, **kwargs):
        if not self.code:
            from movements.models import CaseNumberCounter

            year = timezone.localdate().year
            number = CaseNumberCounter.reserve("COA", year, 1)[0]  # COA-2026-00001
            self.code = number
        super().save(*args, **kwargs)

    @property
    def first_day(self):
        days = self.ordered_days
        return days[0].date if days else None

    @property
    def last_day(self):
        days = self.ordered_days
        return days[-1].date if days else None

    @property
    def ordered_days(self):
        cached = getattr(self, "_prefetched_objects_cache", {}).get("days")
        return sorted(cached, key=lambda d: d.number) if cached is not None else list(self.days.order_by("number"))

    @transition(field=state, source=SessionState.PLANNED, target=SessionState.RUNNING)
    def start(self):
        pass

    @transition(field=state, source=SessionState.RUNNING, target=SessionState.CLOSED)
    def close(self):
        pass

    # Only through orientation.services.change_session_state: operations staff, with a reason, logged.
    @transition(field=state, source=SessionState.CLOSED, target=SessionState.RUNNING)
    def reopen(self):
        pass


class SessionDay(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="days")
    number = models.PositiveSmallIntegerField()
    date = models.DateField()

    class Meta:
        ordering = ["session", "number"]
        constraints = [models.UniqueConstraint(fields=["session", "number"], name="one_day_number_per_session")]

    def __str__(self):
        return f"{self.session} day {self.number} ({self.date})"


class Enrolment(models.Model):
    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="enrolments")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="enrolments")
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    enrolled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["person__family_name", "person__given_name", "id"]
        constraints = [models.UniqueConstraint(fields=["session", "person"], name="one_enrolment_per_session")]

    def __str__(self):
        return f"{self.person} in {self.session}"

    def delete(self, *args, **kwargs):
        raise ValidationError("Enrolments are kept with their attendance; they are not deleted.")


class AttendanceStatus(models.TextChoices):
    PRESENT = "present", "Present"
    LATE = "late", "Late"
    ABSENT = "absent", "Absent"


ATTENDED = {AttendanceStatus.PRESENT, AttendanceStatus.LATE}


class Attendance(models.Model):
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="attendance")
    day = models.ForeignKey(SessionDay, on_delete=models.PROTECT, related_name="attendance")
    status = models.CharField(max_length=10, choices=AttendanceStatus.choices)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["enrolment", "day"], name="one_mark_per_person_and_day")]

    def __str__(self):
        return f"{self.enrolment.person} {self.day}: {self.status}"

    def delete(self, *args, **kwargs):
        raise ValidationError("Attendance is corrected, never deleted.")


class AttendanceChange(AppendOnlyModel):
    """History of every mark: the first entry and each correction (who, when, from, to, why)."""

    attendance = models.ForeignKey(Attendance, on_delete=models.PROTECT, related_name="changes")
    old_status = models.CharField(max_length=10, choices=AttendanceStatus.choices, blank=True)
    new_status = models.CharField(max_length=10, choices=AttendanceStatus.choices)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    reason = reason_field()

    class Meta:
        ordering = ["-changed_at", "-id"]


class SessionChange(AppendOnlyModel):
    """History of a session's state: who started, closed or reopened it, when, and (reopening) why."""

    session = models.ForeignKey(Session, on_delete=models.PROTECT, related_name="state_changes")
    action = models.CharField(max_length=10)  # start, close, reopen
    from_state = models.CharField(max_length=10, choices=SessionState.choices)
    to_state = models.CharField(max_length=10, choices=SessionState.choices)
    reason = reason_field()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self):
        return f"{self.session} {self.from_state} → {self.to_state} ({self.action})"


class Declined(models.Model):
    """A person who said they will not attend orientation. Attendance is voluntary for the person (DOMAIN.md): once
    recorded, their orientation no longer holds the family's travel. Withdrawn, with a reason, when they change
    their mind (then they are due again); a withdrawn row stays as history."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="orientation_declines")
    reason = reason_field()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    withdrawn_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    withdraw_reason = reason_field()

    class Meta:
        verbose_name = "orientation declined"
        verbose_name_plural = "records of orientation declined"
        ordering = ["-recorded_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["person"], condition=models.Q(withdrawn_at__isnull=True),
                                               name="one_standing_decline_per_person")]

    def __str__(self):
        return f"{self.person} declined orientation"
