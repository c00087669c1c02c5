"""RMDQ (Roland & Morris, Spine 1983;8:141-144; scoring as Roland & Fairbank, Spine 2000)."""

from __future__ import annotations

import pytest

from outcomes.instruments.scoring import NotScorable

from .library import load, raw, score

ITEMS = [f"rmdq{i}" for i in range(1, 25)]


def test_twenty_four_statements_each_scoring_one_point_when_it_applies():
    defn = load("rmdq.json")
    assert [item.code for item in defn.items] == ITEMS
    assert all([o.value for o in item.options] == [0, 1] for item in defn.items)


@pytest.mark.parametrize("ticked", [0, 1, 12, 24])
def test_the_score_is_the_number_of_statements_that_apply(ticked):
    # Roland & Fairbank 2000: the score is the number of statements ticked, 0 to 24.
    answers = {code: int(n < ticked) for n, code in enumerate(ITEMS)}
    assert score("rmdq.json", answers)["rmdq_total"] == ticked


def test_a_blank_statement_is_not_scorable_rather_than_counted_as_no():
    answers = {code: 1 for code in ITEMS} | {"rmdq13": None}
    with pytest.raises(NotScorable, match="rmdq13: unanswered"):
        score("rmdq.json", answers)


def test_only_labels_are_shipped_and_the_licence_says_where_the_wording_is():
    data = raw("rmdq.json")
    assert "labels only" in data["licence"].lower() and "rmdq.org" in data["licence"]
