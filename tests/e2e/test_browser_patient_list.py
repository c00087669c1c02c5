"""The coordinator finds a patient in real Chromium: nav bar, search by name, arm filter."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_a_coordinator_finds_a_patient_by_name_and_arm_and_opens_them(
    live_server, browser, login
):
    from patients.demo import load_demo

    load_demo(size=30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport=DESKTOP)
    login(page, "coordinator")
    page.get_by_role("link", name="BMC-LBP").first.click()
    page.wait_for_selector("text=Completion by reminder channel")
    page.screenshot(path=str(ARTIFACTS / "dashboard-nav-1280.png"))

    # 1. From the navigation bar to the patient list.
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Patients").click()
    page.wait_for_selector("table.patient-grid")
    assert nav.get_by_role("link", name="Patients").get_attribute("aria-current") == "page"
    assert page.locator("table.patient-grid tbody tr").count() == 25  # page 1 of 2
    headers = page.locator("table.patient-grid thead th").all_inner_texts()
    assert headers[2:7] == ["Baseline", "1 month", "3 months", "6 months", "12 months"]
    shot(page, "patient-list-1280.png")

    # 2. Search by name and filter by arm, from the keyboard: type, pick, Enter.
    search = page.get_by_role("searchbox", name="Search")
    search.fill("demo patient 7")
    page.get_by_label("Arm").select_option(label="Bone marrow concentrate + conventional care")
    search.press("Enter")
    page.wait_for_selector("text=1 patient matches")
    rows = page.locator("table.patient-grid tbody tr")
    assert rows.count() == 1
    assert "Demo Patient 7" in rows.first.inner_text()
    assert search.input_value() == "demo patient 7"
    shot(page, "patient-list-search-1280.png")

    # The same search in the other arm finds nobody, says so, and offers to clear.
    page.get_by_label("Arm").select_option(label="Conventional care")
    page.get_by_role("button", name="Show patients").click()
    page.wait_for_selector("text=No patient matches")
    page.get_by_role("link", name="Clear search and filters").first.click()
    page.wait_for_selector("text=30 patients at your sites")

    # 3. Open the patient from the list.
    search.fill("Demo Patient 7")
    search.press("Enter")
    page.wait_for_selector("text=1 patient matches")
    page.get_by_role("link", name="DEMO-0007").click()
    page.wait_for_selector("h1:has-text('DEMO-0007')")
    assert "demo0007@patients.example" in page.content()
    assert nav.get_by_role("link", name="Patients").get_attribute("aria-current") == "true"
    page.screenshot(path=str(ARTIFACTS / "patient-from-list-1280.png"))

    # 4. On a phone: the bar folds behind "Menu", the grid scrolls inside its box.
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/studies/BMC-LBP/patients/")
    page.wait_for_selector("table.patient-grid")
    assert not nav.get_by_role("link", name="Patients").is_visible()
    assert not page.get_by_label("Arm").is_visible()  # the filters fold behind a button
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "patient-list-390.png")
    page.get_by_role("button", name="Filters").click()
    page.wait_for_selector("#patient-filters-more.show")
    page.get_by_label("Arm").select_option("BMC")
    page.get_by_role("button", name="Show patients").click()
    page.wait_for_selector("text=15 patients match")
    assert page.get_by_label("Arm").is_visible()  # open while a filter is in use
    shot(page, "patient-list-390-filtered.png")
    menu = page.get_by_role("button", name="Menu")
    menu.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#main-menu.show")  # the opening animation is over
    assert menu.get_attribute("aria-expanded") == "true"
    page.screenshot(path=str(ARTIFACTS / "patient-list-390-menu.png"))
    nav.get_by_role("link", name="Worklists").click()
    page.wait_for_selector("text=Completion by reminder channel")
