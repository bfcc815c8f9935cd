from django.utils.functional import SimpleLazyObject

from movements.access import access_for


def access(request):
    """`access` (what the user may see) and `nav_entries` (the navigation bar, from `hooks.navigation`)."""
    if not hasattr(request, "user"):
        return {}
    from movements.navigation import entries_for

    user_access = access_for(request.user)
    return {"access": user_access, "nav_entries": SimpleLazyObject(lambda: entries_for(request, user_access))}
