"""What travel holds about one person, for their own record (`hooks.subject_records`)."""

from movements import hooks
from movements.hooks import RecordSection
from movements.subject import others_redacted, text
from travel.models import (
    BoardingLogEntry, Booking, FitToTravelOverride, Incident, Passenger, SplitRequest, TravelExclusion,
)


@hooks.subject_records.register
def travel_record(person):
    bookings = Booking.objects.filter(case=person.case).select_related("departure").order_by("booked_at", "id")
    passages = Passenger.objects.filter(person=person).select_related("departure").order_by("id")
    marks = BoardingLogEntry.objects.filter(person=person).select_related("departure").order_by("at", "id")
    redact = others_redacted(person)  # texts of the case's that may name other members
    sections = [
        RecordSection("Bookings of the case", order=60, columns=(
            "Departure", "Date", "Destination", "Status", "Booked", "Cancelled", "Reason", "Arrived"), rows=tuple(
            (b.departure.code, text(b.departure.departure_date),
             b.departure.final_destination, b.get_status_display(), text(b.booked_at), text(b.cancelled_at),
             text(redact(b.cancel_reason)), text(b.arrived_at)) for b in bookings)),
        RecordSection("Seats and boarding", order=61, columns=("Departure", "Seat held", "Boarding", "Marked"),
                      rows=tuple((p.departure.code, text(p.active), p.get_boarding_display(),
                                  text(p.boarding_marked_at)) for p in passages)),
        RecordSection("Boarding log", order=62, columns=("When", "Who", "Departure", "Mark", "Reason"), rows=tuple(
            (text(m.at), m.actor, m.departure.code, f"{m.get_from_status_display()} → {m.get_to_status_display()}",
             text(m.reason))
            for m in marks)),
    ]
    exclusions = TravelExclusion.objects.filter(person=person).order_by("excluded_at", "id")
    if exclusions:
        sections.append(RecordSection("Excluded from travel", order=63, columns=("When", "Reason", "Lifted", "Why"),
                                      rows=tuple((text(e.excluded_at), text(e.reason), text(e.lifted_at),
                                                  text(e.lift_reason)) for e in exclusions)))
    splits = SplitRequest.objects.filter(staying=person).select_related("departure").order_by("requested_at", "id")
    if splits:
        sections.append(RecordSection("Family split at boarding", order=64, columns=(
            "Departure", "Asked", "Reason", "Decision", "Note"), rows=tuple(
            (s.departure.code, text(s.requested_at), text(redact(s.reason)), s.get_status_display(),
             text(redact(s.decision_note)))
            for s in splits)))
    incidents = Incident.objects.filter(people=person).select_related("departure").order_by("at", "id")
    if incidents:
        sections.append(RecordSection("Incidents", order=65, columns=("When", "Departure", "Kind", "Place", "Note"),
                                      rows=tuple((text(i.at), i.departure.code, i.get_kind_display(), i.place,
                                                  text(redact(i.note))) for i in incidents)))
    overrides = FitToTravelOverride.objects.filter(person=person).select_related("departure").order_by("id")
    if overrides:
        sections.append(RecordSection("Boarding without a fit-to-travel check (medical)", order=66, columns=(
            "Departure", "Recorded", "Reason", "Withdrawn", "Why"), rows=tuple(
            (o.departure.code, text(o.recorded_at), text(o.reason), text(o.revoked_at), text(o.revoke_reason))
            for o in overrides)))
    return sections
