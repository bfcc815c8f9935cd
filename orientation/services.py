"""Orientation rules: who may enrol, recording a roll call, and who has completed.

A person completes orientation by being present (or late) on every day of one session. Completion is
a readiness requirement for the destinations that run this orientation (SAFAR_ORIENTATION_DESTINATIONS),
registered into the movements registry from OrientationConfig.ready().
"""

from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone
from django_fsm import can_proceed

from movements import history, hooks, memo
from movements.models import REASON_MAX_LENGTH, Case, Person, states_where
from orientation.access import can_manage
from orientation.models import (
    ATTENDED, Attendance, AttendanceChange, AttendanceStatus, Declined, Enrolment, Session, SessionChange,
    SessionState,
)

# Cases the destination accepted that have not yet left (the state policy's "preparing" column).
ENROLLABLE_STATES = set(states_where("preparing"))


class OrientationError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def _check_length(reason):
    if len(reason) > REASON_MAX_LENGTH:
        raise OrientationError(
            "reason_too_long",
            f"The reason has {len(reason):,} characters; keep it to {REASON_MAX_LENGTH:,} (a sentence or two).",
        )


@dataclass
class OrientationStatus:
    person_id: int
    completed_in: Session | None = None
    enrolments: list = field(default_factory=list)  # (session, {day number: status}) for open/closed sessions
    declined: Declined | None = None  # their standing refusal: orientation no longer holds their travel

    @property
    def completed(self):
        return self.completed_in is not None


def statuses_for(people):
    """OrientationStatus per person id, in four queries whatever the number of people: enrolments with their
    sessions, the sessions' days, the marks with their days, and standing refusals."""
    ids = [p.pk for p in people]
    statuses = {pk: OrientationStatus(pk) for pk in ids}
    for declined in Declined.objects.filter(person_id__in=ids, withdrawn_at__isnull=True):
        statuses[declined.person_id].declined = declined
    enrolments = (
        Enrolment.objects.filter(person_id__in=ids)
        .select_related("session")
        .prefetch_related("session__days", Prefetch("attendance", queryset=Attendance.objects.select_related("day")))
        .order_by("enrolled_at", "id")
    )
    for enrolment in enrolments:
        marks = {a.day.number: a.status for a in enrolment.attendance.all()}
        days = enrolment.session.ordered_days
        status = statuses[enrolment.person_id]
        status.enrolments.append((enrolment.session, days, marks))
        if days and all(marks.get(d.number) in ATTENDED for d in days) and not status.completed:
            status.completed_in = enrolment.session
    return statuses


def case_statuses(case, people):
    """`statuses_for(people)`, people of this case. Within a page (`movements.memo`) every member of the case is
    read once, for readiness, the member notes and the blockers' links alike; the answer may hold more people."""
    if not memo.active():
        return statuses_for(people)
    if memo.recall(("orientation.has_enrolments", case.pk)) is False \
            and memo.recall(("orientation.has_declined", case.pk)) is False:
        return {p.pk: OrientationStatus(p.pk) for p in (*memo.case_members(case), *people)}
    return memo.once(("orientation.statuses", case.pk), lambda: statuses_for(memo.case_members(case)))


@hooks.case_page_reads.register(key="orientation")
def case_page_reads():
    """Whether any member was ever enrolled, or declines, read with the case on its page: until then, the page asks
    nothing more of orientation's tables."""
    return {"orientation.has_enrolments": Exists(Enrolment.objects.filter(person__case_id=OuterRef("pk"))),
            "orientation.has_declined": Exists(Declined.objects.filter(person__case_id=OuterRef("pk"),
                                                                       withdrawn_at__isnull=True))}


def describe_missing(session, days, marks):
    parts = []
    today = timezone.localdate()
    for day in days:
        mark = marks.get(day.number)
        if mark in ATTENDED:
            continue
        if mark == AttendanceStatus.ABSENT:
            parts.append(f"missed day {day.number} ({day.date.isoformat()})")
        elif day.date > today:
            parts.append(f"day {day.number} is on {day.date.isoformat()}")
        else:
            parts.append(f"day {day.number} ({day.date.isoformat()}) not recorded")
    return f"{session.code}: " + ", ".join(parts)


def orientation_due(person, on_date):
    return person.age_on(on_date) >= settings.SAFAR_ORIENTATION_MIN_AGE


def travel_day(case, today):
    """The day readiness will ask whether a member has done orientation: the day the case is expected to fly (its
    departure's, else its planned travel date; the stored snapshot), never before today."""
    return max(case.flies_on or case.planned_travel_date or today, today)


# --- enrolment -----------------------------------------------------------------------------------------


def ineligibility(person, session, statuses=None):
    """Why this person cannot join this session, or None."""
    status = (statuses or statuses_for([person]))[person.pk]
    first_day = session.first_day or timezone.localdate()
    minimum = settings.SAFAR_ORIENTATION_MIN_AGE
    if person.case.state not in ENROLLABLE_STATES:
        return f"case {person.case.case_number} is {person.case.get_state_display().lower()} (approved, ready or booked cases only)"
    if status.declined:
        return (f"declined orientation ({timezone.localdate(status.declined.recorded_at).isoformat()}); withdraw that "
                "first if they will attend after all")
    # Readiness asks for orientation of everyone of age on the day the family flies: one who comes of age between
    # the session and the flight may (and must) join, or the family could never be booked.
    flies = travel_day(person.case, timezone.localdate())
    if person.age_on(first_day) < minimum and not orientation_due(person, flies):
        if person.case.flies_on or person.case.planned_travel_date:
            return (f"aged {person.age_on(first_day)} on the first day and {person.age_on(flies)} on the travel date "
                    f"({flies.isoformat()}); orientation is for ages {minimum} and over")
        return (f"aged {person.age_on(first_day)} on the first day; orientation is for ages {minimum} and over (or "
                f"{minimum} by the travel date, once one is planned)")
    if status.completed:
        return f"already completed orientation ({status.completed_in.code})"
    for other, _days, _marks in status.enrolments:
        if other.pk == session.pk:
            return f"already enrolled in {session.code}"
        if other.state != SessionState.CLOSED:
            return f"already enrolled in {other.code}, which has not ended"
    return None


def enrol_case(session, case, *, by):
    """Enrol every eligible member of a case. Returns (enrolled people, [(person, reason)] not enrolled).

    All or nothing on capacity: if the eligible members do not all fit, nobody is enrolled.
    """
    with transaction.atomic():
        session = Session.objects.select_for_update(no_key=True).get(pk=session.pk)
        if session.state == SessionState.CLOSED:
            raise OrientationError("session_closed", f"{session.code} is closed; enrol in a planned or running session.")
        # The case too (after the session, as everywhere), and what is checked is read under that lock: two
        # officers enrolling one family in two sessions at once would otherwise both find it enrolled nowhere.
        case = Case.objects.select_for_update(no_key=True).get(pk=case.pk)
        if case.state not in ENROLLABLE_STATES:
            # One message for the case, not the same refusal once per member.
            raise OrientationError(
                "case_not_eligible",
                f"Case {case.case_number} is {case.get_state_display().lower()}: only approved, ready or booked "
                "cases are enrolled in orientation.",
            )
        people = list(case.members.select_related("case").order_by("id"))
        statuses = statuses_for(people)
        eligible, refused = [], []
        for person in people:
            reason = ineligibility(person, session, statuses)
            (refused.append((person, reason)) if reason else eligible.append(person))
        if not eligible:
            raise OrientationError(
                "nobody_eligible",
                f"Nobody in case {case.case_number} can join {session.code}: "
                + "; ".join(f"{p.full_name}: {r}" for p, r in refused),
            )
        taken = session.enrolments.count()
        if taken + len(eligible) > session.capacity:
            raise OrientationError(
                "over_capacity",
                f"{session.code} has {session.capacity - taken} place(s) left; case {case.case_number} needs "
                f"{len(eligible)}. Nobody was enrolled: choose another session.",
            )
        Enrolment.objects.bulk_create([Enrolment(session=session, person=p, enrolled_by=by) for p in eligible])
    _refresh_readiness(case)
    return eligible, refused


def remove_case(session, case, *, by, reason):
    """Take a family enrolled by mistake (the wrong session, the wrong case number) out of a session, while no day
    of it has a mark for any of its members: a mark is attendance on record, kept with its enrolment (mark them
    absent instead). Their places free up, and they may be enrolled elsewhere. Told in the case's history, with the
    reason. Returns the people taken out."""
    if by is not None and not can_manage(by):
        raise OrientationError("forbidden", "Only operations staff take a family out of a session.")
    reason = (reason or "").strip()
    if not reason:
        raise OrientationError("reason_required", "Give the reason the family is taken out of the session (e.g. "
                                                  "enrolled in the wrong session by mistake).")
    _check_length(reason)
    with transaction.atomic():
        session = Session.objects.select_for_update(no_key=True).get(pk=session.pk)
        if session.state == SessionState.CLOSED:
            raise OrientationError("session_closed", f"{session.code} is closed: its participants no longer change.")
        enrolments = list(session.enrolments.filter(person__case=case).select_related("person"))
        if not enrolments:
            raise OrientationError("not_enrolled", f"Nobody of case {case.case_number} is enrolled in {session.code}.")
        marked = sorted({a.enrolment.person.full_name for a in Attendance.objects.filter(
            enrolment__in=enrolments).select_related("enrolment__person")})
        if marked:
            raise OrientationError(
                "attendance_recorded",
                f"Nobody was taken out: {'; '.join(marked)} of case {case.case_number} "
                f"{'has' if len(marked) == 1 else 'have'} attendance recorded in {session.code}, which stays on "
                "record with the enrolment. If they did not attend, mark them absent.")
        people = [e.person for e in sorted(enrolments, key=lambda e: e.person.family_position)]
        # Enrolment.delete refuses (an enrolment is kept with its attendance): these have none.
        Enrolment.objects.filter(pk__in=[e.pk for e in enrolments]).delete()
        names = "; ".join(p.full_name for p in people)
        # The reason is read by those who read other reasons (transitions, exclusions), not by UNHCR: it may tell
        # why a family cannot attend (an illness).
        history.log_change(case, by=by, summary=f"Taken out of orientation session {session.code}: {names}. "
                                                f"Reason: {reason}",
                           summary_for_all=f"Taken out of orientation session {session.code}: {names}.",
                           data={"session": session.code, "people": len(people)})
    _refresh_readiness(case)
    return people


# --- roll call ------------------------------------------------------------------------------------------


@dataclass
class RollCallResult:
    recorded: int = 0
    corrected: int = 0
    unchanged: int = 0


def record_roll_call(day, marks, *, by, reason=""):
    """Save a day's marks in one go: {enrolment id: status}. Idempotent; corrections need a reason.

    Returns a RollCallResult. Raises OrientationError (and saves nothing) on any problem.
    """
    reason = (reason or "").strip()
    _check_length(reason)
    valid = set(AttendanceStatus.values)
    with transaction.atomic():
        session = Session.objects.select_for_update(no_key=True).get(pk=day.session_id)
        if session.state == SessionState.CLOSED:
            # Its completions count and its certificates may be printed: only a reopening changes it.
            raise OrientationError(
                "session_closed",
                f"{session.code} is closed: its roll calls can no longer change. If a mark is wrong, operations "
                "staff can reopen the session, giving the reason.",
            )
        if day.date > timezone.localdate():
            raise OrientationError(
                "day_not_started", f"Day {day.number} is on {day.date.isoformat()}: it can be recorded from that day."
            )
        enrolments = {e.pk: e for e in session.enrolments.select_related("person")}
        unknown = [k for k in marks if k not in enrolments]
        if unknown:
            raise OrientationError("not_enrolled", "Some marks are for people not enrolled in this session.")
        bad = [k for k, v in marks.items() if v not in valid]
        if bad:
            raise OrientationError("bad_status", "Each mark is present, late or absent.")
        existing = {a.enrolment_id: a for a in Attendance.objects.select_for_update(no_key=True).filter(day=day)}
        corrections = [k for k, v in marks.items() if k in existing and existing[k].status != v]
        if corrections and not reason:
            names = ", ".join(enrolments[k].person.full_name for k in corrections)
            raise OrientationError(
                "reason_required",
                f"You changed marks already saved ({names}): give a reason for the correction.",
            )
        result = RollCallResult()
        now = timezone.now()
        new_marks, corrected, history = [], [], []
        for enrolment_id, status in marks.items():
            current = existing.get(enrolment_id)
            if current is None:
                new_marks.append(Attendance(enrolment_id=enrolment_id, day=day, status=status, recorded_by=by,
                                            recorded_at=now))
            elif current.status != status:
                history.append(AttendanceChange(attendance=current, old_status=current.status, new_status=status,
                                                changed_by=by, changed_at=now, reason=reason))
                current.status, current.recorded_by, current.recorded_at = status, by, now
                corrected.append(current)
            else:
                result.unchanged += 1
        Attendance.objects.bulk_create(new_marks)  # primary keys come back (PostgreSQL, SQLite ≥ 3.35)
        history += [AttendanceChange(attendance=m, new_status=m.status, changed_by=by, changed_at=now) for m in new_marks]
        Attendance.objects.bulk_update(corrected, ["status", "recorded_by", "recorded_at"])
        AttendanceChange.objects.bulk_create(history)
        result.recorded, result.corrected = len(new_marks), len(corrected)
        if result.recorded or result.corrected:
            case_ids = {enrolments[k].person.case_id for k in marks}
            transaction.on_commit(lambda: _refresh_cases(case_ids))
    return result


# --- the session's own state -------------------------------------------------------------------------------

SESSION_ACTIONS = {"start": "started", "close": "closed", "reopen": "reopened"}


def change_session_state(session, action, *, by, reason=""):
    """Start, close or reopen a session: lock, check, save, log (SessionChange). Operations staff only.

    Reopening a closed session (whose completions count and whose certificates may be printed) needs a reason.
    Raises OrientationError, and changes nothing, on any refusal.
    """
    past = SESSION_ACTIONS.get(action)
    if past is None:
        raise OrientationError("unknown_action", f"“{action}” is not something a session does.")
    if by is None or not can_manage(by):
        raise OrientationError("forbidden", f"Only operations staff may {action} a session.")
    reason = (reason or "").strip()
    if action == "reopen" and not reason:
        raise OrientationError(
            "reason_required",
            "Give a reason: a closed session is reopened only to correct its roll calls, and certificates already "
            "printed may no longer hold.",
        )
    _check_length(reason)
    with transaction.atomic():
        locked = Session.objects.select_for_update(no_key=True).get(pk=session.pk)
        method = getattr(locked, action)
        if not can_proceed(method):
            raise OrientationError(
                "not_allowed", f"{locked.code} is {locked.get_state_display().lower()}: it cannot be {past}."
            )
        if action == "close" and not reason:
            # Closing counts completions: before the last day it would leave everyone "not completed".
            ahead = [day for day in locked.ordered_days if day.date > timezone.localdate()]
            if ahead:
                first = ahead[0]
                raise OrientationError(
                    "reason_required",
                    f"Day {first.number} of {locked.code} is still to come ({first.date.isoformat()}): a session is "
                    "closed before its last day only with a reason (its participants would then need orientation "
                    "again).",
                )
        from_state = locked.state
        method()
        locked.save(update_fields=["state"])
        SessionChange.objects.create(session=locked, action=action, from_state=from_state, to_state=locked.state,
                                     reason=reason, changed_by=by)
    return locked


def _refresh_cases(case_ids):
    from movements.models import Case

    for case in Case.objects.filter(pk__in=case_ids):
        _refresh_readiness(case)


def _refresh_readiness(case):
    from movements import readiness
    from movements.models import Case

    readiness.refresh_snapshot(Case.objects.get(pk=case.pk))


def declined_people():
    """People whose refusal of orientation stands, in cases still preparing to travel: the suggestions page lists
    them, to be asked again or left be."""
    standing = list(
        Declined.objects.filter(withdrawn_at__isnull=True, person__case__state__in=ENROLLABLE_STATES)
        .select_related("person__case", "recorded_by").order_by("person__case__case_number", "person_id")
    )
    # One who declined and then attended every day after all has completed it: not listed as declining.
    statuses = statuses_for([d.person for d in standing])
    return [d for d in standing if not statuses[d.person_id].completed]


def record_declined(person, *, by, reason):
    """Record that a person will not attend orientation (it is voluntary): it no longer holds their family's travel.
    Told in the case's history with the reason (which UNHCR does not read: it may tell of an illness)."""
    reason = _decline_reason(by, reason, "Give the reason they gave (e.g. caring for a newborn, does not wish to "
                                         "attend).")
    with transaction.atomic():
        case, person, status = _locked(person)
        if case.destination_country not in settings.SAFAR_ORIENTATION_DESTINATIONS:
            raise OrientationError("not_required", f"Case {case.case_number} goes to "
                                   f"{case.get_destination_country_display()}, where orientation is not asked for: "
                                   "there is nothing to decline.")
        if status.completed:
            raise OrientationError("completed", f"{person.full_name} completed orientation in "
                                                f"{status.completed_in.code}: there is nothing to decline.")
        if status.declined:
            raise OrientationError("already_declined", f"{person.full_name}'s refusal of orientation is on record "
                                   f"since {timezone.localdate(status.declined.recorded_at).isoformat()}.")
        declined = Declined.objects.create(person=person, reason=reason, recorded_by=by)
        history.log_change(case, by=by, summary=f"Orientation declined by {person.full_name}. Reason: {reason}",
                           summary_for_all=f"Orientation declined by {person.full_name}.",
                           data={"person": person.full_name})
    _refresh_readiness(case)
    return declined


def withdraw_declined(person, *, by, reason):
    """They will attend after all: the refusal is withdrawn (kept as history), and their orientation is due again."""
    reason = _decline_reason(by, reason, "Give the reason (e.g. asked to join the next session).")
    with transaction.atomic():
        case, person, status = _locked(person)
        declined = status.declined
        if declined is None:
            raise OrientationError("not_declined", f"{person.full_name} has no refusal of orientation on record.")
        declined.withdrawn_by, declined.withdrawn_at, declined.withdraw_reason = by, timezone.now(), reason
        declined.save(update_fields=["withdrawn_by", "withdrawn_at", "withdraw_reason"])
        history.log_change(case, by=by, summary=f"Orientation: {person.full_name} will attend after all. "
                                                f"Reason: {reason}",
                           summary_for_all=f"Orientation: {person.full_name} will attend after all.",
                           data={"person": person.full_name})
    _refresh_readiness(case)
    return declined


def _decline_reason(by, reason, ask):
    if by is not None and not can_manage(by):
        raise OrientationError("forbidden", "Only operations staff record that someone declines orientation.")
    reason = (reason or "").strip()
    if not reason:
        raise OrientationError("reason_required", ask)
    _check_length(reason)
    return reason


def _locked(person):
    """(case, person, status) read afresh under the case's lock, the case still preparing to travel."""
    case = Case.objects.select_for_update(no_key=True).get(pk=person.case_id)
    if case.state not in ENROLLABLE_STATES:
        raise OrientationError(
            "case_not_eligible",
            f"Case {case.case_number} is {case.get_state_display().lower()}: orientation is recorded for approved, "
            "ready or booked cases.")
    person = Person.objects.select_related("case").get(pk=person.pk)
    return case, person, statuses_for([person])[person.pk]


def suggestions():
    """People who still need orientation: in an enrollable case, of age on the day it flies, not completed, not
    enrolled in an open session."""
    today = timezone.localdate()
    people = list(
        Person.objects.filter(
            case__state__in=ENROLLABLE_STATES, case__destination_country__in=settings.SAFAR_ORIENTATION_DESTINATIONS
        )
        .select_related("case")
        .order_by("language", "case__case_number", "id")
    )
    statuses = statuses_for(people)
    waiting = []
    for person in people:
        status = statuses[person.pk]
        if status.completed or status.declined or not orientation_due(person, travel_day(person.case, today)):
            continue
        if any(session.state != SessionState.CLOSED for session, _d, _m in status.enrolments):
            continue
        waiting.append(person)
    return waiting
