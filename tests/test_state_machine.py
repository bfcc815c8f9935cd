"""The case state machine (DESIGN.md, "Case states"): every transition through its service function."""

import datetime

import pytest
import time_machine
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.test import RequestFactory

from movements import readiness, transitions
from movements.admin import CaseAdmin
from movements.forms import CaseForm
from movements.models import Case, CaseTransition, TravelDocument
from movements.transitions import TransitionError
from tests.conftest import case_in, make_case, pass_pre_embarkation, visible_text

pytestmark = pytest.mark.django_db


ALL_STATES = [
    "referred", "in_processing", "approved", "ready", "booked", "departed", "arrived", "on_hold", "rejected",
    "withdrawn",
]
HOLDABLE = ["referred", "in_processing", "approved", "ready", "booked"]

# The transition table of DESIGN.md: name -> (source states, target state). `resume` returns to the held state.
TABLE = {
    "accept": (["referred"], "in_processing"),
    "approve": (["in_processing"], "approved"),
    "reject": (["in_processing"], "rejected"),
    "clear": (["approved"], "ready"),
    "book": (["ready"], "booked"),
    "unbook": (["booked"], "ready"),
    "depart": (["booked"], "departed"),
    "arrive": (["departed"], "arrived"),
    "hold": (HOLDABLE, "on_hold"),
    "resume": (["on_hold"], None),
    "withdraw": (HOLDABLE + ["on_hold"], "withdrawn"),
}
NEEDS_REASON = {"reject", "unbook", "hold", "withdraw"}

# `book`, `unbook`, `depart` and `arrive` belong to travel (`hooks.transition_owners`): performed anywhere else they
# are refused with `owned_elsewhere` (tests/test_travel_booking.py). These tests are about the case's transition
# table itself — sources, targets, the log, versions, the readiness gates — so they perform the owned transitions
# as travel does (`performer="travel"`), without a departure; travel's own tests book through its services.
OWNED = {"book", "unbook", "depart", "arrive"}
AS_TRAVEL = {"performer": "travel"}


def run(name, case, by, reason="a reason given by the test", **kwargs):
    service = getattr(transitions, name)
    if name in OWNED:
        kwargs.update(AS_TRAVEL)
    if name in NEEDS_REASON:
        kwargs["reason"] = reason
    if name == "hold":
        kwargs.setdefault("category", "other")
    if name == "depart" and case.state == "booked":
        pass_pre_embarkation(case)
    return service(case, by=by, **kwargs)


def log_of(case):
    return list(CaseTransition.objects.filter(case=case).order_by("id"))


ALLOWED = [(name, state) for name, (sources, _) in TABLE.items() for state in sources]
REFUSED = [(name, state) for name, (sources, _) in TABLE.items() for state in ALL_STATES if state not in sources]


# --- the table ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, state", ALLOWED)
def test_it_allows_each_transition_from_its_source_states(ops, name, state):
    case = case_in(state, ops)

    moved = run(name, case, ops)

    expected = TABLE[name][1] or case.held_from
    assert moved.state == expected
    assert Case.objects.get(pk=case.pk).state == expected


@pytest.mark.parametrize("name, state", REFUSED)
def test_it_refuses_each_transition_from_any_other_state(ops, name, state):
    case = case_in(state, ops)
    rows_before = CaseTransition.objects.count()

    with pytest.raises(TransitionError) as excinfo:
        run(name, case, ops)

    assert excinfo.value.code == "not_allowed"
    assert excinfo.value.message
    stored = Case.objects.get(pk=case.pk)
    assert stored.state == state
    assert stored.version == case.version
    assert CaseTransition.objects.count() == rows_before


def test_the_whole_life_of_a_case_from_referral_to_arrival(ops):
    case = make_case(3)

    for name in ["accept", "approve", "clear", "book", "depart", "arrive"]:
        case = run(name, case, ops)

    assert case.state == "arrived"
    assert case.is_final
    assert [(t.transition, t.from_state, t.to_state) for t in log_of(case)] == [
        ("create", "", "referred"),
        ("accept", "referred", "in_processing"),
        ("approve", "in_processing", "approved"),
        ("clear", "approved", "ready"),
        ("book", "ready", "booked"),
        ("depart", "booked", "departed"),
        ("arrive", "departed", "arrived"),
    ]


def test_it_refuses_a_name_that_is_not_a_transition(ops):
    case = make_case(1)

    with pytest.raises(TransitionError) as excinfo:
        transitions.perform(case, "teleport", by=ops)

    assert excinfo.value.code == "unknown_transition"


def test_approving_and_rejecting_record_the_decision_date(ops):
    with time_machine.travel(datetime.datetime(2026, 6, 10, 8, tzinfo=datetime.timezone.utc), tick=False):
        approved = run("approve", case_in("in_processing", ops), ops)
        rejected = run("reject", case_in("in_processing", ops), ops)

    assert approved.decision_date == datetime.date(2026, 6, 10)
    assert rejected.decision_date == datetime.date(2026, 6, 10)


# --- the log --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, state", ALLOWED)
def test_every_transition_writes_exactly_one_log_row(ops, name, state):
    case = case_in(state, ops)
    before = log_of(case)

    moved = run(name, case, ops, reason="Family asked for more time")

    after = log_of(case)
    assert len(after) == len(before) + 1
    row = after[-1]
    assert row.transition == name
    assert row.from_state == state
    assert row.to_state == moved.state
    assert row.user == ops
    assert row.actor == "Olga Ops"
    assert row.reason == ("Family asked for more time" if name in NEEDS_REASON else "")


@pytest.mark.parametrize("name, state", ALLOWED)
def test_every_transition_bumps_the_version_by_one(ops, name, state):
    case = case_in(state, ops)

    moved = run(name, case, ops)

    assert moved.version == case.version + 1
    assert Case.objects.get(pk=case.pk).version == case.version + 1


def test_a_system_process_is_logged_by_its_name(ops):
    case = make_case(1)

    transitions.accept(case, by=None, via="referral import")

    row = log_of(case)[-1]
    assert row.user is None
    assert row.actor == "referral import"


def test_an_optional_note_on_a_transition_is_kept_in_the_log(ops):
    case = make_case(1)

    transitions.perform(case, "accept", by=ops, reason="Referral checked against the RRF")

    assert log_of(case)[-1].reason == "Referral checked against the RRF"


def test_the_transitioned_signal_is_sent_once_after_commit(ops, django_capture_on_commit_callbacks):
    received = []

    def listener(sender, case, record, **kwargs):
        received.append((case.state, record.transition))

    transitions.case_transitioned.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            transitions.accept(make_case(1), by=ops)
            assert received == []  # not before commit
    finally:
        transitions.case_transitioned.disconnect(listener)

    assert received == [("in_processing", "accept")]


def test_a_refused_transition_sends_no_signal(ops, django_capture_on_commit_callbacks):
    received = []

    def listener(sender, case, record, **kwargs):
        received.append(record.transition)

    transitions.case_transitioned.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            with pytest.raises(TransitionError):
                transitions.approve(make_case(1), by=ops)
    finally:
        transitions.case_transitioned.disconnect(listener)

    assert received == []


# --- reasons --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name, state", [("reject", "in_processing"), ("unbook", "booked"), ("hold", "approved"),
                                         ("withdraw", "referred")])
@pytest.mark.parametrize("reason", ["", "   ", "\n\t"])
def test_it_refuses_closing_or_pausing_a_case_without_a_reason(ops, name, state, reason):
    case = case_in(state, ops)
    rows_before = CaseTransition.objects.count()

    with pytest.raises(TransitionError) as excinfo:
        run(name, case, ops, reason=reason)

    assert excinfo.value.code == "reason_required"
    assert Case.objects.get(pk=case.pk).state == state
    assert CaseTransition.objects.count() == rows_before


def test_the_form_dispatcher_also_requires_a_reason(ops):
    case = case_in("in_processing", ops)

    with pytest.raises(TransitionError) as excinfo:
        transitions.perform(case, "reject", by=ops, reason="")

    assert excinfo.value.code == "reason_required"


def test_a_reason_is_stored_without_surrounding_whitespace(ops):
    case = case_in("in_processing", ops)

    transitions.reject(case, by=ops, reason="  Refused by IRCC on admissibility  \n")

    assert log_of(case)[-1].reason == "Refused by IRCC on admissibility"


# --- hold and resume -----------------------------------------------------------------------------


@pytest.mark.parametrize("state", HOLDABLE)
def test_hold_remembers_the_state_and_resume_returns_there(ops, state):
    case = case_in(state, ops)

    held = transitions.hold(case, by=ops, reason="Security re-check under way", category="security")

    assert held.state == "on_hold"
    assert held.held_from == state
    assert held.hold_reason == "Security re-check under way"
    assert held.hold_category == "security"

    resumed = transitions.resume(held, by=ops)

    assert resumed.state == state
    stored = Case.objects.get(pk=case.pk)
    assert stored.state == state
    assert stored.held_from == ""
    assert stored.hold_reason == ""
    assert stored.hold_category == ""
    assert [(t.transition, t.from_state, t.to_state) for t in log_of(case)[-2:]] == [
        ("hold", state, "on_hold"),
        ("resume", "on_hold", state),
    ]


def test_a_case_on_hold_cannot_be_put_on_hold_again(ops):
    case = case_in("on_hold", ops)

    with pytest.raises(TransitionError) as excinfo:
        transitions.hold(case, by=ops, reason="again", category="other")

    assert excinfo.value.code == "not_allowed"
    assert Case.objects.get(pk=case.pk).held_from == "in_processing"


def test_withdrawing_a_held_case_forgets_where_it_was_held(ops):
    case = case_in("on_hold", ops)

    withdrawn = transitions.withdraw(case, by=ops, reason="The family withdrew")

    assert withdrawn.state == "withdrawn"
    assert Case.objects.get(pk=case.pk).held_from == ""


# --- nothing but the services changes a state ---------------------------------------------------


def test_the_state_cannot_be_assigned_directly(ops):
    case = make_case(1)

    with pytest.raises(AttributeError):
        case.state = "ready"

    assert Case.objects.get(pk=case.pk).state == "referred"


def test_the_case_form_has_no_state_field():
    assert "state" not in CaseForm.base_fields
    assert "state" not in CaseForm.Meta.fields


def test_the_case_form_ignores_a_posted_state(ops):
    case = make_case(1)
    data = {
        "progres_case_id": case.progres_case_id, "destination_country": "CAN", "priority": "normal",
        "referral_date": "2026-03-01", "version": case.version, "state": "ready",
    }

    form = CaseForm(data, instance=case)
    assert form.is_valid(), form.errors
    form.save()

    assert Case.objects.get(pk=case.pk).state == "referred"


def test_the_admin_form_has_no_editable_state(superuser):
    case = make_case(1)
    request = RequestFactory().get("/admin/")
    request.user = superuser
    model_admin = CaseAdmin(Case, admin.site)

    form_class = model_admin.get_form(request, case)

    assert "state" not in form_class.base_fields
    assert "state" in model_admin.get_readonly_fields(request, case)
    assert not model_admin.has_delete_permission(request, case)


# --- history is append-only, cases are never deleted --------------------------------------------


@pytest.fixture
def logged(ops):
    case = case_in("in_processing", ops)
    return case, log_of(case)[-1]


def test_a_log_row_cannot_be_deleted(logged):
    case, row = logged

    with pytest.raises(ValidationError):
        row.delete()

    assert CaseTransition.objects.filter(pk=row.pk).exists()


def test_log_rows_cannot_be_deleted_in_bulk(logged):
    case, row = logged

    with pytest.raises(ValidationError):
        CaseTransition.objects.filter(case=case).delete()
    with pytest.raises(ValidationError):
        CaseTransition.objects.all().delete()

    assert CaseTransition.objects.filter(case=case).count() == 2


def test_log_rows_cannot_be_changed_in_bulk(logged):
    case, row = logged

    with pytest.raises(ValidationError):
        CaseTransition.objects.filter(pk=row.pk).update(reason="rewritten")
    row.reason = "rewritten"
    with pytest.raises(ValidationError), transaction.atomic():
        CaseTransition.objects.bulk_update([row], ["reason"])

    assert CaseTransition.objects.get(pk=row.pk).reason == ""


def test_a_log_row_cannot_be_saved_again(logged):
    case, row = logged
    row.to_state = "arrived"
    row.reason = "rewritten"

    with pytest.raises(ValidationError):
        row.save()

    stored = CaseTransition.objects.get(pk=row.pk)
    assert (stored.to_state, stored.reason) == ("in_processing", "")


def test_a_case_cannot_be_deleted(ops):
    case = case_in("in_processing", ops)

    with pytest.raises(ValidationError):
        case.delete()

    assert Case.objects.filter(pk=case.pk).exists()


def test_a_case_cannot_be_deleted_in_bulk_because_its_history_protects_it(ops):
    case = case_in("in_processing", ops)

    with pytest.raises(ProtectedError):
        Case.objects.filter(pk=case.pk).delete()

    assert Case.objects.filter(pk=case.pk).exists()


# --- stale pages and permissions -----------------------------------------------------------------


def test_it_refuses_a_transition_made_from_a_stale_page(ops):
    case = make_case(1)
    seen_version = case.version
    transitions.hold(case, by=ops, reason="Waiting for a document", category="documents")
    rows_before = CaseTransition.objects.count()

    with pytest.raises(TransitionError) as excinfo:
        transitions.withdraw(case, by=ops, reason="Duplicate referral", expected_version=seen_version)

    assert excinfo.value.code == "conflict"
    assert "changed while you were looking" in excinfo.value.message
    stored = Case.objects.get(pk=case.pk)
    assert stored.state == "on_hold"
    assert stored.version == seen_version + 1
    assert CaseTransition.objects.count() == rows_before


def test_it_accepts_a_transition_made_from_the_current_page(ops):
    case = make_case(1)

    moved = transitions.accept(case, by=ops, expected_version=case.version)

    assert moved.state == "in_processing"


def test_a_stale_in_memory_case_is_moved_from_its_stored_state(ops):
    # The service locks and re-reads the row: an old Python object cannot replay a transition.
    case = make_case(1)
    old_copy = Case.objects.get(pk=case.pk)
    transitions.accept(case, by=ops)

    with pytest.raises(TransitionError) as excinfo:
        transitions.accept(old_copy, by=ops)

    assert excinfo.value.code == "not_allowed"


@pytest.mark.parametrize("persona", ["unhcr", "trainer", "escort"])
@pytest.mark.parametrize("name, state", [("accept", "referred"), ("approve", "in_processing"),
                                         ("hold", "approved"), ("resume", "on_hold"), ("withdraw", "referred")])
def test_roles_without_case_permissions_may_not_move_a_case(ops, personas, persona, name, state):
    case = case_in(state, ops)
    rows_before = CaseTransition.objects.count()

    with pytest.raises(TransitionError) as excinfo:
        run(name, case, personas[persona])

    assert excinfo.value.code == "forbidden"
    assert Case.objects.get(pk=case.pk).state == state
    assert CaseTransition.objects.count() == rows_before


@pytest.mark.parametrize("state", HOLDABLE)
def test_medical_staff_may_hold_and_resume_a_case(ops, medic, state):
    case = case_in(state, ops)

    held = transitions.hold(case, by=medic, reason="Active TB: sputum cultures pending", category="medical")
    resumed = transitions.resume(held, by=medic)

    assert resumed.state == state
    assert [row.user for row in log_of(case)[-2:]] == [medic, medic]


@pytest.mark.parametrize("name, state", [("accept", "referred"), ("approve", "in_processing"),
                                         ("reject", "in_processing"), ("clear", "approved"), ("book", "ready"),
                                         ("withdraw", "approved")])
def test_medical_staff_may_not_move_a_case_along(ops, medic, name, state):
    case = case_in(state, ops)

    with pytest.raises(TransitionError) as excinfo:
        run(name, case, medic)

    assert excinfo.value.code == "forbidden"
    assert Case.objects.get(pk=case.pk).state == state


def test_a_superuser_may_make_any_transition(superuser):
    case = make_case(1)

    assert transitions.accept(case, by=superuser).state == "in_processing"


def test_the_offered_transitions_follow_state_and_role(ops, medic, unhcr):
    case = case_in("approved", ops)

    assert [s.name for s in transitions.available_transitions(case, ops)] == ["clear", "hold", "withdraw"]
    assert [s.name for s in transitions.available_transitions(case, medic)] == ["hold"]
    assert transitions.available_transitions(case, unhcr) == []


# --- readiness gates clear, book and depart ------------------------------------------------------


def test_it_refuses_clearing_a_case_with_blockers_and_lists_them(ops):
    case = case_in("approved", ops, visas=False)
    rows_before = CaseTransition.objects.count()

    with pytest.raises(TransitionError) as excinfo:
        transitions.clear(case, by=ops)

    error = excinfo.value
    assert error.code == "blocked"
    assert "2 readiness blockers" in error.message
    assert [b.code for b in error.blockers] == ["visa_missing", "visa_missing"]
    assert {b.message for b in error.blockers} == {
        "Karimi, Zahra — no visa / COPR reference recorded",
        "Karimi, Ahmad — no visa / COPR reference recorded",
    }
    assert Case.objects.get(pk=case.pk).state == "approved"
    assert CaseTransition.objects.count() == rows_before


def test_a_refused_clear_stores_its_blockers_in_the_case_snapshot(ops):
    case = case_in("approved", ops)
    zahra = case.members.get(given_name="Zahra")
    TravelDocument.objects.filter(person=zahra).delete()

    with pytest.raises(TransitionError):
        transitions.clear(case, by=ops)

    stored = Case.objects.get(pk=case.pk)
    assert stored.blocker_count == 1
    assert stored.blockers[0]["code"] == "document_missing"
    assert stored.blockers[0]["person_id"] == zahra.pk


def test_a_case_without_members_cannot_be_cleared(ops):
    case = case_in("approved", ops, members=0)

    with pytest.raises(TransitionError) as excinfo:
        transitions.clear(case, by=ops)

    assert excinfo.value.code == "blocked"
    assert [b.code for b in excinfo.value.blockers] == ["no_members"]


def test_a_transition_clears_the_snapshot_once_the_blockers_are_gone(ops):
    case = case_in("approved", ops)

    cleared = transitions.clear(case, by=ops)

    stored = Case.objects.get(pk=cleared.pk)
    assert stored.blocker_count == 0
    assert stored.blockers == []
    assert stored.readiness_checked_at is not None


BEFORE_EXPIRY = datetime.datetime(2026, 11, 1, 9, tzinfo=datetime.timezone.utc)
AFTER_EXPIRY = datetime.datetime(2026, 12, 2, 12, tzinfo=datetime.timezone.utc)


def test_it_refuses_booking_when_the_passport_has_expired_since_the_case_was_cleared(ops, client):
    with time_machine.travel(BEFORE_EXPIRY, tick=False):
        case = case_in("ready", ops, expiry=datetime.date(2026, 12, 1))

    with time_machine.travel(AFTER_EXPIRY, tick=False):
        assert [b.code for b in readiness.blockers_for(case)] == ["document_expired", "document_expired"]
        client.force_login(ops)
        page = client.get(f"/cases/{case.case_number}/").content.decode()
        assert 'data-code="document_expired"' in page
        assert ("Travel document expires before travel (2): Karimi: Zahra, Ahmad — passport valid until 2026-12-01, "
                "before today (2026-12-02") in visible_text(client.get(f"/cases/{case.case_number}/"))

        with pytest.raises(TransitionError) as excinfo:
            transitions.book(case, by=ops, **AS_TRAVEL)

    assert excinfo.value.code == "blocked"
    assert {b.code for b in excinfo.value.blockers} == {"document_expired"}
    assert Case.objects.get(pk=case.pk).state == "ready"


def test_it_refuses_booking_when_the_passport_expires_before_the_planned_travel_date(ops):
    with time_machine.travel(BEFORE_EXPIRY, tick=False):
        case = case_in("ready", ops, expiry=datetime.date(2027, 1, 9))
        Case.objects.filter(pk=case.pk).update(planned_travel_date=datetime.date(2027, 1, 10))

        with pytest.raises(TransitionError) as excinfo:
            transitions.book(case, by=ops, **AS_TRAVEL)

    assert excinfo.value.code == "blocked"
    assert "before travel on 2027-01-10" in excinfo.value.blockers[0].message


def test_it_refuses_departure_when_the_passport_has_expired_since_booking(ops):
    with time_machine.travel(BEFORE_EXPIRY, tick=False):
        case = case_in("booked", ops, expiry=datetime.date(2026, 12, 1))

    with time_machine.travel(AFTER_EXPIRY, tick=False):
        with pytest.raises(TransitionError) as excinfo:
            transitions.depart(case, by=ops, **AS_TRAVEL)

        assert excinfo.value.code == "blocked"
        assert Case.objects.get(pk=case.pk).state == "booked"
        # The booking can still be cancelled or the case paused while the passport is renewed.
        unbooked = transitions.unbook(case, by=ops, reason="Passport renewal", **AS_TRAVEL)
        assert unbooked.state == "ready"


def test_a_renewed_passport_lets_the_case_be_booked_again(ops):
    with time_machine.travel(BEFORE_EXPIRY, tick=False):
        case = case_in("ready", ops, expiry=datetime.date(2026, 12, 1))

    with time_machine.travel(AFTER_EXPIRY, tick=False):
        for person in case.members.all():
            TravelDocument.objects.create(
                person=person, document_type="passport", number=f"R{person.pk:07d}", issuing_country="AFG",
                expiry_date=datetime.date(2036, 12, 1),
            )
        booked = transitions.book(case, by=ops, **AS_TRAVEL)

    assert booked.state == "booked"


def test_arrival_is_not_gated_by_readiness(ops):
    with time_machine.travel(BEFORE_EXPIRY, tick=False):
        case = case_in("departed", ops, expiry=datetime.date(2026, 12, 1))

    with time_machine.travel(AFTER_EXPIRY, tick=False):
        arrived = transitions.arrive(case, by=ops, **AS_TRAVEL)

    assert arrived.state == "arrived"


def test_booking_computes_readiness_once(ops):
    from movements import hooks

    case = case_in("ready", ops)
    calls = []
    with hooks.isolated():
        readiness.register(code="spy", label="counts how often readiness is computed")(
            lambda ctx: calls.append(ctx.case.pk) or [])

        transitions.perform(case, "book", by=ops, performer="travel")

    assert calls == [case.pk]  # the refusal check, the fsm condition and the stored snapshot share one computation
