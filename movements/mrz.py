"""Machine-readable zones of travel documents (ICAO Doc 9303 parts 3 to 7).

A passport's zone (TD3, two lines of 44 characters) is read and checked here: every field's syntax (document
code, states on ICAO's list, real dates, sex), then the check digits. Other zones are recognised and refused
with a message that says what they are (a visa, MRV-A or MRV-B; an identity card, TD1 or TD2).

Check digit: weighted sum with weights 7, 3, 1 repeating; digits count as their value,
A–Z as 10–35 and the filler `<` as 0; the result is the sum modulo 10.

Why our own code and not the `mrz` package (which reads TD1, TD2, TD3, MRV-A and MRV-B): a passport is the
only zone Safar stores, and what it needs beyond the check digits — a message that names the faulty field in
words, the same list of states as the rest of the app (countries.py), and the comparison of the zone with the
person under ICAO's transliteration rules (`name_forms`) — the package does not do; it reports booleans per
field in its own wording over its own country table. A hundred lines here cost less than translating it.
"""

import datetime
import itertools
import re
import unicodedata
from dataclasses import dataclass

TD3_LINE_LENGTH = 44
_WEIGHTS = (7, 3, 1)


class MRZError(ValueError):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def char_value(char):
    # Not str.isdigit(): that is true for "²" and Arabic-Indic digits, which no MRZ holds.
    if "0" <= char <= "9":
        return int(char)
    if "A" <= char <= "Z":
        return ord(char) - ord("A") + 10
    if char == "<":
        return 0
    raise MRZError("mrz_character", f"“{char}” is not allowed in a machine-readable zone (only A–Z, 0–9 and <).")


def check_digit(field):
    return str(sum(char_value(c) * _WEIGHTS[i % 3] for i, c in enumerate(field)) % 10)


@dataclass(frozen=True)
class TD3:
    document_type: str
    issuing_state: str
    names: str
    document_number: str
    nationality: str
    birth_date: str  # YYMMDD
    sex: str
    expiry_date: str  # YYMMDD
    optional_data: str


def clean_line(line):
    """A line as scanned or typed: spaces, tabs and line breaks inside it dropped, capitals."""
    return re.sub(r"\s+", "", line or "").upper()


# States and codes on ICAO's list besides ISO 3166-1 alpha-3 (Doc 9303 part 3, section 5): Germany's D, the
# British and United Nations codes, the nationality codes for stateless persons, refugees and "unspecified",
# and UTO, the state of Utopia in ICAO's own specimens.
ICAO_EXTRA_CODES = {
    "D", "GBD", "GBN", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK", "XBA", "XIM", "XCC", "XCE", "XCO", "XEC", "XES",
    "XMP", "XOM", "XDC", "XPO", "XXA", "XXB", "XXC", "XXX", "EUE", "RKS", "UTO",
}


def is_icao_code(code):
    from movements.countries import COUNTRIES

    code = code.rstrip("<")
    return code in COUNTRIES or code in ICAO_EXTRA_CODES


def _real_date(yymmdd):
    if not re.fullmatch(r"\d{6}", yymmdd):
        return False
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    try:
        datetime.date(2000, month, day)  # a leap year: 29 February is a real date in some years
    except ValueError:
        return False
    return True


def recognise(line1, line2, line3=""):
    """Refuse, with a message saying what it is, a zone that is not a passport's two 44-character lines."""
    first = line1[:1]
    if line3 or len(line1) == 30:
        raise MRZError("mrz_id_card", "This is an identity card's zone (TD1, three lines of 30 characters), not a "
                                      "passport's: record the passport, or leave the MRZ empty.")
    if first == "V":
        kind = "MRV-A" if len(line1) == 44 else "MRV-B"
        raise MRZError("mrz_visa", f"This is a visa's zone ({kind}), not a passport's: put the visa's number in the "
                                   "visa / COPR reference, and the passport's zone here.")
    if len(line1) == 36 and first in "ACI":
        raise MRZError("mrz_id_card", "This is an identity card's zone (TD2, two lines of 36 characters), not a "
                                      "passport's.")


def parse_td3(line1, line2):
    """Parse and verify the two 44-character lines of a passport MRZ; raise MRZError on any fault."""
    line1 = clean_line(line1)
    line2 = clean_line(line2)
    recognise(line1, line2)
    for number, line in ((1, line1), (2, line2)):
        if len(line) != TD3_LINE_LENGTH:
            raise MRZError(
                "mrz_length", f"MRZ line {number} has {len(line)} characters; a passport line has {TD3_LINE_LENGTH}."
            )
        for char in line:
            try:
                char_value(char)
            except MRZError as e:
                raise MRZError(e.code, f"MRZ line {number}: {e.message}") from None

    syntax = [
        (line1[0] == "P", 1, "the document code is “%s”: a passport's starts with P" % line1[0:2].rstrip("<")),
        (is_icao_code(line1[2:5]), 1, f"the issuing state “{line1[2:5].rstrip('<')}” is not a code on ICAO's list"),
        (is_icao_code(line2[10:13]), 2, f"the nationality “{line2[10:13].rstrip('<')}” is not a code on ICAO's list"),
        (_real_date(line2[13:19]), 2, f"the date of birth “{line2[13:19]}” is not a date (YYMMDD)"),
        (line2[20] in "MFX<", 2, f"the sex “{line2[20]}” is not M, F, X or <"),
        (_real_date(line2[21:27]), 2, f"the expiry date “{line2[21:27]}” is not a date (YYMMDD)"),
    ]
    for ok, number, message in syntax:
        if not ok:
            raise MRZError("mrz_field", f"MRZ line {number}: {message}.")

    fields = [
        ("document number", line2[0:9], line2[9]),
        ("date of birth", line2[13:19], line2[19]),
        ("expiry date", line2[21:27], line2[27]),
    ]
    # The optional-data check digit may be `<` when the optional data is all fillers.
    if not (line2[42] == "<" and set(line2[28:42]) == {"<"}):
        fields.append(("personal number", line2[28:42], line2[42]))
    composite = line2[0:10] + line2[13:20] + line2[21:43]
    fields.append(("composite", composite, line2[43]))
    for label, value, given in fields:
        expected = check_digit(value)
        if given != expected:
            raise MRZError(
                "mrz_check_digit",
                f"MRZ check digit for the {label} is {given}, but {value.rstrip('<') or value} gives {expected}.",
            )
    return TD3(
        document_type=line1[0:2].rstrip("<"),
        issuing_state=line1[2:5].rstrip("<"),
        names=line1[5:].rstrip("<").replace("<<", ", ").replace("<", " "),
        document_number=line2[0:9].rstrip("<"),
        nationality=line2[10:13].rstrip("<"),
        birth_date=line2[13:19],
        sex=line2[20],
        expiry_date=line2[21:27],
        optional_data=line2[28:42].rstrip("<"),
    )


# ICAO Doc 9303 part 3, section 6: how letters outside A–Z are written in a zone. Where the table allows two
# forms (Ü as UE or U), both are tried.
TRANSLITERATION = {
    "Ä": ("AE", "A"), "Å": ("AA", "A"), "Æ": ("AE",), "Ö": ("OE", "O"), "Ø": ("OE",), "Ü": ("UE", "U"),
    "ß": ("SS",), "Ñ": ("N", "NXX"), "Þ": ("TH",), "Ĳ": ("IJ",), "Œ": ("OE",), "Ð": ("D",), "Ł": ("L",),
}
RULES = "apostrophes dropped, hyphens and spaces as <, ICAO 9303 part 3 transliteration"


def name_forms(name, limit=16):
    """The ways an MRZ may write this name (ICAO 9303 part 3): apostrophes dropped, hyphens, spaces and other
    punctuation as `<`, accents dropped, and the letters of the transliteration table in each allowed form."""
    name = re.sub("['\u2019\u2018\u02bc`]", "", name or "").upper()
    pieces = []
    for char in name:
        special = TRANSLITERATION.get(char) or TRANSLITERATION.get(char.upper())
        if special:
            pieces.append(special)
            continue
        plain = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        pieces.append((plain if re.fullmatch("[A-Z]*", plain) and plain else "<",))
    forms = []
    for combination in itertools.islice(itertools.product(*pieces), limit):
        forms.append(re.sub("<+", "<", "".join(combination)).strip("<"))
    return list(dict.fromkeys(forms))


def surname_matches(zone_surname, family_name):
    """Does the zone's surname field write this family name? (The zone may cut a long name short.)"""
    zone_surname = zone_surname.strip("<")
    for form in name_forms(family_name):
        if form and (form == zone_surname or (len(zone_surname) >= 10 and form.startswith(zone_surname))):
            return True
    return False
