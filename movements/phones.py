"""Phone numbers as people in the field write them, read into E.164 (the numbering plans via `phonenumbers`).

What is accepted besides `+` and a country code:
- the international prefix `00` written for `+` (`0093 70 123 4567`, `00992 93 123 4567`);
- Tajikistan's old trunk prefix `8` before a Tajik number (`8 92 777 12 34`, `8 (93) 123-45-67`);
- a number without a prefix, read in the mission's region (PHONENUMBER_DEFAULT_REGION; the region it was read in
  is kept with the person).
A refusal says what was understood and why: a spreadsheet that stored `93706403754` as a plain number lost its
`+`, and the message says the country code 93 is there.
"""

import re
from dataclasses import dataclass

import phonenumbers
from django.conf import settings

# Old trunk prefixes still written in the region, before the national number: Tajikistan's "8".
TRUNK_PREFIXES = {"TJ": "8"}


class PhoneError(ValueError):
    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ReadPhone:
    e164: str
    region: str  # the region a number without a prefix was read in; "" when it carried its country code


def parse_phone(text, region=None):
    """Read a typed or imported phone number; return ReadPhone or raise PhoneError with a plain message."""
    region = region or settings.PHONENUMBER_DEFAULT_REGION
    raw = (text or "").strip()
    compact = re.sub(r"[\s().\-/]", "", raw)
    if not compact:
        raise PhoneError("No phone number given.")
    if not re.fullmatch(r"\+?\d+", compact):
        raise PhoneError(f"“{raw}” is not a phone number: only digits, spaces, brackets, dashes and a leading +.")
    if not 5 <= len(compact.lstrip("+")) <= 20:
        raise PhoneError(f"“{raw}” is not a phone number: it has {len(compact.lstrip('+'))} digits.")
    read_in = ""
    if compact.startswith("00"):
        candidate = "+" + compact[2:]
    elif compact.startswith("+"):
        candidate = compact
    else:
        trunk = TRUNK_PREFIXES.get(region)
        if trunk and compact.startswith(trunk) and _valid(compact[len(trunk):], region):
            compact = compact[len(trunk):]
        candidate, read_in = compact, region
    number = _parse(candidate, region)
    if number is not None and phonenumbers.is_valid_number(number):
        return ReadPhone(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), read_in)
    if read_in:
        # A number that a spreadsheet stored without its "+": say what it would be.
        with_plus = _parse("+" + compact, region)
        if with_plus is not None and phonenumbers.is_valid_number(with_plus):
            code = with_plus.country_code
            shown = phonenumbers.format_number(with_plus, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            raise PhoneError(
                f"“{raw}” is not a {_region_name(region)} number; it reads as {shown} (country code {code}) with a "
                f"+ in front. A spreadsheet may have dropped the +: write it as {shown}."
            )
        raise PhoneError(
            f"“{raw}” is not a valid {_region_name(region)} number, and no country code was given: write it with "
            "+ or 00 and the country code, e.g. +992 93 123 4567 or 0093 70 123 4567."
        )
    raise PhoneError(f"“{raw}” is not a valid phone number for its country code (+{number.country_code if number else '?'}).")


def _parse(text, region):
    try:
        return phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None


def _valid(national, region):
    number = _parse(national, region)
    return number is not None and phonenumbers.is_valid_number(number)


def _region_name(region):
    from movements.countries import COUNTRIES

    for _code, (name, alpha2) in COUNTRIES.items():
        if alpha2 == region:
            return name
    return region


def international(value):
    """A stored number as people read it: `+992 93 123 4567`."""
    if not value:
        return ""
    number = _parse(str(value), None)
    if number is None:
        return str(value)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
