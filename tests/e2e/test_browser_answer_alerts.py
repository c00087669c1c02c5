"""An answer needing attention, in real Chromium: a patient on a phone answers PHQ-9
item 9 "Several days" and is told, on the thank-you page, to contact the study team; a
coordinator sees the answer first on the study's page and acknowledges it with a note.
Both pages pass axe-core (WCAG 2.1 AA); screenshots in ``tests/artifacts/``.

The PHQ-9 is the catalogue's file, imported as a data manager does (as
``test_browser_imported_instrument.py`` imports its file) and asked at baseline after the
four built-in questionnaires, whose answers the patient saved earlier (by the service
the pages call: those pages have browser tests of their own).
"""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from django.core import mail
from django.core.management import call_command

from outcomes.alerts.models import AnswerAlert
from outcomes.audit.models import AuditRecord
from outcomes.followups.links import survey_url
from outcomes.followups.models import TimePointInstrument, Visit
from outcomes.instruments.models import Instrument
from outcomes.instruments.services import save_answers
from outcomes.survey.selectors import steps_for
from tests.e2e.a11y import axe_violations, describe
from tests.e2e.conftest import ARTIFACTS, press
from tests.e2e.test_browser_questionnaire import PHONE, snapshots
from tests.factories import enrol
from tests.integration.survey.conftest import PAGES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHQ9 = (Path(__file__).resolve().parents[2] / "outcomes" / "instruments" / "library"
        / "catalogue" / "phq9.json")
DESKTOP = {"width": 1280, "height": 900}


def test_item_9_several_days_is_met_with_help_and_reaches_the_coordinator_once(
    live_server, browser, login, settings
):
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from patients.demo import load_demo

    settings.SITE_URL = live_server.url
    study = load_demo(size=2).study
    study.contact_name, study.contact_phone = "The back pain study team", "+44 20 7946 0000"
    study.save()
    get_user_model().objects.filter(username="coordinator").update(email="coord@example.org")
    call_command("import_instrument", str(PHQ9), stdout=StringIO())
    baseline = study.timepoints.get(code="baseline")
    TimePointInstrument.objects.create(timepoint=baseline,
                                       instrument=Instrument.objects.get(code="phq9"), order=9)
    today = timezone.now().date()
    visit = enrol(study, "ALERT-1", index_date=today, today=today).visits.get(
        timepoint=baseline)
    steps = steps_for(visit)
    for step, answers in zip(steps, PAGES, strict=False):  # the four built-ins, saved
        save_answers(visit=visit, instrument=step.instrument, answers=answers)
    assert steps[-1].instrument.code == "phq9" and len(steps) == 5
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    # The patient, on a phone: the PHQ-9 page, "Not at all" to 1-8, "Several days" to 9.
    page = browser.new_page(viewport=PHONE)
    page.add_init_script(script=AXE_SCRIPT)
    page.goto(survey_url(visit=visit).rstrip("/") + "/5/")
    page.wait_for_selector("text=Questionnaire 5 of 5")
    for n in range(1, 9):
        page.locator(f"label[for=id_phq{n}_0]").click()
    page.locator("label[for=id_phq9_1]").click()
    press(page, "Submit my answers")
    page.wait_for_selector("text=Thank you")
    panel = page.locator(".survey-attention")
    assert panel.is_visible()
    text = panel.inner_text()
    assert "Please get in touch" in text and "the study team would like to talk with you" in text
    assert "local emergency number or a crisis line" in text
    assert "+44 20 7946 0000" in text  # the study's own number, a tel: link
    assert panel.locator("a[href^='tel:']").count() == 1
    # First on the page, under the heading: read before the rest.
    assert page.evaluate("document.querySelector('h1').nextElementSibling.className") \
        == "survey-attention"
    assert [describe(v) for v in axe_violations(page, AXE_SCRIPT)] == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    snapshots(page, "alert-thank-you")

    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    (alert,) = AnswerAlert.objects.all()
    assert (alert.key, alert.answer) == ("phq9_item9", "Several days")
    # Emailed once, on commit, to the coordinator: the study code and a link, no more.
    (message,) = mail.outbox
    assert message.to == ["coord@example.org"]
    assert "ALERT-1" not in message.body and "Several days" not in message.body

    # The coordinator: the answer first on the study's page, acknowledged with a note.
    staff = browser.new_page(viewport=DESKTOP)
    staff.add_init_script(script=AXE_SCRIPT)
    login(staff, "coordinator")
    staff.goto(f"{live_server.url}/studies/{study.code}/")
    section = staff.locator("#attention")
    row = section.locator("tbody tr")
    assert row.count() == 1
    cells = row.first.inner_text()
    assert "ALERT-1" in cells and "PHQ-9, Baseline" in cells and "Several days" in cells
    assert "thoughts that you would be better off dead or of hurting yourself" in cells
    assert [describe(v) for v in axe_violations(staff, AXE_SCRIPT)] == []
    staff.screenshot(path=str(ARTIFACTS / "alert-dashboard-1280.png"), full_page=True)
    staff.fill(f"#alert-note-{alert.pk}", "Called the patient; safety plan agreed.")
    press(staff, "Acknowledge the answer of ALERT-1")
    staff.wait_for_selector("text=The answer of ALERT-1 is acknowledged.")
    assert "None: every answer that needed attention has been acknowledged." in \
        staff.locator("#attention").inner_text()
    assert [describe(v) for v in axe_violations(staff, AXE_SCRIPT)] == []
    staff.screenshot(path=str(ARTIFACTS / "alert-acknowledged-1280.png"), full_page=True)

    alert.refresh_from_db()
    assert alert.acknowledged_by.username == "coordinator"
    assert alert.note == "Called the patient; safety plan agreed."
    assert AuditRecord.objects.filter(object_type="alerts.answeralert", action="update",
                                      reason="answer alert acknowledged").count() == 1

    # The patient page keeps the record.
    staff.goto(f"{live_server.url}/studies/{study.code}/patients/ALERT-1/")
    staff.wait_for_selector("text=Acknowledged by")
    assert [describe(v) for v in axe_violations(staff, AXE_SCRIPT)] == []
    staff.screenshot(path=str(ARTIFACTS / "alert-patient-page-1280.png"), full_page=True)
    assert len(mail.outbox) == 1
