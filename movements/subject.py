"""What movements holds about one person, for their own record (`hooks.subject_records`): their case, themselves,
their travel documents, their medical records, and the history of their case.

Other members appear by relationship only: their names and data are theirs, given on their own request."""

from django.utils import timezone

from movements import history, hooks
from movements.hooks import RecordSection
from movements.models import CaseState, HoldCategory, MedicalExam, Relationship, TravelMedicalNeeds
from movements.words import NameReplacer


def text(value):
    """A value as the record prints it: dates as ISO dates, times in the mission's time zone, nothing as "—"."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if hasattr(value, "tzinfo") and hasattr(value, "hour"):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def choice(instance, name):
    value = getattr(instance, name)
    return getattr(instance, f"get_{name}_display")() if value else "—"


def _relationship(code):
    return Relationship(code).label.lower() if code in Relationship.values else code


def others_redacted(person):
    """A function that writes, in a text of the case's history, each other member's name as their relationship
    ("[spouse]": the full name in any of its forms, or the given name alone), and a name the change log once wrote
    of a member since removed or renamed as "[another member]". The record is this person's, given on their
    request; the others' names and data are theirs. This person's own names are left as they are.

    Made once per person object: every app's part of the record asks for it (movements, travel, the access log)."""
    if "_others_redacted" in person.__dict__:
        return person.__dict__["_others_redacted"]
    own = history.name_forms(person.family_name, person.given_name, person.native_name)
    own |= {person.given_name, person.family_name}
    replacements = [(name, None) for name in own]
    for family, given, native, relationship in (person.case.members.exclude(pk=person.pk)
                                                .values_list("family_name", "given_name", "native_name",
                                                             "relationship")):
        instead = f"[{_relationship(relationship)}]"
        replacements += [(form, instead) for form in history.name_forms(family, given, native)]
        if len(given or "") >= 3:  # "Ahmad's visa pending"
            replacements.append((given, instead))
    replacements += [(name, "[another member]") for name in history.names_written([person.case_id])]
    # The first mapping of a name wins: one's own, then the members'.
    person.__dict__["_others_redacted"] = NameReplacer(replacements)
    return person.__dict__["_others_redacted"]


@hooks.subject_records.register
def movements_record(person):
    case = person.case
    members = list(case.members.order_by("id").values_list("id", "relationship"))
    redact = others_redacted(person)
    sections = [
        RecordSection("Case", order=10, items=(
            ("Case number", case.case_number),
            ("proGres case id", case.progres_case_id),
            ("State", f"{CaseState(case.state).label} since {text(case.state_changed_at)}"),
            ("Destination", choice(case, "destination_country")),
            ("Priority", choice(case, "priority")),
            ("Submission category", text(case.submission_category)),
            ("Referral date", text(case.referral_date)),
            ("Decision date", text(case.decision_date)),
            ("Planned travel date", text(case.planned_travel_date)),
            ("Hold reason", MEDICAL_REASON if case.hold_reason and case.hold_category == HoldCategory.MEDICAL
             else text(redact(case.hold_reason))),
            ("Case notes", text(redact(case.notes))),
            ("Members", "; ".join("this person" if pk == person.pk else _relationship(relationship)
                                  for pk, relationship in members)),
        ), note="Other members of the case appear by relationship only: their data is given on their own request."),
        RecordSection("The person", order=20, items=(
            ("Family name", person.family_name),
            ("Given name", person.given_name),
            ("Name in own script", text(person.native_name)),
            ("proGres individual id", person.progres_individual_id),
            ("Relationship", choice(person, "relationship")),
            ("Sex", choice(person, "sex")),
            ("Date of birth", text(person.date_of_birth)),
            ("Nationality", text(person.nationality)),
            ("Phone", text(person.phone)),
            ("Language", choice(person, "language")),
            ("Special needs (IATA SSR)", text(person.special_needs)),
            ("Visa / COPR reference", text(person.visa_reference)),
            ("Recorded", text(person.created_at)),
            ("Last changed", text(person.updated_at)),
        )),
        RecordSection("Travel documents", order=30, columns=(
            "Type", "Number", "Issuing country", "Expiry", "MRZ line 1", "MRZ line 2"), rows=tuple(
            (d.get_document_type_display(), d.number, d.issuing_country, text(d.expiry_date), text(d.mrz_line1),
             text(d.mrz_line2)) for d in person.documents.order_by("id"))),
        RecordSection("Medical examinations", order=40, columns=(
            "Kind", "Date", "Clinic", "Outcome", "TB status", "Fit to travel", "Notes"), rows=tuple(
            (e.get_kind_display(), text(e.exam_date), e.clinic, choice(e, "outcome"), choice(e, "tb_status"),
             text(e.fit_to_travel), text(e.notes))
            for e in MedicalExam.objects.filter(person=person).order_by("exam_date", "id"))),
    ]
    needs = TravelMedicalNeeds.objects.filter(person=person).first()
    if needs is not None:
        sections.append(RecordSection("Travel medical needs", order=41, items=(
            ("Wheelchair", choice(needs, "wheelchair")), ("Stretcher", text(needs.stretcher)),
            ("Oxygen", text(needs.oxygen)), ("Medical escort", text(needs.medical_escort)),
            ("Pregnancy weeks", text(needs.pregnancy_weeks)), ("Counted on", text(needs.pregnancy_weeks_on)),
            ("Expecting twins or more", text(needs.multiple_pregnancy)),
            ("Fit-to-fly certificate", text(needs.fit_to_fly_certificate_at)),
            ("MEDIF required", text(needs.medif_required)), ("MEDIF sent", text(needs.medif_recorded_at)),
        )))
    sections += [
        RecordSection("State history of the case", order=80, columns=("When", "Who", "Change", "Reason"), rows=tuple(
            (text(t.at), t.actor, f"{t.transition}: {t.get_from_state_display() or 'new'} → {t.get_to_state_display()}",
             MEDICAL_REASON if t.reason and medical else text(redact(t.reason)))
            for t, medical in _medical_marked(case.transitions.order_by("at", "id")))),
        RecordSection("Changes to the case's data", order=81, columns=("When", "Who", "What changed"), rows=tuple(
            (text(c.at), c.actor, redact(_summary_for(c, person))) for c in case.changes.order_by("at", "id")),
            note="Other members are named by their relationship to this person."),
    ]
    return sections


# A medical hold's reasons may tell any member's health: the record (also given to another member of the case) says
# only that it was one; medical staff give a person their own medical data (their examinations are in the record).
MEDICAL_REASON = "(a medical hold: its reasons are with medical staff)"


def _medical_marked(transitions):
    """(transition, whether its reason is a medical hold's): placing a medical hold, and leaving one."""
    medical_hold = False
    for transition in transitions:
        if transition.transition == "hold":
            medical_hold = (transition.data or {}).get("hold_category") == HoldCategory.MEDICAL
            yield transition, medical_hold
        elif transition.from_state == CaseState.ON_HOLD:
            yield transition, medical_hold
            medical_hold = False
        else:
            yield transition, False


def _summary_for(change, person):
    """A change as this person's record tells it: in full when it concerns them or the whole case; in the words
    every reader of the case gets when it concerns another member (a medical decision about them is theirs)."""
    concerns = (change.data or {}).get("person")
    mine = not concerns or concerns in history.name_forms(person.family_name, person.given_name)
    return history.shown_summary(change, clearance_details=mine)
