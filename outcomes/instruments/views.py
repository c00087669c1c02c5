"""Staff pages for responses: correction with a reason."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from outcomes.access import CORRECT_RESPONSE, requires
from outcomes.audit.services import history
from outcomes.survey.forms import InstrumentForm

from .definitions import INSTRUMENTS
from .models import Response
from .scoring import ScoringError
from .services import NotCompleted, correct_response, void_response


class CorrectionForm(InstrumentForm):
    reason = forms.CharField(
        label=_("Reason for the correction"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the audit history, e.g. 'paper form re-checked: section 4 was 2'."),
    )

    def answers(self):
        return {code: self.cleaned_data.get(code) for code in self.definition.item_codes}


def responses_in_scope(user):
    """Return the responses a staff user may see: those of their sites (all for superusers)."""
    queryset = Response.objects.select_related(
        "instrument", "visit__timepoint", "visit__enrolment__patient", "visit__enrolment__study",
    )
    if user.is_superuser:
        return queryset
    return queryset.filter(visit__enrolment__site__staff=user)


def _already_changed(request, response: Response):
    """Say what became of a response changed meanwhile (a double click, a colleague)."""
    state = Response.objects.filter(pk=response.pk).values_list("state", flat=True).first()
    label = Response.State(state).label.lower() if state else _("changed")
    messages.warning(request, _(
        "This response was already %(state)s, so nothing more was changed. Its history "
        "is on the patient's outcomes page.") % {"state": label})
    return redirect("patients:outcomes", code=response.visit.enrolment.study.code,
                    patient_code=response.visit.enrolment.patient.code)


@requires(CORRECT_RESPONSE)
def correct(request, pk: int):
    """Correct a completed response: new answers, a reason, an audit record."""
    response = get_object_or_404(responses_in_scope(request.user), pk=pk)
    if response.state != Response.State.COMPLETED:
        return _already_changed(request, response)
    definition = INSTRUMENTS[response.instrument.code]
    study = response.visit.enrolment.study
    if request.method == "POST":
        form = CorrectionForm(request.POST, definition=definition,
                              max_missing=study.odi_max_missing)
        if form.is_valid():
            try:
                correct_response(response=response, answers=form.answers(),
                                 reason=form.cleaned_data["reason"], actor=request.user)
            except ScoringError as error:
                form.add_error(None, str(error))
            except NotCompleted:  # a second click, or a colleague, got there first
                return _already_changed(request, response)
            else:
                messages.success(request, _("The correction is saved, with its reason."))
                return redirect("patients:outcomes", code=study.code,
                                patient_code=response.visit.enrolment.patient.code)
    else:
        form = CorrectionForm(initial=response.answers, definition=definition,
                              max_missing=study.odi_max_missing)
    return render(request, "instruments/correct.html", {
        "response": response, "form": form, "history": history(response)[:20],
        "void_form": VoidForm(),
    })


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for voiding"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the audit history, e.g. 'entered for the wrong patient'."),
    )


@requires(CORRECT_RESPONSE)
@require_POST
def void(request, pk: int):
    """Void a completed response with a reason: kept, audited, left out of the results."""
    response = get_object_or_404(responses_in_scope(request.user), pk=pk)
    if response.state != Response.State.COMPLETED:
        return _already_changed(request, response)
    form = VoidForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason to void the response."))
        return redirect("response-correct", pk=pk)
    try:
        void_response(response=response, reason=form.cleaned_data["reason"],
                      actor=request.user)
    except NotCompleted:
        return _already_changed(request, response)
    messages.success(request, _("The response is voided, with its reason."))
    return redirect("patients:outcomes", code=response.visit.enrolment.study.code,
                    patient_code=response.visit.enrolment.patient.code)
