"""What privacy adds to movements' pages: its navigation entry and the data protection officer's start page."""

from django.urls import reverse

from movements import hooks
from movements.hooks import NavEntry, Panel
from privacy.access import may_use_privacy


@hooks.navigation.register(order=90)
def privacy_navigation(request, access):
    if not may_use_privacy(request.user):
        return []
    match = getattr(request, "resolver_match", None)
    current = bool(match and (match.url_name or "").startswith("privacy"))
    return [NavEntry("Data protection", reverse("privacy_access_log"), current, order=90)]


@hooks.start_pages.register
def dpo_starts_on_the_access_log(user, access):
    if may_use_privacy(user) and not access.can_use_case_pages:
        return reverse("privacy_access_log")
    return None


@hooks.case_panels.register(order=5)
def retention_panel(request, case, access):
    # Only a closed case can have been anonymised: open cases cost no query.
    if not case.is_final:
        return []
    from privacy.models import AnonymisedCase

    mark = AnonymisedCase.objects.filter(case=case).first()
    if mark is None:
        return []
    return [Panel("privacy/case_panel.html", {"mark": mark}, title="Retention", order=5)]
