"""What the retention removes from travel's records (`hooks.retention_shredders`): free texts written about
families on the way (reasons, notes, incidents) and names in the departures' logs. Bookings, seats, boarding marks
(who boarded, when), arrivals and incidents' kinds, places and times stay: they are the movement's statistics."""

from django.db.models import Q

from movements import hooks
from movements.shredders import FieldShredder
from travel.models import (
    BoardingLogEntry, Booking, DepartureLogEntry, FitToTravelOverride, Incident, SplitRequest, TravelExclusion,
)


class BookingReasons(FieldShredder):
    kind = "booking_reasons"
    label = "Reasons a booking was cancelled"
    description = "The free text given when a family's booking was cancelled."
    order = 10
    model = Booking
    blank = {"cancel_reason": ""}
    case_field = "case_id"


class ExclusionReasons(FieldShredder):
    kind = "travel_exclusions"
    label = "Reasons a member did not travel"
    description = "Why a member was excluded from travel (a split decision) and why that was lifted."
    order = 10
    model = TravelExclusion
    blank = {"reason": "", "lift_reason": ""}
    case_field = "case_id"


class SplitReasons(FieldShredder):
    kind = "split_requests"
    label = "Reasons for splitting a family at boarding"
    description = "The escort's reason for asking and operations' note when deciding."
    order = 10
    model = SplitRequest
    blank = {"reason": "", "decision_note": ""}
    case_field = "case_id"


class BoardingMarks(FieldShredder):
    kind = "boarding_log"
    label = "Reasons and names in the boarding log"
    description = ("The reason given to undo a boarding mark, and names in the mark's facts. Who marked whom "
                   "boarded or no-show, and when, stay.")
    order = 10
    model = BoardingLogEntry
    blank = {"reason": ""}
    scrub = ("data",)
    case_field = "case_id"


class DepartureLog(FieldShredder):
    kind = "departure_log"
    label = "Names in the departures' logs"
    description = ("A departure's log names the families it concerns (\u201cNo-show: Karimi, Zahra\u201d): the names "
                   "are replaced by \u201c[name removed]\u201d in its summary, reason and facts; the rest of the entry "
                   "concerns the departure and stays.")
    order = 10
    model = DepartureLogEntry
    scrub = ("summary", "reason", "data")

    def rows(self, batch):
        departures = Booking.objects.filter(case_id__in=batch.case_ids).values("departure_id")
        return DepartureLogEntry.objects.filter(departure_id__in=departures)


class IncidentNotes(FieldShredder):
    kind = "incident_notes"
    label = "Incident notes"
    description = ("The note of an incident that concerned only members of these cases is removed; an incident that "
                   "also concerned others, or was logged for their departure as a whole, keeps its note with these "
                   "members' names taken out. The incident's kind, time and place stay.")
    order = 10
    model = Incident
    scrub = ("note",)

    def rows(self, batch):
        # An incident logged for the whole departure (nobody ticked) may still name a family in its note.
        departures = Booking.objects.filter(case_id__in=batch.case_ids).values("departure_id")
        return (Incident.objects.filter(Q(people__in=batch.person_ids) | Q(departure_id__in=departures,
                                                                             people__isnull=True))
                .distinct().prefetch_related("people"))

    def only_fields(self):
        return ["note"]

    def change(self, row, batch):
        concerned = {p.pk for p in row.people.all()}
        if concerned and concerned <= set(batch.person_ids):
            if row.note:
                row.note = ""
                return True
            return False
        return super().change(row, batch)


class FitToTravelOverrides(FieldShredder):
    kind = "fit_to_travel_overrides"
    label = "Medical reasons for boarding without a fit-to-travel check"
    description = "Medical staff's written reason for an override, and the reason it was withdrawn."
    medical = True
    order = 50
    model = FitToTravelOverride
    blank = {"reason": "", "revoke_reason": ""}
    person_field = "person_id"


@hooks.retention_shredders.register
def travel_shredders():
    return [BookingReasons(), ExclusionReasons(), SplitReasons(), BoardingMarks(), DepartureLog(), IncidentNotes(),
            FitToTravelOverrides()]
