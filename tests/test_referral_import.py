"""The referral import: the contract's rules, all-or-nothing, idempotence, hostile files, and who may import."""

import csv
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from movements import transitions
from movements.models import Case, CaseChange, CaseTransition, Person, ReferralUpload
from movements.referral_import import COLUMNS, run_import

DATA = Path(__file__).parent / "data"
SAMPLE = (DATA / "referrals-sample.csv").read_bytes()
FAULTY = (DATA / "referrals-with-errors.csv").read_bytes()


def sample_rows():
    return list(csv.DictReader(io.StringIO(SAMPLE.decode("utf-8"))))


def to_csv(rows, columns=COLUMNS):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def counts():
    return Case.objects.count(), Person.objects.count(), CaseTransition.objects.count(), CaseChange.objects.count()


# --- the sample and the faulty file ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sample_file_imports_into_12_cases_and_45_people_and_again_changes_nothing():
    report = run_import(SAMPLE, "referrals-sample.csv")
    assert report.ok and report.applied
    assert (len(report.new_cases), len(report.new_people)) == (12, 45)
    assert Case.objects.count() == 12 and Person.objects.count() == 45
    assert set(Case.objects.values_list("state", flat=True)) == {"referred"}
    logs = CaseTransition.objects.filter(transition="create")
    assert logs.count() == 12
    assert set(logs.values_list("actor", "to_state")) == {("referral import: referrals-sample.csv", "referred")}
    before = counts()

    again = run_import(SAMPLE, "referrals-sample.csv")
    assert again.ok
    assert (again.new_cases, again.new_people, again.updated_people) == ([], [], {})
    assert len(again.unchanged_people) == 45
    assert counts() == before



@pytest.mark.django_db
def test_a_reimport_that_corrects_a_name_reaches_the_next_changed_since_export_and_a_phone_does_not():
    import datetime

    from django.utils import timezone

    assert run_import(SAMPLE, "referrals-sample.csv").applied
    rows = sample_rows()
    renamed, rephoned = rows[0], next(r for r in rows if r["progres_case_id"] != rows[0]["progres_case_id"]
                                      and r["phone"])
    renamed["family_name"] = renamed["family_name"] + "i"
    rephoned["phone"] = "+992 93 000 1122"
    week_ago = timezone.now() - datetime.timedelta(days=7)
    Case.objects.update(status_changed_at=week_ago)

    report = run_import(to_csv(rows), "corrected.csv")

    assert report.applied and len(report.updated_people) == 2
    moved = set(Case.objects.filter(status_changed_at__gt=week_ago).values_list("progres_case_id", flat=True))
    assert moved == {renamed["progres_case_id"]}

@pytest.mark.django_db
def test_the_faulty_file_is_refused_whole_and_every_planted_fault_is_reported():
    report = run_import(FAULTY, "referrals-with-errors.csv")
    assert not report.applied
    assert counts() == (0, 0, 0, 0)
    found = {(e.row, e.column) for e in report.errors}
    expected = [line.split("\t")[:2] for line in (DATA / "referrals-with-errors.expected.tsv").read_text().splitlines()]
    for row, column in expected:
        if column == "progres_individual_id":  # reported on either row that shares the id
            assert (12, column) in found or (25, column) in found
        else:
            assert (int(row), column) in found, (row, column)
    assert len(report.errors) == 9
    by_cell = {(e.row, e.column): e for e in report.errors}
    assert by_cell[(25, "date_of_birth")].value == "31/02/1990"
    assert by_cell[(25, "date_of_birth")].message == "not an ISO date (YYYY-MM-DD)"
    assert by_cell[(47, "priority")].value == "asap"


@pytest.mark.django_db
def test_the_command_prints_every_error_and_exits_1(capsys):
    with pytest.raises(SystemExit) as exited:
        call_command("import_referrals", str(DATA / "referrals-with-errors.csv"))
    assert exited.value.code == 1
    out = capsys.readouterr().out
    assert "refused, nothing was imported. 9 error(s)" in out
    assert "25\tdate_of_birth\t31/02/1990\tnot an ISO date (YYYY-MM-DD)" in out
    assert "47\tpriority\tasap\t" in out
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_the_command_dry_run_saves_nothing_and_the_real_run_imports(capsys):
    call_command("import_referrals", str(DATA / "referrals-sample.csv"), "--dry-run")
    assert "Would import 45 rows: 12 new cases, 45 new people" in capsys.readouterr().out
    assert counts() == (0, 0, 0, 0)
    call_command("import_referrals", str(DATA / "referrals-sample.csv"))
    assert "Imported 45 rows: 12 new cases" in capsys.readouterr().out
    assert Person.objects.count() == 45


@pytest.mark.django_db
def test_names_in_dari_and_tajik_cyrillic_survive_byte_for_byte():
    rows = sample_rows()
    # The sample's native names are all Dari; add a Tajik family, and a Dari name with a zero-width non-joiner.
    tajik = dict(rows[0], progres_case_id="870-26C77777", relationship="PA", family_name="Rahmonov",
                 given_name="Firuz", progres_individual_id="870-26C77777-01", native_name="Фирӯз Раҳмонов")
    tajik_child = dict(tajik, relationship="CHD", given_name="Madina", progres_individual_id="870-26C77777-02",
                       native_name="Мадина Раҳмонова")
    rows[1]["native_name"] = "محمد\u200cرضا نوری"
    rows += [tajik, tajik_child]
    assert run_import(to_csv(rows), "referrals.csv").ok
    stored = dict(Person.objects.values_list("progres_individual_id", "native_name"))
    for row in rows:
        assert stored[row["progres_individual_id"]].encode("utf-8") == row["native_name"].encode("utf-8")


@pytest.mark.django_db
def test_phone_numbers_in_any_human_format_are_stored_as_e164():
    run_import(SAMPLE, "referrals-sample.csv")
    phones = {str(p) for p in Person.objects.exclude(phone="").values_list("phone", flat=True)}
    assert "+992988557139" in phones  # written (+992) 98-855-7139
    assert "+992931124268" in phones  # written 93 112 4268: region TJ by default
    assert all(p.startswith("+") and p[1:].isdigit() for p in phones)


# --- formats and headers -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_xlsx_file_imports_like_the_csv():
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    rows = sample_rows()
    sheet.append([c.upper() for c in rows[0].keys()])  # column names are case-insensitive
    for row in rows:
        sheet.append(list(row.values()))
    buffer = io.BytesIO()
    workbook.save(buffer)
    report = run_import(buffer.getvalue(), "referrals.xlsx")
    assert report.ok, report.errors[:3]
    assert (len(report.new_cases), len(report.new_people)) == (12, 45)


@pytest.mark.django_db
def test_column_order_is_free_and_a_bom_is_accepted():
    columns = list(reversed(COLUMNS))
    report = run_import(b"\xef\xbb\xbf" + to_csv(sample_rows(), columns), "r.csv")
    assert report.ok and len(report.new_people) == 45


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header, message",
    [
        ([c for c in COLUMNS if c != "sex"], "required column missing: sex"),
        (COLUMNS + ["religion"], "unknown column 'religion'"),
        (COLUMNS + ["sex"], "column “sex” appears twice"),
    ],
)
def test_a_missing_unknown_or_repeated_column_stops_the_import_with_one_message(header, message):
    report = run_import(to_csv(sample_rows(), header), "r.csv")
    assert len(report.errors) == 1
    assert message in report.errors[0].message
    assert report.errors[0].row == 1
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_an_unknown_column_does_not_hide_what_is_wrong_in_the_rows():
    rows = sample_rows()
    rows[0]["sex"], rows[3]["date_of_birth"] = "Q", "1990-02-30"

    report = run_import(to_csv(rows, COLUMNS + ["remarks"]), "r.csv")

    assert [(e.row, e.column) for e in report.errors] == [(1, "remarks"), (2, "sex"), (5, "date_of_birth")]
    assert counts() == (0, 0, 0, 0)


# --- hostile files ------------------------------------------------------------------------------------


def latin1_file():
    return "progres_case_id,family_name\n1,Müller\n".encode("latin-1")


HOSTILE = [
    ("empty.csv", b"", "The file is empty."),
    ("blank.csv", b"\n\n", "The file is empty."),
    ("header.csv", ",".join(COLUMNS).encode() + b"\n", "The file has a header but no rows."),
    ("binary.csv", bytes(range(256)) * 40, "This is not a CSV text file"),
    ("latin1.csv", latin1_file(), "The file is not UTF-8 text"),
    ("wide.csv", ",".join(f"c{i}" for i in range(10_000)).encode() + b"\n" + b"x," * 9999 + b"x\n",
     "The header has 10,000 columns"),
    ("fake.xlsx", b"PK\x03\x04" + b"not really a zip" * 10, "cannot be read as an XLSX workbook"),
    ("semicolons.csv", ";".join(COLUMNS).encode() + b"\n", "separated by semicolons"),
]


@pytest.mark.django_db
@pytest.mark.parametrize("name, data, message", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_files_get_a_clear_message_and_save_nothing(name, data, message):
    report = run_import(data, name)
    assert [e.message for e in report.errors if message in e.message], report.errors
    assert not report.applied
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_nul_typed_into_one_cell_is_named_by_row_and_column_not_called_a_binary_file():
    rows = sample_rows()
    rows[1]["family_name"] = "Kari\x00mi"

    report = run_import(to_csv(rows, COLUMNS), "r.csv")

    assert not report.applied
    (error,) = [e for e in report.errors if "control character" in e.message]
    assert (error.row, error.column) == (3, "family_name")  # the header is line 1
    assert "U+0000" in error.message and not any("binary" in e.message for e in report.errors)


@pytest.mark.django_db
def test_a_file_over_the_size_limit_is_refused(settings):
    settings.SAFAR_MAX_UPLOAD_BYTES = 1024 * 1024
    report = run_import(SAMPLE * 200, "big.csv")
    assert "the largest accepted is 1.0 MB" in report.errors[0].message


@pytest.mark.django_db
@pytest.mark.parametrize("column, value", [
    ("family_name", "=HYPERLINK(\"http://x\",\"y\")"), ("given_name", "+cmd"), ("given_name", "-2+3"),
    ("native_name", "@SUM(1)"),
])
def test_cells_that_spreadsheets_would_run_as_formulas_are_refused(column, value):
    rows = sample_rows()
    rows[3][column] = value
    report = run_import(to_csv(rows), "r.csv")
    assert [(e.row, e.column) for e in report.errors] == [(5, column)]
    assert "which spreadsheets run as a formula" in report.errors[0].message
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_case_needs_exactly_one_pa_and_the_same_destination_across_members():
    rows = sample_rows()
    first_case = rows[0]["progres_case_id"]
    members = [i for i, r in enumerate(rows) if r["progres_case_id"] == first_case]
    rows[members[1]]["relationship"] = "PA"
    rows[members[2]]["destination_country"] = "USA"
    report = run_import(to_csv(rows), "r.csv")
    messages = {(e.row, e.column): e.message for e in report.errors}
    assert messages[(members[1] + 2, "relationship")].startswith(f"case {first_case} needs exactly one PA")
    assert messages[(members[2] + 2, "destination_country")] == f"differs within case {first_case}: row 2 has 'CAN'"


# --- re-imports against what is already there ----------------------------------------------------------


@pytest.mark.django_db
def test_a_changed_detail_is_updated_and_logged_and_the_case_is_not_moved_back(ops):
    run_import(SAMPLE, "first.csv")
    rows = sample_rows()
    case = Case.objects.get(progres_case_id=rows[0]["progres_case_id"])
    transitions.accept(case, by=ops)
    rows[0]["phone"] = "+992 90 111 2233"
    report = run_import(to_csv(rows), "second.csv", by=ops)
    assert report.ok
    assert report.updated_people == {rows[0]["progres_individual_id"]: ["phone"]}
    person = Person.objects.get(progres_individual_id=rows[0]["progres_individual_id"])
    assert str(person.phone) == "+992901112233"
    case.refresh_from_db()
    assert case.state == "in_processing"
    change = CaseChange.objects.get(case=case)
    assert change.actor == "referral import: second.csv"
    assert change.summary == f"Updated: {person.full_name} (phone)"
    assert "+992" not in change.summary  # the log names fields, not values


@pytest.mark.django_db
def test_changing_the_members_of_a_booked_case_is_refused(ops):
    from tests.conftest import book, make_case

    case = make_case(1, progres_case_id="870-24C10001")
    for step in (transitions.accept, transitions.approve, transitions.clear):
        case = step(case, by=ops)
    case = book(case, ops)  # on a departure, through the travel service
    before = counts()
    report = run_import(SAMPLE, "again.csv")
    assert not report.ok
    refused = [e for e in report.errors if "is booked" in e.message]
    assert refused and all(case.case_number in e.message for e in refused)
    assert counts() == before


@pytest.mark.django_db
def test_one_report_lists_the_rows_mistakes_and_what_the_database_refuses_quoting_the_file():
    """What the database refuses (a booked family's details) is listed with the row's own mistakes, not only
    once those are mended; it quotes the cell as the file wrote it, not as it would be stored."""
    run_import(SAMPLE, "first.csv")
    rows = sample_rows()
    case = Case.objects.get(progres_case_id=rows[0]["progres_case_id"])
    Case.objects.filter(pk=case.pk).update(state="booked")  # (how it got there does not matter to the import)
    rows[0]["phone"] = "+992 93 000 1111"  # a booked family's details: refused by the database
    last = [r for r in rows if r["progres_case_id"] == rows[-1]["progres_case_id"]]
    last[0]["date_of_birth"] = "1990-02-30"  # a mistake in the row itself, in another case
    before = counts()

    report = run_import(to_csv(rows), "second.csv")

    assert [(e.row, e.column) for e in report.errors] == [(2, "phone"), (rows.index(last[0]) + 2, "date_of_birth")]
    assert report.errors[0].value == "+992 93 000 1111"
    assert f"Case {case.case_number} is booked" in report.errors[0].message
    assert counts() == before


@pytest.mark.django_db
def test_an_unknown_column_does_not_hide_what_the_database_refuses():
    run_import(SAMPLE, "first.csv")
    rows = sample_rows()
    Case.objects.filter(progres_case_id=rows[0]["progres_case_id"]).update(state="booked")
    rows[0]["phone"] = "+992 93 000 1111"

    report = run_import(to_csv(rows, COLUMNS + ["remarks"]), "second.csv")

    assert [(e.row, e.column) for e in report.errors] == [(1, "remarks"), (2, "phone")]


@pytest.mark.django_db
def test_what_the_database_refuses_is_counted_in_full_beside_the_rows_mistakes():
    """The page keeps the first fifty errors of a kind: the rest are counted, whichever check found them."""
    template = sample_rows()[0]
    big = [{**template, "progres_case_id": "870-26C99001", "progres_individual_id": f"870-26C99001-{n:02d}",
            "relationship": "PA" if n == 1 else "CHD", "phone": "", "special_needs": ""} for n in range(1, 61)]
    assert run_import(to_csv(big), "first.csv").ok
    Case.objects.filter(progres_case_id="870-26C99001").update(state="booked")
    for n, row in enumerate(big):
        row["phone"] = f"+992 93 000 {n:04d}"
    wrong = {**template, "progres_case_id": "870-26C99002", "progres_individual_id": "870-26C99002-01",
             "date_of_birth": "1990-02-30"}

    report = run_import(to_csv(big + [wrong]), "second.csv")

    assert report.error_count == 61
    assert len(report.errors) == 51  # the first 50 refusals and the bad date
    assert [line["count"] for line in report.omitted] == [10]
    assert report.omitted[0]["text"].startswith("… and 10 more rows with this problem in phone (from row 52)")


@pytest.mark.django_db
def test_an_individual_already_in_another_case_is_refused():
    run_import(SAMPLE, "first.csv")
    rows = sample_rows()
    last = rows[-1]
    rows[1].update({c: last[c] for c in ("progres_case_id", "destination_country", "priority",
                                         "submission_category", "referral_date")}, relationship="CHD")
    moved = [r for r in rows if r["progres_case_id"] == last["progres_case_id"]]
    report = run_import(to_csv(moved), "second.csv")
    assert [e.column for e in report.errors] == ["progres_case_id"]
    assert "already belongs to case" in report.errors[0].message


@pytest.mark.django_db
def test_the_number_of_queries_does_not_grow_with_the_rows():
    def rows_for(n):
        base = sample_rows()[0]
        return [dict(base, progres_case_id=f"870-26C{i:05d}", progres_individual_id=f"870-26C{i:05d}-01",
                     phone="") for i in range(n)]

    with CaptureQueriesContext(connection) as small:
        assert run_import(to_csv(rows_for(20)), "small.csv").ok
    with CaptureQueriesContext(connection) as large:
        assert run_import(to_csv(rows_for(600)), "large.csv").ok
    # Only the bulk inserts grow, by batches of many rows each (SQLite caps a batch at 999 parameters: a case row
    # has two dozen columns, so 580 more rows of cases, people, documents and log rows take 30-odd more batches;
    # a query per row would be 580). The large file also holds the small one's 20 people: they are read once more,
    # under their cases' locks.
    assert len(large.captured_queries) - len(small.captured_queries) <= 36


# --- the pages ----------------------------------------------------------------------------------------


def upload(client, data, name="referrals.csv"):
    return client.post("/imports/", {"file": io.BytesIO(data) and _named(data, name)})


def _named(data, name):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="text/csv")


@pytest.mark.django_db
def test_operations_upload_preview_then_confirm(ops, client):
    client.force_login(ops)
    response = upload(client, SAMPLE)
    assert response.status_code == 302
    record = ReferralUpload.objects.get()
    assert record.status == "previewed"
    preview = client.get(response.url).content.decode()
    assert 'data-testid="new-cases">12<' in preview and 'data-testid="new-people">45<' in preview
    assert counts() == (0, 0, 0, 0)

    assert client.post(f"/imports/{record.pk}/confirm/").status_code == 302
    record.refresh_from_db()
    assert record.status == "imported" and record.content is None
    assert Person.objects.count() == 45
    # The result names each new family by its principal applicant, and that read is logged.
    from django.utils.html import escape

    from privacy.models import AccessLogEntry

    result = client.get(f"/imports/{record.pk}/").content.decode()
    for case in Case.objects.all():
        pa = case.members.get(relationship="PA")
        row = (f'<td><a href="/cases/{case.case_number}/">{case.case_number}</a></td>'
               f'<td>{escape(f"{pa.family_name}, {pa.given_name}")}</td><td class="num">{case.members.count()}</td>')
        assert row in result
    logged = AccessLogEntry.objects.get(kind="case_list", target=f"import of {record.filename}")
    assert sorted(logged.cases.split()) == sorted(Case.objects.values_list("case_number", flat=True))
    again = client.post(f"/imports/{record.pk}/confirm/", follow=True)
    assert "nothing to confirm" in again.content.decode()
    assert Person.objects.count() == 45


@pytest.mark.django_db
def test_the_page_lists_every_error_of_a_refused_file(ops, client):
    client.force_login(ops)
    response = upload(client, FAULTY, "referrals-with-errors.csv")
    page = client.get(response.url).content.decode()
    assert "Refused: 9 errors — nothing was saved" in page
    assert "31/02/1990" in page and "not an ISO date (YYYY-MM-DD)" in page
    record = ReferralUpload.objects.get()
    assert record.status == "refused" and record.content is None
    assert client.post(f"/imports/{record.pk}/confirm/").status_code == 302
    assert counts() == (0, 0, 0, 0)
    # The report quotes the file's cells (dates of birth, phones): reading it is logged.
    from privacy.models import AccessLogEntry

    logged = AccessLogEntry.objects.get(kind="import_report")
    assert (logged.user, logged.target, logged.detail) == (
        ops, "import of referrals-with-errors.csv", {"status": "refused", "errors": 9})


@pytest.mark.django_db
def test_reading_a_preview_that_would_change_known_people_is_logged_with_their_cases(ops, client):
    from privacy.models import AccessLogEntry

    assert run_import(SAMPLE, "first.csv").applied
    rows = sample_rows()
    rows[0] = dict(rows[0], phone="+992 93 555 0101")
    client.force_login(ops)
    response = upload(client, to_csv(rows), "again.csv")
    client.get(response.url)

    logged = AccessLogEntry.objects.get(kind="import_report")
    number = Person.objects.get(progres_individual_id=rows[0]["progres_individual_id"]).case.case_number
    assert logged.target == "import of again.csv" and logged.cases.split() == [number]


@pytest.mark.django_db
def test_a_huge_upload_is_refused_before_it_is_read(ops, client, settings):
    settings.SAFAR_MAX_UPLOAD_BYTES = 1024 * 1024
    client.force_login(ops)
    response = upload(client, b"x" * (3 * 1024 * 1024), "huge.csv")
    assert response.status_code == 413
    assert "largest accepted" in response.content.decode()
    assert not ReferralUpload.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name, data", [(h[0], h[1]) for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_uploads_never_answer_500(ops, client, name, data):
    client.force_login(ops)
    response = upload(client, data, name)
    assert response.status_code in (302, 400)
    if response.status_code == 302:
        assert client.get(response.url).status_code == 200
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["medical", "trainer", "escort", "unhcr"])
def test_only_operations_can_reach_the_import_pages_and_results(role, personas, ops, client):
    client.force_login(ops)
    upload(client, SAMPLE)
    record = ReferralUpload.objects.get()
    client.force_login(personas[role])
    assert client.get("/imports/").status_code == 403
    assert client.get(f"/imports/{record.pk}/").status_code == 403
    assert client.post(f"/imports/{record.pk}/confirm/").status_code == 403
    assert client.post(f"/imports/{record.pk}/discard/").status_code == 403
    assert upload(client, SAMPLE).status_code == 403
    assert counts() == (0, 0, 0, 0)
    assert ReferralUpload.objects.count() == 1


@pytest.mark.django_db
def test_uploads_are_still_csrf_checked_and_an_oversized_file_is_discarded_unstored(ops, settings):
    from django.test import Client

    settings.SAFAR_MAX_UPLOAD_BYTES = 1024 * 1024
    client = Client(enforce_csrf_checks=True)
    client.force_login(ops)
    assert upload(client, SAMPLE).status_code == 403  # no token: refused
    client.get("/imports/")
    token = client.cookies["csrftoken"].value
    big = client.post("/imports/", {"file": _named(b"x" * (2 * 1024 * 1024), "big.csv"),
                                    "csrfmiddlewaretoken": token})
    assert big.status_code == 413
    ok = client.post("/imports/", {"file": _named(SAMPLE, "referrals.csv"), "csrfmiddlewaretoken": token})
    assert ok.status_code == 302
    assert ReferralUpload.objects.get().report["rows"] == 45


@pytest.mark.django_db
def test_swapping_the_principal_applicant_within_a_case_imports(ops):
    run_import(SAMPLE, "first.csv")
    rows = sample_rows()
    case_id = rows[0]["progres_case_id"]
    members = [r for r in rows if r["progres_case_id"] == case_id]
    members[0]["relationship"], members[1]["relationship"] = "SPS", "PA"
    report = run_import(to_csv(members), "second.csv", by=ops)
    assert report.ok, report.errors
    pa = Person.objects.get(case__progres_case_id=case_id, relationship="PA")
    assert pa.progres_individual_id == members[1]["progres_individual_id"]


@pytest.mark.django_db
def test_a_second_principal_applicant_for_an_existing_case_is_refused_not_a_crash():
    run_import(SAMPLE, "first.csv")
    rows = sample_rows()
    case_id = rows[0]["progres_case_id"]
    newcomer = dict(rows[0], progres_individual_id=f"{case_id}-99", given_name="Newcomer")
    before = counts()
    report = run_import(to_csv([newcomer]), "second.csv")  # the old PA is not in this file, but still in the case
    assert [(e.column, e.message.split(" would have ")[1][:1]) for e in report.errors] == [("relationship", "2")]
    assert counts() == before


@pytest.mark.django_db
def test_optional_columns_left_out_of_a_file_keep_what_is_stored():
    run_import(SAMPLE, "first.csv")
    phones_before = dict(Person.objects.values_list("progres_individual_id", "phone"))
    columns = [c for c in COLUMNS if c not in ("phone", "native_name")]
    report = run_import(to_csv(sample_rows(), columns), "no-phones.csv")
    assert report.ok and report.updated_people == {}
    assert dict(Person.objects.values_list("progres_individual_id", "phone")) == phones_before
    assert Person.objects.exclude(native_name="").count() == 45


@pytest.mark.django_db
def test_a_file_without_the_category_column_keeps_the_stored_categories():
    run_import(SAMPLE, "first.csv")
    before = dict(Case.objects.values_list("progres_case_id", "submission_category"))
    columns = [c for c in COLUMNS if c != "submission_category"]
    report = run_import(to_csv(sample_rows(), columns), "second.csv")
    assert report.ok and report.updated_cases == {}
    assert dict(Case.objects.values_list("progres_case_id", "submission_category")) == before


@pytest.mark.django_db
def test_replacing_the_principal_applicant_with_a_newcomer_imports():
    run_import(SAMPLE, "first.csv")
    rows = sample_rows()
    case_id = rows[0]["progres_case_id"]
    members = [r for r in rows if r["progres_case_id"] == case_id]
    members[0]["relationship"] = "SPS"
    members.append(dict(members[0], progres_individual_id=f"{case_id}-99", given_name="Newcomer", relationship="PA"))
    report = run_import(to_csv(members), "second.csv")
    assert report.ok, report.errors
    assert Person.objects.get(case__progres_case_id=case_id, relationship="PA").given_name == "Newcomer"


@pytest.mark.django_db
def test_a_damaged_workbook_and_a_very_long_file_name_are_handled(ops, client):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "this is not xml <<<")
    report = run_import(buffer.getvalue(), "broken.xlsx")
    assert "cannot be read as an XLSX workbook" in report.errors[0].message
    client.force_login(ops)
    upload(client, SAMPLE, "r" * 250 + ".csv")
    record = ReferralUpload.objects.get()
    assert client.post(f"/imports/{record.pk}/confirm/").status_code == 302
    assert Person.objects.count() == 45
    assert len(CaseTransition.objects.first().actor) == 200


@pytest.mark.django_db
def test_trailing_empty_columns_from_a_spreadsheet_export_are_ignored():
    lines = SAMPLE.decode("utf-8").splitlines()
    data = "\n".join(line + ",," for line in lines).encode("utf-8")
    report = run_import(data, "excel.csv")
    assert report.ok, report.errors[:2]
    assert len(report.new_people) == 45


def xlsx_of(rows, **cells):
    """The rows as an XLSX workbook (openpyxl), with `cells` (column → function of the row) giving some columns
    typed values (a date, a number) instead of text."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(rows[0].keys()))
    for row in rows:
        sheet.append([cells[column](row) if column in cells else value for column, value in row.items()])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@pytest.mark.django_db
def test_xlsx_date_cells_and_numeric_phone_cells_are_read_as_the_contract_means():
    import datetime

    rows = sample_rows()[:4]
    data = xlsx_of(rows, date_of_birth=lambda row: datetime.datetime.fromisoformat(row["date_of_birth"] + " 13:45"),
                   phone=lambda row: 992934904548 if row["relationship"] == "PA" else None)
    report = run_import(data, "dates.xlsx")
    assert report.ok, report.errors[:2]
    pa = Person.objects.get(relationship="PA")
    assert pa.date_of_birth.isoformat() == rows[0]["date_of_birth"]
    assert str(pa.phone) == "+992934904548"


@pytest.mark.django_db
def test_a_date_in_a_cell_not_formatted_as_a_date_is_refused_with_what_it_looks_like():
    # Excel keeps a date as a serial number of days (1 is 1 January 1900; =DATE(2023,1,1) is 44927): in a column
    # formatted "General" the cell holds that number, and openpyxl reads it as such.
    report = run_import(xlsx_of(sample_rows()[:2], date_of_birth=lambda row: 44927), "general.xlsx")

    assert not report.ok and not Person.objects.exists()
    first = report.errors[0]
    assert (first.row, first.column, first.value) == (2, "date_of_birth", "44927")
    assert ("44927 looks like a date as Excel stores it (2023-01-01?) in a cell not formatted as a date: format "
            "the column as a date, or write the date as YYYY-MM-DD") in first.message


@pytest.mark.django_db
def test_a_workbook_whose_first_sheet_is_notes_is_refused_naming_the_sheets():
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(xlsx_of(sample_rows()[:3])))
    workbook.active.title = "Referrals"
    notes = workbook.create_sheet("Read me", 0)  # in front, as a partner's template keeps its instructions
    notes.append(["Read me"])
    notes.append(["One row per person; dates as YYYY-MM-DD."])
    buffer = io.BytesIO()
    workbook.save(buffer)

    report = run_import(buffer.getvalue(), "template.xlsx")

    assert not report.ok and not Person.objects.exists()
    # Before: "unknown column 'Read me'; the contract's columns are …", and nothing said which sheet was read.
    assert [issue.message for issue in report.errors] == [
        "The first worksheet, “Read me”, has none of the contract's columns in its first row. Only the first "
        "worksheet is read, and its first row must be the header: move the referral's worksheet to the front (the "
        "workbook's other worksheets: “Referrals”), or delete the rows above its header, or save it as a file of "
        "its own."]
    # Excel's empty "Sheet1" in front is named as well.
    for row in range(notes.max_row, 0, -1):
        notes.delete_rows(row)
    notes.title = "Sheet1"
    buffer = io.BytesIO()
    workbook.save(buffer)
    (empty,) = run_import(buffer.getvalue(), "template.xlsx").errors
    assert empty.message.startswith("The first worksheet, “Sheet1”, is empty, and only the first worksheet is read: "
                                    "move the referral's worksheet to the front (the workbook's other worksheets: "
                                    "“Referrals”)")
    workbook.move_sheet("Referrals", offset=-1)
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert run_import(buffer.getvalue(), "template.xlsx").ok


@pytest.mark.django_db
def test_names_must_be_latin_script_as_on_the_travel_document():
    rows = sample_rows()
    rows[2]["given_name"] = rows[2]["native_name"].split()[0]
    report = run_import(to_csv(rows), "r.csv")
    assert [(e.row, e.column) for e in report.errors] == [(4, "given_name")]
    assert "not in Latin script" in report.errors[0].message


@pytest.mark.django_db
def test_uploading_a_file_already_imported_says_so(ops, client):
    client.force_login(ops)
    upload(client, SAMPLE)
    client.post(f"/imports/{ReferralUpload.objects.get().pk}/confirm/")
    again = client.get(upload(client, SAMPLE).url).content.decode()
    assert "This very file (same SHA-256) was imported on" in again
    assert 'data-testid="unchanged-people">45<' in again


# --- files as Excel and older Windows write them (the real-world input issue) -----------------------------------


@pytest.mark.django_db
def test_excels_unicode_text_utf16_with_tabs_imports_like_the_csv():
    rows = sample_rows()
    text = "\t".join(COLUMNS) + "\r\n" + "".join("\t".join(r[c] for c in COLUMNS) + "\r\n" for r in rows)

    report = run_import(text.encode("utf-16"), "referrals.txt")

    assert report.errors == []
    assert report.applied
    assert Person.objects.count() == len(rows)
    assert Person.objects.filter(native_name=rows[0]["native_name"]).exists()


@pytest.mark.django_db
def test_tab_separated_utf8_imports_too():
    rows = sample_rows()
    text = "\t".join(COLUMNS) + "\n" + "".join("\t".join(r[c] for c in COLUMNS) + "\n" for r in rows)

    report = run_import(text.encode("utf-8"), "referrals.tsv")

    assert report.errors == [] and report.applied


@pytest.mark.parametrize("codec, named", [
    ("cp1256", "Windows-1256 (Arabic script: Dari, Pashto)"),
    ("cp1251", "Windows-1251 (Cyrillic: Tajik, Russian)"),
    ("cp1252", "Latin-1/Windows-1252"),
])
@pytest.mark.django_db
def test_a_file_in_an_old_windows_encoding_is_refused_naming_the_likely_one(codec, named):
    names = {"cp1256": "محمد رضا کريمي", "cp1251": "Рахимов Джамшед", "cp1252": "Müller Jörg Ångström"}[codec]
    rows = sample_rows()
    for row in rows:
        row["native_name"] = names
    data = to_csv(rows).decode("utf-8").encode(codec, errors="replace")

    report = run_import(data, "referrals.csv")

    assert not report.applied
    message = report.errors[0].message
    assert f"It was probably saved as {named}" in message
    assert "save it again as “CSV UTF-8”" in message
    assert counts() == (0, 0, 0, 0)
