"""A whole baseline visit in real headless Chromium on a phone-sized screen."""

from __future__ import annotations

import time

import pytest

from outcomes.followups.links import survey_url
from outcomes.followups.models import Visit
from outcomes.instruments.models import Response, Score
from tests.e2e.a11y import assert_buttons_readable, backdrop, contrast, parse_colour, styles
from tests.e2e.conftest import ARTIFACTS, press
from tests.factories import enrol

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def snapshot(page, name: str, viewport=PHONE) -> None:
    """Save a full-page screenshot, then restore the viewport it stretched."""
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.set_viewport_size(viewport)


def snapshots(page, name: str) -> None:
    """Save the page at phone and desktop width, and come back to the phone."""
    snapshot(page, f"{name}-390.png")
    page.set_viewport_size(DESKTOP)
    snapshot(page, f"{name}-1280.png", DESKTOP)
    page.set_viewport_size(PHONE)


def enrolled_today(study, code: str):
    """A patient whose index date is today: the baseline visit is open now."""
    from django.utils import timezone

    today = timezone.now().date()
    return enrol(study, code, index_date=today, today=today)


def test_a_patient_fills_the_baseline_visit_on_a_phone_keyboard_only_for_the_pain_scale(
    study, live_server, browser, settings
):
    settings.SITE_URL = live_server.url
    enrolment = enrolled_today(study, "B-001")
    visit = enrolment.visits.get(timepoint__code="baseline")
    url = survey_url(visit=visit)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=PHONE)
    page.goto(url)
    page.get_by_role("link", name="Start").click()

    # 1. ODI: one statement per section, by tapping the labels.
    page.wait_for_selector("text=Questionnaire 1 of 4")
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
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    assert Score.objects.get(response__visit=visit, code="nrs").value == 6


def rows_of(page, selector: str) -> list[int]:
    """How many elements sit on each visual row (by their top edge), top to bottom."""
    tops = page.locator(selector).evaluate_all(
        "els => els.map(e => Math.round(e.getBoundingClientRect().top))")
    return [tops.count(top) for top in sorted(set(tops))]


def wait_for_focus(page, condition: str, timeout: float = 5) -> None:
    """Wait until survey.js (deferred, so after the markup appears) has moved the focus.

    Polled from here: ``wait_for_function`` evaluates a string, which the pages' CSP
    (no 'unsafe-eval') refuses.
    """
    check = f"() => {{ const e = document.activeElement; return Boolean({condition}); }}"
    deadline = time.monotonic() + timeout
    while not page.evaluate(check):
        if time.monotonic() > deadline:
            pytest.fail(f"focus never met {condition}; it is on {focused(page)}")
        page.wait_for_timeout(50)


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {id: e.id, name: e.name || '', value: e.value || '', tag: e.tagName}; }""")


def test_a_patient_on_a_phone_saves_half_way_comes_back_fixes_an_error_and_submits(
    study, live_server, browser, settings
):
    settings.SITE_URL = live_server.url
    enrolment = enrolled_today(study, "B-002")
    visit = enrolment.visits.get(timepoint__code="baseline")
    url = survey_url(visit=visit)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=PHONE)

    # The first page: which visit, how many questionnaires, how long; a start button.
    page.goto(url)
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == "Your questionnaires: Baseline"
    assert "It takes about 5 minutes (27 questions)." in page.content()
    assert page.locator("a[href^='tel:']").first.get_attribute("href") == "tel:+15550100"
    assert_buttons_readable(page, "first page")
    snapshots(page, "survey-0-start")
    page.get_by_role("link", name="Start").focus()
    page.keyboard.press("Enter")

    # ODI: the whole row is the target, at least 44 px high; tap the statement's text.
    page.wait_for_selector("text=Questionnaire 1 of 4")
    rows = page.locator(".survey-option")
    assert min(styles(rows.nth(i))["height"] for i in range(rows.count())) >= 44
    for section in range(5):
        page.locator(".survey-question").nth(section).locator(".survey-option span").nth(2).click()
    assert page.locator("input[type=radio]:checked").count() == 5
    # Unselected circles: at least 3:1 against the row behind them (WCAG 1.4.11).
    circle = page.locator(".survey-question").nth(6).locator("input.form-check-input").first
    found = styles(circle)
    assert float(found["borderWidth"].removesuffix("px")) >= 1
    assert contrast(parse_colour(found["border"])[:3], backdrop(circle)) >= 3
    # The focus ring, reached by the keyboard: a solid outline of 3:1 or more.
    page.locator("input[name=sitting]").first.focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert focused(page)["name"] == "sitting"
    row = page.locator(".survey-option:has(input[name=sitting]:focus-visible)")
    ring = styles(row)
    assert ring["outlineStyle"] == "solid" and float(ring["outlineWidth"][:-2]) >= 2
    assert contrast(parse_colour(ring["outline"])[:3], backdrop(row)) >= 3
    assert_buttons_readable(page, "ODI")
    snapshots(page, "survey-1-odi-half")
    press(page, "Save and finish later")
    page.wait_for_selector("text=Your answers are saved")
    assert page.locator("a[href^='mailto:']").count() == 1
    snapshots(page, "survey-1-saved")

    # Back later, on another device: the first page with a missing answer, answers kept.
    page.close()
    page = browser.new_page(viewport=PHONE)
    page.goto(url)
    page.wait_for_selector("text=Questionnaire 1 of 4")
    assert page.url.endswith("/1/")
    assert page.locator("input[type=radio]:checked").count() == 5

    # Leave two sections blank: the error summary takes the focus and links to each.
    for section in range(5, 8):
        page.locator(".survey-question").nth(section).locator(".survey-option").nth(1).click()
    press(page, "Next")
    page.wait_for_selector("#error-summary")
    wait_for_focus(page, "e.id === 'error-summary'")
    links = page.locator("#error-summary a")
    assert links.all_inner_texts() == [
        "ODI: Social life — choose an answer: at most 1 of the 10 questions may be left "
        "blank, and 2 are",
        "ODI: Travelling — choose an answer: at most 1 of the 10 questions may be left "
        "blank, and 2 are",
    ]
    assert page.locator("#q-travelling .survey-error").is_visible()
    assert page.locator("input[name=travelling][aria-invalid=true]").count() == 7
    assert_buttons_readable(page, "ODI errors")
    snapshots(page, "survey-2-odi-errors")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")  # the second link: Travelling
    page.keyboard.press("Enter")
    assert focused(page)["name"] == "travelling"
    page.locator("#q-travelling .survey-option").nth(0).click()
    # Sex life: tapped, then cleared with "Skip this question" (one blank is allowed).
    page.locator("#q-sex_life .survey-option").nth(0).click()
    page.locator("#q-sex_life .survey-option-skip").click()
    page.locator("#q-social_life .survey-option").nth(4).click()
    press(page, "Next")

    # NRS-11: eleven numbers in rows of six and five on the phone, one row on a desktop.
    page.wait_for_selector("text=Questionnaire 2 of 4")
    assert rows_of(page, ".survey-scale-number") == [6, 5]
    page.set_viewport_size(DESKTOP)
    assert rows_of(page, ".survey-scale-number") == [11]
    page.set_viewport_size(PHONE)
    assert min(styles(page.locator(".survey-scale-number").nth(i))["height"]
               for i in range(11)) >= 44
    page.locator("label[for=id_pain_6]").click()
    number = page.locator("label[for=id_pain_3]")
    assert contrast(parse_colour(styles(number)["border"])[:3], backdrop(number)) >= 3
    assert_buttons_readable(page, "NRS")
    snapshots(page, "survey-3-nrs")
    press(page, "Next")

    # EQ-5D-3L: the EQ VAS with the keyboard; it has no value until moved.
    page.wait_for_selector("text=Questionnaire 3 of 4")
    for code in ("mobility", "self_care", "usual_activities", "pain_discomfort",
                 "anxiety_depression"):
        page.locator(f"#q-{code} .survey-option").nth(1).click()
    scale = page.locator("input[type=range]")
    box = page.locator("input[name=vas]")
    assert scale.is_visible() and box.input_value() == ""
    geometry = scale.evaluate("e => e.getBoundingClientRect().toJSON()")
    assert geometry["height"] > 3 * geometry["width"]  # vertical
    top = page.locator(".survey-vas-ticks li").first
    bottom = page.locator(".survey-vas-ticks li").last
    assert (top.inner_text(), bottom.inner_text()) == ("100", "0")
    assert styles(top)["height"] and top.bounding_box()["y"] < bottom.bounding_box()["y"]
    assert scale.get_attribute("aria-valuetext") == "Not set yet"
    snapshots(page, "survey-4-eq5d-unset")
    scale.focus()
    page.keyboard.press("PageUp")          # from the middle: 60
    for _ in range(5):
        page.keyboard.press("ArrowUp")     # 65
    assert box.input_value() == "65" and scale.input_value() == "65"
    page.keyboard.press("PageDown")        # 55
    page.keyboard.press("ArrowDown")       # 54
    assert box.input_value() == "54"
    box.fill("70")
    assert scale.input_value() == "70" and scale.get_attribute("aria-valuetext") is None
    # The thumb of 70 sits at the 70 tick, and higher than the thumb of 20 would.
    assert_buttons_readable(page, "EQ-5D-3L")
    snapshots(page, "survey-4-eq5d")
    press(page, "Next")

    # PROMIS, then submit; the thank-you page says when the next questionnaires come.
    page.wait_for_selector("text=Questionnaire 4 of 4")
    for group in page.locator("fieldset").all():
        group.locator("label").nth(2).click()
    press(page, "Submit my answers")
    page.wait_for_selector("text=Thank you")
    assert "Your next questionnaires: around" in page.content()
    assert_buttons_readable(page, "thank you")
    snapshots(page, "survey-5-done")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    visit.refresh_from_db()
    assert visit.status == Visit.Status.COMPLETED
    scores = {s.code: s.value for s in Score.objects.filter(response__visit=visit)}
    assert scores["eq5d_vas"] == 70 and scores["nrs"] == 6
    # ODI: five sections at 2, standing and sleeping at 1, sex life skipped, social life 4,
    # travelling 0: 16 points over 9 sections = 16/45 = 35.6% (Fairbank 2000's example).
    assert round(float(scores["odi"]), 1) == 35.6


def test_the_other_pages_a_patient_may_meet_in_spanish_and_english(
    study, live_server, browser, settings
):
    settings.SITE_URL = live_server.url
    enrolment = enrolled_today(study, "B-003")
    url = survey_url(visit=enrolment.visits.get(timepoint__code="baseline"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    spanish = browser.new_page(viewport=PHONE, extra_http_headers={"Accept-Language": "es"})
    spanish.goto(url)
    spanish.wait_for_selector("text=Sus cuestionarios: Inicio del estudio")
    assert_buttons_readable(spanish, "primera página")
    snapshots(spanish, "survey-6-start-es")
    spanish.goto(url.rstrip("/") + "/3/")
    spanish.get_by_role("button", name="Siguiente").click()
    spanish.wait_for_selector("#error-summary")
    wait_for_focus(spanish, "e.id === 'error-summary'")
    summary = spanish.locator("#error-summary").inner_text()
    assert "EQ-5D-3L: Mobility — elija una respuesta" in summary
    assert_buttons_readable(spanish, "errores")
    snapshots(spanish, "survey-6-errors-es")
    # A link from another page's summary lands on its question, with the focus there.
    spanish.goto(url.rstrip("/") + "/3/?check=1#q-self_care")
    wait_for_focus(spanish, "e.name === 'self_care'")

    # Without JavaScript the EQ VAS is a plain number box, and the page still works.
    bare = browser.new_page(viewport=PHONE, java_script_enabled=False)
    bare.goto(url.rstrip("/") + "/3/")
    assert not bare.locator("input[type=range]").is_visible()
    for code in ("mobility", "self_care", "usual_activities", "pain_discomfort",
                 "anxiety_depression"):
        bare.locator(f"#q-{code} .survey-option").nth(0).click()
    bare.fill("input[name=vas]", "80")
    snapshots(bare, "survey-6-eq5d-no-js")
    press(bare, "Next")
    bare.wait_for_selector("text=Questionnaire 4 of 4")
    saved = Response.objects.get(visit__enrolment=enrolment, instrument__code="eq5d3l")
    assert saved.answers["vas"] == 80

    enrolment.status, enrolment.status_reason = "paused", "in hospital"
    enrolment.save()
    page = browser.new_page(viewport=PHONE)
    page.goto(url)
    page.wait_for_selector("text=The study team has paused your questionnaires")
    assert page.locator("a[href='tel:+15550100']").is_visible()
    assert_buttons_readable(page, "paused")
    snapshots(page, "survey-7-paused")

    enrolment.status, enrolment.status_reason = "withdrawn", "moved away"
    enrolment.save()
    page.goto(url)
    page.wait_for_selector("text=This link is not active")
    assert page.locator("a[href='mailto:research@clinic.example']").is_visible()
    assert_buttons_readable(page, "not active")
    snapshots(page, "survey-8-not-active")


def test_the_coordinator_workspace_renders_in_chromium(live_server, browser, login, settings):
    from patients.demo import load_demo

    load_demo(size=12)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=DESKTOP)
    login(page, "coordinator")
    page.goto(f"{live_server.url}/studies/BMC-LBP/?list=missed")
    page.wait_for_selector("text=Completion by reminder channel")
    assert page.locator("tbody tr").count() > 1
    page.screenshot(path=str(ARTIFACTS / "coordinator-dashboard.png"), full_page=True)
    page.goto(f"{live_server.url}/studies/BMC-LBP/patients/DEMO-0001/")
    page.wait_for_selector("text=Visits")
    assert "demo0001@patients.example" in page.content()
    page.screenshot(path=str(ARTIFACTS / "coordinator-patient.png"), full_page=True)


def test_the_clinicians_pages_render_in_chromium(live_server, browser, login):
    from patients.demo import load_demo

    load_demo(size=16)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=DESKTOP)
    login(page, "clinician")
    page.goto(f"{live_server.url}/studies/BMC-LBP/patients/DEMO-0001/outcomes/")
    page.wait_for_selector("text=Responder status")
    assert page.locator("svg.chart").count() == 8  # the 7 scores the schedule asks, opioid use
    assert "demo0001@patients.example" not in page.content()
    page.screenshot(path=str(ARTIFACTS / "clinician-patient.png"), full_page=True)
    page.goto(f"{live_server.url}/studies/BMC-LBP/results/")
    page.wait_for_selector("text=Between arms")
    assert page.locator("svg.chart").count() == 10  # 7 scores, opioid use, 2 primary rules
    page.screenshot(path=str(ARTIFACTS / "results.png"), full_page=True)
