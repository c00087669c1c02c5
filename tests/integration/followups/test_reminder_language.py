"""A reminder speaks the patient's language: its words and its dates (SPEC sections 5 and 7).

Dates are written in each language's one format (outcomes/formats), as the patient's
pages write them: "28 February 2026", "28 de febrero de 2026". The Spanish words come
from the compiled catalogue in locale/es, which is committed (a machine without gettext
still speaks Spanish), so it must say what the .po file says.
"""

from __future__ import annotations

import datetime as dt
import gettext
import re
from pathlib import Path

import pytest
from django.core import mail

from outcomes.followups.reminders import render_message, run_reminders
from tests.factories import enrol

ROOT = Path(__file__).resolve().parents[3]
CATALOGUE = ROOT / "locale" / "es" / "LC_MESSAGES"
INDEX = dt.date(2026, 1, 15)
M1_OPENS = INDEX + dt.timedelta(days=23)  # the 1-month window: 7 to 28 February 2026


def patient(study, code: str, language: str, channel: str = "email"):
    contact = {"email": f"{code.lower()}@example.org", "mobile": "+34600000000",
               "preferred_channel": channel, "full_name": "Pat", "language": language}
    enrolment = enrol(study, code, index_date=INDEX, today=INDEX - dt.timedelta(days=7),
                      contact=contact)
    return enrolment.visits.select_related("timepoint", "enrolment__study",
                                           "enrolment__patient__contact").get(
        timepoint__code="m1")


@pytest.mark.parametrize(("language", "email", "sms"), [
    ("en", "You can answer until 28 February 2026 (21 days left).",
     "questionnaire is open until 28 February 2026."),
    ("es", "Puede responder hasta el 28 de febrero de 2026 (quedan 21 días).",
     "está abierto hasta el 28 de febrero de 2026."),
])
def test_the_close_date_is_written_in_the_patients_language(study, language, email, sms):
    visit = patient(study, "L-1", language)
    assert visit.window_close_date == dt.date(2026, 2, 28)
    by_email = render_message(visit, "invitation", today=M1_OPENS)
    by_sms = render_message(visit, "invitation", today=M1_OPENS, channel="sms")
    assert email in by_email["email"]
    assert sms in by_sms["sms"]


def test_a_spanish_patient_reads_no_english_month_and_an_english_one_no_spanish(study):
    spanish = render_message(patient(study, "L-2", "es"), "reminder_1", today=M1_OPENS)
    english = render_message(patient(study, "L-3", "en"), "reminder_1", today=M1_OPENS)
    assert "February" not in spanish["email"] and "febrero" in spanish["email"]
    assert "febrero" not in english["email"] and "February" in english["email"]


def test_a_single_digit_day_is_written_without_a_leading_zero(study):
    # "j": the day without a leading zero, in Spanish as in English (set here, not saved).
    visit = patient(study, "L-4", "es")
    visit.window_close_date = dt.date(2026, 3, 5)
    text = render_message(visit, "invitation", today=dt.date(2026, 3, 1))["email"]
    assert "hasta el 5 de marzo de 2026 (quedan 4 días)" in text
    assert not re.search(r"\b05\b", text)


def test_the_sent_email_of_a_spanish_patient_is_in_spanish(study):
    patient(study, "L-5", "es")
    run_reminders(now=dt.datetime.combine(M1_OPENS, dt.time(12), tzinfo=dt.UTC))
    (message,) = mail.outbox
    assert message.subject == "Su cuestionario de 1 mes está listo"
    assert "Puede responder hasta el 28 de febrero de 2026 (quedan 21 días)." in message.body


@pytest.mark.parametrize(("language", "subject", "email", "sms"), [
    ("en", "Your 1 month questionnaire is ready",
     "It is time for your 1 month questionnaire for", ": your 1 month questionnaire is open"),
    ("es", "Su cuestionario de 1 mes está listo",
     "Ha llegado el momento de su cuestionario de 1 mes para",
     ": su cuestionario de 1 mes está abierto"),
])
def test_the_time_point_is_named_in_the_patients_language(study, language, subject, email,
                                                           sms):
    visit = patient(study, f"N-{language}", language)
    by_email = render_message(visit, "invitation", today=M1_OPENS)
    assert by_email["subject"] == subject
    assert email in by_email["email"]
    assert sms in render_message(visit, "invitation", today=M1_OPENS, channel="sms")["sms"]


def test_a_spanish_reminder_uses_the_name_the_data_manager_gave(study):
    visit = patient(study, "N-1", "es")
    visit.timepoint.patient_labels = {"es": "revisión del primer mes"}
    visit.timepoint.save()
    assert render_message(visit, "reminder_1", today=M1_OPENS)["subject"] == (
        "Recordatorio: su cuestionario de revisión del primer mes")
    # A label of the study's own, with no Spanish name given, is as the team wrote it.
    visit.timepoint.patient_labels = {}
    visit.timepoint.label = "Post-op check"
    assert render_message(visit, "reminder_1", today=M1_OPENS)["subject"] == (
        "Recordatorio: su cuestionario de post-op check")


def test_the_compiled_spanish_catalogue_is_there_and_says_what_the_po_file_says():
    with (CATALOGUE / "django.mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    po = (CATALOGUE / "django.po").read_text(encoding="utf-8")
    translated = _singulars(po)
    assert translated, "no translations read from django.po"
    for msgid, msgstr in translated.items():
        assert catalogue.gettext(msgid) == msgstr, f"django.mo is stale for {msgid!r}"
    assert "#, fuzzy" not in po  # compilemessages leaves fuzzy entries out


def _singulars(po: str) -> dict[str, str]:
    """Return the .po file's translated singular entries, msgid to msgstr (no plurals)."""
    entries = {}
    for block in po.split("\n\n"):
        if "msgid_plural" in block or "msgctxt" in block:
            continue
        found = re.search(r'^msgid ((?:".*"\n?)+)^msgstr ((?:".*"\n?)+)', block + "\n", re.M)
        if not found:
            continue
        msgid, msgstr = (_unquoted(part) for part in found.groups())
        if msgid and msgstr:
            entries[msgid] = msgstr
    return entries


def _unquoted(lines: str) -> str:
    text = "".join(re.findall(r'^"(.*)"$', lines, re.M))
    return text.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
