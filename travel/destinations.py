"""Destination rules read against a departure's calendar: days on which the destination does not receive
refugees, the statutory holidays of the final destination's province, and deadlines counted in working days.

The rules are data (`DestinationRule`, Canada's seeded by a migration); the holidays come from the `holidays`
package; the province from the final airport (airportsdata's `subd`, e.g. "Ontario", mapped to the holidays
package's own subdivision code, "ON"). No table of provinces or holidays is written here.
"""

import datetime
from dataclasses import dataclass
from functools import lru_cache

from travel.airports import airport

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Region:
    """Where a departure ends, for holidays: the country and, when known, its province or state."""

    country: str  # alpha-3
    subdivision: str = ""  # the holidays package's code, e.g. "ON"
    subdivision_name: str = ""  # e.g. "Ontario"

    @property
    def label(self):
        return self.subdivision_name or self.country


def region_of(departure, legs):
    """The region whose holidays count: the final airport's province (air), else the destination country."""
    country = departure.destination_country
    if departure.is_air and legs:
        final = airport(legs[-1].destination)
        if final is not None and final.country == country and final.subdivision:
            code = _subdivision_code(country, final.subdivision)
            if code:
                return Region(country, code, final.subdivision)
    return Region(country)


@lru_cache(maxsize=64)
def _holiday_class(country):
    import holidays

    if country not in holidays.list_supported_countries():
        return None  # a country the package has no calendar for: no holidays, rather than an error
    return type(holidays.country_holidays(country))


def _subdivision_code(country, name):
    cls = _holiday_class(country)
    if cls is None:
        return ""
    aliases = getattr(cls, "subdivisions_aliases", {}) or {}
    if name in aliases:
        return aliases[name]
    return name if name in (getattr(cls, "subdivisions", ()) or ()) else ""


@lru_cache(maxsize=64)
def holidays_of(region):
    """The statutory holidays of a region (a lazily filled, year by year mapping date -> name), or {}."""
    import holidays

    if _holiday_class(region.country) is None:
        return {}
    return holidays.country_holidays(region.country, subdiv=region.subdivision or None)


def holiday_name(region, day):
    return holidays_of(region).get(day)


def arrival_day_refusal(rule, region, day):
    """Why the destination does not receive refugees on `day`: (a few words, a plain sentence), or None."""
    if rule is None:
        return None
    weekday = day.isoweekday()
    if weekday in (rule.no_arrival_weekdays or []):
        refused = ", ".join(WEEKDAYS[d - 1] for d in sorted(rule.no_arrival_weekdays))
        holidays = " or statutory holidays" if rule.no_arrival_on_holidays else ""
        return (f"on a {WEEKDAYS[weekday - 1]}", f"a {WEEKDAYS[weekday - 1]} (no arrivals on {refused}{holidays})")
    if rule.no_arrival_on_holidays:
        name = holiday_name(region, day)
        if name:
            return f"on {name} ({region.label})", f"{name}, a statutory holiday in {region.label}"
    return None


def is_working_day(rule, region, day):
    weekend = rule.weekend if rule is not None else [6, 7]
    return day.isoweekday() not in weekend and holiday_name(region, day) is None


def working_days_before(rule, region, day, count):
    """The date `count` working days before `day` (weekends and the region's statutory holidays not counted)."""
    current = day
    remaining = count
    while remaining > 0:
        current -= datetime.timedelta(days=1)
        if is_working_day(rule, region, current):
            remaining -= 1
    return current
