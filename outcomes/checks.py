"""The project's own deployment checks (``manage.py check --deploy``)."""

from __future__ import annotations

from email.utils import parseaddr

from django.conf import settings
from django.core.checks import Error, Tags, register

PER_PROCESS_CACHES = frozenset({
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
})


@register(Tags.caches, Tags.security, deploy=True)
def shared_cache(app_configs=None, **kwargs) -> list[Error]:
    """Login lockouts and the bad-link limit must count in one cache for every process."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend not in PER_PROCESS_CACHES:
        return []
    return [Error(
        f"The cache ({backend}) is private to each process: login lockouts and the limit on "
        "unknown private links would count per web process, so four processes allow four "
        "times the attempts.",
        hint="Set CACHE_URL to a shared cache, e.g. rediscache://127.0.0.1:6379/1.",
        id="outcomes.E001",
    )]


#: Domains no receiving mail server accepts mail from (no public DNS, so SPF and DMARC fail).
LOCAL_MAIL_DOMAINS = ("localhost", ".localhost", ".localdomain", ".local", ".internal")


@register(Tags.security, deploy=True)
def mail_sender(app_configs=None, **kwargs) -> list[Error]:
    """Reminders and password resets must come from a domain the recipients' servers accept."""
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    domain = address.rpartition("@")[2].lower().rstrip(".")
    if "." in domain and not domain.endswith(LOCAL_MAIL_DOMAINS):
        return []
    return [Error(
        f"DEFAULT_FROM_EMAIL is {settings.DEFAULT_FROM_EMAIL!r}: mail from {domain or 'it'} "
        "is refused or sent to spam by the patients' mail servers, so reminders and "
        "password-reset links would not arrive.",
        hint="Set DEFAULT_FROM_EMAIL to an address of your clinic's own domain, e.g. "
             "'Outcomes <outcomes@clinic.example.org>'.",
        id="outcomes.E002",
    )]
