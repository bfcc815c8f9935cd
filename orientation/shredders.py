"""What the retention removes from orientation's records (`hooks.retention_shredders`): the reasons given when a
person's attendance was corrected, and those given when they declined orientation or withdrew that. Enrolments,
attendance marks, refusals and their history (who, when, from, to) stay."""

from movements import hooks
from movements.shredders import FieldShredder
from orientation.models import AttendanceChange, Declined


class AttendanceReasons(FieldShredder):
    kind = "attendance_reasons"
    label = "Reasons for attendance corrections"
    description = "The free text a trainer gave when correcting a person's attendance mark."
    order = 10
    model = AttendanceChange
    blank = {"reason": ""}

    def rows(self, batch):
        return AttendanceChange.objects.filter(attendance__enrolment__person_id__in=batch.person_ids)


class DeclinedReasons(FieldShredder):
    kind = "orientation_declined_reasons"
    label = "Reasons for declining orientation"
    description = "Why a person declined orientation, or later chose to attend after all (it may tell of an illness)."
    order = 11
    model = Declined
    blank = {"reason": "", "withdraw_reason": ""}
    person_field = "person_id"


@hooks.retention_shredders.register
def orientation_shredders():
    return [AttendanceReasons(), DeclinedReasons()]
