"""What the retention removes from movements' own records (`hooks.retention_shredders`), and the tool every app's
shredders are made with (`FieldShredder`).

Kept, so that statistics and UNHCR totals survive: states and their history (who, when, from, to), dates,
destinations, priorities, categories, sex, dates of birth, nationalities, relationships, proGres ids and case
numbers, document types, issuing countries and expiry dates, exam kinds and dates. Removed: what names or describes
a person beyond that (listed per kind below).
"""

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models

from movements import history, hooks
from movements.hooks import Shredder
from movements.models import (
    AppendOnlyModel, Case, CaseChange, CaseTransition, MedicalExam, Person, ReferralUpload, TravelDocument,
    TravelMedicalNeeds,
)
from movements.search import person_search_text

ANONYMISED = "Anonymised"


class FieldShredder(Shredder):
    """Removes fields from the rows of one model that concern the batch: `blank` sets fields to a value (text to
    "", a flag to False), `scrub` takes the batch's names out of texts and payloads. Rows are loaded, changed in
    memory and written back with `bulk_update` (no `save()`: `updated_at` and other fields stay as they were).
    A history model (append-only) is written through its one door, `redact`."""

    model = None
    blank = {}
    scrub = ()
    # How the rows that concern a batch are found: by a field holding the batch's case ids (`case_field`, e.g.
    # "case_id") or its people's ids (`person_field`); a shredder that finds them otherwise overrides `rows`.
    case_field = None
    person_field = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # As with an abstract method: a shredder that cannot find its rows fails when it is defined, not in the
        # middle of a retention run.
        if cls.model is not None and cls.rows is FieldShredder.rows and not (cls.case_field or cls.person_field):
            raise TypeError(f"{cls.__name__}: set case_field or person_field, or override rows()")

    def rows(self, batch):
        """The rows of `model` that concern the batch."""
        if self.case_field:
            return self.model.objects.filter(**{f"{self.case_field}__in": batch.case_ids})
        return self.model.objects.filter(**{f"{self.person_field}__in": batch.person_ids})

    def change(self, row, batch):
        """Change `row` in memory; return whether anything changed."""
        changed = False
        for name, value in self.blank.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        for name in self.scrub:
            old = getattr(row, name)
            new = batch.scrub_data(old)
            if new != old:
                setattr(row, name, new)
                changed = True
        return changed

    def fields(self):
        return [*self.blank, *self.scrub]

    def changed_rows(self, batch):
        if not batch.case_ids:
            return []
        return [row for row in self.rows(batch).only("pk", *self.only_fields()) if self.change(row, batch)]

    def only_fields(self):
        return self.fields()

    def count(self, batch):
        return len(self.changed_rows(batch))

    def shred(self, batch):
        rows = self.changed_rows(batch)
        if rows:
            if issubclass(self.model, AppendOnlyModel):
                self.model.redact(rows, self.fields())
            else:
                models.QuerySet(self.model).bulk_update(rows, self.fields(), batch_size=500)
        return len(rows)


class TransitionReasons(FieldShredder):
    kind = "transition_reasons"
    label = "Reasons for state changes"
    description = ("The free text given when a case was held, withdrawn or otherwise moved; names in the change's "
                   "facts. Who moved it, when, from which state to which, stay.")
    order = 10
    model = CaseTransition
    blank = {"reason": ""}
    scrub = ("data",)
    case_field = "case_id"


class ChangeTexts(FieldShredder):
    kind = "change_texts"
    label = "Names in the change history"
    description = ("The data-change log names members (\u201cEdited: Karimi, Zahra (phone)\u201d): the names are "
                   "replaced by \u201c[name removed]\u201d; which fields changed, who and when, stay. An entry whose "
                   "words hold what not every reader may see (a reason given, a medical fact) keeps only the words "
                   "every reader sees.")
    order = 10
    model = CaseChange
    scrub = ("summary", "data")
    case_field = "case_id"

    def change(self, row, batch):
        # `log_change(summary_for_all=…)`: "Orientation declined by … Reason: in hospital" becomes "Orientation
        # declined by …", as UNHCR reads it (then without the name).
        neutral = (row.data or {}).get(history.SUMMARY_FOR_ALL)
        replaced = bool(neutral) and row.summary != neutral
        if replaced:
            row.summary = neutral
        return super().change(row, batch) or replaced


class AdminLog(FieldShredder):
    kind = "admin_log"
    label = "Names in the admin's history"
    description = ("Django admin's record of changes to these cases, members and documents names them (a document by "
                   "its number): the name is replaced, the change message cleaned of names.")
    order = 10
    model = LogEntry
    scrub = ("change_message",)

    def rows(self, batch):
        types = ContentType.objects.get_for_models(Case, Person, TravelDocument)
        documents = TravelDocument.objects.filter(person__case_id__in=batch.case_ids).values_list("pk", flat=True)
        ids = {types[Case]: batch.case_ids, types[Person]: batch.person_ids, types[TravelDocument]: list(documents)}
        query = models.Q(pk__in=[])
        for content_type, pks in ids.items():
            query |= models.Q(content_type=content_type, object_id__in=[str(pk) for pk in pks])
        return LogEntry.objects.filter(query)

    def change(self, row, batch):
        changed = super().change(row, batch)
        if row.object_repr != "[removed]":
            row.object_repr = "[removed]"
            changed = True
        return changed

    def fields(self):
        return ["object_repr", "change_message"]


class CaseTexts(FieldShredder):
    kind = "case_notes"
    label = "Case notes and hold reasons"
    description = "Operations' case notes, the reason of a hold, and names in the stored readiness messages."
    order = 50
    model = Case
    blank = {"notes": "", "hold_reason": ""}
    scrub = ("blockers",)
    case_field = "pk"


class People(FieldShredder):
    kind = "people"
    label = "Names, phones and visa numbers"
    description = (f"Family and given names (the family name becomes \u201c{ANONYMISED}\u201d, the given name the "
                   "member's relationship, e.g. \u201cCHD\u201d), the name in the person's own script, phone numbers "
                   "and visa / COPR references. Sex, date of birth, nationality and proGres ids stay.")
    order = 900  # last: the shredders before it read the names to take them out of log texts
    model = Person
    blank = {"native_name": "", "phone": "", "phone_region": "", "visa_reference": ""}
    person_field = "pk"

    def only_fields(self):
        return [*self.blank, "family_name", "given_name", "relationship", "search_text"]

    def change(self, row, batch):
        changed = super().change(row, batch)
        if (row.family_name, row.given_name) != (ANONYMISED, row.relationship):
            row.family_name, row.given_name = ANONYMISED, row.relationship
            row.search_text = person_search_text(row.family_name, row.given_name, "")
            changed = True
        return changed

    def fields(self):
        return [*self.blank, "family_name", "given_name", "search_text"]


class Documents(FieldShredder):
    kind = "documents"
    label = "Travel document numbers and MRZ lines"
    description = ("The document number (replaced by \u201cREMOVED\u201d and the row's id, which stays unique) and "
                   "both machine-readable zone lines. The document's type, issuing country and expiry stay.")
    order = 900
    model = TravelDocument
    blank = {"mrz_line1": "", "mrz_line2": ""}
    person_field = "person_id"

    def change(self, row, batch):
        changed = super().change(row, batch)
        if row.number != f"REMOVED{row.pk}":
            row.number = f"REMOVED{row.pk}"
            changed = True
        return changed

    def fields(self):
        return [*self.blank, "number"]


class MedicalExams(FieldShredder):
    kind = "medical_exams"
    label = "Medical examination results"
    description = ("Outcome profiles, TB status, fit-to-travel results and the confidential notes of every exam. "
                   "The exam's kind, date and clinic stay.")
    medical = True
    order = 50
    model = MedicalExam
    blank = {"outcome": "", "tb_status": "", "fit_to_travel": None, "notes": ""}
    person_field = "person_id"


class MedicalNeeds(FieldShredder):
    kind = "travel_medical_needs"
    label = "Travel medical needs and declared SSR codes"
    description = ("Wheelchair, stretcher, oxygen, medical escort, pregnancy, MEDIF and fit-to-fly certificate, and "
                   "the special service codes declared with the person (WCHR, BLND, \u2026): health facts.")
    medical = True
    order = 50
    model = TravelMedicalNeeds
    blank = {"wheelchair": "", "stretcher": False, "oxygen": False, "medical_escort": False, "pregnancy_weeks": None,
             "pregnancy_weeks_on": None, "multiple_pregnancy": False, "fit_to_fly_certificate_at": None,
             "medif_required": False, "medif_recorded_at": None}
    person_field = "person_id"

    def count(self, batch):
        return super().count(batch) + len(self._declared(batch))

    def _declared(self, batch):
        return list(Person.objects.filter(pk__in=batch.person_ids).exclude(special_needs="").only("pk"))

    def shred(self, batch):
        people = self._declared(batch)
        for person in people:
            person.special_needs = ""
        models.QuerySet(Person).bulk_update(people, ["special_needs"], batch_size=500)
        return super().shred(batch) + len(people)


class ReferralUploads(Shredder):
    kind = "referral_uploads"
    label = "Referral files and their error reports"
    description = ("An uploaded referral file never imported (refused, or previewed and left) and its error report, "
                   "which quotes the file's cells, go once older than the shortest case period; an imported file's "
                   "record (its report) once older than the longest.")
    order = 60

    def _due(self, batch):
        days = settings.SAFAR_RETENTION_DAYS.values()
        return ReferralUpload.objects.filter(
            models.Q(uploaded_at__lt=batch.kept_since(min(days))) & ~models.Q(status=ReferralUpload.Status.IMPORTED)
            | models.Q(uploaded_at__lt=batch.kept_since(max(days)), status=ReferralUpload.Status.IMPORTED)
        )

    def count(self, batch):
        return self._due(batch).count()

    def shred(self, batch):
        return self._due(batch).delete()[0]


class StalePreviews(Shredder):
    kind = "import_previews"
    label = "Referral files left in preview"
    description = ("A previewed referral file not confirmed within SAFAR_IMPORT_PREVIEW_HOURS expires and its file, "
                   "which holds personal data, is deleted: every day, not only when someone next opens the imports.")
    order = 59

    def count(self, batch):
        return ReferralUpload.stale_previews(batch.now).count()

    def shred(self, batch):
        return ReferralUpload.stale_previews(batch.now).update(status=ReferralUpload.Status.EXPIRED, content=None)


@hooks.retention_shredders.register
def movements_shredders():
    return [TransitionReasons(), ChangeTexts(), AdminLog(), CaseTexts(), People(), Documents(), MedicalExams(),
            MedicalNeeds(), StalePreviews(), ReferralUploads()]
