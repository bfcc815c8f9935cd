"""A person's own record: everything held about one person, from every app, as a PDF (names in their own script,
read back with pdftotext) and as JSON; from a command or the dpo's page, each production logged."""

import datetime
import io
import json
import re
import shutil
import subprocess
import unicodedata

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from movements import history, transitions
from movements.models import MedicalExam, Person
from privacy.models import AccessLogEntry
from tests.conftest import book, make_case, make_departure, make_user, ready_case

pytestmark = pytest.mark.django_db

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")


def pdf_text(content, tmp_path):
    path = tmp_path / "record.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for mark in ("\u202a", "\u202b", "\u202c"):  # poppler's direction marks around right-to-left runs
        text = text.replace(mark, "")
    return unicodedata.normalize("NFKC", text)


@pytest.fixture
def family(ops, client):
    departure = make_departure(ops)
    case = book(ready_case(ops, 2), ops, departure)
    pa, spouse = case.members.order_by("id")
    MedicalExam.objects.filter(person=pa).update(notes="Old fracture of the left wrist.")
    history.log_change(case, by=ops, summary="Edited: case (notes)", data={"case": ["notes"]})
    client.force_login(ops)
    client.get(f"/cases/{case.case_number}/")
    return case, pa, spouse


@needs_pdftotext
def test_the_command_writes_the_record_as_pdf_and_json(family, tmp_path):
    case, pa, spouse = family
    out = io.StringIO()
    call_command("subject_record", pa.progres_individual_id, output_dir=str(tmp_path), stdout=out)
    pdf = (tmp_path / f"personal-record-{pa.progres_individual_id}.pdf").read_bytes()
    data = json.loads((tmp_path / f"personal-record-{pa.progres_individual_id}.json").read_text("utf-8"))
    text = pdf_text(pdf, tmp_path)
    assert "Zahra Karimi" in text
    assert "زهرا کریمی" in text  # the person's own script, as typed
    for title in ("Case", "The person", "Travel documents", "Medical examinations", "Orientation attendance",
                  "Bookings of the case", "State history of the case", "Changes to the case's data",
                  "Who read this person's data"):
        assert title in text, title
    assert "Old fracture" in text  # a narrow column: the rest wraps
    # Columns as wide as their longest word: a departure code or a state is never broken in the middle.
    code = case.bookings.get().departure.code
    broken = [line for line in text.splitlines() if code[:8] in line and code not in line]
    assert code in text and broken == []
    assert case.case_number in text
    titles = [s["title"] for s in data["sections"]]
    assert titles[:2] == ["Case", "The person"]
    person = next(s for s in data["sections"] if s["title"] == "The person")["items"]
    assert (person["Family name"], person["Name in own script"]) == ("Karimi", "زهرا کریمی")
    documents = next(s for s in data["sections"] if s["title"] == "Travel documents")["rows"]
    assert [d["Number"] for d in documents] == [pa.documents.get().number]
    reads = next(s for s in data["sections"] if s["title"] == "Who read this person's data")["rows"]
    assert [r["Who"] for r in reads] == ["Olga Ops", "command: subject_record"]  # its own production included
    # Written for the person who asked, in words: no setting names, no state codes.
    read_section = next(s for s in data["sections"] if s["title"] == "Who read this person's data")
    assert read_section["note"] == "From the access log, where each read is kept 730 days."
    states = next(s for s in data["sections"] if s["title"] == "State history of the case")["rows"]
    assert states[0]["Change"] == "create: new → Referred"
    assert "SAFAR_" not in text and "— → " not in text
    # The other member appears by relationship only.
    assert "Ahmad" not in json.dumps(data, ensure_ascii=False).replace("Edited", "")
    members = next(s for s in data["sections"] if s["title"] == "Case")["items"]["Members"]
    assert members == "this person; spouse"  # in words, not codes


def test_the_command_refuses_an_unknown_person_clearly(db, tmp_path):
    with pytest.raises(CommandError, match="No person with proGres individual id 'NOPE-1'"):
        call_command("subject_record", "NOPE-1", output_dir=str(tmp_path))
    assert not list(tmp_path.iterdir())


@needs_pdftotext
def test_the_dpo_finds_a_person_and_downloads_both_files_each_logged(client, family, tmp_path):
    case, pa, _spouse = family
    dpo = make_user("dina", "dpo")
    client.force_login(dpo)
    page = client.get(f"/privacy/subjects/?person={pa.progres_individual_id.lower()}")
    assert page.status_code == 200
    assert "Download the record (PDF)" in page.content.decode()
    pdf = client.get(f"/privacy/subjects/record.pdf?person={pa.progres_individual_id}")
    assert pdf["Content-Type"] == "application/pdf"
    assert "زهرا کریمی" in pdf_text(pdf.content, tmp_path)
    as_json = client.get(f"/privacy/subjects/record.json?person={pa.progres_individual_id}")
    assert json.loads(as_json.content)["person"]["case_number"] == case.case_number
    logged = list(AccessLogEntry.objects.filter(kind="subject_record").order_by("id").values_list(
        "actor", "person_id", "target"))
    assert logged == [("dina", pa.pk, f"{case.case_number}, member {pa.pk} (looked up)"),
                      ("dina", pa.pk, f"{case.case_number}, member {pa.pk}"),
                      ("dina", pa.pk, f"{case.case_number}, member {pa.pk}")]


def test_an_unknown_person_on_the_page_is_a_clear_error(client, db):
    client.force_login(make_user("dina", "dpo"))
    response = client.get("/privacy/subjects/?person=870-00X99999")
    assert response.status_code == 400
    assert "Nobody has this proGres individual id." in response.content.decode()
    response = client.get("/privacy/subjects/record.pdf?person=870-00X99999", follow=True)
    assert "no record was produced" in response.content.decode()
    assert not AccessLogEntry.objects.filter(kind="subject_record").exists()


@needs_pdftotext
def test_a_long_note_in_any_script_runs_across_pages(family, tmp_path):
    from privacy import subject_record

    _case, pa, _ = family
    MedicalExam.objects.filter(person=pa).update(notes=("یادداشت پزشکی طولانی " * 230)[:4990])
    Person.objects.filter(pk=pa.pk).update(native_name="Зарина Каримова")
    pa.refresh_from_db()
    sections, produced = subject_record.produce(pa, actor="test")
    text = pdf_text(subject_record.as_pdf(pa, sections, produced), tmp_path)
    assert "Зарина Каримова" in text
    assert "یادداشت پزشکی" in text



@needs_pdftotext
def test_a_long_access_history_runs_on_from_where_it_starts_and_leaves_no_page_blank(family, tmp_path):
    # Each boarding tap and each view of the case logs a read: the "Who read" table outgrows a page, and kept
    # together whole it could leave a page blank but for its footer, depending on where it began.
    from privacy import subject_record
    from privacy.models import case_key

    case, pa, _ = family
    start = datetime.datetime(2026, 11, 1, 8, tzinfo=datetime.UTC)
    path = tmp_path / "record.pdf"
    for size in range(0, 160, 8):
        AccessLogEntry.objects.bulk_create([
            AccessLogEntry(at=start + datetime.timedelta(minutes=size + n), actor="eraj", kind="case",
                           cases=case_key(case.case_number), target=case.case_number) for n in range(8)])
        sections, produced = subject_record.produce(pa, actor="test")
        path.write_bytes(subject_record.as_pdf(pa, sections, produced))
        pages = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True,
                               check=True).stdout.split("\f")[:-1]
        for number, page in enumerate(pages, start=1):
            lines = [line for line in page.splitlines() if line.strip()]
            assert len(lines) > 1, f"{size + 8} reads: page {number} of {len(pages)} holds only {lines}"

@needs_pdftotext
def test_a_name_in_a_script_with_no_font_is_named_in_the_record_and_every_font_is_embedded(family, tmp_path):
    from movements.pdf import layout
    from privacy import subject_record
    from tests.conftest import embedded_fonts

    _case, pa, _ = family
    Person.objects.filter(pk=pa.pk).update(native_name="ሕሩት ወልደ ጊዮርጊስ")  # Ethiopic: no shipped font
    pa.refresh_from_db()
    sections, produced = subject_record.produce(pa, actor="test")
    content = subject_record.as_pdf(pa, sections, produced)

    text = re.sub(r"\s+", " ", pdf_text(content, tmp_path))
    assert "Name in own script ሕሩት ወልደ ጊዮርጊስ" in text  # the row's text layer: copied, it is the name
    (row,) = subject_record._text("ሕሩት ወልደ ጊዮርጊስ", subject_record.CELL)  # and drawn: the script named
    (line,) = layout(row.text, row.role, 300)
    assert "".join(run[1] for run in line.runs) == "[Ethiopic script — no font to print it]"
    fonts = embedded_fonts(content)
    assert fonts and all(embedded for _, embedded in fonts), fonts
    # In a longer text, only the words it cannot print are named.
    (note,) = subject_record._text("Sister ሕሩት called", subject_record.CELL)
    assert note.text == "Sister [Ethiopic script — no font to print it] called"


def record_json(person, tmp_path):
    call_command("subject_record", person.progres_individual_id, output_dir=str(tmp_path), stdout=io.StringIO())
    return json.loads((tmp_path / f"personal-record-{person.progres_individual_id}.json").read_text("utf-8"))


def rows_of(data, title):
    return next(s for s in data["sections"] if s["title"] == title)["rows"]


def test_a_medical_decision_about_another_member_and_a_search_for_their_name_stay_out_of_ones_record(
        family, medic, client, tmp_path):
    from travel import boarding

    case, pa, spouse = family
    departure = case.bookings.get().departure
    boarding.record_override(departure, spouse, by=medic, reason="Checked at the clinic on the way; stable.")
    client.get("/cases/", {"q": "Karimi Ahmad"})  # ops, looking the spouse up by name

    mine = record_json(pa, tmp_path)
    theirs = record_json(spouse, tmp_path)

    changes = [row["What changed"] for row in rows_of(mine, "Changes to the case's data")]
    assert f"[spouse] cleared for boarding {departure.code} (details with medical staff)." in changes
    text = json.dumps(mine, ensure_ascii=False)
    assert "fit-to-travel check" not in text and "Ahmad" not in text
    reads = [row["What"] for row in rows_of(mine, "Who read this person's data")]
    assert "Case list (a page of it): a search" in reads
    # The spouse's own record tells the decision in full.
    assert (f"Medical staff cleared Karimi, Ahmad for boarding {departure.code} without a fit-to-travel check in the "
            "window.") in [row["What changed"] for row in rows_of(theirs, "Changes to the case's data")]


def test_a_medical_holds_reasons_are_not_in_anyones_own_record_and_other_holds_name_members_by_relationship(
        ops, medic, tmp_path):
    from movements import transitions
    from tests.conftest import case_in

    case = case_in("approved", ops, members=2)
    pa, spouse = case.members.order_by("id")
    case = transitions.hold(case, by=medic, category="medical", reason="Active TB: Karimi, Ahmad in treatment")
    case = transitions.resume(case, by=medic, reason="Ahmad's treatment completed")
    case = transitions.hold(case, by=ops, category="security", reason="Re-check of Karimi, Ahmad asked by IRCC")

    record = record_json(pa, tmp_path)

    states = [(row["Change"], row["Reason"]) for row in rows_of(record, "State history of the case")]
    medical = "(a medical hold: its reasons are with medical staff)"
    assert ("hold: Approved → On hold", medical) in states
    assert ("resume: On hold → Approved", medical) in states
    assert ("hold: Approved → On hold", "Re-check of [spouse] asked by IRCC") in states
    assert "Active TB" not in json.dumps(record, ensure_ascii=False) and "treatment" not in json.dumps(record)


def test_a_refusal_of_orientation_is_in_ones_own_record(ops, tmp_path):
    from orientation import services
    from orientation.models import Declined

    case = make_case(2, orientation=False)
    case = transitions.approve(transitions.accept(case, by=ops), by=ops)
    pa, spouse = case.members.order_by("id")
    with time_machine.travel(datetime.datetime(2026, 11, 20, 6, tzinfo=datetime.timezone.utc), tick=False):
        services.record_declined(spouse, by=ops, reason="Caring for a newborn")

    assert rows_of(record_json(spouse, tmp_path), "Orientation declined") == [
        {"Recorded": "2026-11-20 11:00", "Reason": "Caring for a newborn", "Withdrawn": "—", "Why": "—"}]
    assert rows_of(record_json(pa, tmp_path), "Orientation declined") == []
    assert Declined.objects.count() == 1
