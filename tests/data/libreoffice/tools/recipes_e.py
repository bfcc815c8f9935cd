"""Recipes for calc_uno.py: what people do to a referral workbook in Calc. Each gets (doc, helpers module)."""
import uno
from com.sun.star.table import CellRangeAddress
from com.sun.star.table.CellHoriJustify import CENTER
from com.sun.star.awt.FontWeight import BOLD


def _used_rows(sheet):
    cursor = sheet.createCursor()
    cursor.gotoEndOfUsedArea(False)
    return cursor.RangeAddress.EndRow, cursor.RangeAddress.EndColumn


def _style_header(sheet, row, last_col):
    header = sheet.getCellRangeByPosition(0, row, last_col, row)
    header.CharWeight = BOLD
    header.CellBackColor = 0xDDEBF7
    header.IsTextWrapped = True
    header.HoriJustify = CENTER


def typed_en_US_after_fixing_reported(doc, h):
    """(d) typed in en-US, then the person mends exactly what Safar's report listed: the text dates retyped as
    YYYY-MM-DD (as the message asks) and the two phones written as the message suggests."""
    typed_after_fix(doc, h, ("en", "US"))


def typed_en_GB_after_fixing_reported(doc, h):
    typed_after_fix(doc, h, ("en", "GB"))


def typed_after_fix(doc, h, locale):
    h.typed_numbers_and_dates(doc, locale)
    sheet = doc.Sheets.getByIndex(0)
    dob, phone = h.column_of(sheet, "date_of_birth"), h.column_of(sheet, "phone")
    rows, _ = _used_rows(sheet)
    for r in range(1, rows + 1):
        cell = sheet.getCellByPosition(dob, r)
        if cell.getType().value == "TEXT":  # a date left as text: "17/09/2002" → typed again as 2002-09-17
            d, m, y = cell.getString().split("/")
            h.type_into(doc, sheet, r, dob, f"{y}-{m}-{d}")
    for individual, text in {"861-26C10002-02": "+93 79 479 9023", "862-25C10003-04": "+93 70 640 3754"}.items():
        h.type_into(doc, sheet, h.row_of(sheet, individual), phone, text)


def notes_sheet_in_front(doc, h):
    """(e1) a sheet of instructions inserted before the referral sheet."""
    doc.Sheets.insertNewByName("Instructions", 0)
    notes = doc.Sheets.getByName("Instructions")
    notes.getCellByPosition(0, 0).setString("How to fill the referral sheet")
    notes.getCellByPosition(0, 0).CharWeight = BOLD
    notes.getCellByPosition(0, 1).setString("One row per person. Dates as YYYY-MM-DD.")
    doc.Sheets.getByIndex(1).Name = "Referrals"


def split_over_two_sheets(doc, h):
    """(e2) the batch split over two sheets, "Batch 1" (first 6 cases) and "Batch 2" (the other 6), each with the
    header; the way people split a long list."""
    sheet = doc.Sheets.getByIndex(0)
    sheet.Name = "Batch 1"
    rows, cols = _used_rows(sheet)
    case_col = h.column_of(sheet, "progres_case_id")
    seen, split = [], None
    for r in range(1, rows + 1):
        cid = sheet.getCellByPosition(case_col, r).getString()
        if cid not in seen:
            seen.append(cid)
            if len(seen) == 7:
                split = r
                break
    doc.Sheets.insertNewByName("Batch 2", 1)
    second = doc.Sheets.getByName("Batch 2")
    header = sheet.getCellRangeByPosition(0, 0, cols, 0).RangeAddress
    second.copyRange(second.getCellByPosition(0, 0).CellAddress, header)
    tail = sheet.getCellRangeByPosition(0, split, cols, rows).RangeAddress
    second.copyRange(second.getCellByPosition(0, 1).CellAddress, tail)
    sheet.getCellRangeByPosition(0, split, cols, rows).clearContents(1023)
    sheet.getRows().removeByIndex(split, rows - split + 1)
    for s in (sheet, second):
        _style_header(s, 0, cols)


def title_row_merged_above_header(doc, h):
    """(e3) a title row above the header, merged across the columns, bold and large; header bold with a fill,
    an autofilter on it and the panes frozen below it: the usual 'make it look nice' of a shared sheet."""
    sheet = doc.Sheets.getByIndex(0)
    sheet.Name = "Referrals"
    rows, cols = _used_rows(sheet)
    sheet.getRows().insertByIndex(0, 1)
    title = sheet.getCellRangeByPosition(0, 0, cols, 0)
    title.merge(True)
    cell = sheet.getCellByPosition(0, 0)
    cell.setString("UNHCR referrals — Dushanbe — batch of 30 November 2026")
    cell.CharWeight, cell.CharHeight, cell.HoriJustify = BOLD, 14, CENTER
    _style_header(sheet, 1, cols)
    _autofilter(doc, sheet, 1, rows + 1, cols)
    doc.getCurrentController().freezeAtPosition(0, 2)


def styled_header_merged_case_cells(doc, h):
    """(e4) header in row 1, bold with a fill, autofilter, frozen; and the case-level columns (progres_case_id,
    destination_country, priority, submission_category, referral_date) merged down over each case's rows, as
    people do for 'the same for every member of a case'. Calc asks whether to keep the hidden cells' contents;
    answering 'empty the hidden cells' (the default choice) leaves the value in the top cell only."""
    sheet = doc.Sheets.getByIndex(0)
    sheet.Name = "Referrals"
    rows, cols = _used_rows(sheet)
    _style_header(sheet, 0, cols)
    _autofilter(doc, sheet, 0, rows, cols)
    doc.getCurrentController().freezeAtPosition(0, 1)
    case_col = h.column_of(sheet, "progres_case_id")
    merged_cols = [h.column_of(sheet, n) for n in
                   ("progres_case_id", "destination_country", "priority", "submission_category", "referral_date")]
    start = 1
    for r in range(2, rows + 2):
        same = r <= rows and (sheet.getCellByPosition(case_col, r).getString()
                              == sheet.getCellByPosition(case_col, start).getString())
        if not same:
            if r - 1 > start:
                for c in merged_cols:
                    block = sheet.getCellRangeByPosition(c, start + 1, c, r - 1)
                    block.clearContents(1023)  # Calc's "empty the contents of the hidden cells"
                    sheet.getCellRangeByPosition(c, start, c, r - 1).merge(True)
            start = r


def filtered_rows_hidden(doc, h):
    """(e5) header styled with an autofilter, the list filtered to destination CAN (other rows hidden) and saved
    like that: the person 'sends the Canada cases'."""
    sheet = doc.Sheets.getByIndex(0)
    sheet.Name = "Referrals"
    rows, cols = _used_rows(sheet)
    _style_header(sheet, 0, cols)
    dest = h.column_of(sheet, "destination_country")
    rng = sheet.getCellRangeByPosition(0, 0, cols, rows)
    desc = rng.createFilterDescriptor(True)
    from com.sun.star.sheet import TableFilterField
    from com.sun.star.sheet.FilterOperator import EQUAL
    f = TableFilterField()
    f.Field, f.Operator, f.IsNumeric, f.StringValue = dest, EQUAL, False, "CAN"
    desc.setFilterFields((f,))
    desc.ContainsHeader = True
    _autofilter(doc, sheet, 0, rows, cols)
    rng.filter(desc)


def _autofilter(doc, sheet, first, last, cols):
    ranges = doc.DatabaseRanges
    addr = CellRangeAddress()
    addr.Sheet, addr.StartColumn, addr.StartRow, addr.EndColumn, addr.EndRow = 0, 0, first, cols, last
    name = f"filter{first}"
    if ranges.hasByName(name):
        ranges.removeByName(name)
    ranges.addNewByName(name, addr)
    ranges.getByName(name).AutoFilter = True


def formulas_for_case_columns(doc, h):
    """(e6) the case-level columns of every member after the first filled with formulas pointing at the row above
    (=K2, =L2, …), as people fill 'the same for every member of a case' down."""
    sheet = doc.Sheets.getByIndex(0)
    rows, cols = _used_rows(sheet)
    case_col = h.column_of(sheet, "progres_case_id")
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for name in ("destination_country", "priority", "submission_category", "referral_date"):
        c = h.column_of(sheet, name)
        for r in range(2, rows + 1):
            if sheet.getCellByPosition(case_col, r).getString() == sheet.getCellByPosition(case_col, r - 1).getString():
                sheet.getCellByPosition(c, r).setFormula(f"={letters[c]}{r}")  # r is 0-based: the row above


def typographic_apostrophe(doc, h):
    """(e7) O'Neil-Wardak as Calc's AutoCorrect (Localized Options, single quotes) turns a typed ' into ’."""
    sheet = doc.Sheets.getByIndex(0)
    col = h.column_of(sheet, "family_name")
    rows, _ = _used_rows(sheet)
    for r in range(1, rows + 1):
        cell = sheet.getCellByPosition(col, r)
        if "'" in cell.getString():
            cell.setString(cell.getString().replace("'", "\u2019"))
