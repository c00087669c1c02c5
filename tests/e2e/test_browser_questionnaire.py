"""A whole baseline visit in real headless Chromium on a phone-sized screen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connections

from outcomes.followups.links import survey_url
from outcomes.followups.models import Visit
from outcomes.instruments.models import Score
from tests.conftest import service_missing
from tests.factories import enrol

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PHONE = {"width": 375, "height": 667}


def press(page, button: str) -> None:
    """Activate a button from the keyboard (a mouse click right after a full-page
    screenshot can land on stale coordinates in headless Chromium)."""
    page.get_by_role("button", name=button).focus()
    page.keyboard.press("Enter")


def snapshot(page, name: str) -> None:
    """Save a full-page screenshot, then restore the phone viewport it stretched."""
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size(PHONE)


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        service_missing("Chromium is not installed at /usr/bin/chromium")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()
        # Playwright's sync API runs the test in its own context, so Django opened the
        # test's database connection there; close it here, or it outlives the session
        # and the test database cannot be dropped.
        connections.close_all()


def test_a_patient_fills_the_baseline_visit_on_a_phone_keyboard_only_for_the_pain_scale(
    study, live_server, browser, settings
):
    settings.SITE_URL = live_server.url
    from django.utils import timezone

    today = timezone.now().date()
    enrolment = enrol(study, "B-001", index_date=today, today=today)
    visit = enrolment.visits.get(timepoint__code="baseline")
    url = survey_url(visit=visit)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=PHONE)
    page.goto(url)

    # 1. ODI: one statement per section, by tapping the labels.
    page.wait_for_selector("h1")
    assert page.locator("legend").count() == 10
    for legend_index in range(10):
        group = page.locator("fieldset").nth(legend_index)
        group.locator("input[type=radio]").nth(1).check()
    snapshot(page, "survey-1-odi.png")
    press(page, "Next")

    # 2. NRS-11 with the keyboard only: Tab to the group, arrows to 6, Enter to submit.
    page.wait_for_selector("text=Questionnaire 2 of 4")
    page.keyboard.press("Tab")
    for _ in range(12):
        focused = page.evaluate("document.activeElement && document.activeElement.name")
        if focused == "pain":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "pain"
    page.keyboard.press("Space")
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.value") == "6"
    snapshot(page, "survey-2-nrs.png")
    page.keyboard.press("Enter")

    # 3. EQ-5D-3L: levels and the EQ VAS.
    page.wait_for_selector("text=Questionnaire 3 of 4")
    for code in ("mobility", "self_care", "usual_activities", "pain_discomfort",
                 "anxiety_depression"):
        page.locator(f"input[name={code}][value='2']").check()
    page.fill("input[name=vas]", "60")
    snapshot(page, "survey-3-eq5d.png")
    press(page, "Next")

    # 4. PROMIS Global Health, then submit.
    try:
        page.wait_for_selector("text=Questionnaire 4 of 4", timeout=10000)
    except Exception:
        snapshot(page, "survey-failed.png")
        raise
    for group in page.locator("fieldset").all():
        group.locator("label").nth(2).click()  # the third statement, or "2" on the pain scale
    snapshot(page, "survey-4-promis.png")
    press(page, "Submit my answers")
    page.wait_for_selector("text=Thank you")
    snapshot(page, "survey-5-done.png")

    # No horizontal scrolling at phone width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert Score.objects.get(response__visit=visit, code="nrs").value == 6


def test_the_coordinator_workspace_renders_in_chromium(live_server, browser, settings):
    from patients.demo import DEMO_PASSWORD, load_demo

    load_demo(size=12)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "coordinator")
    page.fill("input[name=password]", DEMO_PASSWORD)
    press(page, "Log in")
    page.wait_for_selector("text=Studies")
    page.goto(f"{live_server.url}/studies/BMC-LBP/?list=missed")
    page.wait_for_selector("text=Completion by reminder channel")
    assert page.locator("tbody tr").count() > 1
    page.screenshot(path=str(ARTIFACTS / "coordinator-dashboard.png"), full_page=True)
    page.goto(f"{live_server.url}/studies/BMC-LBP/patients/DEMO-0001/")
    page.wait_for_selector("text=Visits")
    assert "demo0001@patients.example" in page.content()
    page.screenshot(path=str(ARTIFACTS / "coordinator-patient.png"), full_page=True)


def test_the_clinicians_pages_render_in_chromium(live_server, browser):
    from patients.demo import DEMO_PASSWORD, load_demo

    load_demo(size=16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "clinician")
    page.fill("input[name=password]", DEMO_PASSWORD)
    press(page, "Log in")
    page.wait_for_selector("text=Studies")
    page.goto(f"{live_server.url}/studies/BMC-LBP/patients/DEMO-0001/outcomes/")
    page.wait_for_selector("text=Responder status")
    assert page.locator("svg.chart").count() == 8  # the 7 scores the schedule asks, opioid use
    assert "demo0001@patients.example" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "clinician-patient.png"), full_page=True)
    page.goto(f"{live_server.url}/studies/BMC-LBP/results/")
    page.wait_for_selector("text=Between arms")
    assert page.locator("svg.chart").count() == 11  # 7 scores, opioid use, 3 primary rules
    page.screenshot(path=str(ARTIFACTS / "results.png"), full_page=True)
