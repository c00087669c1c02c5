"""A ``weighted_scores`` score in a study: its exact value stored whole, and the blanks a
study may allow in a sum it reads.

Weights, means and SDs may each have 10 decimal places (``docs/instruments.md``), so the
exact fraction a weighted sum gives can be long: here 68 characters, beyond the 64 the
score's ``exact`` column, a status's ``change`` and an alert's ``value`` held. On
PostgreSQL the patient's completed questionnaire could not be stored (``value too long
for type character varying(64)``: the link said "We could not save your answers" every
time); SQLite does not enforce the length. The expected values are the formula worked
in the test with Fractions of the file's decimals, not read from the engine.

A study's blanks for a sum a weighted score reads are those that keep the sum within the
range the weighted score's range and bands follow (``scoring.engine``): the study's
setting offers and accepts no more, so no response is refused later for it.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction

import pytest
from django.core.exceptions import ValidationError

from outcomes.alerts.models import AnswerAlert
from outcomes.instruments.models import Instrument, ResponderRule, ResponderStatus, Score
from outcomes.instruments.scheduled import blank_scores
from tests.integration.instruments.test_promis29_summary import answer, command, schedule
from tests.unit.instruments.test_weighted_scores import likert

ITEMS = ("a", "b", "c")
SA = ("0.1234567891", "2.31", "1.2345678901")  # weight, mean, SD
SB = ("-0.9876543211", "1.07", "2.3456789013")  # weight of the composite: sb with sc
SC = ("3.3", "3.4567890127")

FILE = {
    "code": "wlong", "version": "1", "title": "Weighted, long fractions", "short_title": "WL",
    "licence": "-", "source": "This test.",
    "items": [{"code": code, "text": code, "kind": "scale", "min": 0, "max": 10}
              for code in ITEMS],
    "scores": [*({"key": f"s{code}", "label": code.upper(), "method": "sum", "items": [code],
                  "direction": "lower_is_better"} for code in ITEMS),
               {"key": "w", "label": "W", "method": "weighted_scores",
                "direction": "higher_is_better",
                "terms": [{"weight": float(SA[0]), "scores": [
                              {"score": "sa", "mean": float(SA[1]), "sd": float(SA[2])}]},
                          {"weight": float(SB[0]), "scores": [
                              {"score": "sb", "mean": float(SB[1]), "sd": float(SB[2])},
                              {"score": "sc", "mean": float(SC[0]), "sd": float(SC[1])}]}]}],
    "alerts": [{"key": "w_high", "when": {"score": "w", "at_least": 0},
                "staff_message": "W is high.", "patient_message": "Thank you."}],
}


def w(a: int, b: int, c: int) -> Fraction:
    """The formula: wa × (a − ma) ÷ sda + wb × the mean of (b − mb) ÷ sdb, (c − mc) ÷ sdc."""
    f = Fraction
    return (f(SA[0]) * (a - f(SA[1])) / f(SA[2])
            + f(SB[0]) * ((b - f(SB[1])) / f(SB[2]) + (c - f(SC[0])) / f(SC[1])) / 2)


def exact_text(value: Fraction) -> str:
    """The value as a fraction: how it is stored when it has no decimal form."""
    rest = value.denominator
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    assert rest != 1, f"{value} terminates: it is stored as a decimal"
    return f"{value.numerator}/{value.denominator}"


def test_a_long_exact_value_is_stored_whole(study, tmp_path):
    path = tmp_path / "wlong.json"
    path.write_text(json.dumps(FILE), encoding="utf-8")
    command("import_instrument", str(path))
    instrument = Instrument.objects.get(code="wlong")
    schedule(study, instrument)
    rule = ResponderRule(study=study, code="w_up", kind="points", score="w",
                         threshold=Decimal("0.1"))
    rule.full_clean()
    rule.save()
    answer(study, instrument, [("S-001", "BMC", dict(zip(ITEMS, (7, 3, 1), strict=True)),
                                dict(zip(ITEMS, (9, 1, 0), strict=True)))])

    baseline, later = w(7, 3, 1), w(9, 1, 0)
    assert len(exact_text(baseline)) == 68
    stored = {s.response.visit.timepoint.code: s.exact for s in Score.objects.filter(code="w")}
    assert stored == {"baseline": exact_text(baseline), "m3": exact_text(later)}
    status = ResponderStatus.objects.get(rule=rule, timepoint__code="m3")
    assert (status.verdict, Fraction(status.change)) == ("responder", later - baseline)
    alerts = AnswerAlert.objects.filter(key="w_high").order_by("raised_at", "pk")
    assert sorted(Fraction(a.value) for a in alerts) == sorted([baseline, later])


def test_a_study_may_allow_the_blanks_that_keep_a_sum_it_reads_in_range(study, tmp_path):
    # sa: four 1-5 items, one blank allowed by its file (3-20); w = −(sa − 12) ÷ 4, banded
    # to 9/4. Two blanks would take sa to 2 and w to 5/2, above its last band.
    data = likert(max_missing=1)
    data["scores"][1]["bands"][1]["upto"] = 2.25
    path = tmp_path / "likert.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    command("import_instrument", str(path))
    schedule(study, Instrument.objects.get(code="likert"))
    (offered,) = [s for s in blank_scores(study) if s.key == "sa"]
    assert offered.blanks_limit == 1  # not 3, one fewer than its items
    study.max_missing = {"sa": 2}
    with pytest.raises(ValidationError) as refused:
        study.full_clean()
    assert refused.value.message_dict["max_missing"] == [
        "A (sa): blanks allowed must be a whole number from 0 to 1 (it counts 4 items), "
        "got 2."]
    study.max_missing = {"sa": 1}
    study.full_clean()
