"""IATA special service request (SSR) codes that a movement declares to the airline (DOMAIN.md)."""

from django.core.exceptions import ValidationError

SSR_CODES = {
    "WCHR": "Wheelchair: can walk, not far",
    "WCHS": "Wheelchair: cannot use stairs",
    "WCHC": "Wheelchair: immobile",
    "STCR": "Stretcher (always escorted)",
    "MEDA": "Medical case",
    "OXYG": "Needs oxygen",
    "BLND": "Blind or low vision",
    "DEAF": "Deaf or hard of hearing",
    "DPNA": "Intellectual or developmental disability",
    "INFT": "Infant on lap",
    "UMNR": "Unaccompanied minor",
    "MAAS": "Meet and assist",
}

# These need an airline medical information form (MEDIF) 48–72 hours ahead.
MEDIF_CODES = {"STCR", "MEDA", "OXYG"}


def parse_ssr(value):
    """Split `WCHR;MEDA` (also commas or spaces) into a list of known codes, in order, without repeats."""
    codes = []
    for raw in (value or "").replace(",", ";").replace(" ", ";").split(";"):
        code = raw.strip().upper()
        if code and code not in codes:
            codes.append(code)
    unknown = [c for c in codes if c not in SSR_CODES]
    if unknown:
        raise ValidationError(
            "Unknown SSR code%s %s (known: %s)."
            % ("s" if len(unknown) > 1 else "", ", ".join(unknown), ", ".join(SSR_CODES)),
            code="unknown_ssr",
        )
    return codes


def validate_ssr(value):
    parse_ssr(value)


def combined_ssr(special_needs, needs):
    """A person's SSR codes: those entered by hand (`special_needs`) plus those that follow from their travel medical
    needs (a TravelMedicalNeeds or None), without repeats. `Person.ssr_codes` and lists that load people as plain
    values both read it."""
    codes = parse_ssr(special_needs)
    for code in needs.ssr_codes if needs else []:
        if code not in codes:
            codes.append(code)
    return codes
