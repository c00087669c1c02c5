"""Delivery channels: email through Django's email backends, SMS through a small interface.

``SMS_BACKEND`` names a class with ``send(to: str, body: str) -> str`` returning a
provider message id, raising ``ChannelError`` on failure. Shipped: the console
backend (development) and an optional Twilio adapter (``channels.twilio``). Production
refuses the console backends at start (``outcomes.settings.guards``); with no
``SMS_BACKEND`` there, text reminders fail visibly instead of being sent.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils.module_loading import import_string


class ChannelError(Exception):
    """A message could not be handed to its channel; the reason is safe to show staff."""


class PermanentChannelError(ChannelError):
    """Trying again cannot help (no address on file, no provider configured)."""


def send_email(*, to: str, subject: str, body: str) -> str:
    """Send one email; raise ``ChannelError`` if the mail server refuses or fails."""
    if not to:
        raise PermanentChannelError("no email address on file")
    message = EmailMessage(subject=subject, body=body, to=[to])
    try:
        sent = message.send(fail_silently=False)
    except Exception as error:  # smtplib, socket and backend errors alike
        raise ChannelError(f"{type(error).__name__}: {error}") from error
    if sent != 1:
        raise ChannelError("the email backend accepted no message")
    return message.extra_headers.get("Message-ID", "")


def send_sms(*, to: str, body: str) -> str:
    """Send one text message through ``settings.SMS_BACKEND``."""
    if not to:
        raise PermanentChannelError("no mobile number on file")
    if not settings.SMS_BACKEND:
        # Production without a provider: the reminder fails where coordinators see it,
        # never "sent" to a console nobody reads.
        raise PermanentChannelError("no text message provider is configured (SMS_BACKEND)")
    backend = import_string(settings.SMS_BACKEND)()
    return backend.send(to, body)
