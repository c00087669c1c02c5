"""How the patient's pages present dates and the team's contact details."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext


def patient_date(value: dt.date) -> str:
    """Return ``value`` in the active language's one date format: 1 March 2027, 1 de marzo
    de 2027 (``outcomes/formats``, as the staff pages and the reminders write it)."""
    return formats.date_format(value)


@dataclass(frozen=True)
class Contact:
    """Who a patient can reach, and how: at least an email or a phone number."""

    name: str
    email: str = ""
    phone: str = ""

    @property
    def tel_href(self) -> str:
        """Return the phone number as a ``tel:`` URL (RFC 3966: digits, a leading +)."""
        digits = re.sub(r"\D", "", self.phone)
        if not digits:
            return ""
        return f"tel:{'+' if self.phone.strip().startswith('+') else ''}{digits}"


def contact_for(study=None) -> Contact | None:
    """Return the study's contact, else the clinic's (CLINIC_* settings), else None.

    None when neither gives an email or a phone number: a name alone is no way to
    reach anyone, and the page then says so honestly.
    """
    if study is not None and (study.contact_email or study.contact_phone):
        return Contact(study.contact_name or study.title, study.contact_email,
                       study.contact_phone)
    if settings.CLINIC_EMAIL or settings.CLINIC_PHONE:
        return Contact(settings.CLINIC_NAME or gettext("the study team"), settings.CLINIC_EMAIL,
                       settings.CLINIC_PHONE)
    return None


def team_name(study=None) -> str:
    """Return the name the pages' header shows: the study's contact or title, or the clinic."""
    if study is not None:
        return study.contact_name or study.title
    return settings.CLINIC_NAME
