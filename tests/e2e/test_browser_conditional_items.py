"""Conditional questions and a "not applicable" answer, in real Chromium on a phone.

``tests/data/instruments/mobility_aid.json``: "Do you use a walking aid?" (No / Yes);
two questions about the aid asked only on "Yes"; driving, required, with "Not
applicable: I do not drive". Choosing "Yes" shows the aid questions; changing to "No"
hides them and clears the answer given; "not applicable" answers the required driving
question; axe-core (WCAG 2.1 AA) passes at each step. A coordinator typing the same
form in from paper meets the same behaviour on the staff entry page (the same script).
Screenshots in tests/artifacts/.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import expect

from outcomes.followups.links import survey_url
from outcomes.followups.models import Visit
from outcomes.instruments.models import Response, Score
from patients.demo import ensure_demo_users
from patients.models import Site
from tests.e2e.a11y import assert_buttons_readable, axe_violations, describe
from tests.e2e.conftest import ARTIFACTS, enrolled_today, press
from tests.e2e.test_browser_questionnaire import DESKTOP, PHONE, snapshots
from tests.factories import imported_and_scheduled

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DATA = Path(__file__).resolve().parents[1] / "data" / "instruments"


def test_a_conditional_question_appears_and_goes_and_not_applicable_answers_one(
    study, live_server, browser, settings
):
    settings.SITE_URL = live_server.url
    imported_and_scheduled(study, DATA / "mobility_aid.json", alone=True)
    visit = enrolled_today(study, "M-001")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=PHONE)
    page.add_init_script(script=AXE_SCRIPT)
    page.goto(survey_url(visit=visit))
    page.get_by_role("link", name="Start").click()
    page.wait_for_selector("text=Questionnaire 1 of 1")
    aid_type, aid_walking = page.locator("#q-aid_type"), page.locator("#q-aid_walking")

    # Nothing answered yet: the aid questions do not apply, so they are hidden (and out
    # of the tab order: no input of theirs can take the focus).
    assert not aid_type.is_visible() and not aid_walking.is_visible()
    assert [describe(v) for v in axe_violations(page, AXE_SCRIPT)] == []
    snapshots(page, "conditional-start")

    # "Yes": both appear, with their note, and the live region says so.
    page.locator("label[for=id_uses_aid_1]").click()
    assert aid_type.is_visible() and aid_walking.is_visible()
    assert "Answer only if you answered “Yes” to question 1." in aid_type.inner_text()
    expect(page.locator("#condition-status")).to_contain_text("now applies")
    page.locator("label[for=id_aid_type_2]").click()
    page.locator("label[for=id_aid_walking_3]").click()
    assert page.locator("#id_aid_type_2").is_checked()
    assert [describe(v) for v in axe_violations(page, AXE_SCRIPT)] == []
    snapshots(page, "conditional-yes")

    # Back to "No" from the keyboard: they go, and the answers given are cleared.
    page.locator("#id_uses_aid_1").focus()
    page.keyboard.press("ArrowUp")
    assert page.locator("#id_uses_aid_0").is_checked()
    assert not aid_type.is_visible() and not aid_walking.is_visible()
    assert not page.locator("#id_aid_type_2").is_checked()
    assert not page.locator("#id_aid_walking_3").is_checked()
    expect(page.locator("#condition-status")).to_contain_text("no longer")
    # Tabbing on from "No" skips the hidden questions: the next stop is the stairs.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "stairs"

    # Required driving answered "not applicable"; stairs and shopping answered.
    page.locator("label[for=id_stairs_1]").click()
    page.locator("label[for=id_driving_6]").click()  # value 9, the seventh option
    assert page.locator("#id_driving_6").get_attribute("value") == "9"
    page.locator("label[for=id_shopping_2]").click()
    assert [describe(v) for v in axe_violations(page, AXE_SCRIPT)] == []
    snapshots(page, "conditional-answered")
    press(page, "Submit my answers")
    page.wait_for_selector("text=Thank you")

    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    response = Response.objects.get(visit=visit, state="completed")
    assert response.answers == {"uses_aid": 0, "aid_type": None, "aid_walking": None,
                                "stairs": 1, "driving": 9, "shopping": 2}
    # Stairs 1 + shopping 2 = 3 over 5 x 2 answered = 30%; driving N/A the one blank.
    assert {s.code: Fraction(s.exact) for s in Score.objects.filter(response=response)} == {
        "mobaid_index": 30, "mobaid_answered": 2}
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_without_javascript_every_question_shows_with_its_note(
    study, live_server, browser, settings
):
    settings.SITE_URL = live_server.url
    imported_and_scheduled(study, DATA / "mobility_aid.json", alone=True)
    visit = enrolled_today(study, "M-002")
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto(survey_url(visit=visit))
    page.get_by_role("link", name="Start").click()
    page.wait_for_selector("text=Questionnaire 1 of 1")
    assert page.locator("#q-aid_type").is_visible()
    assert "Answer only if you answered “Yes” to question 1." in page.locator(
        "#q-aid_walking").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "conditional-no-js-phone.png"), full_page=True)
    # "No", and yet an aid answered (the page cannot hide it): the server clears it.
    for label in ("id_uses_aid_0", "id_aid_type_1", "id_stairs_0", "id_driving_2",
                  "id_shopping_0"):
        page.locator(f"label[for={label}]").click()
    page.get_by_role("button", name="Submit my answers").click()
    page.wait_for_selector("text=Thank you")
    response = Response.objects.get(visit=visit, state="completed")
    assert response.answers["aid_type"] is None and response.answers["driving"] == 2
    context.close()


def test_the_paper_entry_page_hides_a_question_until_it_applies(
    study, live_server, browser, login
):
    ensure_demo_users(Site.objects.get(code="MAIN"))
    imported_and_scheduled(study, DATA / "mobility_aid.json", alone=True)
    visit = enrolled_today(study, "M-003")
    entry_url = f"{live_server.url}/studies/BMC-LBP/patients/M-003/visits/{visit.pk}/enter/"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=DESKTOP)
    page.add_init_script(script=AXE_SCRIPT)
    login(page, "coordinator")
    page.goto(entry_url)
    page.wait_for_selector("text=Enter a paper or telephone questionnaire")
    aid_type = page.locator("#q-mobility_aid-aid_type")
    aid_walking = page.locator("#q-mobility_aid-aid_walking")

    # As on the patient's page: hidden until "Yes" (so out of the tab order).
    assert not aid_type.is_visible() and not aid_walking.is_visible()
    assert [describe(v) for v in axe_violations(page, AXE_SCRIPT)] == []
    assert_buttons_readable(page, "paper entry, conditional questions hidden")
    page.set_viewport_size(PHONE)  # a tablet or phone at the clinic
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    snapshots(page, "entry-conditional-start")
    page.set_viewport_size(DESKTOP)

    page.locator("label[for=id_mobility_aid-uses_aid_1]").click()
    assert aid_type.is_visible() and aid_walking.is_visible()
    assert "Answer only if you answered “Yes” to question 1." in aid_type.inner_text()
    # Both named, in one announcement (a second would replace the first).
    expect(page.locator("#condition-status")).to_have_text(
        "Question 2 of Getting about now applies: it is shown. "
        "Question 3 of Getting about now applies: it is shown.")
    page.locator("label[for=id_mobility_aid-aid_type_2]").click()
    page.locator("label[for=id_mobility_aid-aid_walking_3]").click()
    assert [describe(v) for v in axe_violations(page, AXE_SCRIPT)] == []
    page.set_viewport_size(PHONE)
    snapshots(page, "entry-conditional-yes")
    page.set_viewport_size(DESKTOP)

    # Back to "No" from the keyboard: they go, their answers cleared, and Tab skips them.
    page.locator("#id_mobility_aid-uses_aid_1").focus()
    page.keyboard.press("ArrowUp")
    assert page.locator("#id_mobility_aid-uses_aid_0").is_checked()
    assert not aid_type.is_visible() and not aid_walking.is_visible()
    assert not page.locator("#id_mobility_aid-aid_type_2").is_checked()
    assert not page.locator("#id_mobility_aid-aid_walking_3").is_checked()
    expect(page.locator("#condition-status")).to_contain_text("no longer applies")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.name") == "mobility_aid-stairs"

    page.locator('label[for="id_source_0"]').click()  # Paper form
    page.fill("input[name=answered_date]", str(visit.target_date))
    for label in ("id_mobility_aid-stairs_1", "id_mobility_aid-driving_6",
                  "id_mobility_aid-shopping_2"):
        page.locator(f"label[for={label}]").click()
    press(page, "Enter and score")
    page.wait_for_selector("text=Paper form for the Baseline visit entered")
    response = Response.objects.get(visit=visit, state="completed")
    assert response.source == "paper"
    assert response.answers == {"uses_aid": 0, "aid_type": None, "aid_walking": None,
                                "stairs": 1, "driving": 9, "shopping": 2}
    # Stairs 1 + shopping 2 = 3 over 5 x 2 answered = 30%; driving N/A the one blank.
    assert {s.code: Fraction(s.exact) for s in Score.objects.filter(response=response)} == {
        "mobaid_index": 30, "mobaid_answered": 2}


def test_without_javascript_the_paper_entry_page_shows_every_question_with_its_note(
    study, live_server, browser, login
):
    ensure_demo_users(Site.objects.get(code="MAIN"))
    imported_and_scheduled(study, DATA / "mobility_aid.json", alone=True)
    visit = enrolled_today(study, "M-004")
    context = browser.new_context(viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    login(page, "coordinator")
    page.goto(f"{live_server.url}/studies/BMC-LBP/patients/M-004/visits/{visit.pk}/enter/")
    assert page.locator("#q-mobility_aid-aid_type").is_visible()
    assert "Answer only if you answered “Yes” to question 1." in page.locator(
        "#q-mobility_aid-aid_walking").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "entry-conditional-no-js-1280.png"), full_page=True)
    context.close()
