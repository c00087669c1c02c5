"""NRS-11 pain scoring: the rating itself, 0-10 (Farrar JT et al. Pain 2001;94:149-158)."""

from __future__ import annotations

from ..definitions.nrs11 import NRS11
from .base import Answers, NotScorable, checked_answers

SCORING_VERSION = "1"


def nrs_scores(answers: Answers) -> dict[str, object]:
    """Return ``nrs``: the 0-10 rating; the one item is required."""
    value = checked_answers(NRS11, answers)["pain"]
    if value is None:
        raise NotScorable("pain", "unanswered", instrument=NRS11.code)
    return {"nrs": value}
