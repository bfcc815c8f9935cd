"""The API's rate limit per user, counted across every worker process of the server.

DRF's `UserRateThrottle` keeps its counts in Django's default cache, which is each process's own memory: gunicorn's
four workers let a user through four times the rate. Here the counts live in the `throttle` cache, a directory all
workers of one server share (settings.CACHES)."""

from django.core.cache import caches
from rest_framework import throttling


class UserRateThrottle(throttling.UserRateThrottle):
    @property
    def cache(self):
        return caches["throttle"]
