"""The UNHCR referral import (DESIGN.md, "Referral file"): CSV or XLSX in, cases and people out.

All or nothing: the file is read and every row checked first, collecting *every* error (row number
with the header as row 1, column, the value as given, a plain message). Only a file without a single
error is applied, in one transaction. Re-importing is idempotent, keyed on `progres_individual_id`;
it never moves a case's state, and it changes a case only where the state policy allows its details (and
members) to change — the same rule as the case form's (`models.STATE_POLICY`, `case_edits`). Look-ups are batched, so the number of queries does not grow with the number of rows.
"""

import csv
import datetime
import hashlib
import io
import re
from dataclasses import dataclass, field

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from django.core.exceptions import ValidationError

from movements import case_edits
from movements.history import actor_label
from movements.countries import COUNTRIES, ICAO_SPECIAL_NATIONALITIES
from movements.models import (
    CATEGORY_PATTERN, PROGRES_ID_PATTERN, Case, CaseChange, CaseNumberCounter, CaseState, CaseTransition, Person,
    Priority, Relationship, Sex,
)
from movements.search import LATIN_NAME, person_search_text
from movements.ssr import parse_ssr

REQUIRED = [
    "progres_case_id", "progres_individual_id", "relationship", "family_name", "given_name", "sex",
    "date_of_birth", "nationality", "destination_country", "priority", "referral_date",
]
OPTIONAL = ["native_name", "phone", "submission_category", "special_needs"]
COLUMNS = REQUIRED + OPTIONAL
CASE_COLUMNS = ["destination_country", "priority", "submission_category", "referral_date"]
PERSON_FIELDS = [
    "relationship", "family_name", "given_name", "native_name", "sex", "date_of_birth", "nationality", "phone",
    "special_needs",
]
MAX_COLUMNS = 100
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
LOOKUP_CHUNK = 500  # below SQLite's limit on query parameters
RELATIONSHIPS = tuple(Relationship.values)
SEXES = tuple(Sex.values)
PRIORITIES = tuple(Priority.values)
# Columns holding a code: (column, how to normalise it, what accepts it, the message when nothing does).
CODED_COLUMNS = [
    ("progres_case_id", str.upper, PROGRES_ID_PATTERN.fullmatch,
     "not a proGres id (capital letters, digits and dashes, e.g. 123-45C67890)"),
    ("progres_individual_id", str.upper, PROGRES_ID_PATTERN.fullmatch,
     "not a proGres id (capital letters, digits and dashes, e.g. 123-45C67890)"),
    ("relationship", str.upper, RELATIONSHIPS.__contains__, f"not one of {'/'.join(RELATIONSHIPS)}"),
    ("sex", str.upper, SEXES.__contains__, "not F/M/X"),
    ("nationality", str.upper, lambda v: v in COUNTRIES or v in ICAO_SPECIAL_NATIONALITIES,
     "not alpha-3: use an ISO 3166-1 alpha-3 code (AFG) or XXA/XXB/XXC/XXX"),
    ("destination_country", str.upper, COUNTRIES.__contains__,
     "not an ISO 3166-1 alpha-3 country code (e.g. CAN)"),
    ("priority", str.lower, PRIORITIES.__contains__, f"unknown priority: use {', '.join(PRIORITIES)}"),
    ("submission_category", str.upper, CATEGORY_PATTERN.fullmatch,
     "not a category code (up to 10 letters, e.g. LPN)"),
]


@dataclass(frozen=True)
class ImportIssue:
    row: int | None  # None: about the file as a whole
    column: str
    value: str
    message: str

    def __str__(self):
        where = f"row {self.row}" if self.row else "file"
        column = f", {self.column}" if self.column else ""
        value = f" {self.value!r}" if self.value != "" else ""
        return f"{where}{column}:{value} {self.message}"

    def as_dict(self):
        return {"row": self.row, "column": self.column, "value": self.value, "message": self.message}


@dataclass
class ImportReport:
    filename: str
    rows: int = 0
    errors: list = field(default_factory=list)
    new_cases: list = field(default_factory=list)  # progres_case_ids
    new_people: list = field(default_factory=list)  # progres_individual_ids
    updated_people: dict = field(default_factory=dict)  # progres_individual_id -> [field names]
    updated_cases: dict = field(default_factory=dict)  # progres_case_id -> [field names]
    unchanged_people: list = field(default_factory=list)
    applied: bool = False

    @property
    def ok(self):
        return not self.errors

    def summary(self):
        if self.errors:
            return f"{len(self.errors)} error(s): nothing was imported."
        verb = "Imported" if self.applied else "Would import"
        return (
            f"{verb} {self.rows} row(s): {len(self.new_cases)} new case(s), {len(self.new_people)} new "
            f"person(s), {len(self.updated_people)} updated, {len(self.unchanged_people)} unchanged."
        )

    def as_dict(self):
        return {
            "filename": self.filename, "rows": self.rows, "errors": [e.as_dict() for e in self.errors],
            "new_cases": self.new_cases, "new_people": self.new_people, "updated_people": self.updated_people,
            "updated_cases": self.updated_cases, "unchanged_people": self.unchanged_people, "applied": self.applied,
        }


class FileRefused(Exception):
    """The file cannot be read as a referral table at all."""

    def __init__(self, message, column=""):
        super().__init__(message)
        self.issue = ImportIssue(row=None if not column else 1, column=column, value="", message=message)


# --- reading -------------------------------------------------------------------------------------------


def read_table(data, filename):
    """Return (header, rows) where rows yields (row_number, [cell strings]); raise FileRefused."""
    if not data:
        raise FileRefused("The file is empty.")
    limit = settings.SAFAR_MAX_UPLOAD_BYTES
    if len(data) > limit:
        raise FileRefused(
            f"The file is {len(data) / 1_048_576:.1f} MB; the largest accepted is {limit / 1_048_576:.1f} MB. "
            "Split it into smaller files."
        )
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls")):
        raise FileRefused("The file is named like a spreadsheet but is not an XLSX workbook.")
    return _read_csv(data)


def _read_csv(data):
    if b"\x00" in data[:65536]:
        raise FileRefused("This is not a CSV text file (it holds binary data). Export the referrals as CSV or XLSX.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileRefused(
            f"The file is not UTF-8 text (byte {e.start + 1} cannot be read). It was probably saved as "
            "Latin-1/Windows-1252: save it again as “CSV UTF-8” so that names in Dari and Cyrillic survive."
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise FileRefused(f"The header row cannot be read as CSV: {e}.") from None
    if header is None or not any(cell.strip() for cell in header):
        raise FileRefused("The file is empty." if not text.strip() else "The first row (the header) is empty.")
    while header and not header[-1].strip():
        header.pop()  # spreadsheets export trailing empty columns as "a,b,c,"

    def rows():
        try:
            for number, cells in enumerate(reader, start=2):
                yield number, cells
        except csv.Error as e:
            raise FileRefused(f"Row {reader.line_num} cannot be read as CSV: {e}.") from None

    return header, rows()


def _cell_text(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()  # a date cell; every column of the contract holds dates, not times
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _read_xlsx(data):
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # noqa: BLE001 — a damaged workbook fails in many ways inside openpyxl and its XML parser
        raise FileRefused(f"The file cannot be read as an XLSX workbook ({type(e).__name__}).") from None
    if not workbook.worksheets:
        raise FileRefused("The workbook has no worksheet.")
    sheet = workbook.worksheets[0]
    iterator = sheet.iter_rows(values_only=True)
    try:
        first = next(iterator, None)
    except Exception as e:  # openpyxl raises many kinds on damaged sheets
        raise FileRefused(f"The first worksheet cannot be read ({type(e).__name__}).") from None
    if first is None or not any(_cell_text(v).strip() for v in first):
        raise FileRefused("The first worksheet is empty." if first is None else "The first row (the header) is empty.")
    header = [_cell_text(v) for v in first]
    while header and not header[-1].strip():
        header.pop()

    def rows():
        number = 1
        try:
            for number, values in enumerate(iterator, start=2):
                yield number, [_cell_text(v) for v in values]
        except Exception as e:
            raise FileRefused(f"The worksheet cannot be read past row {number} ({type(e).__name__}).") from None
        finally:
            workbook.close()

    return header, rows()


def check_header(header):
    """Map column name -> index; raise FileRefused on missing, unknown or repeated columns (one message each)."""
    if len(header) > MAX_COLUMNS:
        raise FileRefused(
            f"The header has {len(header):,} columns; a referral file has the {len(COLUMNS)} columns of the "
            f"contract ({', '.join(COLUMNS)})."
        )
    names = [h.strip().lower() for h in header]
    if len(names) == 1 and ";" in names[0]:
        raise FileRefused("The columns seem to be separated by semicolons; a referral CSV uses commas.")
    issues = []
    seen = {}
    for index, name in enumerate(names):
        if name in seen:
            issues.append(ImportIssue(1, name, header[index], f"column “{name}” appears twice"))
        seen.setdefault(name, index)
    unknown = [header[i] for i, n in enumerate(names) if n not in COLUMNS]
    missing = [c for c in REQUIRED if c not in seen]
    if unknown:
        issues.append(ImportIssue(
            1, unknown[0], ", ".join(unknown),
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(repr(u) for u in unknown)}; "
            f"the contract's columns are {', '.join(COLUMNS)}",
        ))
    if missing:
        issues.append(ImportIssue(
            1, missing[0], "", f"required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}"
        ))
    return seen, issues


# --- checking rows -------------------------------------------------------------------------------------


def _iso_date(value):
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


class RowChecker:
    def __init__(self, today):
        self.today = today
        self.region = settings.PHONENUMBER_DEFAULT_REGION

    def check(self, number, raw):
        """Return (values, issues) for one row; values hold the cleaned values of the valid cells."""
        issues = []
        values = {}

        def fail(column, message):
            issues.append(ImportIssue(number, column, raw.get(column, ""), message))

        for column in REQUIRED:
            if not raw.get(column, "").strip():
                fail(column, "required value missing")
        for column in ("family_name", "given_name", "native_name"):
            value = raw.get(column, "").strip()
            if value.startswith(FORMULA_STARTS):
                fail(column, f"starts with “{value[0]}”, which spreadsheets run as a formula; a name cannot")
            elif value and column != "native_name" and not LATIN_NAME.fullmatch(value):
                fail(column, "not in Latin script as on the travel document (native_name holds the own script)")
            elif value and len(value) > (200 if column == "native_name" else 100):
                fail(column, "too long for a name")
            elif value:
                values[column] = value

        for column, clean, accepts, message in CODED_COLUMNS:
            value = clean(raw.get(column, "").strip())
            if value and not accepts(value):
                fail(column, message)
            elif value or column in OPTIONAL:
                values[column] = value

        for column, label in (("date_of_birth", "birth date"), ("referral_date", "referral date")):
            text = raw.get(column, "").strip()
            if not text:
                continue
            parsed = _iso_date(text)
            if parsed is None:
                fail(column, "not an ISO date (YYYY-MM-DD)")
            elif parsed > self.today:
                fail(column, f"{label} in the future")
            elif parsed < datetime.date(1900, 1, 1):
                fail(column, f"{label} before 1900")
            else:
                values[column] = parsed

        try:
            values["special_needs"] = ";".join(parse_ssr(raw.get("special_needs", "")))
        except ValidationError as e:
            message = e.messages[0].rstrip(".")  # the import's messages are phrases: "unknown SSR code XXXX (…)"
            fail("special_needs", message[0].lower() + message[1:])

        phone = raw.get("phone", "").strip()
        if phone:
            try:
                parsed = phonenumbers.parse(phone, self.region)
                valid = phonenumbers.is_valid_number(parsed)
            except phonenumbers.NumberParseException:
                valid = False
            if not valid:
                fail("phone", f"invalid phone number (write it with its country code, e.g. +992 93 123 4567)")
            else:
                values["phone"] = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        else:
            values["phone"] = ""
        values.setdefault("native_name", "")
        return values, issues


# --- the import ----------------------------------------------------------------------------------------


def _chunks(items, size=LOOKUP_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def run_import(data, filename, *, by=None, dry_run=False):
    """Check the file and, unless `dry_run` or on any error, apply it. Return an ImportReport."""
    report = ImportReport(filename=filename)
    try:
        header, rows = read_table(data, filename)
        columns, header_issues = check_header(header)
        if header_issues:
            report.errors.extend(header_issues)
            return report
        parsed = _check_rows(rows, columns, report)
    except FileRefused as refused:
        report.errors.append(refused.issue)
        return report
    if report.errors:
        return report
    if report.rows == 0:
        report.errors.append(ImportIssue(None, "", "", "The file has a header but no rows."))
        return report

    # Optional columns the file leaves out keep the values already stored.
    fields = [f for f in PERSON_FIELDS if f in columns]
    case_fields = [c for c in CASE_COLUMNS if c in columns]
    with transaction.atomic():
        plan = _plan(parsed, report, fields, case_fields)
        if report.errors or dry_run:
            transaction.set_rollback(True)
            return report
        _apply(plan, report, by=by, via=actor_label(by, f"referral import: {filename}"))
        report.applied = True
    return report


def _check_rows(rows, columns, report):
    checker = RowChecker(timezone.localdate())
    max_rows = settings.SAFAR_MAX_IMPORT_ROWS
    parsed = []  # (row number, values)
    seen_individuals = {}
    cases = {}  # progres_case_id -> {"rows": [...], "values": {column: (value, row)}, "principals": [rows]}
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank lines at the end of a sheet
        report.rows += 1
        if report.rows > max_rows:
            raise FileRefused(f"The file has more than {max_rows:,} rows; split it into smaller files.")
        if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns):]):
            report.errors.append(ImportIssue(number, "", "", "this row has more cells than the header has columns"))
        raw = {name: (cells[index] if index < len(cells) else "") for name, index in columns.items()}
        values, issues = checker.check(number, raw)
        report.errors.extend(issues)

        individual = values.get("progres_individual_id")
        if individual:
            if individual in seen_individuals:
                report.errors.append(ImportIssue(
                    number, "progres_individual_id", raw["progres_individual_id"],
                    f"duplicate individual id: also on row {seen_individuals[individual]}",
                ))
            else:
                seen_individuals[individual] = number
        case_id = values.get("progres_case_id")
        if case_id:
            group = cases.setdefault(case_id, {"first_row": number, "values": {}, "principals": []})
            if values.get("relationship") == Relationship.PA:
                group["principals"].append(number)
            for column in CASE_COLUMNS:
                if column not in values:
                    continue  # invalid or missing here: already reported
                if column in group["values"]:
                    first_value, first_row = group["values"][column]
                    if values[column] != first_value:
                        report.errors.append(ImportIssue(
                            number, column, raw[column],
                            f"differs within case {case_id}: row {first_row} has {_show(first_value)}",
                        ))
                else:
                    group["values"][column] = (values[column], number)
        parsed.append((number, values))
    for case_id, group in cases.items():
        if len(group["principals"]) != 1:
            rows_text = ", ".join(str(r) for r in group["principals"]) or "none"
            report.errors.append(ImportIssue(
                group["principals"][1] if len(group["principals"]) > 1 else group["first_row"], "relationship",
                "PA" if group["principals"] else "",
                f"case {case_id} needs exactly one PA (principal applicant); PA rows: {rows_text}",
            ))
    report.errors.sort(key=_issue_order)
    return parsed


def _issue_order(issue):
    return (issue.row or 0, COLUMNS.index(issue.column) if issue.column in COLUMNS else len(COLUMNS))


def _show(value):
    return value.isoformat() if isinstance(value, datetime.date) else repr(value)


@dataclass
class _Plan:
    new_cases: dict  # progres_case_id -> case values
    new_people: list  # (row, values)
    updates: list  # (Person, {field: value})
    case_updates: list  # (Case, {field: value})
    cases: dict  # progres_case_id -> existing Case


def _plan(parsed, report, fields=PERSON_FIELDS, case_fields=CASE_COLUMNS):
    """Compare the file with the database (batched look-ups); add errors for what may not change."""
    case_ids = {v["progres_case_id"] for _, v in parsed}
    individual_ids = [v["progres_individual_id"] for _, v in parsed]
    existing_cases = {}
    for chunk in _chunks(case_ids):
        for case in Case.objects.filter(progres_case_id__in=chunk):
            existing_cases[case.progres_case_id] = case
    existing_people = {}
    for chunk in _chunks(individual_ids):
        for person in Person.objects.filter(progres_individual_id__in=chunk).select_related("case"):
            existing_people[person.progres_individual_id] = person

    plan = _Plan(new_cases={}, new_people=[], updates=[], case_updates=[], cases=existing_cases)
    case_changes = {}
    for number, values in parsed:
        case_id = values["progres_case_id"]
        case = existing_cases.get(case_id)
        if case is None and case_id not in plan.new_cases:
            plan.new_cases[case_id] = {c: values[c] for c in CASE_COLUMNS}
            report.new_cases.append(case_id)
        elif case is not None and case_id not in case_changes:
            changed = {c: values[c] for c in case_fields if getattr(case, c) != values[c]}
            case_changes[case_id] = changed
            refused = changed and case_edits.refusal(case, "details")
            if refused:
                report.errors.append(ImportIssue(
                    number, next(iter(changed)), str(values[next(iter(changed))]),
                    f"{refused} (the import would change {', '.join(sorted(changed))})",
                ))
            elif changed:
                plan.case_updates.append((case, changed))
                report.updated_cases[case_id] = sorted(changed)

        individual = values["progres_individual_id"]
        person = existing_people.get(individual)
        if person is None:
            refused = case is not None and case_edits.refusal(case, "membership")
            if refused:
                report.errors.append(ImportIssue(
                    number, "progres_individual_id", individual, f"{refused} (the import would add this person)",
                ))
                continue
            plan.new_people.append((number, values))
            report.new_people.append(individual)
            continue
        if person.case.progres_case_id != case_id:
            report.errors.append(ImportIssue(
                number, "progres_case_id", case_id,
                f"individual {individual} already belongs to case {person.case.case_number} "
                f"(proGres {person.case.progres_case_id})",
            ))
            continue
        changed = {f: values[f] for f in fields if _current(person, f) != values[f]}
        refused = changed and case_edits.refusal(person.case, "details")
        if not changed:
            report.unchanged_people.append(individual)
        elif refused:
            report.errors.append(ImportIssue(
                number, next(iter(changed)), str(values[next(iter(changed))]),
                f"{refused} (the import would change {', '.join(sorted(changed))})",
            ))
        else:
            plan.updates.append((person, changed))
            report.updated_people[individual] = sorted(changed)
    _check_principals(plan, parsed, report)
    report.errors.sort(key=_issue_order)
    return plan


def _check_principals(plan, parsed, report):
    """After the import, each existing case it touches must still have exactly one PA, counting the members
    the file leaves out."""
    touched = {v["progres_case_id"]: plan.cases[v["progres_case_id"]] for _, v in parsed if v["progres_case_id"] in plan.cases}
    if not touched:
        return
    relationship = {}  # individual id -> relationship after the import
    case_of = {}
    for chunk in _chunks([c.pk for c in touched.values()]):
        for individual, case_id, rel in Person.objects.filter(case_id__in=chunk).values_list(
            "progres_individual_id", "case__progres_case_id", "relationship"
        ):
            relationship[individual], case_of[individual] = rel, case_id
    rows = {}
    for number, values in parsed:
        if values["progres_case_id"] in touched:
            individual = values["progres_individual_id"]
            relationship[individual], case_of[individual] = values["relationship"], values["progres_case_id"]
            rows.setdefault(values["progres_case_id"], number)
    for case_id, case in touched.items():
        principals = [i for i, c in case_of.items() if c == case_id and relationship[i] == Relationship.PA]
        if len(principals) != 1:
            report.errors.append(ImportIssue(
                rows[case_id], "relationship", "",
                f"case {case.case_number} would have {len(principals)} principal applicants after this import "
                f"({', '.join(sorted(principals)) or 'none'}); a case has exactly one",
            ))


def _current(person, name):
    value = getattr(person, name)
    if name == "phone":
        return str(value) if value else ""
    return value


def _person(values, case_id):
    return Person(
        case_id=case_id,
        progres_individual_id=values["progres_individual_id"],
        search_text=person_search_text(values["family_name"], values["given_name"], values["native_name"]),
        **{f: values[f] for f in PERSON_FIELDS},
    )


def _apply(plan, report, *, by, via):
    now = timezone.now()
    new_case_ids = list(plan.new_cases)
    numbers = CaseNumberCounter.reserve(
        settings.SAFAR_CASE_NUMBER_PREFIX, timezone.localdate().year, len(new_case_ids)
    ) if new_case_ids else []
    created = Case.objects.bulk_create(
        [
            Case(case_number=number, progres_case_id=case_id, state_changed_at=now, **plan.new_cases[case_id])
            for number, case_id in zip(numbers, new_case_ids)
        ],
        batch_size=1000,
    )
    case_pk = {c.progres_case_id: c.pk for c in created}
    case_pk.update({case_id: case.pk for case_id, case in plan.cases.items()})
    CaseTransition.objects.bulk_create(
        [
            CaseTransition(case_id=c.pk, at=now, user=by, actor=via, transition="create", from_state="",
                           to_state=CaseState.REFERRED)
            for c in created
        ],
        batch_size=1000,
    )
    touched = {}
    payload = {}  # case pk -> the change log row's data
    # One PA per case at every moment: demote first (its own statement), then update, then add new people.
    demoted = []
    for person, changed in plan.updates:
        if person.relationship == Relationship.PA and "relationship" in changed:
            person.relationship = changed["relationship"]
            demoted.append(person)
    case_edits.demote_principals(demoted)
    fields = sorted({name for _, changed in plan.updates for name in changed} | {"search_text", "updated_at"})
    for person, changed in plan.updates:
        for name, value in changed.items():
            setattr(person, name, value)
        person.search_text = person_search_text(person.family_name, person.given_name, person.native_name)
        person.updated_at = now
        touched.setdefault(person.case_id, []).append(f"{person.full_name} ({', '.join(sorted(changed))})")
        payload.setdefault(person.case_id, {}).setdefault("members", {})[person.full_name] = sorted(changed)
    Person.objects.bulk_update([p for p, _ in plan.updates], fields, batch_size=500)
    Person.objects.bulk_create(
        [_person(values, case_pk[values["progres_case_id"]]) for _, values in plan.new_people], batch_size=1000
    )
    for case, changed in plan.case_updates:
        # A queryset update: the state is not ours to check here, and pages open on the case see the new version.
        Case.objects.filter(pk=case.pk).update(**changed, version=F("version") + 1, updated_at=now)
        touched.setdefault(case.pk, []).insert(0, f"referral details ({', '.join(sorted(changed))})")
        payload.setdefault(case.pk, {})["case"] = sorted(changed)
    added = {}
    for _, values in plan.new_people:
        case = plan.cases.get(values["progres_case_id"])
        if case is not None:
            added.setdefault(case.pk, []).append(f"{values['family_name']}, {values['given_name']}")
    changes = [
        CaseChange(case_id=pk, at=now, user=by, actor=via, summary="Updated: " + "; ".join(items),
                   data=payload.get(pk, {}))
        for pk, items in touched.items()
    ] + [
        CaseChange(case_id=pk, at=now, user=by, actor=via, summary="Added: " + "; ".join(names),
                   data={"added": names})
        for pk, names in added.items()
    ]
    CaseChange.objects.bulk_create(changes)

    from movements import readiness
    from movements.models import states_where

    for case in Case.objects.filter(pk__in=set(touched) | set(added), state__in=states_where("readiness")):
        readiness.refresh_snapshot(case)


def checksum(data):
    return hashlib.sha256(data).hexdigest()
