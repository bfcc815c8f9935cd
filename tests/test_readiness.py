"""Readiness (clearance): the registry of requirements, the blockers they find, and the snapshot on each case."""

import datetime
import io

import pytest
import time_machine
from django.core.management import call_command

from movements import hooks, readiness, transitions
from movements.models import Case, Person, TravelDocument
from tests.conftest import make_case

pytestmark = pytest.mark.django_db

# Every test runs on a known day: documents, IMEs and "today" are all dates.
TODAY = datetime.datetime(2026, 11, 1, 9, tzinfo=datetime.timezone.utc)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(TODAY, tick=False):
        yield



def codes(blockers):
    return [b.code for b in blockers]


def messages(blockers):
    return [b.message for b in blockers]


def member(case, given_name):
    return case.members.get(given_name=given_name)


def add_passport(person, expiry, number=None, document_type="passport"):
    return TravelDocument.objects.create(
        person=person, document_type=document_type, number=number or f"N{person.pk:05d}{expiry:%y%m%d}",
        issuing_country="AFG", expiry_date=expiry,
    )


# --- this app's requirements ---------------------------------------------------------------------


def test_a_case_with_documents_and_visas_for_everyone_has_no_blockers():
    case = make_case(3)

    assert readiness.blockers_for(case) == []


def test_it_blocks_a_member_without_a_travel_document():
    case = make_case(2)
    TravelDocument.objects.filter(person=member(case, "Ahmad")).delete()

    blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["document_missing"]
    assert blockers[0].message == "Karimi, Ahmad — no travel document recorded"
    assert blockers[0].person_id == member(case, "Ahmad").pk


def test_it_blocks_every_member_without_a_travel_document():
    case = make_case(2, documents=False)

    blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["document_missing", "document_missing"]
    assert messages(blockers) == [
        "Karimi, Zahra — no travel document recorded",
        "Karimi, Ahmad — no travel document recorded",
    ]


def test_it_blocks_a_document_that_expires_before_the_planned_travel_date():
    case = make_case(2, expiry=datetime.date(2027, 3, 1), planned_travel_date=datetime.date(2027, 1, 10))
    TravelDocument.objects.filter(person=member(case, "Zahra")).update(expiry_date=datetime.date(2027, 1, 9))

    blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["document_expired"]
    assert blockers[0].message == "Karimi, Zahra — passport valid until 2027-01-09, before travel on 2027-01-10"
    assert blockers[0].person_id == member(case, "Zahra").pk


def test_a_document_expiring_on_the_travel_date_is_still_valid():
    case = make_case(2, expiry=datetime.date(2027, 1, 10), planned_travel_date=datetime.date(2027, 1, 10))

    assert readiness.blockers_for(case) == []


def test_a_document_expiring_before_today_blocks_a_case_with_no_travel_date():
    case = make_case(1, expiry=datetime.date(2026, 10, 31))

    blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["document_expired"]
    assert blockers[0].message == (
        "Karimi, Zahra — passport valid until 2026-10-31, before today (2026-11-01; no travel date planned)"
    )


def test_a_document_expiring_today_is_valid_for_a_case_with_no_travel_date():
    case = make_case(1, expiry=datetime.date(2026, 11, 1))

    assert readiness.blockers_for(case) == []


def test_a_document_becomes_a_blocker_the_day_after_it_expires():
    case = make_case(1, expiry=datetime.date(2026, 12, 1))
    assert readiness.blockers_for(case) == []

    with time_machine.travel(datetime.datetime(2026, 12, 2, 12, tzinfo=datetime.timezone.utc), tick=False):
        blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["document_expired"]
    assert "before today (2026-12-02; no travel date planned)" in blockers[0].message


def test_today_is_the_local_date_of_the_mission():
    # 2026-11-01 21:30 UTC is already 2026-11-02 in Dushanbe (UTC+5).
    case = make_case(1, expiry=datetime.date(2026, 11, 1))

    with time_machine.travel(datetime.datetime(2026, 11, 1, 21, 30, tzinfo=datetime.timezone.utc), tick=False):
        blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["document_expired"]


def test_one_valid_document_is_enough_when_an_older_one_has_expired():
    case = make_case(1, expiry=datetime.date(2026, 1, 1))
    add_passport(member(case, "Zahra"), datetime.date(2031, 1, 1), document_type="icrc")

    assert readiness.blockers_for(case) == []


def test_the_expired_blocker_names_the_latest_document():
    case = make_case(1, expiry=datetime.date(2025, 6, 30))
    add_passport(member(case, "Zahra"), datetime.date(2026, 8, 31), document_type="icrc")

    blockers = readiness.blockers_for(case)

    assert messages(blockers) == [
        "Karimi, Zahra — ICRC travel document valid until 2026-08-31, before today (2026-11-01; no travel date planned)"
    ]


def test_it_blocks_a_member_without_a_visa_or_copr_reference():
    case = make_case(2)
    Person.objects.filter(pk=member(case, "Ahmad").pk).update(visa_reference="")

    blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["visa_missing"]
    assert blockers[0].message == "Karimi, Ahmad — no visa / COPR reference recorded"


def test_a_blank_visa_reference_counts_as_missing():
    case = make_case(1)
    Person.objects.filter(case=case).update(visa_reference="   ")

    assert codes(readiness.blockers_for(case)) == ["visa_missing"]


def test_a_case_without_members_is_blocked():
    case = make_case(0)

    blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["no_members"]
    assert blockers[0].person_id is None


def test_blockers_come_in_requirement_order_and_name_each_person():
    case = make_case(2, documents=False, visas=False)

    blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["document_missing", "document_missing", "visa_missing", "visa_missing"]
    assert all(m.startswith(("Karimi, Zahra — ", "Karimi, Ahmad — ")) for m in messages(blockers))


def test_a_blocker_reads_as_code_and_message():
    blocker = readiness.Blocker("visa_missing", "Karimi, Zahra — no visa / COPR reference recorded", 7)

    assert str(blocker) == "visa_missing: Karimi, Zahra — no visa / COPR reference recorded"
    assert blocker.as_dict() == {
        "code": "visa_missing", "message": "Karimi, Zahra — no visa / COPR reference recorded", "person_id": 7,
        "confidential": False, "person_name": "", "gates": ["book", "clear", "depart"],
    }


# --- the registry is open to other apps ----------------------------------------------------------


@pytest.fixture
def registry_guard():
    """Put the hooks back as they were, whatever a test registers."""
    with hooks.isolated():
        yield


def test_a_requirement_registered_by_another_app_adds_its_blockers(registry_guard):
    @readiness.register(code="orientation_test", label="Every adult completed orientation", order=40)
    def orientation_completed(ctx):
        for person in ctx.travelling_members:
            if person.age_on(ctx.travel_date) >= 13:
                yield readiness.Blocker(
                    "orientation_missing", f"{person.full_name} — orientation not completed", person.pk
                )

    case = make_case(2)

    blockers = readiness.blockers_for(case)

    assert codes(blockers) == ["orientation_missing", "orientation_missing"]
    assert messages(blockers)[0] == "Karimi, Zahra — orientation not completed"
    assert "orientation_test" in [r.code for r in readiness.requirements()]


def test_an_added_requirement_gates_clearing_the_case(registry_guard, ops):
    readiness.register(code="loan_signed", label="Transportation loan signed", order=50)(
        lambda ctx: [readiness.Blocker("loan_unsigned", "Karimi, Zahra — loan not signed")]
    )
    case = make_case(1)
    transitions.accept(case, by=ops)
    transitions.approve(case, by=ops)

    with pytest.raises(transitions.TransitionError) as excinfo:
        transitions.clear(case, by=ops)

    assert excinfo.value.code == "blocked"
    assert codes(excinfo.value.blockers) == ["loan_unsigned"]


def test_requirements_run_in_their_declared_order(registry_guard):
    readiness.register(code="zz_first", label="first", order=1)(lambda ctx: [readiness.Blocker("first", "first")])
    readiness.register(code="aa_last", label="last", order=999)(lambda ctx: [readiness.Blocker("last", "last")])
    case = make_case(1, visas=False)

    assert codes(readiness.blockers_for(case)) == ["first", "visa_missing", "last"]


def test_registering_the_same_code_again_replaces_the_requirement(registry_guard):
    readiness.register(code="extra", label="v1")(lambda ctx: [readiness.Blocker("v1", "one")])
    readiness.register(code="extra", label="v2")(lambda ctx: [readiness.Blocker("v2", "two")])
    case = make_case(1)

    assert codes(readiness.blockers_for(case)) == ["v2"]
    assert [r.label for r in readiness.requirements() if r.code == "extra"] == ["v2"]


def test_the_registry_is_restored_after_a_block_that_registers():
    with hooks.isolated():
        readiness.register(code="temporary", label="t")(lambda ctx: [])
        assert "temporary" in [r.code for r in readiness.requirements()]

    codes_after = [r.code for r in readiness.requirements()]
    assert "temporary" not in codes_after
    assert {"travel_document", "visa"} <= set(codes_after)


def test_requirements_see_the_travel_date_and_whether_it_was_planned(registry_guard):
    seen = []
    readiness.register(code="spy", label="spy")(lambda ctx: seen.append((ctx.travel_date, ctx.travel_date_is_planned)) or [])

    readiness.blockers_for(make_case(1))
    readiness.blockers_for(make_case(1, planned_travel_date=datetime.date(2027, 2, 3)))

    assert seen == [(datetime.date(2026, 11, 1), False), (datetime.date(2027, 2, 3), True)]


# --- the snapshot on the case --------------------------------------------------------------------


def accepted_case(ops, members=2, **kwargs):
    case = make_case(members, **kwargs)
    return transitions.accept(case, by=ops)


def stored(case):
    return Case.objects.get(pk=case.pk)


def test_accepting_a_case_takes_its_first_snapshot(ops):
    case = accepted_case(ops, documents=False)

    snapshot = stored(case)
    assert snapshot.blocker_count == 2
    assert [b["code"] for b in snapshot.blockers] == ["document_missing", "document_missing"]
    assert snapshot.blockers[0]["message"] == "Karimi, Zahra — no travel document recorded"
    assert snapshot.readiness_checked_at is not None


def test_a_referred_case_has_an_empty_snapshot_because_readiness_starts_on_acceptance():
    case = make_case(2, documents=False)

    readiness.refresh_snapshot(case)

    assert stored(case).blocker_count == 0
    assert stored(case).blockers == []


def test_adding_a_document_refreshes_the_snapshot_on_commit(ops, django_capture_on_commit_callbacks):
    case = accepted_case(ops, documents=False)

    with django_capture_on_commit_callbacks(execute=True):
        add_passport(member(case, "Zahra"), datetime.date(2031, 5, 1))

    snapshot = stored(case)
    assert snapshot.blocker_count == 1
    assert snapshot.blockers[0]["message"] == "Karimi, Ahmad — no travel document recorded"


def test_the_snapshot_waits_for_the_commit(ops, django_capture_on_commit_callbacks):
    case = accepted_case(ops, documents=False)

    with django_capture_on_commit_callbacks() as callbacks:
        add_passport(member(case, "Zahra"), datetime.date(2031, 5, 1))

    assert stored(case).blocker_count == 2  # not yet: the transaction has not committed
    for callback in callbacks:
        callback()
    assert stored(case).blocker_count == 1


def test_changing_a_person_refreshes_the_snapshot(ops, django_capture_on_commit_callbacks):
    case = accepted_case(ops)
    assert stored(case).blocker_count == 0
    ahmad = member(case, "Ahmad")

    with django_capture_on_commit_callbacks(execute=True):
        ahmad.visa_reference = ""
        ahmad.save()

    snapshot = stored(case)
    assert snapshot.blocker_count == 1
    assert snapshot.blockers[0] == {
        "code": "visa_missing", "message": "Karimi, Ahmad — no visa / COPR reference recorded", "person_id": ahmad.pk,
        "confidential": False, "person_name": "", "gates": ["book", "clear", "depart"],
    }


def test_deleting_a_document_refreshes_the_snapshot(ops, django_capture_on_commit_callbacks):
    case = accepted_case(ops)

    with django_capture_on_commit_callbacks(execute=True):
        for document in TravelDocument.objects.filter(person=member(case, "Zahra")):
            document.delete()

    assert [b["code"] for b in stored(case).blockers] == ["document_missing"]


def test_moving_the_travel_date_refreshes_the_snapshot(ops, django_capture_on_commit_callbacks):
    case = accepted_case(ops, expiry=datetime.date(2027, 1, 9))
    case = stored(case)

    with django_capture_on_commit_callbacks(execute=True):
        case.planned_travel_date = datetime.date(2027, 1, 10)
        case.save()

    snapshot = stored(case)
    assert [b["code"] for b in snapshot.blockers] == ["document_expired", "document_expired"]


def test_refreshing_the_snapshot_does_not_change_the_version_users_edit_against(ops):
    case = accepted_case(ops, documents=False)
    version = stored(case).version
    add_passport(member(case, "Zahra"), datetime.date(2031, 5, 1))

    readiness.refresh_snapshot(stored(case))

    assert stored(case).blocker_count == 1
    assert stored(case).version == version


@pytest.mark.django_db
def test_the_nightly_refresh_finds_a_passport_that_expired_overnight(ops):
    with time_machine.travel(datetime.datetime(2026, 11, 30, 12, tzinfo=datetime.timezone.utc), tick=False):
        case = transitions.accept(make_case(1, expiry=datetime.date(2026, 11, 30)), by=ops)
        case.refresh_from_db()
        assert case.blocker_count == 0
    with time_machine.travel(datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.timezone.utc), tick=False):
        out = io.StringIO()
        call_command("refresh_readiness", stdout=out)
    case.refresh_from_db()
    assert [b["code"] for b in case.blockers] == ["document_expired"]
    assert "Checked 1 open case(s); 1 had their blockers change." in out.getvalue()


@pytest.mark.django_db
def test_a_planned_travel_date_that_has_passed_does_not_hide_an_expired_passport(ops):
    with time_machine.travel(datetime.datetime(2026, 11, 20, 12, tzinfo=datetime.timezone.utc), tick=False):
        case = make_case(1, expiry=datetime.date(2026, 11, 19), planned_travel_date=datetime.date(2026, 11, 10))
        assert [b.code for b in readiness.blockers_for(case)] == ["document_expired"]
        assert "before today (2026-11-20" in readiness.blockers_for(case)[0].message


@pytest.mark.django_db
def test_old_snapshots_of_medical_blockers_are_redacted_by_their_code(unhcr, client):
    from movements.access import access_for

    stored = [{"code": "pregnancy_too_late", "message": "Karimi, Zahra — 37 weeks pregnant", "person_id": 1}]
    shown = readiness.redacted(stored, access_for(unhcr))
    assert shown[0]["code"] == "medical_clearance"
    assert "pregnant" not in shown[0]["message"]


def test_snapshots_stored_before_counted_what_was_due_before_boarding_are_recounted():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("movements.migrations.0024_blocker_count_without_due_before_boarding")
    due = {"code": "fit_to_travel_missing", "message": "Karimi, Zahra — no check", "gates": ["depart"]}
    visa = {"code": "visa_missing", "message": "Karimi, Zahra — no visa", "gates": ["book", "clear", "depart"]}
    old = {"code": "visa_missing", "message": "Karimi, Ahmad — no visa"}  # stored before blockers had gates
    only_due, both, before_gates = make_case(1), make_case(1), make_case(1)
    Case.objects.filter(pk=only_due.pk).update(blockers=[due, due], blocker_count=2)
    Case.objects.filter(pk=both.pk).update(blockers=[visa, due], blocker_count=2)
    Case.objects.filter(pk=before_gates.pk).update(blockers=[old], blocker_count=1)

    migration.recount(apps, None)

    counts = dict(Case.objects.values_list("pk", "blocker_count"))
    assert (counts[only_due.pk], counts[both.pk], counts[before_gates.pk]) == (0, 1, 1)
    assert Case.objects.get(pk=both.pk).blockers == [visa, due]  # what is stored stays
    migration.count_all(apps, None)  # migrating back: every stored blocker counts again
    counts = dict(Case.objects.values_list("pk", "blocker_count"))
    assert (counts[only_due.pk], counts[both.pk], counts[before_gates.pk]) == (2, 2, 1)
