"""An email backend whose server can stall on a send while the test does something else.

``StallingBackend.stalls`` maps a thread's name to ``(during, deliver)``: that thread's
next send first calls ``during()`` (the mail server holding the connection all that
time), then delivers to Django's ``mail.outbox`` if ``deliver``, else drops the
connection. Each stall is used once; every other send delivers at once.
"""

import smtplib
import threading

from django.core.mail.backends import locmem


class StallingBackend(locmem.EmailBackend):
    stalls: dict = {}

    def send_messages(self, email_messages):
        stall = type(self).stalls.pop(threading.current_thread().name, None)
        if stall is not None:
            during, deliver = stall
            during()
            if not deliver:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(email_messages)
