"""The permission matrix: every URL of the project × every kind of visitor.

The URLs are read from the URL configuration, so a new view without a line in
``EXPECTED`` fails ``test_every_url_is_in_the_matrix``, and a new view without
an ``access`` declaration fails ``test_every_view_declares_its_access``.

Visitors: anonymous; a patient holding another patient's private link; a
coordinator, a clinician and a data manager of another site of the same study; the
coordinator, clinician and data manager of the patient's site; the administrator
(superuser) who passed the second factor, and one who has not while a study asks
for it (every staff page and the whole admin send them to the second factor).
Objects outside one's sites answer 404, never 403, so a guess learns nothing; in the
admin, as an unknown id does (a redirect to the admin's index).
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from outcomes.followups.links import ensure_link
from outcomes.followups.models import Visit
from outcomes.instruments.models import Response
from patients.demo import load_demo
from patients.models import Site, Study

TODAY = dt.date(2026, 6, 1)
ROLES = ("anonymous", "other_patient", "coordinator_other_site", "clinician_other_site",
         "data_manager_other_site", "coordinator", "clinician", "data_manager", "administrator",
         "administrator_without_second_factor")
#: Pages a user stopped at the second factor may still open (with the status others get).
OPEN_BEFORE_SECOND_FACTOR = {"home", "login", "logout", "password_reset", "password_reset_done",
                             "password_reset_confirm", "password_reset_complete",
                             "set_language", "survey:start", "survey:step", "survey:done"}
STUDY = "BMC-LBP"
PATIENT = "DEMO-0001"
UNKNOWN_TOKEN = "A" * 43

# Who gets what, as the role descriptions say (outcomes.access.ROLES). Each entry:
# (method, URL name, kwargs or a builder's key, {role: status}); a missing role means
# the entry's "others" status.
LOGIN = 302  # to the login page
ALL_STAFF_OK = {"anonymous": LOGIN, "other_patient": LOGIN, "others": 200}


def _matrix(anonymous=LOGIN, other_patient=LOGIN, coordinator_other_site=403,
            clinician_other_site=403, data_manager_other_site=403, coordinator=403,
            clinician=403, data_manager=403, administrator=200):
    return dict(anonymous=anonymous, other_patient=other_patient,
                coordinator_other_site=coordinator_other_site,
                clinician_other_site=clinician_other_site,
                data_manager_other_site=data_manager_other_site, coordinator=coordinator,
                clinician=clinician, data_manager=data_manager, administrator=administrator)


EXPECTED = [
    ("GET", "home", {}, {"others": 200}),
    # Once passed, the second-factor page goes on to the page asked for.
    ("GET", "two-factor", {}, {**ALL_STAFF_OK, "administrator": 302}),
    ("GET", "login", {}, {"others": 200}),
    ("GET", "logout", {}, {"others": 405}),  # log out is a POST
    ("POST", "logout", {}, {"others": 302}),  # to the home page
    ("GET", "password_change", {}, ALL_STAFF_OK),
    ("GET", "password_change_done", {}, ALL_STAFF_OK),
    ("GET", "password_reset", {}, {"others": 200}),
    ("GET", "password_reset_done", {}, {"others": 200}),
    ("GET", "password_reset_confirm", {"uidb64": "MQ", "token": "set-password"},
     {"others": 200}),
    ("GET", "password_reset_complete", {}, {"others": 200}),
    ("POST", "set_language", {}, {"others": 302}),
    # The patient's pages: the token is the credential; someone else's (or a guessed)
    # token gets the same "link not active" page as an unknown one, whoever asks.
    ("GET", "survey:start", {"token": UNKNOWN_TOKEN}, {"others": 404}),
    ("GET", "survey:step", {"token": UNKNOWN_TOKEN, "number": 1}, {"others": 404}),
    ("GET", "survey:done", {"token": UNKNOWN_TOKEN}, {"others": 404}),
    # The coordinator's workspace.
    ("GET", "patients:dashboard", {"code": STUDY}, _matrix(
        coordinator_other_site=200, clinician_other_site=200, data_manager_other_site=200,
        coordinator=200, clinician=200, data_manager=200)),
    ("GET", "patients:dashboard", {"code": "NO-SUCH"}, _matrix(
        coordinator_other_site=404, clinician_other_site=404, data_manager_other_site=404,
        coordinator=404, clinician=404, data_manager=404, administrator=404)),
    # The patient list: every staff role; another site's staff get the study with none
    # of this site's patients (test_patient_list.py checks the rows).
    ("GET", "patients:patient-list", {"code": STUDY}, _matrix(
        coordinator_other_site=200, clinician_other_site=200, data_manager_other_site=200,
        coordinator=200, clinician=200, data_manager=200)),
    ("GET", "patients:patient-list", {"code": "NO-SUCH"}, _matrix(
        coordinator_other_site=404, clinician_other_site=404, data_manager_other_site=404,
        coordinator=404, clinician=404, data_manager=404, administrator=404)),
    ("GET", "patients:enrol", {"code": STUDY}, _matrix(
        coordinator_other_site=200, coordinator=200)),
    ("GET", "patients:patient", {"code": STUDY, "patient_code": PATIENT}, _matrix(
        coordinator_other_site=404, clinician_other_site=404, data_manager_other_site=404,
        coordinator=200, clinician=200, data_manager=200)),
    # An empty POST re-shows the patient page with the form's errors at its fields.
    ("POST", "patients:status", {"code": STUDY, "patient_code": PATIENT}, _matrix(
        coordinator_other_site=404, coordinator=200, administrator=200)),
    ("POST", "patients:index-date", {"code": STUDY, "patient_code": PATIENT}, _matrix(
        coordinator_other_site=404, coordinator=200, administrator=200)),
    ("POST", "patients:resend", "resend", _matrix(
        coordinator_other_site=404, coordinator=302, administrator=302)),
    # An answer needing attention acknowledged: any staff role of the patient's site.
    ("POST", "patients:acknowledge-alert", "alert", _matrix(
        coordinator_other_site=404, clinician_other_site=404, data_manager_other_site=404,
        coordinator=302, clinician=302, data_manager=302, administrator=302)),
    # A paper or telephone form typed in: an empty POST re-shows the form with its errors.
    ("GET", "patients:visit-entry", "visit", _matrix(coordinator_other_site=404, coordinator=200)),
    ("POST", "patients:visit-entry", "visit", _matrix(coordinator_other_site=404,
                                                      coordinator=200)),
    # Contact details: coordinators only; clinicians and data managers never see them.
    ("GET", "patients:contact", {"code": STUDY, "patient_code": PATIENT}, _matrix(
        coordinator_other_site=404, coordinator=200)),
    ("POST", "patients:contact", {"code": STUDY, "patient_code": PATIENT}, _matrix(
        coordinator_other_site=404, coordinator=200)),
    # The clinician's pages.
    ("GET", "patients:outcomes", {"code": STUDY, "patient_code": PATIENT}, _matrix(
        clinician_other_site=404, data_manager_other_site=404, clinician=200,
        data_manager=200)),
    ("POST", "patients:outcomes", {"code": STUDY, "patient_code": PATIENT}, _matrix(
        clinician_other_site=404, data_manager_other_site=404, clinician=302,
        administrator=302)),
    # Results are aggregates of the whole study; the responder list names only
    # the patients of one's own sites (test_exports_and_lists_hold_only_ones_sites).
    ("GET", "patients:results", {"code": STUDY}, _matrix(
        clinician_other_site=200, data_manager_other_site=200, clinician=200,
        data_manager=200)),
    ("GET", "patients:responders", {"code": STUDY}, _matrix(
        clinician_other_site=200, data_manager_other_site=200, clinician=200,
        data_manager=200)),
    # The data manager's files and corrections.
    ("GET", "patients:export", {"code": STUDY, "kind": "tidy"}, _matrix(
        data_manager_other_site=200, data_manager=200)),
    ("GET", "patients:export", {"code": STUDY, "kind": "identified"}, _matrix(
        data_manager_other_site=200, data_manager=200)),
    ("GET", "patients:export", {"code": STUDY, "kind": "no-such"}, _matrix(
        data_manager_other_site=404, data_manager=404, administrator=404)),
    ("GET", "patients:export-file", {"code": STUDY, "kind": "spss", "suffix": "sav"}, _matrix(
        data_manager_other_site=200, data_manager=200)),
    ("GET", "patients:export-file", {"code": STUDY, "kind": "tidy", "suffix": "sav"}, _matrix(
        data_manager_other_site=404, data_manager=404, administrator=404)),
    ("GET", "response-correct", "response", _matrix(
        data_manager_other_site=404, data_manager=200)),
    # An empty POST re-shows the correction page with the void's error at its field.
    ("POST", "response-void", "response", _matrix(
        data_manager_other_site=404, data_manager=200, administrator=200)),
]

# The admin is Django's: only staff reach it, and each model page needs its permission.
# Data managers (staff) hold the study set-up models and read responses; nothing else.
DATA_MANAGER_ADMIN = {"patients_study", "patients_site", "patients_arm",
                      "followups_timepoint", "followups_timepointinstrument",
                      "instruments_responderrule"}
# Instruments are read, and imported from their definition files (never added by hand).
DATA_MANAGER_READS = {"instruments_response", "instruments_instrument"}


def _walk(patterns, prefix="", namespace=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern), f"{namespace}{entry.name or ''}", entry.callback


def project_urls():
    return list(_walk(get_resolver().url_patterns))


def _admin_entries():
    entries = []
    for route, name, _callback in project_urls():
        if not name.startswith("admin:") or "<" in route:
            continue  # object pages follow their model's changelist permissions
        if name.endswith("_changelist") or name.endswith("_add"):
            model = name.removeprefix("admin:").rsplit("_", 1)[0]
            if name.endswith("_changelist"):
                dm = 200 if model in DATA_MANAGER_ADMIN | DATA_MANAGER_READS else 403
            else:
                dm = 200 if model in DATA_MANAGER_ADMIN else 403
            # Instruments come from their definitions: none is added in the admin.
            admin_status = 403 if name.endswith("_add") and model in (
                "instruments_response", "instruments_responderstatus", "audit_auditrecord",
                "instruments_instrument",
                "axes_accessattempt", "axes_accesslog", "axes_accessfailurelog",
                "instruments_instrument",
            ) else 200
        else:
            dm, admin_status = 200, 200
        expected = {"data_manager": dm, "data_manager_other_site": dm,
                    "administrator": admin_status, "others": 302}
        staff = ("data_manager", "data_manager_other_site", "administrator")
        if name in ("admin:login",):
            expected = {"others": 200, **dict.fromkeys(staff, 302)}
        if name == "admin:logout":
            expected = {"others": 302, **dict.fromkeys(staff, 405)}
        if name == "admin:jsi18n":
            expected = {"others": 302, **dict.fromkeys(staff, 200)}
        if name == "admin:autocomplete":
            expected = {"others": 302, **dict.fromkeys(staff, 403)}
        entries.append(("GET", name, {}, expected))
    return entries


# Admin object pages: a data manager opens their own site's rows and their studies' set-up;
# another site's data manager is told a site-level row does not exist (the admin's
# redirect to its index), and sees the set-up of the study both sites work in.
NOT_HERE = 302
ADMIN_OBJECTS = [
    ("GET", f"admin:{model}_change", key, {
        "data_manager": 200, "administrator": 200, "others": 302,
        "data_manager_other_site": NOT_HERE if key in ("site", "response_admin") else 200})
    for model, key in (("patients_site", "site"), ("patients_study", "study"),
                       ("followups_timepoint", "timepoint"), ("patients_arm", "arm"),
                       ("instruments_responderrule", "rule"),
                       ("instruments_response", "response_admin"))
]

ENTRIES = EXPECTED + _admin_entries() + ADMIN_OBJECTS


def test_every_url_is_in_the_matrix():
    covered = {name for _, name, _, _ in ENTRIES}
    missing = [f"{route} ({name})" for route, name, _ in project_urls()
               if name not in covered and not (name.startswith("admin:") and "<" in route)]
    assert missing == [], f"URLs without an expected status per role: {missing}"


def test_every_view_declares_its_access():
    ours = [(route, callback) for route, name, callback in project_urls()
            if callback.__module__.startswith(("outcomes.", "patients."))
            and not name.startswith("admin:")]
    assert len(ours) >= 15
    undeclared = [route for route, callback in ours if not hasattr(callback, "access")]
    assert undeclared == [], f"views without an access rule: {undeclared}"


@pytest.fixture(scope="module")
def _module_world(django_db_setup, django_db_blocker):
    """Build the study, patients and users once for the module, inside a transaction
    that is rolled back at its end; each test runs in a savepoint within it."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        yield _build_world()
        transaction.set_rollback(True)


@pytest.fixture
def world(_module_world, db):
    return _module_world


def _build_world():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        load_demo(size=2, today=TODAY)
    study = Study.objects.get(code=STUDY)
    north = Site.objects.create(code="NORTH", name="North clinic")
    study.sites.add(north)
    users = {
        "coordinator": User.objects.get(username="coordinator"),
        "clinician": User.objects.get(username="clinician"),
        "data_manager": User.objects.get(username="datamanager"),
        "administrator": User.objects.create_superuser("root", "root@example.org", "x" * 12),
        "administrator_without_second_factor": User.objects.create_superuser(
            "root2", "root2@example.org", "x" * 12),
    }
    # A study of its own at a site of its own asks for the second factor: only the
    # administrators (who see every study) are bound by it.
    locked = Site.objects.create(code="LOCKED", name="Two-factor clinic")
    Study.objects.create(code="LOCKED", title="Two-factor study",
                         require_two_factor=True).sites.add(locked)
    device = TOTPDevice.objects.create(user=users["administrator"], name="app", confirmed=True)
    for role, group in (("coordinator_other_site", "Coordinators"),
                        ("clinician_other_site", "Clinicians"),
                        ("data_manager_other_site", "Data managers")):
        user = User.objects.create_user(role, password="x" * 12,
                                        is_staff=role == "data_manager_other_site")
        user.groups.add(Group.objects.get(name=group))
        north.staff.add(user)
        users[role] = user
    visit = (Visit.objects.filter(enrolment__patient__code=PATIENT)
             .exclude(status="completed").order_by("timepoint__target_day").first())
    other_visit = Visit.objects.filter(enrolment__patient__code="DEMO-0002").first()
    response = Response.objects.filter(visit__enrolment__patient__code=PATIENT,
                                       state="completed").first()
    assert visit and other_visit and response
    from outcomes.alerts.models import AnswerAlert

    alert = AnswerAlert.objects.create(
        response=response, visit=response.visit, enrolment=response.visit.enrolment,
        instrument=response.instrument, key="test_alert", value="1", answer="Several days",
        message="A question the team must see", raised_at=response.completed_at)
    objects = {"site": Site.objects.get(code="MAIN"), "study": study,
               "timepoint": study.timepoints.get(code="m3"), "arm": study.arms.get(code="BMC"),
               "rule": study.responder_rules.get(code="primary"), "response_admin": response}
    return {"users": users, "visit": visit, "response": response, "objects": objects,
            "alert": alert,
            "device": device,
            "other_link": reverse("survey:start",
                                  kwargs={"token": ensure_link(visit=other_visit)})}


def _client_for(role, world, client_factory):
    client = client_factory()
    if role == "other_patient":
        # A patient who opened their own link: a session, a CSRF cookie, no account.
        client.get(world["other_link"])
    elif role != "anonymous":
        client.force_login(world["users"][role])
        if role == "administrator":  # passed the second factor in this session
            session = client.session
            session[DEVICE_ID_SESSION_KEY] = world["device"].persistent_id
            session.save()
    return client


def _url(name, kwargs, world):
    if kwargs in ("resend", "visit"):
        visit = world["visit"]
        return reverse(name, kwargs={"code": STUDY, "patient_code": PATIENT,
                                     "visit_id": visit.pk})
    if kwargs == "response":
        return reverse(name, kwargs={"pk": world["response"].pk})
    if kwargs == "alert":
        return reverse(name, kwargs={"code": STUDY, "alert_id": world["alert"].pk})
    if isinstance(kwargs, str):
        return reverse(name, args=[world["objects"][kwargs].pk])
    return reverse(name, kwargs=kwargs)


def _expected(role, name, expected):
    if role == "administrator_without_second_factor" and name not in OPEN_BEFORE_SECOND_FACTOR:
        return expected.get(role, 200 if name == "two-factor" else 302)
    return expected.get(role, expected.get("others"))


_OBJECT_KEYS = {(name, key) for _, name, key, _ in ADMIN_OBJECTS}


@pytest.mark.parametrize(
    ("method", "name", "kwargs", "expected"), ENTRIES,
    ids=[f"{m} {n} {k if isinstance(k, str) else '/'.join(map(str, k.values()))}"
         for m, n, k, _ in ENTRIES],
)
def test_permission_matrix(method, name, kwargs, expected, world):
    from django.test import Client

    url = _url(name, kwargs, world)
    wrong = []
    for role in ROLES:
        client = _client_for(role, world, Client)
        reply = client.post(url) if method == "POST" else client.get(url)
        want = _expected(role, name, expected)
        if reply.status_code != want:
            wrong.append(f"{role}: {reply.status_code} (expected {want})")
        location = reply.headers.get("Location", "")
        if (role == "administrator_without_second_factor" and reply.status_code == 302
                and name not in OPEN_BEFORE_SECOND_FACTOR and name != "admin:logout"
                and "/accounts/two-factor/" not in location
                and not location.startswith("/admin/login/")):
            wrong.append(f"{role}: redirected to {location}, not to the second factor")
        if (role == "data_manager_other_site" and isinstance(kwargs, str)
                and (name, kwargs) in _OBJECT_KEYS and want == NOT_HERE
                and location != "/admin/"):
            wrong.append(f"{role}: redirected to {location}, not told it does not exist")
        if (role in ("anonymous", "other_patient") and reply.status_code == 302
                and name not in ("logout", "set_language", "admin:logout")
                and "/login/" not in reply.headers["Location"]):
            wrong.append(f"{role}: redirected to {reply.headers['Location']}, not to log in")
    assert wrong == [], f"{method} {url}: " + "; ".join(wrong)
