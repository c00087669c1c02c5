"""Logging filter that keeps private-link tokens out of every log line."""

from __future__ import annotations

import logging
import re

TOKEN_PATH = re.compile(r"/s/[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    """Replace the token of any ``/s/<token>`` path with ``/s/[token]``."""
    return TOKEN_PATH.sub("/s/[token]", text)


class RedactSurveyTokens(logging.Filter):
    """Rewrite a record's message with survey tokens removed (keeps the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        if hasattr(record, "request") and hasattr(record.request, "path"):
            record.request_path = redact(record.request.path)
        return True
