"""Questionnaire forms, built from the pure instrument definitions."""

from __future__ import annotations

import functools

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from outcomes.instruments.definitions import INSTRUMENTS
from outcomes.instruments.definitions.base import InstrumentDefinition
from outcomes.instruments.scoring import ScoringError, score


class ScaleRadioSelect(forms.widgets.ChoiceWidget):
    """A 0-10 rating as a row of large radio buttons in a fieldset.

    Not a ``RadioSelect`` subclass on purpose: crispy-forms renders those with
    its own vertical list, and a rating reads better as one row of buttons.
    """

    input_type = "radio"
    template_name = "survey/widgets/scale.html"
    option_template_name = "django/forms/widgets/radio_option.html"
    use_fieldset = True

    def id_for_label(self, id_, index=None):
        # Like RadioSelect: the legend labels the group, each button its own label.
        return "" if index is None else super().id_for_label(id_, index)


class InstrumentForm(forms.Form):
    """One instrument's items. ``complete=True`` requires what scoring needs."""

    definition: InstrumentDefinition

    def __init__(self, *args, definition: InstrumentDefinition, max_missing: int = 1,
                 complete: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        self.max_missing = max_missing
        self.complete = complete
        for number, item in enumerate(definition.items, start=1):
            label = f"{number}. {item.text}"
            if item.options and item.kind == "choice":
                self.fields[item.code] = forms.TypedChoiceField(
                    label=label, required=False, coerce=int, empty_value=None,
                    choices=[(o.value, o.label) for o in item.options],
                    widget=forms.RadioSelect,
                )
            elif item.max_value - item.min_value <= 10:
                anchors = {o.value: o.label for o in item.options}
                choices = [
                    (v, f"{v} – {anchors[v]}" if v in anchors else str(v))
                    for v in range(item.min_value, item.max_value + 1)
                ]
                self.fields[item.code] = forms.TypedChoiceField(
                    label=label, required=False, coerce=int, empty_value=None,
                    choices=choices, widget=ScaleRadioSelect,
                )
            else:
                self.fields[item.code] = forms.IntegerField(
                    label=label, required=False, min_value=item.min_value,
                    max_value=item.max_value,
                    widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
                    help_text=_("A whole number from %(low)s to %(high)s.")
                    % {"low": item.min_value, "high": item.max_value},
                )

    def answers(self) -> dict[str, int | None]:
        """Return the cleaned answers, item code to value (None = unanswered)."""
        return {code: self.cleaned_data.get(code) for code in self.fields}

    def clean(self):
        cleaned = super().clean()
        if not self.complete or self.errors:
            return cleaned
        answers = self.answers()
        blank = [code for code, value in answers.items() if value is None]
        allowed = self.max_missing if self.definition.code == "odi" else 0
        if len(blank) > allowed:
            if allowed:
                raise forms.ValidationError(ngettext(
                    "Please answer at least %(n)d of the %(total)d sections.",
                    "Please answer at least %(n)d of the %(total)d sections.",
                    len(answers) - allowed,
                ) % {"n": len(answers) - allowed, "total": len(answers)})
            for code in blank:
                self.add_error(code, _("Please choose an answer."))
            return cleaned
        try:
            options = {"max_missing": self.max_missing} if self.definition.code == "odi" else {}
            score(self.definition.code, answers, **options)
        except ScoringError as error:
            target = error.item if error.item in self.fields else None
            self.add_error(target, str(error.reason))
        return cleaned


@functools.lru_cache(maxsize=128)
def blank_page_html(code: str, version: str, language: str, max_missing: int) -> str:
    """The crispy-rendered fields of an unanswered instrument page (no patient data in it).

    Rendered once per process, language and instrument version (``version`` is part of
    the key): a deploy restarts the processes, so new wording or translations are never
    served stale. Call with the active language.
    """
    from crispy_forms.templatetags.crispy_forms_filters import as_crispy_form

    return as_crispy_form(InstrumentForm(definition=INSTRUMENTS[code], max_missing=max_missing))
