"""The patient's questionnaire, reached by a private link: no account, no password."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from outcomes.access import public
from outcomes.clients import client_ip
from outcomes.followups.services import study_today
from outcomes.instruments.scoring import ScoringError
from outcomes.instruments.services import AlreadyCompleted, save_answers, submit_visit

from .completeness import minutes_needed, missing_answers, resume_number
from .display import contact_for, patient_date, team_name
from .forms import (
    ErrorLink,
    InstrumentForm,
    blank_page_html,
    problem_text,
    render_questions,
    summary_text,
)
from .selectors import (
    Link,
    LinkState,
    NotReady,
    Step,
    link_for_token,
    next_visit,
    patient_alert_messages,
    steps_for,
)

logger = logging.getLogger(__name__)


def _failures_key(request: HttpRequest) -> str:
    return f"survey-link-failures:{client_ip(request)}"


def _too_many_failures(request: HttpRequest) -> bool:
    return cache.get(_failures_key(request), 0) >= settings.SURVEY_LINK_FAILURES_ALLOWED


def _page(request: HttpRequest, template: str, context: dict, *, study=None,
          status: int = 200) -> HttpResponse:
    """Render a patient page with the team's name and contact (the study's, if known)."""
    return render(request, template, {
        "team_name": team_name(study), "contact": contact_for(study), **context,
    }, status=status)


def _link_not_active(request: HttpRequest, link: Link) -> HttpResponse:
    # One page for unknown, expired, revoked and withdrawn links. Each miss counts
    # against the address, so guessing tokens is throttled. Where the visit is known
    # (not for a revoked link: it may have reached the wrong person), the page names
    # the study's contact, so the patient has a way to reach the team.
    key = _failures_key(request)
    cache.add(key, 0, settings.SURVEY_LINK_FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, settings.SURVEY_LINK_FAILURE_WINDOW_SECONDS)
    study = link.visit.enrolment.study if link.visit is not None else None
    return _page(request, "survey/not_active.html", {}, study=study, status=404)


def _paused(request: HttpRequest, link: Link) -> HttpResponse:
    return _page(request, "survey/paused.html", {}, study=link.visit.enrolment.study)


def _not_ready(request: HttpRequest, link: Link, problem: NotReady) -> HttpResponse:
    # A set-up fault, not the patient's: they are told plainly and whom to ask; the
    # team learns of it from the log (and the system check names the time point).
    logger.error("visit %s cannot be shown: %s", link.visit.pk, problem)
    return _page(request, "survey/not_ready.html", {}, study=link.visit.enrolment.study)


def _throttled(request: HttpRequest) -> HttpResponse:
    return _page(request, "survey/not_active.html", {"throttled": True}, status=429)


def throttle_guessing(view):
    """Refuse every link request from an address that has missed too many tokens."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if _too_many_failures(request):
            return _throttled(request)
        return view(request, *args, **kwargs)
    return wrapped


def _step_url(token: str, number: int) -> str:
    return reverse("survey:step", kwargs={"token": token, "number": number})


def _pages(steps: list[Step]) -> list:
    return [(step.definition, step.saved_answers) for step in steps]


@public("the patient's private link: the token is the credential")
@never_cache
@throttle_guessing
def start(request: HttpRequest, token: str) -> HttpResponse:
    """Show the visit's first page; a patient who has started resumes where they stopped.

    Resume lands on the first page never saved or still missing a needed answer.
    """
    link = link_for_token(token)
    if link.state == LinkState.NOT_ACTIVE:
        return _link_not_active(request, link)
    if link.state == LinkState.PAUSED:
        return _paused(request, link)
    if link.state == LinkState.COMPLETED:
        return redirect("survey:done", token=token)
    visit = link.visit
    study = visit.enrolment.study
    try:
        steps = steps_for(visit)
    except NotReady as problem:
        return _not_ready(request, link, problem)
    if any(step.response is not None for step in steps):
        number = resume_number(_pages(steps), max_missing=study.max_missing)
        return redirect("survey:step", token=token, number=number)
    language = get_language()
    items = sum(len(step.definition.items) for step in steps)
    return _page(request, "survey/start.html", {
        "timepoint": visit.timepoint.patient_label(language),
        "questionnaires": len(steps),
        "items": items,
        "minutes": minutes_needed(items),
        "close_date": patient_date(visit.window_close_date),
        "english_only": language != "en" and any(
            language not in step.definition.languages for step in steps),
        "first_url": _step_url(token, 1),
    }, study=study)


def _other_pages_errors(steps: list[Step], current: int, token: str,
                        max_missing: Mapping[str, int]) -> list[ErrorLink]:
    """Return summary lines for what the other pages of the visit still need."""
    links = []
    for step in steps:
        if step.number == current:
            continue
        page = _("Questionnaire %(n)s of %(total)s") % {"n": step.number, "total": len(steps)}
        url = _step_url(token, step.number)
        if step.saved_answers is None:
            links.append(ErrorLink(url, _("%(page)s, %(questionnaire)s: not answered yet") % {
                "page": page, "questionnaire": step.definition.title}))
            continue
        for gap in missing_answers(step.definition, step.saved_answers, max_missing=max_missing):
            item = step.definition.item(gap.code)
            line = summary_text(step.definition, item, problem_text(item, gap))
            links.append(ErrorLink(f"{url}?check=1#q-{gap.code}",
                                   _("%(page)s, %(message)s") % {"page": page, "message": line}))
    return links


def _as_data(answers: dict) -> dict[str, str]:
    return {code: str(value) for code, value in answers.items() if value is not None}


@public("the patient's private link: the token is the credential")
@never_cache
@throttle_guessing
@csrf_protect
def step(request: HttpRequest, token: str, number: int) -> HttpResponse:
    """Show one instrument; save its answers; on the last one, submit the visit.

    ``?check=1`` shows the page's saved answers with what is still needed marked: the
    submit's error summary links there when an earlier page is incomplete.
    """
    link = link_for_token(token)
    if link.state == LinkState.NOT_ACTIVE:
        return _link_not_active(request, link)
    if link.state == LinkState.PAUSED:
        return _paused(request, link)
    if link.state == LinkState.COMPLETED:
        return redirect("survey:done", token=token)
    visit = link.visit
    try:
        steps = steps_for(visit)
    except NotReady as problem:
        return _not_ready(request, link, problem)
    if not 1 <= number <= len(steps):
        return redirect("survey:start", token=token)
    current = steps[number - 1]
    is_last = number == len(steps)
    study = visit.enrolment.study
    max_missing = study.max_missing
    saved = current.saved_answers or {}
    status = 200
    elsewhere: list[ErrorLink] = []
    if request.method == "POST":
        action = request.POST.get("action", "next")
        form = InstrumentForm(request.POST, definition=current.definition,
                              max_missing=max_missing,
                              complete=action not in ("save", "back"))
        if form.is_valid():
            try:
                save_answers(visit=visit, instrument=current.instrument, answers=form.answers())
                if action == "save":
                    return _page(request, "survey/saved.html", {
                        "close_date": patient_date(visit.window_close_date),
                        "carry_on_url": _step_url(token, number),
                    }, study=study)
                if action == "back" and number > 1:
                    return redirect("survey:step", token=token, number=number - 1)
                if not is_last:
                    return redirect("survey:step", token=token, number=number + 1)
                elsewhere = _other_pages_errors(steps, number, token, max_missing)
                if not elsewhere:
                    submit_visit(visit=visit)
                    return redirect("survey:done", token=token)
                status = 400
            except AlreadyCompleted:
                return redirect("survey:done", token=token)
            except ScoringError:
                # The checks above say what scoring needs; should scoring still refuse,
                # say so plainly rather than in the scorer's words.
                logger.exception("submit refused for visit %s", visit.pk)
                form.add_error(None, _("Some answers could not be checked. Please look through "
                                       "each questionnaire, then submit again."))
                status = 400
            except DatabaseError:
                logger.exception("saving answers failed for visit %s", visit.pk)
                form.add_error(None, _("We could not save your answers just now. They are "
                                       "still on this page: please try again in a moment."))
                status = 503
        else:
            status = 400
    elif "check" in request.GET:
        form = InstrumentForm(_as_data(saved), definition=current.definition,
                              max_missing=max_missing)
        form.is_valid()
    else:
        form = InstrumentForm(initial=saved, definition=current.definition,
                              max_missing=max_missing)
    # A page not yet answered is the same for every patient: render it once per process.
    if not form.is_bound and not saved:
        questions_html = blank_page_html(current.definition, get_language(),
                                         tuple(sorted(max_missing.items())))
    else:
        questions_html = render_questions(form)
    return _page(request, "survey/step.html", {
        "questions_html": questions_html,
        "non_field_errors": form.non_field_errors(),
        "error_links": form.error_links() + elsewhere,
        "token": token,
        "step": current,
        "number": number,
        "total": len(steps),
        "percent": round(100 * (number - 1) / len(steps)),
        "is_last": is_last,
    }, study=study, status=status)


@public("the patient's private link: the token is the credential")
@never_cache
@throttle_guessing
def done(request: HttpRequest, token: str) -> HttpResponse:
    """Thank the patient once the visit is submitted, and say when the next one comes."""
    link = link_for_token(token)
    if link.state == LinkState.NOT_ACTIVE:
        return _link_not_active(request, link)
    if link.state == LinkState.PAUSED:
        return _paused(request, link)
    if link.state == LinkState.OPEN:
        return redirect("survey:start", token)
    study = link.visit.enrolment.study
    upcoming = next_visit(link.visit)
    return _page(request, "survey/done.html", {
        "alert_messages": patient_alert_messages(link.visit),
        "last": upcoming is None,
        "next_open_now": upcoming is not None
        and upcoming.window_open_date <= study_today(study),
        "next_date": patient_date(upcoming.window_open_date) if upcoming else "",
    }, study=study)
