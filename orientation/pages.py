"""What orientation adds to the pages of `movements`: its navigation entry and a trainer's start page."""

from django.urls import reverse

from movements import hooks
from movements.hooks import NavEntry
from orientation.access import can_use_orientation


@hooks.navigation.register(order=40)
def orientation_navigation(request, access):
    if not can_use_orientation(request.user):
        return []
    match = getattr(request, "resolver_match", None)
    current = bool(match and (match.url_name or "").startswith("orientation"))
    return [NavEntry("Orientation", reverse("orientation_sessions"), current, order=40)]


@hooks.start_pages.register
def trainers_start_on_their_sessions(user, access):
    # A trainer's work is their sessions; operations (who also may plan sessions) keep the dashboard.
    if user.has_perm("orientation.run_session") and not access.can_use_case_pages:
        return reverse("orientation_sessions")
    return None
