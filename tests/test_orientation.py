"""Canadian Orientation Abroad: eligibility, capacity, roll calls and their history, completion, documents, access."""

import datetime
import re
import shutil
import subprocess
import unicodedata

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from movements import readiness, transitions
from movements.once import new_token
from orientation import services
from orientation.models import Attendance, AttendanceChange, Enrolment, Session, SessionDay
from tests.conftest import make_case, make_user, page_text, visible_text

TODAY = datetime.date(2026, 11, 20)


@pytest.fixture(autouse=True)
def frozen_today():
    import time_machine

    with time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=datetime.timezone.utc), tick=False):
        yield


def make_session(trainer=None, first_day=TODAY - datetime.timedelta(days=1), capacity=25, language="prs",
                 state="running"):
    session = Session.objects.create(language=language, location="IOM Dushanbe, room 2", capacity=capacity)
    if trainer:
        session.trainers.add(trainer)
    SessionDay.objects.bulk_create(
        [SessionDay(session=session, number=n, date=first_day + datetime.timedelta(days=n - 1)) for n in (1, 2, 3)]
    )
    if state != "planned":
        session.start()
        session.save(update_fields=["state"])
    return session


def approved_case(ops, members=2, **kwargs):
    case = make_case(members, orientation=False, **kwargs)
    case = transitions.accept(case, by=ops)
    return transitions.approve(case, by=ops)


def day(session, number):
    return session.days.get(number=number)


def mark_all(session, number, by, status="present", reason=""):
    marks = {e.pk: status for e in session.enrolments.all()}
    return services.record_roll_call(day(session, number), marks, by=by, reason=reason)


def codes(case):
    return [b.code for b in readiness.blockers_for(case)]


def child_blocked(case, person):
    return any(b.code == "orientation_missing" and b.person_id == person.pk for b in readiness.blockers_for(case))


# --- eligibility and capacity -------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_person_aged_13_on_the_first_day_may_enrol_but_not_one_aged_12(ops):
    session = make_session()
    case = approved_case(ops, members=3)
    pa, spouse, child = case.members.order_by("id")
    child.date_of_birth = session.first_day.replace(year=session.first_day.year - 13)  # 13 that very day
    child.save()
    assert services.ineligibility(child, session) is None
    child.date_of_birth += datetime.timedelta(days=5)  # turns 13 four days after the first day, after today
    child.save()
    too_young = ("aged 12 on the first day; orientation is for ages 13 and over (or 13 by the travel date, once one "
                 "is planned)")
    assert services.ineligibility(child, session) == too_young
    enrolled, refused = services.enrol_case(session, case, by=ops)
    assert [p.pk for p in enrolled] == [pa.pk, spouse.pk]
    assert [(p.pk, r) for p, r in refused] == [(child.pk, too_young)]


@pytest.mark.django_db
def test_one_who_turns_13_before_the_family_flies_may_join_a_session_held_before(ops):
    # Readiness asks for orientation of everyone 13 or over on the travel date: a child of 12 at every session
    # before it would otherwise keep the family from ever being booked.
    session = make_session()
    case = approved_case(ops, members=2)
    child = case.members.order_by("id")[1]
    child.date_of_birth = datetime.date(2013, 11, 24)  # 12 on the first day (19 November), 13 on the 24th
    child.save()
    Case = type(case)

    Case.objects.filter(pk=case.pk).update(planned_travel_date=datetime.date(2026, 11, 23))
    child = type(child).objects.select_related("case").get(pk=child.pk)
    assert services.ineligibility(child, session) == (
        "aged 12 on the first day and 12 on the travel date (2026-11-23); orientation is for ages 13 and over")
    assert child not in services.suggestions()
    assert not child_blocked(Case.objects.get(pk=case.pk), child)

    Case.objects.filter(pk=case.pk).update(planned_travel_date=datetime.date(2026, 12, 15))
    child = type(child).objects.select_related("case").get(pk=child.pk)
    assert child_blocked(Case.objects.get(pk=case.pk), child)
    assert child in services.suggestions()
    assert services.ineligibility(child, session) is None
    enrolled, refused = services.enrol_case(session, Case.objects.get(pk=case.pk), by=ops)
    assert child in enrolled and not refused


@pytest.mark.django_db
def test_only_approved_ready_or_booked_cases_may_enrol(ops):
    session = make_session()
    case = transitions.accept(make_case(1, orientation=False), by=ops)
    with pytest.raises(services.OrientationError) as refused:
        services.enrol_case(session, case, by=ops)
    assert refused.value.code == "case_not_eligible"
    assert "is in processing: only approved, ready or booked cases are enrolled" in refused.value.message
    assert not Enrolment.objects.exists()


@pytest.mark.django_db
def test_double_enrolment_and_completed_people_are_refused_with_reasons(ops):
    first, second = make_session(first_day=TODAY - datetime.timedelta(days=2)), make_session()
    case = approved_case(ops, members=1)
    services.enrol_case(first, case, by=ops)
    with pytest.raises(services.OrientationError) as again:
        services.enrol_case(first, case, by=ops)
    assert f"already enrolled in {first.code}" in again.value.message
    with pytest.raises(services.OrientationError) as elsewhere:
        services.enrol_case(second, case, by=ops)
    assert f"already enrolled in {first.code}, which has not ended" in elsewhere.value.message
    for n in (1, 2, 3):
        mark_all(first, n, ops)
    with pytest.raises(services.OrientationError) as done:
        services.enrol_case(second, case, by=ops)
    assert f"already completed orientation ({first.code})" in done.value.message


@pytest.mark.django_db
def test_a_case_that_does_not_fit_is_not_enrolled_at_all(ops):
    session = make_session(capacity=3)
    services.enrol_case(session, approved_case(ops, members=2), by=ops)
    family = approved_case(ops, members=2)
    with pytest.raises(services.OrientationError) as full:
        services.enrol_case(session, family, by=ops)
    assert full.value.code == "over_capacity"
    assert full.value.message.startswith(f"{session.code} has 1 place(s) left; case {family.case_number} needs 2.")
    assert session.enrolments.count() == 2


@pytest.mark.django_db
def test_a_closed_session_takes_nobody(ops):
    session = make_session()
    session.close()
    session.save()
    with pytest.raises(services.OrientationError) as closed:
        services.enrol_case(session, approved_case(ops), by=ops)
    assert closed.value.code == "session_closed"


# --- roll call ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_saving_the_same_roll_call_twice_changes_nothing(ops, trainer):
    session = make_session(trainer)
    services.enrol_case(session, approved_case(ops, members=2), by=ops)
    first = mark_all(session, 1, trainer)
    assert (first.recorded, first.corrected, first.unchanged) == (2, 0, 0)
    history = AttendanceChange.objects.count()
    again = mark_all(session, 1, trainer)
    assert (again.recorded, again.corrected, again.unchanged) == (0, 0, 2)
    assert AttendanceChange.objects.count() == history == 2
    assert Attendance.objects.count() == 2


@pytest.mark.django_db
def test_a_correction_needs_a_reason_and_keeps_history(ops, trainer):
    session = make_session(trainer)
    services.enrol_case(session, approved_case(ops, members=1), by=ops)
    enrolment = session.enrolments.get()
    mark_all(session, 1, trainer, "absent")
    with pytest.raises(services.OrientationError) as refused:
        mark_all(session, 1, trainer, "present")
    assert refused.value.code == "reason_required"
    assert "Karimi, Zahra" in refused.value.message
    assert Attendance.objects.get().status == "absent"

    mark_all(session, 1, ops, "present", reason="She signed the paper list; entered late by mistake")
    mark = Attendance.objects.get(enrolment=enrolment)
    assert mark.status == "present"
    history = list(mark.changes.order_by("id").values_list("old_status", "new_status", "changed_by__username",
                                                             "reason"))
    assert history == [
        ("", "absent", trainer.username, ""),
        ("absent", "present", ops.username, "She signed the paper list; entered late by mistake"),
    ]
    with pytest.raises(ValidationError):
        mark.delete()
    with pytest.raises(ValidationError):
        mark.changes.first().delete()


@pytest.mark.django_db
def test_trainers_can_back_enter_a_past_day_from_their_paper_list(ops, trainer):
    # Until the session is closed (after that, only a reopening changes it: tests/test_hardening_orientation.py).
    session = make_session(trainer, first_day=TODAY - datetime.timedelta(days=30))
    Enrolment.objects.create(session=session, person=approved_case(ops, members=1).members.get())
    result = mark_all(session, 2, trainer)
    assert result.recorded == 1


@pytest.mark.django_db
def test_a_day_still_to_come_cannot_be_recorded_even_in_a_running_session(ops, trainer, client):
    session = make_session(trainer)  # running: day 1 was yesterday, day 2 is today, day 3 is tomorrow
    services.enrol_case(session, approved_case(ops, members=1), by=ops)
    with pytest.raises(services.OrientationError) as early:
        mark_all(session, 3, trainer)
    assert early.value.code == "day_not_started"
    client.force_login(trainer)
    enrolment = session.enrolments.get()
    response = client.post(f"/orientation/sessions/{session.code}/days/3/", {f"mark-{enrolment.pk}": "present"})
    assert response.status_code == 400
    assert "it can be recorded from that day" in response.content.decode()
    assert not Attendance.objects.exists()


@pytest.mark.django_db
def test_a_planned_session_day_in_the_future_cannot_be_recorded(ops, trainer):
    session = make_session(trainer, first_day=TODAY + datetime.timedelta(days=10), state="planned")
    services.enrol_case(session, approved_case(ops, members=1), by=ops)
    with pytest.raises(services.OrientationError) as early:
        mark_all(session, 1, trainer)
    assert early.value.code == "day_not_started"


# --- completion and readiness -------------------------------------------------------------------------


@pytest.mark.django_db
def test_completion_makes_the_orientation_blocker_disappear(ops, trainer):
    case = approved_case(ops, members=2)
    assert codes(case) == ["orientation_missing", "orientation_missing"]
    assert readiness.blockers_for(case)[0].message == (
        "Karimi, Zahra — orientation not completed: not enrolled in a session"
    )
    session = make_session(trainer, first_day=TODAY - datetime.timedelta(days=2))
    services.enrol_case(session, case, by=ops)
    mark_all(session, 1, trainer)
    services.record_roll_call(day(session, 2), {e.pk: "absent" for e in session.enrolments.all()}, by=trainer)
    message = readiness.blockers_for(case)[0].message
    assert message == (
        f"Karimi, Zahra — orientation not completed: {session.code}: missed day 2 (2026-11-19), "
        "day 3 (2026-11-20) not recorded"
    )
    mark_all(session, 2, trainer, "late", reason="Arrived after the break; paper list")
    mark_all(session, 3, trainer)
    assert codes(case) == []
    assert transitions.clear(case, by=ops).state == "ready"
    case.refresh_from_db()
    assert case.blocker_count == 0


@pytest.mark.django_db
def test_a_person_who_declines_orientation_no_longer_holds_the_family_and_may_change_their_mind(ops, trainer, unhcr):
    # DOMAIN.md: attendance is voluntary for the person. Before, one member who would not attend kept the whole
    # family from being cleared, booked or flown, and nothing could be recorded.
    case = approved_case(ops, members=2)
    zahra, ahmad = case.members.order_by("id")

    services.record_declined(ahmad, by=ops, reason="Works night shifts; does not wish to attend")

    assert codes(case) == ["orientation_missing"]
    assert readiness.blockers_for(case)[0].person_id == zahra.pk
    change = case.changes.get()
    assert change.summary == ("Orientation declined by Karimi, Ahmad. Reason: Works night shifts; does not wish to "
                              "attend")
    assert change.data["summary_for_all"] == "Orientation declined by Karimi, Ahmad."  # UNHCR does not read why
    session = make_session(trainer)
    enrolled, refused = services.enrol_case(session, case, by=ops)
    assert enrolled == [zahra]
    assert refused == [(ahmad, "declined orientation (2026-11-20); withdraw that first if they will attend after "
                               "all")]
    assert [p.pk for p in services.suggestions()] == []  # Zahra is enrolled; Ahmad declined
    with pytest.raises(services.OrientationError) as again:
        services.record_declined(ahmad, by=ops, reason="Asked twice")
    assert again.value.code == "already_declined"

    services.withdraw_declined(ahmad, by=ops, reason="Asked to join the next session")

    assert codes(case) == ["orientation_missing", "orientation_missing"]
    assert ahmad.orientation_declines.get().withdraw_reason == "Asked to join the next session"
    with pytest.raises(services.OrientationError) as nothing:
        services.withdraw_declined(ahmad, by=ops, reason="Again")
    assert nothing.value.code == "not_declined"
    for who, code in ((trainer, "forbidden"), (ops, "reason_required")):
        with pytest.raises(services.OrientationError) as refused_decline:
            services.record_declined(ahmad, by=who, reason="" if who == ops else "By a trainer")
        assert refused_decline.value.code == code


@pytest.mark.django_db
def test_who_completed_orientation_or_need_not_attend_cannot_decline_it(ops, trainer):
    case = make_case(1)  # completed orientation
    transitions.approve(transitions.accept(case, by=ops), by=ops)
    usa = approved_case(ops, members=1, destination_country="USA")

    with pytest.raises(services.OrientationError) as refused:
        services.record_declined(case.members.get(), by=ops, reason="Changed their mind")
    with pytest.raises(services.OrientationError) as not_asked:
        services.record_declined(usa.members.get(), by=ops, reason="Not needed")

    assert refused.value.code == "completed"
    assert "completed orientation in" in refused.value.message
    assert not_asked.value.code == "not_required"
    assert "goes to United States, where orientation is not asked for" in not_asked.value.message
    # One who declined and then attended every day after all is no longer listed as declining.
    changed_mind = approved_case(ops, members=1)
    person = changed_mind.members.get()
    services.record_declined(person, by=ops, reason="Busy at work")
    session = make_session(trainer, first_day=TODAY - datetime.timedelta(days=2))
    Enrolment.objects.create(session=session, person=person, enrolled_by=ops)  # enrolled before they declined
    assert [d.person for d in services.declined_people()] == [person]
    for number in (1, 2, 3):
        mark_all(session, number, trainer)
    assert services.declined_people() == []


@pytest.mark.django_db
def test_declining_from_the_suggestions_page(ops, client):
    case = approved_case(ops, members=2)
    case.members.update(language="prs")
    zahra, ahmad = case.members.order_by("id")
    client.force_login(ops)
    page = client.get("/orientation/suggestions/").content.decode()
    address = f"/orientation/people/{ahmad.pk}/declined/"
    assert f'href="{address}"' in page

    missing = client.post(address, {"action": "decline", "reason": "   "})

    assert missing.status_code == 400
    assert "Nothing was saved." in missing.content.decode() and not ahmad.orientation_declines.exists()
    typed = "x" * 2001
    too_long = client.post(address, {"action": "decline", "reason": typed})
    assert too_long.status_code == 400 and typed in too_long.content.decode()  # what was typed is kept
    saved = client.post(address, {"action": "decline", "reason": "Caring for a newborn"}, follow=True)
    assert saved.redirect_chain == [(address, 302)]
    text = visible_text(saved)
    assert "Karimi, Ahmad declines orientation: their family's travel no longer waits for it." in text
    assert "Declined on 2026-11-20, recorded by" in text and "“Caring for a newborn”" in text
    after = client.get("/orientation/suggestions/")
    waiting = [p.given_name for _lang, cases, _s in after.context["groups"] for _case, people in cases for p in people]
    assert waiting == ["Zahra"]
    assert "Declined orientation (1)" in visible_text(after)
    notes = client.get(f"/cases/{case.case_number}/").content.decode()
    assert "Orientation declined (2026-11-20)" in notes and "Caring for a newborn" in notes  # the history, for ops
    withdrawn = client.post(address, {"action": "withdraw", "reason": "Will come to the Dari session"}, follow=True)
    assert "Karimi, Ahmad will attend orientation after all: it is due again." in visible_text(withdrawn)
    assert client.post(address, {"action": "nonsense", "reason": "x"}).status_code == 400



@pytest.mark.django_db
def test_one_enrolled_who_then_declines_is_named_so_on_the_roll_call_and_the_session(ops, trainer, client):
    session = make_session(trainer)
    case = approved_case(ops, members=2)
    services.enrol_case(session, case, by=ops)
    ahmad = case.members.get(given_name="Ahmad")
    services.record_declined(ahmad, by=ops, reason="Caring for a newborn")

    client.force_login(trainer)
    roll_call = client.get(f"/orientation/sessions/{session.code}/days/2/").content.decode()
    assert roll_call.count('data-testid="declined"') == 1
    assert re.search(r"Karimi, Ahmad</strong>(?:(?!<strong>).)*data-testid=\"declined\"", roll_call, re.S)
    assert "Caring for a newborn" not in roll_call  # the reason is not the trainer's to read
    client.force_login(ops)
    detail = client.get(f"/orientation/sessions/{session.code}/").content.decode()
    assert detail.count('data-testid="declined"') == 1 and f"/orientation/people/{ahmad.pk}/declined/" in detail
    assert "Karimi, Zahra" in roll_call


@pytest.mark.django_db
def test_the_waiting_list_offers_sessions_still_to_come_first_and_says_which_is_under_way(ops, client):
    running = make_session()  # day 1 was yesterday
    coming = make_session(first_day=TODAY + datetime.timedelta(days=6), state="planned")
    case = approved_case(ops, members=1)
    case.members.update(language="prs")
    client.force_login(ops)

    text = visible_text(client.get("/orientation/suggestions/"))

    first, second = f"Enrol in {coming.code}", f"Enrol in {running.code}"
    assert text.index(first) < text.index(second)
    yesterday = TODAY - datetime.timedelta(days=1)
    assert f"{second} under way since {yesterday:%a %d %b}: day 1 has been held" in text
    assert f"{first} from {coming.first_day:%a %d %b}" in text

@pytest.mark.django_db
def test_only_operations_record_a_refusal(trainer, medic, client):
    case = make_case(1, orientation=False)
    address = f"/orientation/people/{case.members.get().pk}/declined/"
    for user in (trainer, medic):
        client.force_login(user)
        assert client.post(address, {"action": "decline", "reason": "x"}).status_code == 403
    assert not case.members.get().orientation_declines.exists()


@pytest.mark.django_db
def test_children_under_13_and_other_destinations_need_no_orientation(ops):
    young = approved_case(ops, members=1)
    young.members.update(date_of_birth=TODAY - datetime.timedelta(days=365 * 10))
    assert "orientation_missing" not in codes(young)
    usa = approved_case(ops, members=1, destination_country="USA")
    assert "orientation_missing" not in codes(usa)


@pytest.mark.django_db
def test_the_suggestions_list_those_waiting_by_language(ops, client):
    waiting = approved_case(ops, members=2)
    waiting.members.update(language="prs")
    done = make_case(1)  # completed orientation
    transitions.approve(transitions.accept(done, by=ops), by=ops)
    client.force_login(ops)
    page = client.get("/orientation/suggestions/")
    groups = {language: cases for language, cases, _sessions in page.context["groups"]}
    assert list(groups) == ["Dari"]
    assert [(case.pk, [p.given_name for p in people]) for case, people in groups["Dari"]] == [
        (waiting.pk, ["Zahra", "Ahmad"])
    ]
    assert "No open session is held in Dari" in page.content.decode()


@pytest.mark.django_db
def test_a_family_waiting_is_enrolled_from_the_list_in_a_session_of_its_language(ops, trainer, client):
    dari = make_session(trainer, first_day=TODAY + datetime.timedelta(days=3), state="planned")
    make_session(trainer, first_day=TODAY + datetime.timedelta(days=3), language="pus", state="planned")
    waiting = approved_case(ops, members=2)
    waiting.members.update(language="prs")
    client.force_login(ops)
    page = client.get("/orientation/suggestions/").content.decode()

    # One button per open session in the family's language (not the Pashto one), each posting the case.
    assert page.count('<button type="submit">Enrol in ') == 1
    assert (f'<form method="post" action="/orientation/sessions/{dari.code}/enrol/" class="inline-form">'
            in page)
    response = client.post(f"/orientation/sessions/{dari.code}/enrol/", {"case_number": waiting.case_number},
                           follow=True)

    assert dari.enrolments.count() == 2
    assert "Nobody is waiting for orientation." in client.get("/orientation/suggestions/").content.decode()
    assert response.redirect_chain[-1][0] == f"/orientation/sessions/{dari.code}/"


# --- documents -----------------------------------------------------------------------------------------

needs_pdftotext = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")


def pdf_text(content):
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True).stdout
    # pdftotext gives right-to-left runs in logical order between embedding marks, in presentation forms.
    text = text.decode("utf-8").replace("\u202b", "").replace("\u202c", "")
    return unicodedata.normalize("NFKC", text)


@pytest.fixture
def finished_session(ops, trainer):
    session = make_session(trainer, first_day=TODAY - datetime.timedelta(days=5))
    case = approved_case(ops, members=2)
    tajik = approved_case(ops, members=1)
    tajik.members.update(family_name="Rahmonov", given_name="Firuz", native_name="Фирӯз Раҳмонов")
    services.enrol_case(session, case, by=ops)
    services.enrol_case(session, tajik, by=ops)
    for n in (1, 2, 3):
        mark_all(session, n, trainer)
    return session


@needs_pdftotext
@pytest.mark.django_db
def test_the_certificate_names_the_person_in_both_scripts(finished_session, trainer, client):
    zahra = finished_session.enrolments.get(person__given_name="Zahra").person
    client.force_login(trainer)
    response = client.get(f"/orientation/sessions/{finished_session.code}/certificates/{zahra.pk}.pdf")
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Certificate of participation" in text
    assert "Zahra Karimi" in text
    assert "زهرا کریمی" in text
    assert "15 November 2026 to 17 November 2026 (3 days, taught in Dari)" in " ".join(text.split())


@needs_pdftotext
@pytest.mark.django_db
def test_a_tajik_certificate_carries_the_cyrillic_name(finished_session, trainer, client):
    firuz = finished_session.enrolments.get(person__given_name="Firuz").person
    client.force_login(trainer)
    text = pdf_text(client.get(f"/orientation/sessions/{finished_session.code}/certificates/{firuz.pk}.pdf").content)
    assert "Фирӯз Раҳмонов" in text


@needs_pdftotext
@pytest.mark.django_db
def test_the_attendance_sheet_lists_everyone_in_both_scripts_with_a_box_per_day(finished_session, trainer, client):
    client.force_login(trainer)
    text = pdf_text(client.get(f"/orientation/sessions/{finished_session.code}/attendance-sheet.pdf").content)
    for name in ["Karimi, Zahra", "زهرا کریمی", "Karimi, Ahmad", "احمد کریمی", "Rahmonov, Firuz", "Фирӯз Раҳмонов"]:
        assert name in text, name
    assert "Day 1" in text and "Day 3" in text and "Signature" in text
    assert "Page 1 of 1" in text
    assert "Participants: 3" in text


@needs_pdftotext
@pytest.mark.django_db
def test_each_later_page_of_a_long_attendance_sheet_says_which_session_it_belongs_to(ops, trainer, client):
    session = make_session(trainer, capacity=40)
    for _ in range(6):
        services.enrol_case(session, approved_case(ops, members=5), by=ops)
    client.force_login(trainer)

    text = pdf_text(client.get(f"/orientation/sessions/{session.code}/attendance-sheet.pdf").content)

    pages = [page for page in text.split("\f") if page.strip()]
    assert len(pages) >= 2
    assert f"Attendance sheet — {session.code} (continued)" not in pages[0]
    for page in pages[1:]:
        assert f"Attendance sheet — {session.code} (continued)" in page


@pytest.mark.django_db
def test_no_certificate_before_every_day_is_attended(ops, trainer, client):
    session = make_session(trainer)
    services.enrol_case(session, approved_case(ops, members=1), by=ops)
    person = session.enrolments.get().person
    mark_all(session, 1, trainer)
    client.force_login(trainer)
    response = client.get(f"/orientation/sessions/{session.code}/certificates/{person.pk}.pdf", follow=True)
    assert "has not attended every day" in response.content.decode()
    assert response["Content-Type"].startswith("text/html")


# --- pages and access ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_trainer_records_a_day_in_one_request_and_a_correction_keeps_what_was_tapped(ops, trainer, client):
    session = make_session(trainer)
    services.enrol_case(session, approved_case(ops, members=2), by=ops)
    zahra, ahmad = session.enrolments.order_by("person_id")
    client.force_login(trainer)
    url = f"/orientation/sessions/{session.code}/days/1/"
    response = client.post(url, {f"mark-{zahra.pk}": "present", f"mark-{ahmad.pk}": "absent"})
    assert response.status_code == 302
    assert dict(Attendance.objects.values_list("enrolment_id", "status")) == {zahra.pk: "present", ahmad.pk: "absent"}

    response = client.post(url, {f"mark-{zahra.pk}": "present", f"mark-{ahmad.pk}": "late"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "give a reason for the correction" in page
    assert f'id="m-{ahmad.pk}-late" value="late" checked' in page  # the tap is not lost
    assert Attendance.objects.get(enrolment=ahmad).status == "absent"
    # The page opens at the reason's field, marked, with the message beside it (it is at the bottom of a phone).
    assert re.search(r'<input type="text" name="reason" id="id_reason"[^>]* autofocus aria-invalid="true" '
                     r'aria-describedby="reason-error">', page)
    assert '<p class="fielderror" id="reason-error">You changed marks already saved' in page
    # A reason too long is refused, and comes back as typed.
    too_long = "x" * 2001
    response = client.post(url, {f"mark-{ahmad.pk}": "late", "reason": too_long})
    assert response.status_code == 400 and f'value="{too_long}"' in response.content.decode()

    response = client.post(url, {f"mark-{ahmad.pk}": "late", "reason": "came after lunch"}, follow=True)
    assert "Day 1 saved: 0 recorded, 1 corrected, 0 unchanged." in response.content.decode()


@pytest.mark.django_db
def test_mark_everyone_not_tapped_as_present(ops, trainer, client):
    session = make_session(trainer)
    services.enrol_case(session, approved_case(ops, members=3), by=ops)
    first = session.enrolments.order_by("id").first()
    client.force_login(trainer)
    client.post(f"/orientation/sessions/{session.code}/days/2/", {f"mark-{first.pk}": "absent", "all_present": "1"})
    assert sorted(Attendance.objects.values_list("status", flat=True)) == ["absent", "present", "present"]


@pytest.mark.django_db
def test_a_trainer_sees_only_their_own_sessions(ops, trainer, client):
    mine = make_session(trainer)
    other_trainer = make_user("farida", "trainer")
    theirs = make_session(other_trainer)
    person = approved_case(ops, members=1).members.get()
    Enrolment.objects.create(session=theirs, person=person)
    client.force_login(trainer)
    listed = [row["session"].code for row in client.get("/orientation/").context["rows"]]
    assert listed == [mine.code]
    for url in [f"/orientation/sessions/{theirs.code}/", f"/orientation/sessions/{theirs.code}/days/1/",
                f"/orientation/sessions/{theirs.code}/attendance-sheet.pdf",
                f"/orientation/sessions/{theirs.code}/certificates/{person.pk}.pdf"]:
        assert client.get(url).status_code == 404, url
    assert client.post(f"/orientation/sessions/{theirs.code}/days/1/", {}).status_code == 404
    assert client.post(f"/orientation/sessions/{mine.code}/enrol/", {"case_number": "X"}).status_code == 403
    assert client.get("/orientation/suggestions/").status_code == 403
    assert client.get("/orientation/sessions/new/").status_code == 403


@pytest.mark.django_db
def test_trainers_see_names_ages_languages_and_case_numbers_but_no_phone_or_documents(ops, trainer, client):
    session = make_session(trainer)
    case = approved_case(ops, members=1)
    case.members.update(phone="+992934904548", language="prs")
    services.enrol_case(session, case, by=ops)
    client.force_login(trainer)
    page = page_text(client.get(f"/orientation/sessions/{session.code}/"))
    person = case.members.get()
    assert person.full_name in page and person.native_name in page and case.case_number in page and "Dari" in page
    for secret in ["+992", "934904548", person.documents.get().number, person.visa_reference, "IME"]:
        assert secret not in page, secret
    assert client.get(f"/cases/{case.case_number}/").status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["medical", "escort", "unhcr"])
def test_other_roles_have_no_orientation_pages(role, personas, ops, client):
    session = make_session()
    client.force_login(personas[role])
    assert client.get("/orientation/").status_code == 403
    assert client.get(f"/orientation/sessions/{session.code}/").status_code == 403


@pytest.mark.django_db
def test_operations_plan_a_session_with_its_days_and_enrol_a_case(ops, trainer, client):
    client.force_login(ops)
    bad = client.post("/orientation/sessions/new/", {"submission": new_token(),
        "curriculum": "adult", "language": "prs", "location": "Room 2", "capacity": "25", "trainers": [trainer.pk],
        "day_1": "2026-12-03", "day_2": "2026-12-02", "day_3": "2026-12-04",
    })
    assert bad.status_code == 400
    assert "Day 2 must come after day 1 (2026-12-03)." in bad.context["form"].errors["day_2"]
    assert not Session.objects.exists()
    response = client.post("/orientation/sessions/new/", {"submission": new_token(),
        "curriculum": "youth", "language": "prs", "location": "Room 2", "capacity": "25", "trainers": [trainer.pk],
        "day_1": "2026-12-02", "day_2": "2026-12-03", "day_3": "2026-12-04",
    })
    session = Session.objects.get()
    assert response.url == f"/orientation/sessions/{session.code}/"
    assert [d.date.isoformat() for d in session.ordered_days] == ["2026-12-02", "2026-12-03", "2026-12-04"]
    case = approved_case(ops, members=2)
    page = client.post(f"/orientation/sessions/{session.code}/enrol/", {"case_number": case.case_number.lower()},
                       follow=True).content.decode()
    assert "Enrolled from" in page and "Karimi, Zahra, Karimi, Ahmad" in page
    assert session.enrolments.count() == 2


@pytest.mark.django_db
def test_the_case_page_shows_each_members_orientation_status(ops, trainer, client):
    session = make_session(trainer)
    case = approved_case(ops, members=1)
    services.enrol_case(session, case, by=ops)
    mark_all(session, 1, trainer)
    client.force_login(ops)
    page = client.get(f"/cases/{case.case_number}/").content.decode()
    assert f"Orientation {session.code} (in progress): 1 of 3 days attended" in page
    assert timezone.localdate() == TODAY
    later = make_session(trainer, first_day=TODAY + datetime.timedelta(days=7), state="planned")
    waiting = approved_case(ops, members=1)
    services.enrol_case(later, waiting, by=ops)
    page = client.get(f"/cases/{waiting.case_number}/").content.decode()
    assert f"Orientation {later.code} (not begun): 0 of 3 days attended" in page


@pytest.mark.django_db
def test_the_case_page_of_a_family_never_enrolled_reads_no_enrolment_and_says_so(ops, trainer, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    waiting, enrolled = approved_case(ops, members=2), approved_case(ops, members=1)
    services.enrol_case(make_session(trainer), enrolled, by=ops)
    client.force_login(ops)
    for case, reads in ((waiting, 0), (enrolled, 1)):
        with CaptureQueriesContext(connection) as ctx:
            page = client.get(f"/cases/{case.case_number}/")
        assert sum(q["sql"].startswith('SELECT "orientation_enrolment".') for q in ctx.captured_queries) == reads
        [case_row] = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith('SELECT "movements_case".')]
        assert '"orientation_enrolment"' in case_row
    from tests.conftest import visible_text

    text = visible_text(client.get(f"/cases/{waiting.case_number}/"))
    assert "Orientation not completed (2): Karimi: Zahra, Ahmad — not enrolled in a session" in text


@pytest.mark.django_db
def test_session_pages_do_not_run_a_query_per_participant(ops, trainer, client, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    session = make_session(trainer)
    client.force_login(trainer)

    def queries(url):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    services.enrol_case(session, approved_case(ops, members=2), by=ops)
    mark_all(session, 1, trainer)
    few = [queries(f"/orientation/sessions/{session.code}/"), queries(f"/orientation/sessions/{session.code}/days/1/"),
           queries("/orientation/")]
    for _ in range(5):
        services.enrol_case(session, approved_case(ops, members=3), by=ops)
        make_session(trainer)
    mark_all(session, 1, trainer)
    many = [queries(f"/orientation/sessions/{session.code}/"), queries(f"/orientation/sessions/{session.code}/days/1/"),
            queries("/orientation/")]
    assert many == few


@pytest.mark.django_db
def test_typed_text_is_printed_as_text_not_read_as_pdf_markup(ops, trainer, client):
    session = make_session(trainer, first_day=TODAY - datetime.timedelta(days=5))
    Session.objects.filter(pk=session.pk).update(location='Room <A & <img src="/etc/passwd"/>')
    case = approved_case(ops, members=1)
    case.members.update(given_name="Zahra <Z", family_name="Karimi & Co")
    services.enrol_case(session, case, by=ops)
    for n in (1, 2, 3):
        mark_all(session, n, trainer)
    person = case.members.get()
    client.force_login(trainer)
    sheet = client.get(f"/orientation/sessions/{session.code}/attendance-sheet.pdf")
    certificate = client.get(f"/orientation/sessions/{session.code}/certificates/{person.pk}.pdf")
    assert sheet.status_code == certificate.status_code == 200
    if shutil.which("pdftotext"):
        assert 'Room <A & <img src="/etc/passwd"/>' in pdf_text(sheet.content)
        assert "Zahra <Z Karimi & Co" in pdf_text(certificate.content)


@pytest.mark.django_db
def test_a_nul_byte_in_a_session_code_is_simply_not_found(trainer, client):
    client.force_login(trainer)
    assert client.get("/orientation/sessions/%00/").status_code == 404


@pytest.mark.django_db
def test_the_roll_call_says_up_front_when_a_day_is_still_to_come_and_shows_the_history(ops, trainer, client):
    session = make_session(trainer)
    services.enrol_case(session, approved_case(ops, members=3), by=ops)
    client.force_login(trainer)
    tomorrow = client.get(f"/orientation/sessions/{session.code}/days/3/").content.decode()
    assert "its roll call can be taken from that day" in tomorrow
    assert "Save day 3" not in tomorrow
    zahra = session.enrolments.order_by("person_id").first()
    response = client.post(f"/orientation/sessions/{session.code}/days/1/", {f"mark-{zahra.pk}": "late"}, follow=True)
    assert "Still without a mark for day 1: Karimi, Ahmad; Karimi, Omid." in response.content.decode()
    history = client.get(f"/orientation/sessions/{session.code}/days/1/").content.decode()
    assert "History of day 1" in history and "Karimi, Zahra: late" in history


@pytest.mark.django_db
def test_a_trainer_lands_on_their_sessions(trainer, client):
    client.force_login(trainer)
    assert client.get("/").url == "/orientation/"


@pytest.mark.django_db
@pytest.mark.parametrize("first_day, warned", [
    (TODAY - datetime.timedelta(days=1), "Day 1 (Thu 19 Nov) of {code} has passed: the family completes "
                                         "orientation in this session only if the roll call of that day marks them "
                                         "present (or late)."),
    (TODAY - datetime.timedelta(days=2), "Days 1 and 2 (Wed 18 Nov, Thu 19 Nov) of {code} have passed"),
    (TODAY, None),
])
def test_enrolling_in_a_session_whose_first_days_have_passed_says_what_completing_needs(client, ops, trainer,
                                                                                        first_day, warned):
    session = make_session(trainer, first_day=first_day)
    case = approved_case(ops, members=2)
    client.force_login(ops)

    page = client.post(f"/orientation/sessions/{session.code}/enrol/", {"case_number": case.case_number},
                       follow=True).content.decode()

    assert session.enrolments.count() == 2
    if warned:
        assert '<li class="msg warning ">' + warned.format(code=session.code) in page
    else:
        assert "has passed" not in page and "have passed" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("role, lands_on", [("medical", "/medical/"), ("trainer", "/orientation/"),
                                            ("operations", "/"), ("escort", "/")])
def test_each_role_that_opens_the_sites_address_lands_on_its_work_after_logging_in(client, personas, role,
                                                                                   lands_on):
    user = personas[role]
    user.set_password("a long demo password")
    user.save()
    login_page = client.get("/", follow=True).redirect_chain[-1][0]
    assert login_page == "/accounts/login/?next=/"

    response = client.post(login_page, {"username": user.get_username(), "password": "a long demo password"},
                           follow=True)

    assert response.redirect_chain[-1][0] == lands_on
    # Any other page asked for is where log-in leads, whatever the role.
    client.logout()
    asked = client.post("/accounts/login/?next=/accounts/password_change/",
                        {"username": user.get_username(), "password": "a long demo password"})
    assert asked.url == "/accounts/password_change/"


def test_a_persons_own_record_gives_their_marks_and_corrections_in_words(ops, trainer):
    from orientation.subject import orientation_record

    session = make_session(trainer)
    case = approved_case(ops, members=1)
    services.enrol_case(session, case, by=ops)
    mark_all(session, 1, trainer, "absent")
    mark_all(session, 1, trainer, "late", reason="Came after the bus strike")

    sections = {s.title: s for s in orientation_record(case.members.get())}

    marks = sections["Attendance marks as recorded and corrected"]
    assert [row[3:] for row in marks.rows] == [("recorded: Absent", "—"), ("Absent → Late", "Came after the bus strike")]


# --- a family enrolled by mistake -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_operations_take_out_a_family_enrolled_by_mistake_and_enrol_it_in_the_right_session(client, ops, trainer):
    wrong, right = make_session(trainer), make_session(trainer, first_day=TODAY + datetime.timedelta(days=7))
    case = approved_case(ops, members=2)
    services.enrol_case(wrong, case, by=ops)
    client.force_login(ops)
    page = client.get(f"/orientation/sessions/{wrong.code}/").content.decode()
    assert f'<option value="{case.case_number}">{case.case_number} — Karimi, Zahra and 1 more</option>' in page

    taken = client.post(f"/orientation/sessions/{wrong.code}/take-out/",
                        {"case_number": case.case_number, "reason": "Enrolled in the Dari session by mistake"},
                        follow=True)

    assert f"Taken out of {wrong.code}: Karimi, Zahra; Karimi, Ahmad." in taken.content.decode()
    assert not wrong.enrolments.exists()
    change = case.changes.order_by("-id").first()
    assert change.summary == (f"Taken out of orientation session {wrong.code}: Karimi, Zahra; Karimi, Ahmad. "
                              "Reason: Enrolled in the Dari session by mistake") and change.user == ops
    enrolled, refused = services.enrol_case(right, case, by=ops)  # no longer "already enrolled in …"
    assert len(enrolled) == 2 and refused == []


@pytest.mark.django_db
def test_a_take_out_sent_twice_says_so_and_its_reason_is_not_for_unhcr(client, ops, trainer, unhcr):
    session = make_session(trainer)
    case = approved_case(ops, members=1)
    services.enrol_case(session, case, by=ops)
    client.force_login(ops)
    body = {"case_number": case.case_number, "reason": "Mother in hospital for treatment"}

    client.post(f"/orientation/sessions/{session.code}/take-out/", body)
    again = client.post(f"/orientation/sessions/{session.code}/take-out/", body, follow=True).content.decode()

    assert f'<li class="msg info ">Nobody of case {case.case_number} is enrolled in {session.code}.</li>' in again
    assert "<details class=\"gap-above\" open>" not in again  # nothing to fill in again
    assert "Mother in hospital" in client.get(f"/cases/{case.case_number}/").content.decode()
    client.force_login(unhcr)
    page = client.get(f"/cases/{case.case_number}/").content.decode()
    assert f"Taken out of orientation session {session.code}: Karimi, Zahra." in page
    assert "Mother in hospital" not in page


@pytest.mark.django_db
def test_a_family_with_a_mark_stays_enrolled_and_the_reason_typed_is_kept(client, ops, trainer):
    session = make_session(trainer)
    case = approved_case(ops, members=2)
    services.enrol_case(session, case, by=ops)
    zahra = session.enrolments.get(person__given_name="Zahra")
    services.record_roll_call(day(session, 1), {zahra.pk: "absent"}, by=trainer)
    client.force_login(ops)
    assert "Take out a family enrolled by mistake" not in client.get(
        f"/orientation/sessions/{session.code}/").content.decode()  # nobody to offer

    refused = client.post(f"/orientation/sessions/{session.code}/take-out/",
                          {"case_number": case.case_number, "reason": "Wrong session"}, follow=True).content.decode()

    assert session.enrolments.count() == 2
    assert (f"Nobody was taken out: Karimi, Zahra of case {case.case_number} has attendance recorded in "
            f"{session.code}, which stays on record with the enrolment. If they did not attend, mark them absent."
            ) in refused
    with pytest.raises(services.OrientationError) as no_reason:
        services.remove_case(session, case, by=ops, reason=" ")
    assert no_reason.value.code == "reason_required"


@pytest.mark.django_db
def test_a_refused_take_out_keeps_the_family_chosen_and_the_reason(client, ops, trainer):
    session = make_session(trainer)
    first, second = approved_case(ops, members=1), approved_case(ops, members=1)
    for case in (first, second):
        services.enrol_case(session, case, by=ops)
    client.force_login(ops)
    reason = "Enrolled in the wrong session. " * 70  # past 2,000 characters

    page = client.post(f"/orientation/sessions/{session.code}/take-out/",
                       {"case_number": second.case_number, "reason": reason}, follow=True).content.decode()

    assert session.enrolments.count() == 2 and "keep it to 2,000" in page
    assert f'<option value="{second.case_number}" selected>' in page
    assert f'value="{reason}"' in page
    assert "<details class=\"gap-above\" open>" in page


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["trainer", "medical", "escort", "unhcr"])
def test_only_operations_take_a_family_out_of_a_session(client, personas, ops, role):
    session = make_session(personas["trainer"])
    case = approved_case(ops, members=1)
    services.enrol_case(session, case, by=ops)
    client.force_login(personas[role])

    response = client.post(f"/orientation/sessions/{session.code}/take-out/",
                           {"case_number": case.case_number, "reason": "Mistake"})

    assert response.status_code in (403, 404)
    assert session.enrolments.count() == 1
