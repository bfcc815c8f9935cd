"""One state policy (models.STATE_POLICY), read by every door: the case form, the referral import, the admin and
the services. Each cell of the table is tried through each door that can change that kind of data."""

import csv
import datetime
import io

import pytest

from movements import case_edits, readiness, transitions
from movements.models import STATE_POLICY, Case, CaseChange, CaseState, Person, TravelDocument, states_where
from movements.referral_import import COLUMNS, run_import
from tests.conftest import PASSWORD, case_in, make_user

pytestmark = pytest.mark.django_db

STATES = [s.value for s in CaseState]


def policy(state, column):
    return getattr(STATE_POLICY[state], column)


@pytest.fixture
def olga_client(client, ops):
    client.force_login(ops)
    return client


def edit_page_data(client, case):
    """What the edit page posts back as drawn (case form, members' formset)."""
    response = client.get(f"/cases/{case.case_number}/edit/")
    data = {}
    context = response.context
    forms = [context["form"]]
    if context["formset"] is not None:
        forms += [context["formset"].management_form, *context["formset"].forms]
    for form in forms:
        for field in form:
            value = field.value()
            if value not in (None, False):
                data[field.html_name] = "on" if value is True else str(value)
    return data


def referral_file(case, extra_rows=(), **changes):
    """The case as UNHCR would send it again, with `changes` to its principal applicant's row."""
    rows = []
    for person in case.members.order_by("id"):
        row = {
            "progres_case_id": case.progres_case_id, "progres_individual_id": person.progres_individual_id,
            "relationship": person.relationship, "family_name": person.family_name, "given_name": person.given_name,
            "native_name": person.native_name, "sex": person.sex, "date_of_birth": person.date_of_birth.isoformat(),
            "nationality": person.nationality, "phone": "", "destination_country": case.destination_country,
            "priority": case.priority, "submission_category": case.submission_category,
            "referral_date": case.referral_date.isoformat(), "special_needs": person.special_needs,
        }
        if person.relationship == "PA":
            row.update(changes)
        rows.append(row)
    for extra in extra_rows:
        rows.append({**rows[0], "phone": "", "native_name": "", "special_needs": "", **extra})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode()


def with_new_member(case):
    return referral_file(case, extra_rows=[{
        "progres_individual_id": f"{case.progres_case_id}-77", "relationship": "CHD", "given_name": "Laila",
        "sex": "F", "date_of_birth": "2015-01-01",
    }])


# --- details: the members' names and the referral details -------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_the_case_form_changes_details_exactly_where_the_policy_allows(olga_client, ops, state):
    case = case_in(state, ops)
    page = olga_client.get(f"/cases/{case.case_number}/edit/")
    if not (policy(state, "details") or policy(state, "notes")):
        assert page.status_code == 302  # back to the case, with the reason
        return
    data = edit_page_data(olga_client, case)
    pa_row = next(k[: -len("-id")] for k, v in data.items() if k.endswith("-id") and
                  v == str(case.members.get(relationship="PA").pk)) if "members-TOTAL_FORMS" in data else None
    if pa_row:
        data[f"{pa_row}-given_name"] = "Zahraa"
    data["notes"] = "Checked with the family"

    olga_client.post(f"/cases/{case.case_number}/edit/", data)

    assert Person.objects.filter(case=case, given_name="Zahraa").exists() == policy(state, "details")
    assert Case.objects.get(pk=case.pk).notes == ("Checked with the family" if policy(state, "notes") else "")


@pytest.mark.parametrize("state", STATES)
def test_the_import_changes_details_exactly_where_the_policy_allows(ops, state):
    case = case_in(state, ops)

    report = run_import(referral_file(case, given_name="Zahraa"), "again.csv")

    renamed = Person.objects.filter(case=case, given_name="Zahraa").exists()
    assert renamed == policy(state, "details") == report.applied
    if not policy(state, "details"):
        assert [e.column for e in report.errors] == ["given_name"]
        assert f"is {Case.objects.get(pk=case.pk).get_state_display().lower()}" in report.errors[0].message


@pytest.mark.parametrize("state", STATES)
def test_the_admin_changes_details_exactly_where_the_policy_allows(client, ops, state):
    case = case_in(state, ops)
    admin_user = make_user("ada", is_staff=True, is_superuser=True)
    client.force_login(admin_user)
    pa = case.members.get(relationship="PA")

    page = client.get(f"/admin/movements/person/{pa.pk}/change/")

    assert page.status_code == 200
    editable = 'name="given_name"' in page.content.decode()
    assert editable == policy(state, "details")


@pytest.mark.parametrize("state", STATES)
def test_the_edit_service_refuses_details_where_the_policy_does(ops, state):
    case = case_in(state, ops)

    refusal = case_edits.refusal(case, "details")

    assert (refusal is None) == policy(state, "details")
    if refusal:
        with pytest.raises(case_edits.EditRefused) as refused:
            case_edits.check_editable(case, "details")
        assert refused.value.code == "locked_state"
        assert case.case_number in refused.value.message


# --- membership ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_the_import_adds_members_exactly_where_the_policy_allows(ops, state):
    case = case_in(state, ops)

    report = run_import(with_new_member(case), "with-laila.csv")

    added = Person.objects.filter(progres_individual_id=f"{case.progres_case_id}-77").exists()
    assert added == policy(state, "membership") == report.applied
    if not added:
        assert "the import would add this person" in report.errors[0].message


@pytest.mark.parametrize("state", STATES)
def test_the_case_form_offers_a_new_member_row_exactly_where_the_policy_allows(olga_client, ops, state):
    case = case_in(state, ops)
    if not (policy(state, "details") or policy(state, "notes")):
        return  # no edit page at all (the details test covers the redirect)

    data = edit_page_data(olga_client, case)

    total = int(data.get("members-TOTAL_FORMS", 0))
    assert (total > case.members.count()) == policy(state, "membership")


# --- travel documents -------------------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_travel_documents_change_exactly_where_the_policy_allows(olga_client, ops, state):
    case = case_in(state, ops)
    person = case.members.get(relationship="PA")
    data = {
        "documents-TOTAL_FORMS": "1", "documents-INITIAL_FORMS": "0", "documents-MIN_NUM_FORMS": "0",
        "documents-MAX_NUM_FORMS": "1000", "documents-0-document_type": "icrc", "documents-0-number": "ICRC0001",
        "documents-0-issuing_country": "XXA",
        # An ICRC document lasts 3 months at most.
        "documents-0-expiry_date": (datetime.date.today() + datetime.timedelta(days=80)).isoformat(),
    }

    olga_client.post(f"/cases/{case.case_number}/members/{person.pk}/documents/", data)

    assert TravelDocument.objects.filter(number="ICRC0001").exists() == policy(state, "documents")


# --- what the services read from the table ----------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_readiness_is_computed_and_stored_exactly_where_the_policy_says(ops, state):
    case = case_in(state, ops)
    Person.objects.filter(case=case).update(visa_reference="")  # a blocker in every state that checks

    readiness.refresh_snapshot(case)

    stored = Case.objects.get(pk=case.pk)
    assert (stored.blocker_count > 0) == policy(state, "readiness")


@pytest.mark.parametrize("state", STATES)
def test_a_hold_applies_exactly_where_the_policy_allows(ops, state):
    case = case_in(state, ops)

    try:
        transitions.hold(case, by=ops, reason="Security re-check", category="security")
        held = True
    except transitions.TransitionError as e:
        assert e.code == "not_allowed"
        held = False

    assert held == policy(state, "holdable")


@pytest.mark.parametrize("state", STATES)
def test_orientation_enrols_exactly_the_cases_the_policy_calls_preparing(ops, state):
    from orientation import services
    from orientation.models import Session, SessionDay

    case = case_in(state, ops)
    session = Session.objects.create(language="prs", location="Room 2")
    start = datetime.date.today() + datetime.timedelta(days=7)
    SessionDay.objects.bulk_create([SessionDay(session=session, number=n, date=start + datetime.timedelta(days=n))
                                    for n in (1, 2, 3)])

    reason = services.ineligibility(case.members.get(relationship="PA"), session) or ""

    assert ("approved, ready or booked cases only" not in reason) == policy(state, "preparing")


@pytest.mark.parametrize("state", STATES)
def test_the_dashboard_lists_blocked_cases_exactly_in_the_preparing_states(client, ops, state):
    case = case_in(state, ops)
    Person.objects.filter(case=case).update(visa_reference="")
    readiness.refresh_snapshot(case)
    client.force_login(ops)

    page = client.get("/").content.decode()

    listed = f'href="/cases/{case.case_number}/"' in page.split('id="h-blocked"')[1].split("</section>")[0]
    assert listed == (policy(state, "preparing") and policy(state, "readiness"))


def test_every_state_has_exactly_one_row_and_the_named_sets_come_from_it():
    assert set(STATE_POLICY) == set(CaseState)
    assert states_where("final") == ["arrived", "rejected", "withdrawn"]
    assert states_where("preparing") == ["approved", "ready", "booked"]
    # A booked family's data is fixed (the passenger list depends on it), but a renewed passport is recorded.
    assert not STATE_POLICY["booked"].details and STATE_POLICY["booked"].documents


def test_a_held_case_is_gated_by_the_step_of_the_state_it_was_held_from(ops):
    held = case_in("on_hold", ops)  # held from in_processing
    assert held.readiness_gate == "clear"
    ready = case_in("ready", ops)
    held_ready = transitions.hold(ready, by=ops, reason="Family event", category="family")
    assert held_ready.readiness_gate == "book"
