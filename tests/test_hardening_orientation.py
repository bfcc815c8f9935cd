"""Closed orientation sessions (hardening): a trainer could change the roll call of a closed session, revoking a
completed orientation after its certificate was printed. A closed session now changes only through a reopening,
by operations staff, with a reason, on the record."""

import datetime

import pytest
import time_machine

from orientation import services
from orientation.models import Attendance, AttendanceChange, Session, SessionChange
from tests.test_orientation import TODAY, approved_case, day, make_session, mark_all

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=datetime.timezone.utc), tick=False):
        yield


@pytest.fixture
def closed_session(ops, trainer):
    """A session that ran last week, everyone present every day (orientation completed), closed by operations."""
    session = make_session(trainer, first_day=TODAY - datetime.timedelta(days=7))
    services.enrol_case(session, approved_case(ops, members=2), by=ops)
    for number in (1, 2, 3):
        mark_all(session, number, trainer)
    return services.change_session_state(session, "close", by=ops)


def completed(session):
    statuses = services.statuses_for([e.person for e in session.enrolments.all()])
    return sorted(s.completed_in.code if s.completed else None for s in statuses.values())


def test_a_trainer_cannot_change_the_roll_call_of_a_closed_session(closed_session, trainer):
    with pytest.raises(services.OrientationError) as refused:
        mark_all(closed_session, 2, trainer, status="absent", reason="Forgot to mark her absent")

    assert refused.value.code == "session_closed"
    assert refused.value.message == (
        f"{closed_session.code} is closed: its roll calls can no longer change. If a mark is wrong, operations "
        "staff can reopen the session, giving the reason."
    )
    assert set(Attendance.objects.values_list("status", flat=True)) == {"present"}
    assert completed(closed_session) == [closed_session.code] * 2


def test_not_even_operations_staff_change_a_closed_roll_call_without_reopening(closed_session, ops):
    with pytest.raises(services.OrientationError) as refused:
        mark_all(closed_session, 1, ops, status="late", reason="Correction")

    assert refused.value.code == "session_closed"


def test_the_roll_call_page_of_a_closed_session_shows_no_form_and_refuses_a_post(closed_session, trainer, client):
    client.force_login(trainer)
    enrolment = closed_session.enrolments.first()

    page = client.get(f"/orientation/sessions/{closed_session.code}/days/2/").content.decode()
    posted = client.post(f"/orientation/sessions/{closed_session.code}/days/2/",
                         {f"mark-{enrolment.pk}": "absent", "reason": "Forgot"})

    assert 'data-testid="session-closed"' in page and "<form method=\"post\" class=\"rollcall\"" not in page
    assert posted.status_code == 400
    assert "its roll calls can no longer change" in posted.content.decode()
    assert Attendance.objects.get(enrolment=enrolment, day=day(closed_session, 2)).status == "present"


def test_operations_reopen_a_closed_session_with_a_reason_and_it_is_on_the_record(closed_session, ops):
    session = services.change_session_state(closed_session, "reopen", by=ops,
                                            reason="Day 2 of Karimi was entered for the wrong person")

    assert session.state == "running"
    change = SessionChange.objects.get(session=session, action="reopen")
    assert (change.from_state, change.to_state, change.changed_by, change.reason) == (
        "closed", "running", ops, "Day 2 of Karimi was entered for the wrong person")


def test_after_reopening_the_trainer_corrects_the_mark_with_a_reason(closed_session, ops, trainer):
    services.change_session_state(closed_session, "reopen", by=ops, reason="Paper list checked again")
    enrolment = closed_session.enrolments.first()

    result = services.record_roll_call(day(closed_session, 2), {enrolment.pk: "absent"}, by=trainer,
                                       reason="She was absent on day 2")

    assert result.corrected == 1
    assert AttendanceChange.objects.filter(reason="She was absent on day 2").count() == 1


def test_reopening_needs_a_reason(closed_session, ops):
    with pytest.raises(services.OrientationError) as refused:
        services.change_session_state(closed_session, "reopen", by=ops, reason="  ")

    assert refused.value.code == "reason_required"
    assert Session.objects.get(pk=closed_session.pk).state == "closed"
    assert not SessionChange.objects.filter(action="reopen").exists()


def test_a_trainer_may_not_reopen_a_session(closed_session, trainer, client):
    with pytest.raises(services.OrientationError) as refused:
        services.change_session_state(closed_session, "reopen", by=trainer, reason="I want to fix a mark")
    client.force_login(trainer)
    response = client.post(f"/orientation/sessions/{closed_session.code}/reopen/", {"reason": "fix a mark"})

    assert refused.value.code == "forbidden"
    assert response.status_code == 403
    assert Session.objects.get(pk=closed_session.pk).state == "closed"


def test_only_a_closed_session_is_reopened(ops, trainer):
    session = make_session(trainer)

    with pytest.raises(services.OrientationError) as refused:
        services.change_session_state(session, "reopen", by=ops, reason="Just because")

    assert refused.value.code == "not_allowed"
    assert refused.value.message == f"{session.code} is running: it cannot be reopened."


def test_the_session_page_offers_operations_a_reopening_and_shows_the_history(closed_session, ops, client):
    client.force_login(ops)

    page = client.get(f"/orientation/sessions/{closed_session.code}/").content.decode()
    reopened = client.post(f"/orientation/sessions/{closed_session.code}/reopen/",
                           {"reason": "Wrong person marked on day 2"}, follow=True).content.decode()

    assert f'action="/orientation/sessions/{closed_session.code}/reopen/"' in page
    assert f"Session {closed_session.code} is now running." in reopened
    assert "reopen: Closed → Running" in reopened and "“Wrong person marked on day 2”" in reopened
    assert "close: Running → Closed" in reopened


def test_reopening_without_a_reason_on_the_page_says_why_nothing_happened(closed_session, ops, client):
    client.force_login(ops)

    response = client.post(f"/orientation/sessions/{closed_session.code}/reopen/", {"reason": ""}, follow=True)

    assert "Give a reason: a closed session is reopened only to correct its roll calls" in response.content.decode()
    assert Session.objects.get(pk=closed_session.pk).state == "closed"


def test_the_trainer_sees_no_reopening_on_the_session_page(closed_session, trainer, client):
    client.force_login(trainer)

    page = client.get(f"/orientation/sessions/{closed_session.code}/").content.decode()

    assert "/reopen/" not in page
    assert "This session is closed: its roll calls no longer change." in page


def test_a_refused_reopening_keeps_the_reason_typed_for_the_page_once(closed_session, ops, client):
    client.force_login(ops)
    reason = "The paper list shows Ahmad present on day two. " * 45  # past 2,000 characters: pasted in full

    refused = client.post(f"/orientation/sessions/{closed_session.code}/reopen/", {"reason": reason}, follow=True)

    assert Session.objects.get(pk=closed_session.pk).state == "closed"
    page = refused.content.decode()
    assert "keep it to 2,000" in page
    assert f">{reason}</textarea>" in page
    assert "Ahmad present on day two" not in client.get(f"/orientation/sessions/{closed_session.code}/").content.decode()
