"""A departure's legs as people give them (local times off a ticket or a convoy plan), checked and made aware.

Air legs name IATA airports; their time zones come from airportsdata, and each time is read in its own
airport's zone (the departure where the leg leaves, the arrival where it lands). Road legs are vehicles, each
with its places and a time zone chosen for them (the mission's by default). Every door (the pages, the demo,
tests) goes through `check_legs`, so a leg that arrives before it leaves, a connection shorter than
SAFAR_MIN_CONNECTION_MINUTES, an unknown airport or a leg in the past is refused the same way everywhere.
"""

import datetime
import re
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from movements.templatetags.safar import utc_offset, zone_abbreviation
from travel.airports import airport, unknown_airport_message
from travel.models import Leg, Mode

CARRIER = re.compile(r"^(?=.*[A-Z])[A-Z0-9]{2}$")
FLIGHT_NUMBER = re.compile(r"^[0-9]{1,4}[A-Z]?$")


@dataclass
class LegInput:
    origin: str
    destination: str
    departs: datetime.datetime  # local wall-clock time where the leg leaves (naive), or an aware moment
    arrives: datetime.datetime  # local wall-clock time where it arrives (naive), or an aware moment
    carrier: str = ""
    flight_number: str = ""
    vehicle: str = ""
    plate: str = ""
    driver: str = ""
    seats: int | None = None
    time_zone: str = ""  # road only: the zone of both places ("" = the mission's TIME_ZONE)
    # Which of a local time that happens twice (clocks going back): 0 the first (summer time), 1 the second. Only
    # read for such a time; without it, such a time is refused rather than guessed.
    departs_fold: int | None = None
    arrives_fold: int | None = None

    @classmethod
    def from_leg(cls, leg):
        return cls(origin=leg.origin, destination=leg.destination, departs=leg.departs_at, arrives=leg.arrives_at,
                   carrier=leg.carrier, flight_number=leg.flight_number, vehicle=leg.vehicle, plate=leg.plate,
                   driver=leg.driver, seats=leg.seats, time_zone=leg.origin_tz)


@dataclass(frozen=True)
class Problem:
    code: str
    message: str
    index: int | None = None  # which leg (0-based), for the form
    field: str = ""
    zone: str = ""  # the time zone a local time was read in (a time that happens twice: the form offers both)


def describe(moment, zone_name):
    """“2026-12-09 05:45 Asia/Dushanbe” — a local time with the zone it is read in (and its offset from UTC, when the
    clocks going back make that local time happen twice)."""
    local = timezone.localtime(moment, zoneinfo.ZoneInfo(zone_name))
    if happens_twice(local):
        return f"{local:%Y-%m-%d %H:%M} {zone_name} ({utc_offset(local)})"
    return f"{local:%Y-%m-%d %H:%M} {zone_name}"


def happens_twice(local):
    """Whether this local time (aware, in its zone) happens twice, the night the clocks go back."""
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()


def clock(local, fmt="%H:%M"):
    """A local time as printed ("02:30"), with its zone's abbreviation or offset when the clocks going back make it
    happen twice that night ("02:30 CET"): a manifest's reader must not take the wrong one."""
    if not happens_twice(local):
        return f"{local:{fmt}}"
    return f"{local:{fmt}} {zone_abbreviation(local)}"


def _aware(value, zone_name, fold=None):
    """A naive wall-clock time read in its zone, as a moment in UTC. In UTC, not in the zone: Python compares and
    subtracts two times of one zone on the wall clock, so a connection at Frankfurt on the night clocks go forward
    (01:30 → 03:20, really 50 minutes) measured 110.

    Returns NO_SUCH_TIME for a time skipped when clocks go forward, and TWICE for a time that happens twice when
    they go back (02:30 in Frankfurt on 25 October 2026 is 00:30 or 01:30 UTC) unless `fold` says which."""
    if timezone.is_aware(value):
        return value.astimezone(datetime.timezone.utc)
    zone = zoneinfo.ZoneInfo(zone_name)
    first = value.replace(tzinfo=zone, fold=0)
    second = value.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        # Skipped: the wall clock jumped over it, and it does not survive the round trip through UTC.
        if first.astimezone(datetime.timezone.utc).astimezone(zone).replace(tzinfo=None) != value:
            return NO_SUCH_TIME
        if fold not in (0, 1):
            return TWICE
        return (second if fold else first).astimezone(datetime.timezone.utc)
    return first.astimezone(datetime.timezone.utc)


NO_SUCH_TIME = "no such local time"
TWICE = "happens twice"


def readings(value, zone_name):
    """The two readings of a local time that happens twice: [(fold, "CEST, UTC+02:00"), (fold, "CET, UTC+01:00")]."""
    zone = zoneinfo.ZoneInfo(zone_name)
    said = []
    for fold in (0, 1):
        local = value.replace(tzinfo=zone, fold=fold)
        name = zone_abbreviation(local)
        said.append((fold, f"{name}, {utc_offset(local)}" if name != utc_offset(local) else name))
    return said


def _label(item, number):
    what = (f"{item.carrier} {item.flight_number}".strip() if item.carrier or item.flight_number
            else " ".join(p for p in (item.vehicle, item.plate) if p))
    return f"Leg {number} ({' '.join(p for p in (what, f'{item.origin}→{item.destination}') if p)})"


@lru_cache(maxsize=1)
def time_zones():
    return frozenset(zoneinfo.available_timezones())


def check_legs(mode, items, *, now=None, unchanged=()):
    """Check the legs and build them (unsaved `Leg`s, numbered from 1). Returns (legs, problems).

    `unchanged`: indexes of legs that are already stored as given (a leg that has since left is not refused as
    "in the past" when someone edits another field of the departure).
    """
    now = now or timezone.now()
    problems = []
    legs = []
    if not items:
        return [], [Problem("no_legs", "Give at least one leg.")]
    for index, item in enumerate(items):
        number = index + 1
        item.origin = (item.origin or "").strip()
        item.destination = (item.destination or "").strip()
        leg = Leg(number=number, carrier=(item.carrier or "").strip().upper(),
                  flight_number=(item.flight_number or "").strip().upper(), vehicle=(item.vehicle or "").strip(),
                  plate=(item.plate or "").strip().upper(), driver=(item.driver or "").strip(), seats=item.seats)
        label = _label(item, number)
        if mode == Mode.AIR:
            leg.origin, leg.destination = item.origin.upper(), item.destination.upper()
            ends = []
            for field_name, code in (("origin", leg.origin), ("destination", leg.destination)):
                found = airport(code)
                if found is None:
                    problems.append(Problem("unknown_airport", f"Leg {number}: {unknown_airport_message(code)}",
                                            index, field_name))
                ends.append(found)
            if not CARRIER.match(leg.carrier):
                problems.append(Problem("bad_flight", f"Leg {number}: the airline is its two-character IATA code, "
                                        "e.g. TK.", index, "carrier"))
            if not FLIGHT_NUMBER.match(leg.flight_number):
                problems.append(Problem("bad_flight", f"Leg {number}: a flight number is up to four digits, e.g. 255.",
                                        index, "flight_number"))
            if None in ends:
                continue
            if leg.origin == leg.destination:
                problems.append(Problem("same_airport", f"{label} leaves from and lands at the same airport.",
                                        index, "destination"))
                continue
            leg.origin_tz, leg.destination_tz = ends[0].tz, ends[1].tz
        else:
            leg.origin, leg.destination = item.origin, item.destination
            zone_name = item.time_zone or settings.TIME_ZONE
            if zone_name not in time_zones():
                problems.append(Problem("bad_time_zone", f"Leg {number}: “{zone_name}” is not a time zone.", index,
                                        "time_zone"))
                continue
            leg.origin_tz = leg.destination_tz = zone_name
            for field_name, value, what in (("origin", leg.origin, "where it leaves from"),
                                            ("destination", leg.destination, "where it goes"),
                                            ("vehicle", leg.vehicle, "the vehicle"),
                                            ("plate", leg.plate, "the number plate")):
                if not value:
                    problems.append(Problem("missing", f"Leg {number}: give {what}.", index, field_name))
            if not leg.seats or leg.seats < 1:
                problems.append(Problem("missing", f"Leg {number}: give the vehicle's seats for passengers.", index,
                                        "seats"))
        leg.departs_at = _aware(item.departs, leg.origin_tz, item.departs_fold)
        leg.arrives_at = _aware(item.arrives, leg.destination_tz, item.arrives_fold)
        for moment, field_name, zone_name, raw in ((leg.departs_at, "departs", leg.origin_tz, item.departs),
                                                  (leg.arrives_at, "arrives", leg.destination_tz, item.arrives)):
            if moment is NO_SUCH_TIME:
                problems.append(Problem(
                    "no_such_local_time",
                    f"{label}: {raw:%Y-%m-%d %H:%M} does not exist in {zone_name} (the clocks go forward then).",
                    index, field_name))
            elif moment is TWICE:
                (_, first), (_, second) = readings(raw, zone_name)
                problems.append(Problem(
                    "ambiguous_local_time",
                    f"{label}: {raw:%Y-%m-%d %H:%M} happens twice in {zone_name}, as the clocks go back that night: "
                    f"say which, the first ({first}) or the second ({second}). The ticket or the airline's "
                    "schedule in UTC tells.",
                    index, field_name, zone_name))
        if not (isinstance(leg.departs_at, datetime.datetime) and isinstance(leg.arrives_at, datetime.datetime)):
            leg.departs_at = leg.arrives_at = None
            continue
        if leg.arrives_at <= leg.departs_at:
            problems.append(Problem(
                "arrives_before_departing",
                f"{label} arrives {describe(leg.arrives_at, leg.destination_tz)}, before it leaves "
                f"{describe(leg.departs_at, leg.origin_tz)}: check the dates and times (each in its airport's "
                "own time zone)." if mode == Mode.AIR else
                f"{label} arrives {describe(leg.arrives_at, leg.destination_tz)}, before it leaves "
                f"{describe(leg.departs_at, leg.origin_tz)}.",
                index, "arrives"))
        if index not in unchanged and leg.departs_at < now:
            problems.append(Problem(
                "leg_in_the_past",
                f"{label} leaves {describe(leg.departs_at, leg.origin_tz)}, which has already passed.",
                index, "departs"))
        legs.append(leg)
    if mode == Mode.AIR and len(legs) == len(items):
        problems += _connections(legs)
    return legs, problems


def _connections(legs):
    minimum = settings.SAFAR_MIN_CONNECTION_MINUTES
    problems = []
    for before, after in zip(legs, legs[1:]):
        if after.origin != before.destination:
            problems.append(Problem(
                "legs_not_connected",
                f"Leg {before.number} ({before.label}) lands at {before.destination} but leg {after.number} "
                f"({after.label}) leaves from {after.origin}.", after.number - 1, "origin"))
            continue
        gap = after.departs_at - before.arrives_at
        minutes = int(gap.total_seconds() // 60)
        if minutes < minimum:
            problems.append(Problem(
                "connection_too_short",
                f"Leg {before.number} ({before.label}) lands {describe(before.arrives_at, before.destination_tz)} "
                f"and leg {after.number} ({after.label}) leaves {describe(after.departs_at, after.origin_tz)}: "
                + (f"a {minutes}-minute connection" if minutes >= 0 else "it leaves before the first one lands")
                + f"; at least {minimum} minutes are needed.",
                after.number - 1, "departs"))
    return problems


def schedule(mode, legs):
    """(departs_at, departure local date, arrives_at, arrival local date) of a departure with these legs."""
    first = legs[0] if mode == Mode.AIR else min(legs, key=lambda leg: leg.departs_at)
    last = legs[-1] if mode == Mode.AIR else max(legs, key=lambda leg: leg.arrives_at)
    return (first.departs_at, first.local_departure().date(), last.arrives_at, last.local_arrival().date())
