"""An email backend whose server can stall on a send, while the test runs something else.

``StallingBackend.during_stall`` is a callable (set by the test, used once): the next
send calls it, as if the mail server had held the connection that long, and then
delivers to Django's ``mail.outbox`` (``StallingBackend.then_deliver``) or drops the
connection. Sends after that one deliver at once.
"""

import smtplib

from django.core.mail.backends import locmem


class StallingBackend(locmem.EmailBackend):
    during_stall = None
    then_deliver = False

    def send_messages(self, email_messages):
        stall, type(self).during_stall = type(self).during_stall, None
        if stall is not None:
            stall()
            if not type(self).then_deliver:
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(email_messages)
