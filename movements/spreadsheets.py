"""What goes into a spreadsheet cell: text that a spreadsheet program would run as a formula is neutralised.

DESIGN.md ("Status export"): every text cell that a spreadsheet could read as a formula, one starting with `=`,
`+`, `-`, `@`, a tab or a carriage return, is neutralised, here by a leading single quote (OWASP's advice for
CSV injection). Every export uses this one function: the admin's, and those to come.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """`value` unchanged, unless it is text starting like a formula: then with a single quote in front."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
