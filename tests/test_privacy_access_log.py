"""The access log: each kind of read of personal data is recorded exactly once per request (who, when, what, from
which address), append-only, at the cost of one insert; the data protection officer asks it who looked at a case
and what a user looked at, and takes it away as CSV. Only the `dpo` role sees it."""

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from movements import hooks
from privacy.access_log import concerning_case
from privacy.models import AccessLogEntry
from tests.conftest import book, complete_orientation, make_case, make_departure, make_user, page_text, ready_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def dpo(db):
    return make_user("dina", "dpo", first_name="Dina", last_name="Protection")


def entries(**filters):
    return list(AccessLogEntry.objects.filter(**filters).order_by("id"))


def test_a_case_page_is_logged_once_with_who_what_and_the_address(client, ops):
    case = make_case(2)
    client.force_login(ops)
    response = client.get(f"/cases/{case.case_number}/", REMOTE_ADDR="10.2.3.4")
    assert response.status_code == 200
    (entry,) = entries()
    assert (entry.kind, entry.user, entry.actor, entry.address) == ("case", ops, "Olga Ops", "10.2.3.4")
    assert entry.case_numbers == [case.case_number]
    assert entry.target == case.case_number


def test_a_medical_record_is_logged_once_for_that_person(client, medic):
    case = make_case(2)
    person = case.members.order_by("id").last()
    client.force_login(medic)
    assert client.get(f"/medical/people/{person.pk}/").status_code == 200
    (entry,) = entries()
    assert (entry.kind, entry.person_id, entry.case_numbers) == ("medical", person.pk, [case.case_number])


def test_a_page_of_the_case_list_is_one_entry_with_the_search_and_the_cases_it_showed(client, ops, settings):
    settings.SAFAR_CASES_PER_PAGE = 3
    cases = [make_case(1) for _ in range(5)]
    client.force_login(ops)
    assert client.get("/cases/?q=Karimi").status_code == 200
    (entry,) = entries()
    assert entry.kind == "case_list"
    assert entry.target == "Karimi"
    assert entry.detail == {"q": "Karimi"}
    # "Who looked at this case?" finds the list pages that named its family, and only those.
    shown = set(entry.case_numbers)
    assert len(shown) == 3 and shown < {c.case_number for c in cases}
    hidden = next(c for c in cases if c.case_number not in shown)
    assert list(concerning_case(sorted(shown)[0])) == [entry]
    assert not concerning_case(hidden.case_number).exists()
    client.force_login(make_user("dora", "dpo"))
    assert "Case list (a page of it)" in page_text(client.get(f"/privacy/?case={sorted(shown)[0]}"))


def test_a_members_travel_documents_page_is_logged(client, ops):
    case = make_case(1)
    person = case.members.get()
    client.force_login(ops)
    assert client.get(f"/cases/{case.case_number}/members/{person.pk}/documents/").status_code == 200
    (entry,) = entries()
    assert (entry.kind, entry.person_id) == ("documents", person.pk)


def test_the_attendance_sheet_and_a_certificate_are_logged_with_the_cases_they_hold(client, ops):
    first, second = make_case(1, orientation=False), make_case(1, orientation=False)
    session = complete_orientation([first.members.get(), second.members.get()])
    client.force_login(ops)
    assert client.get(f"/orientation/sessions/{session.code}/attendance-sheet.pdf").status_code == 200
    (sheet,) = entries()
    assert sheet.kind == "attendance_sheet"
    assert sorted(sheet.case_numbers) == sorted([first.case_number, second.case_number])
    person = first.members.get()
    assert client.get(f"/orientation/sessions/{session.code}/certificates/{person.pk}.pdf").status_code == 200
    certificate = entries(kind="certificate")
    assert [(e.person_id, e.case_numbers) for e in certificate] == [(person.pk, [first.case_number])]


def test_a_manifest_and_the_passenger_data_are_logged_with_every_case_on_board(client, ops):
    departure = make_departure(ops, seat_block=10)
    cases = [book(ready_case(ops, 2), ops, departure) for _ in range(2)]
    client.force_login(ops)
    assert client.get(f"/departures/{departure.code}/manifest.pdf").status_code == 200
    assert client.get(f"/departures/{departure.code}/apd.csv").status_code == 200
    manifest, apd = entries()
    assert (manifest.kind, apd.kind) == ("manifest", "apd")
    for entry in (manifest, apd):
        assert sorted(entry.case_numbers) == sorted(c.case_number for c in cases)
        assert entry.detail["passengers"] == 4
        assert entry.target.startswith(departure.code)


def test_render_manifest_on_the_command_line_is_logged_as_the_command(ops, tmp_path):
    departure = make_departure(ops)
    case = book(ready_case(ops, 1), ops, departure)
    call_command("render_manifest", departure.code, output=str(tmp_path / "m.pdf"), stdout=io.StringIO())
    (entry,) = entries()
    assert (entry.kind, entry.user, entry.case_numbers) == ("manifest", None, [case.case_number])
    assert "render_manifest" in entry.actor


def test_an_export_is_one_entry_with_its_filters_and_no_case_numbers(client, unhcr):
    for _ in range(3):
        make_case(2)
    client.force_login(unhcr)
    response = client.get("/exports/?format=csv&destination=CAN")
    assert response.status_code == 200
    b"".join(response.streaming_content)
    (entry,) = entries()
    assert entry.kind == "export"
    assert entry.cases == ""
    assert entry.detail["rows"] == 6
    assert entry.detail["filters"]["destination"] == "CAN"


def test_the_export_command_is_logged(db, tmp_path):
    make_case(1)
    call_command("export_unhcr_status", output=str(tmp_path / "s.csv"), stderr=io.StringIO())
    (entry,) = entries()
    assert (entry.kind, entry.actor, entry.detail["rows"]) == ("export", "command: export_unhcr_status", 1)


def test_each_api_page_is_one_entry_naming_the_cases_it_returned(client, unhcr):
    cases = [make_case(1) for _ in range(3)]
    client.force_login(unhcr)
    response = client.get("/api/cases/?page_size=2")
    assert response.status_code == 200
    client.get(response.json()["next"])
    first, second = entries()
    assert (first.kind, second.kind) == ("api", "api")
    assert len(first.case_numbers) == 2 and len(second.case_numbers) == 1
    assert sorted(first.case_numbers + second.case_numbers) == sorted(c.case_number for c in cases)


def test_a_refused_request_reads_nothing_and_logs_nothing(client, trainer, unhcr):
    case = make_case(1)
    client.force_login(trainer)
    assert client.get(f"/cases/{case.case_number}/").status_code == 404
    client.force_login(unhcr)
    assert client.get(f"/medical/people/{case.members.get().pk}/").status_code == 403
    assert entries() == []


def test_the_case_page_and_the_list_cost_one_insert_more_than_without_the_log(client, ops):
    case = make_case(3)
    for _ in range(4):
        make_case(2)
    client.force_login(ops)

    def queries(url):
        client.get(url)  # warm up (sessions, the readiness snapshot)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    pages = (f"/cases/{case.case_number}/", "/cases/")
    logged = [queries(url) for url in pages]
    with hooks.isolated():
        hooks.personal_data_read.unregister("privacy.access_log.keep_read")
        unlogged = [queries(url) for url in pages]
    assert [a - b for a, b in zip(logged, unlogged)] == [1, 1]


def test_entries_are_append_only(ops):
    make_case(1)
    entry = AccessLogEntry.objects.create(actor="x", kind="case", target="DYU-1")
    entry.target = "changed"
    with pytest.raises(ValidationError):
        entry.save()
    with pytest.raises(ValidationError):
        entry.delete()
    with pytest.raises(ValidationError):
        AccessLogEntry.objects.filter(pk=entry.pk).update(target="changed")
    with pytest.raises(ValidationError):
        AccessLogEntry.objects.all().delete()


def test_the_admin_shows_the_log_but_cannot_add_change_or_delete(client, superuser):
    AccessLogEntry.objects.create(actor="x", kind="case", target="DYU-1")
    client.force_login(superuser)
    entry = AccessLogEntry.objects.get()
    assert client.get("/admin/privacy/accesslogentry/").status_code == 200
    assert client.get("/admin/privacy/accesslogentry/add/").status_code == 403
    assert client.post(f"/admin/privacy/accesslogentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AccessLogEntry.objects.filter(pk=entry.pk).exists()


def test_the_dpo_asks_who_looked_at_a_case_and_sees_its_page_its_records_and_lists_that_held_it(
        client, ops, medic, dpo):
    departure = make_departure(ops)
    looked_at = book(ready_case(ops, 2), ops, departure)
    other = make_case(1)
    client.force_login(ops)
    client.get(f"/cases/{looked_at.case_number}/")
    client.get(f"/cases/{other.case_number}/")
    client.get(f"/departures/{departure.code}/manifest.pdf")
    client.force_login(medic)
    client.get(f"/medical/people/{looked_at.members.first().pk}/")
    client.force_login(dpo)
    response = client.get(f"/privacy/?case={looked_at.case_number.lower()}")
    assert response.status_code == 200
    shown = [(e.kind, e.actor) for e in response.context["page"].object_list]
    assert sorted(shown) == sorted([("case", "Olga Ops"), ("manifest", "Olga Ops"), ("medical", "mehdi")])


def test_the_dpo_asks_what_a_user_looked_at_and_downloads_it_as_csv(client, ops, medic, dpo):
    case = make_case(1)
    AccessLogEntry.objects.create(actor="=cmd|' /C calc'!A0", kind="case", target="=1+1", cases=" DYU-X ")
    client.force_login(ops)
    client.get(f"/cases/{case.case_number}/")
    client.force_login(medic)
    client.get(f"/medical/people/{case.members.get().pk}/")
    client.force_login(dpo)
    response = client.get("/privacy/?user=olga")
    assert [e.actor for e in response.context["page"].object_list] == ["Olga Ops"]
    response = client.get("/privacy/?user=olga&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["at", "who", "username", "kind", "target", "cases", "person_id", "address", "detail"]
    assert [(r[1], r[2], r[3], r[4], r[5]) for r in rows[1:]] == [
        ("Olga Ops", "olga", "case", case.case_number, case.case_number)]
    everything = client.get("/privacy/?format=csv&kind=case")
    text = b"".join(everything.streaming_content).decode("utf-8-sig")
    assert "'=cmd" in text and "'=1+1" in text  # formulas neutralised


def test_an_unknown_user_name_is_a_clear_error(client, dpo):
    client.force_login(dpo)
    response = client.get("/privacy/?user=nobody")
    assert response.status_code == 400
    assert "No user is called “nobody”." in response.content.decode()


DPO_PAGES = ["/privacy/", "/privacy/?format=csv", "/privacy/subjects/", "/privacy/retention/",
             "/privacy/subjects/record.pdf?person=X", "/privacy/subjects/record.json?person=X"]


@pytest.mark.parametrize("role", ["operations", "medical", "trainer", "escort", "unhcr"])
def test_every_other_role_is_refused_the_data_protection_pages(client, personas, role):
    client.force_login(personas[role])
    for url in DPO_PAGES:
        assert client.get(url).status_code == 403, url
    assert client.post("/privacy/retention/apply/").status_code == 403


def test_the_dpo_sees_the_logs_and_records_and_nothing_operational(client, dpo):
    case = make_case(1)
    client.force_login(dpo)
    for url in ["/privacy/", "/privacy/subjects/", "/privacy/retention/"]:
        assert client.get(url).status_code == 200, url
    assert client.get("/cases/").status_code == 403
    assert client.get(f"/cases/{case.case_number}/").status_code == 404
    assert client.get(f"/medical/people/{case.members.get().pk}/").status_code == 403
    assert client.get("/exports/").status_code == 403
    assert client.get("/api/cases/").status_code == 403
    assert client.get("/departures/").status_code in (403, 404)
    assert client.get("/orientation/").status_code == 403
    assert client.get("/imports/").status_code == 403
    assert client.get("/").status_code == 302  # the dashboard sends the dpo to the access log
    assert client.get("/", follow=True).redirect_chain[-1][0] == "/privacy/"
    assert [e.kind for e in entries()] == []  # refused pages read nothing


def test_the_boarding_page_is_one_entry_naming_the_families_shown(client, ops):
    departure = make_departure(ops)
    cases = [book(ready_case(ops, 1), ops, departure) for _ in range(2)]
    client.force_login(ops)
    assert client.get(f"/departures/{departure.code}/boarding/").status_code == 200
    (entry,) = entries()
    assert (entry.kind, entry.target) == ("boarding", departure.code)
    assert sorted(entry.case_numbers) == sorted(c.case_number for c in cases)
    assert client.get(f"/departures/{departure.code}/boarding/?case={cases[0].case_number}").status_code == 200
    assert entries()[-1].case_numbers == [cases[0].case_number]


def test_a_search_with_control_characters_is_logged_as_their_pictures(client, ops):
    client.force_login(ops)
    assert client.get("/cases/", {"q": "Kar\x00imi\t"}).status_code == 200
    (entry,) = entries()
    assert entry.target == "Kar\u2400imi\u2409"
    assert entry.detail == {"q": "Kar\u2400imi\u2409"}


# Pages that name families beside their own subject: each is one read naming the families it shows, and a page that
# shows no one reads nothing.


def test_a_departures_page_is_one_entry_naming_its_families(client, ops, escort):
    departure = make_departure(ops, escorts=[escort])
    cases = [book(ready_case(ops, 1), ops, departure) for _ in range(2)]
    for user in (ops, escort):
        client.force_login(user)
        assert client.get(f"/departures/{departure.code}/").status_code == 200
    read_by_ops, read_by_escort = entries()
    for entry, user in ((read_by_ops, ops), (read_by_escort, escort)):
        assert (entry.kind, entry.user, entry.target) == ("departure", user, departure.code)
        assert sorted(entry.case_numbers) == sorted(c.case_number for c in cases)
    empty = make_departure(ops)
    client.force_login(ops)
    assert client.get(f"/departures/{empty.code}/").status_code == 200
    assert len(entries()) == 2  # nobody booked, nobody named


def test_the_case_edit_form_is_logged(client, ops):
    case = make_case(2)
    client.force_login(ops)
    assert client.get(f"/cases/{case.case_number}/edit/").status_code == 200
    (entry,) = entries()
    assert (entry.kind, entry.case_numbers, entry.target) == ("case_edit", [case.case_number], case.case_number)


def test_the_medical_work_list_and_the_new_exam_form_are_logged(client, ops, medic):
    from movements import transitions

    no_ime = transitions.perform(make_case(1, ime=False), "accept", by=ops)
    cleared = transitions.perform(make_case(1), "accept", by=ops)
    client.force_login(medic)
    assert client.get("/medical/").status_code == 200
    (listed,) = entries()
    assert (listed.kind, listed.case_numbers, listed.target) == ("medical_list", [no_ime.case_number], "page 1")
    assert cleared.case_number not in listed.cases
    person = no_ime.members.get()
    assert client.get(f"/medical/people/{person.pk}/exams/new/").status_code == 200
    form = entries()[-1]
    assert (form.kind, form.person_id, form.detail) == ("medical", person.pk, {"form": "new exam"})


def test_the_dashboard_is_logged_when_it_names_blocked_families_and_not_otherwise(client, ops):
    from movements import transitions

    def approved(case):
        return transitions.perform(transitions.perform(case, "accept", by=ops), "approve", by=ops)

    client.force_login(ops)
    approved(make_case(1))  # nothing blocks it: the dashboard names no one
    assert client.get("/").status_code == 200
    assert entries() == []
    blocked = approved(make_case(1, documents=False))
    assert client.get("/").status_code == 200
    (entry,) = entries()
    assert (entry.kind, entry.case_numbers) == ("dashboard", [blocked.case_number])


def test_a_sessions_page_and_its_roll_call_name_their_families_and_a_closed_one_only_those_in_its_history(
        client, ops, trainer):
    first, second = make_case(1, orientation=False), make_case(1, orientation=False)
    session = complete_orientation([first.members.get(), second.members.get()])
    session.trainers.add(trainer)
    client.force_login(trainer)
    assert client.get(f"/orientation/sessions/{session.code}/").status_code == 200
    (page,) = entries()
    assert (page.kind, page.user, page.target) == ("session", trainer, session.code)
    assert sorted(page.case_numbers) == sorted([first.case_number, second.case_number])
    # Closed: its roll call shows that it is closed, and no one (complete_orientation leaves no corrections).
    assert client.get(f"/orientation/sessions/{session.code}/days/1/").status_code == 200
    assert len(entries()) == 1
    client.force_login(ops)
    reopened = client.post(f"/orientation/sessions/{session.code}/reopen/", {"reason": "A mark to correct"})
    assert reopened.status_code == 302
    client.force_login(trainer)
    assert client.get(f"/orientation/sessions/{session.code}/days/1/").status_code == 200
    roll_call = entries()[-1]
    assert (roll_call.kind, roll_call.detail) == ("session", {"day": 1})
    assert sorted(roll_call.case_numbers) == sorted([first.case_number, second.case_number])
    # A correction of the second family's mark, then closed again: the closed roll call's history names them alone.
    enrolment = second.members.get().enrolments.get(session=session)
    assert client.post(f"/orientation/sessions/{session.code}/days/1/", {
        f"mark-{enrolment.pk}": "absent", "reason": "Was at the clinic"}).status_code == 302
    client.force_login(ops)
    assert client.post(f"/orientation/sessions/{session.code}/close/").status_code == 302
    client.force_login(trainer)
    assert client.get(f"/orientation/sessions/{session.code}/days/1/").status_code == 200
    closed = entries()[-1]
    assert (closed.kind, closed.detail, closed.case_numbers) == ("session", {"day": 1}, [second.case_number])


# --- the admin: one more door to the same data ---------------------------------------------------------------


def test_reading_a_case_a_person_or_a_medical_record_in_the_admin_is_logged(client, superuser):
    case, other = make_case(2), make_case(1)
    person = case.members.order_by("id").last()
    client.force_login(superuser)

    assert client.get(f"/admin/movements/case/{case.pk}/change/").status_code == 200
    assert client.get(f"/admin/movements/person/{person.pk}/change/").status_code == 200
    assert client.get("/admin/movements/person/").status_code == 200

    read_case, read_person, read_list = entries()
    assert (read_case.kind, read_case.case_numbers, read_case.person_id) == ("admin", [case.case_number], None)
    assert (read_person.kind, read_person.case_numbers, read_person.person_id) == (
        "admin", [case.case_number], person.pk)
    assert read_person.target == f"person {person.pk}"
    assert read_list.case_numbers == sorted([case.case_number, other.case_number])
    assert read_list.target == "persons (a list page)"


def test_reading_a_medical_exam_in_the_admin_names_its_person(client, superuser):
    from movements.models import MedicalExam

    case = make_case(2)
    exam = MedicalExam.objects.filter(person__case=case).order_by("id").last()
    client.force_login(superuser)

    assert client.get(f"/admin/movements/medicalexam/{exam.pk}/change/").status_code == 200

    (entry,) = entries()
    assert (entry.kind, entry.case_numbers, entry.person_id) == ("admin", [case.case_number], exam.person_id)


def test_a_departure_read_in_the_admin_names_the_cases_booked_on_it(client, superuser, ops):
    departure = make_departure(ops)
    first, second = book(ready_case(ops), ops, departure), book(ready_case(ops), ops, departure)
    client.force_login(superuser)

    assert client.get(f"/admin/travel/departure/{departure.pk}/change/").status_code == 200

    (entry,) = entries(kind="admin")
    assert entry.case_numbers == sorted([first.case_number, second.case_number])


@pytest.mark.parametrize("query, message", [
    ({"since": "0001-01-01"}, "Give a date from 2000 to 2999 (0001-01-01 is not)."),
    ({"until": "9999-12-31"}, "Give a date from 2000 to 2999 (9999-12-31 is not)."),
])
def test_a_period_past_what_the_log_can_hold_is_refused_with_a_message_not_a_500(client, dpo, query, message):
    client.force_login(dpo)

    response = client.get("/privacy/", query)

    assert response.status_code == 400  # as for every filter the page did not understand
    assert message in page_text(response)


def test_a_records_history_in_the_admin_is_logged_as_a_read_of_it(client, superuser):
    case = make_case(1)
    person = case.members.get()
    client.force_login(superuser)

    assert client.get(f"/admin/movements/person/{person.pk}/history/").status_code == 200

    (entry,) = entries(kind="admin")
    assert (entry.case_numbers, entry.person_id, entry.target) == (
        [case.case_number], person.pk, f"history of person {person.pk}")
