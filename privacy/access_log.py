"""The access log: every read that `movements.reads.record` tells of becomes one row, and the two questions a data
protection officer asks of it — who looked at this case, what did this user look at."""

from django.conf import settings
from django.db.models import Q

from movements import hooks
from privacy.models import AccessLogEntry, case_key


@hooks.personal_data_read.register
def keep_read(read):
    user = read.user if read.user is not None and read.user.is_authenticated else None
    AccessLogEntry.objects.create(
        user=user, actor=read.actor[:200] or "system", kind=read.kind,
        cases="".join(case_key(n).rstrip() for n in read.case_numbers) + " " if read.case_numbers else "",
        person_id=read.person_id, target=read.target, address=read.address[:45], detail=read.detail,
    )


def concerning_case(case_number):
    """Entries that read this case: its page, a member's records, a printed list or an API page that held it."""
    return AccessLogEntry.objects.filter(cases__contains=case_key(case_number))


def concerning_person(person):
    """Entries that read this person: those of their case (its page shows every member) but not another member's own
    records (another member's medical record), and their own records."""
    own_or_none = Q(person_id__isnull=True) | Q(person_id=person.pk)
    of_case = Q(cases__contains=case_key(person.case.case_number)) & own_or_none
    return AccessLogEntry.objects.filter(of_case | Q(person_id=person.pk))


def by_user(user):
    return AccessLogEntry.objects.filter(user=user)


@hooks.subject_records.register
def access_history(person):
    from movements.hooks import RecordSection
    from movements.reads import Kind
    from movements.subject import others_redacted, text

    entries = concerning_person(person).order_by("at", "id")
    redact = others_redacted(person)

    def what(entry):
        # A search's words were typed by staff and may name another member ("Hashimi Farzana"): the record says a
        # search found the case, not what was typed (the access log itself keeps the words for the officer).
        target = ("a search" if entry.target else "") if entry.kind == Kind.CASE_LIST else redact(entry.target)
        label = Kind.LABELS.get(entry.kind, entry.kind)
        return f"{label}: {target}" if target else label

    return [RecordSection("Who read this person's data", order=90, columns=("When", "Who", "What", "Address"),
                          rows=tuple((text(e.at), e.actor, what(e), e.address or "—") for e in entries),
                          note=f"From the access log, where each read is kept {settings.SAFAR_ACCESS_LOG_DAYS:,} days.")]
