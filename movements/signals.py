"""Keep each case's readiness snapshot (used by lists and filters) in step with its members and documents.

Services and forms change people and documents in several places (pages, the admin, imports); a
signal here catches them all. Bulk writers (the referral import) call `readiness.refresh_snapshot`
themselves once per case.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from movements import readiness
from movements.models import Case, MedicalExam, Person, TravelDocument, TravelMedicalNeeds


def _refresh_later(case_id):
    def refresh():
        case = Case.objects.filter(pk=case_id).first()
        if case is not None:
            readiness.refresh_snapshot(case)

    # on_commit with robust=False: runs once per transaction, after the data it reads exists.
    transaction.on_commit(refresh)


@receiver(post_save, sender=Case)
def case_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    if update_fields is not None and (
        "state" in update_fields  # the transition service refreshes it in its own transaction
        or set(update_fields) <= {"blockers", "blocker_count", "readiness_checked_at", "flies_on",
                                   "medical_blocker_count"}
    ):
        return
    _refresh_later(instance.pk)


@receiver([post_save, post_delete], sender=Person)
def person_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        _refresh_later(instance.case_id)


@receiver([post_save, post_delete], sender=TravelDocument)
def document_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        _refresh_later(instance.person.case_id)


@receiver([post_save, post_delete], sender=MedicalExam)
@receiver([post_save, post_delete], sender=TravelMedicalNeeds)
def medical_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        _refresh_later(instance.person.case_id)
