"""An instrument version's admin page in real Chromium, as a data manager reads it.

The PROMIS Global Health page (items recoded, T-scores looked up in tables): the data
manager signs in, opens it, opens a lookup table from the keyboard and downloads the
definition file; the page passes axe-core (WCAG 2.1 AA, nothing serious or critical)
and every button and link-button's text is 4.5:1 or more, before and after the table
is opened. Screenshots: tests/artifacts/instrument-page-{odi,promis}.png.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from outcomes.instruments.models import Instrument
from tests.e2e.a11y import TEXT_CONTRAST, axe_violations, button_contrasts, describe
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _problems(page) -> list[str]:
    found = [describe(v) for v in axe_violations(page, AXE_SCRIPT)]
    found += [str(b) for b in button_contrasts(page) if b.ratio < TEXT_CONTRAST]
    return found


def test_a_data_manager_reads_an_instrument_version_opens_a_table_and_downloads_it(
        live_server, browser, login):
    from patients.demo import load_demo

    load_demo(size=3)
    odi, promis = (Instrument.objects.get(code=code) for code in ("odi", "promis_gh"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.add_init_script(script=AXE_SCRIPT)
    login(page, "datamanager")

    page.goto(f"{live_server.url}/admin/instruments/instrument/{odi.pk}/change/")
    page.wait_for_selector("#items-heading")
    assert "label only (licensed wording)" in page.locator("#content-main").inner_text()
    assert _problems(page) == []
    page.screenshot(path=str(ARTIFACTS / "instrument-page-odi.png"), full_page=True)

    page.goto(f"{live_server.url}/admin/instruments/instrument/{promis.pk}/change/")
    page.wait_for_selector("#scores-heading")
    assert _problems(page) == []
    table = page.locator("details").first
    assert not table.locator("tbody").is_visible()
    table.locator("summary").focus()
    page.keyboard.press("Enter")
    assert table.locator("tbody tr").first.is_visible()
    assert table.locator("tbody tr").count() == 17  # raw sums 4-20
    assert _problems(page) == []
    page.screenshot(path=str(ARTIFACTS / "instrument-page-promis.png"), full_page=True)

    with page.expect_download() as downloading:
        page.get_by_role("link", name="the definition file (JSON, as export_instrument "
                                      "writes it)").click()
    download = downloading.value
    assert download.suggested_filename == "promis_gh-1.2.json"
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert (data["code"], data["version"]) == ("promis_gh", "1.2")
    context.close()
