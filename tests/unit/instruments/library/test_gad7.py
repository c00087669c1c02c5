"""GAD-7 (Spitzer, Kroenke, Williams & Löwe, Arch Intern Med 2006;166:1092-1097)."""

from __future__ import annotations

import pytest

from outcomes.instruments.scoring import NotScorable

from .library import load, score, summing_to

ITEMS = [f"gad{i}" for i in range(1, 8)]


def answers(total: int) -> dict[str, int]:
    return summing_to(ITEMS, total)


def test_the_file_parses_with_seven_scored_items_scored_0_to_3():
    defn = load("gad7.json")
    assert [item.code for item in defn.items] == [*ITEMS, "gad_difficulty"]
    assert [o.value for o in defn.item("gad1").options] == [0, 1, 2, 3]


@pytest.mark.parametrize(("total", "band"), [
    # Spitzer 2006: cut points 5, 10 and 15 for mild, moderate and severe anxiety.
    (0, "minimal"), (4, "minimal"), (5, "mild"), (9, "mild"), (10, "moderate"),
    (14, "moderate"), (15, "severe"), (21, "severe"),
])
def test_the_severity_bands_are_spitzer_2006s(total, band):
    result = score("gad7.json", answers(total))
    assert result["gad7_total"] == total
    assert result["gad7_total_band"] == band


def test_the_difficulty_item_is_not_scored_and_a_blank_item_is_not_scorable():
    assert score("gad7.json", {**answers(8), "gad_difficulty": 2})["gad7_total"] == 8
    with pytest.raises(NotScorable, match="gad3: unanswered"):
        score("gad7.json", {**answers(8), "gad3": None})
