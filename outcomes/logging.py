"""Keep private-link tokens out of every log line: Django's logs and gunicorn's.

(Password-reset tokens too: ``RESET_TOKEN``, below.)

A private link is ``/s/<token>/`` (then ``<page>/`` or ``done/``). A log can hold it in
many spellings: percent-encoded by a mail client or a link scanner (``/s/%39peF…/``,
``%2Fs%2F<token>%2F`` in a query or referer, ``/%73/<token>/``, encoded twice as
``%252F``), or decoded by the server (gunicorn's ``PATH_INFO`` turns ``%2F`` into ``/``).
So the redaction matches the ``s`` segment and its slashes in any of those spellings and
replaces everything after it up to the end of the URL, keeping only a page number or
``done`` at the end. Pure: imports nothing from Django.
"""

from __future__ import annotations

import logging
import re

_ESCAPE = r"%(?:25)*"  # one percent-escape, itself percent-encoded any number of times
_SLASH = rf"(?:/|{_ESCAPE}2[Ff])"
_S = rf"(?:[sS]|{_ESCAPE}[57]3)"  # s or S, as a letter or %73 / %53
_TAIL = rf"(?P<tail>(?:{_SLASH}(?:[0-9]+|done))?{_SLASH}?)"
# Where a URL ends inside a longer text (a request line, a message, a header).
_END = r"""\s"'<>?#&"""

# A password-reset link, /accounts/reset/<uidb64>/<token>/, opens the account until it is
# used (or for PASSWORD_RESET_TIMEOUT). Its token ("<base36 time>-<hash>") goes, the user's
# id and Django's own next step ("set-password", the token then in the session) stay.
RESET_TOKEN = re.compile(
    rf"(?P<lead>{_SLASH}reset{_SLASH}[A-Za-z0-9_]+{_SLASH})"
    rf"(?!set-password(?:[{_END}/%]|$))(?P<token>[A-Za-z0-9%]+-[A-Za-z0-9%-]+)")
TOKEN_IN_TEXT = re.compile(
    rf"(?P<lead>{_SLASH}{_S}{_SLASH})(?P<token>[^{_END}]+?){_TAIL}(?=[{_END}]|$)")
TOKEN_IN_URL = re.compile(rf"(?P<lead>{_SLASH}{_S}{_SLASH})(?P<token>.+?){_TAIL}$", re.DOTALL)


def _replace(match: re.Match) -> str:
    return f"{match['lead']}[token]{match['tail']}"


def _redact_reset(text: str) -> str:
    return RESET_TOKEN.sub(lambda match: f"{match['lead']}[token]", text)


def redact(text: str) -> str:
    """Replace the token of any private link in ``text`` with ``[token]``.

    ``"GET /s/abcdefgh12345678/2/ HTTP/1.1"`` becomes ``"GET /s/[token]/2/ HTTP/1.1"``.
    """
    return _redact_reset(TOKEN_IN_TEXT.sub(_replace, text))


def redact_url(url: str) -> str:
    """Redact a value that is one URL or path and nothing else (a header, a decoded path).

    After ``/s/`` everything is the token but a final page number or ``done``, so a
    decoded ``%20`` or ``%3F`` in a hostile path does not end the redaction early as it
    would in ``redact``.
    """
    return _redact_reset(TOKEN_IN_URL.sub(_replace, url, count=1))


class RedactSurveyTokens(logging.Filter):
    """Rewrite a record's message with survey tokens removed (keeps the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        path = getattr(getattr(record, "request", None), "path", None)
        cleaned = message
        if isinstance(path, str):
            # Django logs the decoded path ("Not Found: /s/…"): redact it whole first.
            record.request_path = redact_url(path)
            cleaned = cleaned.replace(path, record.request_path)
        cleaned = redact(cleaned)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
