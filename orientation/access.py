"""Who sees which orientation sessions: operations all of them, a trainer only the sessions they train.

Trainers see of their participants only names, ages, languages and case numbers: the session pages show
nothing else, and trainers get no case pages.
"""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from orientation.models import Session


def can_manage(user):
    return user.has_perm("orientation.add_session")


def can_use_orientation(user):
    return user.is_authenticated and (can_manage(user) or user.has_perm("orientation.run_session"))


def visible_sessions(user):
    if not user.is_authenticated:
        return Session.objects.none()
    if can_manage(user):
        return Session.objects.all()
    if user.has_perm("orientation.run_session"):
        return Session.objects.filter(trainers=user)
    return Session.objects.none()


def get_session_for_user(user, code, *, manage=False):
    """The session with this code if the user may see it (404 otherwise: no leak of other trainers' sessions)."""
    if not can_use_orientation(user):
        raise PermissionDenied("Your role has no access to orientation sessions.")
    try:
        session = visible_sessions(user).get(code=code)
    except Session.DoesNotExist:
        raise Http404("No such session.") from None
    if manage and not can_manage(user):
        raise PermissionDenied("Only operations staff plan sessions and enrol people.")
    return session
