"""SMS to standard output, for development."""

from __future__ import annotations

import sys
import uuid


class ConsoleSMSBackend:
    def send(self, to: str, body: str) -> str:
        sys.stdout.write(f"--- SMS to {to} ---\n{body}\n")
        sys.stdout.flush()
        return f"console-{uuid.uuid4().hex[:12]}"


class LocmemSMSBackend:
    """Keep messages in ``outbox`` (tests)."""

    outbox: list[tuple[str, str]] = []

    def send(self, to: str, body: str) -> str:
        self.outbox.append((to, body))
        return f"locmem-{len(self.outbox)}"
