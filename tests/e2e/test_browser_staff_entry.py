"""A coordinator in real Chromium: fixes a failed reminder's contact details, then types in
a late paper questionnaire for a missed visit."""

from __future__ import annotations

import datetime as dt

import pytest

from outcomes.followups.models import Reminder, Visit
from outcomes.instruments.models import Response, Score
from tests.e2e.conftest import ARTIFACTS, press
from tests.factories import enrol
from tests.integration.survey.conftest import EQ5D, ODI_10, PROMIS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 667}


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def choose(page, name: str, value) -> None:
    """Pick an answer the way a person does: by its label."""
    option = page.locator(f'input[name="{name}"][value="{value}"]')
    page.locator(f'label[for="{option.get_attribute("id")}"]').click()


def fill_instrument(page, prefix: str, answers: dict) -> None:
    for item, value in answers.items():
        name = f"{prefix}-{item}"
        if page.locator(f'input[name="{name}"][type=radio]').count():
            choose(page, name, value)
        else:
            page.fill(f'input[name="{name}"]', str(value))


def test_a_coordinator_fixes_contact_details_and_enters_a_late_paper_form(
    live_server, browser, login, settings
):
    from django.utils import timezone

    from patients.demo import load_demo

    study = load_demo(size=4).study
    today = timezone.now().date()
    # Index date 40 days ago: the baseline window (day -30 to +7) closed a month ago.
    enrolment = enrol(study, "E-PAPER",
                      index_date=today - dt.timedelta(days=40), today=today,
                      contact={"full_name": "Maria Lopez", "email": "bounced@example.org"})
    baseline = enrolment.visits.get(timepoint__code="baseline")
    Reminder.objects.create(visit=enrolment.visits.get(timepoint__code="m1"), kind="invitation",
                            channel="email", status="failed", last_error="mailbox unavailable")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=DESKTOP)
    login(page, "coordinator")

    # 1. The failed-reminder list leads straight to the contact form.
    page.goto(f"{live_server.url}/studies/BMC-LBP/?list=failed")
    shot(page, "staff-1-failed-reminders.png")
    page.get_by_role("link", name="Check contact details of E-PAPER").click()
    page.wait_for_selector("text=Contact details of E-PAPER")

    # 2. Text messages without a mobile number: refused at the field, in words.
    page.select_option("select[name=preferred_channel]", "sms")
    press(page, "Save contact details")
    page.wait_for_selector("#error-summary")
    assert "Mobile number: A mobile number is needed for text reminders." in (
        page.inner_text("#error-summary"))
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.input_value("input[name=full_name]") == "Maria Lopez"
    shot(page, "staff-2-contact-error.png")
    page.fill("input[name=mobile]", "+44 7700 900123")
    press(page, "Save contact details")
    page.wait_for_selector("text=Contact details of E-PAPER saved.")
    assert "+44 7700 900123" in page.inner_text("main")

    # 3. The missed baseline visit takes a late paper form from the patient page.
    page.get_by_role("link", name="Enter a paper or phone form for Baseline").click()
    page.wait_for_selector("text=Enter a paper or telephone questionnaire")
    shot(page, "staff-3-entry-form.png")
    page.locator("#entry-details").screenshot(path=str(ARTIFACTS / "staff-3a-how-and-when.png"))
    page.locator("#instrument-odi").screenshot(path=str(ARTIFACTS / "staff-3b-odi.png"))
    page.set_viewport_size(PHONE)  # a tablet or phone at the clinic: one column, no scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "staff-3c-entry-form-phone.png"))
    page.set_viewport_size(DESKTOP)
    page.locator('label[for="id_source_0"]').click()  # Paper form
    page.fill("input[name=answered_date]", str(today - dt.timedelta(days=2)))
    fill_instrument(page, "odi", ODI_10)
    fill_instrument(page, "eq5d3l", EQ5D)
    fill_instrument(page, "promis_gh", PROMIS)
    press(page, "Enter and score")  # the pain rating is still blank
    page.wait_for_selector("#error-summary")
    summary = page.inner_text("#error-summary")
    assert "Pain intensity (NRS-11), 1. Please rate your back pain" in summary
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator('input[name="odi-lifting"][value="3"]').is_checked()  # kept
    shot(page, "staff-4-entry-error.png")
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "staff-4a-entry-error-top.png"))
    page.locator("#instrument-nrs11").screenshot(path=str(ARTIFACTS / "staff-4b-nrs-error.png"))
    page.get_by_role("link", name="Pain intensity (NRS-11)").click()
    choose(page, "nrs11-pain", 6)
    press(page, "Enter and score")
    page.wait_for_selector("text=Paper form for the Baseline visit entered")
    row = page.locator("tr", has_text="Baseline").first.inner_text()
    assert "Paper form, entered by coordinator on" in row and "Out of window" in row
    shot(page, "staff-5-patient-after-entry.png")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "staff-6-patient-after-entry-phone.png")

    # 4. The clinician reads on the outcomes page how the visit was answered.
    clinician = browser.new_page(viewport=DESKTOP)
    login(clinician, "clinician")
    clinician.goto(f"{live_server.url}/studies/BMC-LBP/patients/E-PAPER/outcomes/")
    entries = clinician.locator("#staff-entries").inner_text()
    assert "Baseline: Paper form, entered by coordinator on" in entries
    assert "Out of window" in entries
    assert "bounced@example.org" not in clinician.content()
    shot(clinician, "staff-7-clinician-outcomes.png")

    baseline.refresh_from_db()
    assert baseline.status == Visit.Status.COMPLETED
    assert Response.objects.filter(visit=baseline, source="paper", out_of_window=True).count() == 4
    # SPEC 3.1: 16 points over 10 sections = 32%.
    assert Score.objects.get(response__visit=baseline, code="odi").value == 32
