"""Message backends of the load stack: accept and count, deliver nothing (bench only).

Production refuses the development backends at start; the stack runs the production
settings, so it brings these instead.
"""

from __future__ import annotations

import itertools

from django.core.mail.backends.base import BaseEmailBackend

_ids = itertools.count(1)


class DiscardEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        return len(list(email_messages))


class DiscardSMSBackend:
    def send(self, to: str, body: str) -> str:
        return f"bench-{next(_ids)}"
