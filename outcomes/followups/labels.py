"""Time point names as patients read them, in their language.

A time point's ``label`` is the study team's name for it ("3 months"), written in the
language the staff pages use. A reminder or the patient's page names it in the
patient's language: the name the data manager gave for that language
(``TimePoint.patient_labels``), else the label translated here where it is one the
catalogue knows ("Baseline", or a number of days, weeks, months or years: the default
schedule's labels and their like), else the label as it is.
"""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext, ngettext

from .schedule import DurationUnit, label_duration


def _duration(number: int, unit: DurationUnit) -> str:
    forms = {
        DurationUnit.DAY: ngettext("%(n)d day", "%(n)d days", number),
        DurationUnit.WEEK: ngettext("%(n)d week", "%(n)d weeks", number),
        DurationUnit.MONTH: ngettext("%(n)d month", "%(n)d months", number),
        DurationUnit.YEAR: ngettext("%(n)d year", "%(n)d years", number),
    }
    return forms[unit] % {"n": number}


def translated_label(label: str, language: str) -> str:
    """Return ``label`` in ``language`` where the catalogue can say it, else ``label``.

    "3 months" → "3 meses", "Baseline" → "Inicio del estudio" in Spanish; "Post-op
    check" stays "Post-op check" (a name of the study's own: the data manager writes its
    translation, ``TimePoint.patient_labels``).
    """
    duration = label_duration(label)
    with translation.override(language):
        if duration is not None:
            return _duration(*duration)
        if label.strip().lower() == "baseline":
            return gettext("Baseline")
    return label
