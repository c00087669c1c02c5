"""PostgreSQL's columns give the same tables as the Python reference."""

from __future__ import annotations

import pytest
from django.db import connection

from outcomes.analysis.tables import postgres_tables, python_tables
from patients.demo import load_demo


def close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


def same_rows(fast: list[dict], reference: list[dict]) -> bool:
    """Equal row by row: exact except floats, which may differ in the last bits."""
    assert len(fast) == len(reference)
    for mine, theirs in zip(fast, reference, strict=True):
        assert mine.keys() == theirs.keys()
        for key, value in theirs.items():
            if isinstance(value, float):
                assert close(mine[key], value), (theirs, key)
            elif isinstance(value, list):
                assert same_rows(mine[key], value)
            else:
                assert mine[key] == value, (theirs, key)
    return True


@pytest.fixture
def both(study):
    if connection.vendor != "postgresql":
        pytest.skip("the columns path is PostgreSQL's; CI runs this in its PostgreSQL pass")
    load_demo(size=40)
    arms, baseline = ["BMC", "CONTROL"], "baseline"
    return (python_tables(study, arms=arms, baseline=baseline),
            postgres_tables(study, arms=arms, baseline=baseline))


def test_postgres_score_tables_equal_the_python_tables_on_the_demo_cohort(both):
    reference, fast = both
    assert set(fast.summaries) == set(reference.summaries)
    for cell, summary in reference.summaries.items():
        other = fast.summaries[cell]
        assert other.n == summary.n, cell
        for name in ("mean", "sd", "median", "q1", "q3"):
            assert close(getattr(other, name), getattr(summary, name)), (cell, name)
    assert set(fast.changes) == set(reference.changes)
    for cell, (n, mean, sd) in fast.changes.items():
        ref = reference.changes[cell]
        assert n == ref[0] and close(mean, ref[1]) and close(sd, ref[2]), cell
    assert fast.mann_whitney.keys() == reference.mann_whitney.keys()
    for key, p in reference.mann_whitney.items():
        assert close(fast.mann_whitney.get(key), p), key
    assert any(p is not None for p in fast.mann_whitney.values())


def test_postgres_verdicts_flow_and_subgroups_equal_the_python_tables(both):
    reference, fast = both
    assert fast.verdicts == reference.verdicts and fast.verdicts
    assert fast.flow == reference.flow and fast.flow
    assert fast.subgroups == reference.subgroups and fast.subgroups
    assert same_rows(fast.regressions, reference.regressions) and fast.regressions


def test_a_small_untied_cell_takes_scipys_exact_mann_whitney(study):
    """Both samples of a cell at most 8 and no ties: scipy's exact method, as the reference."""
    if connection.vendor != "postgresql":
        pytest.skip("the columns path is PostgreSQL's; CI runs this in its PostgreSQL pass")
    from unittest import mock

    from outcomes.analysis import stats

    load_demo(size=10)
    arms, baseline = ["BMC", "CONTROL"], "baseline"
    reference = python_tables(study, arms=arms, baseline=baseline)
    with mock.patch.object(stats, "mann_whitney", wraps=stats.mann_whitney) as exact:
        fast = postgres_tables(study, arms=arms, baseline=baseline)
    assert any(min(len(a), len(b)) > 1 for (a, b), _ in exact.call_args_list)
    assert fast.mann_whitney.keys() == reference.mann_whitney.keys()
    for key, p in reference.mann_whitney.items():
        assert close(fast.mann_whitney[key], p), key
