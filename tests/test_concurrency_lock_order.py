"""Races found by a concurrency audit, on PostgreSQL with real threads: locks taken in opposite orders (a medical hold
against the departure's services), a state read outside the lock (two active-TB results, one family enrolled in
two sessions) and people read before their cases were locked (two referral files). Each failed on the code before
the fix, most of them nearly every run: PostgreSQL ended one side with "deadlock detected" (a 500), or both sides
succeeded where one had to be refused."""

import pytest
from django.db import connection
from django.test import Client

from movements import transitions
from movements.models import Case, CaseTransition, MedicalExam, Person
from movements.once import new_token
from tests.conftest import make_departure, make_user, ready_case
from tests.test_concurrency import race
from tests.test_travel_boarding_concurrency import clock, escorts, gate, pax  # noqa: F401 (fixtures)
from travel import boarding, services
from travel.models import Booking

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: SQLite has no row locks to race "
                                                                 "on (set DATABASE_URL=postgres://…)"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles"),
]
EXPECTED = (services.TravelError, transitions.TransitionError)


def unexpected(errors):
    """Errors other than a clear refusal (a deadlock reaches the user as a 500)."""
    return [e for e in errors if e is not None and not isinstance(e, EXPECTED)]


def held(case):
    return Case.objects.get(pk=case.pk).state == "on_hold"


# --- a medical hold against the departure's own services (lock order: departure, then case) --------------------


def test_a_medical_hold_racing_a_booking_cancellation(ops, medic):
    departure = make_departure(ops)
    case = ready_case(ops, members=2)
    booking = services.book_case(departure, case, by=ops)

    results, errors = race(
        lambda: services.cancel_booking(booking, by=ops, reason="The family asked for a later flight"),
        lambda: transitions.hold(case, by=medic, reason="Fever", category="medical"),
    )

    assert not unexpected(errors), errors
    assert Booking.objects.get(pk=booking.pk).status == "cancelled"  # by one or the other, never left active


def test_a_medical_hold_at_the_gate_while_the_escort_leaves_the_family_behind(clock, ops, medic, escorts):
    eraj, farrukh = escorts
    departure, (family,) = gate(clock, ops, escorts, 2)
    boarding.mark(departure, pax(family, "Zahra"), "boarded", by=eraj)
    boarding.mark(departure, pax(family, "Ahmad"), "no_show", by=eraj)

    results, errors = race(
        lambda: boarding.keep_case_behind(departure, family, by=farrukh),
        lambda: transitions.hold(family, by=medic, reason="Fever at the gate", category="medical"),
    )

    assert not unexpected(errors), errors
    assert not Booking.objects.filter(case=family, status="active").exists()


def test_a_medical_hold_at_the_gate_while_an_escort_marks_a_member_boarded(clock, ops, medic, escorts):
    eraj, _ = escorts
    departure, (family,) = gate(clock, ops, escorts, 3)

    results, errors = race(
        lambda: boarding.mark(departure, pax(family, "Omid"), "boarded", by=eraj),
        lambda: transitions.hold(family, by=medic, reason="Fever at the gate", category="medical"),
    )

    assert not unexpected(errors), errors
    assert errors[1] is None and held(family)  # a hold is never refused for a mark


def test_operations_approve_a_split_while_medical_staff_hold_the_case(clock, ops, medic, escorts):
    eraj, _ = escorts
    departure, (family,) = gate(clock, ops, escorts, 3)
    boarding.mark(departure, pax(family, "Zahra"), "boarded", by=eraj)
    boarding.mark(departure, pax(family, "Ahmad"), "boarded", by=eraj)
    boarding.mark(departure, pax(family, "Omid"), "no_show", by=eraj)

    results, errors = race(
        lambda: boarding.request_split(departure, family, by=ops, reason="Omid stays with his grandmother"),
        lambda: transitions.hold(family, by=medic, reason="Fever at the gate", category="medical"),
    )

    assert not unexpected(errors), errors


def test_a_medical_hold_while_boarding_closes(clock, ops, medic, escorts):
    eraj, _ = escorts
    departure, (family, other) = gate(clock, ops, escorts, 2, 2)
    for case in (family, other):
        for person in case.members.all():
            boarding.mark(departure, pax(case, person.given_name), "boarded", by=eraj)

    results, errors = race(
        lambda: boarding.close_boarding(departure, by=eraj),
        lambda: transitions.hold(other, by=medic, reason="Fever at the gate", category="medical"),
    )

    assert not unexpected(errors), errors
    # Either boarding closed first (the case departed and cannot be held), or the hold came first (its seats were
    # released: boarding closes without it, or is refused while it is undecided).
    state = Case.objects.get(pk=other.pk).state
    assert (state, errors[1] is None) in {("departed", False), ("on_hold", True)}


# --- a state read before the lock -------------------------------------------------------------------------------


def test_two_medical_staff_record_active_tb_for_two_members_of_one_family_at_once(ops, medic):
    other_medic = make_user("mina", "medical")
    case = ready_case(ops, members=2)
    zahra, ahmad = case.members.order_by("id")
    exam = {"kind": "ime", "exam_date": "2026-01-05", "clinic": "IOM MHAC Dushanbe", "outcome": "M4",
            "tb_status": "active", "notes": ""}

    def record(user, person):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        return client.post(f"/medical/people/{person.pk}/exams/new/", {**exam, "submission": new_token()})

    results, errors = race(lambda: record(medic, zahra), lambda: record(other_medic, ahmad))

    assert errors == [None, None]
    assert [r.status_code for r in results] == [302, 302]
    assert MedicalExam.objects.filter(person__case=case, tb_status="active").count() == 2  # neither result lost
    assert held(case) and CaseTransition.objects.filter(case=case, transition="hold").count() == 1


def test_one_family_is_not_enrolled_in_two_sessions_at_once(ops):
    from orientation import services as coa
    from orientation.models import Enrolment
    from tests.test_orientation import approved_case, make_session

    first, second = make_session(state="planned"), make_session(state="planned")
    case = approved_case(ops, members=2)

    results, errors = race(lambda: coa.enrol_case(first, case, by=ops), lambda: coa.enrol_case(second, case, by=ops))

    sessions = set(Enrolment.objects.filter(person__case=case).values_list("session__code", flat=True))
    assert len(sessions) == 1
    refused = [e for e in errors if e is not None]
    assert len(refused) == 1 and "already enrolled in" in str(refused[0])


def test_two_referral_files_updating_one_person_at_once_leave_the_search_index_right():
    from movements.referral_import import run_import
    from movements.search import person_search_text
    from tests.test_referral_import import sample_rows, to_csv

    rows = sample_rows()[:1]
    assert run_import(to_csv(rows), "first.csv").applied
    first = rows[0]
    renamed = to_csv([dict(first, given_name=first["given_name"] + "x")])
    new_phone = to_csv([dict(first, phone="+992 93 555 0101")])

    results, errors = race(lambda: run_import(renamed, "a.csv"), lambda: run_import(new_phone, "b.csv"))

    assert errors == [None, None]
    person = Person.objects.get(progres_individual_id=first["progres_individual_id"])
    assert person.search_text == person_search_text(person.family_name, person.given_name, person.native_name)
