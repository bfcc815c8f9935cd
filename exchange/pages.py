"""What exchange adds to movements' pages: its navigation entry."""

from django.urls import reverse

from exchange.access import may_export
from movements import hooks
from movements.hooks import NavEntry


@hooks.navigation.register(order=80)
def exchange_navigation(request, access):
    if not may_export(request.user):
        return []
    match = getattr(request, "resolver_match", None)
    current = bool(match and (match.url_name or "").startswith("exports"))
    return [NavEntry("Exports", reverse("exports"), current, order=80)]
