"""Who may do what: the four staff roles, their permissions, and the view guard.

A role is a Django group holding a fixed set of permissions (kept in step by
``ensure_roles`` after every migrate, so the admin shows what each role can do).
The administrator is Django's superuser. Patients have no account: their
private link reaches their own current visit and nothing else.

Two checks guard every staff page, both on the server:

* the role check (``requires``): a user whose role lacks the permission gets 403;
* the scope check (``patients.selectors``): an object outside the user's sites is
  404, exactly as if it did not exist, so a guess learns nothing.

Every view carries an ``access`` attribute saying which rule guards it; the
permission-matrix test walks the URL configuration and fails on a view without one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import urlencode

# Study-level permissions (declared on patients.Study, see its Meta).
VIEW_WORKLIST = "patients.view_worklist"
MANAGE_ENROLMENT = "patients.manage_enrolment"
VIEW_CONTACT = "patients.view_contact_details"
VIEW_OUTCOMES = "patients.view_outcomes"
SIGN_OFF = "patients.sign_off"
VIEW_RESULTS = "patients.view_results"
EXPORT_DATA = "patients.export_data"
EXPORT_IDENTIFIED = "patients.export_identified"
CORRECT_RESPONSE = "instruments.change_response"
IMPORT_INSTRUMENT = "instruments.add_instrument"  # from a definition file, in the admin


@dataclass(frozen=True)
class Role:
    code: str
    group: str
    description: str
    permissions: tuple[str, ...]


# Study set-up in the admin: data managers edit the study's design, never patient data.
_SETUP_MODELS = ("patients.study", "patients.site", "patients.arm", "patients.primarycomparison",
                 "followups.timepoint",
                 "followups.timepointinstrument", "instruments.responderrule")
_SETUP = tuple(f"{model.split('.')[0]}.{action}_{model.split('.')[1]}"
               for model in _SETUP_MODELS for action in ("view", "add", "change"))

ROLES = (
    Role("coordinator", "Coordinators",
         "Enrols and follows patients at their own sites; sees contact details.",
         (VIEW_WORKLIST, MANAGE_ENROLMENT, VIEW_CONTACT)),
    Role("clinician", "Clinicians",
         "Reads the scores and results of their sites' patients; signs reviews off.",
         (VIEW_WORKLIST, VIEW_OUTCOMES, SIGN_OFF, VIEW_RESULTS)),
    Role("data_manager", "Data managers",
         "Sets studies up, imports patients and instrument files, exports (identified "
         "export included) and corrects.",
         (VIEW_WORKLIST, VIEW_OUTCOMES, VIEW_RESULTS, EXPORT_DATA, EXPORT_IDENTIFIED,
          CORRECT_RESPONSE, "instruments.view_response", "instruments.view_instrument",
          IMPORT_INSTRUMENT, *_SETUP)),
)
ROLE_BY_CODE = {role.code: role for role in ROLES}


def ensure_roles() -> None:
    """Create the role groups and set their permissions to exactly the table above."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    # Permissions appear app by app after migrate: make sure ours exist already.
    labels = {name.split(".")[0] for role in ROLES for name in role.permissions}
    for label in labels:
        create_permissions(apps.get_app_config(label), verbosity=0)
    known = {f"{app_label}.{codename}": pk for pk, app_label, codename in
             Permission.objects.filter(content_type__app_label__in=labels)
             .values_list("pk", "content_type__app_label", "codename")}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role.group)
        wanted = [known[name] for name in role.permissions]
        group.permissions.set(wanted)


def needs_second_factor(user) -> bool:
    """True when staff must confirm a one-time code and this session has not yet."""
    if not user.is_authenticated or user.is_verified():  # set by django-otp's middleware
        return False
    from patients.models import Study

    if settings.OUTCOMES_REQUIRE_TWO_FACTOR:
        return True
    studies = Study.objects.filter(require_two_factor=True)
    if not user.is_superuser:
        # The administrator sees every study, so any study's rule applies to them.
        studies = studies.filter(sites__staff=user)
    return studies.exists()


def redirect_to_second_factor(request):
    query = urlencode({"next": request.get_full_path()})
    return redirect(f"{reverse('two-factor')}?{query}")


def requires(permission: str):
    """Guard a staff view: log in, pass the second factor if required, hold ``permission``.

    Anonymous users go to the login page; a user without the permission gets 403.
    Objects outside the user's sites are the view's business (404 through the
    scoped selectors).
    """

    def decorator(view):
        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if needs_second_factor(user):
                return redirect_to_second_factor(request)
            if not user.has_perm(permission):
                raise PermissionDenied
            response = view(request, *args, **kwargs)
            # Staff pages and files hold identifying or health data: never kept by a
            # browser's or a proxy's cache (a shared computer's back button included).
            add_never_cache_headers(response)
            return response

        guarded.access = permission
        return guarded

    return decorator


def public(reason: str):
    """Mark a view anyone may open (the login page, a patient's private link)."""

    def decorator(view):
        view.access = f"public: {reason}"
        return view

    return decorator


def signed_in(reason: str):
    """Guard a view any logged-in staff user may open (e.g. the second-factor page)."""

    def decorator(view):
        guarded = login_required(view)
        guarded.access = f"signed in: {reason}"
        return guarded

    return decorator


def verified(reason: str):
    """Guard a view any logged-in user may open once past the second factor, if required.

    For pages of one's own account (changing the password): a session that only knows
    the password must not change it, or it could lock the real owner out.
    """

    def decorator(view):
        @functools.wraps(view)
        def guarded(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if needs_second_factor(request.user):
                return redirect_to_second_factor(request)
            response = view(request, *args, **kwargs)
            add_never_cache_headers(response)  # a staff page like any other
            return response

        guarded.access = f"signed in, second factor passed: {reason}"
        return guarded

    return decorator
