"""Airports by IATA code, from the airportsdata package: name, city, province or state, country and IANA time zone.

Never a hand-written airport table: a leg's airports and their time zones come from here, and so does the
province whose statutory holidays a Canadian arrival must avoid (`subdivision`, e.g. "Ontario" for YYZ).
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from movements.countries import COUNTRIES

IATA_CODE = re.compile(r"^[A-Z]{3}$")

_ALPHA3_BY_ALPHA2 = {alpha2: alpha3 for alpha3, (_name, alpha2) in COUNTRIES.items()}


@dataclass(frozen=True)
class Airport:
    code: str
    name: str
    city: str
    subdivision: str  # province or state as airportsdata names it ("Ontario"), or ""
    country: str  # ISO 3166-1 alpha-3, as cases and departures write countries
    tz: str  # IANA time zone, e.g. "America/Toronto"

    def __str__(self):
        return f"{self.code} — {self.name}"


@lru_cache(maxsize=1)
def _table():
    import airportsdata

    return airportsdata.load("IATA")


def airport(code):
    """The airport with this IATA code, or None (also for anything that is not three letters)."""
    code = (code or "").strip().upper()
    if not IATA_CODE.match(code):
        return None
    row = _table().get(code)
    if row is None or not row.get("tz"):
        return None
    return Airport(
        code=code, name=row["name"], city=row.get("city") or "", subdivision=row.get("subd") or "",
        country=_ALPHA3_BY_ALPHA2.get(row.get("country") or "", row.get("country") or ""), tz=row["tz"],
    )


def unknown_airport_message(code):
    code = (code or "").strip().upper()
    if not IATA_CODE.match(code):
        return f"“{code}” is not an IATA airport code: three letters, e.g. DYU, IST, YYZ."
    return f"No airport has the IATA code {code}; check the code on the ticket (e.g. DYU, IST, YYZ)."
