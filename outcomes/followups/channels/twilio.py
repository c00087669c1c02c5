"""Optional SMS adapter for Twilio's Messages API (standard library only).

Set ``SMS_BACKEND=outcomes.followups.channels.twilio.TwilioSMSBackend`` and
``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN``, ``TWILIO_FROM_NUMBER``.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from django.conf import settings

from . import ChannelError


class TwilioSMSBackend:
    timeout = 15

    def send(self, to: str, body: str) -> str:
        sid = settings.TWILIO_ACCOUNT_SID
        url = f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json"
        data = urllib.parse.urlencode(
            {"To": to, "From": settings.TWILIO_FROM_NUMBER, "Body": body},
        ).encode()
        credentials = base64.b64encode(f"{sid}:{settings.TWILIO_AUTH_TOKEN}".encode()).decode()
        request = urllib.request.Request(
            url, data=data, headers={"Authorization": f"Basic {credentials}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return json.load(reply).get("sid", "")
        except (urllib.error.URLError, TimeoutError, ValueError) as error:
            raise ChannelError(f"Twilio: {error}") from error
