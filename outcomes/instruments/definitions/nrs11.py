"""NRS-11 pain intensity (code ``nrs11``): 0 = no pain to 10 = worst possible pain.

Farrar JT, Young JP, LaMoreaux L, Werth JL, Poole RM. Clinical importance of
changes in chronic pain intensity measured on an 11-point numerical pain rating
scale. Pain 2001;94:149-158. Public domain.
"""

from __future__ import annotations

from .base import InstrumentDefinition, Item, Option, ScoreSpec

NRS11 = InstrumentDefinition(
    code="nrs11",
    version="1.0",
    title="Pain intensity (NRS-11)",
    short_title="NRS-11",
    items=(
        Item(
            "pain",
            "Please rate your back pain by choosing the number that best describes your "
            "pain on average over the past 7 days.",
            (Option(0, "No pain"), Option(10, "Worst possible pain")),
            0, 10, kind="scale",
        ),
    ),
    scoring_version="1",
    licence="Numerical rating scale: public domain.",
    source="Farrar JT et al. Pain 2001;94:149-158.",
    recall_period="Average pain over the past 7 days.",
    scores=(
        # No ``loinc``: 72514-3 (pain severity, 0-10 verbal numeric rating) was not found in
        # a stored copy of LOINC's own pages when checked (issue 16); add it once it is.
        ScoreSpec("nrs", "NRS pain", 0, 10, "lower_is_better"),
    ),
)
