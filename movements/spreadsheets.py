"""The project's one rule for text that leaves it in a spreadsheet (CSV or XLSX): formulas are neutralised.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return would be run as a formula by
Excel or LibreOffice (OWASP "CSV injection"; DESIGN.md, "Status export"). Such text gets a leading apostrophe,
which spreadsheets show as plain text. django-import-export's own setting handles only `=`; every export of this
project — the admin's and the UNHCR status export — uses this one function.

Round trip: a name that legitimately starts with one of these characters is exported as `'` + name; whoever
reads the file back removes exactly one leading apostrophe when the next character is one of them
(`restore`). No other text is changed, so nothing else needs undoing.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """The text as it may safely stand in a spreadsheet cell (other values are returned unchanged)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore(value):
    """Undo `neutralise`: the original text of a cell read back from an export."""
    if isinstance(value, str) and value.startswith("'") and value[1:2] and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
