"""The project's own deployment checks (``manage.py check --deploy``)."""

from __future__ import annotations

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
