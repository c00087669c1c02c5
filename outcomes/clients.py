"""Who is asking: the client's address behind a trusted proxy, and the login's username.

The address counts failed logins (django-axes) and bad private links. A header
anyone can send (``X-Forwarded-For``) is believed only when the request comes from
a proxy named in ``TRUSTED_PROXIES``; then the client is the right-most address in
the header that is not itself a trusted proxy (each proxy appends the address it
saw, so only the part our own proxies wrote is believable).
"""

from __future__ import annotations

import ipaddress

from django.conf import settings

#: django-axes stores the username in a 255-character column (PostgreSQL refuses more).
USERNAME_STORED_LENGTH = 255


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _trusted(address, networks) -> bool:
    return any(address in network for network in networks)


def client_ip(request) -> str:
    """Return the client's IP address, from ``X-Forwarded-For`` only behind a trusted proxy."""
    remote = request.META.get("REMOTE_ADDR", "")
    networks = [ipaddress.ip_network(entry, strict=False)
                for entry in getattr(settings, "TRUSTED_PROXIES", [])]
    peer = _address(remote)
    if peer is None or not networks or not _trusted(peer, networks):
        return remote
    client = peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = _address(hop)
        if address is None:
            break  # a malformed entry: nothing to its left can be believed
        client = address
        if not _trusted(address, networks):
            break
    return str(client)


def login_username(request, credentials) -> str:
    """Return the username of a login attempt, as django-axes stores it."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("username", "")
    return str(username or "")[:USERNAME_STORED_LENGTH]
