import logging

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.db import OperationalError
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers

from movements.views.errors import bad_request, page_not_found


class SessionBackendMiddleware:
    """Sessions opened before the log-in backend became `movements.auth_backend.ModelBackend` name Django's own;
    Django would log them out, since that path is no longer listed. They are carried over, so that an upgrade
    logs nobody out in the middle of a form."""

    OLD, NEW = "django.contrib.auth.backends.ModelBackend", "movements.auth_backend.ModelBackend"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.session.get(BACKEND_SESSION_KEY) == self.OLD:
            request.session[BACKEND_SESSION_KEY] = self.NEW
        return self.get_response(request)


class NulPathNotFoundMiddleware:
    """No address holds a NUL character, and PostgreSQL refuses one in any query: answer 404 before a view
    would send it to the database (a 500 otherwise). In the admin, whose list filters (`?state=%00`) reach the
    database unchecked, a NUL in the query string is a bad request: 400. (Our own pages check their filters
    with forms, which refuse a NUL with a message.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path:
            return page_not_found(request)
        # The query string first: the admin's address is looked up only for the rare request with a NUL in it.
        if any("\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()) \
                and request.path.startswith(reverse("admin:index")):
            return bad_request(request)
        return self.get_response(request)


# What the database says when two requests changed the same rows at once and it stopped one of them: PostgreSQL's
# deadlock_detected, serialization_failure and lock_not_available; SQLite's "database is locked" after its timeout.
BUSY_SQLSTATES = {"40P01", "40001", "55P03"}


def database_busy(exception):
    """Whether this error is the database refusing a change because another was under way on the same rows."""
    if not isinstance(exception, OperationalError):
        return False
    cause = exception.__cause__
    if getattr(cause, "sqlstate", None) in BUSY_SQLSTATES:
        return True
    return "database is locked" in str(exception)


class DatabaseBusyMiddleware:
    """A change the database stopped because another was changing the same rows at that moment (a deadlock both
    waiting on each other, a lock held past SQLite's timeout) is a 503 saying so and asking to try again, not the
    500 "something went wrong" page: every service changes its rows in one transaction, so nothing of it was saved
    (unless what failed ran after a commit, a readiness refresh or an admin action's next departure: hence "most
    likely").
    Lock order keeps deadlocks away (travel.services, hooks.transition_locks); this answers the rare one left."""

    MESSAGE = ("Someone else was changing the same records at that moment, and the database stopped your change: "
               "it was most likely not saved. Go back, check the page, and try again if it is not there.")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not database_busy(exception):
            return None
        logging.getLogger("django.request").warning("Database busy, change refused: %s %s (%s)", request.method,
                                                    request.path, exception)
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": self.MESSAGE}, status=503)
        else:
            response = render(request, "errors/503.html", {"message": self.MESSAGE}, status=503)
        response["Retry-After"] = "5"
        return response


# Only our own scripts, styles, images and fonts; no plugins, no framing, forms post only here. The templates hold
# no inline script, no inline style and no event-handler attribute (tests/test_hardening_web.py checks the pages).
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
# Browser features the app never uses, denied to it and to anything it could ever embed.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in [
    "accelerometer", "autoplay", "camera", "display-capture", "encrypted-media", "geolocation", "gyroscope", "hid",
    "magnetometer", "microphone", "midi", "payment", "screen-wake-lock", "serial", "usb", "xr-spatial-tracking",
])


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy on pages, a Permissions-Policy on everything, and no caching of anything
    served behind log-in: every such page and download carries personal data, and a shared office computer's
    browser cache (or its back button after log-out) must not keep it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html") and not (
            settings.DEBUG and response.status_code >= 400  # Django's debug pages style themselves inline
        ):
            response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)  # Cache-Control: max-age=0, no-cache, no-store, must-revalidate, private
        return response
