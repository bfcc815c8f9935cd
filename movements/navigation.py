"""What `movements` itself adds to the navigation bar, through the same hook as every plug-in."""

from django.urls import reverse

from movements import hooks
from movements.hooks import NavEntry


def _current(request, *prefixes):
    match = getattr(request, "resolver_match", None)
    name = (match.url_name or "") if match else ""
    return any(name == p or name.startswith(p) for p in prefixes)


@hooks.navigation.register(order=10)
def movements_navigation(request, access):
    user = request.user
    entries = [NavEntry("Dashboard", reverse("dashboard"), _current(request, "dashboard"), order=10)]
    if access.can_use_case_pages:
        entries.append(NavEntry("Cases", reverse("case_list"), _current(request, "case", "person_"), order=20))
    if user.has_perm("movements.import_referrals"):
        entries.append(NavEntry("Imports", reverse("import_list"), _current(request, "import"), order=60))
    if access.can_see_medical:
        entries.append(NavEntry("Medical", reverse("medical_work_list"), _current(request, "medical"), order=70))
    if user.is_staff:
        entries.append(NavEntry("Admin", reverse("admin:index"), False, order=90))
    return entries


@hooks.start_pages.register(order=50)
def medical_staff_start_on_the_work_list(user, access):
    # Medical staff (not operations, who also read medical summaries) start on what is due for them.
    if access.can_see_medical and not user.has_perm("movements.move_case") and not user.is_superuser:
        return reverse("medical_work_list")
    return None


def entries_for(request, access):
    """Every entry of every provider, in order: what the navigation bar shows."""
    if not request.user.is_authenticated:
        return []
    return sorted(hooks.navigation.collect(request, access), key=lambda e: e.order)
