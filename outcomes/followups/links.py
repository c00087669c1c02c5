"""Private survey links: one unguessable token per visit, stored only as a hash.

The token is HMAC-SHA256(SECRET_KEY, visit id + a random 128-bit nonce), so the
server can render the same link again (in a reminder, or for ``survey_link``)
without storing the token, while the database alone is not enough to forge it.
Revoking a link replaces the nonce: every earlier token stops working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from .models import Visit


def _token(visit_id: int, nonce: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"survey-link:{visit_id}:{nonce}".encode(), hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_hash(token: str) -> str:
    """Return the SHA-256 hex digest under which a token is looked up."""
    return hashlib.sha256(token.encode()).hexdigest()


def ensure_link(*, visit: Visit) -> str:
    """Return the visit's current token, creating one on first use."""
    if visit.token_nonce and visit.token_revoked_at is None:
        return _token(visit.pk, visit.token_nonce)
    return _new_link(visit)


@transaction.atomic
def _new_link(visit: Visit) -> str:
    nonce = secrets.token_hex(16)
    token = _token(visit.pk, nonce)
    visit.token_nonce = nonce
    visit.token_hash = token_hash(token)
    visit.token_created_at = timezone.now()
    visit.token_revoked_at = None
    visit.save(update_fields=["token_nonce", "token_hash", "token_created_at",
                              "token_revoked_at"])
    return token


def survey_url(*, visit: Visit) -> str:
    """Return the absolute URL of the visit's private link."""
    path = reverse("survey:start", kwargs={"token": ensure_link(visit=visit)})
    return f"{settings.SITE_URL}{path}"


@transaction.atomic
def revoke_link(*, visit: Visit, reason: str, actor=None) -> None:
    """Stop the visit's current link at once; the next ``ensure_link`` issues a new one."""
    from outcomes.audit.services import record_change

    if visit.token_revoked_at is not None or not visit.token_nonce:
        return
    visit.token_revoked_at = timezone.now()
    visit.save(update_fields=["token_revoked_at"])
    record_change(obj=visit, action="update", actor=actor, reason=reason,
                  before={"link": "active"}, after={"link": "revoked"})
