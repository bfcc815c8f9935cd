import zoneinfo

from django import template
from django.templatetags.tz import datetimeobject
from django.utils import timezone

from movements.phones import international

register = template.Library()


@register.filter
def phone(value):
    """A stored phone number in international format: `+992 93 123 4567`."""
    return international(value)


@register.filter
def zone_abbreviation(local):
    """The time zone of an aware local time as its abbreviation ("CET") or, where the zone has none, its offset
    ("UTC+05:00"). Django's `date:"T"` prints nothing for a time that happens twice (the night clocks go back), the
    one time it matters most."""
    if not local:
        return ""
    name = local.tzname() or ""
    return name if name[:1].isalpha() else utc_offset(local)


def utc_offset(local):
    """"UTC+05:00": an aware time's offset from UTC, as people read it."""
    offset = local.strftime("%z")
    return f"UTC{offset[:3]}:{offset[3:]}" if offset else ""


@register.filter
def in_zone(value, zone_name):
    """An aware moment as the wall clock of `zone_name` shows it, kept as such by the filters after it (as Django's
    `timezone` filter does) and, unlike that filter, keeping which of a time that happens twice it is (the night
    clocks go back): `|timezone:` makes the second 02:30 the first, an hour earlier."""
    if not value:
        return ""
    local = timezone.localtime(value, zoneinfo.ZoneInfo(zone_name))
    result = datetimeobject(local.year, local.month, local.day, local.hour, local.minute, local.second,
                            local.microsecond, local.tzinfo, fold=local.fold)
    result.convert_to_local_time = False
    return result
