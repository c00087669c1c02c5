"""Refuse, at start, a configuration that would leak or lose messages, or fail later.

The development defaults print emails and text messages to the console: in
production that puts private links and password-reset links into process output,
and records a reminder nobody received as sent. ``production.py`` calls this, so
the web, worker, beat and every management command refuse to start instead.
"""

from __future__ import annotations

import ipaddress

from django.core.exceptions import ImproperlyConfigured

DEVELOPMENT_EMAIL_BACKENDS = frozenset({
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
})
DEVELOPMENT_SMS_BACKENDS = frozenset({
    "outcomes.followups.channels.console.ConsoleSMSBackend",
    "outcomes.followups.channels.console.LocmemSMSBackend",
})


def refuse_development_messaging(*, email_backend: str, sms_backend: str) -> None:
    """Raise ``ImproperlyConfigured`` for a development email or SMS backend."""
    if email_backend in DEVELOPMENT_EMAIL_BACKENDS:
        raise ImproperlyConfigured(
            f"EMAIL_BACKEND is {email_backend}, which does not deliver mail: reminder and "
            "password-reset links would be printed or lost, and reminders recorded as sent. "
            "Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST.",
        )
    if sms_backend in DEVELOPMENT_SMS_BACKENDS:
        raise ImproperlyConfigured(
            f"SMS_BACKEND is {sms_backend}, which does not deliver text messages. Set a "
            "provider (outcomes.followups.channels.twilio.TwilioSMSBackend), or leave "
            "SMS_BACKEND empty: text reminders then fail where coordinators see them.",
        )


def trusted_proxies(entries: list[str]) -> list[str]:
    """Return ``entries`` if each is an address or network; raise ``ImproperlyConfigured``.

    ``outcomes.clients.client_ip`` reads them on every login and private link: a name
    such as ``localhost`` would make each of those answer 500 instead.
    """
    for entry in entries:
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"TRUSTED_PROXIES holds {entry!r}, which is not an IP address or network "
                "(e.g. 127.0.0.1, 10.0.0.0/8, ::1): list the proxies by address.",
            ) from None
    return [entry.strip() for entry in entries]
