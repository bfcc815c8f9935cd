"""A creating form is saved once (movements.once): a double click or a page sent again makes one record, and a
page changed and sent again makes a new one. (Every creating form's second identical POST is also tried by the
bad-input sweep, tests/test_bad_input.py; two at the same moment on PostgreSQL by tests/test_concurrency.py.)"""

import datetime
import re

import pytest
import time_machine
from django.contrib.messages import get_messages

from movements.models import FormSubmission, MedicalExam
from movements.once import ALREADY, MISSING, new_token
from orientation.models import Session
from tests.conftest import make_case, make_user, page_text

pytestmark = pytest.mark.django_db
CLINIC = "IOM Migration Health Assessment Centre, Dushanbe"
UTC = datetime.timezone.utc


def drawn_code(response):
    """The one-time code the page drew into its form, as a browser would send it back."""
    found = re.findall(r'<input type="hidden" name="submission" value="([^"]*)"', response.content.decode())
    assert len(found) == 1, found
    return found[0]


def exam(code, **changes):
    return {"submission": code, "kind": "ime", "exam_date": "2026-11-20", "clinic": CLINIC, "outcome": "M1",
            "tb_status": "none", **changes}


@pytest.fixture
def person(db):
    return make_case(1, ime=False).members.get()


def test_an_exam_sent_twice_is_recorded_once_and_the_second_answer_says_so(medic, client, person):
    client.force_login(medic)
    url = f"/medical/people/{person.pk}/exams/new/"
    body = exam(drawn_code(client.get(url)))

    first = client.post(url, body)
    again = client.post(url, body, follow=True)

    assert first.status_code == 302 and first.url == f"/medical/people/{person.pk}/"
    assert MedicalExam.objects.filter(person=person).count() == 1
    assert again.redirect_chain == [(f"/medical/people/{person.pk}/", 302)]
    assert ALREADY in [str(m) for m in again.context["messages"]]
    assert FormSubmission.objects.get().address == f"/medical/people/{person.pk}/"


def test_a_page_changed_and_sent_again_is_a_new_record(medic, client, person):
    """The back button, a second exam typed over the first: other content under the same code is saved."""
    client.force_login(medic)
    url = f"/medical/people/{person.pk}/exams/new/"
    code = drawn_code(client.get(url))

    client.post(url, exam(code))
    second = client.post(url, exam(code, exam_date="2026-11-21", outcome="M2"))

    assert second.status_code == 302
    assert sorted(MedicalExam.objects.filter(person=person).values_list("outcome", flat=True)) == ["M1", "M2"]
    assert ALREADY not in [str(m) for m in get_messages(second.wsgi_request)]


def test_each_drawing_of_the_page_has_its_own_code(medic, client, person):
    client.force_login(medic)
    url = f"/medical/people/{person.pk}/exams/new/"
    first, second = drawn_code(client.get(url)), drawn_code(client.get(url))

    client.post(url, exam(first))
    client.post(url, exam(second))

    assert first != second
    assert MedicalExam.objects.filter(person=person).count() == 2  # the same exam entered twice on purpose


@pytest.mark.parametrize("code", [None, "", "abc", "not a code at all!!!!!!!!!"])
def test_a_form_without_its_code_keeps_what_was_typed_and_draws_a_fresh_code(medic, client, person, code):
    client.force_login(medic)
    url = f"/medical/people/{person.pk}/exams/new/"
    body = exam(code, notes="Chest X-ray clear")
    if code is None:
        del body["submission"]

    refused = client.post(url, body)

    assert refused.status_code == 400 and not MedicalExam.objects.exists()
    assert MISSING in page_text(refused) and "Chest X-ray clear" in page_text(refused)
    fresh = drawn_code(refused)
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", fresh)
    assert client.post(url, {**body, "submission": fresh}).status_code == 302  # saving again works
    assert MedicalExam.objects.filter(person=person).count() == 1


def test_another_users_code_and_content_make_nothing_and_show_nothing_of_theirs(medic, client, person):
    client.force_login(medic)
    url = f"/medical/people/{person.pk}/exams/new/"
    body = exam(new_token())
    client.post(url, body)
    client.force_login(make_user("medic2", "medical"))

    replayed = client.post(url, body)

    assert replayed.status_code == 403
    assert MedicalExam.objects.count() == 1


@time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=datetime.timezone.utc), tick=False)  # days ahead
def test_a_session_sent_twice_is_planned_once(ops, trainer, client):
    client.force_login(ops)
    body = {"submission": drawn_code(client.get("/orientation/sessions/new/")), "curriculum": "adult",
            "language": "prs", "location": "Room 2", "capacity": "25", "trainers": [trainer.pk],
            "day_1": "2026-12-02", "day_2": "2026-12-03", "day_3": "2026-12-04"}

    first, again = client.post("/orientation/sessions/new/", body), client.post("/orientation/sessions/new/", body)

    session = Session.objects.get()
    assert first.url == again.url == f"/orientation/sessions/{session.code}/"


def test_claims_are_kept_a_week(medic, client, person):
    client.force_login(medic)
    url = f"/medical/people/{person.pk}/exams/new/"
    with time_machine.travel(datetime.datetime(2026, 11, 1, 9, tzinfo=UTC), tick=False):
        client.force_login(medic)
        client.post(url, exam(new_token(), exam_date="2026-10-20"))
    with time_machine.travel(datetime.datetime(2026, 11, 7, 9, tzinfo=UTC), tick=False):
        client.force_login(medic)
        client.post(url, exam(new_token(), exam_date="2026-10-20"))
        assert FormSubmission.objects.count() == 2  # six days on: both kept
    with time_machine.travel(datetime.datetime(2026, 11, 8, 10, tzinfo=UTC), tick=False):
        client.force_login(medic)
        client.post(url, exam(new_token(), exam_date="2026-10-20"))
        assert [s.at.day for s in FormSubmission.objects.order_by("at")] == [7, 8]


def test_an_exam_sent_again_after_its_answer_was_lost_still_says_the_case_is_on_medical_hold(medic, client, person):
    client.force_login(medic)
    url = f"/medical/people/{person.pk}/exams/new/"
    body = exam(new_token(), tb_status="active")
    client.post(url, body)  # the answer never reached the browser

    again = client.post(url, body, follow=True)

    said = [str(m) for m in again.context["messages"]]
    assert ALREADY in said and f"Case {person.case.case_number} is on medical hold." in said
    assert MedicalExam.objects.filter(person=person).count() == 1
