"""The retention's own lines (`hooks.retention_shredders`): the access log and django-axes' log-in records are
deleted once older than their own periods (SAFAR_ACCESS_LOG_DAYS, SAFAR_LOGIN_RECORD_DAYS), and expired sessions
with them. They do not follow the cases: the access log says who looked at a family even after the family's data is
gone."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.conf import settings
from django.contrib.sessions.models import Session

from movements import hooks
from movements.hooks import Shredder
from privacy.models import AccessLogEntry


class AccessLogEntries(Shredder):
    kind = "access_log"
    label = "Access log entries"
    order = 990

    @property
    def description(self):
        return f"Entries of the access log older than {settings.SAFAR_ACCESS_LOG_DAYS} days (SAFAR_ACCESS_LOG_DAYS)."

    def _before(self, batch):
        return batch.kept_since(settings.SAFAR_ACCESS_LOG_DAYS)

    def count(self, batch):
        return AccessLogEntry.objects.filter(at__lt=self._before(batch)).count()

    def shred(self, batch):
        return AccessLogEntry.prune(self._before(batch))


class LoginRecords(Shredder):
    kind = "login_records"
    label = "Log-in records (user names and addresses)"
    order = 990

    @property
    def description(self):
        return (f"django-axes' records of log-ins and failed log-ins (user name, address, browser) older than "
                f"{settings.SAFAR_LOGIN_RECORD_DAYS} days (SAFAR_LOGIN_RECORD_DAYS). A pause still running is kept.")

    def _querysets(self, batch):
        before = batch.kept_since(settings.SAFAR_LOGIN_RECORD_DAYS)
        return [AccessLog.objects.filter(attempt_time__lt=before),
                AccessFailureLog.objects.filter(attempt_time__lt=before),
                AccessAttempt.objects.filter(attempt_time__lt=before)]

    def count(self, batch):
        return sum(qs.count() for qs in self._querysets(batch))

    def shred(self, batch):
        return sum(qs.delete()[1].get(qs.model._meta.label, 0) for qs in self._querysets(batch))


class ExpiredSessions(Shredder):
    kind = "expired_sessions"
    label = "Expired log-in sessions"
    description = ("Sessions past their expiry (Django's `clearsessions`): a message not yet shown, naming a family, "
                   "or a reason typed into a refused form, waits in its session.")
    order = 990

    def _expired(self, batch):
        return Session.objects.filter(expire_date__lt=batch.now)

    def count(self, batch):
        return self._expired(batch).count()

    def shred(self, batch):
        return self._expired(batch).delete()[0]


@hooks.retention_shredders.register
def privacy_shredders():
    return [AccessLogEntries(), LoginRecords(), ExpiredSessions()]
