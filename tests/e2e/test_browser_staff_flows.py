"""Staff pages in real Chromium: a coordinator pauses and withdraws a patient, a data manager
voids a response knowing first what becomes of the visit, the admin's study page fits."""

from __future__ import annotations

import datetime as dt

import pytest

from outcomes.followups.models import Visit
from outcomes.instruments.models import Response
from tests.e2e.a11y import contrast, flatten, parse_colour, styles
from tests.e2e.conftest import ARTIFACTS, press
from tests.factories import enrol

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shots(page, name: str) -> None:
    """Save the page at 1280 and 390 px wide (whole page), and check neither scrolls sideways."""
    for size in (DESKTOP, PHONE):
        page.set_viewport_size(size)
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], name
        page.screenshot(path=str(ARTIFACTS / f"{name}-{size['width']}.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def assert_readable(page, where: str) -> int:
    """Every visible button (input buttons too) and link of the page: text at 4.5:1 or more."""
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)  # Bootstrap's colour transitions (0.15 s) run to their end
    controls = page.locator("main button, main input.btn, main a, nav a, nav button")
    checked = 0
    for index in range(controls.count()):
        found = styles(controls.nth(index))
        if not found["visible"] or not found["text"]:
            continue
        ratio = contrast(parse_colour(found["color"])[:3], flatten(found["layers"]))
        assert ratio >= 4.5, f"{where}: {found['text']!r} at {ratio:.2f}:1"
        checked += 1
    assert checked, f"{where}: nothing checked"
    return checked


def answer_by_link(visit) -> list[Response]:
    from outcomes.instruments.services import save_answers, submit_visit
    from tests.integration.survey.conftest import PAGES

    for item, answers in zip(visit.timepoint.items.order_by("order"), PAGES, strict=True):
        save_answers(visit=visit, instrument=item.instrument, answers=answers)
    return submit_visit(visit=visit)


def history(page) -> list[str]:
    return page.locator("ul.patient-history li").all_inner_texts()


def test_a_coordinator_pauses_then_withdraws_and_a_data_manager_voids_seeing_the_visit_first(
    live_server, browser, login
):
    from django.utils import timezone

    from patients.demo import load_demo

    study = load_demo(size=4).study
    today = timezone.now().date()
    # Index 27 days ago: the 1-month window (days 23 to 44) is open, closing in 17 days.
    index = today - dt.timedelta(days=27)
    status = enrol(study, "E-STATUS", index_date=index, today=today,
                   contact={"full_name": "Ana Ruiz", "email": "ana@example.org"})
    voided = enrol(study, "E-VOID", index_date=index, today=today,
                   contact={"email": "void@example.org"})
    m1 = voided.visits.get(timepoint__code="m1")
    answer_by_link(m1)
    m1.refresh_from_db()
    closes = m1.window_close_date
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    base = live_server.url
    patient = f"{base}/studies/BMC-LBP/patients/E-STATUS/"

    # 1. A coordinator: every staff page's controls readable, the dashboard in words.
    form = browser.new_page(viewport=DESKTOP)
    form.goto(f"{base}/accounts/login/")
    assert_readable(form, "login")
    page = browser.new_page(viewport=DESKTOP)
    login(page, "coordinator")
    for path in ("/", "/studies/BMC-LBP/patients/", "/studies/BMC-LBP/enrol/",
                 "/studies/BMC-LBP/patients/E-STATUS/contact/",
                 f"/studies/BMC-LBP/patients/E-STATUS/visits/"
                 f"{status.visits.get(timepoint__code='baseline').pk}/enter/"):
        assert page.goto(f"{base}{path}").status == 200, path
        assert_readable(page, path)
    page.goto(f"{base}/studies/BMC-LBP/?list=due")
    assert_readable(page, "dashboard")
    row = page.locator("tr", has_text="E-STATUS").inner_text()
    assert "Bone marrow concentrate + conventional care" in row and "None sent yet" in row
    shots(page, "staff-flow-1-dashboard")
    page.goto(patient)
    assert_readable(page, "patient page")  # "Change status" was blue on blue (1:1)

    # 2. Pausing without a reason is refused at the field, the choice kept; then with one.
    page.select_option("select[name=status]", "paused")
    press(page, "Change status")
    page.wait_for_selector("#error-summary")
    assert "Reason: Say why (kept in the audit history)." in page.inner_text("#error-summary")
    assert page.input_value("select[name=status]") == "paused"
    assert page.locator("#div_id_reason .invalid-feedback").is_visible()
    shots(page, "staff-flow-2-pause-refused")
    page.fill("input[name=reason]", "in hospital")
    press(page, "Change status")
    page.wait_for_selector("text=E-STATUS is now paused.")
    assert history(page)[0].startswith("Status: active → paused (in hospital) — coordinator, ")
    shots(page, "staff-flow-3-paused")

    # 3. A withdrawal asks first, saying what it does; confirmed, it is done and told.
    page.select_option("select[name=status]", "withdrawn")
    page.fill("input[name=reason]", "moved abroad")
    press(page, "Change status")
    page.wait_for_selector("text=Withdraw E-STATUS from the study?")
    said = page.inner_text("#withdrawal-consequences")
    assert "The 1-month, 3-month, 6-month and 12-month visits will be closed" in said
    assert "No more reminders or links will be sent." in said
    assert_readable(page, "withdrawal confirmation")
    shots(page, "staff-flow-4-confirm-withdrawal")
    press(page, "Withdraw E-STATUS")
    page.wait_for_selector("text=E-STATUS is now withdrawn.")
    lines = history(page)
    assert any(line.startswith("Status: paused → withdrawn (moved abroad) — coordinator, ")
               for line in lines), lines
    assert any(line.startswith("1-month visit: open → not applicable (withdrawn: moved abroad)")
               for line in lines), lines
    shots(page, "staff-flow-5-withdrawn")

    # 4. A data manager opens the correction page from the outcomes page and reads what a
    # void does to the visit before voiding.
    manager = browser.new_page(viewport=DESKTOP)
    login(manager, "datamanager")
    manager.goto(f"{base}/studies/BMC-LBP/patients/E-VOID/outcomes/")
    manager.locator("li", has_text="1 month · Oswestry Disability Index").get_by_role(
        "link", name="Correct").click()
    manager.wait_for_selector("#void-consequence")
    from django.utils import formats

    assert manager.inner_text("#void-consequence") == (
        "What happens to the visit: The 1-month visit will be open again, and the patient's "
        f"link will work until {formats.date_format(closes)}.")
    assert_readable(manager, "correction page")
    shots(manager, "staff-flow-6-before-void")
    for size in (DESKTOP, PHONE):  # the part to read before voiding, at a readable scale
        manager.set_viewport_size(size)
        manager.locator("#void-section").screenshot(
            path=str(ARTIFACTS / f"staff-flow-6a-void-section-{size['width']}.png"))
    manager.set_viewport_size(DESKTOP)
    press(manager, "Void the response")  # without a reason: refused at the field
    manager.wait_for_selector("#void-errors")
    assert "Reason for voiding: Say why the response is voided." in manager.inner_text(
        "#void-errors")
    manager.fill("#void_reason", "entered for the wrong patient")
    press(manager, "Void the response")
    manager.wait_for_selector("text=The response is voided, with its reason.")
    m1.refresh_from_db()
    assert m1.status == Visit.Status.OPEN  # as the page said
    manager.goto(f"{base}/studies/BMC-LBP/patients/E-VOID/")
    lines = history(manager)
    assert lines[0].startswith("1-month visit: completed → open (ODI voided: entered for the "
                               "wrong patient) — datamanager, ")
    assert lines[1].startswith("ODI at the 1-month visit voided (entered for the wrong patient)")
    shots(manager, "staff-flow-7-after-void")

    # 5. The admin's study page fits a 1280 px screen, every input labelled.
    manager.goto(f"{base}/admin/patients/study/{study.pk}/change/")
    manager.wait_for_selector("#timepoints-group")
    assert manager.evaluate("document.documentElement.scrollWidth") <= DESKTOP["width"]
    unlabelled = manager.evaluate("""() => [...document.querySelectorAll(
        '#study_form input:not([type=hidden]):not([type=submit]), #study_form select, '
        + '#study_form textarea')].filter(e => !e.labels.length && !e.getAttribute('aria-label')
        && e.offsetParent !== null).map(e => e.name)""")
    assert unlabelled == []
    manager.screenshot(path=str(ARTIFACTS / "staff-flow-8-admin-study-1280.png"), full_page=True)
