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
        # LOINC (issue 16): loinc.org/72514-3 itself is not among the stored copies. The
        # code and this long common name were read in a copy of the LOINC term
        # (healthassure.in/codes/loinc-72514-3-pain-severity-0-10-verbal-numeric-rating-
        # score-reported: status active, method "Reported", "Pain severity scale, where 0
        # is no pain and 10 is the worst pain imaginable") and in HL7 Belgium's FHIR
        # guide, whose value set names the same scale and points to loinc.org/72514-3
        # (build.fhir.org/ig/hl7-be/patient-monitoring/ValueSet-pain-scale.html).
        ScoreSpec("nrs", "NRS pain", 0, 10, "lower_is_better", loinc="72514-3",
                  loinc_display="Pain severity - 0-10 verbal numeric rating [Score] - Reported"),
    ),
)
