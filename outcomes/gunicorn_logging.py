"""A gunicorn logger that keeps private-link tokens out of its access and error logs.

Gunicorn writes its access log itself, past Django's ``LOGGING`` filters, and its
atoms hold the private link ``/s/<token>/`` in many places: the path (``%(U)s``), the
request line (``%(r)s``), the query (``%(q)s``), the referer (``%(f)s``), any request
or response header (``%({location}o)s``) and the WSGI environ (``%({raw_uri}e)s``).
Every atom a format names is redacted as it is read. Use it with
``gunicorn --logger-class outcomes.gunicorn_logging.RedactingLogger`` (the Procfile and
``deploy/systemd/outcomes-web.service`` do).
"""

from __future__ import annotations

from gunicorn import glogging

from outcomes.logging import RedactSurveyTokens, redact, redact_url

RAW_ATOMS = frozenset({"r", "{raw_uri}e"})


class RedactedAtoms(glogging.SafeAtoms):
    """Gunicorn's atoms, each with private-link tokens redacted when the format reads it."""

    def __getitem__(self, key: str) -> object:
        value = super().__getitem__(key)
        if not isinstance(value, str):
            return value
        # The request line and the raw URI are as sent (encoded: the path ends at "?" or a
        # space); every other atom is one value (a path gunicorn decoded, a query, a
        # header), redacted whole from its /s/ on.
        raw = (key.lower() if key.startswith("{") else key) in RAW_ATOMS
        return redact(value) if raw else redact_url(value)


class RedactingLogger(glogging.Logger):
    """Gunicorn's logger with tokens redacted from the access log and the error log."""

    atoms_wrapper_class = RedactedAtoms

    def setup(self, cfg) -> None:
        super().setup(cfg)
        # The error log names the request URI when a request fails ("Error handling
        # request /s/…"); the filter on the logger rewrites each record's message.
        if not any(isinstance(f, RedactSurveyTokens) for f in self.error_log.filters):
            self.error_log.addFilter(RedactSurveyTokens())
