"""Columns packed by PostgreSQL (string_agg of int8send / float8send) read back in numpy."""

from __future__ import annotations

import struct

import numpy as np

from outcomes.analysis.stats import mann_whitney
from outcomes.analysis.tables import _Enrolments, _mann_whitney


def packed_ids(*ids: int) -> bytes:
    return b"".join(struct.pack(">q", i) for i in ids)


def packed_floats(*values: float) -> bytes:
    return b"".join(struct.pack(">d", v) for v in values)


def enrolments(ids_bmc, ids_control) -> _Enrolments:
    def covariates(n):
        return packed_floats(*[55.0, float("nan"), 0.0] * n)

    return _Enrolments([
        (7, "BMC", "female", packed_ids(*ids_bmc), covariates(len(ids_bmc))),
        (9, "CONTROL", "male", packed_ids(*ids_control), covariates(len(ids_control))),
    ], ["BMC", "CONTROL"])


def test_ids_map_to_their_positions_or_to_minus_one_whether_dense_or_sparse():
    for bmc, control in (([5, 3, 8], [4, 6]), ([5, 10**12, 8], [4, 3 * 10**15])):
        cohort = enrolments(bmc, control)
        asked = np.array([*reversed(bmc + control), 1, 2 * 10**15, 7])
        at = cohort.positions(asked)
        assert at[-3:].tolist() == [-1, -1, -1]
        assert cohort.ids[at[:-3]].tolist() == asked[:-3].tolist()
        assert cohort.arm[cohort.positions(np.array(control))].tolist() == [1, 1]
        assert cohort.sex_codes == ["female", "male"] and np.isnan(cohort.covariates[0, 1])


def test_no_enrolments_find_nothing():
    cohort = _Enrolments([], ["BMC", "CONTROL"])
    assert cohort.positions(np.array([1, 2])).tolist() == [-1, -1]


def test_mann_whitney_from_ranks_equals_scipys_on_ties_and_on_large_samples():
    rng = np.random.default_rng(5)
    cases = [
        (np.round(rng.normal(0, 3, 400)), np.round(rng.normal(1, 3, 300))),  # many ties
        (rng.normal(0, 1, 50), rng.normal(0.3, 1, 60)),  # no ties, asymptotic
        (np.array([1.0, 2.0, 2.0]), np.array([2.0, 3.0])),  # small with ties
        (np.array([4.0, 4.0]), np.array([4.0])),  # one value throughout: scipy says 1
    ]
    for a, b in cases:
        assert np.isclose(_mann_whitney(a, b), mann_whitney(a, b), rtol=1e-12, atol=0)
