"""Two people acting on the same case at the same moment: real threads, real row locks (PostgreSQL only).

SQLite has no row locks (it serialises whole-database writes), so what these tests prove only holds,
and can only be shown, on PostgreSQL.
"""

import threading
import time

import pytest
from django.db import connection

from movements import transitions
from movements.models import Case, CaseNumberCounter, CaseTransition
from movements.transitions import TransitionError
from tests.conftest import make_case

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite has no row locks to race on (set DATABASE_URL=postgres://…)",
    ),
    # Threads use their own connections, so the data must really be committed.
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("roles"),
]

THREADS = 2


def race(*calls):
    """Run each call in its own thread, released together by a barrier; return (results, errors) in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as e:  # noqa: BLE001 — reported to the test, which asserts on it
            errors[index] = e
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a thread is still waiting: deadlock?"
    return results, errors


def approved_case(by):
    case = make_case(2)
    transitions.accept(case, by=by)
    return transitions.approve(case, by=by)


def test_two_people_clearing_the_same_case_at_once_clear_it_once(ops):
    case = approved_case(ops)
    version = Case.objects.get(pk=case.pk).version
    rows_before = CaseTransition.objects.filter(case=case).count()

    results, errors = race(
        *[lambda: transitions.clear(case, by=ops, expected_version=version) for _ in range(THREADS)]
    )

    winners = [r for r in results if r is not None]
    losers = [e for e in errors if e is not None]
    assert len(winners) == 1, errors
    assert len(losers) == 1
    assert isinstance(losers[0], TransitionError)
    assert losers[0].code == "conflict"
    stored = Case.objects.get(pk=case.pk)
    assert stored.state == "ready"
    assert stored.version == version + 1
    assert CaseTransition.objects.filter(case=case).count() == rows_before + 1
    assert CaseTransition.objects.filter(case=case, transition="clear").count() == 1


def test_a_hold_and_a_clear_racing_on_the_same_case_let_exactly_one_through(ops, medic):
    case = approved_case(ops)
    version = Case.objects.get(pk=case.pk).version
    rows_before = CaseTransition.objects.filter(case=case).count()

    results, errors = race(
        lambda: transitions.hold(case, by=medic, reason="Active TB", category="medical", expected_version=version),
        lambda: transitions.clear(case, by=ops, expected_version=version),
    )

    assert sum(r is not None for r in results) == 1, errors
    (loser,) = [e for e in errors if e is not None]
    assert isinstance(loser, TransitionError)
    assert loser.code == "conflict"
    stored = Case.objects.get(pk=case.pk)
    winner = "hold" if results[0] is not None else "clear"
    assert stored.state == {"hold": "on_hold", "clear": "ready"}[winner]
    assert stored.version == version + 1
    new_rows = list(CaseTransition.objects.filter(case=case).order_by("id"))[rows_before:]
    assert [row.transition for row in new_rows] == [winner]


def test_without_a_version_the_second_of_two_racing_transitions_sees_the_first_ones_result(ops):
    # Scripts pass no expected_version: the row lock still makes the loser re-read the state.
    case = approved_case(ops)
    version = Case.objects.get(pk=case.pk).version

    results, errors = race(*[lambda: transitions.clear(case, by=ops) for _ in range(THREADS)])

    assert sum(r is not None for r in results) == 1, errors
    (loser,) = [e for e in errors if e is not None]
    assert isinstance(loser, TransitionError)
    assert loser.code == "not_allowed"
    assert Case.objects.get(pk=case.pk).version == version + 1
    assert CaseTransition.objects.filter(case=case, transition="clear").count() == 1


def test_case_numbers_handed_out_concurrently_are_unique_and_gapless():
    calls = 8
    per_thread = 5

    def take_numbers():
        return [CaseNumberCounter.next_number("RACE", 2026) for _ in range(per_thread)]

    results, errors = race(*[take_numbers for _ in range(calls)])

    assert errors == [None] * calls
    numbers = [n for batch in results for n in batch]
    assert len(numbers) == len(set(numbers)) == calls * per_thread
    assert sorted(numbers) == [f"RACE-2026-{i:05d}" for i in range(1, calls * per_thread + 1)]
    assert CaseNumberCounter.objects.get(prefix="RACE", year=2026).last_value == calls * per_thread


def test_cases_created_concurrently_get_distinct_case_numbers():
    # Case.objects.create, as the new-case page's form.save() does. (Not make_case: it calls
    # refresh_from_db, and django-fsm's FSMModelMixin.refresh_from_db flips the field's shared
    # `protected` flag, so two threads refreshing at once can raise AttributeError.)
    calls = 6

    def create(n):
        return lambda: Case.objects.create(progres_case_id=f"999-26C{n:05d}", referral_date="2026-03-01")

    results, errors = race(*[create(n) for n in range(calls)])

    assert errors == [None] * calls
    numbers = [case.case_number for case in results]
    assert len(set(numbers)) == calls
    assert set(Case.objects.values_list("case_number", flat=True)) == set(numbers)


def test_an_import_that_renames_a_member_waits_for_a_booking_in_progress_and_then_refuses(ops):
    """The race a tester reproduced: an import planned against a `ready` case while an officer booked it. The
    import now locks the cases it touches before reading their states, so it sees the booking and changes nothing."""
    import csv
    import io
    import time

    from django.db import transaction

    from movements.referral_import import COLUMNS, run_import
    from movements.models import Person

    case = make_case(1)
    for name in ("accept", "approve", "clear"):
        case = transitions.perform(case, name, by=ops)
    person = case.members.get()
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerow({
        "progres_case_id": case.progres_case_id, "progres_individual_id": person.progres_individual_id,
        "relationship": "PA", "family_name": "Karimi", "given_name": "Zahraa", "native_name": person.native_name,
        "sex": person.sex, "date_of_birth": person.date_of_birth.isoformat(), "nationality": "AFG", "phone": "",
        "destination_country": "CAN", "priority": case.priority, "submission_category": "",
        "referral_date": case.referral_date.isoformat(), "special_needs": "",
    })
    data = buffer.getvalue().encode()
    booking_holds_the_lock = threading.Event()
    outcome = {}

    def officer_books():
        try:
            with transaction.atomic():
                # The booking service locks the case, then does its work (a departure's checks take a moment).
                Case.objects.select_for_update(no_key=True).get(pk=case.pk)
                booking_holds_the_lock.set()
                time.sleep(1.0)
                transitions.perform(case, "book", by=ops, performer="travel")
        finally:
            connection.close()

    def import_runs():
        try:
            booking_holds_the_lock.wait(timeout=10)
            outcome["report"] = run_import(data, "again.csv")
        finally:
            connection.close()

    threads = [threading.Thread(target=officer_books), threading.Thread(target=import_runs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    report = outcome["report"]
    assert not report.applied
    assert "is booked" in report.errors[0].message
    assert Person.objects.get(pk=person.pk).given_name == person.given_name == "Zahra"
    assert Case.objects.get(pk=case.pk).state == "booked"


def test_a_form_sent_twice_at_the_same_moment_is_saved_once(medic, monkeypatch):
    """A double click whose two requests reach two workers together: the second waits on the first's claim
    (movements.once, a unique index) and is sent to the record the first made."""
    from django.test import Client

    from movements import medical
    from movements.models import MedicalExam
    from movements.once import new_token

    person = make_case(1, ime=False).members.get()
    recording = medical.record_exam

    def slow(*args, **kwargs):  # the first request is still saving when the second arrives
        result = recording(*args, **kwargs)
        time.sleep(0.3)
        return result

    monkeypatch.setattr(medical, "record_exam", slow)
    url = f"/medical/people/{person.pk}/exams/new/"
    body = {"submission": new_token(), "kind": "ime", "exam_date": "2026-11-20", "clinic": "IOM MHAC Dushanbe",
            "outcome": "M1", "tb_status": "none"}

    def send():
        client = Client()
        client.force_login(medic)
        return client.post(url, body)

    results, errors = race(send, send)

    assert errors == [None, None]
    assert [r.status_code for r in results] == [302, 302]
    assert {r.url for r in results} == {f"/medical/people/{person.pk}/"}
    assert MedicalExam.objects.filter(person=person).count() == 1
