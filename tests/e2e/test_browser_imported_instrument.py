"""An instrument imported from a file, answered in real Chromium on a phone.

The knee-pain file (``tests/data/instruments/knee_pain.json``): a required 0-10 scale,
two optional scales (0-10 buttons, a 0-100 slider) and an optional choice. The patient
answers the required one from the keyboard, answers the optional ones and then clears
two of them ("Skip this question", the number box emptied), and submits; the page
passes axe-core (WCAG 2.1 AA) before and after an error.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from outcomes.followups.links import survey_url
from outcomes.followups.models import Visit
from outcomes.instruments.models import Response, Score
from tests.e2e.a11y import axe_violations, describe
from tests.e2e.conftest import ARTIFACTS, enrolled_today, press
from tests.e2e.test_browser_questionnaire import PHONE, snapshots
from tests.factories import imported_and_scheduled

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DATA = Path(__file__).resolve().parents[1] / "data" / "instruments"


def test_a_patient_answers_an_imported_instrument_and_clears_optional_answers(
    study, live_server, browser, settings
):
    settings.SITE_URL = live_server.url
    imported_and_scheduled(study, DATA / "knee_pain.json", alone=True)
    visit = enrolled_today(study, "K-001")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=PHONE)
    page.add_init_script(script=AXE_SCRIPT)
    page.goto(survey_url(visit=visit))
    page.get_by_role("link", name="Start").click()
    page.wait_for_selector("text=Questionnaire 1 of 1")
    blocking = [describe(v) for v in axe_violations(page, AXE_SCRIPT)]
    assert blocking == []

    # Submit with nothing answered: the required question is asked for, by name.
    press(page, "Submit my answers")
    page.wait_for_selector("#error-summary")
    assert "How bad has your knee pain been on average? — choose a number from 0 to 10" \
        in page.locator("#error-summary").inner_text()
    assert [describe(v) for v in axe_violations(page, AXE_SCRIPT)] == []
    snapshots(page, "imported-knee-error")

    # The required scale from the keyboard: to its group, Space, arrows to 4.
    page.locator("input[name=knee_pain]").first.focus()
    page.keyboard.press("Space")
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.value") == "4"
    # Optional answers given, then two of them cleared.
    page.locator("label[for=id_night_pain_7]").click()
    page.fill("input[name=health_today]", "65")
    page.locator("label[for=id_walking_aid_1]").click()
    page.locator("label[for=id_night_pain_skip]").click()
    assert page.locator("#id_night_pain_skip").is_checked()
    page.fill("input[name=health_today]", "")
    snapshots(page, "imported-knee-answered")
    press(page, "Submit my answers")
    page.wait_for_selector("text=Thank you")

    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    response = Response.objects.get(visit=visit, state="completed")
    assert response.answers == {"knee_pain": 4, "night_pain": None, "health_today": None,
                                "walking_aid": 1}
    assert {s.code: Fraction(s.exact) for s in Score.objects.filter(response=response)} == {
        "knee_pain_nrs": 4}
    assert response.not_scorable == {"knee_night_nrs": "night_pain unanswered"}
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
