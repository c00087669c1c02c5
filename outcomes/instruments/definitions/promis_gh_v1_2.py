"""PROMIS Global Health v1.2, the Global-10 (code ``promis_gh``).

Hays RD, Bjorner JB, Revicki DA, Spritzer KL, Cella D. Development of physical
and mental health summary scores from the PROMIS global items. Qual Life Res
2009;18:873-880. Free to use, © PROMIS Health Organization. Items in form order,
response scores as printed on the v1.2 form.
"""

from __future__ import annotations

from .base import InstrumentDefinition, Item, Option, ScoreSpec, choice

EXCELLENT_POOR = ("Excellent", "Very good", "Good", "Fair", "Poor")

PROMIS_GH = InstrumentDefinition(
    code="promis_gh",
    version="1.2",
    title="PROMIS Global Health",
    short_title="PROMIS GH",
    items=(
        choice("global01", "In general, would you say your health is:", EXCELLENT_POOR,
               first=1, descending=True),
        choice("global02", "In general, would you say your quality of life is:",
               EXCELLENT_POOR, first=1, descending=True),
        choice("global03", "In general, how would you rate your physical health?",
               EXCELLENT_POOR, first=1, descending=True),
        choice("global04", "In general, how would you rate your mental health, including "
               "your mood and your ability to think?", EXCELLENT_POOR, first=1, descending=True),
        choice("global05", "In general, how would you rate your satisfaction with your social "
               "activities and relationships?", EXCELLENT_POOR, first=1, descending=True),
        choice("global09r", "In general, please rate how well you carry out your usual social "
               "activities and roles. (This includes activities at home, at work and in your "
               "community, and responsibilities as a parent, child, spouse, employee, friend, "
               "etc.)", EXCELLENT_POOR, first=1, descending=True),
        choice("global06", "To what extent are you able to carry out your everyday physical "
               "activities such as walking, climbing stairs, carrying groceries, or moving a "
               "chair?", ("Completely", "Mostly", "Moderately", "A little", "Not at all"),
               first=1, descending=True),
        choice("global10r", "In the past 7 days, how often have you been bothered by emotional "
               "problems such as feeling anxious, depressed or irritable?",
               ("Never", "Rarely", "Sometimes", "Often", "Always"), first=1, descending=True),
        choice("global08r", "In the past 7 days, how would you rate your fatigue on average?",
               ("None", "Mild", "Moderate", "Severe", "Very severe"), first=1, descending=True),
        Item(
            "global07r",
            "In the past 7 days, how would you rate your pain on average?",
            (Option(0, "No pain"), Option(10, "Worst imaginable pain")),
            0, 10, kind="scale",
        ),
    ),
    scoring_version="1",
    licence="PROMIS Global Health v1.2 © 2008-2021 PROMIS Health Organization; free to use.",
    source="Hays RD et al. Qual Life Res 2009;18:873-880; PROMIS Global Health scoring manual.",
    scores=(
        # LOINC (issue 16): loinc.org's own pages for these two codes are not among the
        # stored copies; both codes, with these long common names, were read in CMS's
        # eCQM CMS90 (functional status assessments for heart failure), whose CQL declares
        # them: github.com/cqframework/ecqm-content-qicore-2024, input/cql/
        # FunctionalStatusAssessmentsforHeartFailureFHIR.cql, and eCQI's CMS90v11 table
        # (ecqi.healthit.gov/ecqm/ep/2022/cms090v11). A copy of the LOINC term for
        # 71971-6 (healthassure.in/codes/loinc-71971-6-…) gives its valid range as
        # 16.2 to 67.7, the table's ends below.
        ScoreSpec("gph_t", "PROMIS physical health (T-score)", 16.2, 67.7, "higher_is_better",
                  unit="{T-score}", loinc="71971-6",
                  loinc_display="PROMIS-10 Global Physical Health (GPH) score T-score"),
        ScoreSpec("gmh_t", "PROMIS mental health (T-score)", 21.2, 67.6, "higher_is_better",
                  unit="{T-score}", loinc="71969-0",
                  loinc_display="PROMIS-10 Global Mental Health (GMH) score T-score"),
    ),
)
