"""Coordinator forms: enrolment and status changes."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from crispy_forms.layout import Submit
from django import forms
from django.conf import settings

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
