"""Free text (hardening): a 5,000,000-character case note was accepted and shown to every role. Notes are capped
at 5,000 characters and reasons at 2,000, in the forms, the admin and the services alike."""

import datetime

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from movements import medical, transitions
from movements.forms import CaseForm, MedicalExamForm
from movements.models import NOTE_MAX_LENGTH, REASON_MAX_LENGTH, Case, CaseTransition, MedicalExam
from orientation import services
from orientation.models import AttendanceChange, Enrolment, Session, SessionDay
from tests.conftest import make_case
from tests.test_case_forms import field_errors, form_data

pytestmark = pytest.mark.django_db


def test_the_limits_are_what_a_person_writes():
    assert (NOTE_MAX_LENGTH, REASON_MAX_LENGTH) == (5000, 2000)


# --- case notes -------------------------------------------------------------------------------------------


def test_a_five_million_character_note_is_refused_by_the_case_page_with_a_plain_error(client, ops):
    case = make_case(1)
    client.force_login(ops)
    data = form_data(client.get(f"/cases/{case.case_number}/edit/"))
    data["notes"] = "x" * 5_000_000

    response = client.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 400
    assert "Ensure this value has at most 5000 characters (it has 5000000)." in field_errors(response)
    assert Case.objects.get(pk=case.pk).notes == ""


def test_a_note_of_five_thousand_characters_is_kept(client, ops):
    case = make_case(1)
    client.force_login(ops)
    data = form_data(client.get(f"/cases/{case.case_number}/edit/"))
    data["notes"] = "n" * 5000

    assert client.post(f"/cases/{case.case_number}/edit/", data).status_code == 302
    assert len(Case.objects.get(pk=case.pk).notes) == 5000


def test_the_notes_box_tells_the_browser_its_limit():
    assert 'maxlength="5000"' in str(CaseForm()["notes"])


def test_the_admins_case_form_refuses_a_long_note(superuser):
    case = make_case(1)
    request = RequestFactory().get("/")
    request.user = superuser
    model_admin = admin.site._registry[Case]
    form_class = model_admin.get_form(request, case)
    data = {field: getattr(case, field) for field in form_class.base_fields if hasattr(case, field)}
    data["notes"] = "x" * 5001

    form = form_class(data=data, instance=case)

    assert not form.is_valid()
    assert form.errors["notes"] == ["Ensure this value has at most 5000 characters (it has 5001)."]


def test_the_model_itself_refuses_a_long_note():
    case = make_case(1)
    case.notes = "x" * 5001

    with pytest.raises(ValidationError) as refused:
        case.clean_fields(exclude=["state"])  # django-fsm forbids setting the protected state, even to itself

    assert "notes" in refused.value.message_dict


# --- reasons for transitions --------------------------------------------------------------------------------


def test_a_hold_with_an_endless_reason_is_refused_and_nothing_changes(ops):
    case = transitions.accept(make_case(1), by=ops)
    rows = CaseTransition.objects.filter(case=case).count()

    with pytest.raises(transitions.TransitionError) as refused:
        transitions.hold(case, by=ops, reason="r" * 2001, category="other")

    assert refused.value.code == "reason_too_long"
    assert refused.value.message == "The reason has 2,001 characters; keep it to 2,000 (a few sentences)."
    stored = Case.objects.get(pk=case.pk)
    assert stored.state == "in_processing" and stored.hold_reason == ""
    assert CaseTransition.objects.filter(case=case).count() == rows


def test_a_reason_of_two_thousand_characters_is_kept(ops):
    case = transitions.hold(transitions.accept(make_case(1), by=ops), by=ops, reason="r" * 2000, category="other")

    assert len(case.hold_reason) == 2000
    assert len(case.transitions.get(transition="hold").reason) == 2000


def test_the_case_page_says_why_an_endless_reason_changed_nothing(client, ops):
    case = transitions.accept(make_case(1), by=ops)
    client.force_login(ops)

    response = client.post(f"/cases/{case.case_number}/transition/", {
        "transition": "hold", "reason": "r" * 10_000, "version": case.version, "category": "security",
    }, follow=True)

    assert "Nothing was changed: the reason has 10,000 characters; keep it to 2,000" in response.content.decode()
    assert Case.objects.get(pk=case.pk).state == "in_processing"


# --- medical notes --------------------------------------------------------------------------------------------


def exam_data(**fields):
    data = {"kind": "ime", "exam_date": "2026-01-10", "clinic": "IOM MHAC Dushanbe", "outcome": "M1",
            "tb_status": "none", "notes": ""}
    data.update(fields)
    return data


def test_the_medical_form_refuses_a_long_confidential_note():
    form = MedicalExamForm(data=exam_data(notes="m" * 5001))

    assert not form.is_valid()
    assert form.errors["notes"] == ["Ensure this value has at most 5000 characters (it has 5001)."]


def test_recording_an_exam_with_a_long_note_is_refused_whoever_calls(medic):
    person = make_case(1, ime=False).members.get()
    exam = MedicalExam(person=person, kind="ime", exam_date=datetime.date(2026, 1, 10), clinic="MHAC",
                       outcome="M1", tb_status="none", notes="m" * 5001)

    with pytest.raises(ValidationError) as refused:
        medical.record_exam(exam, by=medic)

    assert list(refused.value.message_dict) == ["notes"]
    assert not MedicalExam.objects.filter(person=person).exists()


# --- reasons for roll-call corrections ---------------------------------------------------------------------


def test_a_roll_call_correction_with_an_endless_reason_is_refused(ops, trainer):
    session = Session.objects.create(language="prs", location="IOM Dushanbe, room 2")
    session.trainers.add(trainer)
    day = SessionDay.objects.create(session=session, number=1, date=datetime.date.today())
    person = make_case(1, orientation=False).members.get()
    enrolment = Enrolment.objects.create(session=session, person=person)
    services.record_roll_call(day, {enrolment.pk: "present"}, by=trainer)

    with pytest.raises(services.OrientationError) as refused:
        services.record_roll_call(day, {enrolment.pk: "absent"}, by=trainer, reason="r" * 2001)

    assert refused.value.code == "reason_too_long"
    assert enrolment.attendance.get().status == "present"
    assert AttendanceChange.objects.count() == 1  # the first mark only


def test_counts_in_messages_are_written_out_in_the_singular_and_the_plural():
    from movements.words import counted

    assert [counted(1, "case"), counted(12, "case"), counted(0, "error"), counted(1_250, "row")] == [
        "1 case", "12 cases", "0 errors", "1,250 rows"]
    assert (counted(1, "new person", "new people"), counted(45, "person")) == ("1 new person", "45 people")


def test_a_hold_refused_for_a_page_out_of_date_comes_back_with_its_reason_and_kind(client, ops):
    case = transitions.accept(make_case(1), by=ops)
    client.force_login(ops)
    reason = "IRCC asked for a security re-check of the family"

    response = client.post(f"/cases/{case.case_number}/transition/", {
        "transition": "hold", "reason": reason, "version": case.version + 1, "category": "security",
    }, follow=True)

    page = response.content.decode()
    assert Case.objects.get(pk=case.pk).state == "in_processing"
    assert f'aria-describedby="reason-note">{reason}</textarea>' in page
    assert '<option value="security" selected>' in page
    assert reason not in client.get(f"/cases/{case.case_number}/").content.decode()  # read once
