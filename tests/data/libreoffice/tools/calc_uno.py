"""Drive a running LibreOffice Calc (python3-uno) the way an operations assistant would: open the sample CSV,
retype some cells (with Calc's own input recognition, in a chosen locale), style, add sheets, and save.

    soffice --headless --norestore -env:UserInstallation=file:///tmp/lohome_uno \
        --accept="socket,host=127.0.0.1,port=2002;urp;" &
    /usr/bin/python3 calc_uno.py RECIPE OUT_FILE

Typing = setting the cell property FormulaLocal (what the input line does), so Calc decides number/date/text
with the cell's number-format locale, exactly as when a person types it.
"""
import os
import sys
import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.lang import Locale

SAMPLE = os.path.abspath(os.environ.get("SAMPLE", "tests/data/referrals-sample.csv"))  # the contract sample (the shared one)


def prop(name, value):
    p = PropertyValue()
    p.Name, p.Value = name, value
    return p


def connect():
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    ctx = resolver.resolve("uno:socket,host=127.0.0.1,port=2002;urp;StarOffice.ComponentContext")
    return ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)


def open_sample(desktop):
    # What File > Open of the CSV gives with the Text Import dialog's usual choices (UTF-8, comma, " quotes).
    url = uno.systemPathToFileUrl(SAMPLE)
    return desktop.loadComponentFromURL(url, "_blank", 0, (
        prop("FilterName", "Text - txt - csv (StarCalc)"),
        prop("FilterOptions", "44,34,76,1,,1033,false,true"),
        prop("Hidden", True),
    ))


def column_of(sheet, name):
    for c in range(0, 30):
        if sheet.getCellByPosition(c, 0).getString() == name:
            return c
    raise KeyError(name)


def row_of(sheet, individual_id):
    col = column_of(sheet, "progres_individual_id")
    for r in range(1, 200):
        if sheet.getCellByPosition(col, r).getString() == individual_id:
            return r
    raise KeyError(individual_id)


def type_into(doc, sheet, row, col, text, locale=None):
    cell = sheet.getCellByPosition(col, row)
    if locale is not None:  # the person's locale (Tools > Options > Languages > Locale setting)
        formats = doc.getNumberFormats()
        cell.NumberFormat = formats.getStandardFormat(0, Locale(*locale, ""))
    cell.setPropertyValue("FormulaLocal", text)


def set_format(doc, cell_range, code):
    formats = doc.getNumberFormats()
    loc = Locale("en", "US", "")
    key = formats.queryKey(code, loc, False)
    if key == -1:
        key = formats.addNew(code, loc)
    cell_range.NumberFormat = key


def save(doc, out):
    url = uno.systemPathToFileUrl(out)
    if out.endswith(".xlsx"):
        doc.storeToURL(url, (prop("FilterName", "Calc MS Excel 2007 XML"),))
    elif out.endswith(".ods"):
        doc.storeToURL(url, (prop("FilterName", "calc8"),))
    elif out.endswith(".csv"):  # Calc's CSV export defaults on a UTF-8 desktop: comma, ", UTF-8, as shown
        doc.storeToURL(url, (prop("FilterName", "Text - txt - csv (StarCalc)"),
                             prop("FilterOptions", "44,34,76,1,,0,false,true,true,false,false")))
    else:
        raise ValueError(out)


# --- recipes -------------------------------------------------------------------------------------------------

def typed_numbers_and_dates(doc, locale, text_dates=False):
    """(d): phones and ids typed without spaces, so Calc stores them as numbers; dates typed dd/mm/yyyy."""
    sheet = doc.Sheets.getByIndex(0)
    phone, dob = column_of(sheet, "phone"), column_of(sheet, "date_of_birth")
    case, ind = column_of(sheet, "progres_case_id"), column_of(sheet, "progres_individual_id")
    typed_phones = {
        "870-24C10001-01": "+992934904548",   # sample: +992 93 490 4548
        "861-26C10002-02": "+93794799023",    # sample: +93 79 479 9023
        "862-25C10003-04": "0093706403754",   # sample: +93 70 640 3754
        "861-26C10008-04": "0701918338",      # sample: +93 70 191 8338, typed in Afghan national format
        "861-24C10004-01": "992985361963",    # sample: (+992) 98-536-1963; column shown as 9.92E+11 below
    }
    for individual, text in typed_phones.items():
        type_into(doc, sheet, row_of(sheet, individual), phone, text, locale)
    r = row_of(sheet, "861-24C10004-01")
    set_format(doc, sheet.getCellByPosition(phone, r), "0.00E+00")
    # A one-person case whose (hypothetical, all-digit) proGres ids were typed with leading zeros.
    r = row_of(sheet, "861-25C10006-01")
    type_into(doc, sheet, r, case, "0861250006", locale)
    type_into(doc, sheet, r, ind, "086125000601", locale)
    # Every date of birth retyped as day/month/year.
    last = sheet.createCursor()
    last.gotoEndOfUsedArea(False)
    rows = last.RangeAddress.EndRow
    isos = [sheet.getCellByPosition(dob, r).getString() for r in range(rows + 1)]
    if text_dates:  # the column formatted as Text (@) first, as careful people do
        set_format(doc, sheet.getCellRangeByPosition(dob, 1, dob, rows), "@")
    for r in range(1, rows + 1):
        cell = sheet.getCellByPosition(dob, r)
        iso = isos[r]
        if len(iso) == 10 and iso[4] == "-":
            y, m, d = iso.split("-")
            if text_dates:
                cell.setPropertyValue("FormulaLocal", f"{d}/{m}/{y}")
            else:
                type_into(doc, sheet, r, dob, f"{d}/{m}/{y}", locale)


def main():
    recipe, out = sys.argv[1], sys.argv[2]
    desktop = connect()
    doc = open_sample(desktop)
    try:
        if recipe == "typed-en-US":
            typed_numbers_and_dates(doc, ("en", "US"))
        elif recipe == "typed-en-GB":
            typed_numbers_and_dates(doc, ("en", "GB"))
        elif recipe == "typed-text-dates":
            typed_numbers_and_dates(doc, ("en", "US"), text_dates=True)
        else:
            import recipes_e
            getattr(recipes_e, recipe.replace("-", "_"))(doc, sys.modules[__name__])
        save(doc, out)
    finally:
        doc.close(True)


if __name__ == "__main__":
    main()
