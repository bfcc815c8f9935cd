"""The UNHCR referral import (DESIGN.md, "Referral file"): CSV or XLSX in, cases and people out.

All or nothing: the file is read and every row checked first, collecting *every* error (row number
with the header as row 1, column, the value as given, a plain message). Only a file without a single
error is applied, in one transaction. Re-importing is idempotent, keyed on `progres_individual_id`;
it never moves a case's state, and it changes a case only where the state policy allows its details (and
members) to change — the same rule as the case form's (`models.STATE_POLICY`, `case_edits`). Look-ups are batched, so the number of queries does not grow with the number of rows.
"""

import csv
import datetime
import functools
import hashlib
import io
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from django.core.exceptions import ValidationError

from movements import case_edits
from movements.history import actor_label
from movements import workbook_reader
from movements.countries import COUNTRIES, ICAO_SPECIAL_NATIONALITIES
from movements.models import (
    CATEGORY_PATTERN, PROGRES_ID_PATTERN, Case, CaseChange, CaseNumberCounter, CaseState, CaseTransition, Person,
    STATUS_CASE_FIELDS, STATUS_PERSON_FIELDS, Priority, Relationship, Sex, status_changed,
)
from movements.phones import PhoneError, parse_phone
from movements.search import LATIN_NAME, person_search_text
from movements.spreadsheets import FORMULA_STARTS
from movements.ssr import parse_ssr
from movements.words import CONTROL_CHARACTER
from movements.workbook_reader import cut
from movements.words import counted

REQUIRED = [
    "progres_case_id", "progres_individual_id", "relationship", "family_name", "given_name", "sex",
    "date_of_birth", "nationality", "destination_country", "priority", "referral_date",
]
OPTIONAL = ["native_name", "phone", "submission_category", "special_needs"]
COLUMNS = REQUIRED + OPTIONAL
CASE_COLUMNS = ["destination_country", "priority", "submission_category", "referral_date"]
PERSON_FIELDS = [
    "relationship", "family_name", "given_name", "native_name", "sex", "date_of_birth", "nationality", "phone",
    "phone_region", "special_needs",
]
MAX_COLUMNS = 100
LOOKUP_CHUNK = 500  # below SQLite's limit on query parameters
# Hostile files: no value of the contract is longer than 200 characters, so a cell is kept to its first 1,000
# (and refused); an error shows a few dozen characters of a value, never the whole of it.
MAX_CELL_CHARS = 1000
SHOWN_VALUE_CHARS = 60
# A report keeps the first errors of each kind and counts the rest: a file with every cell wrong has millions.
MAX_ISSUES_PER_KIND = 50
MAX_ISSUES = 500
MAX_OMITTED_KINDS = 100
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


@dataclass(frozen=True, slots=True)
class ImportIssue:
    row: int | None  # None: about the file as a whole
    column: str
    value: str
    message: str
    length: int | None = None  # the value's whole length, when only its start is shown

    def __post_init__(self):
        # What a file holds is shown cut and with its control characters drawn (PostgreSQL refuses a NUL in
        # text and JSON), so that an error report is as small and as storable as the file is hostile.
        if (type(self.value) is str and len(self.value) <= SHOWN_VALUE_CHARS and len(self.column) <= SHOWN_VALUE_CHARS
                and self.value.isprintable() and self.column.isprintable() and self.message.isprintable()):
            return  # nearly every issue: nothing to cut or draw
        length = getattr(self.value, "length", len(self.value))
        if length > SHOWN_VALUE_CHARS:
            object.__setattr__(self, "value", self.value[:SHOWN_VALUE_CHARS] + "…")
            object.__setattr__(self, "length", self.length or length)
        object.__setattr__(self, "value", visible(str(self.value)))
        object.__setattr__(self, "column", visible(shorten(self.column)))
        object.__setattr__(self, "message", visible(self.message))

    def __str__(self):
        where = f"row {self.row}" if self.row else "file"
        column = f", {self.column}" if self.column else ""
        value = f" {self.value!r}" if self.value != "" else ""
        if self.length:
            value += f" ({self.length:,} characters)"
        return f"{where}{column}:{value} {self.message}"

    @property
    def shown_value(self):
        return f"{self.value} ({self.length:,} characters)" if self.length else self.value

    def as_dict(self):
        data = {"row": self.row, "column": self.column, "value": self.value, "message": self.message}
        if self.length:
            data["length"] = self.length
        return data


def visible(text):
    """Draw control characters as their Unicode pictures (NUL as ␀), other text unchanged."""
    return text if text.isprintable() else CONTROL_CHARACTER.sub(_picture, text)


def _text_with_stray_nuls(head):
    """A text file with a NUL or two typed into a cell, not a binary one: it reads as UTF-8 and its NULs are a
    handful. It goes on to the cell check, which names the row and the column, rather than being refused whole."""
    if head.count(b"\x00") > 8:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        return e.start >= len(head) - 3  # only a character cut at the end of the part looked at
    return True


def _picture(match):
    code = ord(match.group())
    return chr(0x2400 + code) if code < 0x20 else "␡" if code == 0x7F else "�"


def shorten(text, limit=SHOWN_VALUE_CHARS):
    return text if len(text) <= limit else text[:limit] + "…"


def issue_kind(issue):
    """What an error says without its particulars (values, row numbers, case ids): errors of one kind in one
    column are summarised together once there are many."""
    return issue.column, _general(issue.message)


PARTICULARS = re.compile(r"“[^”]*”|'[^']*'|\S*\d\S*|\b[A-Z]{2,}\b")
RUN_OF_PARTICULARS = re.compile(r"…(?:[ ,;/]+…)+")


@functools.lru_cache(maxsize=1024)
def _general(message):
    return RUN_OF_PARTICULARS.sub("…", PARTICULARS.sub("…", message))


class IssueList(list):
    """A report's errors: every one counted, the first MAX_ISSUES_PER_KIND of each kind kept (MAX_ISSUES in all),
    the others summarised per kind. A normal file keeps every error; a file with every cell wrong keeps a page."""

    def __init__(self, issues=(), *, per_kind=MAX_ISSUES_PER_KIND, most=MAX_ISSUES):
        super().__init__()
        self.per_kind, self.most = per_kind, most
        self.total = 0
        self.kept_per_kind = Counter()
        self.omitted = {}  # (column, kind) -> [count, first omitted issue]
        self.extend(issues)

    def append(self, issue):
        self.total += 1
        kind = issue_kind(issue)
        if len(self) < self.most and (self.per_kind is None or self.kept_per_kind[kind] < self.per_kind):
            self.kept_per_kind[kind] += 1
            super().append(issue)
            return
        if kind not in self.omitted and len(self.omitted) >= MAX_OMITTED_KINDS:
            kind = ("", "other")
        entry = self.omitted.setdefault(kind, [0, issue])
        entry[0] += 1

    def extend(self, issues):
        for issue in issues:
            self.append(issue)

    def summaries(self):
        """One line per kind of error left out: "… and 12,408 more rows with this problem in date_of_birth: …"."""
        lines = []
        for (column, kind), (count, first) in sorted(self.omitted.items(), key=lambda item: _issue_order(item[1][1])):
            if kind == "other":
                lines.append({"column": "", "count": count,
                              "text": f"… and {count:,} more error{'s' if count != 1 else ''} of other kinds"})
                continue
            rows = f"{count:,} more row{'s' if count != 1 else ''}"
            place = f" in {column}" if column else ""
            lines.append({"column": column, "count": count,
                          "text": f"… and {rows} with this problem{place} (from row {first.row or '-'}): "
                                  f"{first.message}"})
        return lines


@dataclass
class ImportReport:
    filename: str
    rows: int = 0
    errors: IssueList = field(default_factory=IssueList)
    new_cases: list = field(default_factory=list)  # progres_case_ids
    new_people: list = field(default_factory=list)  # progres_individual_ids
    updated_people: dict = field(default_factory=dict)  # progres_individual_id -> [field names]
    updated_cases: dict = field(default_factory=dict)  # progres_case_id -> [field names]
    unchanged_people: list = field(default_factory=list)
    applied: bool = False
    busy: bool = False  # refused because another import of the same people was under way: the file may be fine
    # The proGres case ids of cases with an error in one of their rows (the checks' own bookkeeping: not stored).
    refused_cases: set = field(default_factory=set, repr=False, compare=False)

    @property
    def ok(self):
        return not self.errors

    @property
    def error_count(self):
        return getattr(self.errors, "total", len(self.errors))

    @property
    def omitted(self):
        return self.errors.summaries() if isinstance(self.errors, IssueList) else []

    def summary(self):
        if self.errors:
            return f"{counted(self.error_count, 'error')}: nothing was imported."
        verb = "Imported" if self.applied else "Would import"
        return (
            f"{verb} {counted(self.rows, 'row')}: {counted(len(self.new_cases), 'new case')}, "
            f"{counted(len(self.new_people), 'new person', 'new people')}, {len(self.updated_people):,} updated, "
            f"{len(self.unchanged_people):,} unchanged."
        )

    def as_dict(self):
        return {
            "filename": self.filename, "rows": self.rows, "errors": [e.as_dict() for e in self.errors],
            "error_count": self.error_count, "omitted": self.omitted,
            "new_cases": self.new_cases, "new_people": self.new_people, "updated_people": self.updated_people,
            "updated_cases": self.updated_cases, "unchanged_people": self.unchanged_people, "applied": self.applied,
        }


class FileRefused(Exception):
    """The file cannot be read as a referral table at all."""

    def __init__(self, message, column="", *, instead_of_row_errors=False):
        super().__init__(message)
        self.issue = ImportIssue(row=None if not column else 1, column=column, value="", message=message)
        # Found after the rows were checked, and the cause of their errors: the report says this alone.
        self.instead_of_row_errors = instead_of_row_errors


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
    other = _other_spreadsheet(data)
    if other:
        raise FileRefused(f"The file is {other}; a referral file is an XLSX workbook or a CSV file. {SAVE_AS}")
    if data[:4] == b"PK\x03\x04":
        return _read_xlsx(data)
    if filename.lower().endswith((".xlsx", ".xlsm", ".xls", ".ods")):
        raise FileRefused("The file is named like a spreadsheet but is not an XLSX workbook.")
    return _read_csv(data)


SAVE_AS = ("In LibreOffice Calc, use File › Save As and choose “Excel 2007-365 (.xlsx)”, or “Text CSV (.csv)” with the "
           "field delimiter “,” and the character set “Unicode (UTF-8)”; in Excel, “Excel Workbook (.xlsx)” or "
           "“CSV UTF-8 (Comma delimited)”.")


def _other_spreadsheet(data):
    """What a spreadsheet file the import does not read is, in words (an OpenDocument or Excel 97–2003 file), or
    "": the programs' own "Save As" makes these as readily as XLSX."""
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "an Excel 97–2003 workbook (.xls)"
    if data[:4] == b"PK\x03\x04" and data[30:38] == b"mimetype" \
            and data[38:84].startswith(b"application/vnd.oasis.opendocument.spreadsheet"):
        return "an OpenDocument spreadsheet (.ods)"
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<?xml") and b"opendocument.spreadsheet" in head:
        return "a flat OpenDocument spreadsheet (.fods)"
    return ""


def _read_csv(data):
    text = _decode(data)
    first_line = text.split("\n", 1)[0]
    # Excel's "Unicode Text" is UTF-16 with tabs; some exports are tab-separated UTF-8: read both.
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise FileRefused(f"The header row cannot be read as CSV: {_csv_problem(e)}.") from None
    if header is None or not any(cell.strip() for cell in header):
        raise FileRefused("The file is empty." if not text.strip() else "The first row (the header) is empty.")
    header = [_capped(cell) for cell in header]
    while header and not header[-1].strip():
        header.pop()  # spreadsheets export trailing empty columns as "a,b,c,"
    if not _has_contract_columns(header):
        try:
            _refuse_header_below(enumerate(reader, start=2))
        except csv.Error:
            pass  # the header's own columns are refused below

    def rows():
        try:
            for number, cells in enumerate(reader, start=2):
                yield number, [_capped(cell) for cell in cells]
        except csv.Error as e:
            raise FileRefused(f"Row {reader.line_num} cannot be read as CSV: {_csv_problem(e)}.") from None

    return header, rows()


def _has_contract_columns(cells):
    return any(cell.strip().lower() in COLUMNS for cell in cells)


def _refuse_header_below(rows, *, looked=20):
    """Where the first row holds none of the contract's columns (a title above the table, say), refuse naming the
    row that holds them, if one of the next rows does: "unknown column 'UNHCR referrals — …'" would not say it."""
    for number, cells in rows:
        if number > looked:
            return
        if sum(cell.strip().lower() in COLUMNS for cell in cells) >= 3:
            raise FileRefused(f"The first row must be the header, and the contract's columns are on row {number}: "
                              "delete the rows above it (a title or notes), then import the file again.")


# Legacy Windows code pages that referral files arrive in, and the script each one's letters would show.
_CODE_PAGES = [
    ("cp1256", "Windows-1256 (Arabic script: Dari, Pashto)", "\u0600", "\u06ff"),
    ("cp1251", "Windows-1251 (Cyrillic: Tajik, Russian)", "\u0400", "\u04ff"),
]


def _decode(data):
    """The file's text: UTF-8 (with or without a BOM) or UTF-16 with its BOM; anything else is refused, naming
    the encoding it most likely is."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise FileRefused("The file starts like UTF-16 text but cannot be read as such: save it again as "
                              "“CSV UTF-8”.") from None
    if b"\x00" in data[:65536] and not _text_with_stray_nuls(data[:65536]):
        raise FileRefused("This is not a CSV text file (it holds binary data). Export the referrals as CSV or XLSX.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FileRefused(
            f"The file is not UTF-8 text (byte {e.start + 1} cannot be read). It was probably saved as "
            f"{_likely_encoding(data)}: save it again as “CSV UTF-8” so that names in Dari and Cyrillic survive."
        ) from None


# Signs of a wrong reading: capitals inside a Cyrillic word, French accents, unmapped bytes, and Latin letters
# glued to Cyrillic or Arabic ones inside a word (Müller read as Windows-1251 is "Mьller").
_UNLIKELY = re.compile(
    r"[а-яё][А-ЯЁ]|[àâçèéêëîïôùûüœ]|\ufffd|[A-Za-z][\u0400-\u04ff\u0600-\u06ff]|[\u0400-\u04ff\u0600-\u06ff][A-Za-z]"
)


def _likely_encoding(data):
    """Which legacy code page the bytes most likely are: the one whose reading gives the most letters of its
    script and the fewest signs of a wrong reading (Cyrillic read as Windows-1256 shows French accents between
    Arabic letters; Arabic read as Windows-1251 shows capitals inside words and unmapped bytes)."""
    sample = data[:65536]
    best, best_score = "Latin-1/Windows-1252", 2
    for codec, name, low, high in _CODE_PAGES:
        text = sample.decode(codec, errors="replace")
        score = sum(1 for c in text if low <= c <= high) - 3 * len(_UNLIKELY.findall(text))
        if score > best_score:
            best, best_score = name, score
    return best


def _csv_problem(error):
    if "field larger than field limit" in str(error):
        return (f"a cell holds more than {csv.field_size_limit():,} characters, and no value of a referral file "
                f"has more than {MAX_CELL_CHARS:,}")
    return str(error)


def _capped(text):
    """A cell as kept for checking: whole up to MAX_CELL_CHARS characters, else its start (and its length)."""
    return cut(text, MAX_CELL_CHARS)


def _read_xlsx(data):
    """The first worksheet's rows, within bounds (movements.workbook_reader): a ZIP bomb is refused unread."""
    try:
        titles, rows, heads = workbook_reader.read_rows(
            data, max_unpacked=settings.SAFAR_MAX_XLSX_UNPACKED_BYTES, max_chars=MAX_CELL_CHARS,
            # every distinct text of a file of the row limit, and a header
            max_strings=settings.SAFAR_MAX_IMPORT_ROWS * len(COLUMNS) + MAX_COLUMNS, width=MAX_COLUMNS + 1,
        )
        number, header = next(rows, (None, None))
        # Only the first worksheet is read: rows of the referral on another one would be left out without a word.
        more = [title for title, first in heads() if first and _has_contract_columns(first)]
    except workbook_reader.WorkbookRefused as e:
        raise FileRefused(str(e)) from None
    except Exception as e:  # noqa: BLE001 — a damaged worksheet fails in many ways inside the XML parser
        raise FileRefused(f"The first worksheet cannot be read ({type(e).__name__}).") from None
    def others():
        return ", ".join(f"“{shorten(title)}”" for title in titles[1:6]) + (", …" if len(titles) > 6 else "")

    if number is None:
        if len(titles) > 1:
            raise FileRefused(f"The first worksheet, “{shorten(titles[0])}”, is empty, and only the first worksheet "
                              f"is read: move the referral's worksheet to the front (the workbook's other worksheets: "
                              f"{others()}), or save it as a file of its own.")
        raise FileRefused("The first worksheet is empty.")
    if number != 1 and _has_contract_columns(header):
        raise FileRefused(f"The first row must be the header, and the contract's columns are on row {number}: "
                          "delete the empty rows above it, then import the file again.")
    if number != 1 or not any(cell.strip() for cell in header):
        raise FileRefused("The first row (the header) is empty.")
    while header and not header[-1].strip():
        header.pop()
    if not _has_contract_columns(header):
        try:
            _refuse_header_below(rows)
        except workbook_reader.WorkbookRefused as e:
            raise FileRefused(str(e)) from None
    if len(titles) > 1 and not _has_contract_columns(header):
        # A sheet of notes or instructions kept in front of the referral: "unknown column 'Read me'" would not say
        # which sheet was read.
        raise FileRefused(
            f"The first worksheet, “{shorten(titles[0])}”, has none of the contract's columns in its first row. Only "
            f"the first worksheet is read, and its first row must be the header: move the referral's worksheet to "
            f"the front (the workbook's other worksheets: {others()}), or delete the rows above its header, or save "
            f"it as a file of its own."
        )
    if more:
        raise FileRefused(
            f"The worksheet{'s' if len(more) > 1 else ''} {', '.join(f'“{shorten(t)}”' for t in more[:5])} "
            f"{'hold' if len(more) > 1 else 'holds'} referral rows too (the contract's columns head "
            f"{'them' if len(more) > 1 else 'it'}), and only the first worksheet, “{shorten(titles[0])}”, is read: "
            "put every row on the first worksheet, or save each worksheet as a file of its own."
        )
    if len(header) > MAX_COLUMNS:
        raise FileRefused(
            f"The header has more than {MAX_COLUMNS} columns; a referral file has the {len(COLUMNS)} columns of the "
            f"contract ({', '.join(COLUMNS)})."
        )

    def refusing(rows):
        number = 1
        try:
            for number, cells in rows:
                yield number, cells
        except workbook_reader.MergedCells as e:
            raise FileRefused(str(e), instead_of_row_errors=True) from None
        except workbook_reader.WorkbookRefused as e:
            raise FileRefused(str(e)) from None
        except zipfile.BadZipFile:
            raise FileRefused(
                f"The workbook is damaged after row {number}: its worksheet does not hold what the archive declares "
                "(size or checksum). Save it again from the spreadsheet program."
            ) from None
        except Exception as e:  # noqa: BLE001
            raise FileRefused(f"The worksheet cannot be read after row {number} ({type(e).__name__}).") from None

    return header, refusing(rows)


def check_header(header):
    """Map column name -> index; raise FileRefused on missing, unknown or repeated columns (one message each)."""
    if len(header) > MAX_COLUMNS:
        raise FileRefused(
            f"The header has {len(header):,} columns; a referral file has the {len(COLUMNS)} columns of the "
            f"contract ({', '.join(COLUMNS)})."
        )
    names = [h.strip().lower() for h in header]
    if len(names) == 1 and ";" in names[0]:
        raise FileRefused("The columns seem to be separated by semicolons (as the computer's regional settings may "
                          f"make a spreadsheet save them); a referral CSV uses commas. {SAVE_AS}")
    issues = []
    seen = {}
    for index, name in enumerate(names):
        if name in seen:
            issues.append(ImportIssue(1, name, header[index], f"column “{shorten(name)}” appears twice"))
        seen.setdefault(name, index)
    unknown = [header[i] for i, n in enumerate(names) if n not in COLUMNS]
    missing = [c for c in REQUIRED if c not in seen]
    if unknown:
        issues.append(ImportIssue(
            1, unknown[0], unknown[0] if len(unknown) == 1 else ", ".join(unknown),
            f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(repr(shorten(u)) for u in unknown)}; "
            f"the contract's columns are {', '.join(COLUMNS)}",
        ))
    if missing:
        issues.append(ImportIssue(
            1, missing[0], "", f"required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}"
        ))
    return seen, issues


def _excel_serial_hint(text):
    """"; 37516 looks like …": a whole number where a date belongs is most often a date as Excel stores it (days
    since 30 December 1899), shown as a number because its column is not formatted as a date. Said, with the date
    it would be, but not taken: a workbook may count from 1904, and a plain number may be anything else."""
    if not (text.isascii() and text.isdigit() and 10_000 <= int(text) <= 80_000):  # 1927 to 2119
        return ""
    day = datetime.date(1899, 12, 30) + datetime.timedelta(days=int(text))
    return (f"; {text} looks like a date as Excel stores it ({day.isoformat()}?) in a cell not formatted as a date: "
            "format the column as a date, or write the date as YYYY-MM-DD")


# --- checking rows -------------------------------------------------------------------------------------


def _iso_date(value):
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


ID_COLUMNS = ("progres_case_id", "progres_individual_id")
SCIENTIFIC = re.compile(r"\d(?:[.,]\d+)?[eE]\+?\d+")  # 9.93E+11: a CSV exported as the cells were shown
TYPOGRAPHIC_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_SLASHED_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")


def _day_first_hint(text):
    """"; 17/09/2002 is 2002-09-17": a date written day first that cannot be read month first (its first number is
    above 12), given back in the contract's form."""
    match = _SLASHED_DATE.fullmatch(text)
    if not match or int(match[1]) <= 12:
        return ""
    try:
        day = datetime.date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return ""
    return f"; {text} is written day first: type it as {day.isoformat()}"


def _number_cell_phone(digits, region):
    """A phone number from a cell the spreadsheet stored as a number: read as the number that had a + or 00 in
    front (which the spreadsheet drops), when that is a valid number and the digits alone are not one of the
    default region (or are, with its country code). Else None: a leading 0 may have been dropped too, and the number
    cannot be known."""
    try:
        with_plus = parse_phone("+" + digits, region)
    except PhoneError:
        return None
    try:
        alone = parse_phone(digits, region)
    except PhoneError:
        return with_plus
    return with_plus if alone.e164 == with_plus.e164 else None  # 992…: the region's own country code, read alike


class RowChecker:
    def __init__(self, today):
        self.today = today
        self.region = settings.PHONENUMBER_DEFAULT_REGION

    def check(self, number, raw):
        """Return (values, issues) for one row; values hold the cleaned values of the valid cells."""
        issues = []
        values = {}
        cells = raw  # as read, for the messages

        def fail(column, message):
            issues.append(ImportIssue(number, column, cells.get(column, ""), message))

        # A cell too long for any column, or holding a control character, gets that one error and no other check.
        unreadable = self._unreadable(cells, fail)
        unreadable_issues = list(issues)
        raw = {column: "" if column in unreadable else value for column, value in cells.items()}

        for column in REQUIRED:
            if not raw.get(column, "").strip():
                fail(column, "required value missing")
        for column in ("family_name", "given_name", "native_name"):
            value = raw.get(column, "").strip()
            if value.startswith(FORMULA_STARTS):
                fail(column, f"starts with “{value[0]}”, which spreadsheets run as a formula; a name cannot")
            elif column == "native_name" and ("?" in value or "\ufffd" in value):
                fail(column, "holds “?” where letters were: the file was saved in a character set without them "
                             "(a CSV must be UTF-8: in LibreOffice Calc, Save As “Text CSV” with the character set "
                             "“Unicode (UTF-8)”; in Excel, “CSV UTF-8”)")
            elif value and column != "native_name" and not LATIN_NAME.fullmatch(value):
                if LATIN_NAME.fullmatch(value.translate(TYPOGRAPHIC_QUOTES)):
                    fail(column, "has a typographic apostrophe (’), which a spreadsheet's AutoCorrect puts in: "
                                 "type a plain ' as on the travel document")
                else:
                    fail(column, "not in Latin script as on the travel document (native_name holds the own script)")
            elif value and len(value) > (200 if column == "native_name" else 100):
                fail(column, "too long for a name")
            elif value:
                values[column] = value

        for column, clean, accepts, message in CODED_COLUMNS:
            value = clean(raw.get(column, "").strip())
            if value and column in ID_COLUMNS and isinstance(raw.get(column), workbook_reader.NumberCell):
                fail(column, "stored as a number by the spreadsheet, which drops an id's leading zeros: format the "
                             "column as Text and type the id as the referral gives it")
            elif value and not accepts(value):
                fail(column, message)
            elif value or column in OPTIONAL:
                values[column] = value

        for column, label in (("date_of_birth", "birth date"), ("referral_date", "referral date")):
            text = raw.get(column, "").strip()
            if not text:
                continue
            parsed = _iso_date(text)
            if parsed is None:
                fail(column, "not an ISO date (YYYY-MM-DD)" + (_day_first_hint(text) or _excel_serial_hint(text)))
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
        values["phone"], values["phone_region"] = "", ""
        if phone and isinstance(raw.get("phone"), workbook_reader.NumberCell):
            read = _number_cell_phone(phone, self.region)
            if read is None:
                fail("phone", "stored as a number by the spreadsheet, which drops a leading 0, 00 or +, and so "
                              "cannot be read with certainty: format the column as Text and type the number with "
                              "its country code (e.g. +93 70 123 4567)")
            else:
                values["phone"], values["phone_region"] = read.e164, read.region
        elif phone and SCIENTIFIC.fullmatch(phone):
            fail("phone", "written in scientific notation, as a spreadsheet shows a long number, which keeps only "
                          "its first digits: format the column as Text and type the number again, with its country "
                          "code")
        elif phone:
            try:
                read = parse_phone(phone, self.region)
            except PhoneError as e:
                fail("phone", f"invalid phone number: {e.message}")
            else:
                values["phone"], values["phone_region"] = read.e164, read.region
        values.setdefault("native_name", "")
        if unreadable:
            issues = unreadable_issues + [i for i in issues[len(unreadable_issues):] if i.column not in unreadable]
            for column in unreadable:
                values.pop(column, None)
        return values, issues

    @staticmethod
    def _unreadable(cells, fail):
        """Columns whose cell no check could accept: refused here whole, so that what a preview accepts, the
        database can store (PostgreSQL refuses a NUL) and nothing longer than a contract's value is kept."""
        unreadable = set()
        for column, value in cells.items():
            if len(value) < MAX_CELL_CHARS and value.isprintable():
                continue  # the common case, checked in C
            length = getattr(value, "length", len(value))
            if length > MAX_CELL_CHARS:
                fail(column, f"far too long ({length:,} characters): no value of a referral file has more than "
                             f"{MAX_CELL_CHARS:,}")
            elif control := CONTROL_CHARACTER.search(value.strip()):
                fail(column, f"holds a control character (U+{ord(control.group()):04X}), which no name, date or "
                             "code has: remove it")
            else:
                continue
            unreadable.add(column)
        return unreadable


# --- the import ----------------------------------------------------------------------------------------


def _chunks(items, size=LOOKUP_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


# The command prints its report as text, one line per error: every error of any file a person would make (a page
# on the screen keeps the first of each kind).
EVERY_ERROR = {"per_kind": None, "most": 200_000}


def run_import(data, filename, *, by=None, dry_run=False, every_error=False):
    """Check the file and, unless `dry_run` or on any error, apply it. Return an ImportReport. `every_error`: the
    report keeps every error (up to EVERY_ERROR's bound), not the first of each kind."""
    report = ImportReport(filename=filename)
    if every_error:
        report.errors = IssueList(**EVERY_ERROR)
    try:
        header, rows = read_table(data, filename)
        columns, header_issues = check_header(header)
        if header_issues:
            report.errors.extend(header_issues)
            if any(c not in columns for c in REQUIRED):
                return report
            # An unknown or repeated column: the rows are still checked (and compared with the database) on the
            # columns of the contract, so that one report lists what else to mend.
            columns = {name: index for name, index in columns.items() if name in COLUMNS}
        parsed = _check_rows(rows, columns, report, len(header))
    except FileRefused as refused:
        if refused.instead_of_row_errors:
            report.errors = IssueList(per_kind=report.errors.per_kind, most=report.errors.most)
            report.refused_cases.clear()
        report.errors.append(refused.issue)
        return report
    # Optional columns the file leaves out keep the values already stored.
    fields = [f for f in PERSON_FIELDS if f in columns or (f == "phone_region" and "phone" in columns)]
    case_fields = [c for c in CASE_COLUMNS if c in columns]
    if report.errors:
        _compare_the_rest(parsed, report, fields, case_fields)
        return report
    if report.rows == 0:
        report.errors.append(ImportIssue(None, "", "", "The file has a header but no rows."))
        return report

    try:
        with transaction.atomic():
            if not dry_run and not _claim(data):
                report.busy = True
                report.errors.append(ImportIssue(None, "", "", BUSY_MESSAGE))
                return report
            plan = _plan(parsed, report, fields, case_fields, lock=not dry_run)
            if report.errors or dry_run:
                transaction.set_rollback(True)
                return report
            _apply(plan, report, by=by, via=actor_label(by, visible(f"referral import: {filename}")))
            report.applied = True
    except IntegrityError:
        # PostgreSQL: another import (of another file) inserted some of these cases or people between our
        # look-ups and our inserts, and won. Anything else is a fault of ours, and is not hidden.
        if not _taken_meanwhile(report):
            raise
        report.applied, report.busy = False, True
        report.errors.append(ImportIssue(None, "", "", CONFLICT_MESSAGE))
    return report


BUSY_MESSAGE = (
    "This file is being imported by someone else at this moment: nothing was saved from this attempt. "
    "Look at the list of imports in a minute: it has most likely been imported already."
)
CONFLICT_MESSAGE = (
    "Another import saved some of the same cases or people while this file was being imported: nothing was "
    "saved from this file. Check the file again to see what is left to import."
)


def _claim(data):
    """Take the right to import this very file until the transaction ends; False if another import holds it.

    PostgreSQL: a transaction-level advisory lock keyed by the file's checksum. SQLite writes one transaction at
    a time (transaction_mode IMMEDIATE), so a second import waits for the first and then finds its rows.
    """
    if connection.vendor != "postgresql":
        return True
    key = int.from_bytes(hashlib.sha256(b"referral import:" + data).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [key])
        return cursor.fetchone()[0]


def _taken_meanwhile(report):
    """Did someone else create, since our look-ups, a case or a person this import was about to create?"""
    return any(
        Case.objects.filter(progres_case_id__in=chunk).exists() for chunk in _chunks(report.new_cases)
    ) or any(
        Person.objects.filter(progres_individual_id__in=chunk).exists() for chunk in _chunks(report.new_people)
    )


def _check_rows(rows, columns, report, width):
    """Check every row (`columns`: name -> index; `width`: the header's number of cells)."""
    checker = RowChecker(timezone.localdate())
    max_rows = settings.SAFAR_MAX_IMPORT_ROWS
    parsed = []  # (row number, values)
    seen_individuals = {}
    cases = {}  # progres_case_id -> {"rows": [...], "values": {column: (value, row)}, "principals": [rows]}
    for number, cells in rows:
        if not any(c.strip() for c in cells):
            continue  # blank lines at the end of a sheet
        report.rows += 1
        errors_before = report.error_count
        if report.rows > max_rows:
            raise FileRefused(f"The file has more than {max_rows:,} rows; split it into smaller files.")
        if len(cells) > width and any(c.strip() for c in cells[width:]):
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
        parsed.append((number, CheckedRow(values, raw)))
        if report.error_count > errors_before:
            report.refused_cases.add(values.get("progres_case_id") or raw.get("progres_case_id", "").strip().upper())
    for number, row, issue in _swappable_dates(parsed, columns):
        report.errors.append(issue)
        report.refused_cases.add(row.get("progres_case_id") or row.raw.get("progres_case_id", "").strip().upper())
    for case_id, group in cases.items():
        if len(group["principals"]) != 1:
            report.refused_cases.add(case_id)
            rows_text = ", ".join(str(r) for r in group["principals"]) or "none"
            report.errors.append(ImportIssue(
                group["principals"][1] if len(group["principals"]) > 1 else group["first_row"], "relationship",
                "PA" if group["principals"] else "",
                f"case {case_id} needs exactly one PA (principal applicant); PA rows: {rows_text}",
            ))
    report.errors.sort(key=_issue_order)
    return parsed


def _swappable_dates(parsed, columns):
    """(row number, row, issue) for each date cell of a workbook whose day and month may have been swapped as it
    was typed: a spreadsheet that reads dates month first stores 08/11/1981, typed day first for 8 November, as
    11 August, shows it "08/11/1981", and leaves 17/09/2002, which it cannot read month first, as text. So where a
    column holds dates written day first (as text, or shown so) or as YYYY-MM-DD, a date shown month first whose
    day could be a month is refused, and the other way round; a column written one way throughout is taken as
    its program read it."""
    found = []
    for column in ("date_of_birth", "referral_date"):
        if column not in columns:
            continue
        shown, written = set(), set()
        for _number, row in parsed:
            cell = row.raw.get(column, "")
            if isinstance(cell, workbook_reader.DateCell):
                shown.add(cell.order)
            elif match := _SLASHED_DATE.fullmatch(cell.strip()):
                if int(match[1]) > 12:
                    written.add("dmy")
                if int(match[2]) > 12:
                    written.add("mdy")
        doubtful = set()
        if "dmy" in written or shown & {"dmy", "ymd"}:
            doubtful.add("mdy")
        if "mdy" in written or "mdy" in shown:
            doubtful.add("dmy")
        for number, row in parsed:
            cell = row.raw.get(column, "")
            if not (isinstance(cell, workbook_reader.DateCell) and cell.order in doubtful):
                continue
            read = datetime.date.fromisoformat(cell)
            if read.day > 12 or read.day == read.month:
                continue  # it cannot be read the other way, or reads the same
            try:
                other = read.replace(month=read.day, day=read.month)
            except ValueError:
                continue
            if cell.order == "mdy":
                as_shown, typed, others = f"{read:%m/%d/%Y}", "day first", "day first or as YYYY-MM-DD"
            else:
                as_shown, typed, others = f"{read:%d/%m/%Y}", "month first", "month first"
            found.append((number, row, ImportIssue(
                number, column, str(cell),
                f"a date cell shown as {as_shown} in a column whose other dates are written {others}: the "
                f"spreadsheet read it as {read.isoformat()}; typed {typed} it would be {other.isoformat()}. Type "
                "it as YYYY-MM-DD",
            )))
    return found


class CheckedRow(dict):
    """A row's values as checked (a date a date, a phone in E.164), with the cells as the file wrote them (`raw`):
    an error found later, against the database, quotes what the file held."""

    def __init__(self, values, raw):
        super().__init__(values)
        self.raw = raw

    def cell(self, column):
        return self.raw.get(column) or str(self[column])


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


def _compare_the_rest(parsed, report, fields, case_fields):
    """The file is refused already: compare with the database the cases none of whose rows has an error, so that
    the one report also says what the database would refuse (a booked case's details, a member added to a case
    that has departed) instead of saying it only once the first errors are mended. Nothing is locked or saved."""
    rest = [(number, values) for number, values in parsed if values.get("progres_case_id")
            and values["progres_case_id"] not in report.refused_cases]
    if not rest:
        return
    # Its errors go to the report's own list (which counts what it does not keep); its plan is thrown away.
    _plan(rest, ImportReport(filename=report.filename, errors=report.errors), fields, case_fields)


def _plan(parsed, report, fields=PERSON_FIELDS, case_fields=CASE_COLUMNS, lock=False):
    """Compare the file with the database (batched look-ups); add errors for what may not change.

    With `lock`, every existing case the file touches — by its proGres case id, or as the case of a person it
    names — is locked in primary-key order (as transitions lock) and its state read again under the lock: a case
    booked while a long import was being checked is then seen as booked and refused, not changed behind the
    booking's back."""
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
    if lock:
        locked = {}
        touched = sorted({c.pk for c in existing_cases.values()} | {p.case_id for p in existing_people.values()})
        for chunk in _chunks(touched):
            for case in Case.objects.select_for_update(no_key=True).filter(pk__in=chunk).order_by("pk"):
                locked[case.pk] = case
        existing_cases = {key: locked[case.pk] for key, case in existing_cases.items()}
        # The people too are read again under their cases' locks: another file may have renamed one meanwhile, and
        # the search index is rebuilt from what is read here.
        known = [p.pk for p in existing_people.values()]
        existing_people = {}
        for chunk in _chunks(known):
            for person in Person.objects.filter(pk__in=chunk):
                existing_people[person.progres_individual_id] = person
        moved = sorted({p.case_id for p in existing_people.values()} - set(locked))
        for chunk in _chunks(moved):  # moved to another case meanwhile (by another file): lock that one as well
            for case in Case.objects.select_for_update(no_key=True).filter(pk__in=chunk).order_by("pk"):
                locked[case.pk] = case
        for person in existing_people.values():
            person.case = locked[person.case_id]

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
                    number, next(iter(changed)), values.cell(next(iter(changed))),
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
                number, next(iter(changed)), values.cell(next(iter(changed))),
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
            Case(case_number=number, progres_case_id=case_id, state_changed_at=now, status_changed_at=now,
                 **plan.new_cases[case_id])
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
    # A member added to a case already known, a name corrected, a case sent elsewhere: a new or changed row in
    # UNHCR's status export ("changed since" carries it).
    status_changed({case_pk[values["progres_case_id"]] for _, values in plan.new_people
                    if values["progres_case_id"] in plan.cases}
                   | {person.case_id for person, changed in plan.updates if STATUS_PERSON_FIELDS & set(changed)}
                   | {case.pk for case, changed in plan.case_updates if STATUS_CASE_FIELDS & set(changed)}, at=now)
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
