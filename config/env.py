"""Strict parsers for settings read from the environment.

A bad value stops the process with a message naming the variable, rather than
running with a setting nobody intended (the approach of healthchecks' settings).
"""

import os
import re
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


def env_str(name, default=""):
    return os.environ.get(name, default)


def env_bool(name, default):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off.")


def env_int(name, default, minimum=None):
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    return value


# The spellings of a period Django REST framework's throttles take (they read its first letter): 600/minute,
# 600/min, 600/m, 10/s, 100/hours.
RATE = re.compile(r"(?P<count>[1-9][0-9]*)/(?P<period>s|sec|second|m|min|minute|h|hour|d|day)s?")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_LEVEL_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL"}  # as Python's logging takes them


def env_rate(name, default):
    """A rate as Django REST framework's throttles read it, `N/second`, `N/minute`, `N/hour` or `N/day`. Checked
    here: a bad value would otherwise pass every check and fail each request it limits."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if not RATE.fullmatch(value):
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a rate: write a number of requests per second, minute, hour or day, e.g. "
            f"600/minute."
        )
    return value


def env_log_level(name, default):
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().upper()
    value = LOG_LEVEL_ALIASES.get(value, value)
    if value not in LOG_LEVELS:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a logging level: use one of {', '.join(LOG_LEVELS)}.")
    return value


def env_list(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choices(name, default, allowed):
    """A comma-separated list whose every item is one of `allowed`."""
    values = env_list(name, default)
    unknown = [value for value in values if value not in allowed]
    if unknown or not values:
        raise ImproperlyConfigured(
            f"{name}={os.environ.get(name)!r} is not a list of {', '.join(allowed)} (comma-separated)."
        )
    return values


def env_days_by_key(name, default):
    """`key=days` pairs, comma-separated (`arrived=730,rejected=365`), over `default`: only its keys, whole days of at
    least 1. A key left out keeps its default."""
    raw = os.environ.get(name)
    values = dict(default)
    if raw is None or raw.strip() == "":
        return values
    for item in raw.split(","):
        key, sep, days = item.partition("=")
        key = key.strip()
        if not sep or key not in default:
            raise ImproperlyConfigured(
                f"{name}={raw!r}: write key=days pairs separated by commas, keys among {', '.join(default)}."
            )
        try:
            number = int(days.strip())
        except ValueError:
            raise ImproperlyConfigured(f"{name}={raw!r}: {days.strip()!r} is not a whole number of days.") from None
        if number < 1:
            raise ImproperlyConfigured(f"{name}={raw!r}: {key} must be kept at least 1 day.")
        values[key] = number
    return values


def env_base_url(name, default):
    """The public address of the site, `https://host[:port][/prefix]`, without a trailing slash: printed
    documents (a command has no request) build absolute links from it."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ImproperlyConfigured(
            f"{name}={raw!r} is not a site address: use http(s)://host[:port][/path], e.g. https://safar.example.org."
        )
    return value


def parse_database_url(url, base_dir):
    """Turn `sqlite:///path` or `postgres://user:pass@host:port/name` into a DATABASES entry."""
    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query))
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        # sqlite:///db.sqlite3 is relative to the project, sqlite:////abs/path is absolute
        if path.startswith("//"):
            path = path[1:]
        else:
            path = path.lstrip("/")
            path = str(base_dir / path) if path else str(base_dir / "db.sqlite3")
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": path, "OPTIONS": options}
    if parts.scheme in ("postgres", "postgresql", "pgsql"):
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise ImproperlyConfigured("DATABASE_URL names no database: use postgres://user@host:5432/NAME.")
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise ImproperlyConfigured(
        f"DATABASE_URL scheme {parts.scheme!r} is not supported: use sqlite:///… or postgres://…"
    )
