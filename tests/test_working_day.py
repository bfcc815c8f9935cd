"""Every role lands on its work, and what a timeline says does not give a hold's nature away (the working-day
issue, first items)."""

import pytest

from movements import transitions
from tests.conftest import PASSWORD, make_case, make_user, page_text, visible_text

pytestmark = pytest.mark.django_db


def log_in(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client.get(response["Location"])


@pytest.mark.parametrize("role, lands_on", [
    ("medical", "/medical/"),
    ("trainer", "/orientation/"),
    ("operations", "/"),
    ("unhcr", "/"),
])
def test_each_role_lands_on_its_work_after_logging_in(client, role, lands_on):
    user = make_user(f"someone-{role}", role)

    landing = log_in(client, user)

    assert landing.status_code == 302
    assert landing["Location"] == lands_on


def test_the_dashboard_is_still_open_to_medical_staff(client, medic):
    client.force_login(medic)
    assert client.get("/").status_code == 200


def test_unhcr_reads_a_neutral_actor_for_a_hold_and_its_resumption(client, medic, unhcr, ops):
    medic.first_name, medic.last_name = "Mehdi", "Medical"
    medic.save()
    case = transitions.hold(make_case(1), by=medic, reason="Active TB: treatment under way", category="medical")
    transitions.resume(case, by=medic)

    client.force_login(unhcr)
    seen_by_unhcr = page_text(client.get(f"/cases/{case.case_number}/"))
    client.force_login(ops)
    seen_by_ops = page_text(client.get(f"/cases/{case.case_number}/"))

    assert "Mehdi Medical" not in seen_by_unhcr
    assert seen_by_unhcr.count("by IOM staff") == 2
    assert seen_by_ops.count("by Mehdi Medical") == 2



def test_enrolling_a_case_not_yet_approved_says_so_once_for_the_whole_family(ops):
    import datetime

    from orientation import services
    from orientation.models import Session, SessionDay

    case = make_case(5)
    session = Session.objects.create(language="prs", location="Room 2")
    start = datetime.date.today() + datetime.timedelta(days=7)
    SessionDay.objects.bulk_create([SessionDay(session=session, number=n, date=start + datetime.timedelta(days=n))
                                    for n in (1, 2, 3)])

    with pytest.raises(services.OrientationError) as refused:
        services.enrol_case(session, case, by=ops)

    assert refused.value.code == "case_not_eligible"
    assert refused.value.message == (f"Case {case.case_number} is referred: only approved, ready or booked cases are "
                                     "enrolled in orientation.")
    assert not session.enrolments.exists()


# --- operations: what flies soon and is blocked ---------------------------------------------------------------

import datetime  # noqa: E402
from zoneinfo import ZoneInfo  # noqa: E402

import time_machine  # noqa: E402

from movements.models import Case  # noqa: E402
from tests.conftest import book, case_in, make_departure, next_arrival_day, ready_case  # noqa: E402

MORNING = datetime.datetime(2026, 11, 30, 8, tzinfo=ZoneInfo("Asia/Dushanbe"))
TODAY = MORNING.date()


def on_the_morning():
    return time_machine.travel(MORNING, tick=False)


def words(response):
    return visible_text(response)


def listed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return [case.case_number for case in response.context["page"].object_list]


def planned(case, days):
    """Set the case's planned travel date `days` from TODAY through the case form's path (a save)."""
    case.planned_travel_date = TODAY + datetime.timedelta(days=days)
    case.save()
    from movements import readiness

    readiness.refresh_snapshot(Case.objects.get(pk=case.pk))
    return Case.objects.get(pk=case.pk)


def test_ops_sees_active_cases_by_default_and_closed_ones_one_click_away(client, ops):
    with on_the_morning():
        active = case_in("approved", ops)
        rejected = case_in("rejected", ops)
        withdrawn = case_in("withdrawn", ops)
        client.force_login(ops)

        default = listed(client, "/cases/")
        page = client.get("/cases/").content.decode()
        closed = listed(client, "/cases/?show=closed")
        everything = listed(client, "/cases/?show=all")

    assert default == [active.case_number]
    assert 'href="/cases/?show=closed"' in page
    assert sorted(closed) == sorted([rejected.case_number, withdrawn.case_number])
    assert sorted(everything) == sorted([active.case_number, rejected.case_number, withdrawn.case_number])
    with on_the_morning():  # the log-in lasts a working day: on the same morning
        # Asking for a closed state by name still finds it.
        assert listed(client, "/cases/?state=rejected") == [rejected.case_number]


def test_ops_filters_the_cases_that_fly_within_14_days_and_sorts_them_by_date(client, ops):
    with on_the_morning():
        in_ten = planned(case_in("approved", ops, visas=False), 10)
        in_three = planned(case_in("approved", ops, visas=False), 3)
        in_thirty = planned(case_in("approved", ops, visas=False), 30)
        undated = case_in("approved", ops, visas=False)
        clear_in_five = planned(case_in("approved", ops), 5)
        client.force_login(ops)

        soon_and_blocked = listed(client, "/cases/?flies_within=14&blockers=yes&sort=travel_date")
        by_date = listed(client, "/cases/?sort=travel_date")
        page = client.get("/cases/?sort=travel_date").content.decode()

    assert soon_and_blocked == [in_three.case_number, in_ten.case_number]
    assert by_date == [in_three.case_number, clear_in_five.case_number, in_ten.case_number, in_thirty.case_number,
                       undated.case_number]
    assert (TODAY + datetime.timedelta(days=3)).isoformat() in page


def test_the_list_shows_the_booked_departure_date_not_the_planned_one(client, ops):
    case = ready_case(ops, planned_travel_date=datetime.date.today() + datetime.timedelta(days=60))
    day = next_arrival_day(datetime.date.today() + datetime.timedelta(days=20))
    booked = book(case, ops, make_departure(ops, day=day))

    assert booked.flies_on == day
    client.force_login(ops)
    page = words(client.get("/cases/?sort=travel_date"))
    assert f"{day.isoformat()} booked" in page


def test_walking_the_list_sorted_by_date_by_next_visits_every_case_once(client, ops, settings):
    settings.SAFAR_CASES_PER_PAGE = 5
    from tests.bulk import bulk_caseload

    bulk_caseload(40)
    client.force_login(ops)
    expected = list(Case.objects.exclude(state__in=["arrived", "rejected", "withdrawn"])
                    .order_by("flies_on", "id").values_list("case_number", flat=True))
    # Undated cases come last (SQL puts NULL first on SQLite: order them as the list does).
    expected = ([n for n in expected if Case.objects.get(case_number=n).flies_on] +
                [n for n in expected if not Case.objects.get(case_number=n).flies_on])
    seen, url = [], "/cases/?sort=travel_date"
    while url:
        response = client.get(url)
        page = response.context["page"]
        seen += [c.case_number for c in page.object_list]
        url = f"/cases/?sort=travel_date&after={page.last_key}&page={page.next_page_number}" if page.has_next else None
    assert seen == expected


def test_the_dashboard_counts_the_cases_flying_in_14_days_that_are_blocked_and_links_to_them(client, ops):
    with on_the_morning():
        soon = planned(case_in("approved", ops, members=3, visas=False), 6)
        planned(case_in("approved", ops), 6)  # clear
        planned(case_in("approved", ops, visas=False), 40)  # blocked, but not soon
        client.force_login(ops)
        response = client.get("/")
    card = response.context
    assert card["soon_total"] == 1
    assert [c.case_number for c in card["soon_blocked"]] == [soon.case_number]
    text = words(response)
    assert "Flies in the next 14 days and blocked 1" in text
    assert "No visa / COPR reference — 3 people" in text
    assert 'href="/cases/?flies_within=14&amp;blockers=yes&amp;sort=travel_date"' in response.content.decode()


def test_a_family_booked_in_10_days_with_only_its_fit_to_travel_checks_to_come_is_not_counted_blocked(client, ops):
    with time_machine.travel(MORNING - datetime.timedelta(days=14), tick=False):
        day = next_arrival_day(TODAY + datetime.timedelta(days=8))
        booked = book(ready_case(ops, members=2), ops, make_departure(ops, day=day))
    with on_the_morning():
        client.force_login(ops)
        dashboard = client.get("/")
        blocked_list = words(client.get("/cases/?blockers=yes"))
        all_list = words(client.get("/cases/"))
        case_page = words(client.get(f"/cases/{booked.case_number}/"))

    # Stored, as the case page shows them: due before boarding (the check is done in the 72 h before the flight).
    assert [b["code"] for b in Case.objects.get(pk=booked.pk).blockers] == ["fit_to_travel_missing"] * 2
    assert "Yes, once these are done in the days before boarding (2)" in case_page
    assert (dashboard.context["soon_total"], dashboard.context["soon_blocked"]) == (0, [])
    assert booked.case_number not in blocked_list
    assert f"{booked.case_number} 870-" in all_list and all_list.endswith("Booked Normal CAN clear")


def test_unhcr_reads_a_neutral_actor_for_holds_on_the_dashboard_too(client, medic, unhcr):
    medic.first_name, medic.last_name = "Mehdi", "Medical"
    medic.save()
    transitions.hold(make_case(1), by=medic, reason="Active TB: treatment under way", category="medical")
    client.force_login(unhcr)
    text = page_text(client.get("/"))
    assert "Mehdi Medical" not in text
    assert "IOM staff" in text


# --- blockers a person can act on -----------------------------------------------------------------------------


def test_ops_reads_blockers_grouped_by_kind_in_words_each_linked_to_its_form(client, ops):
    case = case_in("approved", ops, members=4, visas=False, ime=False)
    client.force_login(ops)
    response = client.get(f"/cases/{case.case_number}/")
    text = words(response)
    html = response.content.decode()
    members = list(case.members.order_by("id"))

    readiness_panel = text.split("Can this family fly?")[1].split("What is checked")[0]
    assert "No visa / COPR reference (4): Karimi: Zahra, Ahmad, Omid, Hadia" in readiness_panel
    assert readiness_panel.count("no visa / COPR reference recorded") == 0  # said once, as the kind
    assert "visa_missing" not in text  # the code stays for scripts only
    assert 'data-code="visa_missing"' in html
    for person in members:
        assert f'href="/cases/{case.case_number}/edit/#member-{person.pk}"' in html
    # Operations see that the IME is missing, but the medical record is for medical staff.
    assert "No IME recorded (4)" in readiness_panel
    assert "/medical/people/" not in html
    # Member cards point up to the panel instead of repeating it.
    assert text.count("no visa / COPR reference recorded") == 0
    assert "2 things to resolve — see “Can this family fly?”" in text


def test_a_medic_gets_the_medical_record_as_the_link_of_a_medical_blocker(client, ops, medic):
    case = case_in("approved", ops, members=2, ime=False)
    client.force_login(medic)
    html = client.get(f"/cases/{case.case_number}/").content.decode()
    for person in case.members.all():
        assert f'href="/medical/people/{person.pk}/"' in html


def test_unhcr_reads_medical_blockers_as_pending_clearance_without_links(client, ops, unhcr):
    case = case_in("approved", ops, members=2, ime=False)
    client.force_login(unhcr)
    response = client.get(f"/cases/{case.case_number}/")
    text = words(response)
    assert "Medical clearance for travel pending (2)" in text
    assert "IME" not in text.split("Can this family fly?")[1].split("What is checked")[0]
    assert "/medical/people/" not in response.content.decode()
    assert "/edit/" not in response.content.decode()


def test_an_expired_passport_keeps_its_date_in_the_group(client, ops):
    with on_the_morning():
        case = case_in("approved", ops, members=2, expiry=TODAY + datetime.timedelta(days=3))
        planned(case, 30)
        client.force_login(ops)
        response = client.get(f"/cases/{case.case_number}/")
    text = words(response)
    assert "Travel document expires before travel (2): Karimi: Zahra, Ahmad — passport valid until" in text
    person = case.members.order_by("id").first()
    assert f'href="/cases/{case.case_number}/members/{person.pk}/documents/"' in response.content.decode()


def test_the_orientation_blocker_links_to_the_session_the_member_is_enrolled_in(client, ops):
    from orientation import services
    from orientation.models import Session, SessionDay

    case = case_in("approved", ops, members=2, orientation=False)
    session = Session.objects.create(language="prs", location="Room 2")
    start = datetime.date.today() + datetime.timedelta(days=7)
    SessionDay.objects.bulk_create([SessionDay(session=session, number=n, date=start + datetime.timedelta(days=n))
                                    for n in (1, 2, 3)])
    services.enrol_case(session, case, by=ops)
    client.force_login(ops)
    response = client.get(f"/cases/{case.case_number}/")
    assert "Orientation not completed (2)" in words(response)
    assert f'href="/orientation/sessions/{session.code}/"' in response.content.decode()


# --- medical: the work list is the registry's medical blockers ------------------------------------------------


def pregnant_and_booked(ops, weeks=30):
    """A booked family whose PA is `weeks` pregnant today, flying on the next day Canada receives refugees."""
    from movements.models import TravelMedicalNeeds

    case = ready_case(ops, members=2)
    mother = case.members.get(relationship="PA")
    TravelMedicalNeeds.objects.create(person=mother, pregnancy_weeks=weeks, pregnancy_weeks_on=datetime.date.today())
    day = next_arrival_day(datetime.date.today() + datetime.timedelta(days=1))
    departure = make_departure(ops, day=day)
    return book(case, ops, departure), mother, departure


def test_a_medic_lands_on_the_work_list_and_clears_a_pregnancy_certificate_item(
        client, ops, medic, django_capture_on_commit_callbacks):
    case, mother, departure = pregnant_and_booked(ops)
    landing = log_in(client, medic)
    assert landing["Location"] == "/medical/"

    items = client.get("/medical/").context["items"]
    assert (case.pk, mother.pk, "pregnancy_certificate", departure.departure_date) in [
        (i.case.pk, i.person.pk, i.code, i.due) for i in items]
    assert "Fit-to-fly certificate for pregnancy due" in words(client.get("/medical/"))

    # The day before the flight the clinic issues the certificate; the medic records it on the person's record.
    issued = departure.departs_at - datetime.timedelta(hours=20)
    with time_machine.travel(issued + datetime.timedelta(minutes=30), tick=False):
        client.force_login(medic)  # a new day, a new session
        form = client.get(f"/medical/people/{mother.pk}/").context["needs_form"]
        data = {f"needs-{name}": value for name, value in form.initial.items() if value not in (None, False)}
        data["needs-pregnancy_weeks_on"] = mother.medical_needs.pregnancy_weeks_on.isoformat()
        data["needs-fit_to_fly_certificate_at"] = timezone_local(issued).strftime("%Y-%m-%dT%H:%M")
        with django_capture_on_commit_callbacks(execute=True):
            saved = client.post(f"/medical/people/{mother.pk}/", data)
        assert saved.status_code == 302, (saved.status_code, saved.content.decode()[-3000:])
        left = [(i.person.pk, i.code) for i in client.get("/medical/").context["items"]]
        assert (mother.pk, "pregnancy_certificate") not in left
        assert (mother.pk, "fit_to_travel_missing") in left  # the check at the airport is still to come


def timezone_local(moment):
    from django.utils import timezone

    return timezone.localtime(moment)


def test_the_work_list_names_pregnancies_past_the_limit_and_missing_medif_forms(client, ops, medic):
    from movements.models import TravelMedicalNeeds

    with on_the_morning():
        late = planned(case_in("approved", ops, members=1), 30)
        TravelMedicalNeeds.objects.create(person=late.members.get(), pregnancy_weeks=34,
                                          pregnancy_weeks_on=TODAY)
        stretcher = planned(case_in("approved", ops, members=1), 10)
        TravelMedicalNeeds.objects.create(person=stretcher.members.get(), stretcher=True)
        from movements import readiness

        for case in (late, stretcher):
            readiness.refresh_snapshot(Case.objects.get(pk=case.pk))
        client.force_login(medic)
        items = client.get("/medical/").context["items"]
    assert [(i.case.pk, i.code) for i in items] == [(stretcher.pk, "medif_missing"), (late.pk, "pregnancy_too_late")]


@pytest.mark.parametrize("role", ["operations", "trainer", "unhcr", "escort"])
def test_other_roles_may_not_open_the_work_list(client, role):
    client.force_login(make_user(f"not-medical-{role}", role))
    assert client.get("/medical/").status_code == 403


# --- orientation: closing is deliberate, the trainer's day is one tap -----------------------------------------


def three_day_session(first_day, *, trainer=None, state="running"):
    from orientation.models import Session, SessionDay

    session = Session.objects.create(language="prs", location="Room 2")
    SessionDay.objects.bulk_create([SessionDay(session=session, number=n, date=first_day + datetime.timedelta(days=n - 1))
                                    for n in (1, 2, 3)])
    if trainer is not None:
        session.trainers.add(trainer)
    if state == "running":
        Session.objects.filter(pk=session.pk).update(state="running")
    return Session.objects.get(pk=session.pk)


def test_ops_cannot_close_a_session_before_its_last_day_without_a_reason(client, ops):
    from orientation.models import SessionChange

    with on_the_morning():
        session = three_day_session(TODAY - datetime.timedelta(days=1))  # day 3 is tomorrow
        client.force_login(ops)
        page = words(client.get(f"/orientation/sessions/{session.code}/"))
        refused = client.post(f"/orientation/sessions/{session.code}/close/", follow=True)
        session = type(session).objects.get(pk=session.pk)
        assert session.state == "running"
        assert (f"Day 3 of {session.code} is still to come ({(TODAY + datetime.timedelta(days=1)).isoformat()}): "
                "a session is closed before its last day only with a reason") in words(refused)
        assert "Close the session early" in page and "Why close it before its last day?" in page

        closed = client.post(f"/orientation/sessions/{session.code}/close/", {"reason": "The venue closed."})
    session = type(session).objects.get(pk=session.pk)
    assert closed.status_code == 302 and session.state == "closed"
    assert SessionChange.objects.get(session=session, action="close").reason == "The venue closed."


def test_closing_after_the_last_day_asks_for_confirmation_and_a_second_close_is_written_out(client, ops):
    from orientation import services

    with on_the_morning():
        session = three_day_session(TODAY - datetime.timedelta(days=2))  # day 3 is today
        client.force_login(ops)
        html = client.get(f"/orientation/sessions/{session.code}/").content.decode()
        assert f'data-confirm="Close {session.code}?' in html
        services.change_session_state(session, "close", by=ops)
        with pytest.raises(services.OrientationError) as again:
            services.change_session_state(session, "close", by=ops)
    assert again.value.message == f"{session.code} is closed: it cannot be closed."


def test_ops_reopens_a_closed_session_with_a_reason_that_is_logged(client, ops):
    from orientation.models import SessionChange

    with on_the_morning():
        session = three_day_session(TODAY - datetime.timedelta(days=5))
        client.force_login(ops)
        client.post(f"/orientation/sessions/{session.code}/close/")
        without = client.post(f"/orientation/sessions/{session.code}/reopen/", follow=True)
        session = type(session).objects.get(pk=session.pk)
        assert session.state == "closed" and "Give a reason" in words(without)
        client.post(f"/orientation/sessions/{session.code}/reopen/", {"reason": "Day 2 of Zahra marked by mistake"})
    session = type(session).objects.get(pk=session.pk)
    assert session.state == "running"
    assert SessionChange.objects.get(session=session, action="reopen").reason == "Day 2 of Zahra marked by mistake"


def test_no_message_is_made_by_adding_ed_to_a_verb():
    """"cannot be closeed": past forms are written out, never generated."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parent.parent
    pattern = re.compile(r"""\{[^{}]*\}ed\b|\}\}ed\b|\+\s*["']ed["']""")
    offenders = []
    for folder in ("movements", "orientation", "travel", "exchange", "templates"):
        for path in (root / folder).rglob("*"):
            if path.suffix in (".py", ".html", ".txt") and "migrations" not in path.parts:
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if pattern.search(line):
                        offenders.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert offenders == []


def test_an_empty_enrol_form_says_what_is_missing(client, ops):
    with on_the_morning():
        session = three_day_session(TODAY + datetime.timedelta(days=3), state="planned")
        client.force_login(ops)
        response = client.post(f"/orientation/sessions/{session.code}/enrol/", {"case_number": ""}, follow=True)
    assert "Nobody was enrolled: give the case number of the family to enrol" in words(response)


def test_the_trainer_opens_todays_roll_call_in_one_tap_from_their_start_page(client, trainer, ops):
    with on_the_morning():
        mine = three_day_session(TODAY - datetime.timedelta(days=1), trainer=trainer)  # today is day 2
        three_day_session(TODAY - datetime.timedelta(days=1))  # someone else's
        landing = log_in(client, trainer)
        start = client.get(landing["Location"])
        html = start.content.decode()
    assert landing["Location"] == "/orientation/"
    assert f"Today's roll call: {mine.code} · day 2" in words(start)
    assert html.count("Today's roll call:") == 1
    assert f'href="/orientation/sessions/{mine.code}/days/2/"' in html


def test_the_day_buttons_say_which_day_is_today_and_which_are_recorded(client, trainer, ops):
    from orientation import services
    from orientation.models import Enrolment

    with on_the_morning():
        session = three_day_session(TODAY - datetime.timedelta(days=1), trainer=trainer)
        case = case_in("approved", ops, members=2, orientation=False)
        services.enrol_case(session, case, by=ops)
        day1 = session.ordered_days[0]
        services.record_roll_call(day1, {e.pk: "present" for e in Enrolment.objects.filter(session=session)},
                                  by=trainer)
        client.force_login(trainer)
        response = client.get(f"/orientation/sessions/{session.code}/")
    html = response.content.decode()
    text = words(response)
    assert "Day 1 · " in text and "✓ recorded" in text
    assert "Today · not recorded" in text
    assert "not yet" in text  # day 3
    day2 = html.split('data-testid="day-2"')[0].rsplit("<a", 1)[1]
    assert 'aria-current="date"' in day2 and "is-today" in day2


# --- travel documents form ------------------------------------------------------------------------------------


def documents_page(client, case, person):
    url = f"/cases/{case.case_number}/members/{person.pk}/documents/"
    return url, client.get(url)


def posted_as_drawn(response):
    """The form's data as a browser posts it untouched (initial values, management form)."""
    formset = response.context["formset"]
    data = {f"{formset.prefix}-{key}": value for key, value in formset.management_form.initial.items()}
    for form in formset.forms:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if value in (None, False):
                continue
            data[form.add_prefix(name)] = value.isoformat() if hasattr(value, "isoformat") else value
    return data


def test_saving_the_documents_form_untouched_says_nothing_was_changed(client, ops):
    case = make_case(1)
    person = case.members.get()
    client.force_login(ops)
    url, page = documents_page(client, case, person)

    response = client.post(url, posted_as_drawn(page), follow=True)

    text = words(response)
    assert f"Nothing changed in the travel documents of {person.full_name}." in text
    assert "saved" not in text.split("Nothing changed")[0].split("Case")[-1]
    assert person.documents.count() == 1


@time_machine.travel(MORNING, tick=False)  # the expiry dates typed are in the future
def test_new_document_rows_start_with_the_nationality_as_issuing_country_and_two_can_be_added(client, ops):
    case = make_case(1, documents=False)
    person = case.members.get()
    client.force_login(ops)
    url, page = documents_page(client, case, person)
    forms = page.context["formset"].forms
    assert len(forms) == 2
    assert all(form.initial["issuing_country"] == "AFG" for form in forms)

    data = posted_as_drawn(page)
    data.update({"documents-0-number": "P1234567", "documents-0-expiry_date": "2031-01-01",
                 "documents-1-document_type": "icrc", "documents-1-number": "T7654321",
                 "documents-1-expiry_date": "2027-02-15"})  # an ICRC document lasts 3 months at most
    response = client.post(url, data)

    assert response.status_code == 302
    assert sorted(person.documents.values_list("number", "issuing_country")) == [("P1234567", "AFG"),
                                                                                 ("T7654321", "AFG")]


def test_an_expiry_date_in_the_past_warns_and_is_recorded_once_confirmed(client, ops):
    case = make_case(1, documents=False)
    person = case.members.get()
    client.force_login(ops)
    url, page = documents_page(client, case, person)
    data = posted_as_drawn(page)
    data.update({"documents-0-number": "P1234567", "documents-0-expiry_date": "2019-03-01"})

    warned = client.post(url, data)

    assert warned.status_code == 400
    assert "This document expired on 2019-03-01. If that is right (old documents are recorded too)" in words(warned)
    assert 'name="documents-0-record_expired"' in warned.content.decode()
    assert 'type="checkbox" name="documents-0-record_expired"' in warned.content.decode()
    assert not person.documents.exists()

    data["documents-0-record_expired"] = "on"
    assert client.post(url, data).status_code == 302
    assert person.documents.get().expiry_date == datetime.date(2019, 3, 1)


# --- import result ---------------------------------------------------------------------------------------------


def test_ops_reads_the_new_cases_of_an_import_by_case_number_with_links(client, ops):
    from movements.models import ReferralUpload
    from tests.test_referral_import import SAMPLE, upload

    client.force_login(ops)
    upload(client, SAMPLE)
    record = ReferralUpload.objects.get()
    client.post(f"/imports/{record.pk}/confirm/")

    response = client.get(f"/imports/{record.pk}/")
    html = response.content.decode()
    cases = list(Case.objects.order_by("case_number"))
    assert len(cases) == 12
    for case in cases:
        assert f'<a href="/cases/{case.case_number}/">{case.case_number}</a>' in html
        assert case.progres_case_id in html
    assert "New cases (12)" in words(response)


def test_a_preview_never_confirmed_expires_and_says_so(client, ops, settings):
    from movements.models import ReferralUpload
    from tests.test_referral_import import SAMPLE, upload

    settings.SAFAR_IMPORT_PREVIEW_HOURS = 24
    client.force_login(ops)
    upload(client, SAMPLE)
    record = ReferralUpload.objects.get()
    assert "This preview expires at" in words(client.get(f"/imports/{record.pk}/"))

    with time_machine.travel(record.uploaded_at + datetime.timedelta(hours=25)):
        client.force_login(ops)
        page = client.get(f"/imports/{record.pk}/")
        confirmed = client.post(f"/imports/{record.pk}/confirm/", follow=True)
    record = ReferralUpload.objects.get()
    assert record.status == "expired" and record.content is None
    assert "This preview expired: it was not confirmed within 24 hours" in words(page)
    assert "The preview of referrals.csv expired" in words(confirmed)
    assert Case.objects.count() == 0


def test_ops_discards_a_preview(client, ops):
    from movements.models import ReferralUpload
    from tests.test_referral_import import SAMPLE, upload

    client.force_login(ops)
    upload(client, SAMPLE)
    record = ReferralUpload.objects.get()
    response = client.post(f"/imports/{record.pk}/discard/", follow=True)
    record = ReferralUpload.objects.get()
    assert record.status == "discarded" and record.content is None
    assert "The preview of referrals.csv was discarded: nothing was imported." in words(response)
    assert client.post(f"/imports/{record.pk}/confirm/").status_code == 302
    assert Case.objects.count() == 0


def test_the_travel_date_follows_a_booking_cancelled_and_a_planned_date_edited(ops, django_capture_on_commit_callbacks):
    from travel import services
    from travel.models import Booking

    planned_day = datetime.date.today() + datetime.timedelta(days=60)
    case = book(ready_case(ops, planned_travel_date=planned_day), ops)
    assert case.flies_on != planned_day

    services.cancel_booking(Booking.objects.get(case=case), by=ops, reason="The family asked for a later flight")
    assert Case.objects.get(pk=case.pk).flies_on == planned_day

    case = Case.objects.get(pk=case.pk)
    case.planned_travel_date = planned_day + datetime.timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        case.save()  # as the case form does: the snapshot is refreshed once the change is committed
    assert Case.objects.get(pk=case.pk).flies_on == planned_day + datetime.timedelta(days=7)


def test_the_case_list_says_by_what_a_case_is_blocked(client, ops, unhcr):
    with on_the_morning():
        case = planned(case_in("approved", ops, members=2, visas=False, ime=False), 5)
        client.force_login(ops)
        seen_by_ops = words(client.get("/cases/?flies_within=14&blockers=yes&sort=travel_date"))
        client.force_login(unhcr)
        seen_by_unhcr = words(client.get("/cases/?flies_within=14&blockers=yes&sort=travel_date"))
    assert case.case_number in seen_by_ops
    assert "No visa / COPR reference — 2 people · No IME recorded — 2 people" in seen_by_ops
    assert "No visa / COPR reference — 2 people · Medical clearance for travel pending — 2 people" in seen_by_unhcr
    assert "IME" not in seen_by_unhcr



def test_the_work_list_puts_what_can_be_done_today_before_checks_not_yet_due(client, ops, medic):
    # A booked family a week out: its fit-to-travel check opens 72 h before the flight. A case with no IME at all,
    # whose travel date is later, is the work of today.
    from movements.models import MedicalExam

    with on_the_morning():
        booked = ready_case(ops, members=1)
        book(booked, ops, make_departure(ops, day=next_arrival_day(datetime.date.today()
                                                                   + datetime.timedelta(days=10))))
        no_ime = planned(case_in("approved", ops, members=1), 30)
        MedicalExam.objects.filter(person__case=no_ime).delete()
        from movements import readiness

        for case in (booked, no_ime):
            readiness.refresh_snapshot(type(case).objects.get(pk=case.pk))
        client.force_login(medic)
        response = client.get("/medical/")

    items = response.context["items"]
    kinds = [(item.case.pk, item.not_yet) for item in items]
    assert (no_ime.pk, False) in kinds and (booked.pk, True) in kinds
    assert [not_yet for _pk, not_yet in kinds] == sorted(not_yet for _pk, not_yet in kinds)  # today's first
    html = response.content.decode()
    assert html.index(f'/cases/{no_ime.case_number}/') < html.index('data-testid="not-yet"') < \
        html.index(f'/cases/{booked.case_number}/')
