"""The UNHCR status exchange: the export's contract (CSV and XLSX), its filters, formula safety, who may take it,
what never leaves, the command, and the read-only API that gives the same rows."""

import csv
import datetime
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.authtoken.models import Token

from exchange.models import StatusExport
from movements import transitions
from movements.models import Case, Person, TravelDocument
from movements.spreadsheets import restore
from tests.conftest import case_in, make_case, make_user

pytestmark = pytest.mark.django_db

CONTRACT = ["progres_case_id", "progres_individual_id", "case_number", "family_name", "given_name", "case_status",
            "status_date", "departure_date", "itinerary", "arrival_date", "destination_country"]
STATES = ["referred", "in_processing", "approved", "ready", "booked", "departed", "arrived", "on_hold", "rejected",
          "withdrawn"]
ROOT = Path(__file__).resolve().parent.parent


def csv_rows(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel reads Dari names right only with the BOM
    return list(csv.reader(io.StringIO(body[1:], newline="")))


def download(client, **params):
    return client.get("/exports/", {"format": "csv", **params})


@pytest.fixture
def ursula(client, unhcr):
    client.force_login(unhcr)
    return client


# --- the contract --------------------------------------------------------------------------------------------


@time_machine.travel(datetime.datetime(2026, 11, 20, 9, tzinfo=datetime.UTC), tick=False)
def test_one_row_per_person_in_the_contracts_columns_for_a_case_in_every_state(ursula, ops):
    cases = {state: case_in(state, ops) for state in STATES}

    rows = csv_rows(download(ursula))

    assert rows[0] == CONTRACT
    body = rows[1:]
    assert len(body) == 2 * len(STATES)
    by_person = {row[1]: dict(zip(CONTRACT, row)) for row in body}
    for state, case in cases.items():
        for person in case.members.all():
            row = by_person[person.progres_individual_id]
            assert row["progres_case_id"] == case.progres_case_id
            assert row["case_number"] == case.case_number
            assert (row["family_name"], row["given_name"]) == (person.family_name, person.given_name)
            assert row["case_status"] == state
            assert row["status_date"] == "2026-11-20"
            assert row["destination_country"] == "CAN"
    assert [r[2] for r in body] == sorted(r[2] for r in body)  # grouped by case


def test_the_status_date_is_the_local_date_of_the_last_transition(ursula, ops):
    # 19:30 UTC on 1 December is 00:30 on 2 December in Dushanbe (UTC+5).
    with time_machine.travel(datetime.datetime(2026, 12, 1, 19, 30, tzinfo=datetime.UTC), tick=False):
        case = transitions.accept(make_case(1), by=ops)

    (row,) = csv_rows(download(ursula))[1:]

    assert row[CONTRACT.index("status_date")] == "2026-12-02"
    assert row[CONTRACT.index("case_status")] == case.state == "in_processing"


def test_changed_since_starts_at_midnight_mission_time(ursula, ops):
    late = make_case(1)
    early = make_case(1)
    # 23:59 on 30 November and 00:00 on 1 December, Dushanbe time (UTC+5).
    with time_machine.travel(datetime.datetime(2026, 11, 30, 18, 59, tzinfo=datetime.UTC), tick=False):
        transitions.accept(late, by=ops)
    with time_machine.travel(datetime.datetime(2026, 11, 30, 19, 0, tzinfo=datetime.UTC), tick=False):
        transitions.accept(early, by=ops)

    rows = csv_rows(download(ursula, since="2026-12-01"))[1:]

    assert [r[2] for r in rows] == [early.case_number]
    response = download(ursula, since="2026-11-30")
    assert {r[2] for r in csv_rows(response)[1:]} == {late.case_number, early.case_number}
    today = timezone.localdate().isoformat()
    assert f'filename="safar-status-{today}-since-2026-11-30.csv"' in response["Content-Disposition"]


def test_filters_by_destination_and_state_and_the_file_name_says_so(ursula, ops):
    canada = case_in("approved", ops)
    make_case(1, destination_country="AUS")

    response = download(ursula, destination="CAN", state="approved", since="2026-01-01")

    assert {r[2] for r in csv_rows(response)[1:]} == {canada.case_number}
    today = timezone.localdate().isoformat()
    assert f'filename="safar-status-{today}-CAN-approved-since-2026-01-01.csv"' in response["Content-Disposition"]


def test_the_page_takes_a_destination_in_lower_case_as_the_command_and_the_api_do(ursula, ops):
    canada = case_in("approved", ops)

    response = download(ursula, destination="can ")

    assert response.status_code == 200
    assert {r[2] for r in csv_rows(response)[1:]} == {canada.case_number}
    assert "-CAN" in response["Content-Disposition"]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_cell_a_spreadsheet_would_run_is_neutralised_in_csv_and_xlsx(ursula, start):
    case = make_case(1)
    Person.objects.filter(case=case).update(given_name=f"{start}HYPERLINK(1)")

    (row,) = csv_rows(download(ursula))[1:]
    sheet = load_workbook(io.BytesIO(b"".join(download(ursula, format="xlsx").streaming_content))).active
    cells = [c.value for c in next(sheet.iter_rows(min_row=2, max_row=2))]

    given = CONTRACT.index("given_name")
    assert row[given] == f"'{start}HYPERLINK(1)"
    # XML turns a carriage return into a line feed when it is read back; the cell is still neutralised.
    expected = f"'{start}HYPERLINK(1)".replace("\r", "\n")
    assert cells[given] == expected
    assert sheet.cell(row=2, column=given + 1).data_type == "s"  # text, never a formula
    assert restore(row[given]) == f"{start}HYPERLINK(1)"  # the documented round trip


def test_xlsx_has_real_date_cells_and_the_same_rows_as_csv(ursula, ops):
    case_in("ready", ops)

    sheet = load_workbook(io.BytesIO(b"".join(download(ursula, format="xlsx").streaming_content))).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]

    assert values[0] == CONTRACT
    assert isinstance(values[1][CONTRACT.index("status_date")], datetime.datetime)
    as_text = [[v.date().isoformat() if isinstance(v, datetime.datetime) else (v or "") for v in row]
               for row in values[1:]]
    assert as_text == csv_rows(download(ursula))[1:]



def test_xlsx_opens_with_columns_wide_enough_the_header_kept_and_a_filter(ursula, ops):
    case_in("ready", ops)
    case_in("booked", ops)

    sheet = load_workbook(io.BytesIO(b"".join(download(ursula, format="xlsx").streaming_content))).active

    widths = {sheet.cell(row=1, column=n).value: sheet.column_dimensions[sheet.cell(row=1, column=n).column_letter].width
              for n in range(1, len(CONTRACT) + 1)}
    # A date shown as YYYY-MM-DD needs some 11 characters (a spreadsheet's default of 8.43 shows "###"); a column
    # is never narrower than its header.
    assert all(widths[name] >= len(name) for name in CONTRACT)
    assert all(widths[name] >= 12 for name in ("status_date", "departure_date", "arrival_date"))
    assert widths["itinerary"] >= len("TK 255 DYU-IST / TK 17 IST-YYZ")
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:K{sheet.max_row}"


def test_a_name_holding_a_control_character_from_older_data_does_not_stop_the_xlsx(ursula, ops):
    # U+000B is a word processor's line break, pasted into a name before the forms refused it: XLSX cannot hold it.
    case = make_case(1)
    Person.objects.filter(case=case).update(family_name="Haidari\x0bX")

    response = download(ursula, format="xlsx")

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet.cell(row=2, column=CONTRACT.index("family_name") + 1).value == "HaidariX"
    assert StatusExport.objects.get().row_count == 1


def test_the_admin_refuses_a_control_character_in_a_name(client, superuser):
    case = make_case(1)
    person = case.members.get()
    client.force_login(superuser)
    form = client.get(f"/admin/movements/person/{person.pk}/change/")
    data = {key: value for key, value in form.context["adminform"].form.initial.items() if value is not None}
    data.update({"case": case.pk, "family_name": "Haidari\x0bX", "date_of_birth": person.date_of_birth.isoformat(),
                 "documents-TOTAL_FORMS": "0", "documents-INITIAL_FORMS": "0"})

    response = client.post(f"/admin/movements/person/{person.pk}/change/", data)

    assert response.status_code == 200
    assert "This holds a control character (U+000B), which no name, code or note has: remove it." in \
        response.content.decode()
    person.refresh_from_db()
    assert "\x0b" not in person.family_name

# --- who may take it, what never leaves -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["trainer", "escort", "medical"])
def test_other_roles_get_403_from_the_page_and_the_api(client, role):
    user = make_user(f"someone-{role}", role)
    client.force_login(user)
    assert client.get("/exports/").status_code == 403
    assert client.get("/exports/", {"format": "csv"}).status_code == 403
    assert client.get("/api/cases/").status_code == 403
    token = Token.objects.create(user=user)
    assert client.get("/api/cases/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 403


def test_operations_may_export_too(client, ops):
    client.force_login(ops)
    assert client.get("/exports/").status_code == 200
    assert download(client).status_code == 200


def test_the_api_refuses_without_a_token(client):
    assert client.get("/api/cases/").status_code in (401, 403)
    assert client.get("/api/cases/", HTTP_AUTHORIZATION="Token not-a-token").status_code == 401


def test_no_phone_document_visa_number_native_name_or_note_leaves_in_any_output(client, unhcr):
    call_command("seed_demo", stdout=io.StringIO())
    Case.objects.filter(pk=Case.objects.first().pk).update(notes="Secret note about the family")
    forbidden = set()
    for person in Person.objects.all():
        forbidden |= {str(person.phone), person.visa_reference, person.native_name}
        forbidden |= {person.native_name.split()[0]} if person.native_name else set()
    forbidden |= set(TravelDocument.objects.values_list("number", flat=True))
    forbidden.add("Secret note")
    forbidden.discard("")
    client.force_login(unhcr)
    token = Token.objects.create(user=unhcr)
    outputs = {
        "csv": b"".join(download(client).streaming_content),
        "xlsx": _xlsx_text(b"".join(download(client, format="xlsx").streaming_content)),
        "api": json.dumps(_all_api_pages(client, token)).encode(),
    }
    for name, data in outputs.items():
        text = data.decode("utf-8")
        leaked = sorted(f for f in forbidden if f in text)
        assert leaked == [], name


def _xlsx_text(data):
    sheet = load_workbook(io.BytesIO(data)).active
    return "\n".join(",".join(str(c.value) for c in row) for row in sheet.iter_rows()).encode()


def _all_api_pages(client, token, **params):
    results, url = [], "/api/cases/"
    query = {"page_size": 7, **params}
    while url:
        response = client.get(url, query, HTTP_AUTHORIZATION=f"Token {token.key}")
        assert response.status_code == 200, response.content
        body = response.json()
        results += body["results"]
        url, query = body["next"], {}
    return results


@pytest.mark.parametrize("query, name", [({"since": "2026-10-02"}, "since"), ({"destinaton": "CAN"}, "destinaton")])
def test_the_api_refuses_a_filter_it_does_not_know_rather_than_answer_unfiltered(client, unhcr, query, name):
    token = Token.objects.create(user=unhcr)

    response = client.get("/api/cases/", query, HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 400
    (message,) = response.json()[name]
    assert message.startswith("Unknown parameter") and "changed_since, destination, state" in message
    assert ("the date filter is changed_since" in message) == (name == "since")


def test_each_export_is_logged_and_listed(ursula, unhcr, ops):
    case_in("approved", ops)
    download(ursula, destination="CAN", since="2026-01-01")

    (record,) = StatusExport.objects.all()
    assert (record.user, record.format, record.row_count) == (unhcr, "csv", 2)
    assert record.filters == {"destination": "CAN", "state": "", "since": "2026-01-01"}
    page = ursula.get("/exports/").content.decode()
    assert "destination: CAN; since: 2026-01-01" in page


def test_a_bad_filter_on_the_page_says_what_is_wrong_and_exports_nothing(ursula):
    response = ursula.get("/exports/", {"format": "csv", "since": "yesterday", "state": "flying"})

    assert response.status_code == 400
    assert StatusExport.objects.count() == 0
    assert "Nothing was exported" in response.content.decode()


# --- the command ---------------------------------------------------------------------------------------------


def test_the_command_writes_the_same_csv_as_the_page(tmp_path, ursula, ops):
    case_in("departed", ops)
    output = tmp_path / "status.csv"

    call_command("export_unhcr_status", "--output", str(output), stderr=io.StringIO())

    assert list(csv.reader(io.StringIO(output.read_text(encoding="utf-8-sig")))) == csv_rows(download(ursula))
    assert StatusExport.objects.filter(actor="command: export_unhcr_status", row_count=2).exists()


def test_the_command_writes_the_same_utf8_bytes_to_standard_output_as_to_a_file(tmp_path, monkeypatch, ops):
    """Whatever the terminal's encoding (a Windows console, PYTHONIOENCODING=latin-1): UTF-8, as the file."""
    case = case_in("departed", ops)
    case.members.update(family_name="Ғуломова")  # Tajik letters no legacy code page has
    output = tmp_path / "status.csv"
    call_command("export_unhcr_status", "--output", str(output), stderr=io.StringIO())
    terminal = io.TextIOWrapper(io.BytesIO(), encoding="latin-1")
    monkeypatch.setattr(sys, "stdout", terminal)

    call_command("export_unhcr_status")

    terminal.flush()
    written = terminal.buffer.getvalue()
    assert written == output.read_bytes()
    assert "Ғуломова" in written.decode("utf-8-sig")


def test_the_command_says_when_standard_output_cannot_be_written():
    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(28, "No space left on device")

    with pytest.raises(CommandError, match=r"^Cannot write to standard output: No space left on device\.$"):
        call_command("export_unhcr_status", stdout=io.TextIOWrapper(Full()))


def test_the_command_refuses_to_write_a_workbook_into_a_text_stream():
    with pytest.raises(CommandError, match=r"An XLSX workbook is binary: give --output FILE"):
        call_command("export_unhcr_status", "--format", "xlsx", stdout=io.StringIO())


def test_the_command_says_which_file_it_cannot_write(tmp_path):
    with pytest.raises(CommandError, match=r"Cannot write .*/missing/status\.csv: No such file or directory\."):
        call_command("export_unhcr_status", "--output", str(tmp_path / "missing" / "status.csv"),
                     stderr=io.StringIO())
    assert StatusExport.objects.count() == 0


@pytest.mark.parametrize("args, message", [
    (["--format", "pdf"], "Unknown format “pdf”: use csv or xlsx."),
    (["--since", "2026-02-30"], "--since: “2026-02-30” is not a date: write it as YYYY-MM-DD."),
    (["--destination", "Canada"], "--destination: “CANADA” is not an ISO 3166-1 alpha-3 country code"),
])
def test_the_command_refuses_a_bad_option_with_a_clear_message_and_exit_1(args, message):
    result = subprocess.run([sys.executable, "manage.py", "export_unhcr_status", *args], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert message in result.stderr


# --- the API -------------------------------------------------------------------------------------------------


def test_the_api_gives_the_same_rows_as_the_export_for_the_same_filters(ursula, unhcr, ops):
    for state in ("approved", "ready", "booked", "on_hold"):
        case_in(state, ops)
    make_case(3, destination_country="AUS")
    token = Token.objects.create(user=unhcr)

    for filters, api_filters in (({}, {}), ({"destination": "CAN", "state": "ready"},
                                            {"destination": "CAN", "state": "ready"}),
                                 ({"since": "2026-01-01"}, {"changed_since": "2026-01-01"})):
        exported = csv_rows(download(ursula, **filters))[1:]
        api_rows = [
            [case["progres_case_id"], member["progres_individual_id"], case["case_number"], member["family_name"],
             member["given_name"], member["case_status"], case["status_date"], case["departure_date"] or "",
             case["itinerary"], case["arrival_date"] or "", case["destination_country"]]
            for case in _all_api_pages(ursula, token, **api_filters) for member in case["members"]
        ]
        assert sorted(api_rows) == sorted(exported), filters


def test_an_api_page_runs_the_same_number_of_queries_however_many_cases(client, unhcr):
    token = Token.objects.create(user=unhcr)

    def page_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/cases/", {"page_size": 50}, HTTP_AUTHORIZATION=f"Token {token.key}")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for _ in range(3):
        make_case(2)
    few = page_queries()
    for _ in range(60):
        make_case(4)
    assert page_queries() == few


@pytest.mark.parametrize("typed", ["soon", "2026-W48-1", "20261130", "2026-11-30T00:00"])
def test_a_bad_api_filter_is_a_400_naming_the_parameter(client, unhcr, typed):
    token = Token.objects.create(user=unhcr)
    response = client.get("/api/cases/", {"changed_since": typed}, HTTP_AUTHORIZATION=f"Token {token.key}")
    assert response.status_code == 400
    assert "changed_since" in response.json()


@pytest.mark.parametrize("position", ["abc", "", "1.5", "1\x00", "-1"])
def test_a_cursor_whose_position_is_not_a_number_is_refused_as_invalid(client, unhcr, position):
    import base64

    token = Token.objects.create(user=unhcr)
    cursor = base64.b64encode(f"p={position}".encode()).decode()

    response = client.get("/api/cases/", {"cursor": cursor}, HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


def test_the_api_documentation_answers_options_without_an_error(client, unhcr):
    client.force_login(unhcr)

    response = client.options("/api/docs/")

    assert response.status_code == 405


@pytest.mark.parametrize("typed", ["12/01/2026", "01/12/2026", "2026-W48-1", "1 Dec 2026"])
def test_the_exports_page_takes_a_date_only_as_yyyy_mm_dd(ursula, typed):
    response = download(ursula, since=typed)

    assert response.status_code == 400 and "Content-Disposition" not in response
    assert "Write the date as YYYY-MM-DD" in response.content.decode()


def test_the_openapi_schema_validates_and_its_documentation_is_served_locally(client, unhcr):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    client.force_login(unhcr)
    response = client.get("/api/docs/")
    page = response.content.decode()
    assert "swagger-ui" in page and "cdn" not in page.lower()
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy  # scripts stay our own; only styles and data: icons are allowed here


@pytest.mark.parametrize("given", ["Zahra", "=1+1", "", "@SUM(A1)"])
def test_the_fast_row_renderer_gives_exactly_what_the_resource_exports(given):
    from exchange.status import ATTRIBUTES, StatusResource

    row = {"progres_case_id": "870-26C00001", "progres_individual_id": "870-26C00001-01", "case_number": "DYU-1",
           "family_name": "Karimi", "given_name": given, "case_status": "departed",
           "status_date": datetime.date(2026, 12, 2), "departure_date": datetime.date(2026, 12, 9),
           "itinerary": "TK 255 DYU-IST / TK 17 IST-YYZ", "arrival_date": None, "destination_country": "CAN"}
    resource = StatusResource()

    assert resource.row_renderer()(tuple(row[a] for a in ATTRIBUTES)) == resource.export_resource(row)


# --- the admin's export of the per-person status list -------------------------------------------------------


def admin_status_export(client, columns):
    page = client.get("/admin/exchange/personstatus/export/")
    assert page.status_code == 200
    formats = dict((label.strip().lower(), value) for value, label in
                   re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', page.content.decode()))
    response = client.post("/admin/exchange/personstatus/export/", {
        "format": formats["csv"], "resource": "0", **{f"statusresource_{c}": "on" for c in columns},
    })
    assert response.status_code == 200, response.content[:300]
    # Named by the mission's date: 2026-11-30 in Dushanbe while it is still the 29th in UTC.
    assert response["Content-Disposition"] == 'attachment; filename="safar-status-2026-11-30.csv"'
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"), newline="")))


@time_machine.travel(datetime.datetime(2026, 11, 29, 20, 30, tzinfo=datetime.UTC), tick=False)
def test_the_admins_status_export_has_the_contracts_columns_and_rows(client, superuser, ops):
    cases = [case_in("approved", ops, members=2), make_case(1)]
    Person.objects.filter(case=cases[1]).update(given_name="=HYPERLINK(1)")
    client.force_login(superuser)

    rows = admin_status_export(client, CONTRACT)

    assert rows[0] == CONTRACT
    assert sorted(r[1] for r in rows[1:]) == sorted(
        Person.objects.filter(case__in=cases).values_list("progres_individual_id", flat=True))
    assert {r[5] for r in rows[1:]} == {"approved", "referred"}
    assert "'=HYPERLINK(1)" in {r[4] for r in rows[1:]}  # a formula is neutralised here as in the contract's file


@time_machine.travel(datetime.datetime(2026, 11, 29, 20, 30, tzinfo=datetime.UTC), tick=False)
def test_the_admins_status_export_gives_only_the_ticked_columns_in_the_contracts_order(client, superuser):
    make_case(1)
    client.force_login(superuser)

    rows = admin_status_export(client, ["destination_country", "progres_individual_id", "case_status"])

    assert rows[0] == ["progres_individual_id", "case_status", "destination_country"]
    assert len(rows) == 2 and len(rows[1]) == 3


# --- what travel knows: departure, itinerary, arrival, split cases --------------------------------------------


def _row_of(rows, person):
    return next(dict(zip(CONTRACT, r)) for r in rows if r[1] == person.progres_individual_id)


def test_a_booked_case_shows_its_departure_date_and_itinerary_and_an_arrival_once_confirmed(ursula, ops):
    from tests.conftest import book, fly, make_departure, pass_pre_embarkation, ready_case
    from travel import boarding, services

    case = ready_case(ops, members=2)
    departure = make_departure(ops)
    book(case, ops, departure)

    booked = _row_of(csv_rows(download(ursula))[1:], case.members.first())
    assert (booked["case_status"], booked["itinerary"]) == ("booked", "TK 255 DYU-IST / TK 17 IST-YYZ")
    assert booked["departure_date"] == departure.departure_date.isoformat()
    assert booked["arrival_date"] == ""

    departure = services.finalise_departure(departure, by=ops)
    with time_machine.travel(departure.departs_at, tick=False):
        pass_pre_embarkation(case)  # at the airport, three hours before take-off
        departure = fly(departure, ops)
    with time_machine.travel(departure.arrives_at + datetime.timedelta(hours=1), tick=False):
        boarding.confirm_arrival(departure, by=ops)
    arrived = _row_of(csv_rows(download(ursula))[1:], case.members.first())
    assert arrived["case_status"] == "arrived"
    assert arrived["arrival_date"] == departure.arrival_date.isoformat()
    assert arrived["itinerary"] == "TK 255 DYU-IST / TK 17 IST-YYZ"


def test_a_member_left_behind_in_a_split_case_shows_their_own_status_and_no_travel(ursula, ops):
    from tests.conftest import book, ready_case
    from travel import services

    case = ready_case(ops, members=3)
    stays = case.members.order_by("id").last()
    services.exclude_member(stays, by=ops, reason="Destination refused this member (split decision)")
    book(case, ops)

    rows = csv_rows(download(ursula))[1:]

    assert _row_of(rows, stays)["case_status"] == "ready"
    assert _row_of(rows, stays)["itinerary"] == _row_of(rows, stays)["departure_date"] == ""
    assert _row_of(rows, case.members.order_by("id").first())["case_status"] == "booked"


def booked_last_week(ops, members=3):
    """A case booked on 2026-11-20 (a departure in December); the tests then act on 2026-11-27."""
    from tests.conftest import book, ready_case

    with time_machine.travel(datetime.datetime(2026, 11, 20, 6, tzinfo=datetime.UTC), tick=False):
        case = ready_case(ops, members=members)
        book(case, ops)
    return Case.objects.get(pk=case.pk)


def delta(client, **params):
    return {r[1]: dict(zip(csv_rows(download(client))[0], r)) for r in csv_rows(download(client, **params))[1:]}


def test_a_member_excluded_from_a_booked_case_reaches_the_weekly_delta(ursula, unhcr, ops):
    from travel import services

    case = booked_last_week(ops)
    stays = case.members.order_by("id").last()
    with time_machine.travel(datetime.datetime(2026, 11, 27, 6, tzinfo=datetime.UTC), tick=False):
        services.exclude_member(stays, by=ops, reason="Destination refused this member (split decision)")

        rows = delta(ursula, since="2026-11-27")
        token = Token.objects.create(user=unhcr)
        api = ursula.get("/api/cases/", {"changed_since": "2026-11-27"}, HTTP_AUTHORIZATION=f"Token {token.key}")

    # The whole case, its rows as they are now: the member's own status changed, not the case's.
    assert set(rows) == set(case.members.values_list("progres_individual_id", flat=True))
    assert rows[stays.progres_individual_id]["case_status"] == "ready"
    assert {r["status_date"] for r in rows.values()} == {"2026-11-20"}  # still the date of the last transition
    assert [c["case_number"] for c in api.json()["results"]] == [case.case_number]


def test_flights_moved_bring_the_booked_families_into_the_weekly_delta(ursula, ops):
    from tests.conftest import tk_legs
    from travel import services
    from travel.models import Booking

    case = booked_last_week(ops, members=1)
    departure = Booking.objects.get(case=case).departure
    with time_machine.travel(datetime.datetime(2026, 11, 27, 6, tzinfo=datetime.UTC), tick=False):
        assert delta(ursula, since="2026-11-27") == {}
        later = departure.departure_date + datetime.timedelta(days=1)
        services.update_departure(departure, by=ops, legs=tk_legs(later))

        rows = delta(ursula, since="2026-11-27")

    assert [r["departure_date"] for r in rows.values()] == [later.isoformat()]


def test_a_member_added_to_a_known_case_reaches_the_weekly_delta(ursula, ops):
    from movements.referral_import import run_import
    from tests.test_referral_import import sample_rows, to_csv

    rows = [r for r in sample_rows() if r["progres_case_id"] == sample_rows()[0]["progres_case_id"]]
    with time_machine.travel(datetime.datetime(2026, 11, 20, 6, tzinfo=datetime.UTC), tick=False):
        assert run_import(to_csv(rows[:-1]), "first.csv").applied
    with time_machine.travel(datetime.datetime(2026, 11, 27, 6, tzinfo=datetime.UTC), tick=False):
        assert run_import(to_csv(rows), "again.csv").applied

        found = delta(ursula, since="2026-11-27")

    assert set(found) == {r["progres_individual_id"] for r in rows}


def test_the_state_filter_selects_each_row_by_its_own_status(ursula, ops):
    from travel import services

    case = booked_last_week(ops)
    stays = case.members.order_by("id").last()
    services.exclude_member(stays, by=ops, reason="Destination refused this member (split decision)")

    booked, ready = delta(ursula, state="booked"), delta(ursula, state="ready")

    assert stays.progres_individual_id not in booked and stays.progres_individual_id in ready
    assert {r["case_status"] for r in booked.values()} == {"booked"}
    assert {r["case_status"] for r in ready.values()} == {"ready"}
    assert len(booked) == 2


def test_a_road_convoy_shows_its_route(ursula, ops):
    from tests.conftest import book, make_departure, ready_case
    from travel.legs import LegInput

    day = datetime.date.today() + datetime.timedelta(days=30)
    convoy = [
        LegInput(origin="Khorog", destination="Dushanbe", departs=datetime.datetime.combine(day, datetime.time(6)),
                 arrives=datetime.datetime.combine(day, datetime.time(20)), vehicle="Bus", plate="01 234 AB",
                 seats=30),
        LegInput(origin="Khorog", destination="Dushanbe", departs=datetime.datetime.combine(day, datetime.time(6, 15)),
                 arrives=datetime.datetime.combine(day, datetime.time(20, 30)), vehicle="Minibus", plate="02 567 BA",
                 seats=12),
    ]
    case = ready_case(ops, members=1, destination_country="TJK")
    departure = make_departure(ops, legs=convoy, mode="road", destination_country="TJK", final_destination="Dushanbe",
                               seat_block=None, pnr="")
    book(case, ops, departure)

    row = _row_of(csv_rows(download(ursula))[1:], case.members.get())

    assert row["itinerary"] == "Road Khorog-Dushanbe (2 vehicles)"
    assert row["departure_date"] == day.isoformat()


@time_machine.travel(datetime.datetime(2026, 11, 29, 20, 30, tzinfo=datetime.UTC), tick=False)
def test_the_admins_status_export_is_logged_as_every_export_and_offers_the_contracts_two_formats(client, superuser):
    from exchange.models import StatusExport
    from privacy.models import AccessLogEntry

    make_case(2)
    client.force_login(superuser)
    page = client.get("/admin/exchange/personstatus/export/").content.decode()
    offered = [label.strip().lower() for label in re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', page)]

    admin_status_export(client, CONTRACT)

    assert offered == ["csv", "xlsx"]
    (export,) = StatusExport.objects.all()
    assert (export.format, export.row_count, export.filename, export.user) == (
        "csv", 2, "safar-status-2026-11-30.csv", superuser)
    logged = AccessLogEntry.objects.get(kind="export")
    assert (logged.user, logged.target, logged.detail["rows"], logged.detail["via"]) == (
        superuser, "safar-status-2026-11-30.csv", 2, "admin")


# --- the rate limit -----------------------------------------------------------------------------------------------


def test_the_api_limits_each_user_and_says_when_to_come_back(client, unhcr, ops, monkeypatch):
    from exchange.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})
    token = Token.objects.create(user=unhcr)
    other = Token.objects.create(user=ops)

    statuses = [client.get("/api/cases/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code for _ in range(4)]
    refused = client.get("/api/cases/", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert statuses == [200, 200, 200, 429]
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert client.get("/api/cases/", HTTP_AUTHORIZATION=f"Token {other.key}").status_code == 200  # per user


def test_the_rate_is_counted_where_every_worker_process_reads_it(client, unhcr, monkeypatch):
    """gunicorn's workers are separate processes: each has its own memory (Django's default cache), and DRF's
    throttle counted there let a user through once per worker. The counts are in the database: a cache opened
    afresh on its table, as another worker opens it, reads the same history."""
    from django.conf import settings
    from django.core.cache.backends.db import DatabaseCache

    from exchange.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "THROTTLE_RATES", {"user": "3/minute"})
    token = Token.objects.create(user=unhcr)
    for _ in range(2):
        client.get("/api/cases/", HTTP_AUTHORIZATION=f"Token {token.key}")

    another_worker = DatabaseCache(settings.CACHES["throttle"]["LOCATION"], {})
    key = UserRateThrottle.cache_format % {"scope": "user", "ident": unhcr.pk}

    assert len(another_worker.get(key)) == 2


# --- the API refuses what it would otherwise misread ---------------------------------------------------------------


@pytest.mark.parametrize("size", ["-1", "0", "abc", "501", "1e2", "١٠"])
def test_a_page_size_out_of_range_is_refused_not_read_as_the_default(client, unhcr, size):
    token = Token.objects.create(user=unhcr)

    response = client.get("/api/cases/", {"page_size": size}, HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 400
    assert "from 1 to 500" in response.json()["page_size"][0]


def test_a_filter_given_twice_is_refused_not_read_as_its_last_value(client, unhcr):
    token = Token.objects.create(user=unhcr)

    response = client.get("/api/cases/?state=booked&state=ready", HTTP_AUTHORIZATION=f"Token {token.key}")

    assert response.status_code == 400 and "once" in response.json()["state"][0]


def test_any_other_api_address_is_a_json_404_and_the_root_answers_head(client, unhcr):
    token = Token.objects.create(user=unhcr)
    auth = {"HTTP_AUTHORIZATION": f"Token {token.key}"}

    missing = client.get("/api/cases/1/", **auth)

    assert missing.status_code == 404 and missing["Content-Type"] == "application/json"
    assert "see /api/" in missing.json()["detail"]
    assert client.head("/api/", **auth).status_code == 200
    # An address without its trailing slash is still sent to the one with it (as partners' scripts expect).
    redirected = client.get("/api/cases?state=booked", **auth)
    assert redirected.status_code == 301 and redirected["Location"] == "/api/cases/?state=booked"
    assert client.get("/api/cases/", {"page_size": "500"}, **auth).status_code == 200


def test_the_schema_is_yaml_but_its_refusals_are_json_like_the_rest_of_the_api(client, medic, unhcr):
    # Before, the schema's YAML renderer wrote a refusal as "detail:\n  string: …\n  code: not_authenticated".
    refusals = [(client.get("/api/schema/"), 401, "Authentication credentials were not provided.")]
    client.force_login(medic)
    refusals.append((client.get("/api/schema/"), 403, "Status data is for UNHCR liaison and operations staff."))
    client.force_login(unhcr)
    refusals.append((client.get("/api/schema/", {"format": "xml"}), 404, "Not found."))

    for response, status, detail in refusals:
        assert (response.status_code, response["Content-Type"]) == (status, "application/json")
        assert response.json() == {"detail": detail}
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and schema["Content-Type"].startswith("application/vnd.oai.openapi")
    assert schema.content.decode().startswith("openapi: 3")


def test_the_schema_says_what_each_refusal_looks_like_and_the_page_size_bounds(client, unhcr):
    client.force_login(unhcr)

    schema = client.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/cases/"]["get"]
    assert {"200", "400", "401", "403", "404", "429", "503"} <= set(operation["responses"])
    page_size = next(p for p in operation["parameters"] if p["name"] == "page_size")
    assert (page_size["schema"]["minimum"], page_size["schema"]["maximum"]) == (1, 500)
    changed_since = next(p for p in operation["parameters"] if p["name"] == "changed_since")
    assert "a member excluded from travel" in changed_since["description"]
