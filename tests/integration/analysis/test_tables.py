"""PostgreSQL's aggregates give the same tables as the Python reference."""

from __future__ import annotations

import pytest
from django.db import connection

from outcomes.analysis.tables import postgres_tables, python_tables
from patients.demo import load_demo


def close(a, b) -> bool:
    if a is None or b is None:
        return a is b
    return a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_postgres_tables_equal_the_python_tables_on_the_demo_cohort(study):
    if connection.vendor != "postgresql":
        pytest.skip("the aggregate path is PostgreSQL's; CI runs this in its PostgreSQL pass")
    load_demo(size=40)
    arms, baseline = ["BMC", "CONTROL"], "baseline"
    reference = python_tables(study, arms=arms, baseline=baseline)
    fast = postgres_tables(study, arms=arms, baseline=baseline)
    assert set(fast.summaries) == set(reference.summaries)
    for cell, summary in reference.summaries.items():
        other = fast.summaries[cell]
        assert other.n == summary.n, cell
        for name in ("mean", "sd", "median", "q1", "q3"):
            assert close(getattr(other, name), getattr(summary, name)), (cell, name)
    assert set(fast.changes) == {c for c, v in reference.changes.items() if v[0]}
    for cell, (n, mean, sd) in fast.changes.items():
        ref = reference.changes[cell]
        assert n == ref[0] and close(mean, ref[1]) and close(sd, ref[2]), cell
    assert fast.mann_whitney.keys() <= reference.mann_whitney.keys()
    for key, p in reference.mann_whitney.items():
        assert close(fast.mann_whitney.get(key), p), key
    assert any(p is not None for p in fast.mann_whitney.values())
