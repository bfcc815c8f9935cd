"""travel's deployment check (`manage.py check --deploy`): the address the manifest's QR codes open."""

import ipaddress
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def base_url_reachable(app_configs, **kwargs):
    """An escort scans a family's code on the printed manifest with a phone: a loopback address opens nothing."""
    host = urlsplit(settings.SAFAR_BASE_URL).hostname or ""
    try:
        address = ipaddress.ip_address(host)
        address = getattr(address, "ipv4_mapped", None) or address  # ::ffff:127.0.0.1
        loopback = address.is_loopback or address.is_unspecified  # 0.0.0.0: every interface, no one's address
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if not loopback:
        return []
    return [Warning(
        f"SAFAR_BASE_URL is {settings.SAFAR_BASE_URL}: the QR codes on printed manifests would open that address "
        "on an escort's phone, where it reaches nothing.",
        hint="Set SAFAR_BASE_URL to the site's public address, e.g. https://safar.example.org.",
        id="travel.W001",
    )]
