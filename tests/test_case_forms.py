"""Entering and editing cases, members and travel documents through the pages, as an operations officer."""

import datetime
import re

import pytest
import time_machine
from django.db.models import ProtectedError
from django.utils import timezone

from movements import transitions
from movements.models import Case, CaseNumberCounter, CaseTransition, Person, TravelDocument
from tests.conftest import book, make_case, pass_pre_embarkation, ready_case

pytestmark = pytest.mark.django_db

LINE1 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
LINE2 = "L898902C36UTO7408122F1204159ZE184226B<<<<<10"

HOSTILE = [
    "x" * 5000,
    "%",
    "%%_\\",
    "'; drop table movements_case; --",
    "\x00",
    "a\x00b",
    "زهرا کریمی\u200f",  # Dari, with a right-to-left mark
    "\u202eevil\u202c",  # right-to-left override
    "<script>alert(1)</script>",
    "{{ 7|add:7 }}",
    "\ufffd\ufeff",  # replacement character, byte-order mark
    "😀" * 60,
]



@pytest.fixture
def olga(client, ops):
    client.force_login(ops)
    return client


def member_fields(index, **fields):
    values = {
        "progres_individual_id": f"555-26C00001-{index + 1:02d}",
        "relationship": "PA" if index == 0 else "SPS",
        "family_name": "Karimi",
        "given_name": ["Zahra", "Ahmad", "Omid"][index % 3],
        "native_name": ["زهرا کریمی", "احمد کریمی", "امید کریمی"][index % 3],
        "sex": "F" if index == 0 else "M",
        "date_of_birth": f"{1985 + 3 * index}-05-17",
        "nationality": "AFG",
        "phone": "",
        "special_needs": "",
        "visa_reference": "",
    }
    values.update(fields)
    return {f"members-{index}-{name}": value for name, value in values.items()}


def new_case_data(members=2, member_overrides=None, **case_fields):
    data = {
        "progres_case_id": "555-26C00001",
        "destination_country": "CAN",
        "priority": "urgent",
        "submission_category": "LPN",
        "referral_date": "2026-03-01",
        "planned_travel_date": "",
        "notes": "",
        "version": "",
        "members-TOTAL_FORMS": str(members),
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "1000",
    }
    data.update(case_fields)
    for index in range(members):
        data.update(member_fields(index, **(member_overrides or {}).get(index, {})))
    return data


def form_data(response):
    """What the browser would post back for the page as drawn: every field with its current value."""
    data = {}
    forms = []
    if "form" in response.context:
        forms.append(response.context["form"])
    formset = response.context["formset"]
    if formset is not None:
        forms += [formset.management_form, *formset.forms]
    for form in forms:
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else str(value)
    return data


def counts():
    return (
        Case.objects.count(), Person.objects.count(), TravelDocument.objects.count(),
        CaseTransition.objects.count(), CaseNumberCounter.objects.count(),
    )


def html(response):
    return response.content.decode()


def field_errors(response):
    """The messages shown next to fields and at the top of the form."""
    return re.findall(r'<p class="fielderror"[^>]*>(.*?)</p>', html(response), re.S)


# --- creating a case ------------------------------------------------------------------------------


def test_a_control_character_in_a_name_or_note_is_refused_as_the_import_refuses_it_and_the_rest_is_kept(olga):
    data = new_case_data(member_overrides={1: {"native_name": "احمد\x07 کریمی"}}, notes="Line one\nline\x1b two")

    response = olga.post("/cases/new/", data)

    assert response.status_code == 400
    assert response.context["formset"].forms[1].errors["native_name"] == [
        "This holds a control character (U+0007), which no name, code or note has: remove it."]
    assert response.context["form"].errors["notes"] == [
        "This holds a control character (U+001B), which no name, code or note has: remove it."]
    assert response.context["formset"].forms[0]["family_name"].value() == "Karimi"  # what was typed stays
    assert not Case.objects.exists()
    data = new_case_data(notes="Line one\r\n\tline two")  # a note's line breaks and tabs are text

    assert olga.post("/cases/new/", data).status_code == 302


def test_it_creates_a_case_with_two_members(olga, ops):
    response = olga.post("/cases/new/", new_case_data())

    assert response.status_code == 302
    case = Case.objects.get(progres_case_id="555-26C00001")
    assert re.fullmatch(r"DYU-\d{4}-\d{5}", case.case_number)
    assert response["Location"] == f"/cases/{case.case_number}/"
    assert case.state == "referred"
    assert case.priority == "urgent"
    assert [(p.relationship, p.full_name, p.native_name) for p in case.members.order_by("id")] == [
        ("PA", "Karimi, Zahra", "زهرا کریمی"),
        ("SPS", "Karimi, Ahmad", "احمد کریمی"),
    ]


def test_creating_a_case_writes_its_first_history_row(olga, ops):
    olga.post("/cases/new/", new_case_data())

    case = Case.objects.get(progres_case_id="555-26C00001")
    (row,) = CaseTransition.objects.filter(case=case)
    assert (row.transition, row.from_state, row.to_state) == ("create", "", "referred")
    assert row.user == ops
    assert row.actor == "Olga Ops"


def test_case_numbers_count_up_within_the_year(olga):
    olga.post("/cases/new/", new_case_data())
    olga.post(
        "/cases/new/",
        new_case_data(
            progres_case_id="555-26C00002",
            member_overrides={0: {"progres_individual_id": "555-26C00002-01"},
                              1: {"progres_individual_id": "555-26C00002-02"}},
        ),
    )

    first, second = Case.objects.order_by("id").values_list("case_number", flat=True)
    assert int(second[-5:]) == int(first[-5:]) + 1
    assert first[:9] == second[:9]


def test_the_case_number_carries_the_local_year():
    with time_machine.travel(datetime.datetime(2026, 12, 31, 20, tzinfo=datetime.timezone.utc), tick=False):
        case = make_case(1)  # already 1 January 2027 in Dushanbe

    assert case.case_number.startswith("DYU-2027-")


def test_it_stores_phone_numbers_in_e164_with_tajikistan_as_the_default_region(olga):
    data = new_case_data(member_overrides={0: {"phone": "93 490 4548"}, 1: {"phone": "+44 20 7946 0958"}})

    response = olga.post("/cases/new/", data)

    assert response.status_code == 302
    phones = [str(p.phone) for p in Person.objects.order_by("id")]
    assert phones == ["+992934904548", "+442079460958"]


def test_it_normalises_special_needs_codes(olga):
    response = olga.post("/cases/new/", new_case_data(member_overrides={0: {"special_needs": "wchr, meda;WCHR"}}))

    assert response.status_code == 302
    assert Person.objects.get(relationship="PA").special_needs == "WCHR;MEDA"


def test_a_blank_extra_member_row_adds_nobody(olga):
    data = new_case_data(members=2)
    # The page always offers one empty row; a browser posts it with its preselected nationality.
    data["members-TOTAL_FORMS"] = "3"
    data.update({key.replace("members-0-", "members-2-"): "" for key in member_fields(0)})
    data["members-2-nationality"] = "AFG"

    response = olga.post("/cases/new/", data)

    assert response.status_code == 302
    assert Person.objects.count() == 2


BAD_INPUT = [
    pytest.param({}, {0: {"family_name": ""}}, "This field is required.", id="missing-family-name"),
    pytest.param({}, {1: {"date_of_birth": "2099-01-01"}}, "The date of birth is in the future.", id="future-birth"),
    pytest.param({}, {1: {"date_of_birth": "1850-01-01"}}, "before 1900", id="birth-before-1900"),
    pytest.param({}, {1: {"date_of_birth": "17/05/1985x"}}, "Enter a valid date.", id="garbled-birth"),
    pytest.param({}, {0: {"special_needs": "XXXX"}}, "Unknown SSR code XXXX", id="unknown-ssr"),
    pytest.param({}, {0: {"phone": "12"}}, "is not a phone number: it has 2 digits", id="bad-phone"),
    pytest.param({}, {0: {"sex": "Q"}}, "Select a valid choice.", id="bad-sex"),
    pytest.param({}, {0: {"nationality": "ZZZ"}}, "Select a valid choice.", id="bad-nationality"),
    pytest.param({}, {0: {"progres_individual_id": "no spaces!"}}, "proGres id as UNHCR writes it", id="bad-id"),
    pytest.param({"progres_case_id": ""}, {}, "This field is required.", id="missing-case-id"),
    pytest.param({"referral_date": "2099-01-01"}, {}, "The referral date is in the future.", id="future-referral"),
    pytest.param({"submission_category": "L1"}, {}, "up to 10 capital letters", id="bad-category"),
    pytest.param({"destination_country": "XYZ"}, {}, "Select a valid choice.", id="bad-destination"),
]


@pytest.mark.parametrize("case_fields, member_overrides, message", BAD_INPUT)
def test_it_refuses_bad_input_with_a_message_at_the_field_and_saves_nothing(
    olga, case_fields, member_overrides, message
):
    before = counts()

    response = olga.post("/cases/new/", new_case_data(member_overrides=member_overrides, **case_fields))

    assert response.status_code == 400
    assert "Nothing was saved." in html(response)
    assert any(message in error for error in field_errors(response)), field_errors(response)
    assert counts() == before


@pytest.mark.parametrize(
    "relationships, count",
    [(["SPS", "SPS"], 0), (["PA", "PA"], 2), (["CHD", "PA", "PA"], 2)],
)
def test_it_refuses_a_case_without_exactly_one_principal_applicant(olga, relationships, count):
    before = counts()
    overrides = {i: {"relationship": r} for i, r in enumerate(relationships)}

    response = olga.post("/cases/new/", new_case_data(members=len(relationships), member_overrides=overrides))

    assert response.status_code == 400
    assert f"exactly one principal applicant (PA); this one would have {count}." in html(response)
    assert counts() == before


def test_it_refuses_a_case_without_members(olga):
    before = counts()

    response = olga.post("/cases/new/", new_case_data(members=0))

    assert response.status_code == 400
    assert "A case needs at least one member" in html(response)
    assert counts() == before


def test_it_refuses_the_same_individual_id_twice_in_one_case(olga):
    before = counts()
    same = {0: {"progres_individual_id": "555-26C00001-01"}, 1: {"progres_individual_id": "555-26C00001-01"}}

    response = olga.post("/cases/new/", new_case_data(member_overrides=same))

    assert response.status_code == 400
    assert field_errors(response).count("This proGres individual id is used twice in this case.") == 1
    assert counts() == before


def test_it_refuses_an_individual_id_already_used_by_another_case(olga):
    other = make_case(1)
    taken = other.members.get().progres_individual_id
    before = counts()

    response = olga.post("/cases/new/", new_case_data(member_overrides={1: {"progres_individual_id": taken}}))

    assert response.status_code == 400
    # Django capitalises the label here ("ProGres individual id"), hence the case-blind comparison.
    assert "Another person already has this proGres individual id." in field_errors(response)
    assert counts() == before
    assert other.members.get().progres_individual_id == taken


def test_it_refuses_a_case_id_already_used_by_another_case(olga):
    other = make_case(1)
    before = counts()

    response = olga.post("/cases/new/", new_case_data(progres_case_id=other.progres_case_id))

    assert response.status_code == 400
    assert "Another case already has this proGres case id." in field_errors(response)
    assert counts() == before


def test_a_refused_form_keeps_what_was_typed(olga):
    response = olga.post(
        "/cases/new/", new_case_data(member_overrides={0: {"phone": "12"}, 1: {"given_name": "Ahmad Shah"}})
    )

    assert response.status_code == 400
    assert 'value="Ahmad Shah"' in html(response)
    assert 'value="زهرا کریمی"' in html(response)


# --- editing a case ------------------------------------------------------------------------------


def test_editing_saves_the_changes_and_bumps_the_version(olga):
    case = make_case(2)
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
    ahmad = case.members.get(given_name="Ahmad")
    index = next(k.split("-")[1] for k, v in data.items() if k.endswith("-id") and v == str(ahmad.pk))
    data[f"members-{index}-given_name"] = "Ahmad Shah"
    data[f"members-{index}-phone"] = "934904548"
    data["notes"] = "Interview on 12 March"

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 302, field_errors(response)
    stored = Case.objects.get(pk=case.pk)
    assert stored.notes == "Interview on 12 March"
    assert stored.version == case.version + 1
    ahmad.refresh_from_db()
    assert ahmad.given_name == "Ahmad Shah"
    assert str(ahmad.phone) == "+992934904548"
    # The timeline says what changed in the form's words; the change's data keeps the field names.
    change = stored.changes.order_by("-id").first()
    assert change.summary == "Edited: case (notes); Karimi, Ahmad Shah (given name, phone)"
    assert change.data == {"case": ["notes"], "members": {"Karimi, Ahmad Shah": ["given_name", "phone"]}}


def test_editing_can_add_a_member(olga):
    case = make_case(1)
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
    extra = int(data["members-TOTAL_FORMS"]) - 1  # the empty row the page offers
    data.update(member_fields(extra, progres_individual_id=f"{case.progres_case_id}-09", relationship="CHD",
                              given_name="Yasin", date_of_birth="2019-02-03"))

    Case.objects.filter(pk=case.pk).update(status_changed_at=timezone.now() - datetime.timedelta(days=7))

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 302, field_errors(response)
    assert case.members.count() == 2
    # A new row in UNHCR's status export: the case's status counts as changed for the weekly delta.
    assert Case.objects.get(pk=case.pk).status_changed_at >= timezone.now() - datetime.timedelta(minutes=1)


def test_editing_can_remove_a_member(olga):
    case = make_case(2, ime=False, orientation=False)
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
    ahmad = case.members.get(given_name="Ahmad")
    index = next(k.split("-")[1] for k, v in data.items() if k.endswith("-id") and v == str(ahmad.pk))
    data[f"members-{index}-DELETE"] = "on"

    Case.objects.filter(pk=case.pk).update(status_changed_at=timezone.now() - datetime.timedelta(days=7))

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 302, field_errors(response)
    assert [p.given_name for p in case.members.all()] == ["Zahra"]
    assert Case.objects.get(pk=case.pk).status_changed_at >= timezone.now() - datetime.timedelta(minutes=1)



@pytest.mark.parametrize("change, in_export", [
    ({"progres_case_id": "870-26X20014"}, True),  # on every row of the case
    ({"members-0-family_name": "Karimy"}, True),  # a name corrected
    ({"members-0-progres_individual_id": "870-26X20014-09"}, True),
    ({"notes": "Interview on 12 March"}, False),  # not in the export
    ({"members-0-phone": "+992934904548"}, False),
])
def test_a_correction_of_what_the_status_export_says_reaches_the_next_changed_since_export(olga, change, in_export):
    case = make_case(1)
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
    data.update(change)
    week_ago = timezone.now() - datetime.timedelta(days=7)
    Case.objects.filter(pk=case.pk).update(status_changed_at=week_ago)

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 302, field_errors(response)
    assert (Case.objects.get(pk=case.pk).status_changed_at > week_ago) is in_export

def test_a_member_with_kept_records_cannot_be_removed(olga):
    case = make_case(2)  # both have an IME and orientation attendance
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
    ahmad = case.members.get(given_name="Ahmad")
    index = next(k.split("-")[1] for k, v in data.items() if k.endswith("-id") and v == str(ahmad.pk))
    data[f"members-{index}-DELETE"] = "on"

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 400
    assert "Karimi, Ahmad cannot be removed from the case: their enrolments, medical exams are kept." in html(response)
    assert case.members.count() == 2


def test_a_booked_case_offers_only_its_notes_and_ignores_posted_member_rows(olga, ops):
    case = book(ready_case(ops), ops)
    page = olga.get(f"/cases/{case.case_number}/edit/")
    assert "its details can no longer be changed. Cancel the booking first" in html(page)
    data = form_data(page)
    assert "members-TOTAL_FORMS" not in data  # no member rows offered
    data.update({"members-TOTAL_FORMS": "2", "members-INITIAL_FORMS": "0", "notes": "Escort to meet them in IST"})
    data.update(member_fields(1, progres_individual_id=f"{case.progres_case_id}-09", relationship="CHD"))
    before = counts()

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 302
    assert counts() == before
    assert Case.objects.get(pk=case.pk).notes == "Escort to meet them in IST"
    assert not Person.objects.filter(progres_individual_id=f"{case.progres_case_id}-09").exists()


def test_editing_from_a_stale_page_saves_nothing_and_says_why(olga, ops):
    case = make_case(2)
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
    transitions.accept(case, by=ops)  # someone else moves the case meanwhile
    data["notes"] = "my edit"
    data["members-0-family_name"] = "Changed"
    before = counts()

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 400
    assert "This case changed while you were looking at it" in html(response)
    stored = Case.objects.get(pk=case.pk)
    assert stored.notes == ""
    assert stored.state == "in_processing"
    assert not Person.objects.filter(family_name="Changed").exists()
    assert counts() == before


def test_editing_twice_from_the_same_page_saves_only_the_first(olga):
    case = make_case(1)
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))

    first = olga.post(f"/cases/{case.case_number}/edit/", {**data, "notes": "first"})
    second = olga.post(f"/cases/{case.case_number}/edit/", {**data, "notes": "second"})

    assert first.status_code == 302
    assert second.status_code == 400
    assert Case.objects.get(pk=case.pk).notes == "first"


def test_editing_cannot_change_the_state(olga):
    case = make_case(1)
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
    data["state"] = "ready"

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).state == "referred"


def test_editing_refuses_an_id_used_by_another_case_and_saves_nothing(olga):
    case = make_case(1)
    other = make_case(1)
    data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
    data["members-0-progres_individual_id"] = other.members.get().progres_individual_id
    data["notes"] = "should not be saved"

    response = olga.post(f"/cases/{case.case_number}/edit/", data)

    assert response.status_code == 400
    assert Case.objects.get(pk=case.pk).notes == ""


def test_a_departed_case_can_no_longer_be_edited(olga, ops):
    # A state-policy test: the case is taken to `departed` as travel takes it (travel owns the transition; its
    # own tests depart whole departures through its services).
    case = make_case(1)
    for name in ["accept", "approve", "clear", "book", "depart"]:
        if name == "depart":
            pass_pre_embarkation(case)
        case = transitions.perform(case, name, by=ops, performer="travel" if name in ("book", "depart") else "")

    response = olga.get(f"/cases/{case.case_number}/edit/")

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.case_number}/"


# --- travel documents ---------------------------------------------------------------------------


def document_data(**fields):
    values = {
        "document_type": "passport", "number": "L898902C3", "issuing_country": "AFG", "expiry_date": "2012-04-15",
        "mrz_line1": LINE1, "mrz_line2": LINE2,
        "record_expired": "on",  # the ICAO specimen expired in 2012 (the warning has its own test)
    }
    values.update(fields)
    data = {
        "documents-TOTAL_FORMS": "1", "documents-INITIAL_FORMS": "0",
        "documents-MIN_NUM_FORMS": "0", "documents-MAX_NUM_FORMS": "1000",
    }
    data.update({f"documents-0-{name}": value for name, value in values.items()})
    return data


@pytest.fixture
def person_without_documents():
    """Anna Maria Eriksson, whose passport is the ICAO specimen."""
    case = make_case(1, documents=False)
    person = case.members.get()
    person.family_name, person.given_name, person.sex = "Eriksson", "Anna Maria", "F"
    person.date_of_birth = datetime.date(1974, 8, 12)
    person.save()
    return case, person, f"/cases/{case.case_number}/members/{person.pk}/documents/"


def test_it_records_a_travel_document_with_a_checked_mrz(olga, person_without_documents):
    case, person, url = person_without_documents

    response = olga.post(url, document_data(number="l898902c3"))

    assert response.status_code == 302
    assert response["Location"] == f"/cases/{case.case_number}/"
    document = person.documents.get()
    assert (document.number, document.expiry_date) == ("L898902C3", datetime.date(2012, 4, 15))
    assert document.mrz_line2 == LINE2


@pytest.mark.parametrize(
    "fields, field, message",
    [
        ({"mrz_line2": LINE2[:9] + "7" + LINE2[10:]}, "mrz_line2", "MRZ check digit for the document number is 7"),
        ({"number": "L898902C4"}, "number", "The MRZ gives document number L898902C3, not L898902C4."),
        ({"expiry_date": "2012-04-16"}, "expiry_date", "The MRZ gives expiry 2012-04-15, not 2012-04-16."),
        ({"mrz_line1": ""}, "mrz_line1", "Give both MRZ lines, or neither."),
        ({"mrz_line2": LINE2[:40]}, "mrz_line2", "MRZ line 2 has 40 characters"),
        ({"mrz_line2": LINE2[:3] + "\u00b2" + LINE2[4:]}, "mrz_line2", "is not allowed in a machine-readable zone"),
        ({"number": "AB-12"}, "number", "Capital letters and digits only"),
        ({"expiry_date": ""}, "expiry_date", "This field is required."),
        # Issued today at the latest and valid 3 months at most (DOMAIN.md): a typing slip, a year too far.
        ({"document_type": "icrc", "number": "ICRC0001", "expiry_date": "2099-01-31", "mrz_line1": "",
          "mrz_line2": ""}, "expiry_date", "An ICRC travel document is valid for 3 months at most: an expiry after"),
    ],
)
def test_it_refuses_a_document_that_does_not_check_out(olga, person_without_documents, fields, field, message):
    case, person, url = person_without_documents
    before = counts()

    response = olga.post(url, document_data(**fields))

    assert response.status_code == 400
    form = response.context["formset"].forms[0]
    assert any(message in error for error in form.errors[field]), form.errors
    assert any(message in error for error in field_errors(response))
    assert counts() == before


def test_it_refuses_the_same_document_recorded_for_someone_else(olga, person_without_documents):
    case, person, url = person_without_documents
    other = make_case(1).members.get().documents.get()
    before = counts()

    response = olga.post(url, document_data(
        number=other.number, issuing_country=other.issuing_country, expiry_date="2031-01-01",
        mrz_line1="", mrz_line2="",
    ))

    assert response.status_code == 400
    assert "already exists" in html(response)
    assert counts() == before


def years_ahead(years):
    """A date that many years from today, as typed: the suite passes on any day."""
    return (datetime.date.today() + datetime.timedelta(days=365 * years)).isoformat()


def test_adding_a_valid_passport_clears_the_document_blocker(olga, ops, django_capture_on_commit_callbacks):
    case = transitions.accept(make_case(1, documents=False), by=ops)
    person = case.members.get()
    url = f"/cases/{case.case_number}/members/{person.pk}/documents/"

    with django_capture_on_commit_callbacks(execute=True):
        response = olga.post(url, document_data(number="P1234567", expiry_date=years_ahead(5), mrz_line1="",
                                                mrz_line2=""))

    assert response.status_code == 302
    assert Case.objects.get(pk=case.pk).blocker_count == 0


def test_a_document_page_for_someone_in_another_case_is_not_found(olga):
    case = make_case(1)
    stranger = make_case(1).members.get()

    response = olga.get(f"/cases/{case.case_number}/members/{stranger.pk}/documents/")

    assert response.status_code == 404


# --- nothing anyone types gives a 500 -----------------------------------------------------------


@pytest.mark.parametrize("text", HOSTILE)
def test_searching_for_anything_answers_a_page(olga, text):
    make_case(1)

    for params in ({"q": text}, {"state": text}, {"priority": text, "destination": text}, {"page": text},
                   {"blockers": text, "q": "Karimi"}):
        response = olga.get("/cases/", params)
        assert response.status_code == 200, params


def test_search_treats_wildcards_literally(olga):
    make_case(1)

    response = olga.get("/cases/", {"q": "%"})

    assert "No case matches these filters." in html(response)


CASE_FIELDS = ["progres_case_id", "destination_country", "priority", "submission_category", "referral_date",
               "planned_travel_date", "notes"]
MEMBER_FIELDS = list(member_fields(0).keys())


@pytest.mark.parametrize("text", HOSTILE)
def test_typing_anything_into_the_new_case_form_answers_a_page(olga, text):
    everywhere = new_case_data(**{name: text for name in CASE_FIELDS})
    everywhere.update({name.replace("-0-", "-1-"): text for name in MEMBER_FIELDS})
    free_text = new_case_data(notes=text, member_overrides={1: {"native_name": text}})
    management = {**new_case_data(), "members-TOTAL_FORMS": text, "members-INITIAL_FORMS": text}
    row_ids = {**new_case_data(), "members-0-id": text, "members-1-case": text}

    for data in (everywhere, free_text, management, row_ids):
        before = counts()
        response = olga.post("/cases/new/", data, follow=True)  # a saved case: its page is drawn too
        assert response.status_code in (200, 400)
        if response.redirect_chain:
            # Accepted: exactly what was typed is stored (only free text can be), in one new case.
            assert data is free_text, data
            assert counts()[:2] == (before[0] + 1, before[1] + data_members(data))
            saved = Case.objects.latest("id")
            assert saved.notes == text.strip() or saved.notes == text
        else:
            assert counts() == before


def data_members(data):
    return sum(1 for k, v in data.items() if k.endswith("-progres_individual_id") and v)


def test_names_in_their_own_script_are_saved_and_shown_as_typed(olga):
    native = "زهرا\u200cکریمی\u200f"  # Dari, with a zero-width non-joiner and a right-to-left mark
    data = new_case_data(notes="<b>not bold</b> & 100%", member_overrides={0: {"native_name": native}})

    response = olga.post("/cases/new/", data, follow=True)

    assert response.status_code == 200
    assert Person.objects.get(relationship="PA").native_name == native
    page = html(response)
    assert native in page
    assert "&lt;b&gt;not bold&lt;/b&gt; &amp; 100%" in page


@pytest.mark.parametrize("text", HOSTILE)
def test_typing_anything_into_the_edit_and_document_forms_answers_a_page(olga, text):
    case = make_case(1)
    person = case.members.get()
    edit_url = f"/cases/{case.case_number}/edit/"
    documents_url = f"/cases/{case.case_number}/members/{person.pk}/documents/"
    edit = form_data(olga.get(edit_url))
    documents = form_data(olga.get(documents_url))

    edits = [
        {**edit, **{name: text for name in edit if name.startswith(("notes", "members-0-", "progres"))}},
        {**edit, "notes": text, "members-0-native_name": text},
        {**edit, "version": text},
        {**edit, "members-0-id": text, "members-0-case": text},
    ]
    for data in edits:
        before = stored_state(case)
        response = olga.post(edit_url, data, follow=True)
        assert response.status_code in (200, 400)
        if response.redirect_chain:
            after = stored_state(case)
            assert after["version"] == before["version"] + 1
            assert after["notes"] in (text, text.strip())  # only free text can be accepted, as typed
        else:
            assert stored_state(case) == before
    document_posts = [
        {**documents, **{name: text for name in documents if name.startswith("documents-0-")}},
        {**documents, "documents-0-id": text},
    ]
    for data in document_posts:
        before = list(TravelDocument.objects.order_by("id").values())
        response = olga.post(documents_url, data, follow=True)
        assert response.status_code in (200, 400)
        assert list(TravelDocument.objects.order_by("id").values()) == before


def stored_state(case):
    """Everything the edit form could change, as stored."""
    stored = Case.objects.values().get(pk=case.pk)
    stored["members"] = list(Person.objects.filter(case=case).order_by("id").values())
    stored.pop("updated_at"), stored.pop("readiness_checked_at")
    for member in stored["members"]:
        member.pop("updated_at")
    return stored


@pytest.mark.parametrize("text", HOSTILE)
def test_posting_anything_to_a_transition_answers_a_page(olga, text):
    case = make_case(1)
    url = f"/cases/{case.case_number}/transition/"

    for data in ({"transition": text, "version": case.version},
                 {"transition": "hold", "reason": text, "version": case.version},
                 {"transition": "accept", "version": text}):
        response = olga.post(url, data)
        assert response.status_code == 302, data
        assert response["Location"] == f"/cases/{case.case_number}/"


@pytest.mark.parametrize("text", ["\x00", "DYU-2026-00001\x00", "%00", "x" * 3000, "'; drop table x; --", "DYU-2026-%",
                                  "..", "کریمی"])
def test_any_case_number_in_the_address_answers_not_found(olga, text):
    from urllib.parse import quote

    make_case(1)
    base = f"/cases/{quote(text, safe='')}/"

    for url in [base, f"{base}edit/", f"{base}members/1/documents/"]:
        assert olga.get(url).status_code == 404, url
    assert olga.post(f"{base}transition/", {"transition": "accept", "version": 1}).status_code == 404


def test_the_principal_applicant_can_be_swapped_back_and_forth(olga):
    case = make_case(2)
    for _ in range(2):
        data = form_data(olga.get(f"/cases/{case.case_number}/edit/"))
        for key, value in list(data.items()):
            if key.endswith("-relationship") and value in ("PA", "SPS"):
                data[key] = "SPS" if value == "PA" else "PA"
        response = olga.post(f"/cases/{case.case_number}/edit/", data)
        assert response.status_code == 302, field_errors(response)
    assert case.members.get(relationship="PA").given_name == "Zahra"


def test_names_on_the_travel_document_must_be_in_latin_script(olga):
    before = counts()
    response = olga.post("/cases/new/", new_case_data(member_overrides={0: {"given_name": "نرگس"}}))
    assert response.status_code == 400
    assert "Write the name in Latin script, as on the travel document" in html(response)
    assert counts() == before


def test_document_changes_appear_in_the_case_timeline_without_numbers(olga, person_without_documents):
    case, person, url = person_without_documents
    olga.post(url, document_data(number="l898902c3"))
    change = case.changes.get()
    assert change.summary == "Travel documents of Eriksson, Anna Maria: added passport"
    assert "L898902C3" not in change.summary


def test_deleting_a_document_that_something_protects_says_so_and_keeps_it(olga):
    from django.db.models.signals import pre_delete

    case = make_case(1)
    person = case.members.get()
    document = person.documents.get()

    def protected_by_a_booking(sender, instance, **kwargs):
        # A stand-in for a record that keeps the document (a manifest's advance passenger data, say).
        raise ProtectedError("Cannot delete: an advance passenger record refers to it.", {case})

    pre_delete.connect(protected_by_a_booking, sender=TravelDocument)
    try:
        url = f"/cases/{case.case_number}/members/{person.pk}/documents/"
        data = form_data(olga.get(url))
        data["documents-0-DELETE"] = "on"
        response = olga.post(url, data)
    finally:
        pre_delete.disconnect(protected_by_a_booking, sender=TravelDocument)

    assert response.status_code == 400
    assert "This document cannot be deleted" in html(response)
    assert TravelDocument.objects.filter(pk=document.pk).exists()


@pytest.mark.parametrize("typed, stored, region", [
    ("0093 70 123 4567", "+93701234567", ""),  # 00 for +
    ("00992 93 123 4567", "+992931234567", ""),
    ("8 92 777 12 34", "+992927771234", "TJ"),  # Tajikistan's old trunk prefix
    ("8 (93) 123-45-67", "+992931234567", "TJ"),
    ("93 123 4567", "+992931234567", "TJ"),  # read in the mission's region, and recorded as such
    ("+93 70 640 3754", "+93706403754", ""),
])
def test_phone_numbers_as_people_write_them_are_stored_in_e164(olga, typed, stored, region):
    response = olga.post("/cases/new/", new_case_data(member_overrides={0: {"phone": typed}}))

    assert response.status_code == 302, field_errors(response)
    person = Person.objects.get(relationship="PA")
    assert (str(person.phone), person.phone_region) == (stored, region)


def test_a_number_a_spreadsheet_stored_without_its_plus_is_refused_saying_what_it_reads_as(olga):
    response = olga.post("/cases/new/", new_case_data(member_overrides={0: {"phone": "93706403754"}}))

    assert response.status_code == 400
    assert ("“93706403754” is not a Tajikistan number; it reads as +93 70 640 3754 (country code 93) with a + in "
            "front") in " ".join(field_errors(response))


def test_phone_numbers_are_shown_in_international_format(olga):
    olga.post("/cases/new/", new_case_data(member_overrides={0: {"phone": "+992931234567"}}))
    case = Case.objects.get()

    page = html(olga.get(f"/cases/{case.case_number}/"))

    assert "+992 93 123 4567" in page


@pytest.mark.django_db
def test_an_icrc_document_may_expire_three_months_from_today_and_no_later():
    from django.core.exceptions import ValidationError

    from movements.models import TravelDocument

    person = make_case(1).members.get()
    with time_machine.travel(datetime.datetime(2026, 11, 30, 8, tzinfo=datetime.timezone.utc), tick=False):
        on_the_day = TravelDocument(person=person, document_type="icrc", number="ICRC0001", issuing_country="AFG",
                                    expiry_date=datetime.date(2027, 2, 28))  # 30 November + 3 months
        on_the_day.full_clean()
        on_the_day.expiry_date = datetime.date(2027, 3, 1)
        with pytest.raises(ValidationError) as refused:
            on_the_day.full_clean()
        passport = TravelDocument(person=person, document_type="passport", number="P0000001", issuing_country="AFG",
                                  expiry_date=datetime.date(2031, 1, 1))
        passport.full_clean()
        # One recorded before (with a slip in its year) does not stop its neighbours being edited; changing it does.
        recorded = TravelDocument.objects.create(person=person, document_type="icrc", number="ICRC0002",
                                                 issuing_country="AFG", expiry_date=datetime.date(2028, 1, 31))
        recorded.mrz_line1 = ""
        recorded.full_clean()
        recorded.expiry_date = datetime.date(2028, 1, 30)
        with pytest.raises(ValidationError):
            recorded.full_clean()
    assert refused.value.message_dict["expiry_date"] == [
        "An ICRC travel document is valid for 3 months at most: an expiry after 2027-02-28 cannot be right. Check "
        "the date."]
