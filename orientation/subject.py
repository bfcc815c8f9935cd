"""What orientation holds about one person, for their own record (`hooks.subject_records`)."""

from movements import hooks
from movements.hooks import RecordSection
from movements.subject import text
from orientation.models import Attendance, AttendanceChange, Enrolment


@hooks.subject_records.register
def orientation_record(person):
    enrolments = Enrolment.objects.filter(person=person).select_related("session").order_by("enrolled_at", "id")
    marks = Attendance.objects.filter(enrolment__person=person).select_related(
        "day__session").order_by("day__date", "id")
    changes = AttendanceChange.objects.filter(attendance__enrolment__person=person).select_related(
        "attendance__day__session").order_by("changed_at", "id")
    return [
        RecordSection("Orientation sessions", order=50, columns=("Session", "Language", "Place", "Enrolled"),
                      rows=tuple((e.session.code, e.session.get_language_display(), e.session.location,
                                  text(e.enrolled_at)) for e in enrolments)),
        RecordSection("Orientation attendance", order=51, columns=("Session", "Day", "Date", "Mark"), rows=tuple(
            (m.day.session.code, str(m.day.number), text(m.day.date), m.get_status_display()) for m in marks)),
        RecordSection("Attendance corrections", order=52, columns=("When", "Session", "Day", "From", "To", "Reason"),
                      rows=tuple((text(c.changed_at), c.attendance.day.session.code, str(c.attendance.day.number),
                                  c.old_status or "—", c.new_status, text(c.reason)) for c in changes)),
    ]
