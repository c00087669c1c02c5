"""An email backend for fault tests: the file backend, held at a gate.

A worker started with ``EMAIL_BACKEND=tests.e2e.gated_mail.GatedEmailBackend``
writes each message to ``EMAIL_FILE_PATH`` like Django's file backend, but
first announces it in ``OUTCOMES_TEST_MAIL_GATE`` (a folder: one ``held-*``
file per message, holding the recipient) and waits there until an ``open``
file appears. A test can so kill a worker while a send is in progress, at a
known point: before the message reaches the "provider" (the mail folder), or,
with ``OUTCOMES_TEST_MAIL_HOLD=after``, once it has reached it but before the
worker records the outcome.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend

HOLD_LIMIT_SECONDS = 120  # never hang a worker forever if a test dies without opening


class GatedEmailBackend(EmailBackend):
    def send_messages(self, email_messages):
        gate = Path(os.environ["OUTCOMES_TEST_MAIL_GATE"])
        after = os.environ.get("OUTCOMES_TEST_MAIL_HOLD") == "after"
        sent = 0
        for message in email_messages:
            if after:
                sent += super().send_messages([message])
            (gate / f"held-{os.getpid()}-{uuid.uuid4().hex}").write_text(
                ",".join(message.to))
            deadline = time.monotonic() + HOLD_LIMIT_SECONDS
            while not (gate / "open").exists():
                if time.monotonic() > deadline:
                    raise TimeoutError("the test never opened the mail gate")
                time.sleep(0.05)
            if not after:
                sent += super().send_messages([message])
        return sent
