"""The coordinator's workspace: worklists, patients, enrolment, status, resending links,
contact details, and questionnaires answered on paper or by telephone."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from outcomes.access import MANAGE_ENROLMENT, VIEW_CONTACT, VIEW_WORKLIST, requires
from outcomes.alerts.services import AlreadyAcknowledged, acknowledge_alert
from outcomes.audit.services import record_change
from outcomes.followups.models import Visit
from outcomes.followups.reminders import resend_link
from outcomes.followups.schedule import visit_name
from outcomes.followups.services import change_index_date, study_today
from outcomes.instruments.models import Response
from outcomes.instruments.scoring import ScoringError, describe_not_scorable
from outcomes.instruments.selectors import staff_entry, staff_entry_columns
from outcomes.instruments.services import AlreadyCompleted, enter_visit, entry_refusal
from outcomes.survey.selectors import NotReady, steps_for

from . import selectors
from .forms import (
    ContactForm,
    EnrolForm,
    EnteredInstrumentForm,
    IndexDateForm,
    PatientFilterForm,
    StaffEntryForm,
    StatusForm,
    error_summary,
    keeps_blanks,
)
from .models import Contact
from .services import enrol_patient, set_enrolment_status, update_contact

PAGE_SIZE = 25

# The patient list's legend: each visit state as the grid shows it, with what it means.
VISIT_STATE_LEGEND = (
    (Visit.Status.SCHEDULED, "window not open yet"),
    (Visit.Status.OPEN, "can be answered now"),
    (Visit.Status.COMPLETED, "answered"),
    (Visit.Status.MISSED, "window closed unanswered"),
    (Visit.Status.NOT_APPLICABLE, "not asked of this patient"),
)


@requires(VIEW_WORKLIST)
def dashboard(request, code: str):
    """What needs doing in a study: overdue, due, missed, upcoming, failed reminders."""
    study = selectors.study_for(request.user, code)
    today = study_today(study)
    names = [w.code for w in selectors.WORKLISTS]
    current = request.GET.get("list") if request.GET.get("list") in names else "overdue"
    page = Paginator(selectors.worklist(request.user, study, current, today),
                     PAGE_SIZE).get_page(request.GET.get("page"))
    attention = selectors.alerts_needing_attention(request.user, study)
    alerts = list(attention[:selectors.ALERTS_SHOWN])
    return render(request, "patients/dashboard.html", {
        "study": study,
        "alerts": alerts,
        "alert_count": (len(alerts) if len(alerts) < selectors.ALERTS_SHOWN
                        else attention.count()),
        "today": today,
        "worklists": selectors.WORKLISTS,
        "counts": selectors.worklist_counts(request.user, study, today),
        "current": current,
        "page": page,
        "rows": selectors.worklist_rows(page.object_list, study=study, today=today),
        "completion": selectors.completion_by_channel(request.user, study),
        "can_enrol": request.user.has_perm(MANAGE_ENROLMENT),
        # The failed-reminder list leads straight to the details that made it fail.
        "contact_links": current == "failed" and request.user.has_perms(
            [VIEW_CONTACT, MANAGE_ENROLMENT]),
    })


@requires(VIEW_WORKLIST)
def patient_list(request, code: str):
    """Every patient of the user's sites, searched and filtered, with each visit's state.

    Coordinators (``VIEW_CONTACT``) also search names, emails and mobiles and see
    each patient's name; every page showing names is one audit record listing whose.
    """
    study = selectors.study_for(request.user, code)
    show_contact = request.user.has_perm(VIEW_CONTACT)
    form = PatientFilterForm(request.GET, study=study, sites=selectors.sites_of(request.user),
                             search_contact=show_contact)
    filters = form.filters()
    enrolments = selectors.patient_list(request.user, study, **filters,
                                        search_contact=show_contact,
                                        with_contact_name=show_contact)
    page = Paginator(enrolments, PAGE_SIZE).get_page(request.GET.get("page"))
    timepoints = selectors.schedule_of(study)
    rows = selectors.patient_grid(page.object_list, timepoints)
    named = [row.enrolment.patient.code for row in rows
             if show_contact and row.enrolment.contact_name]
    if named:
        # Identifiable data was disclosed: one record for the page, naming whose.
        record_change(obj=study, action="view", actor=request.user,
                      reason="Contact names shown in the patient list",
                      after={"contact_names_shown": named})
    return render(request, "patients/patient_list.html", {
        "study": study,
        "form": form,
        "filtered": any(filters.values()) or bool(form.errors),
        "filters_open": any(filters[name] or form.has_error(name)
                            for name in ("arm", "site", "status", "visit_state")),
        "page": page,
        "rows": rows,
        "timepoints": timepoints,
        "states": VISIT_STATE_LEGEND,
        "show_contact": show_contact,
        "can_enrol": request.user.has_perm(MANAGE_ENROLMENT),
    })


@requires(VIEW_WORKLIST)
def patient(request, code: str, patient_code: str):
    """One patient's visits, reminders and their outcomes, status and history."""
    study = selectors.study_for(request.user, code)
    enrolment = selectors.enrolment_for(request.user, study, patient_code)
    return _patient_page(request, study, enrolment)


def _patient_page(request, study, enrolment, *, status_form: StatusForm | None = None,
                  index_form: IndexDateForm | None = None):
    """Render the patient page; a form given back bound shows its errors, summarised."""
    show_contact = request.user.has_perm(VIEW_CONTACT)
    contact = selectors.contact_of(enrolment) if show_contact else None
    if contact is not None:
        # Identifiable data was disclosed: say who saw it.
        record_change(obj=contact, action="view", actor=request.user)
    visits = list(selectors.patient_visits(enrolment).annotate(**staff_entry_columns()))
    today = study_today(study)
    for visit in visits:
        visit.staff_entry = staff_entry(vars(visit), timepoint=visit.timepoint.label,
                                        time_zone=study.time_zone)
        visit.can_enter = visit.accepts_entry(today)
    errors, errors_title = [], ""
    if status_form is not None and status_form.errors:
        errors = error_summary(status_form, section="status-form")
        errors_title = "The status was not changed. Please check:"
    elif index_form is not None and index_form.errors:
        errors = error_summary(index_form, section="index-date-form")
        errors_title = "The index date was not moved. Please check:"
    return render(request, "patients/patient.html", {
        "study": study,
        "enrolment": enrolment,
        "visits": visits,
        "contact": contact,
        "show_contact": show_contact,
        "status_form": status_form or StatusForm(initial={"status": enrolment.status}),
        # A withdrawn patient stays withdrawn (set_enrolment_status refuses any change);
        # a change refused, from a page opened before the withdrawal say, shows why.
        "can_change_status": (enrolment.status != enrolment.Status.WITHDRAWN
                              or status_form is not None),
        "index_form": index_form or IndexDateForm(initial={"index_date": enrolment.index_date}),
        # Only an active patient may be sent a link again (withdrawn: never; paused: not now).
        "can_resend": request.user.has_perm(MANAGE_ENROLMENT) and enrolment.receives_reminders,
        "history": selectors.patient_history(enrolment, show_contact=show_contact),
        "alerts": list(selectors.patient_alerts(enrolment)),
        "today": today,
        "errors": errors,
        "errors_title": errors_title,
    })


@requires(VIEW_WORKLIST)
@require_POST
def acknowledge(request, code: str, alert_id: int):
    """Acknowledge an answer needing attention, with an optional note (audited).

    Back to the page it was sent from: the patient's page, or the dashboard.
    """
    study = selectors.study_for(request.user, code)
    alert = selectors.alert_for(request.user, study, alert_id)
    patient_code = alert.enrolment.patient.code
    try:
        acknowledge_alert(alert=alert, actor=request.user,
                          note=request.POST.get("note", "")[:2000])
    except AlreadyAcknowledged:
        messages.info(request, f"The answer of {patient_code} was acknowledged already.")
    else:
        messages.success(request, f"The answer of {patient_code} is acknowledged.")
    if request.POST.get("back") == "patient":
        return redirect("patients:patient", code=study.code, patient_code=patient_code)
    return redirect("patients:dashboard", code=study.code)


@requires(MANAGE_ENROLMENT)
def enrol(request, code: str):
    """Enrol a patient at one of the coordinator's sites; visits are scheduled at once."""
    study = selectors.study_for(request.user, code)
    sites = selectors.sites_of(request.user)
    form = EnrolForm(request.POST or None, study=study, sites=sites)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            enrolment = enrol_patient(
                study=study, code=data["code"], arm=data["arm"], site=data["site"],
                enrolled_date=data["enrolled_date"], index_date=data["index_date"],
                actor=request.user, sex=data["sex"], age_at_enrolment=data["age_at_enrolment"],
                bmi=data["bmi"], baseline_opioid_mme=data["baseline_opioid_mme"],
                contact={"email": data["email"], "mobile": data["mobile"],
                         "preferred_channel": data["preferred_channel"],
                         "language": data["language"]},
            )
        except IntegrityError:
            form.add_error("code", "This code is already used in the study.")
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{enrolment.patient.code} is enrolled; visits scheduled.")
            return redirect("patients:patient", code=study.code,
                            patient_code=enrolment.patient.code)
    return render(request, "patients/enrol.html", {"study": study, "form": form})


@requires(MANAGE_ENROLMENT)
@require_POST
def change_status(request, code: str, patient_code: str):
    """Pause, resume, withdraw or complete a patient, with a reason.

    A withdrawal is confirmed on a second page saying what it does; a refused change
    shows the patient page again with the status and reason as chosen, the error at
    the field.
    """
    study = selectors.study_for(request.user, code)
    enrolment = selectors.enrolment_for(request.user, study, patient_code)
    form = StatusForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        if (form.asks_withdrawal and not data["confirmed"]
                and enrolment.status != enrolment.Status.WITHDRAWN):
            return render(request, "patients/withdraw.html", {
                "study": study, "enrolment": enrolment, "form": form,
                "consequences": selectors.withdrawal_consequences(enrolment),
            })
        try:
            changed = set_enrolment_status(enrolment=enrolment, status=data["status"],
                                           reason=data["reason"], actor=request.user)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{patient_code} is now "
                                      f"{changed.get_status_display().lower()}.")
            return redirect("patients:patient", code=code, patient_code=patient_code)
    return _patient_page(request, study, enrolment, status_form=form)


@requires(MANAGE_ENROLMENT)
@require_POST
def resend(request, code: str, patient_code: str, visit_id: int):
    """Send a visit's link again now."""
    study = selectors.study_for(request.user, code)
    enrolment = selectors.enrolment_for(request.user, study, patient_code)
    visit = get_object_or_404(Visit, pk=visit_id, enrolment=enrolment)
    try:
        resend = resend_link(visit=visit, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        link = f"The link to the {visit_name(visit.timepoint.label)}"
        if resend.held_until:
            messages.success(request, f"{link} waits for the end of quiet hours. "
                                      f"It will be sent {resend.when()}.")
        else:
            messages.success(request, f"{link} is being sent again.")
    return redirect("patients:patient", code=code, patient_code=patient_code)


@requires(MANAGE_ENROLMENT)
@require_POST
def move_index_date(request, code: str, patient_code: str):
    """Move the index date: visits not completed are rescheduled, with the reason audited."""
    study = selectors.study_for(request.user, code)
    enrolment = selectors.enrolment_for(request.user, study, patient_code)
    form = IndexDateForm(request.POST)
    if not form.is_valid():
        return _patient_page(request, study, enrolment, index_form=form)
    try:
        moved = change_index_date(enrolment=enrolment, index_date=form.cleaned_data["index_date"],
                                  reason=form.cleaned_data["reason"], actor=request.user)
    except ValidationError as error:
        # Refused, nothing changed: the page again, with what the coordinator typed.
        form.add_error(None, error)
        return _patient_page(request, study, enrolment, index_form=form)
    messages.success(request, f"Index date moved; {len(moved)} visit(s) rescheduled.")
    return redirect("patients:patient", code=code, patient_code=patient_code)


@requires(MANAGE_ENROLMENT)
def visit_entry(request, code: str, patient_code: str, visit_id: int):
    """Type in a questionnaire answered on paper or by telephone, through the patient's forms.

    Every instrument still to answer at the visit is on one page, with how and when it
    was answered; ``enter_visit`` scores and completes them exactly as the link does.
    """
    study = selectors.study_for(request.user, code)
    enrolment = selectors.enrolment_for(request.user, study, patient_code)
    visit = get_object_or_404(Visit.objects.select_related("timepoint"), pk=visit_id,
                              enrolment=enrolment)
    to_patient = redirect("patients:patient", code=study.code, patient_code=patient_code)
    today = study_today(study)
    if not visit.accepts_entry(today):
        messages.warning(request, entry_refusal(visit))
        return to_patient
    data = request.POST if request.method == "POST" else None
    try:
        all_steps = steps_for(visit)
    except NotReady as problem:
        messages.error(request, f"This visit cannot be typed in yet: {problem}")
        return to_patient
    steps = [step for step in all_steps if not step.completed]
    keep_blanks = keeps_blanks(data)
    instrument_forms = [
        (step.definition.title, EnteredInstrumentForm(
            data, prefix=step.instrument.code, definition=step.definition,
            max_missing=study.max_missing, keep_blanks=keep_blanks))
        for step in steps
    ]
    # Every form validated (no short circuit), so every error shows at once.
    valid = [form.is_valid() for _, form in instrument_forms]
    refused_blanks = any(form.refused_blanks for _, form in instrument_forms)
    entry_form = StaffEntryForm(data, today=today, enrolled=enrolment.enrolled_date,
                                offer_blanks=keep_blanks or refused_blanks,
                                blanks_refused=refused_blanks)
    valid.append(entry_form.is_valid())
    if data is not None and all(valid):
        try:
            responses = enter_visit(
                visit=visit, source=entry_form.cleaned_data["source"],
                answered_date=entry_form.cleaned_data["answered_date"], actor=request.user,
                answers={form.prefix: form.answers() for _, form in instrument_forms},
            )
        except AlreadyCompleted:  # a second click, or another coordinator first
            visit.refresh_from_db(fields=["status"])
            messages.warning(request, entry_refusal(visit))
            return to_patient
        except ValidationError as error:
            entry_form.add_error(None, error)
        except ScoringError as error:
            # At the question it names, or on its questionnaire (the item may be the
            # instrument's own code), else at the top.
            field = next((form for _, form in instrument_forms if error.item in form.fields),
                         None)
            owner = field or next((form for _, form in instrument_forms
                                   if form.prefix == error.item), entry_form)
            owner.add_error(error.item if field else None, f"Cannot be scored: {error.reason}.")
        else:
            source = Response.Source(entry_form.cleaned_data["source"]).label
            messages.success(request, f"{source} for the {visit.timepoint.label} visit "
                                      "entered; scores and responder status are updated.")
            for response in responses:
                for line in describe_not_scorable(response.not_scorable):
                    messages.warning(request, f"{line}. Responder rules on it are not "
                                              "evaluable.")
            return to_patient
    return render(request, "patients/visit_entry.html", {
        "study": study,
        "enrolment": enrolment,
        "visit": visit,
        "entry_form": entry_form,
        "instrument_forms": instrument_forms,
        "done": [step for step in all_steps if step.completed],
        # Questions asked only on a condition: survey.js hides them, and says so here.
        "has_conditions": any(step.definition.has_conditions for step in steps),
        "replaces_link_answers": any(step.response is not None and step.response.answers
                                     for step in steps),
        "errors": error_summary(entry_form, section="entry-details",
                                instrument_forms=instrument_forms),
    })


@requires(VIEW_CONTACT)
@requires(MANAGE_ENROLMENT)
def edit_contact(request, code: str, patient_code: str):
    """Edit a patient's name, email, mobile, preferred channel and language (audited)."""
    study = selectors.study_for(request.user, code)
    enrolment = selectors.enrolment_for(request.user, study, patient_code)
    contact = selectors.contact_of(enrolment)
    form = ContactForm(request.POST if request.method == "POST" else None,
                       instance=contact or Contact(patient=enrolment.patient))
    if request.method == "POST" and form.is_valid():
        try:
            saved = update_contact(patient=enrolment.patient, actor=request.user,
                                   **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            channel = saved.get_preferred_channel_display().lower()
            messages.success(request, f"Contact details of {patient_code} saved. Reminders "
                             f"still to come go by {channel}; to send an open visit's link "
                             "now, use Send the link again.")
            return redirect("patients:patient", code=study.code, patient_code=patient_code)
    elif request.method != "POST" and contact is not None:
        # Identifiable data was disclosed: say who saw it.
        record_change(obj=contact, action="view", actor=request.user)
    return render(request, "patients/contact.html", {
        "study": study, "enrolment": enrolment, "form": form, "is_new": contact is None,
        "errors": error_summary(form, section="contact-form"),
    })
