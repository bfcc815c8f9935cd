"""What orientation adds to the case: a readiness requirement and a note beside each member."""

from django.conf import settings
from django.utils import timezone

from movements import hooks, memo, readiness
from orientation.models import SessionState
from orientation.services import case_statuses, describe_missing, orientation_due, statuses_for


def orientation_link(case, person, access):
    """Where a member's missing orientation is resolved: their latest session (its roll call), else the sessions
    to enrol them in — for those who run orientation. The latest session of every member of the case is read once,
    at the first link asked for (a page groups several members' blockers)."""
    from django.urls import reverse

    from orientation.access import can_manage, visible_sessions
    from orientation.models import Enrolment

    if person is None or access is None or not access.user.is_authenticated:
        return None
    latest = case.__dict__.get("_orientation_latest_session")
    if (latest is None or latest[0] != access.user.pk) and memo.active() and can_manage(access.user):
        # Those who see every session: the latest of each member is in the statuses the page has read.
        statuses = case_statuses(case, [])
        latest = case.__dict__["_orientation_latest_session"] = (access.user.pk, {
            person_id: status.enrolments[-1][0].code for person_id, status in statuses.items() if status.enrolments})
    if latest is None or latest[0] != access.user.pk:
        sessions = {}
        for person_id, code in (Enrolment.objects.filter(person__case_id=case.pk,
                                                         session__in=visible_sessions(access.user))
                                .order_by("enrolled_at", "id").values_list("person_id", "session__code")):
            sessions[person_id] = code  # the latest enrolment wins
        latest = case.__dict__["_orientation_latest_session"] = (access.user.pk, sessions)
    code = latest[1].get(person.pk)
    if code is not None:
        return reverse("orientation_session", args=[code])
    return reverse("orientation_suggestions") if can_manage(access.user) else None


@readiness.register(code="orientation", order=40,
                    label=lambda: f"Every member aged {settings.SAFAR_ORIENTATION_MIN_AGE} or over has completed "
                                  "orientation, or declined it",
                    titles={"orientation_missing": "Orientation not completed"}, link=orientation_link)
def orientation_completed(ctx):
    if ctx.case.destination_country not in settings.SAFAR_ORIENTATION_DESTINATIONS:
        return
    due = [p for p in ctx.travelling_members if orientation_due(p, ctx.travel_date)]
    if not due:
        return
    statuses = ctx.extra.get("orientation") or case_statuses(ctx.case, due)
    for person in due:
        status = statuses[person.pk]
        if status.completed or status.declined:  # attendance is voluntary (DOMAIN.md)
            continue
        if not status.enrolments:
            detail = "not enrolled in a session"
        else:
            session, days, marks = status.enrolments[-1]
            detail = describe_missing(session, days, marks)
        yield readiness.Blocker("orientation_missing", f"{person.full_name} — orientation not completed: {detail}",
                                person.pk)


@hooks.readiness_preload.register(key="orientation.preload")
def preload_orientation(contexts):
    """The orientation of every traveller who needs it, in these cases, loaded at once (a departure closing)."""
    due = [(ctx, [p for p in ctx.travelling_members if orientation_due(p, ctx.travel_date)]) for ctx in contexts
           if ctx.case.destination_country in settings.SAFAR_ORIENTATION_DESTINATIONS]
    people = [p for _, found in due for p in found]
    if not people:
        return
    statuses = statuses_for(people)
    for ctx, found in due:
        ctx.extra["orientation"] = {p.pk: statuses[p.pk] for p in found}


@hooks.member_notes.register
def orientation_notes(people):
    cases = {p.case_id for p in people}
    statuses = case_statuses(people[0].case, people) if len(cases) == 1 else statuses_for(people)
    notes = {}
    for person in people:
        status = statuses[person.pk]
        if status.completed:
            last_day = status.completed_in.last_day
            notes[person.pk] = [(f"Orientation completed ({status.completed_in.code}, {last_day:%Y-%m-%d})", "ok")]
        elif status.declined:
            # The reason is in the case's history, for those who read reasons.
            notes[person.pk] = [(f"Orientation declined "
                                 f"({timezone.localdate(status.declined.recorded_at):%Y-%m-%d})", "ok")]
        elif status.enrolments:
            session, days, marks = status.enrolments[-1]
            attended = sum(1 for d in days if marks.get(d.number) in ("present", "late"))
            state = {SessionState.CLOSED: "closed", SessionState.PLANNED: "not begun"}.get(session.state, "in progress")
            notes[person.pk] = [(f"Orientation {session.code} ({state}): {attended} of {len(days)} days attended",
                                 "warn")]
    return notes
