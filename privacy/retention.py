"""Retention: closed cases lose their personal data once their period has passed; the logs lose old entries.

Which cases are due is decided here, from SAFAR_RETENTION_DAYS (per closing state) and SAFAR_MEDICAL_RETENTION_DAYS;
what is removed is decided by each app, through `hooks.retention_shredders` (pretix's shredders: each kind names
what it removes, counts it for a preview, and removes it). A case closed on day D with a period of N days is kept
through day D + N - 1 (the mission's calendar) and is due on day D + N.

`preview` answers the dry run (per kind, how many rows would change) and changes nothing; `apply` runs every
shredder in one transaction and logs a `RetentionRun`. A case done is marked (`AnonymisedCase`) and not looked at
again, so the daily run costs what the day's newly due cases cost.
"""

import datetime
import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from movements import history, hooks
from movements.hooks import RetentionBatch
from movements.models import Case, CaseState, Person
from privacy.models import AnonymisedCase, RetentionRun

CLOSED_STATES = (CaseState.ARRIVED, CaseState.REJECTED, CaseState.WITHDRAWN)


def periods():
    """The periods in force, in days: per closing state, medical, the access log, log-in records."""
    days = dict(settings.SAFAR_RETENTION_DAYS)
    return {
        "cases": {state: days[state] for state in CLOSED_STATES},
        "medical": settings.SAFAR_MEDICAL_RETENTION_DAYS,
        "access_log": settings.SAFAR_ACCESS_LOG_DAYS,
        "login_records": settings.SAFAR_LOGIN_RECORD_DAYS,
    }


def start_of_day(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def kept_since(days, now):
    """The first moment still kept under a period of `days` on the day of `now`: what is older is due."""
    return RetentionBatch((), (), (), now=now).kept_since(days)


def due_cases(now, *, medical=False):
    """Closed cases past their period (the stricter medical one for `medical`) not yet done."""
    config = periods()
    due = Q()
    for state, days in config["cases"].items():
        if medical:
            days = min(days, config["medical"])
        due |= Q(state=state, state_changed_at__lt=kept_since(days, now))
    done = AnonymisedCase.objects.filter(case=OuterRef("pk"), **{
        "medical_at__isnull" if medical else "personal_at__isnull": False})
    return Case.objects.filter(due).exclude(Exists(done)).order_by("id")


def batch_for(case_ids, now):
    """The batch the shredders work on: the cases, their members, and every way the members' names were written."""
    people = list(Person.objects.filter(case_id__in=case_ids).values_list(
        "id", "family_name", "given_name", "native_name"))
    names = set()
    for _pk, family, given, native in people:
        names |= history.name_forms(family, given, native)
    # Names members no longer bear (removed from the case, or renamed) as the change log wrote them.
    names |= history.names_written(case_ids)
    return RetentionBatch(case_ids=tuple(case_ids), person_ids=tuple(p[0] for p in people),
                          names=tuple(sorted(names, key=len, reverse=True)), now=now)


def shredders():
    return sorted(hooks.retention_shredders.collect(), key=lambda s: (s.order, s.kind))


@dataclass
class Line:
    kind: str
    label: str
    description: str
    medical: bool
    rows: int


@dataclass
class Plan:
    now: datetime.datetime
    cases: list
    medical_cases: list
    lines: list

    @property
    def total_rows(self):
        return sum(line.rows for line in self.lines)


def _batches(now):
    cases = list(due_cases(now).values_list("id", "case_number"))
    medical = list(due_cases(now, medical=True).values_list("id", "case_number"))
    return (cases, batch_for([pk for pk, _ in cases], now),
            medical, batch_for([pk for pk, _ in medical], now))


def preview(now=None):
    """What a run would remove now, per kind (the dry run): nothing changes."""
    now = now or timezone.now()
    cases, batch, medical, medical_batch = _batches(now)
    lines = [Line(s.kind, s.label, s.description, s.medical, s.count(medical_batch if s.medical else batch))
             for s in shredders()]
    return Plan(now, [n for _, n in cases], [n for _, n in medical], lines)


def apply(*, actor, now=None):
    """Remove what is due, in one transaction, and log it. Returns the `RetentionRun`."""
    now = now or timezone.now()
    with transaction.atomic():
        _one_run_at_a_time()
        cases, batch, medical, medical_batch = _batches(now)
        removed = []
        for shredder in shredders():
            rows = shredder.shred(medical_batch if shredder.medical else batch)
            removed.append({"kind": shredder.kind, "label": shredder.label, "rows": rows})
        run = RetentionRun.objects.create(
            at=now, actor=actor[:200], cases=len(cases), medical_cases=len(medical), removed=removed,
            periods=periods(), case_numbers=" ".join(n for _, n in cases),
        )
        _mark(cases, run, now, "personal")
        _mark(medical, run, now, "medical")
    return run


def _one_run_at_a_time():
    """The nightly timer and the page's button at once: the second run waits for the first, then finds its cases done.

    PostgreSQL: a transaction-level advisory lock. SQLite writes one transaction at a time (IMMEDIATE) already."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [RUN_LOCK])


# A fixed key for the advisory lock (the first eight bytes of sha256("safar retention"), as a signed integer).
RUN_LOCK = int.from_bytes(hashlib.sha256(b"safar retention").digest()[:8], "big", signed=True)


def _mark(cases, run, now, what):
    ids = [pk for pk, _ in cases]
    existing = set(AnonymisedCase.objects.filter(case_id__in=ids).values_list("case_id", flat=True))
    AnonymisedCase.objects.bulk_create(
        [AnonymisedCase(case_id=pk, **{f"{what}_at": now, f"{what}_run": run}) for pk in ids if pk not in existing])
    AnonymisedCase.objects.filter(case_id__in=existing).update(**{f"{what}_at": now, f"{what}_run": run})
