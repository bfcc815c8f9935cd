"""Hostile referral files (hardening): ZIP bombs, endless cells, millions of errors, control characters, and two
imports of one file at once. Each test is a tester's reproduction, scaled down to run in a moment."""

import io
import json
import threading
import time
import zipfile

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from movements import workbook_reader
from movements.models import Case, Person, ReferralUpload
from movements.referral_import import COLUMNS, MAX_ISSUES_PER_KIND, _claim, run_import
from tests.test_referral_import import DATA, FAULTY, SAMPLE, counts, sample_rows, to_csv, upload

# --- building workbooks by hand (what a spreadsheet program would never write) ----------------------------

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def workbook(sheet_xml, shared_strings_xml=None, compression=zipfile.ZIP_DEFLATED):
    """A minimal XLSX: content types, relationships, a workbook, one worksheet, maybe shared strings."""
    strings_override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{STRINGS_TYPE}"/>'
    strings_relation = (f'<Relationship Id="rId2" Type="{RELATIONSHIPS}/sharedStrings" '
                        'Target="sharedStrings.xml"/>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SHEET_TYPE}"/>'
            f'{strings_override if shared_strings_xml is not None else ""}</Types>'
        ))
        archive.writestr("_rels/.rels", (
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{RELATIONSHIPS}/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'
        ))
        archive.writestr("xl/workbook.xml", (
            f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets>'
            '<sheet name="Referrals" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ))
        archive.writestr("xl/_rels/workbook.xml.rels", (
            f'<Relationships xmlns="{PACKAGE}"><Relationship Id="rId1" Type="{RELATIONSHIPS}/worksheet" '
            f'Target="worksheets/sheet1.xml"/>{strings_relation if shared_strings_xml is not None else ""}'
            '</Relationships>'
        ))
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if shared_strings_xml is not None:
            archive.writestr("xl/sharedStrings.xml", shared_strings_xml)
    return buffer.getvalue()


def letter(index):
    return "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[index]


def inline_row(number, values):
    cells = "".join(
        f'<c r="{letter(i)}{number}" t="inlineStr"><is><t>{value}</t></is></c>' for i, value in enumerate(values)
    )
    return f'<row r="{number}">{cells}</row>'


def sheet(*rows, before=""):
    return f'<worksheet xmlns="{MAIN}">{before}<sheetData>{"".join(rows)}</sheetData></worksheet>'


def sample_sheet_rows(rows=None):
    rows = rows or sample_rows()
    return [inline_row(1, COLUMNS)] + [inline_row(n, [row[c] for c in COLUMNS]) for n, row in enumerate(rows, 2)]


def messages(report):
    return [e.message for e in report.errors]


# --- XLSX bombs -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_hand_made_workbook_of_the_sample_still_imports():
    report = run_import(workbook(sheet(*sample_sheet_rows())), "referrals.xlsx")

    assert report.ok, report.errors[:3]
    assert (len(report.new_cases), len(report.new_people)) == (12, 45)


@pytest.mark.django_db
def test_a_workbook_whose_one_cell_unpacks_past_the_limit_is_refused_before_it_is_unpacked(settings):
    settings.SAFAR_MAX_XLSX_UNPACKED_BYTES = 2 * 1024 * 1024
    bomb = workbook(sheet(inline_row(1, COLUMNS), inline_row(2, ["A" * (3 * 1024 * 1024)])))
    assert len(bomb) < 20_000  # a few kilobytes, like the tester's 1.5 MB file for 1.5 GB

    started = time.perf_counter()
    report = run_import(bomb, "bomb.xlsx")

    assert time.perf_counter() - started < 2
    assert [e.message for e in report.errors] == [
        "The workbook unpacks to 3.0 MB; the most accepted is 2.0 MB. A referral table that large does not fit "
        "in one file: split it."
    ]
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_a_part_that_unpacks_a_thousand_times_larger_is_refused_as_a_zip_bomb():
    bomb = workbook(sheet(inline_row(1, COLUMNS), inline_row(2, ["A" * (2 * 1024 * 1024)])))

    report = run_import(bomb, "bomb.xlsx")

    (message,) = messages(report)
    assert message.startswith("A part of the workbook (xl/worksheets/sheet1.xml) unpacks ")
    assert "times larger" in message and "that is a ZIP bomb, not a spreadsheet" in message


@pytest.mark.django_db
def test_a_large_part_besides_the_worksheets_is_refused():
    data = workbook(sheet(*sample_sheet_rows()))
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/styles-junk.xml", b"<x/>" * (1024 * 1024 + 1))

    report = run_import(buffer.getvalue(), "junk.xlsx")

    assert messages(report) == [
        "A part of the workbook (xl/styles-junk.xml) unpacks to 4.0 MB; a referral table has no part that large "
        "besides its worksheets."
    ]


def lying(data, name, declared):
    """The workbook with part `name` declaring `declared` bytes unpacked, in its header and in the directory."""
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = archive.getinfo(name)
    size = declared.to_bytes(4, "little")
    data[info.header_offset + 22:info.header_offset + 26] = size
    position = data.find(b"PK\x01\x02")
    while data[position + 46:position + 46 + len(name)] != name.encode():
        position = data.find(b"PK\x01\x02", position + 4)
    data[position + 24:position + 28] = size
    return bytes(data)


@pytest.mark.django_db
def test_a_worksheet_lying_about_its_size_stops_where_it_said_it_would_and_is_refused(settings):
    settings.SAFAR_MAX_XLSX_UNPACKED_BYTES = 2 * 1024 * 1024
    honest = workbook(sheet(inline_row(1, COLUMNS), inline_row(2, ["A" * (50 * 1024 * 1024)])))
    bomb = lying(honest, "xl/worksheets/sheet1.xml", declared=1024 * 1024)  # 1 MB declared, 50 MB inside

    started = time.perf_counter()
    report = run_import(bomb, "liar.xlsx")

    assert time.perf_counter() - started < 5
    (message,) = messages(report)
    assert message.startswith("The workbook is damaged after row 1: its worksheet does not hold what the archive "
                              "declares")
    assert counts() == (0, 0, 0, 0)


def test_every_read_from_the_archive_is_counted_and_stops_at_the_budget():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"A" * 300_000)
    archive = workbook_reader._BoundedArchive(io.BytesIO(buffer.getvalue()), budget=200_000)

    with pytest.raises(workbook_reader.WorkbookRefused, match="unpacks to more than"):
        archive.read("xl/worksheets/sheet1.xml")
    assert archive.unpacked <= 200_000 + workbook_reader.CHUNK


@pytest.mark.django_db
def test_more_shared_strings_than_a_file_of_the_row_limit_can_use_are_refused(settings):
    settings.SAFAR_MAX_IMPORT_ROWS = 10  # 10 rows of 15 columns, and a header: 250 texts at most
    strings = "".join(f"<si><t>s{n}</t></si>" for n in range(300))
    data = workbook(sheet('<row r="1"><c r="A1" t="s"><v>0</v></c></row>'),
                    shared_strings_xml=f'<sst xmlns="{MAIN}">{strings}</sst>')

    report = run_import(data, "strings.xlsx")

    assert messages(report) == [
        "The workbook holds more than 250 different texts, more than a referral file can use: it is not a plain "
        "referral table."
    ]


@pytest.mark.django_db
def test_shared_strings_rich_text_and_phonetic_guides_are_read_as_their_text():
    rows = sample_rows()[:2]
    texts = list(dict.fromkeys(COLUMNS + [row[c] for row in rows for c in COLUMNS]))
    items = [f"<si><t>{t}</t></si>" for t in texts]
    family = texts.index(rows[0]["family_name"])
    items[family] = (f'<si><r><t>{rows[0]["family_name"][:3]}</t></r><r><t>{rows[0]["family_name"][3:]}</t></r>'
                     '<rPh sb="0" eb="1"><t>PHONETIC</t></rPh></si>')
    cells = [
        f'<row r="{n}">' + "".join(f'<c r="{letter(i)}{n}" t="s"><v>{texts.index(v)}</v></c>'
                                  for i, v in enumerate(values)) + "</row>"
        for n, values in enumerate([COLUMNS] + [[row[c] for c in COLUMNS] for row in rows], 1)
    ]
    data = workbook(sheet(*cells), shared_strings_xml=f'<sst xmlns="{MAIN}">{"".join(items)}</sst>')

    report = run_import(data, "shared.xlsx")

    assert report.ok, report.errors[:3]
    assert Person.objects.get(progres_individual_id=rows[0]["progres_individual_id"]).family_name == \
        rows[0]["family_name"]


@pytest.mark.django_db
def test_a_worksheet_claiming_every_row_and_column_of_a_spreadsheet_is_read_in_a_moment():
    # The last row of a spreadsheet holds a whole referral, and a cell in the last column too.
    last = dict(sample_rows()[0], progres_case_id="870-26C99999", progres_individual_id="870-26C99999-01")
    far = inline_row(1048576, [last[c] for c in COLUMNS]).replace(
        "</row>", '<c r="XFD1048576" t="inlineStr"><is><t>far away</t></is></c></row>')
    data = workbook(sheet(*sample_sheet_rows(), far, before='<dimension ref="A1:XFD1048576"/>'))

    started = time.perf_counter()
    report = run_import(data, "wide.xlsx")

    assert time.perf_counter() - started < 5
    assert [(e.row, e.message) for e in report.errors] == [
        (1048576, "this row has more cells than the header has columns")
    ]


@pytest.mark.django_db
def test_a_row_past_the_last_row_of_a_spreadsheet_is_refused():
    data = workbook(sheet(*sample_sheet_rows(), inline_row(1048577, ["x"])))

    report = run_import(data, "far.xlsx")

    assert messages(report) == ["The worksheet goes past row 1,048,576, the last row of a spreadsheet."]


@pytest.mark.django_db
def test_a_workbook_with_an_xml_document_type_is_refused():
    data = workbook('<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>' + sheet(*sample_sheet_rows()))

    report = run_import(data, "doctype.xlsx")

    assert messages(report) == ["The workbook holds an XML document type declaration, which no spreadsheet writes."]


# --- endless cells ------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_endless_cell_is_refused_and_shown_cut_with_its_length(kind):
    rows = sample_rows()
    rows[3]["native_name"] = "ع" * 50_000
    data = to_csv(rows) if kind == "csv" else workbook(sheet(*sample_sheet_rows(rows)))

    report = run_import(data, f"long.{kind}")

    (issue,) = report.errors
    assert (issue.row, issue.column) == (5, "native_name")
    assert issue.message == "far too long (50,000 characters): no value of a referral file has more than 1,000"
    assert issue.value == "ع" * 60 + "…" and issue.length == 50_000
    assert str(issue) == f"row 5, native_name: '{'ع' * 60}…' (50,000 characters) {issue.message}"
    assert len(json.dumps(report.as_dict())) < 10_000


@pytest.mark.django_db
def test_the_error_page_shows_an_endless_cell_cut_with_its_length(ops, client):
    rows = sample_rows()
    rows[3]["native_name"] = "ع" * 50_000
    client.force_login(ops)

    page = client.get(upload(client, to_csv(rows), "long.csv").url).content.decode()

    assert "(50,000 characters)" in page and "ع" * 61 not in page
    assert ReferralUpload.objects.get().report["errors"][0]["length"] == 50_000


@pytest.mark.django_db
def test_a_name_just_over_its_limit_gets_the_names_message_with_its_start_shown():
    rows = sample_rows()
    rows[0]["family_name"] = "K" * 150

    report = run_import(to_csv(rows), "r.csv")

    (issue,) = report.errors
    assert issue.message == "too long for a name"
    assert issue.value == "K" * 60 + "…" and issue.length == 150


@pytest.mark.django_db
def test_a_csv_cell_past_the_csv_readers_limit_gets_a_plain_message():
    rows = sample_rows()
    rows[0]["native_name"] = "x" * 200_000

    report = run_import(to_csv(rows), "r.csv")

    assert messages(report) == [
        "Row 2 cannot be read as CSV: a cell holds more than 131,072 characters, and no value of a referral file "
        "has more than 1,000."
    ]


@pytest.mark.django_db
def test_an_endless_column_name_is_not_echoed_whole():
    data = ",".join(COLUMNS + ["Z" * 5000]).encode() + b"\n" + to_csv(sample_rows()).split(b"\n", 1)[1]

    report = run_import(data, "r.csv")

    (issue,) = report.errors
    assert issue.message.startswith(f"unknown column '{'Z' * 60}…'")
    assert len(issue.message) < 400 and issue.length == 5000


# --- millions of errors ----------------------------------------------------------------------------------


def every_date_wrong(rows=300):
    base = sample_rows()[0]
    return to_csv([dict(base, progres_case_id=f"870-26C{n:05d}", progres_individual_id=f"870-26C{n:05d}-01",
                        date_of_birth="31/02/1990") for n in range(rows)])


@pytest.mark.django_db
def test_the_faulty_file_lists_exactly_its_nine_planted_errors_and_nothing_summarised(capsys):
    report = run_import(FAULTY, "referrals-with-errors.csv")

    assert report.error_count == len(report.errors) == 9
    assert report.omitted == []
    with pytest.raises(SystemExit):
        call_command("import_referrals", str(DATA / "referrals-with-errors.csv"))
    out = capsys.readouterr().out.splitlines()
    listed = [line.split("\t") for line in out[2:]]
    expected = [line.split("\t") for line in (DATA / "referrals-with-errors.expected.tsv").read_text().splitlines()]
    assert len(listed) == len(expected) == 9
    assert sorted((int(r), c) for r, c, *_ in listed if c != "progres_individual_id") == \
        sorted((int(r), c) for r, c, *_ in expected if c != "progres_individual_id")
    assert not any(line.startswith("… and") for line in out)


@pytest.mark.django_db
def test_beyond_fifty_errors_of_one_kind_in_one_column_the_rest_are_counted_not_listed():
    report = run_import(every_date_wrong(300), "dates.csv")

    assert report.error_count == 300
    assert len(report.errors) == MAX_ISSUES_PER_KIND == 50
    assert [e.row for e in report.errors] == list(range(2, 52))
    assert report.omitted == [{
        "column": "date_of_birth", "count": 250,
        "text": "… and 250 more rows with this problem in date_of_birth (from row 52): not an ISO date (YYYY-MM-DD)",
    }]
    assert report.summary() == "300 errors: nothing was imported."


@pytest.mark.django_db
def test_a_file_with_every_cell_wrong_makes_a_report_of_a_few_kilobytes_that_counts_every_error():
    wrong = {c: "?" for c in COLUMNS}
    data = to_csv([dict(wrong) for _ in range(2000)])

    report = run_import(data, "wrong.csv")

    assert report.error_count > 2000 * 10
    assert len(report.errors) <= 500
    stored = json.dumps(report.as_dict())
    assert len(stored) < 200_000
    assert report.as_dict()["error_count"] == report.error_count
    assert sum(line["count"] for line in report.omitted) + len(report.errors) == report.error_count


@pytest.mark.django_db
def test_the_command_lists_every_error_the_page_only_the_first_of_each_kind(tmp_path, capsys):
    """The contract's report lists every error: the command prints one line for each (a script reads them all);
    the page keeps the first fifty of each kind and counts the rest."""
    path = tmp_path / "dates.csv"
    path.write_bytes(every_date_wrong(120))

    with pytest.raises(SystemExit) as exited:
        call_command("import_referrals", str(path), "--dry-run")

    assert exited.value.code == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "dates.csv: refused, nothing was imported. 120 error(s):"
    assert [line.split("\t")[:2] for line in out[2:]] == [[str(row), "date_of_birth"] for row in range(2, 122)]
    assert not any(line.startswith("… and") for line in out)


@pytest.mark.django_db
def test_the_command_refuses_a_file_over_the_size_limit_without_reading_it_whole(tmp_path, capsys, settings):
    settings.SAFAR_MAX_UPLOAD_BYTES = 1024 * 1024
    path = tmp_path / "big.csv"
    path.write_bytes(SAMPLE * 300)

    with pytest.raises(SystemExit) as exited:
        call_command("import_referrals", str(path))

    assert exited.value.code == 1
    assert "the largest accepted is 1.0 MB" in capsys.readouterr().out


@pytest.mark.django_db
def test_the_error_page_shows_the_count_the_first_errors_and_the_summaries(ops, client):
    client.force_login(ops)
    response = upload(client, every_date_wrong(300), "dates.csv")
    page = client.get(response.url).content.decode()

    assert "Refused: 300 errors — nothing was saved" in page
    assert page.count("31/02/1990") == 50
    assert "… and 250 more rows with this problem in date_of_birth (from row 52)" in page
    record = ReferralUpload.objects.get()
    assert (record.row_count, record.error_count) == (300, 300)


@pytest.mark.django_db
def test_the_list_of_imports_never_loads_a_report(ops, client):
    client.force_login(ops)
    upload(client, every_date_wrong(300), "dates.csv")
    upload(client, SAMPLE, "referrals.csv")

    with CaptureQueriesContext(connection) as queries:
        page = client.get("/imports/").content.decode()

    selects = [q["sql"] for q in queries.captured_queries
               if "movements_referralupload" in q["sql"] and q["sql"].startswith("SELECT")]
    assert selects and not any('"report"' in sql or '"content"' in sql for sql in selects)
    assert '<td class="num">300</td><td class="num">300</td>' in page
    assert '<td class="num">45</td><td class="num">0</td>' in page


@pytest.mark.django_db
def test_uploads_made_before_the_counts_existed_get_them_from_their_reports(ops):
    import importlib

    from django.apps import apps

    migration = importlib.import_module("movements.migrations.0015_hardening_upload_counts")
    old = ReferralUpload.objects.create(filename="old.csv", sha256="0" * 64, size=1, status="refused",
                                        report={"rows": 45, "errors": [{"row": 2}] * 9})

    migration.count_from_reports(apps, None)

    old.refresh_from_db()
    assert (old.row_count, old.error_count) == (45, 9)


# --- control characters -----------------------------------------------------------------------------------


def with_nul_after_64_kib():
    rows = sample_rows()
    filler = [dict(rows[0], progres_case_id=f"870-26C{n:05d}", progres_individual_id=f"870-26C{n:05d}-01",
                   phone="", native_name="ن" * 40) for n in range(600)]
    late = dict(rows[0], progres_case_id="870-26C99999", progres_individual_id="870-26C99999-01", phone="",
                native_name="زهرا\x00کریمی")
    data = to_csv(filler + [late])
    assert data.index(b"\x00") > 65536
    return data, len(filler) + 2


@pytest.mark.django_db
def test_a_nul_after_the_first_64_kib_is_refused_at_the_preview_and_shown_visibly():
    data, row = with_nul_after_64_kib()

    report = run_import(data, "nul.csv", dry_run=True)

    (issue,) = report.errors
    assert (issue.row, issue.column) == (row, "native_name")
    assert issue.message == "holds a control character (U+0000), which no name, date or code has: remove it"
    assert issue.value == "زهرا␀کریمی"
    assert counts() == (0, 0, 0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize("column, value", [
    ("given_name", "Za\x07hra"), ("family_name", "Kar\x1bimi"), ("phone", "+992 93\x85 123 4567"),
    ("progres_individual_id", "870-26C00001\x7f-01"),
])
def test_any_control_character_inside_a_cell_is_refused(column, value):
    rows = sample_rows()
    rows[1][column] = value

    report = run_import(to_csv(rows), "r.csv")

    assert [(e.row, e.column) for e in report.errors] == [(3, column)]
    assert report.errors[0].message.startswith("holds a control character (U+")


@pytest.mark.django_db
def test_tabs_and_line_ends_around_a_value_are_trimmed_not_refused():
    rows = sample_rows()
    rows[1]["given_name"] = "\tAhmad \r\n"

    report = run_import(to_csv(rows), "r.csv")

    assert report.ok, report.errors


@pytest.mark.django_db
def test_a_nul_in_a_file_never_reaches_the_database_through_the_pages(ops, client):
    # PostgreSQL refuses a NUL in text and JSON: the preview must refuse what the confirmation could not save.
    data, row = with_nul_after_64_kib()
    client.force_login(ops)

    response = upload(client, data, "nul\x00name.csv")

    assert response.status_code == 302
    page = client.get(response.url)
    assert page.status_code == 200
    assert "holds a control character (U+0000)" in page.content.decode()
    record = ReferralUpload.objects.get()
    assert record.status == "refused" and "\x00" not in record.filename
    assert client.post(f"/imports/{record.pk}/confirm/").status_code == 302
    assert counts() == (0, 0, 0, 0)


# --- two imports of one file at once (PostgreSQL: real locks, real threads) -------------------------------

class Holder:
    """Another import under way: a thread that claims the file (or inserts a person) and waits to be released."""

    def __init__(self, action):
        self.action = action
        self.holding = threading.Event()
        self.release = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self.run)

    def run(self):
        try:
            with transaction.atomic():
                self.action()
                self.holding.set()
                self.release.wait(timeout=30)
        except Exception as e:  # noqa: BLE001 — reported to the test
            self.error = e
            self.holding.set()
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(timeout=10) and self.error is None, self.error
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(timeout=30)
        assert self.error is None, self.error


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real advisory locks")
@pytest.mark.django_db(transaction=True)
def test_while_someone_imports_a_file_the_same_file_is_refused_with_a_plain_message():
    with Holder(lambda: _claim(SAMPLE)):
        report = run_import(SAMPLE, "referrals-sample.csv")

    assert report.busy and not report.applied
    assert [str(e) for e in report.errors] == [
        "file: This file is being imported by someone else at this moment: nothing was saved from this attempt. "
        "Look at the list of imports in a minute: it has most likely been imported already."
    ]
    assert counts() == (0, 0, 0, 0)
    assert run_import(SAMPLE, "referrals-sample.csv").applied  # once the other import is over


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real advisory locks")
@pytest.mark.django_db(transaction=True)
def test_the_command_says_so_and_exits_1_when_the_file_is_being_imported(tmp_path, capsys):
    path = tmp_path / "referrals-sample.csv"
    path.write_bytes(SAMPLE)

    with Holder(lambda: _claim(SAMPLE)), pytest.raises(SystemExit) as exited:
        call_command("import_referrals", str(path))

    assert exited.value.code == 1
    assert "This file is being imported by someone else at this moment" in capsys.readouterr().out
    assert counts() == (0, 0, 0, 0)


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real advisory locks")
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("roles")
def test_the_page_says_so_and_keeps_the_upload_ready_to_confirm(ops, client):
    client.force_login(ops)
    record = ReferralUpload.objects.get(pk=upload_pk(client))

    with Holder(lambda: _claim(SAMPLE)):
        response = client.post(f"/imports/{record.pk}/confirm/", follow=True)

    assert response.status_code == 200
    assert "This file is being imported by someone else at this moment" in response.content.decode()
    record.refresh_from_db()
    assert record.status == "previewed" and record.content is not None
    assert counts() == (0, 0, 0, 0)
    client.post(f"/imports/{record.pk}/confirm/")
    record.refresh_from_db()
    assert record.status == "imported" and Person.objects.count() == 45


def upload_pk(client):
    response = upload(client, SAMPLE)
    assert response.status_code == 302, response.content[:300]
    return int(response.url.rstrip("/").rsplit("/", 1)[1])


def waiting_for_a_lock(timeout=10):
    """Wait until another connection waits for a row or index lock held by an open transaction."""
    from django.db import connections

    deadline = time.monotonic() + timeout
    watcher = connections.create_connection("default")
    try:
        with watcher.cursor() as cursor:
            while time.monotonic() < deadline:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                               "AND datname = current_database()")
                if cursor.fetchone()[0]:
                    return True
                time.sleep(0.05)
    finally:
        watcher.close()
    return False


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real row locks")
@pytest.mark.django_db(transaction=True)
def test_another_import_saving_the_same_people_meanwhile_is_explained_not_a_crash():
    rows = sample_rows()
    first = rows[0]
    results = {}

    def insert_the_first_person():
        case = Case.objects.create(progres_case_id="870-26C99999", referral_date="2026-03-01")
        Person.objects.create(case=case, progres_individual_id=first["progres_individual_id"], relationship="PA",
                              family_name="Other", given_name="Import", sex="F", date_of_birth="1990-01-01",
                              nationality="AFG")

    def importer():
        try:
            results["report"] = run_import(to_csv(rows), "referrals.csv")
        finally:
            connection.close()

    with Holder(insert_the_first_person):
        thread = threading.Thread(target=importer)
        thread.start()
        assert waiting_for_a_lock(), "the import never reached the other transaction's row"
    thread.join(timeout=30)

    report = results["report"]
    assert report.busy and not report.applied
    assert [e.message for e in report.errors] == [
        "Another import saved some of the same cases or people while this file was being imported: nothing was "
        "saved from this file. Check the file again to see what is left to import."
    ]
    assert Person.objects.count() == 1 and Case.objects.count() == 1


@pytest.mark.postgres_only
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL: real advisory locks")
@pytest.mark.django_db(transaction=True)
def test_two_imports_of_one_file_racing_save_it_once_and_neither_crashes():
    from tests.test_concurrency import race

    results, errors = race(lambda: run_import(SAMPLE, "a.csv"), lambda: run_import(SAMPLE, "b.csv"))

    assert errors == [None, None]
    applied = [r for r in results if r.applied and r.new_people]
    others = [r for r in results if r not in applied]
    assert len(applied) == 1 and len(others) == 1
    other = others[0]
    # The other one either found the file being imported, or came just after and found nothing new.
    assert other.busy or (other.applied and not other.new_people and len(other.unchanged_people) == 45)
    assert (Case.objects.count(), Person.objects.count()) == (12, 45)
