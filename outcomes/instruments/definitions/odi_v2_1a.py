"""Oswestry Disability Index v2.1a (code ``odi``).

Fairbank JCT, Pynsent PB. The Oswestry Disability Index. Spine 2000;25(22):2940-52.
Ten sections, six statements each, scored 0 (first) to 5 (last).

Licence: Mapi Research Trust. The labels below are short paraphrases for
development and testing; the licensed wording must be obtained from Mapi
before use in a study.
"""

from __future__ import annotations

from .base import InstrumentDefinition, ScoreSpec, choice

SECTIONS = (
    choice("pain_intensity", "Pain intensity", (
        "No pain at the moment", "Very mild pain at the moment", "Moderate pain at the moment",
        "Fairly severe pain at the moment", "Very severe pain at the moment",
        "Worst imaginable pain at the moment")),
    choice("personal_care", "Personal care (washing, dressing)", (
        "Normal, no extra pain", "Normal, but very painful", "Slow and careful because painful",
        "Need some help, manage most", "Need help every day in most aspects",
        "Cannot dress, wash with difficulty, stay in bed")),
    choice("lifting", "Lifting", (
        "Heavy weights, no extra pain", "Heavy weights, but extra pain",
        "Pain stops heavy weights from the floor, can if well positioned",
        "Pain stops heavy weights, light to medium if well positioned",
        "Only very light weights", "Cannot lift or carry anything")),
    choice("walking", "Walking", (
        "Pain does not prevent walking any distance", "Pain prevents walking more than 1 mile",
        "Pain prevents walking more than 1/2 mile", "Pain prevents walking more than 100 yards",
        "Only with a stick or crutches", "In bed most of the time")),
    choice("sitting", "Sitting", (
        "Any chair, as long as I like", "Favourite chair only, as long as I like",
        "Pain prevents sitting more than 1 hour", "Pain prevents sitting more than 30 minutes",
        "Pain prevents sitting more than 10 minutes", "Pain prevents sitting at all")),
    choice("standing", "Standing", (
        "As long as I want, no extra pain", "As long as I want, but extra pain",
        "Pain prevents standing more than 1 hour", "Pain prevents standing more than 30 minutes",
        "Pain prevents standing more than 10 minutes", "Pain prevents standing at all")),
    choice("sleeping", "Sleeping", (
        "Sleep never disturbed by pain", "Sleep occasionally disturbed by pain",
        "Less than 6 hours of sleep because of pain", "Less than 4 hours of sleep because of pain",
        "Less than 2 hours of sleep because of pain", "Pain prevents sleep at all")),
    choice("sex_life", "Sex life (if applicable)", (
        "Normal, no extra pain", "Normal, some extra pain", "Nearly normal, very painful",
        "Severely restricted by pain", "Nearly absent because of pain",
        "Pain prevents any sex life")),
    choice("social_life", "Social life", (
        "Normal, no extra pain", "Normal, but increases pain",
        "No significant effect apart from energetic interests",
        "Restricted, I do not go out as often", "Restricted to my home",
        "No social life because of pain")),
    choice("travelling", "Travelling", (
        "Anywhere, no pain", "Anywhere, but extra pain", "Pain is bad, journeys over 2 hours",
        "Pain restricts journeys to under 1 hour", "Pain restricts to short necessary journeys",
        "Pain prevents travelling except for treatment")),
)

ODI = InstrumentDefinition(
    code="odi",
    version="2.1a",
    title="Oswestry Disability Index",
    short_title="ODI",
    items=SECTIONS,
    scoring_version="1",
    licence=("ODI v2.1a © Jeremy Fairbank; licensed by Mapi Research Trust. Short labels "
             "only: obtain the licensed wording from Mapi Research Trust for use in a study."),
    source="Fairbank JCT, Pynsent PB. Spine 2000;25(22):2940-52.",
    recall_period="For each section, choose the one statement that best describes you today.",
    scores=(
        # Percent of the maximum; bands upper-inclusive, as scoring.odi.BANDS (Fairbank 2000).
        # LOINC 97909-6 "Oswestry disability index score ODI", read on LOINC's own page
        # (loinc.org/97909-6: active; "reported as a percent"; member of the panel 97908-8
        # "Oswestry Disability Index"). LOINC's example unit is {score}; the value is a
        # percent of the maximum, so the unit stays %.
        ScoreSpec("odi", "ODI", 0, 100, "lower_is_better", unit="%", loinc="97909-6",
                  loinc_display="Oswestry disability index score ODI", bands=(
            (20, "minimal"), (40, "moderate"), (60, "severe"), (80, "crippled"),
            (100, "bed-bound"))),
    ),
)
