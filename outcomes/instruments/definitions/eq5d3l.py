"""EQ-5D-3L (code ``eq5d3l``): five dimensions at three levels, and the EQ VAS.

© EuroQol Research Foundation. Use requires registration with EuroQol; the
labels below are short paraphrases, and translations come only from EuroQol.
"""

from __future__ import annotations

from .base import InstrumentDefinition, Item, Option, ScoreSpec, choice

DIMENSIONS = ("mobility", "self_care", "usual_activities", "pain_discomfort",
              "anxiety_depression")

EQ5D3L = InstrumentDefinition(
    code="eq5d3l",
    version="1.0",
    title="EQ-5D-3L health questionnaire",
    short_title="EQ-5D-3L",
    items=(
        choice("mobility", "Mobility", (
            "No problems in walking about", "Some problems in walking about",
            "Confined to bed"), first=1),
        choice("self_care", "Self-care", (
            "No problems with self-care", "Some problems washing or dressing myself",
            "Unable to wash or dress myself"), first=1),
        choice("usual_activities", "Usual activities (work, study, housework, family or leisure)", (
            "No problems with my usual activities",
            "Some problems with performing my usual activities",
            "Unable to perform my usual activities"), first=1),
        choice("pain_discomfort", "Pain / discomfort", (
            "No pain or discomfort", "Moderate pain or discomfort",
            "Extreme pain or discomfort"), first=1),
        choice("anxiety_depression", "Anxiety / depression", (
            "Not anxious or depressed", "Moderately anxious or depressed",
            "Extremely anxious or depressed"), first=1),
        Item(
            "vas",
            "Your health today on a scale from 0 (worst imaginable health) to 100 "
            "(best imaginable health)",
            (Option(0, "Worst imaginable health"), Option(100, "Best imaginable health")),
            0, 100, kind="scale",
        ),
    ),
    scoring_version="1",
    licence=("EQ-5D™ is a trade mark of the EuroQol Research Foundation. Short labels only: "
             "register with EuroQol for the licensed wording and translations."),
    source="EuroQol Group. Health Policy 1990;16:199-208.",
    recall_period="Choose the statement that best describes your health TODAY.",
    scores=(
        # No ``loinc``: no LOINC term for an EQ-5D-3L index or the EQ VAS was found in the
        # stored copies of LOINC's pages, nor in a FHIR package (issue 16; a German PRO
        # guide codes the EQ-5D-5L scores in SNOMED CT instead). Left out, not guessed.
        ScoreSpec("eq5d_index_uk", "EQ-5D index (UK)", -0.594, 1, "higher_is_better", 3),
        ScoreSpec("eq5d_index_us", "EQ-5D index (US)", -0.109, 1, "higher_is_better", 3),
        ScoreSpec("eq5d_vas", "EQ VAS", 0, 100, "higher_is_better"),
    ),
)
