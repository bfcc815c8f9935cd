"""Advance passenger data for the carrier: one CSV per departure, one line per passenger, written from the same rows
as the manifest (`travel.manifest.manifest_rows`), with what CBSA memo D2-7-1 asks of each person: names, date of
birth, nationality, sex, the travel document (type, number, issuing country, expiry) and the reservation
locator. Operations only (document numbers).

UTF-8 with a BOM (spreadsheets then read the names right), CRLF lines, and every text cell passed through
`movements.spreadsheets.neutralise`: a cell starting with =, +, -, @, a tab or a carriage return is kept as text.
"""

import csv
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
