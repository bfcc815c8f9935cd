"""What orientation holds about one person, for their own record (`hooks.subject_records`)."""

from movements import hooks
from movements.hooks import RecordSection
from movements.subject import text
from orientation.models import Attendance, AttendanceChange, AttendanceStatus, Declined, Enrolment


@hooks.subject_records.register
def orientation_record(person):
    enrolments = Enrolment.objects.filter(person=person).select_related("session").order_by("enrolled_at", "id")
    marks = Attendance.objects.filter(enrolment__person=person).select_related(
        "day__session").order_by("day__date", "id")
    changes = AttendanceChange.objects.filter(attendance__enrolment__person=person).select_related(
        "attendance__day__session").order_by("changed_at", "id")
    declines = Declined.objects.filter(person=person).order_by("recorded_at", "id")
    return [
        RecordSection("Orientation sessions", order=50, columns=("Session", "Language", "Place", "Enrolled"),
                      rows=tuple((e.session.code, e.session.get_language_display(), e.session.location,
                                  text(e.enrolled_at)) for e in enrolments)),
        RecordSection("Orientation attendance", order=51, columns=("Session", "Day", "Date", "Mark"), rows=tuple(
            (m.day.session.code, str(m.day.number), text(m.day.date), m.get_status_display()) for m in marks)),
        RecordSection("Attendance marks as recorded and corrected", order=52,
                      columns=("When", "Session", "Day", "Mark", "Reason"),
                      rows=tuple((text(c.changed_at), c.attendance.day.session.code, str(c.attendance.day.number),
                                  _change(c), text(c.reason)) for c in changes)),
        RecordSection("Orientation declined", order=53, columns=("Recorded", "Reason", "Withdrawn", "Why"),
                      rows=tuple((text(d.recorded_at), text(d.reason), text(d.withdrawn_at), text(d.withdraw_reason))
                                 for d in declines)),
    ]


def _change(change):
    """"recorded: Present" for a first mark, "Absent → Late" for a correction."""
    new = _status(change.new_status)
    return f"{_status(change.old_status)} → {new}" if change.old_status else f"recorded: {new}"


def _status(code):
    return AttendanceStatus(code).label if code in AttendanceStatus.values else code
