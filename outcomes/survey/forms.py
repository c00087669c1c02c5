"""Questionnaire forms, built from the pure instrument definitions."""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping
from dataclasses import dataclass

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import SafeString
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from outcomes.instruments.definitions.base import InstrumentDefinition, Item, disabled_items
from outcomes.instruments.scoring import NotScorable, ScoringError, score

from .completeness import Missing, Need, missing_answers, skippable_items

WIDE_SCALE = 10
"""A scale item with more steps than this (the EQ VAS, 0-100) gets a slider, not buttons."""


class _SkipOption:
    """An extra "skip this question" answer, for items that may be left blank.

    Its value is empty, which the field cleans to None (unanswered). It is shown
    checked only when the patient chose it on the page being re-shown: a blank
    saved answer may as well never have been touched.
    """

    skip_label: str = ""

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if self.skip_label:
            skip_attrs = dict(context["widget"]["attrs"])
            skip_attrs["id"] = f"{skip_attrs.get('id', 'id_' + name)}_skip"
            if value == "":
                skip_attrs["checked"] = True
            context["widget"]["skip"] = {"label": self.skip_label, "attrs": skip_attrs}
        return context


class OptionRadioSelect(_SkipOption, forms.RadioSelect):
    """A list of statements: each a whole row to tap, at least 44 px high."""

    template_name = "survey/widgets/options.html"


class ScaleRadioSelect(_SkipOption, forms.widgets.ChoiceWidget):
    """A 0-10 rating as a grid of large number buttons in a fieldset.

    Not a ``RadioSelect`` subclass on purpose: crispy-forms (staff pages) renders
    those with its own vertical list, and a rating reads better as a grid. The
    anchors ("0 – No pain") are in each button's accessible name and in the hint.
    """

    input_type = "radio"
    template_name = "survey/widgets/scale.html"
    option_template_name = "django/forms/widgets/radio_option.html"
    use_fieldset = True
    anchors: dict[int, str] = {}

    def id_for_label(self, id_, index=None):
        # Like RadioSelect: the legend labels the group, each button its own label.
        return "" if index is None else super().id_for_label(id_, index)

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        option["anchor"] = self.anchors.get(value, "")
        return option


class AnalogueScale(forms.NumberInput):
    """A 0-100 scale (the EQ VAS): a vertical slider beside a plain number box.

    The number box carries the value and works alone without JavaScript; the
    slider (hidden until survey.js shows it) has no name, starts unset and writes
    the number box as it moves, so nothing is stored until the patient moves it.
    """

    template_name = "survey/widgets/analogue_scale.html"
    use_fieldset = True
    top_label = bottom_label = number_label = legend_id = ""
    ticks: tuple[int, ...] = ()

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"].update(
            top_label=self.top_label, bottom_label=self.bottom_label,
            number_label=self.number_label, legend_id=self.legend_id, ticks=self.ticks,
            low=self.attrs.get("min"), high=self.attrs.get("max"),
        )
        return context


@enum.unique
class QuestionKind(enum.StrEnum):
    """How a question is answered on the page."""

    CHOICE = "choice"
    """A list of statements."""
    SCALE = "scale"
    """A 0-10 grid of number buttons."""
    ANALOGUE = "analogue"
    """A 0-100 slider with a number box (the EQ VAS)."""


@dataclass(frozen=True)
class Question:
    """One item as the page presents it: everything the template shows, computed here."""

    code: str
    number: int
    kind: QuestionKind
    legend: str
    anchor: str
    """The id of the question's wrapper: what error links point at."""
    legend_id: str
    hint_lines: tuple[str, ...]
    hint_id: str
    error: str
    error_id: str
    described_by: str
    """The ids of the hint and the error, for ``aria-describedby``."""
    widget: SafeString
    condition: str = ""
    """When a conditional item is asked, in words ("Answer only if ..."); else ""."""
    condition_id: str = ""
    enable: tuple[tuple[str, str], ...] = ()
    """The condition as ``data-enable-*`` attributes, for static/js/survey.js."""


@dataclass(frozen=True)
class ErrorLink:
    """One line of the error summary: a message naming the question, and where it is."""

    href: str
    text: str


def question_kind(item: Item) -> QuestionKind:
    """Return how ``item`` is answered: statements, a 0-10 grid or a 0-100 slider."""
    if item.options and item.kind == "choice":
        return QuestionKind.CHOICE
    if item.max_value - item.min_value <= WIDE_SCALE:
        return QuestionKind.SCALE
    return QuestionKind.ANALOGUE


def question_name(item: Item) -> str:
    """Return an item's wording, short enough for an error message."""
    return Truncator(item.text.rstrip(" :")).words(15, truncate="…")


def problem_text(item: Item, missing: Missing) -> str:
    """Return what the patient must do about ``item``, in plain words (lower case)."""
    if missing.need == Need.FEWER_BLANKS and missing.not_applicable:
        # The engine counts a "not applicable" answer against the blanks allowed.
        return ngettext(
            "choose an answer: at most %(allowed)d of the %(total)d questions may be left "
            "blank or answered “not applicable”, and %(blank)d are",
            "choose an answer: at most %(allowed)d of the %(total)d questions may be left "
            "blank or answered “not applicable”, and %(blank)d are",
            missing.allowed,
        ) % {"allowed": missing.allowed, "total": missing.total, "blank": missing.blank}
    if missing.need == Need.FEWER_BLANKS:
        return ngettext(
            "choose an answer: at most %(allowed)d of the %(total)d questions may be left "
            "blank, and %(blank)d are",
            "choose an answer: at most %(allowed)d of the %(total)d questions may be left "
            "blank, and %(blank)d are",
            missing.allowed,
        ) % {"allowed": missing.allowed, "total": missing.total, "blank": missing.blank}
    bounds = {"low": item.min_value, "high": item.max_value}
    kind = question_kind(item)
    if kind == QuestionKind.CHOICE:
        return _("choose an answer")
    if kind == QuestionKind.SCALE:
        return _("choose a number from %(low)d to %(high)d") % bounds
    return _("set the scale, or type a number from %(low)d to %(high)d") % bounds


def condition_note(definition: InstrumentDefinition, item: Item) -> str:
    """Return when a conditional item is asked, as the page says it to a person.

    "Answer only if you answered “Yes” to question 1." It is on the page whatever the
    browser does: without JavaScript every question shows, and this says which apply.
    """
    condition = item.enable_when
    if condition is None:
        return ""
    number = definition.item_codes.index(condition.item) + 1
    ref = definition.item(condition.item)
    labels = {o.value: o.label for o in ref.options}

    def quoted(value: int) -> str:
        return f"“{labels.get(value, str(value))}”"

    if condition.operator == "exists":
        text = (_("Answer only if you answered question %(n)d.") if condition.exists
                else _("Answer only if you left question %(n)d blank."))
        return text % {"n": number}
    answers = _(" or ").join(quoted(v) for v in condition.answers)
    if condition.operator == "!=":
        return _("Answer only if you gave question %(n)d an answer other than %(answers)s.") % {
            "n": number, "answers": answers}
    return _("Answer only if you answered %(answers)s to question %(n)d.") % {
        "n": number, "answers": answers}


def summary_text(definition: InstrumentDefinition, item: Item, problem: str) -> str:
    """Return an error summary line: questionnaire, question, what to do."""
    return _("%(questionnaire)s: %(question)s — %(problem)s") % {
        "questionnaire": definition.short_title, "question": question_name(item),
        "problem": problem,
    }


class InstrumentForm(forms.Form):
    """One instrument's items. ``complete=True`` requires what scoring needs."""

    definition: InstrumentDefinition

    def __init__(self, *args, definition: InstrumentDefinition,
                 max_missing: Mapping[str, int] | None = None, complete: bool = True,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        # The study's blanks allowed per score (Study.max_missing); {}: the definitions'.
        self.max_missing = dict(max_missing or {})
        self.complete = complete
        skippable = skippable_items(definition, self.max_missing)
        for number, item in enumerate(definition.items, start=1):
            self.fields[item.code] = self._field(number, item, item.code in skippable)

    def _field(self, number: int, item: Item, skippable: bool) -> forms.Field:
        label = f"{number}. {item.text}"
        kind = question_kind(item)
        if kind == QuestionKind.CHOICE:
            widget = OptionRadioSelect()
            field = forms.TypedChoiceField(
                label=label, required=False, coerce=int, empty_value=None,
                choices=[(o.value, o.label) for o in item.options], widget=widget,
                error_messages={"invalid_choice": _("choose one of the answers shown")},
            )
        elif kind == QuestionKind.SCALE:
            widget = ScaleRadioSelect()
            widget.anchors = {o.value: o.label for o in item.options}
            field = forms.TypedChoiceField(
                label=label, required=False, coerce=int, empty_value=None,
                choices=[(v, str(v)) for v in range(item.min_value, item.max_value + 1)],
                widget=widget,
                error_messages={"invalid_choice": _("choose one of the numbers shown")},
            )
        else:
            bounds = {"low": item.min_value, "high": item.max_value}
            widget = AnalogueScale(attrs={"class": "form-control survey-vas-input",
                                           "inputmode": "numeric"})
            anchors = {o.value: o.label for o in item.options}
            widget.top_label = anchors.get(item.max_value, "")
            widget.bottom_label = anchors.get(item.min_value, "")
            widget.number_label = _("Your answer, from %(low)d to %(high)d") % bounds
            tick = (item.max_value - item.min_value) / 10
            widget.ticks = tuple(round(item.max_value - n * tick) for n in range(11))
            out_of_range = _("type a whole number from %(low)d to %(high)d") % bounds
            field = forms.IntegerField(
                label=label, required=False, min_value=item.min_value,
                max_value=item.max_value, widget=widget,
                error_messages={"invalid": out_of_range, "min_value": out_of_range,
                                "max_value": out_of_range, "step_size": out_of_range},
            )
        if skippable and isinstance(field.widget, _SkipOption):
            field.widget.skip_label = _("Skip this question")
        # The staff entry page (crispy forms) shows it as the field's help text.
        field.help_text = condition_note(self.definition, item)
        return field

    def answers(self) -> dict[str, int | None]:
        """Return the cleaned answers, item code to value (None = unanswered)."""
        return {code: self.cleaned_data.get(code) for code in self.fields}

    #: What happens to an answer given to a question its condition leaves out: the
    #: patient's form clears it (the page hid it, or said to skip it); staff entry
    #: refuses it instead (``EnteredInstrumentForm``), so a typing slip is seen.
    clear_unasked = True

    def clean(self):
        cleaned = super().clean()
        self._unasked(cleaned)
        if not self.complete or self.errors:
            return cleaned
        answers = self.answers()
        missing = missing_answers(self.definition, answers, max_missing=self.max_missing)
        for gap in missing:
            self.add_error(gap.code, problem_text(self.definition.item(gap.code), gap))
        if missing:
            return cleaned
        try:
            score(self.definition, answers, max_missing=self.max_missing)
        except NotScorable:
            pass  # answers too blank for any score are data (SPEC 3.7): the items allow it
        except ScoringError as error:
            # Not reached with the checks above; if scoring ever refuses more, say where.
            target = error.item if error.item in self.fields else None
            self.add_error(target, _("check this answer"))
        return cleaned

    def _unasked(self, cleaned: dict) -> None:
        """Clear (or refuse) the answers to questions the other answers leave out."""
        if not self.definition.has_conditions:
            return
        for code in sorted(disabled_items(self.definition, cleaned),
                           key=self.definition.item_codes.index):
            if cleaned.get(code) is None or self.clear_unasked:
                cleaned[code] = None
            else:
                item = self.definition.item(code)
                self.add_error(code, _("leave this blank. %(note)s") % {
                    "note": condition_note(self.definition, item).rstrip(".")})

    def questions(self) -> list[Question]:
        """Return the page's items as the template shows them."""
        questions = []
        for number, item in enumerate(self.definition.items, start=1):
            bound = self[item.code]
            widget = bound.field.widget
            ids = {part: f"{bound.auto_id}-{part}" for part in ("legend", "hint", "error")}
            kind = question_kind(item)
            hints: tuple[str, ...] = ()
            if kind == QuestionKind.ANALOGUE:
                widget.legend_id = ids["legend"]
            elif kind == QuestionKind.SCALE:
                hints = tuple(f"{v} = {label}" for v, label in sorted(widget.anchors.items()))
            error = capfirst(bound.errors[0]) + "." if bound.errors else ""
            condition = condition_note(self.definition, item)
            condition_id = f"{bound.auto_id}-condition"
            ids["condition"] = condition_id
            described_by = " ".join(
                ids[part] for part, shown in (("condition", condition), ("hint", hints),
                                              ("error", error)) if shown)
            # A radio group is described on its fieldset; the number box on itself too.
            attrs = ({"aria-describedby": described_by}
                     if kind == QuestionKind.ANALOGUE and error else {})
            questions.append(Question(
                code=item.code, number=number, kind=kind, legend=bound.label,
                anchor=self.anchor(item.code), legend_id=ids["legend"], hint_lines=hints,
                hint_id=ids["hint"], error=error, error_id=ids["error"],
                described_by=described_by, widget=SafeString(bound.as_widget(attrs=attrs)),
                condition=condition, condition_id=condition_id if condition else "",
                enable=self.enable_attrs(item),
            ))
        return questions

    def anchor(self, code: str) -> str:
        """Return the id of the element around the question ``code`` (``q-<code>``).

        With a prefix (staff entry puts several questionnaires on one page), the
        prefix is in it too: ``q-odi-walking``.
        """
        return f"q-{self.add_prefix(code)}"

    def question_number(self, item: Item) -> str:
        """Return how the live region names ``item`` when it appears or goes ("3")."""
        return str(self.definition.item_codes.index(item.code) + 1)

    def enable_attrs(self, item: Item) -> tuple[tuple[str, str], ...]:
        """Return ``item``'s condition as the ``data-enable-*`` attributes survey.js reads."""
        condition = item.enable_when
        if condition is None:
            return ()
        return (("data-enable-question", self.anchor(condition.item)),
                ("data-enable-name", self[condition.item].html_name),
                ("data-enable-operator", condition.operator),
                ("data-enable-answers", " ".join(map(str, condition.answers))),
                ("data-enable-exists", "true" if condition.exists else "false"),
                ("data-enable-number", self.question_number(item)))

    def error_links(self) -> list[ErrorLink]:
        """Return the error summary's lines for this page's fields, in page order."""
        return [
            ErrorLink(f"#q-{item.code}", summary_text(self.definition, item, error))
            for item in self.definition.items for error in self.errors.get(item.code, ())
        ]


def render_questions(form: InstrumentForm) -> SafeString:
    """Return the HTML of a form's questions (the part of the page the cache may hold)."""
    return SafeString(render_to_string("survey/_questions.html", {"questions": form.questions()}))


@functools.lru_cache(maxsize=128)
def blank_page_html(definition: InstrumentDefinition, language: str,
                    max_missing: tuple[tuple[str, int], ...]) -> str:
    """The rendered questions of an unanswered instrument page (no patient data in it).

    Rendered once per process, language and definition (the definition itself is part
    of the key, compared by value: a version replaced before anyone answered it is
    rendered afresh); a deploy restarts the processes, so new translations are never
    served stale. ``max_missing``, the study's ``(score key, blanks allowed)`` pairs,
    decides which questions offer "Skip this question". Call with the active language.
    """
    return render_questions(InstrumentForm(definition=definition,
                                           max_missing=dict(max_missing)))


__all__ = ["ErrorLink", "InstrumentForm", "Question", "blank_page_html", "render_questions"]
