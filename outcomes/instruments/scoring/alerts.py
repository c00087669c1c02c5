"""Which of a definition's alerts a response's answers raise (no Django).

An alert (``definitions.base.AlertDef``, the file's ``alerts``) is a condition on one
item's answer or one score's value: ``alerts_raised`` checks each against the answers
and the scores ``score_response`` gave, and returns those that hold, with the value
that raised each and how a person reads it (the answer's label, or the score rounded
as pages show it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ..definitions.base import AlertDef, InstrumentDefinition, Number


@dataclass(frozen=True)
class RaisedAlert:
    """One alert a response raises: its definition, the value and that value in words."""

    alert: AlertDef
    value: Number
    shown: str


def _shown(value: Number, decimals: int) -> str:
    rounded = round(Fraction(value), decimals)
    return f"{float(rounded):.{decimals}f}" if decimals else str(int(rounded))


def alerts_raised(definition: InstrumentDefinition, answers: Mapping[str, Any],
                  values: Mapping[str, Any]) -> list[RaisedAlert]:
    """Return the alerts of ``definition`` that ``answers`` and their scores ``values`` raise.

    A blank item and a score that is not scorable raise nothing (there is no value to
    compare); bounds are inclusive and compared exactly.
    """
    raised = []
    for alert in definition.alerts:
        if alert.item:
            value = answers.get(alert.item)
            if not alert.holds(value):
                continue
            labels = {option.value: option.label for option in definition.item(alert.item).options}
            raised.append(RaisedAlert(alert, value, labels.get(value, str(value))))
        else:
            value = values.get(alert.score)
            if not alert.holds(value):
                continue
            raised.append(RaisedAlert(alert, value,
                                      _shown(value, definition.score(alert.score).decimals)))
    return raised
