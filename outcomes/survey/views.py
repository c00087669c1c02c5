"""The patient's questionnaire, reached by a private link: no account, no password."""

from __future__ import annotations

import functools
import logging

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from outcomes.access import public
from outcomes.clients import client_ip
from outcomes.instruments.scoring import ScoringError
from outcomes.instruments.services import AlreadyCompleted, save_answers, submit_visit

from .forms import InstrumentForm, blank_page_html
from .selectors import steps_for, visit_for_token

logger = logging.getLogger(__name__)


def _failures_key(request: HttpRequest) -> str:
    return f"survey-link-failures:{client_ip(request)}"


def _too_many_failures(request: HttpRequest) -> bool:
    return cache.get(_failures_key(request), 0) >= settings.SURVEY_LINK_FAILURES_ALLOWED


def _link_not_active(request: HttpRequest) -> HttpResponse:
    # One page for unknown, expired, revoked and withdrawn links, with the
    # platform's contact rather than a study's: no hint whether the token existed.
    # Each miss counts against the address, so guessing tokens is throttled.
    key = _failures_key(request)
    cache.add(key, 0, settings.SURVEY_LINK_FAILURE_WINDOW_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, settings.SURVEY_LINK_FAILURE_WINDOW_SECONDS)
    return render(request, "survey/not_active.html", {"clinic": _clinic()}, status=404)


def _throttled(request: HttpRequest) -> HttpResponse:
    return render(request, "survey/not_active.html", {"clinic": _clinic(), "throttled": True},
                  status=429)


def throttle_guessing(view):
    """Refuse every link request from an address that has missed too many tokens."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if _too_many_failures(request):
            return _throttled(request)
        return view(request, *args, **kwargs)
    return wrapped


def _clinic(study=None) -> dict[str, str]:
    if study is not None and (study.contact_email or study.contact_phone):
        return {"name": study.contact_name, "email": study.contact_email,
                "phone": study.contact_phone}
    return {"name": settings.CLINIC_NAME, "email": settings.CLINIC_EMAIL,
            "phone": settings.CLINIC_PHONE}


@public("the patient's private link: the token is the credential")
@never_cache
@throttle_guessing
def start(request: HttpRequest, token: str) -> HttpResponse:
    """Resume where the patient stopped: the first instrument not yet saved in full."""
    visit = visit_for_token(token)
    if visit is None:
        return _link_not_active(request)
    if visit.status == visit.Status.COMPLETED:
        return redirect("survey:done", token=token)
    steps = steps_for(visit)
    for step in steps:
        if step.response is None or not step.response.answers:
            return redirect("survey:step", token=token, number=step.number)
    return redirect("survey:step", token=token, number=len(steps))


@public("the patient's private link: the token is the credential")
@never_cache
@throttle_guessing
@csrf_protect
def step(request: HttpRequest, token: str, number: int) -> HttpResponse:
    """Show one instrument; save its answers; on the last one, submit the visit."""
    visit = visit_for_token(token)
    if visit is None:
        return _link_not_active(request)
    if visit.status == visit.Status.COMPLETED:
        return redirect("survey:done", token=token)
    steps = steps_for(visit)
    if not 1 <= number <= len(steps):
        return redirect("survey:start", token=token)
    current = steps[number - 1]
    is_last = number == len(steps)
    study = visit.enrolment.study
    saved = current.response.answers if current.response else {}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "next")
        form = InstrumentForm(request.POST, definition=current.definition,
                              max_missing=study.odi_max_missing,
                              complete=action not in ("save", "back"))
        if form.is_valid():
            try:
                save_answers(visit=visit, instrument=current.instrument, answers=form.answers())
                if action == "save":
                    return render(request, "survey/saved.html", {
                        "visit": visit, "token": token, "number": number, "clinic": _clinic(study),
                    })
                if action == "back" and number > 1:
                    return redirect("survey:step", token=token, number=number - 1)
                if not is_last:
                    return redirect("survey:step", token=token, number=number + 1)
                submit_visit(visit=visit)
                return redirect("survey:done", token=token)
            except AlreadyCompleted:
                return redirect("survey:done", token=token)
            except ScoringError as error:
                # An earlier page is incomplete: send the patient back to it.
                form.add_error(None, _("Some answers are still missing: %(what)s.")
                               % {"what": error.reason})
                status = 400
            except DatabaseError:
                logger.exception("saving answers failed for visit %s", visit.pk)
                form.add_error(None, _("We could not save your answers just now. They are "
                                       "still on this page: please try again in a moment."))
                status = 503
        else:
            status = 400
    else:
        form = InstrumentForm(initial=saved, definition=current.definition,
                              max_missing=study.odi_max_missing)
    # A page not yet answered is the same for every patient: render it once per process.
    form_html = (blank_page_html(current.definition.code, current.definition.version,
                                 get_language(), study.odi_max_missing)
                 if not form.is_bound and not saved else None)
    return render(request, "survey/step.html", {
        "form_html": form_html,
        "visit": visit,
        "study": study,
        "token": token,
        "form": form,
        "step": current,
        "steps": steps,
        "number": number,
        "total": len(steps),
        "percent": round(100 * (number - 1) / len(steps)),
        "is_last": is_last,
        "clinic": _clinic(study),
    }, status=status)


@public("the patient's private link: the token is the credential")
@never_cache
@throttle_guessing
def done(request: HttpRequest, token: str) -> HttpResponse:
    """Thank the patient once the visit is submitted."""
    visit = visit_for_token(token)
    if visit is None or visit.status != visit.Status.COMPLETED:
        return _link_not_active(request) if visit is None else redirect("survey:start", token)
    return render(request, "survey/done.html", {
        "visit": visit, "clinic": _clinic(visit.enrolment.study),
    })
