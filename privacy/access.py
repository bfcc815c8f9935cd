"""Who may use the data protection pages: the `dpo` role (permissions of the privacy app), and nobody else —
every other role gets a 403 on its pages and downloads. The role has no operational rights: no case list, no case
page, no change anywhere; it reads the access log, previews the retention and produces a person's own record."""

from django.core.exceptions import PermissionDenied

LOG_PERMISSION = "privacy.view_accesslogentry"
SUBJECT_PERMISSION = "privacy.read_subject_records"
RETENTION_PERMISSION = "privacy.run_retention"


def may(user, permission):
    return user.is_authenticated and user.has_perm(permission)


def may_use_privacy(user):
    return may(user, LOG_PERMISSION)


def require(user, permission):
    if not may(user, permission):
        raise PermissionDenied("These pages are for the data protection officer.")
