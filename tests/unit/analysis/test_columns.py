"""Columns packed by PostgreSQL (string_agg of int8send / float8send) read back in numpy."""

from __future__ import annotations

import struct

import numpy as np

from outcomes.analysis.computation import Cohort
from outcomes.analysis.tables import packed_cohort


def packed_ids(*ids: int) -> bytes:
    return b"".join(struct.pack(">q", i) for i in ids)


def packed_floats(*values: float) -> bytes:
    return b"".join(struct.pack(">d", v) for v in values)


def enrolments(ids_bmc, ids_control) -> Cohort:
    def covariates(n):
        return packed_floats(*[55.0, float("nan"), 0.0] * n)

    cohort, arm_code = packed_cohort([
        (7, "BMC", "female", packed_ids(*ids_bmc), covariates(len(ids_bmc))),
        (9, "CONTROL", "male", packed_ids(*ids_control), covariates(len(ids_control))),
    ], ["BMC", "CONTROL"])
    assert arm_code == {7: "BMC", 9: "CONTROL"}
    return cohort


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
    cohort, _ = packed_cohort([], ["BMC", "CONTROL"])
    assert cohort.positions(np.array([1, 2])).tolist() == [-1, -1]
