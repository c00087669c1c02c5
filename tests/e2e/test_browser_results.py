"""The study's results page in real Chromium, as a clinician opens it: at 1280 and 390 px.

At each width: axe-core finds no serious or critical WCAG 2.1 AA violation, every
button's text is 4.5:1 or more, the page does not scroll sideways (wide tables scroll in
their own region), the summary states the primary comparisons with the numbers of the
results JSON (the page's own download, formatted here as SPEC 7 says), and the long
tables are collapsed until a keyboard opens one. Full-page screenshots go to
tests/artifacts/results-page-1280.png and -390.png; the page's height is printed.
"""

from __future__ import annotations

import json

import pytest
from axe_playwright_python.base import AXE_SCRIPT

from tests.e2e.a11y import assert_buttons_readable, axe_violations, describe
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_browser_questionnaire import browser, press  # noqa: F401 (the fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WIDTHS = {1280: {"width": 1280, "height": 900}, 390: {"width": 390, "height": 844}}
MINUS = "\u2212"
LONG_TABLES = ("responders", "scores", "comparisons", "subgroups", "regressions")


def _number(value: float, decimals: int = 0) -> str:
    text = f"{value:.{decimals}f}"
    return text.lstrip("-") if float(text) == 0 else text.replace("-", MINUS)


def _count(k: int, n: int) -> str:
    return f"{_number(100 * k / n)}% ({k} of {n})" if n else f"— (0 of {n})"


def _expected_pieces(results: dict, rule: str, timepoint: str, arm: str) -> list[str]:
    """What the sentence of one primary comparison must say, from the JSON alone."""
    row = next(c for c in results["comparisons"] if c["kind"] == "proportion"
               and c["measure"] == rule and c["timepoint"] == timepoint and c["arm"] == arm)
    pieces = [f"{_count(row['responders'], row['evaluable'])} with",
              f"vs {_count(row['reference_responders'], row['reference_evaluable'])} with"]
    if row["difference"] is not None:
        pieces.append(f"difference {_number(row['difference'])} percentage points")
        if row["difference_ci_low"] is not None:
            pieces.append(f"(95% CI {_number(row['difference_ci_low'])} to "
                          f"{_number(row['difference_ci_high'])})")
        p = row["p_value"]
        pieces.append("Fisher's exact " + ("p<0.001" if p < 0.001 else f"p={p:.3f}"))
    return pieces


def test_the_results_page_reads_as_a_paper_at_desktop_and_phone_width(live_server, browser):  # noqa: F811
    from patients.demo import DEMO_PASSWORD, load_demo

    load_demo(size=40)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=WIDTHS[1280])
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "clinician")
    page.fill("input[name=password]", DEMO_PASSWORD)
    press(page, "Log in")
    page.wait_for_selector("text=Studies")
    url = f"{live_server.url}/studies/BMC-LBP/results/"
    results = json.loads(context.request.get(f"{url}?format=json").text())
    assert results["primary_comparisons"], "the demo names its primary comparisons"
    heights = {}
    for width, viewport in WIDTHS.items():
        page.set_viewport_size(viewport)
        page.goto(url)
        page.mouse.move(0, 0)
        problems = axe_violations(page, AXE_SCRIPT)
        assert not problems, "\n".join(describe(v) for v in problems)
        assert_buttons_readable(page, f"results at {width} px")
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (
            f"the page scrolls sideways at {width} px")

        # The summary comes first and states every primary comparison with the JSON's
        # numbers, each arm against the reference arm.
        first = page.locator("main section").first
        assert first.get_attribute("id") == "summary"
        for comparison in results["primary_comparisons"]:
            for arm in results["arms"]:
                if arm == results["reference_arm"]:
                    continue
                item = page.locator(f"#summary li[data-rule='{comparison['rule']}']"
                                    f"[data-timepoint='{comparison['timepoint']}']"
                                    f"[data-arm='{arm}']")
                assert item.count() == 1
                sentence = item.locator(".summary-sentence").inner_text()
                for piece in _expected_pieces(results, comparison["rule"],
                                              comparison["timepoint"], arm):
                    assert piece in sentence, (piece, sentence)
        assert "unadjusted" in page.locator("#summary").inner_text()

        # The paper's figures and tables are on the page, not folded away.
        for shown in ("#flow-of-patients svg.flow-diagram", "#baseline-characteristics",
                      "#outcomes-responders", "#outcomes-scores"):
            assert page.locator(shown).is_visible(), shown
        # Every long table is collapsed behind a summary line saying how many rows.
        for table in LONG_TABLES:
            details = page.locator(f"details:has(#{table})")
            assert details.get_attribute("open") is None, table
            assert not page.locator(f"#{table}").is_visible(), table
            assert "rows)" in details.locator("summary").inner_text()
        assert not page.locator("#flow").is_visible()  # the diagram's numbers, collapsed

        heights[width] = page.evaluate("document.documentElement.scrollHeight")
        page.screenshot(path=str(ARTIFACTS / f"results-page-{width}.png"), full_page=True)
        page.set_viewport_size(viewport)

    # The keyboard opens a long table.
    summary = page.locator("details:has(#responders) > summary")
    summary.focus()
    page.keyboard.press("Enter")
    assert page.locator("#responders").is_visible()
    print(f"results page height: {heights[1280]} px at 1280, {heights[390]} px at 390")
    assert heights[1280] < 15_000  # the long tables collapsed; the page: 46,000
    context.close()
