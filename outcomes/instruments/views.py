"""Staff pages for responses: correction with a reason, or a void that says what follows."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from outcomes.access import CORRECT_RESPONSE, requires
from outcomes.followups.services import study_today
from outcomes.survey.forms import InstrumentForm, render_questions

from .models import Response
from .scoring import ScoringError
from .selectors import void_consequence
from .services import NotCompleted, correct_response, void_response
from .stored import definition_of


class CorrectionForm(InstrumentForm):
    """The corrected answers: the patient's own form, with the same checks."""


class CorrectionReasonForm(forms.Form):
    """Why the answers change; a form of its own, so the answers are checked either way."""

    reason = forms.CharField(
        label=_("Reason for the correction"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the audit history, e.g. 'paper form re-checked: section 4 was 2'."),
        error_messages={"required": _("Say why the answers are corrected.")},
    )


class VoidForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for voiding"), max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the audit history, e.g. 'entered for the wrong patient'."),
        error_messages={"required": _("Say why the response is voided.")},
    )

    def __init__(self, *args, **kwargs):
        # Its own ids beside the correction's "reason" on the same page.
        super().__init__(*args, auto_id="void_%s", **kwargs)


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


def _field_errors(form: forms.Form, anchor: str) -> list[dict[str, str]]:
    """Return a plain form's errors for the summary, each naming its field in words."""
    items = []
    for name, errors in form.errors.items():
        for error in errors:
            if name == NON_FIELD_ERRORS:
                items.append({"text": error, "anchor": anchor})
            else:
                items.append({"text": f"{form.fields[name].label}: {error}",
                              "anchor": f"div_{form[name].auto_id}"})
    return items


def _page(request, response: Response, *, form: CorrectionForm, reason_form, void_form,
          status: int = 200):
    from patients.selectors import response_history

    study = response.visit.enrolment.study
    errors = [
        *({"text": link.text, "anchor": link.href.lstrip("#")} for link in form.error_links()),
        *({"text": str(error), "anchor": "correction-answers"}
          for error in form.non_field_errors()),
        *_field_errors(reason_form, "correction-form"),
    ]
    return render(request, "instruments/correct.html", {
        "study": study,
        "response": response,
        "questions": render_questions(form),
        "form": form,
        "reason_form": reason_form,
        "void_form": void_form,
        "errors": errors,
        "void_errors": _field_errors(void_form, "void-form"),
        "void_consequence": void_consequence(response, today=study_today(study)),
        "history": response_history(response),
    }, status=status)


@requires(CORRECT_RESPONSE)
def correct(request, pk: int):
    """Correct a completed response: new answers, a reason, an audit record."""
    response = get_object_or_404(responses_in_scope(request.user), pk=pk)
    if response.state != Response.State.COMPLETED:
        return _already_changed(request, response)
    definition = definition_of(response.instrument)
    study = response.visit.enrolment.study
    if request.method != "POST":
        return _page(request, response, void_form=VoidForm(), reason_form=CorrectionReasonForm(),
                     form=CorrectionForm(initial=response.answers, definition=definition,
                                         max_missing=study.max_missing))
    form = CorrectionForm(request.POST, definition=definition, max_missing=study.max_missing)
    reason_form = CorrectionReasonForm(request.POST)
    # Both checked (no short circuit), so every error shows at once.
    if all([form.is_valid(), reason_form.is_valid()]):
        try:
            correct_response(response=response, answers=form.answers(),
                             reason=reason_form.cleaned_data["reason"], actor=request.user)
        except ScoringError as error:
            form.add_error(error.item if error.item in form.fields else None,
                           _("cannot be scored: %(reason)s") % {"reason": error.reason})
        except NotCompleted:  # a second click, or a colleague, got there first
            return _already_changed(request, response)
        else:
            messages.success(request, _("The correction is saved, with its reason."))
            return redirect("patients:outcomes", code=study.code,
                            patient_code=response.visit.enrolment.patient.code)
    return _page(request, response, form=form, reason_form=reason_form, void_form=VoidForm())


@requires(CORRECT_RESPONSE)
@require_POST
def void(request, pk: int):
    """Void a completed response with a reason: kept, audited, left out of the results."""
    response = get_object_or_404(responses_in_scope(request.user), pk=pk)
    if response.state != Response.State.COMPLETED:
        return _already_changed(request, response)
    form = VoidForm(request.POST)
    if not form.is_valid():
        study = response.visit.enrolment.study
        return _page(request, response, void_form=form, reason_form=CorrectionReasonForm(),
                     form=CorrectionForm(initial=response.answers,
                                         definition=definition_of(response.instrument),
                                         max_missing=study.max_missing))
    try:
        void_response(response=response, reason=form.cleaned_data["reason"],
                      actor=request.user)
    except NotCompleted:
        return _already_changed(request, response)
    messages.success(request, _("The response is voided, with its reason."))
    return redirect("patients:outcomes", code=response.visit.enrolment.study.code,
                    patient_code=response.visit.enrolment.patient.code)
