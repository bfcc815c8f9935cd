"""The log-in lockout (django-axes, configured in config/settings.py): whose address counts, and the page that
says when to try again."""

from axes.helpers import get_client_parameters, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Q
from django.shortcuts import render
from django.utils import timezone


def client_address(request):
    """The address failed log-ins are counted against."""
    if settings.SAFAR_CLIENT_ADDRESS_FROM_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            return forwarded.split(",")[-1].strip()[:45]  # the one our proxy appended; the others are the client's word
    return request.META.get("REMOTE_ADDR", "")


def locked_until(request, credentials=None):
    """When the lockout this request ran into ends: the last counted failure, plus the cool-off."""
    cool_off = get_cool_off(request)
    username = get_client_username(request, credentials)
    matching = Q()
    for parameters in get_client_parameters(username, request.axes_ip_address, request.axes_user_agent, request,
                                            credentials):
        matching |= Q(**parameters)
    last = AccessAttempt.objects.filter(matching).aggregate(last=Max("attempt_time"))["last"]
    return (last or timezone.now()) + cool_off


def lockout_response(request, original_response=None, credentials=None):
    until = locked_until(request, credentials)
    minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
    context = {"until": until, "minutes": minutes, "today": timezone.localdate(until) == timezone.localdate()}
    return render(request, "registration/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)
