"""Medical clearance: the rules of DOMAIN.md ("Medical"), as readiness requirements and services.

Every number is a setting with DOMAIN.md's default. Blocker messages and the clearance summary
are read by every role, so they never name a diagnosis, a profile or a TB status: only "medical
hold", "medically cleared until …", "surveillance on arrival" and travel needs.
"""

import calendar
import datetime
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from movements import hooks, readiness
from movements.compiled import compiled_once
from movements.models import (
    Case, ExamKind, HoldCategory, MedicalExam, OutcomeProfile, Person, TBStatus, TravelMedicalNeeds, states_where,
)
from movements.ssr import MEDIF_CODES

AUTO_HOLD_REASON = "Automatic medical hold: a medical result needs treatment before travel (details with medical staff)."


def add_months(day, months):
    """The same day `months` later (or earlier); a day the target month lacks becomes its last day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    if not datetime.MINYEAR <= year <= datetime.MAXYEAR:
        return datetime.date.max if months > 0 else datetime.date.min
    return datetime.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def anniversary(day, months):
    """The day `months` later; a day the target month lacks rolls into the next month (29 Feb → 1 Mar)."""
    target = add_months(day, months)
    if target.day < day.day and target < datetime.date.max:
        return target + datetime.timedelta(days=1)
    return target


def ime_valid_until(exam_date):
    """The last day an IME counts: the day before its anniversary `SAFAR_IME_VALIDITY_MONTHS` months on."""
    end = anniversary(exam_date, settings.SAFAR_IME_VALIDITY_MONTHS)
    return end - datetime.timedelta(days=1) if end > datetime.date.min else end


@dataclass
class MedicalStatus:
    """What may be said about one person's health to any role that sees the case."""

    person: Person
    ime_date: datetime.date | None = None
    tb_status: str = ""
    outcome: str = ""
    needs: TravelMedicalNeeds | None = None
    ssr_codes: list = field(default_factory=list)

    @property
    def cleared_until(self):
        return ime_valid_until(self.ime_date) if self.ime_date else None

    @property
    def on_medical_hold(self):
        return self.tb_status == TBStatus.ACTIVE or self.outcome == OutcomeProfile.M4

    @property
    def surveillance(self):
        return self.tb_status == TBStatus.INACTIVE

    @property
    def surveillance_text(self):
        return f"Medical surveillance: report to public health within {settings.SAFAR_SURVEILLANCE_DAYS} days of arrival"


def _latest_first(exams):
    return exams.order_by("person_id", "-exam_date", "-id").only("person_id", "kind", "exam_date", "tb_status",
                                                                 "outcome")


def statuses_for(people):
    """MedicalStatus per person id, in two queries whatever the number of people; in one when the people were read
    with their travel needs (`select_related("medical_needs")`)."""
    people = list(people)
    ids = [p.pk for p in people]
    case_ids = {p.case_id for p in people}
    if len(case_ids) == 1:  # one family (its case page): the exams of its case, in a statement compiled once
        exams = compiled_once("medical.case_exams", lambda pk: _latest_first(MedicalExam.objects.filter(
            person__case_id=pk)), case_ids.pop())
    else:
        exams = _latest_first(MedicalExam.objects.filter(person_id__in=ids))
    latest_ime, latest_tb, latest_outcome = {}, {}, {}
    for exam in exams:
        if exam.kind == ExamKind.IME:
            latest_ime.setdefault(exam.person_id, exam.exam_date)
        if exam.tb_status:
            latest_tb.setdefault(exam.person_id, exam.tb_status)
        if exam.outcome:
            latest_outcome.setdefault(exam.person_id, exam.outcome)
    loaded = Person.medical_needs  # the descriptor: whether select_related brought the needs (None: none recorded)
    if all(loaded.is_cached(p) for p in people):
        needs = {p.pk: loaded.related.get_cached_value(p) for p in people}
    else:
        needs = {n.person_id: n for n in TravelMedicalNeeds.objects.filter(person_id__in=ids)}
    statuses = {}
    for person in people:
        person_needs = needs.get(person.pk)
        # Share what was loaded so Person.ssr_codes needs no query of its own.
        person._state.fields_cache["medical_needs"] = person_needs
        statuses[person.pk] = MedicalStatus(
            person=person,
            ime_date=latest_ime.get(person.pk),
            tb_status=latest_tb.get(person.pk, ""),
            outcome=latest_outcome.get(person.pk, ""),
            needs=person_needs,
            ssr_codes=person.ssr_codes,
        )
    return statuses


def medical_record_link(case, person, access):
    """A medical blocker is resolved on the person's medical record: for medical staff only."""
    from django.urls import reverse

    if person is None or access is None or not access.can_see_medical:
        return None
    return reverse("medical_person", args=[person.pk])


def _blocker(code, person, fact):
    return readiness.Blocker(code, f"{person.full_name} — {fact}", person.pk, confidential=True,
                             person_name=person.full_name)


def share_statuses(ctx, statuses):
    """Give the readiness context statuses a page has already loaded (`statuses_for` of every member)."""
    ctx.extra["medical"] = statuses


def _statuses(ctx):
    if "medical" not in ctx.extra:
        ctx.extra["medical"] = statuses_for(ctx.travelling_members)
    return ctx.extra["medical"]


@readiness.register(code="medical_ime", label="Every member has an IME valid until the journey ends", order=30,
                    confidential=("medical_missing", "medical_expired"), link=medical_record_link,
                    titles={"medical_missing": "No IME recorded", "medical_expired": "IME expires before travel"})
def ime_valid(ctx):
    for person in ctx.travelling_members:
        status = _statuses(ctx)[person.pk]
        if status.ime_date is None:
            yield _blocker("medical_missing", person, "no IME recorded")
        elif status.cleared_until < ctx.journey_end:
            yield _blocker(
                "medical_expired", person,
                f"IME valid until {status.cleared_until.isoformat()}, before {ctx.describe_journey_end()}",
            )


@readiness.register(code="medical_hold", label="Nobody is on medical hold", order=31, confidential=("medical_hold",),
                    titles={"medical_hold": "On medical hold"}, link=medical_record_link)
def no_medical_hold(ctx):
    for person in ctx.travelling_members:
        if _statuses(ctx)[person.pk].on_medical_hold:
            yield _blocker("medical_hold", person, "medical hold (medical staff decide when it ends)")


def _pregnancy(ctx, person):
    """(weeks on the journey's last day, the airline's limit) for a pregnant member, else None."""
    needs = _statuses(ctx)[person.pk].needs
    weeks = needs.pregnancy_weeks_on_date(ctx.journey_end) if needs else None
    if weeks is None:
        return None
    limit = (
        settings.SAFAR_PREGNANCY_MAX_WEEKS_MULTIPLE if needs.multiple_pregnancy
        else settings.SAFAR_PREGNANCY_MAX_WEEKS
    )
    return weeks, limit, needs


@readiness.register(code="pregnancy", label="Pregnancy within the airline's limits until the journey ends", order=32,
                    confidential=("pregnancy_too_late",),
                    titles={"pregnancy_too_late": "Pregnancy past the airline's limit"}, link=medical_record_link)
def pregnancy_within_limits(ctx):
    for person in ctx.travelling_members:
        found = _pregnancy(ctx, person)
        if found and found[0] >= found[1]:
            weeks, limit, _needs = found
            yield _blocker(
                "pregnancy_too_late", person,
                f"{weeks} weeks pregnant on {ctx.describe_journey_end()}; airlines do not carry from {limit} weeks",
            )


@readiness.register(
    code="pregnancy_certificate", order=33, gates=("depart",), confidential=("pregnancy_certificate",),
    titles={"pregnancy_certificate": "Fit-to-fly certificate for pregnancy due"}, link=medical_record_link,
    label=lambda: f"From {settings.SAFAR_PREGNANCY_CERTIFICATE_WEEKS} weeks of pregnancy, a fit-to-fly certificate "
                  f"issued within {settings.SAFAR_PREGNANCY_CERTIFICATE_HOURS} h before departure (due before "
                  "boarding; it does not stop clearing or booking)",
)
def pregnancy_certificate(ctx):
    # A certificate can only be issued in the last days before the flight: it gates boarding (`depart`) alone, so
    # the family is cleared and booked weeks ahead as flights are booked. Its window is the airlines' (72 h), not the
    # programme's fit-to-travel check's (SAFAR_FIT_TO_TRAVEL_HOURS, which DOMAIN.md leaves open for Canada).
    hours = settings.SAFAR_PREGNANCY_CERTIFICATE_HOURS
    deadline = ctx.departure_deadline
    for person in ctx.travelling_members:
        found = _pregnancy(ctx, person)
        if not found:
            continue
        weeks, limit, needs = found
        if not settings.SAFAR_PREGNANCY_CERTIFICATE_WEEKS <= weeks < limit:
            continue
        issued = needs.fit_to_fly_certificate_at
        if issued is None or not (deadline - datetime.timedelta(hours=hours) <= issued <= deadline):
            yield _blocker(
                "pregnancy_certificate", person,
                f"{weeks} weeks pregnant on {ctx.describe_journey_end()}: needs a fit-to-fly certificate "
                f"issued within {hours} h before departure",
            )


@readiness.register(code="medif", label="A MEDIF is recorded for stretcher, medical and oxygen cases", order=34,
                    confidential=("medif_missing",), titles={"medif_missing": "No MEDIF sent to the airline"},
                    link=medical_record_link)
def medif_recorded(ctx):
    for person in ctx.travelling_members:
        status = _statuses(ctx)[person.pk]
        codes = sorted(MEDIF_CODES & set(status.ssr_codes))
        required = status.needs is not None and status.needs.medif_required
        if (codes or required) and not (status.needs and status.needs.medif_recorded_at):
            fact = (f"{'/'.join(codes)} needs a MEDIF sent to the airline" if codes
                    else "medical staff require a MEDIF: not yet sent to the airline")
            if ctx.departs_at is not None:
                # DOMAIN.md: airlines ask for it 48–72 h ahead; the flight is known, so the date is.
                send_by = timezone.localtime(ctx.departs_at - datetime.timedelta(hours=settings.SAFAR_MEDIF_HOURS))
                when = f"{send_by:%Y-%m-%d %H:%M} ({settings.SAFAR_MEDIF_HOURS} h before departure)"
                fact += f", by {when}" if send_by > timezone.now() else f", due {when}: overdue"
            yield _blocker("medif_missing", person, fact)


def _fit_to_travel_label():
    if settings.SAFAR_FIT_TO_TRAVEL_REQUIRED:
        return "Every traveller passed a fit-to-travel check within the hours before departure (due before boarding)"
    return (f"A newborn under {settings.SAFAR_NEWBORN_CLEARANCE_DAYS} days old on the day of departure passed a "
            "fit-to-travel check within the hours before it (due before boarding)")


def _newborn(person, ctx):
    """Under SAFAR_NEWBORN_CLEARANCE_DAYS days old when the journey starts (DOMAIN.md: newborns under 7 days need
    medical clearance)."""
    return (ctx.travel_date - person.date_of_birth).days < settings.SAFAR_NEWBORN_CLEARANCE_DAYS


@readiness.register(
    code="fit_to_travel", order=35, gates=("depart",), confidential=("fit_to_travel_missing",),
    titles={"fit_to_travel_missing": "Fit-to-travel check due"}, link=medical_record_link,
    label=_fit_to_travel_label,
)
def fit_to_travel_checked(ctx):
    # Every traveller when the programme requires the check (the default); else a newborn still needs it.
    people = ctx.travelling_members if settings.SAFAR_FIT_TO_TRAVEL_REQUIRED \
        else [p for p in ctx.travelling_members if _newborn(p, ctx)]
    if not people:
        return
    hours = settings.SAFAR_FIT_TO_TRAVEL_HOURS
    deadline = ctx.departure_deadline
    # Medical staff may waive the check for a traveller, in writing (a plug-in that knows the departure keeps it).
    waived = set(hooks.fit_to_travel_overrides.collect(ctx))
    if "fit_to_travel_passed" in ctx.extra:
        checked = ctx.extra["fit_to_travel_passed"]
    else:
        checked = _passed_fit_to_travel([p.pk for p in people], deadline)
    passed = waived | checked
    # The moment, not the day: for a flight at 23:50, a check on the morning three days before does not count.
    opens = timezone.localtime(deadline - datetime.timedelta(hours=hours))
    for person in people:
        if person.pk not in passed:
            newborn = ("" if settings.SAFAR_FIT_TO_TRAVEL_REQUIRED else
                       f"a newborn ({(ctx.travel_date - person.date_of_birth).days} days old on "
                       f"{ctx.travel_date.isoformat()}) needs medical clearance: ")
            yield _blocker("fit_to_travel_missing", person,
                           f"{newborn}no passing fit-to-travel check within {hours} h before "
                           f"{ctx.describe_travel_date()} (checks count from {opens:%Y-%m-%d %H:%M})")


def _passed_fit_to_travel(person_ids, deadline):
    """Of these people, those with a passing fit-to-travel check within the hours before `deadline`."""
    if not person_ids:
        return set()
    return set(MedicalExam.objects.filter(
        person__in=person_ids, kind=ExamKind.FIT_TO_TRAVEL, fit_to_travel=True,
        examined_at__gte=deadline - datetime.timedelta(hours=settings.SAFAR_FIT_TO_TRAVEL_HOURS),
        examined_at__lte=deadline,
    ).values_list("person_id", flat=True))


@hooks.readiness_preload.register(key="movements.medical")
def preload_medical(contexts):
    """Medical statuses and fit-to-travel checks of every traveller of these cases, in three queries."""
    people = [p for ctx in contexts for p in ctx.travelling_members]
    statuses = statuses_for(people)
    earliest = min((ctx.departure_deadline for ctx in contexts), default=None)
    latest = max((ctx.departure_deadline for ctx in contexts), default=None)
    checks = []
    if people and earliest is not None:
        checks = list(MedicalExam.objects.filter(
            person__in=[p.pk for p in people], kind=ExamKind.FIT_TO_TRAVEL, fit_to_travel=True,
            examined_at__gte=earliest - datetime.timedelta(hours=settings.SAFAR_FIT_TO_TRAVEL_HOURS),
            examined_at__lte=latest,
        ).values_list("person_id", "examined_at"))
    window = datetime.timedelta(hours=settings.SAFAR_FIT_TO_TRAVEL_HOURS)
    for ctx in contexts:
        ids = {p.pk for p in ctx.travelling_members}
        ctx.extra["medical"] = {pk: statuses[pk] for pk in ids}
        deadline = ctx.departure_deadline
        ctx.extra["fit_to_travel_passed"] = {pk for pk, at in checks
                                             if pk in ids and deadline - window <= at <= deadline}


def fit_to_travel_check(person, departure_at):
    """The passing fit-to-travel check done within SAFAR_FIT_TO_TRAVEL_HOURS before departure, or None (boarding)."""
    window_start = departure_at - datetime.timedelta(hours=settings.SAFAR_FIT_TO_TRAVEL_HOURS)
    return (
        MedicalExam.objects.filter(
            person=person, kind=ExamKind.FIT_TO_TRAVEL, fit_to_travel=True,
            examined_at__gte=window_start, examined_at__lte=departure_at,
        )
        .order_by("-examined_at")
        .first()
    )


def record_exam(exam, *, by):
    """Save a medical exam; an active-TB result puts the person's case on hold, with the reason logged."""
    from movements import transitions

    exam.clean_fields(exclude=[f.name for f in exam._meta.fields if f.name != "notes"])  # capped, whoever calls
    with transaction.atomic():
        exam.recorded_by = exam.recorded_by or by
        exam.save()
        if exam.tb_status == TBStatus.ACTIVE:
            # The case as it is now, not as the form read it: another member's result may have held it meanwhile.
            case = Case.objects.get(pk=exam.person.case_id)
            if case.state_policy.holdable:
                try:
                    transitions.hold(case, by=by, reason=AUTO_HOLD_REASON, category=HoldCategory.MEDICAL,
                                     via="" if by else "medical result")
                except transitions.TransitionError as e:
                    # Held (or withdrawn, or gone) between that read and the lock: the result is kept all the same.
                    if e.code != "not_allowed":
                        raise
    return exam


def fit_to_travel_outside_window(exam):
    """Why a passing fit-to-travel check just recorded does not count for the family's flight (it was done before
    the hours before departure open, or after the departure), or None when it counts or no flight is known."""
    if exam.kind != ExamKind.FIT_TO_TRAVEL or not exam.fit_to_travel or exam.examined_at is None:
        return None
    case = exam.person.case
    if not case.state_policy.readiness:
        return None
    context = readiness.context_for(case)
    if context.flies_on is None:
        return None
    hours = settings.SAFAR_FIT_TO_TRAVEL_HOURS
    deadline = context.departure_deadline
    opens = deadline - datetime.timedelta(hours=hours)
    if exam.examined_at < opens:
        return (f"This check does not count for {context.describe_travel_date()}: it must be done within {hours} h "
                f"before departure, from {timezone.localtime(opens):%Y-%m-%d %H:%M}. Record another check then.")
    if exam.examined_at > deadline:
        return f"This check was done after {context.describe_travel_date()}: it does not count for that departure."
    return None


@dataclass
class WorkItem:
    """One medical blocker of the readiness registry, as the work list shows it."""

    case: object
    person: Person | None
    code: str
    title: str
    fact: str
    due: datetime.date | None  # the date the case is expected to fly (its departure's, else the planned one)
    # A check that counts only within the hours before departure (a fit-to-fly certificate, the fit-to-travel
    # check): the first day it can be done, so that nobody tries it weeks early.
    from_day: datetime.date | None = None


def work_list_cases():
    """Cases whose stored readiness holds medical blockers, the soonest to fly first (undated ones last).

    The snapshot is the readiness registry's answer for each case's next step, refreshed whenever a fact it reads
    changes (and daily, by `refresh_readiness`, as dates pass): the work list is what blocks those cases."""
    from movements.models import FLIES_ON_KEY, Case

    return (Case.objects.filter(state__in=states_where("readiness"), medical_blocker_count__gt=0)
            .alias(due_key=FLIES_ON_KEY).order_by("due_key", "id"))


def work_items(cases):
    """The medical blockers of these cases (from their snapshots), one item each, with their people loaded at once."""
    hidden = readiness.confidential_codes()
    found = []
    for case in cases:
        for blocker in case.blockers or []:
            if blocker.get("confidential") or blocker.get("code") in hidden:
                found.append((case, blocker))
    people = Person.objects.in_bulk([b.get("person_id") for _case, b in found if b.get("person_id")])
    titles = {code: title for r in readiness.requirements() for code, title in r.titles.items()}
    items = []
    for case, blocker in found:
        person = people.get(blocker.get("person_id"))
        _name, _sep, fact = blocker.get("message", "").partition(" — ")
        fact = fact or blocker.get("message", "")
        title = titles.get(blocker.get("code"), blocker.get("code", ""))
        if fact.lower().startswith(title.lower()):
            fact = fact[len(title):].lstrip(" :—-,")  # "No IME recorded — no IME recorded" says it once
        from_day = None  # the day before which a check before boarding is not due yet (the fact says from when)
        if set(blocker.get("gates") or ()) == {"depart"} and case.flies_on:
            hours = (settings.SAFAR_PREGNANCY_CERTIFICATE_HOURS if blocker.get("code") == "pregnancy_certificate"
                     else settings.SAFAR_FIT_TO_TRAVEL_HOURS)
            from_day = case.flies_on - datetime.timedelta(days=hours // 24)
        items.append(WorkItem(case=case, person=person, code=blocker.get("code", ""), title=title, fact=fact,
                              due=case.flies_on, from_day=from_day))
    return items
