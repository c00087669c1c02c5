"""Coordinator forms: enrolment, status changes, the patient list's filters, contact
details, forms typed in by staff."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS
from django.utils import formats, translation
from django.utils.dates import MONTHS, MONTHS_3, MONTHS_AP
from django.utils.functional import lazy
from django.utils.text import format_lazy

from outcomes.followups.models import Visit
from outcomes.followups.schedule import answered_date_problem, written_date
from outcomes.instruments.definitions.base import Item
from outcomes.instruments.models import Response
from outcomes.survey.forms import InstrumentForm

from .models import Contact, Enrolment, Patient, study_date_validators


def submit_button(label: str, *, style: str = "primary") -> Submit:
    """Return a crispy submit button styled ``btn-<style>`` and nothing else.

    crispy's ``Submit`` always carries ``btn-primary`` and appends ``css_class`` to
    it, so ``css_class="btn-outline-primary"`` gave both classes: the outline's blue
    text on the solid button's blue (1:1, no visible label).
    """
    button = Submit("submit", label)
    button.field_classes = f"btn btn-{style}"
    return button


EXAMPLE_DATE = dt.date(2026, 6, 1)


def _example_date() -> str:
    return formats.date_format(EXAMPLE_DATE)


example_date = lazy(_example_date, str)
"""The example every date box gives, in the page's one date format: "1 June 2026"."""


def month_numbers() -> dict[str, int]:
    """Return each month's names and abbreviations, in English and the page's language."""
    numbers: dict[str, int] = {}
    for language in dict.fromkeys(["en", translation.get_language() or "en"]):
        with translation.override(language):
            for names in (MONTHS, MONTHS_3, MONTHS_AP):
                for number, name in names.items():
                    numbers[str(name).lower().rstrip(".")] = number
    return numbers


class WrittenDateInput(forms.TextInput):
    """A date box that shows a date as every staff page prints it: 1 June 2026.

    A text box, not ``type="date"``: Chromium shows those in the browser's locale
    (mm/dd/yyyy in American English), another format than the page's own.
    """

    def __init__(self, attrs=None):
        super().__init__({"autocomplete": "off", "spellcheck": "false", **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, dt.date):
            return formats.date_format(value)
        return super().format_value(value)


class StudyDateField(forms.DateField):
    """A date typed as day, month name and year ("1 June 2026", "1 Jun 2026"), or ISO.

    Never an all-number form like 1/6/2026, which reads as 1 June to some and 6 January
    to others. Checked against the plausible study range (``study_date_validators``).
    """

    widget = WrittenDateInput

    def __init__(self, *, help_text="", **kwargs):
        kwargs.setdefault("validators", study_date_validators)
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("invalid", format_lazy(
            "Give the date as day, month and year, for example {}.", example_date()))
        example = format_lazy("For example {}.", example_date())
        super().__init__(help_text=format_lazy("{} {}", help_text, example) if help_text
                         else example, **kwargs)

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            written = written_date(value, month_numbers())
            if written is not None:
                return written
        return super().to_python(value)  # ISO, and the language's DATE_INPUT_FORMATS


class EnrolForm(forms.Form):
    code = forms.CharField(label="Study code", max_length=32,
                           help_text="Pseudonymous, unique in the study. Never a name.")
    arm = forms.ModelChoiceField(queryset=None)
    site = forms.ModelChoiceField(queryset=None)
    sex = forms.ChoiceField(choices=Patient.Sex.choices)
    age_at_enrolment = forms.IntegerField(label="Age (years)", min_value=0, max_value=130)
    bmi = forms.DecimalField(label="BMI", min_value=10, max_value=90, max_digits=4,
                             decimal_places=1, required=False)
    baseline_opioid_mme = forms.DecimalField(label="Opioid use (MME/day)", min_value=0,
                                             max_digits=7, decimal_places=2, required=False)
    enrolled_date = StudyDateField(label="Date enrolled")
    index_date = StudyDateField(
        help_text="Procedure date (treatment arm) or start of conventional care.",
    )
    email = forms.EmailField(required=False)
    mobile = forms.CharField(max_length=32, required=False)
    preferred_channel = forms.ChoiceField(choices=Contact.Channel.choices)
    language = forms.ChoiceField(choices=settings.LANGUAGES)

    def __init__(self, *args, study, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.study = study
        self.fields["arm"].queryset = study.arms.all()
        self.fields["arm"].label_from_instance = lambda arm: arm.name  # not "BMC-LBP/BMC"
        self.fields["site"].queryset = sites.filter(studies=study)
        if not self.is_bound:
            from outcomes.followups.services import study_today

            self.fields["enrolled_date"].initial = study_today(study)
        self.helper = FormHelper()
        self.helper.add_input(submit_button("Enrol and schedule visits"))

    def clean_code(self):
        code = self.cleaned_data["code"].strip()
        if Patient.objects.filter(study=self.study, code=code).exists():
            raise forms.ValidationError("This code is already used in the study.")
        return code

    def clean(self):
        data = super().clean()
        channel = data.get("preferred_channel")
        if channel == Contact.Channel.EMAIL and not data.get("email"):
            self.add_error("email", "An email address is needed for email reminders.")
        if channel == Contact.Channel.SMS and not data.get("mobile"):
            self.add_error("mobile", "A mobile number is needed for text reminders.")
        return data


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        label="New status", choices=Enrolment.Status.choices,
        error_messages={"required": "Choose a status.",
                        "invalid_choice": "Choose a status from the list."},
    )
    reason = forms.CharField(max_length=500, required=False,
                             help_text="Required to pause, withdraw or complete.")
    # Set by the confirmation page a withdrawal goes through (a second step, no script).
    confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False  # the template's form carries the action URL
        self.helper.add_input(submit_button("Change status", style="outline-primary"))

    def clean(self):
        data = super().clean()
        status, reason = data.get("status"), (data.get("reason") or "").strip()
        if status and status != Enrolment.Status.ACTIVE and not reason:
            # The service refuses it too; said here, before a withdrawal asks to confirm.
            self.add_error("reason", "Say why (kept in the audit history).")
        return data

    @property
    def asks_withdrawal(self) -> bool:
        """True if the form, valid, withdraws the patient (which is confirmed first)."""
        return self.cleaned_data.get("status") == Enrolment.Status.WITHDRAWN


class IndexDateForm(forms.Form):
    index_date = StudyDateField(label="New index date")
    reason = forms.CharField(max_length=500, help_text="Kept in the audit history.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.add_input(submit_button("Move the index date", style="outline-primary"))


class PatientFilterForm(forms.Form):
    """Search and filters of the patient list (GET): every field optional, combinable.

    Arms and sites are read once, as lists, for both the options and the check of
    what was asked, so the form costs two queries whatever the filters.
    """

    q = forms.CharField(label="Search", max_length=100, required=False,
                        widget=forms.SearchInput(attrs={"autocomplete": "off"}))
    arm = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": "This study has no such arm: choose one of the list."},
    )
    site = forms.ChoiceField(
        required=False,
        error_messages={"invalid_choice": "Not one of your sites: choose one of the list."},
    )
    status = forms.ChoiceField(
        label="Patient status", required=False,
        choices=[("", "Any status"), *Enrolment.Status.choices],
        error_messages={"invalid_choice": "Choose a status from the list."},
    )
    visit_state = forms.ChoiceField(
        label="Has a visit that is", required=False,
        choices=[("", "Any visit state"), *Visit.Status.choices],
        error_messages={"invalid_choice": "Choose a visit state from the list."},
    )

    def __init__(self, *args, study, sites, search_contact: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.arms = {arm.code: arm for arm in study.arms.order_by("order", "code")}
        self.sites = {site.code: site for site in
                      sites.filter(studies=study).order_by("name", "code")}
        self.fields["arm"].choices = [
            ("", "All arms"), *((code, arm.name) for code, arm in self.arms.items())]
        self.fields["site"].choices = [
            ("", "All my sites"), *((code, site.name) for code, site in self.sites.items())]
        self.fields["q"].help_text = (
            "Study code, or the patient's name, email or mobile." if search_contact
            else "Part of the study code.")

    def clean_arm(self):
        return self.arms.get(self.cleaned_data["arm"])

    def clean_site(self):
        return self.sites.get(self.cleaned_data["site"])

    def filters(self) -> dict:
        """Return the values that validated (an unknown arm or site is left out)."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {name: data.get(name) or default for name, default in (
            ("q", ""), ("arm", None), ("site", None), ("status", ""), ("visit_state", ""))}
class ContactForm(forms.ModelForm):
    """A patient's contact details, as coordinators edit them (saved by ``update_contact``)."""

    class Meta:
        model = Contact
        fields = ["full_name", "email", "mobile", "preferred_channel", "language"]
        labels = {"full_name": "Name", "email": "Email address", "mobile": "Mobile number",
                  "preferred_channel": "Send reminders by", "language": "Language of messages"}
        help_texts = {
            "email": "Needed for email reminders.",
            "mobile": "Needed for text messages, e.g. +44 7700 900123.",
            "language": "The language reminders are written in.",
        }
        widgets = {"email": forms.EmailInput(attrs={"autocomplete": "off"}),
                   "mobile": forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
                   "full_name": forms.TextInput(attrs={"autocomplete": "off"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.add_input(submit_button("Save contact details"))


class StaffEntryForm(forms.Form):
    """How and when a questionnaire typed in by staff was answered.

    With ``offer_blanks`` (questions a score needs were left blank), a box to enter the
    form with them blank, as on the sheet: those scores are then recorded as not
    scorable, with the reason (SPEC 3.7). Ticking it is a choice made on seeing which
    questions are blank, so the box appears only then.
    """

    source = forms.ChoiceField(
        label="How was it answered?", widget=forms.RadioSelect,
        choices=[(s.value, s.label) for s in Response.Source if s in Response.STAFF_SOURCES],
        error_messages={"required": "Choose paper form or telephone interview."},
    )
    answered_date = StudyDateField(
        label="Date answered", validators=[],
        help_text="The date on the paper form, or of the telephone call.",
        error_messages={"required": "Give the date the questionnaire was answered."},
    )

    def __init__(self, *args, today, enrolled, offer_blanks: bool = False,
                 blanks_refused: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.today, self.enrolled = today, enrolled
        self.blanks_refused = blanks_refused
        if offer_blanks:
            self.fields[KEEP_BLANKS] = forms.BooleanField(
                label="Enter the blank questions as left blank",
                required=False,
                help_text="A score that needs them is then recorded as not scorable, with "
                          "the reason; every other score is stored as usual.",
            )
        self.helper = FormHelper()
        self.helper.form_tag = False

    def clean_answered_date(self):
        answered = self.cleaned_data["answered_date"]
        problem = answered_date_problem(answered, today=self.today, enrolled=self.enrolled,
                                        written=formats.date_format)
        if problem:
            raise forms.ValidationError(problem)
        return answered

    def clean(self):
        cleaned = super().clean()
        if self.blanks_refused:
            self.add_error(KEEP_BLANKS, "Questions below are blank. Answer them, or tick this "
                                        "box if the patient left them blank.")
        return cleaned


KEEP_BLANKS = "keep_blanks"
"""The entry page's box that enters questions left blank on the sheet as blank."""


def keeps_blanks(data) -> bool:
    """True if the entry page was sent with its box to keep blank questions ticked."""
    return data is not None and data.get(KEEP_BLANKS) in ("on", "true", "1")


@dataclass(frozen=True)
class EntryQuestion:
    """One question of the staff entry page: its field, wrapper id and condition."""

    field: forms.BoundField
    anchor: str
    enable: tuple[tuple[str, str], ...]


class EnteredInstrumentForm(InstrumentForm):
    """The patient's questionnaire form, as staff type a paper or telephone form into it.

    The same fields and checks as the link's: questions a score needs are asked for,
    each blank one named. With ``keep_blanks`` (the coordinator has confirmed that the
    sheet has them blank) they are taken as blank instead, and the service records the
    score as not scorable (SPEC 3.7). A bad value is refused either way.
    """

    #: An answer typed into a question the sheet's other answers leave out is refused,
    #: naming the condition, not silently dropped: it may be a typing slip.
    clear_unasked = False

    def __init__(self, *args, keep_blanks: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if keep_blanks:
            self.complete = False  # the fields' own checks only: blanks are data here

    def question_number(self, item: Item) -> str:
        # Several questionnaires share the page: "Question 2 of Getting about now applies".
        return f"{super().question_number(item)} of {self.definition.short_title}"

    def entry_questions(self) -> list[EntryQuestion]:
        """Return the questions as the entry page lays them out: each field in a wrapper
        of its own, a conditional one carrying its condition for survey.js."""
        return [EntryQuestion(field=self[item.code], anchor=self.anchor(item.code),
                              enable=self.enable_attrs(item))
                for item in self.definition.items]

    @property
    def in_columns(self) -> bool:
        """Lay the questions out in columns (one or two questions read better in one)."""
        return len(self.fields) > 2

    @property
    def refused_blanks(self) -> bool:
        """True if the form was refused because questions a score needs are blank."""
        return self.complete and self.is_bound and any(
            code in self.errors and self.data.get(self.add_prefix(code)) in (None, "")
            for code in self.fields)


def error_summary(form: forms.Form, *, section: str,
                  instrument_forms=()) -> list[dict[str, str]]:
    """Return every error of a page's forms as ``{"text", "anchor"}``, in page order.

    ``section`` is the id of the element around ``form`` (for its non-field errors);
    ``instrument_forms`` holds ``(title, form)`` pairs that follow it. Each text names
    the field or question in words; each anchor is the id of the element holding it.
    """
    items = []

    def add(form, title: str, section: str) -> None:
        # The form's own errors first: they say what the field errors add up to.
        for name, errors in sorted(form.errors.items(), key=lambda e: e[0] != NON_FIELD_ERRORS):
            for error in errors:
                if name == NON_FIELD_ERRORS:
                    items.append({"text": f"{title}: {error}" if title else error,
                                  "anchor": section})
                else:
                    label = str(form[name].label).rstrip(".")
                    where = f"{title}, {label}" if title else label
                    items.append({"text": f"{where}: {error}",
                                  "anchor": f"div_{form[name].auto_id}"})

    add(form, "", section)
    for title, instrument_form in instrument_forms:
        add(instrument_form, title, f"instrument-{instrument_form.prefix}")
    return items
