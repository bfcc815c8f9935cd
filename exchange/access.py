"""Who may take status data out of the system: the `unhcr` and `operations` roles (permission
`exchange.export_status`), for files, the exports page and the API alike."""

from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

EXPORT_PERMISSION = "exchange.export_status"


def may_export(user):
    # No user at all is what Django REST framework passes for an anonymous request (UNAUTHENTICATED_USER = None).
    return user is not None and user.is_authenticated and user.has_perm(EXPORT_PERMISSION)


def require_export(user):
    if not may_export(user):
        raise PermissionDenied("Status exports are for UNHCR liaison and operations staff.")


class MayExportStatus(BasePermission):
    """The API's and its schema's permission (Django REST framework): the same roles as the files."""

    message = "Status data is for UNHCR liaison and operations staff."

    def has_permission(self, request, view):
        return may_export(request.user)
