"""Advance passenger data for the carrier: one file per departure, one line per passenger, written from the same rows
as the manifest (`travel.manifest.manifest_rows`), with what CBSA memo D2-7-1 asks of each person: names, date of
birth, nationality, sex, the travel document (type, number, issuing country, expiry) and the reservation
locator. Operations only (document numbers).

As CSV: UTF-8 with a BOM (spreadsheets then read the names right), CRLF lines, and every text cell passed through
`movements.spreadsheets.neutralise`: a cell starting with =, +, -, @, a tab or a carriage return is kept as text.
A spreadsheet that opens the CSV reads a document number of digits as a number, though (0001234 becomes 1234), and
saves it so; as XLSX every text is a text cell, and the dates are date cells.
"""

import csv
import datetime
import io

from movements.spreadsheets import neutralise
from travel.manifest import manifest_rows

HEADERS = ["family_name", "given_names", "date_of_birth", "nationality", "sex", "document_type", "document_number",
           "document_issuing_country", "document_expiry_date", "pnr"]


def apd_rows(departure, rows=None):
    """Lists of cells, the header first."""
    yield list(HEADERS)
    for row in rows if rows is not None else manifest_rows(departure):
        yield [neutralise(cell) for cell in (
            row.family_name, row.given_name, row.date_of_birth.isoformat(), row.nationality, row.sex,
            row.document_label if row.document_type else "", row.document_number, row.document_country,
            row.document_expiry.isoformat() if row.document_expiry else "", departure.pnr,
        )]


def apd_csv(departure, rows=None):
    """The file's text."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(apd_rows(departure, rows))
    return out.getvalue()


# Characters wide: names, a document's type and number, the dates, as they are shown.
WIDTHS = {"family_name": 20, "given_names": 20, "date_of_birth": 12, "document_type": 24, "document_number": 16,
          "document_issuing_country": 10, "document_expiry_date": 12, "pnr": 8}


def apd_xlsx(departure, rows=None):
    """The same lines as an XLSX workbook's bytes: text cells (a document number keeps its leading zeros), the two
    dates as date cells, the header kept in view."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(departure.code[:31])
    for number, header in enumerate(HEADERS, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = max(len(header), WIDTHS.get(header, 8)) + 2
    sheet.freeze_panes = "A2"
    lines = iter(apd_rows(departure, rows))
    sheet.append(next(lines))
    dates = [HEADERS.index("date_of_birth"), HEADERS.index("document_expiry_date")]
    for line in lines:
        cells = [ILLEGAL_CHARACTERS_RE.sub("", cell) for cell in line]
        for index in dates:
            cells[index] = datetime.date.fromisoformat(cells[index]) if cells[index] else None
        sheet.append(cells)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
