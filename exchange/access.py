"""Who may take status data out of the system: the `unhcr` and `operations` roles (permission
`exchange.export_status`), for files, the exports page and the API alike."""

from django.core.exceptions import PermissionDenied

EXPORT_PERMISSION = "exchange.export_status"


def may_export(user):
    return user.is_authenticated and user.has_perm(EXPORT_PERMISSION)


def require_export(user):
    if not may_export(user):
        raise PermissionDenied("Status exports are for UNHCR liaison and operations staff.")
