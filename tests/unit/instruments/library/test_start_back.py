"""STarT Back Screening Tool (Hill et al., Arthritis Rheum 2008;59:632-641)."""

from __future__ import annotations

import itertools

import pytest

from outcomes.instruments.scoring.engine import score_definition

from .library import load, raw, score

FILE = "start_back.json"
ITEMS = [f"sbt{i}" for i in range(1, 10)]


def answers(physical: int, psychosocial_agree: int, bother: int) -> dict[str, int]:
    """Agree with the first ``physical`` of items 1-4 and ``psychosocial_agree`` of 5-8."""
    values = {f"sbt{i}": int(i <= physical) for i in range(1, 5)}
    values |= {f"sbt{i}": int(i - 4 <= psychosocial_agree) for i in range(5, 9)}
    values["sbt9"] = bother
    return values


def hill_2008(profile: dict[str, int]) -> tuple[int, int, str]:
    """Return (total, psychosocial, risk group) by the paper's rules, worked independently."""
    points = [profile[f"sbt{i}"] for i in range(1, 9)] + [int(profile["sbt9"] in (3, 4))]
    total, psychosocial = sum(points), sum(points[4:])
    if total <= 3:
        return total, psychosocial, "low risk"
    return total, psychosocial, "high risk" if psychosocial >= 4 else "medium risk"


@pytest.mark.parametrize(("bother", "point"), [(0, 0), (1, 0), (2, 0), (3, 1), (4, 1)])
def test_bothersomeness_scores_a_point_only_for_very_much_or_extremely(bother, point):
    # Hill 2008: item 9 is positive for "very much" or "extremely" bothersome.
    result = score(FILE, answers(0, 0, bother))
    assert result["sbt_total"] == point
    assert result["sbt_psychosocial"] == point


def test_the_stored_answer_keeps_all_five_bothersomeness_levels():
    options = load(FILE).item("sbt9").options
    assert [o.label for o in options] == ["Not at all", "Slightly", "Moderately",
                                          "Very much", "Extremely"]
    assert [o.value for o in options] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(("case", "total", "psychosocial", "risk"), [
    # Hill 2008's groups at their edges: total 3 is low even with psychosocial 3; total 4
    # with psychosocial 3 is medium; psychosocial 4 is high.
    (answers(3, 0, 0), 3, 0, "low risk"),
    (answers(0, 3, 2), 3, 3, "low risk"),
    (answers(1, 3, 0), 4, 3, "medium risk"),
    (answers(4, 3, 2), 7, 3, "medium risk"),
    (answers(0, 4, 0), 4, 4, "high risk"),
    (answers(0, 3, 4), 4, 4, "high risk"),
    (answers(4, 4, 4), 9, 5, "high risk"),
])
def test_the_risk_groups_follow_hill_2008_at_their_edges(case, total, psychosocial, risk):
    result = score(FILE, case)
    assert (result["sbt_total"], result["sbt_psychosocial"]) == (total, psychosocial)
    assert result["sbt_risk_band"] == risk
    assert result["sbt_risk"] == {"low risk": 1, "medium risk": 2, "high risk": 3}[risk]


def test_every_one_of_the_1280_profiles_gets_hills_risk_group():
    table = next(s for s in raw(FILE)["scores"] if s["key"] == "sbt_risk")["table"]
    assert len(table) == 2 ** 8 * 5
    defn = load(FILE)
    for values in itertools.product(*([(0, 1)] * 8 + [(0, 1, 2, 3, 4)])):
        profile = dict(zip(ITEMS, values, strict=True))
        total, psychosocial, risk = hill_2008(profile)
        result = score_definition(defn, profile)
        assert (result["sbt_total"], result["sbt_psychosocial"], result["sbt_risk_band"]) == (
            total, psychosocial, risk), profile
