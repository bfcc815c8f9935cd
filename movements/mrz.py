"""Machine-readable zones of travel documents (ICAO Doc 9303 part 3 and 4, TD3 passports).

Check digit: weighted sum with weights 7, 3, 1 repeating; digits count as their value,
A–Z as 10–35 and the filler `<` as 0; the result is the sum modulo 10.
"""

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


def parse_td3(line1, line2):
    """Parse and verify the two 44-character lines of a passport MRZ; raise MRZError on any fault."""
    line1 = (line1 or "").strip().upper()
    line2 = (line2 or "").strip().upper()
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
