"""The rows of an XLSX workbook's first worksheet (and the first row of the others), read within bounds whatever the
file holds.

An XLSX file is a ZIP archive of XML parts, and a small upload can unpack to gigabytes: a tester's 1.5 MB
workbook held one inline string of 1.5 GB, another 3 million shared strings in 9 MB. So, before anything is
unpacked, the archive's declared sizes and compression ratios are checked; every read is counted, so that a
part lying about its size stops at the limit; and the worksheet and its shared strings are read here with
expat as they are unpacked, each text kept to its first `max_chars` characters (with its real length), instead
of by openpyxl, which keeps every text whole, reads a worksheet twice and pads each row to the width the
worksheet claims. openpyxl still reads the workbook's structure and styles (which numbers are dates).
"""

import datetime
import io
import re
import zipfile
from xml.parsers import expat

from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.datetime import from_excel
from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS

MAX_PARTS = 1000
MAX_RATIO = 100  # real worksheets compress 5 to 30 times; a ZIP bomb a thousand times
MAX_PART_BYTES = 4 * 1024 * 1024  # styles, workbook, relationships: small in any real workbook
DATA_PARTS = ("xl/worksheets/", "xl/sharedstrings.xml")  # may be as large as the whole unpacked limit
IGNORED_PARTS = ("xl/media/",)  # pictures: never read
LAST_ROW = 1_048_576  # a spreadsheet's last row
CHUNK = 64 * 1024

_ELEMENT = {name: f"{SHEET_MAIN_NS} {name}" for name in ("row", "c", "v", "is", "t", "rPh", "si", "mergeCell")}
ROW, CELL, VALUE, INLINE, TEXT, PHONETIC, STRING, MERGED = (
    _ELEMENT[n] for n in ("row", "c", "v", "is", "t", "rPh", "si", "mergeCell")
)


class WorkbookRefused(Exception):
    """The file is not a workbook this reader will unpack; the message says why, in plain words."""


class CutText(str):
    """The first characters of a longer text; `length` says how long it really was."""

    length = 0


class MergedCells(WorkbookRefused):
    """The worksheet merges cells of the table's rows: a merged range keeps its value in its first cell only, and
    its other cells read as empty. Said once for the whole file, rather than as every empty cell."""


class NumberCell(str):
    """The text of a cell the spreadsheet stored as a number (whole numbers without a point). A phone or an id typed
    into such a cell has lost what a number cannot hold: a leading 0, 00 or +."""


class DateCell(str):
    """A date cell's date, as YYYY-MM-DD. `order` says how the spreadsheet shows it, from the cell's number format:
    "ymd", "dmy" or "mdy" when the day and month are shown as numbers, else "" (a month's name, or the reading
    program's own short form). A date typed day first into a program that reads month first (08/11/1981 meant as
    8 November) is stored as 11 August and shown "mdy": the order is what can tell."""

    order = ""


def cut(text, limit):
    """`text` whole if it has at most `limit` characters, else a CutText of its first `limit`."""
    if len(text) <= limit:
        return text
    kept = CutText(text[:limit])
    kept.length = len(text)
    return kept


def megabytes(size):
    return f"{size / 1_048_576:,.1f} MB"


MAX_OTHER_SHEETS = 20  # whose first row `heads` reads


def read_rows(data, *, max_unpacked, max_chars, max_strings, width):
    """Return the worksheets' names, in the workbook's order; an iterator of (row number, [cell texts]) for each
    row of the first worksheet that has a cell, the header first; and `heads`, a function that gives (name, first
    row or None) for the other worksheets (the first MAX_OTHER_SHEETS of them), reading no further than their first
    row.

    Cells are strings (dates as YYYY-MM-DD, whole numbers without a decimal point), at most `width` per row: when
    a row has anything past that, its last cell is not empty, so that the caller sees a row wider than any header.
    Raises WorkbookRefused, before or while reading.
    """
    archive = _open_archive(data, max_unpacked)
    try:
        reader = _WorkbookReader(archive, data, max_chars, max_strings)
        workbook = reader.workbook()
    except WorkbookRefused:
        raise
    except Exception as e:  # noqa: BLE001 — a damaged workbook fails in many ways inside openpyxl and its XML parser
        raise archive.refusal or WorkbookRefused(
            f"The file cannot be read as an XLSX workbook ({type(e).__name__})."
        ) from None
    if not reader.worksheets:
        raise WorkbookRefused("The workbook has no worksheet.")
    sheet = _Sheet(reader.shared_strings, workbook, max_chars, width)

    def heads():
        for title, path in list(zip(reader.titles, reader.worksheets))[1:1 + MAX_OTHER_SHEETS]:
            rows = sheet.rows(archive, path)
            try:
                first = next(rows, None)
            finally:
                rows.close()
            yield title, first[1] if first else None

    return reader.titles, sheet.rows(archive, reader.worksheets[0]), heads


# --- the archive -------------------------------------------------------------------------------------------


class _BoundedArchive(zipfile.ZipFile):
    """A ZIP archive whose parts, read through open(), may not unpack to more than `budget` bytes in all."""

    def __init__(self, file, budget):
        super().__init__(file)
        self.budget = budget
        self.unpacked = 0
        self.refusal = None  # kept: openpyxl may wrap the exception in one of its own

    def open(self, name, mode="r", pwd=None, **kwargs):
        part = super().open(name, mode, pwd, **kwargs)
        return _CountedPart(part, self) if mode == "r" else part

    def count(self, size):
        self.unpacked += size
        if self.unpacked > self.budget and self.refusal is None:
            self.refusal = WorkbookRefused(
                f"The workbook unpacks to more than {megabytes(self.budget)}, the most accepted (one of its parts "
                "holds more than it declares). Save it again as a plain XLSX or CSV file."
            )
        if self.refusal is not None:
            raise self.refusal


class _CountedPart(io.RawIOBase):
    def __init__(self, part, archive):
        super().__init__()
        self.part = part
        self.archive = archive

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self.part.read(min(len(buffer), CHUNK))
        self.archive.count(len(data))
        buffer[:len(data)] = data
        return len(data)

    def close(self):
        self.part.close()
        super().close()


def _open_archive(data, limit):
    try:
        archive = _BoundedArchive(io.BytesIO(data), budget=limit)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError) as e:
        raise WorkbookRefused(f"The file cannot be read as an XLSX workbook ({type(e).__name__}).") from None
    parts = archive.infolist()
    if len(parts) > MAX_PARTS:
        raise WorkbookRefused(f"The workbook holds {len(parts):,} parts; a referral table needs a handful.")
    total = sum(part.file_size for part in parts)
    if total > limit:
        raise WorkbookRefused(
            f"The workbook unpacks to {megabytes(total)}; the most accepted is {megabytes(limit)}. "
            "A referral table that large does not fit in one file: split it."
        )
    for part in parts:
        name = part.filename.lower()
        ratio = part.file_size / max(part.compress_size, 1)
        shown = part.filename if len(part.filename) <= 80 else part.filename[:80] + "…"
        if part.file_size > 1_048_576 and ratio > MAX_RATIO:
            raise WorkbookRefused(
                f"A part of the workbook ({shown}) unpacks {ratio:,.0f} times larger ({megabytes(part.file_size)} "
                f"from {megabytes(part.compress_size)}): that is a ZIP bomb, not a spreadsheet."
            )
        if part.file_size > MAX_PART_BYTES and not name.startswith(DATA_PARTS + IGNORED_PARTS):
            raise WorkbookRefused(
                f"A part of the workbook ({shown}) unpacks to {megabytes(part.file_size)}; a referral table has no "
                "part that large besides its worksheets."
            )
    return archive


# --- the workbook (openpyxl) and its shared strings -----------------------------------------------------------


class _WorkbookReader(ExcelReader):
    """openpyxl's reader on the bounded archive, read-only; our shared strings, no worksheet parsing."""

    def __init__(self, archive, data, max_chars, max_strings):
        super().__init__(io.BytesIO(data), read_only=True, data_only=True, keep_links=False)
        self.archive.close()
        self.archive = archive
        self.valid_files = archive.namelist()
        self.max_chars = max_chars
        self.max_strings = max_strings
        self.worksheets = []  # paths of the worksheets' XML, in the workbook's order
        self.titles = []  # and their names, as the spreadsheet program shows them on the tabs

    def read_strings(self):
        part = self.package.find(SHARED_STRINGS)
        if part is not None:
            with self.archive.open(part.PartName[1:]) as source:
                self.shared_strings = _shared_strings(source, self.max_chars, self.max_strings)

    def read_worksheets(self):
        for sheet, relation in self.parser.find_sheets():
            if relation.target in self.valid_files and "chartsheet" not in relation.Type:
                self.worksheets.append(relation.target)
                self.titles.append(sheet.name)

    def workbook(self):
        self.read()
        return self.wb


def _parser():
    # Names are interned into our constants, so that handlers compare them by identity.
    parser = expat.ParserCreate(namespace_separator=" ", intern={name: name for name in _ELEMENT.values()})
    parser.buffer_text = True  # one call for a run of text, not one per line

    def refuse_doctype(*args):
        raise WorkbookRefused("The workbook holds an XML document type declaration, which no spreadsheet writes.")

    parser.StartDoctypeDeclHandler = refuse_doctype
    return parser


def _parse(source, parser):
    while chunk := source.read(CHUNK):
        parser.Parse(chunk, False)
        yield
    parser.Parse(b"", True)
    yield


def _shared_strings(source, max_chars, max_strings):
    strings = []
    parts, kept, length = [], 0, 0
    collecting, phonetic = False, 0

    def start(name, attributes):
        nonlocal parts, kept, length, collecting, phonetic
        if name is TEXT and not phonetic:
            collecting = True
        elif name is STRING:
            parts, kept, length = [], 0, 0
        elif name is PHONETIC:
            phonetic += 1

    def end(name):
        nonlocal collecting, phonetic
        if name is TEXT:
            collecting = False
        elif name is STRING:
            strings.append(_text(parts, kept, length, shared=True))
            if len(strings) > max_strings:
                raise WorkbookRefused(
                    f"The workbook holds more than {max_strings:,} different texts, more than a referral file can "
                    "use: it is not a plain referral table."
                )
        elif name is PHONETIC:
            phonetic -= 1

    def characters(data):
        nonlocal kept, length
        if collecting:
            length += len(data)
            if kept < max_chars:
                piece = data[:max_chars - kept]
                parts.append(piece)
                kept += len(piece)

    parser = _parser()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, characters
    for _ in _parse(source, parser):
        pass
    return strings


def _text(parts, kept, length, shared=False):
    """A text collected in pieces: whole, or a CutText of its first characters when it was longer."""
    text = "".join(parts)
    if shared and "x005F_" in text:
        text = text.replace("x005F_", "")  # as openpyxl reads shared strings
    if length > kept:
        text = CutText(text)
        text.length = length
    return text


# --- the worksheet -------------------------------------------------------------------------------------------


def _order(code):
    """"ymd", "dmy" or "mdy": the order a number format shows a date's numbers in ("" for a month's name)."""
    code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code.lower())  # quoted text, [$-409] and colours, escapes
    if "mmm" in code:
        return ""
    found = {part: code.find(part) for part in "ymd"}
    if any(position < 0 for position in found.values()):
        return ""
    return "".join(sorted(found, key=found.get))


def _date_orders(workbook):
    """{style id: order} for the styles whose numbers are dates; Excel's built-in short date (14) and the other
    built-in formats are shown in each reader's own way, and so have no order."""
    orders = {}
    for style in workbook._date_formats:
        format_id = workbook._cell_styles[style].numFmtId
        if format_id >= 164 and format_id - 164 < len(workbook._number_formats):
            orders[style] = _order(workbook._number_formats[format_id - 164])
    return orders


class _Sheet:
    def __init__(self, shared_strings, workbook, max_chars, width):
        self.shared = shared_strings
        self.dates = workbook._date_formats  # style ids whose numbers are dates (openpyxl reads the styles)
        self.orders = _date_orders(workbook)
        self.durations = workbook._timedelta_formats
        self.epoch = workbook.epoch
        self.max_chars = max_chars
        self.width = width

    def rows(self, archive, path):
        # Local variables and identity tests on interned names: this runs for every element of the worksheet.
        ready = []  # rows finished by the parser, waiting to be yielded
        limit, width, value_of = self.max_chars, self.width, self.value
        number, cells, overflow = 0, {}, ""
        column, kind, style = -1, "n", 0
        parts, kept, length = [], 0, 0
        collecting, inline, phonetic = False, False, 0

        def start(name, attributes):
            nonlocal number, cells, overflow, column, kind, style, parts, kept, length, collecting, inline, phonetic
            if name is CELL:
                reference = attributes.get("r")
                column = _column(reference) if reference else column + 1
                kind = attributes.get("t", "n")
                style = int(attributes.get("s") or 0)
                parts, kept, length = [], 0, 0
            elif name is VALUE or (name is TEXT and inline and not phonetic):
                collecting = True
            elif name is INLINE:
                inline = True
            elif name is PHONETIC:
                phonetic += 1
            elif name is MERGED and _spans_rows(attributes.get("ref", "")):
                merged[0] += 1
                if len(merged) < 4:  # a few to name, and the count: a hostile sheet may declare millions
                    merged.append(attributes["ref"])
            elif name is ROW:
                number = int(attributes["r"]) if "r" in attributes else number + 1
                if number > LAST_ROW:
                    raise WorkbookRefused(f"The worksheet goes past row {LAST_ROW:,}, the last row of a spreadsheet.")
                cells, overflow, column = {}, "", -1

        def end(name):
            nonlocal collecting, inline, phonetic, overflow
            if name is VALUE or name is TEXT:
                collecting = False
            elif name is CELL:
                value = value_of(kind, style, _text(parts, kept, length))
                if column < width - 1:
                    cells[column] = value
                elif value.strip() and not overflow:
                    overflow = value
            elif name is INLINE:
                inline = False
            elif name is PHONETIC:
                phonetic -= 1
            elif name is ROW and (cells or overflow):
                row = [""] * (width if overflow else max(cells) + 1)
                for index, value in cells.items():
                    row[index] = value
                if overflow:
                    row[-1] = overflow
                ready.append((number, row))

        def characters(data):
            nonlocal kept, length
            if collecting:
                length += len(data)
                if kept < limit:
                    piece = data[:limit - kept]
                    parts.append(piece)
                    kept += len(piece)

        merged = [0]  # how many ranges merge cells of the table's rows, then the first three ("K2:K5")
        parser = _parser()
        parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, characters
        with archive.open(path) as source:
            for _ in _parse(source, parser):
                yield from ready
                ready.clear()
        if merged[0]:  # mergeCells come after the rows
            more = f" (and {merged[0] - 3:,} more)" if merged[0] > 3 else ""
            raise MergedCells(
                f"Cells {', '.join(merged[1:])}{more} are merged: a merged range keeps its value in its first cell "
                "only, and its other cells read as empty. Unmerge them (in LibreOffice Calc and Excel: Merge and "
                "Unmerge Cells, or Merge & Center › Unmerge) and fill in every row, then import the file again."
            )

    def value(self, kind, style, text):
        """A cell's text as the contract reads it, from its type, its style and what the XML holds."""
        if kind == "s":
            try:
                return self.shared[int(text)]
            except (ValueError, IndexError):
                raise WorkbookRefused("A cell of the worksheet refers to a text the workbook does not hold.") from None
        if kind in ("inlineStr", "str", "e") or text == "":
            return text
        if kind == "b":
            return "True" if text.strip() == "1" else "False"
        if kind == "d":  # an ISO 8601 date and time
            return text[:10] if re.match(r"\d{4}-\d\d-\d\d", text) else text
        try:
            number = float(text) if any(c in text for c in ".eE") else int(text)
        except ValueError:
            return text  # not a number after all: the checks say what is wrong with it
        if style in self.dates:
            try:
                moment = from_excel(number, self.epoch, timedelta=style in self.durations)
            except (ValueError, OverflowError, TypeError):
                return text
            if isinstance(moment, datetime.datetime):
                moment = moment.date()  # every column of the contract holds dates, not times
            if not isinstance(moment, datetime.date):
                return str(moment)
            cell = DateCell(moment.isoformat())
            cell.order = self.orders.get(style, "")
            return cell
        if isinstance(number, float) and number.is_integer():
            return NumberCell(int(number))
        return NumberCell(number)


def _spans_rows(reference):
    """Whether a merged range ("K2:K5") merges cells of the table's rows (below the header)."""
    first, _, last = reference.partition(":")
    try:
        bottom = int(last.lstrip(_LETTERS) or 0)
    except ValueError:
        return False
    return bool(last) and last != first and bottom >= 2 and len(reference) <= 20


def _column(reference):
    """The 0-based column of a cell reference like "AB12"."""
    letters = reference.rstrip("0123456789")
    column = _COLUMNS.get(letters)
    if column is None:
        if not (letters.isalpha() and letters.isupper() and len(letters) <= 3 and letters.isascii()):
            raise WorkbookRefused(f"A cell of the worksheet has a reference that is not one ({reference[:20]!r}).")
        column = 0
        for letter in letters:
            column = column * 26 + ord(letter) - 64
        column -= 1
    return column


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_COLUMNS = {letter: index for index, letter in enumerate(_LETTERS)}
_COLUMNS.update({a + b: 26 + 26 * i + j for i, a in enumerate(_LETTERS) for j, b in enumerate(_LETTERS)})
