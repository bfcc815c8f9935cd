"""Retention: closed cases lose names, phones, document and visa numbers, MRZ lines, medical details, notes and
free-text reasons once their period has passed (the day before they are kept, on the day they go); statistics,
states, dates and destinations survive; the access log and log-in records go after their own periods."""

import datetime
import io
from collections import Counter

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.forms.models import model_to_dict
from django.utils import timezone

from movements import case_edits, history, transitions
from movements.models import (
    Case, CaseChange, CaseTransition, MedicalExam, Person, ReferralUpload, TravelDocument, TravelMedicalNeeds,
)
from orientation.models import AttendanceChange, Declined
from orientation.services import record_declined, withdraw_declined
from privacy import retention
from privacy.models import AccessLogEntry, AnonymisedCase, RetentionRun
from tests.conftest import case_in, make_case

pytestmark = pytest.mark.django_db

TZ = timezone.get_fixed_timezone(5 * 60)  # Asia/Dushanbe, UTC+5 all year


def at(day, hour=12):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=TZ)


CLOSED = datetime.date(2027, 3, 10)


def close(state, ops, members=2, when=CLOSED, **fields):
    with time_machine.travel(at(when, 10), tick=False):
        return case_in(state, ops, members=members, **fields)


def due_on(day):
    with time_machine.travel(at(day), tick=False):
        plan = retention.preview()
    return plan


@pytest.mark.parametrize("state,days", [("withdrawn", 365), ("rejected", 365), ("arrived", 730)])
def test_a_closed_case_is_kept_the_day_before_its_period_ends_and_due_on_the_day(ops, state, days):
    case = close(state, ops)
    assert case.case_number not in due_on(CLOSED + datetime.timedelta(days=days - 1)).cases
    assert case.case_number in due_on(CLOSED + datetime.timedelta(days=days)).cases


def test_a_case_closed_late_in_the_evening_counts_from_that_local_day(ops):
    # 23:30 in Dushanbe is 18:30 UTC the same day: the period counts from the mission's date.
    with time_machine.travel(datetime.datetime.combine(CLOSED, datetime.time(23, 30), tzinfo=TZ), tick=False):
        case = case_in("withdrawn", ops)
    assert case.case_number not in due_on(CLOSED + datetime.timedelta(days=364)).cases
    with time_machine.travel(datetime.datetime.combine(CLOSED + datetime.timedelta(days=365), datetime.time(0, 5),
                                                       tzinfo=TZ), tick=False):
        assert case.case_number in retention.preview().cases


def test_open_cases_are_never_due(ops):
    cases = [close(state, ops) for state in ("referred", "approved", "on_hold", "booked")]
    plan = due_on(CLOSED + datetime.timedelta(days=3000))
    assert not set(c.case_number for c in cases) & set(plan.cases + plan.medical_cases)


def test_medical_details_follow_the_stricter_period(ops, settings):
    case = close("arrived", ops)
    one_year = due_on(CLOSED + datetime.timedelta(days=365))
    assert case.case_number in one_year.medical_cases
    assert case.case_number not in one_year.cases
    settings.SAFAR_MEDICAL_RETENTION_DAYS = 1000  # longer than the case's own: the case's period wins
    assert case.case_number not in due_on(CLOSED + datetime.timedelta(days=729)).medical_cases
    assert case.case_number in due_on(CLOSED + datetime.timedelta(days=730)).medical_cases


def test_periods_are_settings(ops, settings):
    settings.SAFAR_RETENTION_DAYS = {"arrived": 730, "rejected": 365, "withdrawn": 30}
    case = close("withdrawn", ops)
    assert case.case_number not in due_on(CLOSED + datetime.timedelta(days=29)).cases
    assert case.case_number in due_on(CLOSED + datetime.timedelta(days=30)).cases


def test_the_setting_is_parsed_strictly(monkeypatch):
    from config.env import env_days_by_key

    default = {"arrived": 730, "rejected": 365, "withdrawn": 365}
    monkeypatch.setenv("SAFAR_RETENTION_DAYS", "arrived=1000, withdrawn=90")
    assert env_days_by_key("SAFAR_RETENTION_DAYS", default) == {"arrived": 1000, "rejected": 365, "withdrawn": 90}
    for bad in ("arrived", "departed=10", "arrived=two", "rejected=0"):
        monkeypatch.setenv("SAFAR_RETENTION_DAYS", bad)
        with pytest.raises(ImproperlyConfigured, match="SAFAR_RETENTION_DAYS"):
            env_days_by_key("SAFAR_RETENTION_DAYS", default)


# --- what goes and what stays ---------------------------------------------------------------------------------


def withdrawn_with_everything(ops, medic):
    """A withdrawn case with phones, notes, a hold reason in its history, a changed name in its change log, medical
    needs, MRZ lines, an attendance correction with a reason, a refusal of orientation with its reasons."""
    with time_machine.travel(at(CLOSED - datetime.timedelta(days=20)), tick=False):
        case = make_case(2, notes="Family lives with an uncle in Vahdat.")
        pa = case.members.order_by("id").first()
        Person.objects.filter(pk=pa.pk).update(phone="+992931234567", special_needs="BLND")
        doc = TravelDocument.objects.filter(person=pa).get()
        TravelDocument.objects.filter(pk=doc.pk).update(
            mrz_line1="P<AFGKARIMI<<ZAHRA<<<<<<<<<<<<<<<<<<<<<<<<<<",
            mrz_line2="P0000100AFG8505174F3001012<<<<<<<<<<<<<<06")
        TravelMedicalNeeds.objects.create(person=pa, wheelchair="WCHR", pregnancy_weeks=20,
                                          pregnancy_weeks_on=CLOSED)
        MedicalExam.objects.filter(person=pa).update(notes="Scar on the left lung.")
        history.log_change(case, by=ops, summary=f"Edited: {pa.full_name} (phone)",
                           data={"members": {pa.full_name: ["phone"]}})
        from orientation.models import Attendance
        attendance = Attendance.objects.filter(enrolment__person=pa).first()
        AttendanceChange.objects.create(attendance=attendance, old_status="present", new_status="absent",
                                        reason="Zahra Karimi was ill")
        Declined.objects.create(person=case.members.order_by("id").last(), reason="Ahmad is in hospital",
                                withdrawn_at=timezone.now(), withdraw_reason="Out of hospital")
        case = transitions.perform(case, "accept", by=ops)
        case = transitions.perform(case, "hold", by=ops, reason="Threats from a neighbour", category="security")
    with time_machine.travel(at(CLOSED, 10), tick=False):
        case = transitions.perform(case, "withdraw", by=ops, reason="The family moved to Kabul")
    return Case.objects.get(pk=case.pk)


def snapshot(case):
    """Every field of every row of the case's own records, by model and id."""
    rows = {}
    models = [(Case, {"pk": case.pk}), (Person, {"case": case}), (TravelDocument, {"person__case": case}),
              (MedicalExam, {"person__case": case}), (TravelMedicalNeeds, {"person__case": case}),
              (CaseTransition, {"case": case}), (CaseChange, {"case": case}),
              (AttendanceChange, {"attendance__enrolment__person__case": case}), (Declined, {"person__case": case})]
    for model, filters in models:
        for obj in model.objects.filter(**filters):
            values = model_to_dict(obj, fields=[f.name for f in model._meta.concrete_fields])
            values["phone"] = str(values["phone"]) if "phone" in values else None
            rows[(model.__name__, obj.pk)] = values
    return rows


ALLOWED = {
    "Case": {"notes", "hold_reason", "blockers"},
    "Person": {"family_name", "given_name", "native_name", "phone", "phone_region", "visa_reference", "search_text",
               "special_needs"},
    "TravelDocument": {"number", "mrz_line1", "mrz_line2"},
    "MedicalExam": {"outcome", "tb_status", "fit_to_travel", "notes"},
    "TravelMedicalNeeds": {"wheelchair", "stretcher", "oxygen", "medical_escort", "pregnancy_weeks",
                           "pregnancy_weeks_on", "multiple_pregnancy", "fit_to_fly_certificate_at", "medif_required",
                           "medif_recorded_at"},
    "CaseTransition": {"reason", "data"},
    "CaseChange": {"summary", "data"},
    "AttendanceChange": {"reason"},
    "Declined": {"reason", "withdraw_reason"},
}


def test_the_listed_fields_go_and_nothing_else_changes(ops, medic):
    due = withdrawn_with_everything(ops, medic)
    kept = close("withdrawn", ops, when=CLOSED + datetime.timedelta(days=10))
    before, before_kept = snapshot(due), snapshot(kept)
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        run = retention.apply(actor="test")
    after = snapshot(due)
    assert set(after) == set(before)  # nothing deleted
    for key, values in before.items():
        changed = {name for name in values if after[key][name] != values[name]}
        assert changed <= ALLOWED[key[0]], (key, changed - ALLOWED[key[0]])
    assert snapshot(kept) == before_kept
    assert run.cases == 1 and run.case_numbers == due.case_number

    pa = due.members.order_by("id").first()
    assert (pa.family_name, pa.given_name, pa.native_name, str(pa.phone), pa.visa_reference) == (
        "Anonymised", "PA", "", "", "")
    assert (pa.sex, pa.date_of_birth, pa.nationality) == ("F", datetime.date(1985, 5, 17), "AFG")
    document = TravelDocument.objects.get(person=pa)
    assert (document.number, document.mrz_line1, document.mrz_line2) == (f"REMOVED{document.pk}", "", "")
    assert Case.objects.get(pk=due.pk).notes == ""
    assert set(due.transitions.values_list("reason", flat=True)) == {""}
    change = due.changes.get(summary__startswith="Edited")
    assert change.summary == "Edited: [name removed] (phone)"
    assert change.data == {"members": {"[name removed]": ["phone"]}}
    assert AttendanceChange.objects.get(attendance__enrolment__person=pa).reason == ""
    assert list(Declined.objects.filter(person__case=due).values_list("reason", "withdraw_reason")) == [("", "")]
    exam = MedicalExam.objects.filter(person=pa).first()
    assert (exam.outcome, exam.tb_status, exam.notes, exam.kind, exam.exam_date) == ("", "", "", "ime", exam.exam_date)
    assert TravelMedicalNeeds.objects.get(person=pa).pregnancy_weeks is None
    # The history of states stays whole.
    assert list(due.transitions.order_by("at", "id").values_list("transition", "from_state", "to_state")) == [
        ("create", "", "referred"), ("accept", "referred", "in_processing"), ("hold", "in_processing", "on_hold"),
        ("withdraw", "on_hold", "withdrawn")]
    # Nothing of theirs is findable any more.
    assert not Person.objects.filter(search_text__contains="karimi", case=due).exists()


def test_a_reason_told_in_the_history_goes_with_the_rest(ops):
    # The reason for declining orientation sits in the case's history too ("… Reason: in hospital"), for those who
    # read reasons. Before, retention took the name out of that line and left the reason.
    with time_machine.travel(at(CLOSED - datetime.timedelta(days=20)), tick=False):
        case = make_case(2, orientation=False)
        case = transitions.perform(transitions.perform(case, "accept", by=ops), "approve", by=ops)
        ahmad = case.members.order_by("id").last()
        record_declined(ahmad, by=ops, reason="Ahmad has hepatitis B, in hospital")
        withdraw_declined(ahmad, by=ops, reason="Out of hospital")
    with time_machine.travel(at(CLOSED, 10), tick=False):
        case = transitions.perform(case, "withdraw", by=ops, reason="The family moved to Kabul")

    with time_machine.travel(at(CLOSED + datetime.timedelta(days=400)), tick=False):
        retention.apply(actor="test")

    assert sorted(case.changes.values_list("summary", flat=True)) == [
        "Orientation declined by [name removed].", "Orientation: [name removed] will attend after all."]
    assert list(Declined.objects.filter(person=ahmad).values_list("reason", "withdraw_reason")) == [("", "")]


def test_expired_sessions_go_with_their_waiting_messages():
    # Messages wait in the session (they name families): nothing else removed a session left to expire.
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session

    with time_machine.travel(at(CLOSED), tick=False):
        old = SessionStore()
        old["_messages"] = "Travel medical needs of Karimi, Zahra saved."
        old.set_expiry(3600)
        old.save()
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=3)), tick=False):
        live = SessionStore()
        live.set_expiry(3600)
        live.save()
        run = retention.apply(actor="test")

    assert list(Session.objects.values_list("session_key", flat=True)) == [live.session_key]
    assert {line["kind"]: line["rows"] for line in run.removed}["expired_sessions"] == 1


def statistics():
    people = Person.objects.select_related("case")
    on = datetime.date(2027, 1, 1)

    def band(person):
        age = person.age_on(on)
        return "0-1" if age < 2 else "2-11" if age < 12 else "12-17" if age < 18 else "18+"

    return {
        "cases by state": Counter(Case.objects.values_list("state", flat=True)),
        "cases by destination": Counter(Case.objects.values_list("destination_country", flat=True)),
        "people by age band and sex": Counter((band(p), p.sex) for p in people),
        "people by state": Counter(p.case.state for p in people),
        "transitions": Counter(CaseTransition.objects.values_list("transition", "to_state")),
        "UNHCR status export rows by status and destination": unhcr_totals(),
    }


def unhcr_totals():
    import csv

    from exchange import status

    text = "".join(status.csv_chunks(status.parse_filter("", "", ""))).lstrip("\ufeff")
    return Counter((row["case_status"], row["destination_country"]) for row in csv.DictReader(io.StringIO(text)))


def test_statistics_are_the_same_before_and_after(ops, medic):
    withdrawn_with_everything(ops, medic)
    close("rejected", ops, members=3)
    close("arrived", ops, members=4, destination_country="CAN")
    close("withdrawn", ops, members=1, destination_country="AUS", when=CLOSED + datetime.timedelta(days=200))
    close("approved", ops, members=2)
    before = statistics()
    assert sum(before["UNHCR status export rows by status and destination"].values()) == 12  # one row per person
    assert before["cases by state"]["withdrawn"] == 2
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=800)), tick=False):
        run = retention.apply(actor="test")
    assert run.cases == 4
    assert statistics() == before


def test_the_dry_run_lists_per_kind_and_changes_nothing(ops, medic):
    case = withdrawn_with_everything(ops, medic)
    before = snapshot(case)
    out = io.StringIO()
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        call_command("apply_retention", "--dry-run", stdout=out)
    text = out.getvalue()
    assert snapshot(case) == before
    assert RetentionRun.objects.count() == 0
    assert "1 case(s) due for anonymisation, 1 for removal of medical details" in text
    assert case.case_number in text
    lines = {line.split()[1]: int(line.split()[0]) for line in text.splitlines()[2:-1]}
    assert lines["people"] == 2
    assert lines["documents"] == 2
    assert lines["transition_reasons"] == 2  # the hold's and the withdrawal's reasons
    assert lines["change_texts"] == 1
    assert lines["attendance_reasons"] == 1
    assert lines["orientation_declined_reasons"] == 1
    assert lines["case_notes"] == 1


def test_the_real_run_logs_what_went_and_a_second_run_finds_nothing(ops, medic):
    case = withdrawn_with_everything(ops, medic)
    out = io.StringIO()
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        call_command("apply_retention", stdout=out)
        run = RetentionRun.objects.get()
        removed = {line["kind"]: line["rows"] for line in run.removed}
        assert removed["people"] == 2 and removed["documents"] == 2 and removed["medical_exams"] == 2
        assert run.periods["cases"]["withdrawn"] == 365
        assert "1 case(s) anonymised" in out.getvalue()
        marks = AnonymisedCase.objects.get(case=case)
        assert marks.personal_run == run and marks.medical_run == run
        again = retention.apply(actor="test")
    assert (again.cases, again.medical_cases, again.total_rows) == (0, 0, 0)


def test_an_arrived_case_loses_its_medical_details_after_one_year_and_its_names_after_two(ops):
    case = close("arrived", ops, members=1)
    MedicalExam.objects.filter(person__case=case).update(notes="Asthma")
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        retention.apply(actor="test")
    person = case.members.get()
    assert MedicalExam.objects.filter(person=person, notes="Asthma").count() == 0
    assert person.family_name == "Karimi"
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=730)), tick=False):
        retention.apply(actor="test")
    assert Person.objects.get(pk=person.pk).family_name == "Anonymised"


def test_names_a_member_no_longer_bears_leave_the_change_log_too(ops):
    # A member removed from the case, and another renamed since, appear in the log under the old names (as the
    # case form writes them): retention cleans those out as well as the names the members bear today.
    case = close("withdrawn", ops, members=2)
    pa, child = case.members.order_by("id")
    with time_machine.travel(at(CLOSED - datetime.timedelta(days=30)), tick=False):
        history.log_change(case, by=ops, summary="Edited: removed Nuri, Bahram", data={"removed": ["Nuri, Bahram"]})
        history.log_change(case, by=ops, summary=f"Edited: {child.full_name} (family_name)",
                           data={"members": {child.full_name: ["family_name"]}})
    old_name = child.full_name
    Person.objects.filter(pk=child.pk).update(family_name="Rahimi")
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        retention.apply(actor="test")
    log = " ".join(f"{c.summary} {c.data}" for c in CaseChange.objects.filter(case=case))
    assert "Nuri, Bahram" not in log and old_name not in log
    assert "Edited: removed [name removed]" in log


# --- the logs' own periods --------------------------------------------------------------------------------------


def test_the_access_log_is_kept_for_its_own_period_and_never_with_the_cases(ops, settings):
    settings.SAFAR_ACCESS_LOG_DAYS = 730
    case = close("withdrawn", ops)
    with time_machine.travel(at(CLOSED, 15), tick=False):
        read = AccessLogEntry.objects.create(actor="Olga Ops", kind="case", cases=f" {case.case_number} ",
                                             target=case.case_number)
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        retention.apply(actor="test")
    assert AccessLogEntry.objects.get(pk=read.pk).actor == "Olga Ops"  # the case is anonymised, its log is not
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=729)), tick=False):
        assert {l.kind: l.rows for l in retention.preview().lines}["access_log"] == 0
        retention.apply(actor="test")
    assert AccessLogEntry.objects.filter(pk=read.pk).exists()
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=730)), tick=False):
        assert {l.kind: l.rows for l in retention.preview().lines}["access_log"] == 1
        run = retention.apply(actor="test")
    assert not AccessLogEntry.objects.filter(pk=read.pk).exists()
    assert {line["kind"]: line["rows"] for line in run.removed}["access_log"] == 1


def test_login_records_go_after_their_period(db, settings):
    settings.SAFAR_LOGIN_RECORD_DAYS = 90
    with time_machine.travel(at(CLOSED), tick=False):
        AccessAttempt.objects.create(username="olga", ip_address="10.0.0.1", user_agent="x", http_accept="*/*",
                                     path_info="/accounts/login/", get_data="", post_data="", failures_since_start=1)
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=89)), tick=False):
        retention.apply(actor="test")
    assert AccessAttempt.objects.count() == 1
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=90)), tick=False):
        retention.apply(actor="test")
    assert AccessAttempt.objects.count() == 0


def test_referral_files_never_imported_go_after_the_shortest_period_imported_ones_after_the_longest(db):
    with time_machine.travel(at(CLOSED), tick=False):
        refused = ReferralUpload.objects.create(filename="bad.csv", content=b"Karimi,Zahra", sha256="0" * 64, size=12,
                                                status="refused", report={"errors": [{"value": "Karimi"}]})
        imported = ReferralUpload.objects.create(filename="good.csv", sha256="1" * 64, size=12, status="imported",
                                                 report={"rows": 1})
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=364)), tick=False):
        retention.apply(actor="test")
    assert ReferralUpload.objects.count() == 2
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        retention.apply(actor="test")
    assert list(ReferralUpload.objects.values_list("pk", flat=True)) == [imported.pk]
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=730)), tick=False):
        retention.apply(actor="test")
    assert not ReferralUpload.objects.exists()
    assert refused.pk != imported.pk


def test_the_dpo_previews_and_applies_the_retention_on_its_page(client, ops):
    from tests.conftest import make_user

    dpo = make_user("dina", "dpo")
    case = close("withdrawn", ops)
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        client.force_login(dpo)
        page = client.get("/privacy/retention/")
        assert page.status_code == 200
        assert case.case_number in page.content.decode()
        response = client.post("/privacy/retention/apply/", follow=True)
    assert "Retention applied: 1 case anonymised, 1 case with medical details removed, " in response.content.decode()
    assert RetentionRun.objects.get().actor == "dina"
    assert Person.objects.filter(case=case, family_name="Anonymised").count() == 2


def test_case_edits_are_refused_on_an_anonymised_case_like_any_closed_case(ops):
    case = close("withdrawn", ops)
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        retention.apply(actor="test")
    assert not Case.objects.get(pk=case.pk).state_policy.details
    with pytest.raises(case_edits.EditRefused):
        case_edits.check_editable(Case.objects.get(pk=case.pk), "details")


def test_travel_records_lose_reasons_and_names_and_keep_what_happened(ops):
    from tests.conftest import book, make_departure, next_arrival_day, ready_case
    from travel.models import Booking, DepartureLogEntry, Incident

    with time_machine.travel(at(CLOSED - datetime.timedelta(days=5)), tick=False):
        departure = make_departure(ops, day=next_arrival_day(CLOSED + datetime.timedelta(days=30)))
        leaving = book(ready_case(ops, 2), ops, departure)
        staying = book(ready_case(ops, 1), ops, departure)
        zahra = leaving.members.order_by("id").first()
        Person.objects.filter(case=staying).update(family_name="Rahimi", given_name="Laila")
        other = staying.members.get()
        DepartureLogEntry.objects.create(departure=departure, actor="Olga Ops", action="note",
                                         summary=f"Called {zahra.full_name} about the flight",
                                         data={"person": zahra.full_name, "seats": 2})
        alone = Incident.objects.create(departure=departure, kind="other", place="DYU", actor="Eraj",
                                        note=f"{zahra.given_name} {zahra.family_name} lost her bag")
        alone.people.set([zahra])
        shared = Incident.objects.create(departure=departure, kind="other", place="DYU", actor="Eraj",
                                         note=f"{zahra.full_name} and {other.full_name} argued")
        shared.people.set([zahra, other])
        # Logged for the departure as a whole: nobody ticked, a family named in the note.
        whole = Incident.objects.create(departure=departure, kind="missed_connection", place="IST", actor="Eraj",
                                        note=f"Bus late; {zahra.full_name} and {other.full_name} waited at gate 4")
    with time_machine.travel(at(CLOSED, 10), tick=False):
        leaving = transitions.perform(leaving, "withdraw", by=ops, reason="They chose to stay")
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        retention.apply(actor="test")
    entry = DepartureLogEntry.objects.get(action="note")
    assert (entry.summary, entry.data) == ("Called [name removed] about the flight",
                                           {"person": "[name removed]", "seats": 2})
    alone.refresh_from_db()
    shared.refresh_from_db()
    assert (alone.note, alone.kind, alone.place) == ("", "other", "DYU")
    assert shared.note == f"[name removed] and {other.full_name} argued"
    whole.refresh_from_db()
    assert whole.note == f"Bus late; [name removed] and {other.full_name} waited at gate 4"
    booking = Booking.objects.get(case=leaving)
    assert booking.status == "cancelled"
    assert booking.cancel_reason == ""
    assert Booking.objects.get(case=staying).status == "active"


def test_an_anonymised_case_says_so_on_its_page(client, ops):
    case = close("withdrawn", ops)
    with time_machine.travel(at(CLOSED + datetime.timedelta(days=365)), tick=False):
        retention.apply(actor="test")
        client.force_login(ops)
        page = client.get(f"/cases/{case.case_number}/").content.decode()
    assert "its personal data was removed on 2028-03-09" in page
    assert "Anonymised, PA" in page
    assert "Karimi" not in page


def test_a_shredder_that_cannot_find_its_rows_fails_when_it_is_defined_not_during_a_run():
    from movements.hooks import RetentionBatch
    from movements.models import CaseTransition, Person
    from movements.shredders import FieldShredder

    with pytest.raises(TypeError, match="set case_field or person_field, or override rows"):
        class Lost(FieldShredder):  # noqa: F841
            kind, label, description, model = "lost", "Lost", "Finds nothing.", CaseTransition
            blank = {"reason": ""}

    class ByCase(FieldShredder):
        kind, label, description, model, case_field = "by_case", "By case", "Reasons.", CaseTransition, "case_id"
        blank = {"reason": ""}

    class ByPerson(FieldShredder):
        kind, label, description, model, person_field = "by_person", "By person", "Names.", Person, "pk"
        blank = {"phone": ""}

    batch = RetentionBatch(case_ids=(7, 8), person_ids=(21,), names=())
    assert '"case_id" IN (7, 8)' in str(ByCase().rows(batch).query)
    assert '"id" IN (21)' in str(ByPerson().rows(batch).query)


def test_the_retention_takes_a_name_out_in_any_letter_case():
    from movements.hooks import NAME_REMOVED, RetentionBatch

    batch = RetentionBatch(case_ids=(1,), person_ids=(1,), names=("Karimi, Zahra", "Zahra Karimi"), now=None)

    assert batch.scrub("Called ZAHRA KARIMI at the gate; karimi, zahra boarded") == (
        f"Called {NAME_REMOVED} at the gate; {NAME_REMOVED} boarded")
    assert batch.scrub_data({"person": "Karimi, Zahra", "n": 2}) == {"person": NAME_REMOVED, "n": 2}


def test_names_are_replaced_whole_in_any_spacing_and_ones_own_name_is_never_cut_into():
    from movements.words import NameReplacer

    replace = NameReplacer([("Ahmadi, Ali Reza", None), ("Ali Reza", None), ("Ahmadi, Ali", "[father]"),
                            ("Ali Ahmadi", "[father]"), ("Karimi, Ahmad", "[spouse]"), ("Ahmad", "[spouse]")])

    assert replace("Passport of Ahmadi, Ali Reza renewed") == "Passport of Ahmadi, Ali Reza renewed"
    assert replace("Ali Reza and Ahmadi, Ali at the clinic") == "Ali Reza and [father] at the clinic"
    assert replace("KARIMI,AHMAD and karimi ,  ahmad; Ahmad's visa") == "[spouse] and [spouse]; [spouse]'s visa"
    assert replace("Karimi Ahmadzai and Ahmadi came") == "Karimi Ahmadzai and Ahmadi came"  # other names, whole
    assert replace("") == "" and replace(None) is None


def test_a_preview_left_unconfirmed_expires_with_the_daily_run_not_only_when_the_imports_are_opened(settings):
    settings.SAFAR_IMPORT_PREVIEW_HOURS = 24
    with time_machine.travel(at(CLOSED), tick=False):
        left = ReferralUpload.objects.create(filename="referrals.csv", content=b"Karimi,Zahra,+992931234567",
                                             sha256="2" * 64, size=27, status="previewed")
    with time_machine.travel(at(CLOSED) + datetime.timedelta(hours=20), tick=False):
        recent = ReferralUpload.objects.create(filename="later.csv", content=b"Rahimi,Omid", sha256="3" * 64,
                                               size=11, status="previewed")
    with time_machine.travel(at(CLOSED) + datetime.timedelta(hours=25), tick=False):
        run = retention.apply(actor="test")

    left.refresh_from_db()
    recent.refresh_from_db()
    assert (left.status, left.content) == ("expired", None)
    assert recent.status == "previewed" and bytes(recent.content) == b"Rahimi,Omid"
    assert {line["kind"]: line["rows"] for line in run.removed}["import_previews"] == 1
