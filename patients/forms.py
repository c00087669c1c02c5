"""Coordinator forms: enrolment, status changes, and the patient list's filters."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings

from outcomes.followups.models import Visit

from .models import Contact, Enrolment, Patient, study_date_validators


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
    enrolled_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                                    validators=study_date_validators)
    index_date = forms.DateField(
        widget=forms.DateInput(attrs={"type": "date"}), validators=study_date_validators,
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
        self.fields["site"].queryset = sites.filter(studies=study)
        self.helper = FormHelper()
        self.helper.add_input(Submit("submit", "Enrol and schedule visits"))

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
    status = forms.ChoiceField(choices=Enrolment.Status.choices)
    reason = forms.CharField(max_length=500, required=False,
                             help_text="Required to pause, withdraw or complete.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False  # the template's form carries the action URL
        self.helper.add_input(Submit("submit", "Change status", css_class="btn-outline-primary"))


class IndexDateForm(forms.Form):
    index_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}),
                                 validators=study_date_validators)
    reason = forms.CharField(max_length=500, help_text="Kept in the audit history.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.add_input(Submit("submit", "Move the index date",
                                     css_class="btn-outline-primary"))


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
