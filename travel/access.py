"""Who sees which departures: operations all of them, an escort only those assigned to them, nobody else any
(a 404, as for a departure that does not exist: no hint that it does). Medical staff, trainers and UNHCR have
no departure pages; what a case's family needs of its flight they read on the case page."""

from django.core.exceptions import PermissionDenied
from django.http import Http404

from travel.models import Departure


def can_use_departures(user):
    return user.is_authenticated and user.has_perm("travel.view_departure")


def sees_all_departures(user):
    return user.is_authenticated and user.has_perm("travel.view_all_departures")


def can_manage(user):
    return user.is_authenticated and user.has_perm("travel.change_departure")


def can_plan(user):
    return user.is_authenticated and user.has_perm("travel.add_departure")


def can_book(user):
    return user.is_authenticated and user.has_perm("travel.book_case")


def can_record_exceptions(user):
    return user.is_authenticated and user.has_perm("travel.add_ruleexception")


def visible_departures(user):
    if not can_use_departures(user):
        return Departure.objects.none()
    if sees_all_departures(user):
        return Departure.objects.all()
    return Departure.objects.filter(escorts=user)


def may_see_departure(user, departure):
    """Whether this departure is among `visible_departures(user)`, without a query for those who see them all."""
    if not can_use_departures(user):
        return False
    return sees_all_departures(user) or departure.escorts.filter(pk=user.pk).exists()


def require_departures(user):
    """The departure pages exist only for roles that have departures (operations, escorts)."""
    if not can_use_departures(user):
        raise Http404("No such page.")


def get_departure_for_user(user, code, *, manage=False):
    """The departure with this code if the user may see it, else 404 (whether or not it exists)."""
    require_departures(user)
    try:
        departure = visible_departures(user).get(code=code)
    except Departure.DoesNotExist:
        raise Http404("No such departure.") from None
    if manage and not can_manage(user):
        raise PermissionDenied("Only operations staff change departures.")
    return departure
