"""The API's rate limit per user, counted across every worker process of the server.

DRF's `UserRateThrottle` keeps its counts in Django's default cache, which is each process's own memory: gunicorn's
four workers let a user through four times the rate. Here the counts live in the `throttle` cache, a table of the
database all workers share (settings.CACHES; made by migration exchange 0004). Not a directory: a file cache
unpickles what it finds there, and a shared temporary directory is anyone's to write."""

from django.core.cache import caches
from rest_framework import throttling


class UserRateThrottle(throttling.UserRateThrottle):
    @property
    def cache(self):
        return caches["throttle"]
