"""PHQ-9 (Kroenke, Spitzer & Williams, J Gen Intern Med 2001;16:606-613)."""

from __future__ import annotations

import pytest

from outcomes.instruments.scoring import NotScorable

from .library import load, score, summing_to

ITEMS = [f"phq{i}" for i in range(1, 10)]


def answers(total: int) -> dict[str, int]:
    return summing_to(ITEMS, total)


def test_the_file_parses_with_nine_scored_items_and_an_unscored_difficulty_item():
    defn = load("phq9.json")
    assert [item.code for item in defn.items] == [*ITEMS, "phq_difficulty"]
    assert not defn.item("phq_difficulty").required


def test_the_four_answers_score_0_to_3_as_printed_on_the_form():
    option_values = [(o.value, o.label) for o in load("phq9.json").item("phq1").options]
    assert option_values == [(0, "Not at all"), (1, "Several days"),
                             (2, "More than half the days"), (3, "Nearly every day")]


@pytest.mark.parametrize(("total", "band"), [
    # Kroenke 2001: scores of 5, 10, 15 and 20 are mild, moderate, moderately severe and
    # severe depression; 0-4 minimal. Each boundary from both sides.
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
    (14, "moderate"), (15, "moderately severe"), (19, "moderately severe"),
    (20, "severe"), (27, "severe"),
])
def test_the_severity_bands_are_kroenke_2001s(total, band):
    result = score("phq9.json", answers(total))
    assert result["phq9_total"] == total
    assert result["phq9_total_band"] == band


def test_the_difficulty_item_is_not_part_of_the_total():
    with_difficulty = {**answers(12), "phq_difficulty": 3}
    assert score("phq9.json", with_difficulty)["phq9_total"] == 12


def test_a_blank_item_leaves_the_response_not_scorable_naming_the_item():
    # The total is the PHQ-9's only score, so the whole response is not scorable (SPEC 3.7).
    with pytest.raises(NotScorable, match="phq9: unanswered; none may be missing"):
        score("phq9.json", {**answers(12), "phq9": None})
