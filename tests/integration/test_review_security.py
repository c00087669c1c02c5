"""A hostile review of the security fixes of issue 13: each test is one attack.

The world: the demo study BMC-LBP at site MAIN, and a second study SECRETSTUDY at site
NORTH only, whose codes, names and patient are words no page of a MAIN user may show
(``SECRETS``). A data manager of MAIN (the demo's ``datamanager``) and a "broad viewer"
of MAIN, who holds the view permission of every model of the project (a role a site
could make in the admin), try every admin page, filter, search and form.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.urls import reverse

from outcomes.admin_scope import SCOPES, ScopedAdmin
from outcomes.followups.models import TimePoint
from outcomes.instruments.models import ResponderRule, Response
from patients.models import Arm, Site, Study
from tests.conftest import DEMO_NOW
from tests.factories import enrol

TODAY = DEMO_NOW.date()
#: Words of the other study and site: none may appear on a page a MAIN user opens.
SECRETS = ("SECRETSTUDY", "Hidden trial", "NORTH", "North clinic", "ZETA", "Zeta arm",
           "zz_secret", "Secret visit", "zz_rule", "NORTH-0001")


@pytest.fixture
def world(demo):
    north = Site.objects.create(code="NORTH", name="North clinic")
    other = Study.objects.create(code="SECRETSTUDY", title="Hidden trial",
                                 contact_phone="555-0100")
    other.sites.add(north)
    Arm.objects.create(study=other, code="ZETA", name="Zeta arm")
    baseline = TimePoint.objects.create(study=other, code="zz_secret", label="Secret visit",
                                        target_day=0, window_before_days=7,
                                        window_after_days=7, is_baseline=True)
    baseline.instruments.add(*demo.timepoints.get(is_baseline=True).instruments.all())
    ResponderRule.objects.create(study=other, code="zz_rule", score="nrs", kind="absolute",
                                 direction="decrease", threshold=2)
    enrolment = enrol(other, "NORTH-0001", arm="ZETA", site="NORTH", index_date=TODAY,
                      today=TODAY, contact={"email": "north1@example.org"})
    visit = enrolment.visits.get()
    Response.objects.create(visit=visit, instrument=baseline.instruments.first(),
                            answers={"pain": 3}, state="completed", completed_at=DEMO_NOW)
    # A second study of MAIN's, so that each filter on studies has something to offer.
    second = Study.objects.create(code="SECONDOWN", title="Second own study")
    second.sites.add(Site.objects.get(code="MAIN"))
    Arm.objects.create(study=second, code="OWN", name="Own arm")
    manager = User.objects.get(username="datamanager")
    viewer = User.objects.create_user("viewer", password="x" * 12, is_staff=True)
    viewer.user_permissions.add(*Permission.objects.filter(
        codename__startswith="view_",
        content_type__app_label__in=["patients", "followups", "instruments"]))
    Site.objects.get(code="MAIN").staff.add(viewer)
    return {"demo": demo, "other": other, "north": north, "manager": manager,
            "viewer": viewer, "enrolment": enrolment, "visit": visit,
            "timepoint": baseline, "response": Response.objects.get(visit=visit)}


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def scoped_admins():
    return sorted((model._meta.label_lower, model_admin)
                  for model, model_admin in admin.site._registry.items()
                  if isinstance(model_admin, ScopedAdmin)
                  and model._meta.label_lower in SCOPES)


def leaked(body: str) -> list[str]:
    return [word for word in SECRETS if re.search(rf"\b{re.escape(word)}\b", body)]


# --- Admin: lists, filters, searches ------------------------------------------------------

@pytest.mark.parametrize("who", ["manager", "viewer"])
def test_no_changelist_names_another_study_or_site_in_its_filters(client, world, who):
    """Django's RelatedFieldListFilter offers every related row (every study code, every
    site name), and AllValuesFieldListFilter on a related field every value of every
    study (time point and rule codes): the sidebar must hold one's own only."""
    client.force_login(world[who])
    opened, leaks = 0, {}
    for label, model_admin in scoped_admins():
        meta = model_admin.model._meta
        reply = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        if reply.status_code == 403:
            continue
        opened += 1
        assert reply.status_code == 200, label
        if leaked(reply.content.decode()):
            leaks[label] = leaked(reply.content.decode())
    assert leaks == {}
    assert opened == (6 if who == "manager" else 12)


def test_the_filters_still_offer_and_apply_ones_own_choices(client, world):
    client.force_login(world["viewer"])
    demo = world["demo"]
    page = client.get(reverse("admin:patients_arm_changelist")).content.decode()
    assert f"?study__id__exact={demo.pk}" in page  # one's two studies are offered
    assert "SECONDOWN" in page
    page = client.get(reverse("admin:followups_visit_changelist")).content.decode()
    assert "timepoint__code=baseline" in page
    filtered = client.get(reverse("admin:followups_visit_changelist"),
                          {"timepoint__code": "baseline"})
    visits = list(filtered.context["cl"].result_list)
    assert visits and {v.timepoint.code for v in visits} == {"baseline"}
    # Filtering by the other study's id: its rows are not in scope, so nothing shows.
    other = client.get(reverse("admin:patients_arm_changelist"),
                       {"study__id__exact": world["other"].pk})
    assert list(other.context["cl"].result_list) == []


def out_of_scope_objects(world) -> list:
    """One object of each scoped model that belongs to the other study or site."""
    from outcomes.followups.models import Reminder, TimePointInstrument
    from outcomes.instruments.models import ResponderStatus, Score
    from patients.models import Contact, InjectedStructure, Patient, PrimaryComparison, Procedure

    enrolment = world["enrolment"]
    visit = world["visit"]
    response = world["response"]
    other = world["other"]
    procedure = Procedure.objects.create(enrolment=enrolment, procedure_date=TODAY)
    rule = ResponderRule.objects.get(study=other)
    objects = [
        other, world["north"], other.arms.get(), Patient.objects.get(code="NORTH-0001"),
        Contact.objects.get(patient__code="NORTH-0001"), enrolment, procedure,
        InjectedStructure.objects.create(procedure=procedure, structure="L4-L5 disc",
                                         side="left"),
        world["timepoint"], TimePointInstrument.objects.filter(timepoint=world["timepoint"])
        .first(), visit, Reminder.objects.create(visit=visit, kind="due", channel="email"),
        response, Score.objects.create(response=response, code="nrs", value=3, exact=True,
                                       scoring_version="1"),
        rule, ResponderStatus.objects.create(enrolment=enrolment, timepoint=world["timepoint"],
                                             rule=rule, verdict="pending"),
        PrimaryComparison.objects.create(study=other, rule=rule, timepoint=world["timepoint"]),
    ]
    assert {o._meta.label_lower for o in objects} == set(SCOPES)
    return objects


@pytest.mark.parametrize("who", ["manager", "viewer"])
@pytest.mark.parametrize("page", ["change", "history", "delete"])
def test_another_studys_objects_do_not_exist_on_any_admin_page(client, world, who, page):
    client.force_login(world[who])
    for obj in out_of_scope_objects(world):
        meta = obj._meta
        if not admin.site.is_registered(type(obj)):
            continue  # an inline only (contact details): its parent's page is tried
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_{page}", args=[obj.pk])
        reply = client.get(url)
        assert reply.status_code in (302, 403), (url, reply.status_code)
        if reply.status_code == 302:  # "… with ID … doesn't exist", on the index
            assert reply["Location"] == reverse("admin:index"), url
        assert leaked(client.get(reverse("admin:index")).content.decode()) == [], url


@pytest.mark.parametrize("query", [
    {"q": "NORTH"}, {"q": "NORTH-0001"},
    {"visit__enrolment__site__id__exact": "{north}"},
    {"visit__enrolment__study__id__exact": "{other}"},
    {"instrument__code": "nrs11"}, {"o": "-1.2"},
    {"_popup": "1", "_to_field": "id"},
])
def test_response_list_filters_and_searches_stay_in_scope(client, world, query):
    client.force_login(world["manager"])
    params = {k: v.format(north=world["north"].pk, other=world["other"].pk)
              for k, v in query.items()}
    reply = client.get(reverse("admin:instruments_response_changelist"), params)
    if reply.status_code == 200 and "cl" in reply.context:
        assert world["response"] not in list(reply.context["cl"].result_list)
    # The search box repeats what was searched for: that is no leak.
    assert [word for word in leaked(reply.content.decode())
            if not any(word in value for value in params.values())] == []


def test_a_popup_cannot_name_a_field_to_read_another_way(client, world):
    client.force_login(world["manager"])
    reply = client.get(reverse("admin:patients_study_changelist"),
                       {"_popup": "1", "_to_field": "contact_email"})
    assert reply.status_code == 400  # Django refuses a to_field no relation points at


@pytest.mark.parametrize("params", [
    {"app_label": "patients", "model_name": "enrolment", "field_name": "patient",
     "term": "NORTH"},
    {"app_label": "patients", "model_name": "enrolment", "field_name": "patient", "term": ""},
    {"app_label": "patients", "model_name": "enrolment", "field_name": "study", "term": ""},
    {"app_label": "patients", "model_name": "study", "field_name": "sites", "term": ""},
    {"app_label": "followups", "model_name": "timepoint", "field_name": "study", "term": ""},
])
def test_autocomplete_holds_only_ones_own_rows(client, world, params):
    client.force_login(world["viewer"])
    reply = client.get(reverse("admin:autocomplete"), params)
    assert reply.status_code in (200, 403)
    assert leaked(reply.content.decode()) == []
    if reply.status_code == 200 and not params["term"]:
        assert reply.json()["results"], "one's own patients are there"


def test_add_forms_offer_only_ones_own_studies_and_sites(client, world):
    client.force_login(world["manager"])
    opened = 0
    for label, model_admin in scoped_admins():
        meta = model_admin.model._meta
        reply = client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_add"))
        if reply.status_code == 403:
            continue
        opened += 1
        assert reply.status_code == 200, label
        assert leaked(reply.content.decode()) == [], label
    assert opened == 5  # study, site, arm, time point, responder rule


def study_form_data(client, study) -> dict:
    """The study's admin form as the browser would post it (inlines included)."""
    page = client.get(change_url(study))
    data = {}
    for form in [page.context["adminform"].form,
                 *[f for formset in page.context["inline_admin_formsets"]
                   for f in formset.formset.forms]]:
        for name, field in form.fields.items():
            value = form[name].value()
            if value is None:
                continue
            if getattr(field.widget, "allow_multiple_selected", False):
                data[form.add_prefix(name)] = [str(getattr(v, "pk", v)) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[form.add_prefix(name)] = "on"
            else:
                data[form.add_prefix(name)] = value  # BoundField.value() is prepared
    for formset in page.context["inline_admin_formsets"]:
        management = formset.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
    return data


@pytest.mark.parametrize("prefix", ["timepoints", "arms"])
def test_a_crafted_inline_row_cannot_reach_another_studys_rows(client, world, prefix):
    """Post one's own study with an extra inline row whose id is the other study's."""
    client.force_login(world["manager"])
    demo, other = world["demo"], world["other"]
    data = study_form_data(client, demo)
    target = world["timepoint"] if prefix == "timepoints" else other.arms.get()
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = data[f"{prefix}-INITIAL_FORMS"] = str(n + 1)
    data[f"{prefix}-{n}-id"] = str(target.pk)
    data[f"{prefix}-{n}-study"] = str(demo.pk)
    if prefix == "timepoints":
        data.update({f"{prefix}-{n}-code": "zz_secret", f"{prefix}-{n}-label": "Hacked",
                     f"{prefix}-{n}-target_day": "400", f"{prefix}-{n}-window_before_days": "1",
                     f"{prefix}-{n}-window_after_days": "1"})
    else:
        data.update({f"{prefix}-{n}-code": "ZETA", f"{prefix}-{n}-name": "Hacked",
                     f"{prefix}-{n}-order": "9"})
    # Django looks the id up in the inline's (scoped) rows: not there, the row is
    # skipped as an existing row without an id; nothing is changed or created.
    client.post(change_url(demo), data)
    target.refresh_from_db()
    assert target.study_id == other.pk
    assert "Hacked" not in (getattr(target, "label", "") + getattr(target, "name", ""))
    assert not TimePoint.objects.filter(label="Hacked").exists()
    assert not Arm.objects.filter(name="Hacked").exists()
    # The same form without the crafted row saves: the attack was not refused for another reason.
    clean = study_form_data(client, demo)
    clean["title"] = "Renamed"
    reply = client.post(change_url(demo), clean)
    assert reply.status_code == 302, reply.context and reply.context["errors"]


def test_a_data_manager_reaches_no_user_role_or_task_admin(client, world):
    client.force_login(world["manager"])
    for name, args in [("auth_user_changelist", []), ("auth_user_add", []),
                       ("auth_user_change", [world["manager"].pk]),
                       ("auth_user_password_change", [world["manager"].pk]),
                       ("auth_group_changelist", []),
                       ("auth_group_change", [Group.objects.get(name="Data managers").pk]),
                       ("audit_auditrecord_changelist", []),
                       ("django_celery_beat_periodictask_changelist", []),
                       ("django_celery_beat_periodictask_add", []),
                       ("axes_accessattempt_changelist", []),
                       ("otp_totp_totpdevice_changelist", []),
                       ("otp_totp_totpdevice_add", []),
                       ("instruments_instrument_add", [])]:
        reply = client.get(reverse(f"admin:{name}", args=args))
        assert reply.status_code in (302, 403), name
        if reply.status_code == 302:
            assert reply["Location"] == reverse("admin:index"), name


# --- Cache-Control on every staff page --------------------------------------------------

def test_every_staff_page_that_answers_is_never_cached(db):
    """Every URL of the permission matrix, opened by the administrator past the second
    factor: a page or file that is not public must say no-store."""
    from django.test import Client

    from tests.integration import test_permissions as matrix

    world = matrix._build_world()
    client = matrix._client_for("administrator", world, Client)
    checked, cached = 0, []
    for method, name, kwargs, _expected in matrix.EXPECTED:
        if method != "GET" or name in matrix.OPEN_BEFORE_SECOND_FACTOR:
            continue
        url = matrix._url(name, kwargs, world)
        reply = client.get(url)
        if reply.status_code != 200:
            continue
        checked += 1
        if "no-store" not in reply.get("Cache-Control", ""):
            cached.append(f"{name}: {reply.get('Cache-Control')!r}")
    assert checked >= 14
    assert cached == []


def test_the_home_page_listing_ones_studies_is_never_cached(client, world):
    """Not behind ``requires`` (anyone may open it), yet to staff it lists their studies
    with patient counts: after logging out on a shared computer, Back must not show it."""
    client.force_login(world["manager"])
    reply = client.get(reverse("home"))
    assert "BMC-LBP" in reply.content.decode()
    assert "no-store" in reply.get("Cache-Control", "")


# --- The second factor ------------------------------------------------------------------

@pytest.fixture
def two_factor_world(world):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    world["other"].require_two_factor = True
    world["other"].save()
    root = User.objects.create_superuser("root", "root@example.org", "x" * 12)
    world["root"] = root
    world["device"] = TOTPDevice.objects.create(user=root, name="app", confirmed=True)
    return world


def passed_second_factor(client, device) -> None:
    from django_otp import DEVICE_ID_SESSION_KEY

    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


def test_an_administrator_without_the_second_factor_changes_nothing_in_the_admin(
        client, two_factor_world):
    world = two_factor_world
    client.force_login(world["root"])
    other = world["other"]
    for url, data in [
        (change_url(world["north"]), {"code": "NORTH", "name": "Taken",
                                      "staff": [world["manager"].pk]}),
        (reverse("admin:patients_site_add"), {"code": "EVIL", "name": "Evil"}),
        (reverse("admin:auth_user_change", args=[world["manager"].pk]),
         {"username": "datamanager", "is_superuser": "on", "is_staff": "on"}),
        (reverse("admin:auth_user_password_change", args=[world["manager"].pk]),
         {"password1": "N3w-secret-pass", "password2": "N3w-secret-pass"}),
    ]:
        reply = client.post(url, data)
        assert reply.status_code == 302, url
        assert "/accounts/two-factor/" in client.get(reply["Location"])["Location"], url
    world["north"].refresh_from_db()
    world["manager"].refresh_from_db()
    assert world["north"].name == "North clinic"
    assert not world["north"].staff.filter(pk=world["manager"].pk).exists()
    assert not Site.objects.filter(code="EVIL").exists()
    assert not world["manager"].is_superuser
    assert world["manager"].check_password("outcomes-demo")
    assert other.require_two_factor


@pytest.mark.parametrize("name", ["admin:jsi18n", "admin:autocomplete", "admin:password_change",
                                  "admin:index"])
def test_the_admins_side_doors_ask_for_the_second_factor_too(client, two_factor_world, name):
    client.force_login(two_factor_world["root"])
    reply = client.get(reverse(name), follow=True)
    assert reply.request["PATH_INFO"] == reverse("two-factor"), name


def test_a_second_factor_passed_in_one_session_does_not_open_another(client, two_factor_world):
    from django.test import Client

    world = two_factor_world
    url = reverse("patients:patient", kwargs={"code": "SECRETSTUDY",
                                              "patient_code": "NORTH-0001"})
    client.force_login(world["root"])
    passed_second_factor(client, world["device"])
    assert client.get(url).status_code == 200
    stolen_password = Client()
    stolen_password.force_login(world["root"])
    reply = stolen_password.get(url)
    assert reply.status_code == 302 and "/accounts/two-factor/" in reply["Location"]
    # Logging in again in the verified browser (another user, then back) starts over.
    client.force_login(world["manager"])
    client.force_login(world["root"])
    assert client.get(url).status_code == 302


def test_another_users_device_does_not_pass_the_second_factor(client, two_factor_world):
    world = two_factor_world
    other_root = User.objects.create_superuser("root2", "root2@example.org", "x" * 12)
    client.force_login(other_root)
    passed_second_factor(client, world["device"])  # root's device, in root2's session
    reply = client.get(reverse("admin:index"), follow=True)
    assert reply.request["PATH_INFO"] == reverse("two-factor")


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/",
                                    "/\\evil.example/", "\\\\evil.example", "javascript:alert(1)"])
def test_the_second_factor_page_sends_nobody_elsewhere(client, two_factor_world, target):
    world = two_factor_world
    client.force_login(world["root"])
    passed_second_factor(client, world["device"])
    reply = client.get(reverse("two-factor"), {"next": target})
    assert reply.status_code == 302
    assert reply["Location"] == "/"


# --- Production settings: every process, with or without DJANGO_SETTINGS_MODULE -----------

def start_process(code: str, **changes) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter with the production-like environment of
    test_production_settings, without DJANGO_SETTINGS_MODULE unless given."""
    from tests.integration.test_production_settings import GOOD, ROOT

    env = {k: v for k, v in os.environ.items()
           if k not in GOOD and k not in ("DJANGO_SETTINGS_MODULE", "SMS_BACKEND")}
    env.update({k: v for k, v in GOOD.items() if k != "DJANGO_SETTINGS_MODULE"})
    env.update(changes)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


SHOW_SETTINGS = ("import django; from django.conf import settings; django.setup(); "
                 "print(settings.SETTINGS_MODULE, settings.EMAIL_BACKEND)")


@pytest.mark.parametrize("entry", ["outcomes.wsgi", "outcomes.asgi", "outcomes.celery"])
def test_the_web_and_worker_entry_points_default_to_the_production_settings(entry):
    """``wsgi.py`` means to default to production, but importing it imports the package
    ``outcomes`` first, whose ``celery.py`` set the development default before: a
    ``gunicorn outcomes.wsgi`` or ``celery -A outcomes worker`` without
    DJANGO_SETTINGS_MODULE ran on the base settings (console email, no secure cookies)."""
    result = start_process(f"import {entry}; {SHOW_SETTINGS}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "outcomes.settings.production", result.stdout


@pytest.mark.parametrize("entry", ["outcomes.wsgi", "outcomes.celery"])
def test_the_web_and_worker_refuse_console_email_without_a_settings_variable(entry):
    result = start_process(f"import {entry}; {SHOW_SETTINGS}",
                           EMAIL_BACKEND="django.core.mail.backends.console.EmailBackend")
    assert result.returncode != 0
    assert "EMAIL_BACKEND" in result.stderr


# --- The client's address ---------------------------------------------------------------

@pytest.mark.parametrize(("proxies", "remote", "forwarded", "expected"), [
    # Two X-Forwarded-For headers reach Django joined with a comma (gunicorn does so):
    # the forged first header stays on the left.
    (["10.0.0.0/8"], "10.0.0.2", "6.6.6.6,203.0.113.9", "203.0.113.9"),
    # A forged entry that is itself a trusted address does not end the walk early.
    (["10.0.0.0/8"], "10.0.0.2", "203.0.113.9, 10.0.0.7", "203.0.113.9"),
    (["10.0.0.0/8"], "10.0.0.2", "10.0.0.7, 203.0.113.9", "203.0.113.9"),
    # IPv6 clients behind an IPv6 proxy network, spelled in any case.
    (["2001:db8:1::/48"], "2001:db8:1::2", "2001:DB8:FFFF::9", "2001:db8:ffff::9"),
    # An IPv4-mapped peer is not the IPv4 proxy network: not believed (fails closed).
    (["10.0.0.0/8"], "::ffff:10.0.0.2", "6.6.6.6", "::ffff:10.0.0.2"),
    # Not from a proxy: a header naming localhost changes nothing.
    (["127.0.0.1"], "203.0.113.9", "127.0.0.1", "203.0.113.9"),
])
def test_a_forged_forwarded_for_does_not_choose_the_address(settings, proxies, remote,
                                                            forwarded, expected):
    from types import SimpleNamespace

    from outcomes.clients import client_ip

    settings.TRUSTED_PROXIES = proxies
    meta = {"REMOTE_ADDR": remote, "HTTP_X_FORWARDED_FOR": forwarded}
    assert client_ip(SimpleNamespace(META=meta)) == expected


def test_a_mistyped_trusted_proxy_stops_the_start_not_every_login():
    """TRUSTED_PROXIES=localhost (a name, not an address) made every login and every
    private link answer 500, from the first request on; it must stop the start."""
    result = start_process(SHOW_SETTINGS, DJANGO_SETTINGS_MODULE="outcomes.settings.base",
                           TRUSTED_PROXIES="localhost")
    assert result.returncode != 0
    assert "TRUSTED_PROXIES" in result.stderr and "localhost" in result.stderr


# --- Tokens in logs ---------------------------------------------------------------------

RESET_TOKEN = "cz5b1k-7f0e6a2d9c4b8e1f3a5d7c9b0e2f4a6c"  # Django's "<base36 time>-<hash>"


@pytest.mark.parametrize("atom", ["U", "r", "{raw_uri}e"])
def test_a_password_reset_link_is_redacted_in_the_access_log(atom):
    """/accounts/reset/<uid>/<token>/ opens the account (until used or for three days):
    the access log the Procfile writes (%(U)s) held it in full."""
    from outcomes.gunicorn_logging import RedactedAtoms

    path = f"/accounts/reset/MQ/{RESET_TOKEN}/"
    atoms = RedactedAtoms({"U": path, "r": f"GET {path} HTTP/1.1", "{raw_uri}e": path})
    assert RESET_TOKEN not in atoms[atom]
    assert "/accounts/reset/MQ/" in atoms[atom]


@pytest.mark.parametrize("text", [
    f"GET /accounts/reset/MQ/{RESET_TOKEN}/ HTTP/1.1",
    f"GET /accounts/reset%2FMQ%2F{RESET_TOKEN}%2F HTTP/1.1",
    f"https://outcomes.example.org/accounts/reset/Mjc/{RESET_TOKEN}/",
    f"next=%252Faccounts%252Freset%252FMQ%252F{RESET_TOKEN}%252F",
])
def test_a_password_reset_token_is_redacted_however_spelled(text):
    from outcomes.logging import redact, redact_url

    for redacted in (redact(text), redact_url(text)):
        assert RESET_TOKEN not in redacted, redacted
        assert RESET_TOKEN.split("-")[1] not in redacted, redacted


@pytest.mark.parametrize("text", [
    "GET /accounts/reset/MQ/set-password/ HTTP/1.1",  # the token is in the session then
    "GET /accounts/reset/done/ HTTP/1.1",
    "GET /accounts/password_reset/ HTTP/1.1",
])
def test_the_password_reset_pages_without_a_token_are_left_alone(text):
    from outcomes.logging import redact, redact_url

    assert redact(text) == text
    assert redact_url(text) == text


def test_django_logs_no_token_of_a_link_with_extra_words_after_it(client, demo, caplog):
    """A private link with something after it (a mail client's ')' or a scanner's junk)
    is a 404 that Django logs: the token must not be in the line."""
    import logging

    from outcomes.followups.links import ensure_link
    from outcomes.followups.models import Visit

    token = ensure_link(visit=Visit.objects.filter(status="open").first())
    with caplog.at_level(logging.WARNING, logger="django.request"):
        for suffix in ("junk/", ")", "2/%E2%80%8B", "%0A", "done/x/"):
            client.get(f"/s/{token}/{suffix}")
    lines = [handler_format(record) for record in caplog.records]
    assert lines, "the 404s were logged"
    assert [line for line in lines if token in line or token[:20] in line] == []


def handler_format(record) -> str:
    """The line the console handler writes, after its filter (as in LOGGING)."""
    import logging

    from outcomes.logging import RedactSurveyTokens

    RedactSurveyTokens().filter(record)
    return logging.Formatter("%(message)s").format(record)


# --- What PostgreSQL refuses ------------------------------------------------------------

def on_postgresql():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the triggers are PostgreSQL's; CI runs this in its PostgreSQL pass")
    return connection


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "TRUNCATE patients_enrolment CASCADE",  # enrolment → visits → responses
    "TRUNCATE followups_visit CASCADE",
    "TRUNCATE patients_study CASCADE",
    "TRUNCATE patients_site, patients_patient CASCADE",
    "TRUNCATE auth_user CASCADE",  # audit records name their actor
])
def test_truncating_a_parent_table_does_not_empty_responses_or_the_audit(demo, statement):
    from django.db import DatabaseError, transaction

    from outcomes.audit.models import AuditRecord

    connection = on_postgresql()
    responses, records = Response.objects.count(), AuditRecord.objects.count()
    assert responses and records
    with pytest.raises(DatabaseError, match="never emptied"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute("SET LOCAL outcomes.allow_truncate = off")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement)
    assert (Response.objects.count(), AuditRecord.objects.count()) == (responses, records)


@pytest.mark.postgres
@pytest.mark.parametrize("statement", [
    "DELETE FROM followups_visit WHERE id = %(visit)s",
    "DELETE FROM patients_enrolment WHERE id = %(enrolment)s",
])
def test_deleting_a_visit_or_an_enrolment_by_sql_does_not_take_its_responses(demo, statement):
    from django.db import DatabaseError, transaction

    connection = on_postgresql()
    response = Response.objects.filter(state="completed").select_related("visit").first()
    params = {"visit": response.visit_id, "enrolment": response.visit.enrolment_id}
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(statement, params)
    assert Response.objects.filter(pk=response.pk).exists()


def test_deleting_a_visit_through_django_does_not_take_its_responses(demo):
    from django.db import transaction
    from django.db.models import ProtectedError

    from outcomes.followups.models import Visit

    response = Response.objects.filter(state="completed").first()
    with pytest.raises(ProtectedError), transaction.atomic():
        Visit.objects.filter(pk=response.visit_id).delete()
    assert Response.objects.filter(pk=response.pk).exists()


@pytest.mark.postgres
def test_any_session_may_allow_truncate_for_itself(demo):
    """What README says, and its limit: the switch is a setting any client may set, so it
    guards against a mistake, not against a client that means it (a role without the
    TRUNCATE privilege does)."""
    from django.db import transaction

    connection = on_postgresql()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL outcomes.allow_truncate = on")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("TRUNCATE instruments_response CASCADE")
        assert Response.objects.count() == 0
        transaction.set_rollback(True)
    assert Response.objects.exists()


@pytest.mark.postgres
def test_a_completed_responses_answers_can_be_rewritten_by_sql(demo):
    """README claims no more than this: responses are never deleted or emptied; an UPDATE
    of a completed response's answers by raw SQL is not refused (and not audited)."""
    from django.db import transaction

    connection = on_postgresql()
    response = Response.objects.filter(state="completed").first()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE instruments_response SET answers = '{}' WHERE id = %s",
                       [response.pk])
        assert Response.objects.get(pk=response.pk).answers == {}
        transaction.set_rollback(True)


# --- Index date, withdrawal, pause, resend ----------------------------------------------

@pytest.fixture
def withdrawn(study):
    """A patient 20 days after the index date (baseline missed, 1 month not yet open),
    withdrawn: the visits to come are closed."""
    import datetime as dt

    from patients.services import set_enrolment_status

    today = dt.date(2026, 6, 1)
    enrolment = enrol(study, "W-1", index_date=today - dt.timedelta(days=20), today=today,
                      contact={"email": "w1@example.org"})
    coordinator = User.objects.create_user("coord-w")
    set_enrolment_status(enrolment=enrolment, status="withdrawn", reason="moved abroad",
                         actor=coordinator)
    return enrolment, coordinator, today


def test_moving_a_withdrawn_patients_index_date_reopens_no_visit(withdrawn):
    """The withdrawal closed the visits to come; moving the index date to today then
    re-opened the missed baseline of a patient who left the study (worklists and results
    counted it as pending). The date moves (a correction of fact), no visit opens."""
    from outcomes.followups.services import change_index_date

    enrolment, coordinator, today = withdrawn
    before = dict(enrolment.visits.values_list("timepoint__code", "status"))
    assert before == {"baseline": "missed", "m1": "not_applicable", "m3": "not_applicable",
                      "m6": "not_applicable", "m12": "not_applicable"}
    change_index_date(enrolment=enrolment, index_date=today, reason="typo",
                      actor=coordinator, today=today)
    enrolment.refresh_from_db()
    assert enrolment.index_date == today
    baseline = enrolment.visits.get(timepoint__code="baseline")
    assert baseline.target_date == today  # re-dated …
    after = dict(enrolment.visits.values_list("timepoint__code", "status"))
    assert after == {**before, "baseline": "not_applicable"}  # … and closed, not open


def test_the_audit_of_an_index_date_move_has_the_date_it_replaced(withdrawn):
    """Two coordinators move the same date from the same page: the second move's "before"
    is the first move's date, not the one on the second coordinator's page."""
    import datetime as dt

    from outcomes.audit.models import AuditRecord
    from outcomes.followups.services import change_index_date
    from patients.models import Enrolment

    enrolment, coordinator, today = withdrawn
    original = enrolment.index_date
    first, second = (Enrolment.objects.get(pk=enrolment.pk) for _ in range(2))
    change_index_date(enrolment=first, index_date=original + dt.timedelta(days=2),
                      reason="first", actor=coordinator, today=today)
    change_index_date(enrolment=second, index_date=original + dt.timedelta(days=4),
                      reason="second", actor=coordinator, today=today)
    record = AuditRecord.objects.get(object_type="patients.enrolment", reason="second")
    assert record.changes["index_date"] == [str(original + dt.timedelta(days=2)),
                                            str(original + dt.timedelta(days=4))]


@pytest.fixture
def waiting_invitation(study):
    """A patient whose 1-month invitation was planned and is still waiting to go (the
    mail server failed once: it waits for its retry)."""
    import datetime as dt

    from outcomes.followups.models import Reminder

    index = dt.date(2026, 1, 15)
    enrolment = enrol(study, "P-1", index_date=index, today=index - dt.timedelta(days=7),
                      contact={"email": "p1@example.org", "preferred_channel": "email"})
    m1 = enrolment.visits.get(timepoint__code="m1")
    opens = m1.window_open_date
    Visit = type(m1)
    Visit.objects.filter(pk=m1.pk).update(status=Visit.Status.OPEN)
    Reminder.objects.create(visit=m1, kind="invitation", channel="email", attempts=1,
                            last_error="SMTPServerDisconnected")
    return enrolment, m1, opens


def sent_kinds(visit) -> list[str]:
    return list(visit.reminders.filter(status="sent").values_list("kind", flat=True))


def run_on(day):
    import datetime as dt

    from outcomes.followups.reminders import run_reminders

    run_reminders(now=dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC))


def test_an_invitation_cancelled_by_a_pause_goes_once_the_patient_is_resumed(
        waiting_invitation):
    import datetime as dt

    from patients.services import set_enrolment_status

    enrolment, m1, opens = waiting_invitation
    coordinator = User.objects.create_user("coord-p")
    set_enrolment_status(enrolment=enrolment, status="paused", reason="in hospital",
                         actor=coordinator)
    run_on(opens)  # the waiting invitation comes up: cancelled, the patient is paused
    assert m1.reminders.get().status == "cancelled"
    set_enrolment_status(enrolment=enrolment, status="active", reason="", actor=coordinator)
    run_on(opens + dt.timedelta(days=1))
    assert sent_kinds(m1) == ["invitation"]


def test_an_index_date_move_plans_the_cancelled_invitation_again_from_the_new_window(
        waiting_invitation):
    """change_index_date's promise: reminders not yet sent for a moved visit are
    cancelled, "and the next reminder run plans them again from the new window"."""
    import datetime as dt

    from outcomes.followups.services import change_index_date

    enrolment, m1, opens = waiting_invitation
    later = enrolment.index_date + dt.timedelta(days=14)
    change_index_date(enrolment=enrolment, index_date=later, reason="procedure postponed",
                      today=opens)
    assert m1.reminders.get().status == "cancelled"
    m1.refresh_from_db()
    run_on(m1.window_open_date)
    assert sent_kinds(m1) == ["invitation"]


# --- Responder rules set up in the admin ------------------------------------------------

def rule_form_data(client, rule) -> dict:
    form = client.get(change_url(rule)).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "parts"}
    data["parts"] = [str(p.pk) for p in rule.parts.all()]
    return data


@pytest.mark.parametrize("part", ["itself", "another_study"])
def test_a_combination_cannot_take_itself_or_another_studys_rule_as_a_part(
        client, world, part):
    """The admin offered every rule of one's studies as a part: a combination holding
    itself, or a rule of another study (whose code this study does not know), made every
    submit of the study fail (evaluate_all: "includes itself" / "unknown rule")."""
    client.force_login(world["manager"])
    demo = world["demo"]
    primary = ResponderRule.objects.get(study=demo, code="primary")
    if part == "itself":
        extra = primary
    else:
        extra = ResponderRule.objects.create(study=Study.objects.get(code="SECONDOWN"),
                                             code="own_only", score="nrs", kind="points",
                                             direction="decrease", threshold=2)
    data = rule_form_data(client, primary)
    data["parts"].append(str(extra.pk))
    reply = client.post(change_url(primary), data)
    assert reply.status_code == 200  # the form again, with the error
    assert "parts" in reply.context["adminform"].form.errors
    assert set(primary.parts.values_list("code", flat=True)) == {"odi_mcid_10pt", "nrs_2pt"}
    # The study's responder verdicts are still computed.
    from outcomes.instruments.services import refresh_responder_statuses

    refresh_responder_statuses(enrolment=demo.enrolments.first())


def test_a_combination_cannot_include_itself_through_another_and_a_sound_part_saves(
        client, world):
    client.force_login(world["manager"])
    demo = world["demo"]
    primary = ResponderRule.objects.get(study=demo, code="primary")
    wider = ResponderRule.objects.create(study=demo, code="wider", kind="all", order=9)
    wider.parts.add(primary)
    data = rule_form_data(client, primary)
    data["parts"].append(str(wider.pk))
    reply = client.post(change_url(primary), data)
    assert reply.status_code == 200
    assert reply.context["adminform"].form.errors["parts"] == [
        "A combination cannot include itself: primary → wider → primary."]
    # A part of the same study that leads nowhere back is fine.
    sound = ResponderRule.objects.get(study=demo, code="nrs_30pct")
    data = rule_form_data(client, primary)
    data["parts"].append(str(sound.pk))
    assert client.post(change_url(primary), data).status_code == 302
    assert primary.parts.filter(pk=sound.pk).exists()


# --- Login edges (run on PostgreSQL too) ------------------------------------------------

@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/"])
@pytest.mark.parametrize("username", ["u" * 300, "nul\x00name", "é" * 200, " ", "x" * 150])
def test_odd_usernames_at_either_login_get_the_form_again(client, db, url, username):
    for _ in range(6):  # past the lockout limit too
        reply = client.post(url, {"username": username, "password": "wrong"})
        assert reply.status_code in (200, 429), reply.status_code
    assert reply.status_code in (200, 429)


@pytest.mark.parametrize("email", ["a" * 300 + "@example.org", "nul\x00@example.org"])
def test_odd_addresses_at_password_reset_get_the_form_again(client, db, email):
    reply = client.post("/accounts/password_reset/", {"email": email})
    assert reply.status_code in (200, 302)


# --- CSV ----------------------------------------------------------------------------------

def test_no_module_writes_csv_but_the_one_writer():
    """A new CSV that bypassed outcomes/csvfiles.py would bypass the formula rule too."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    writers = re.compile(r"csv\s*\.\s*(writer|DictWriter)\b|from\s+csv\s+import[^\n]*\b(writer|"
                         r"DictWriter)\b")
    offenders = [str(path.relative_to(root))
                 # bench/ writes import files as a clinic would hand them over (a mobile
                 # "+44 …" raw): input for import_study, never a download.
                 for folder in ("outcomes", "patients", "scripts")
                 for path in (root / folder).rglob("*.py")
                 if writers.search(path.read_text()) and path.name != "csvfiles.py"]
    assert offenders == []


@pytest.mark.parametrize(("cell", "written"), [
    ("=1+1", "'=1+1"), ("-", "'-"), ("+", "'+"), ("@", "'@"),
    ("-2+3@x", "'-2+3@x"), ("+44 7700 900123", "'+44 7700 900123"),  # a mobile number
    ("\n=1+1", "'\n=1+1"), ("\x00=1", "'\x00=1"),
    ("-0.109", "-0.109"), ("+3", "+3"), ("-1e-5", "-1e-5"), ("1-1", "1-1"),
    ("-5\n", "'-5\n"),  # a number then a line: not a plain number
    ("-١", "'-١"),  # an Arabic-Indic digit is no plain ASCII number
    ("-inf", "'-inf"), ("-nan", "'-nan"),
])
def test_the_formula_rule_on_edge_cells(cell, written):
    from outcomes.csvfiles import safe_cell

    assert safe_cell(cell) == written


def test_the_deploy_check_fails_on_mail_from_localhost():
    """Production kept DEFAULT_FROM_EMAIL=outcomes@localhost when unset: reminders and
    password resets went out from a domain no receiving server accepts (SPF, DMARC), so
    they bounced or went to spam, unseen."""
    from tests.integration.test_production_settings import deploy_check

    result = deploy_check(DEFAULT_FROM_EMAIL=None)
    assert result.returncode != 0
    assert "DEFAULT_FROM_EMAIL" in result.stderr + result.stdout
    assert deploy_check(DEFAULT_FROM_EMAIL="Clinic <outcomes@localhost.localdomain>"
                        ).returncode != 0


def test_a_data_manager_cannot_put_their_study_at_a_site_they_do_not_see(client, world):
    """The other way into NORTH: add one's own study to NORTH, then hope NORTH's staff
    or patients show up. The site is not a valid choice."""
    client.force_login(world["manager"])
    second = Study.objects.get(code="SECONDOWN")
    data = study_form_data(client, second)
    data["sites"] = [str(Site.objects.get(code="MAIN").pk), str(world["north"].pk)]
    reply = client.post(change_url(second), data)
    assert reply.status_code == 200
    assert "sites" in reply.context["adminform"].form.errors
    assert set(second.sites.values_list("code", flat=True)) == {"MAIN"}
    # Nor by adding a new study there.
    reply = client.post(reverse("admin:patients_study_add"), {
        **{k: v for k, v in data.items() if not k.startswith(("arms-", "timepoints-"))},
        "code": "TROJAN", "sites": [str(world["north"].pk)],
        "arms-TOTAL_FORMS": "0", "arms-INITIAL_FORMS": "0",
        "timepoints-TOTAL_FORMS": "0", "timepoints-INITIAL_FORMS": "0"})
    assert not Study.objects.filter(code="TROJAN", sites=world["north"]).exists()


@pytest.mark.parametrize("status", ["completed", "missed", "scheduled"])
def test_a_resend_of_a_visit_that_is_not_open_is_refused_not_promised(study, status):
    """The page shows "Send the link again" for open visits only, but a posted resend for
    another visit (a stale page, a double click after the patient answered) was told
    "is being sent again", then cancelled unseen when its turn came."""
    import datetime as dt

    from django.core.exceptions import ValidationError

    from outcomes.followups.models import Reminder, Visit
    from outcomes.followups.reminders import resend_link

    today = dt.date(2026, 6, 1)
    enrolment = enrol(study, "R-9", index_date=today, today=today,
                      contact={"email": "r9@example.org"})
    visit = enrolment.visits.get(timepoint__code="baseline")
    Visit.objects.filter(pk=visit.pk).update(status=status)
    visit.refresh_from_db()
    with pytest.raises(ValidationError, match="baseline visit"):
        resend_link(visit=visit, actor=User.objects.create_user("coord-r"))
    assert not Reminder.objects.filter(visit=visit).exists()


def test_a_password_reset_asked_for_with_a_forged_host_sends_no_link_there(client, db):
    """The reset email's link is built from the request's host: a forged Host or
    X-Forwarded-Host must not put the victim's token on an attacker's server."""
    from django.core import mail

    User.objects.create_user("victim", email="victim@example.org", password="x" * 12)
    forged = client.post("/accounts/password_reset/", {"email": "victim@example.org"},
                         HTTP_HOST="evil.example")
    assert forged.status_code == 400
    client.post("/accounts/password_reset/", {"email": "victim@example.org"},
                HTTP_X_FORWARDED_HOST="evil.example")
    assert all("evil.example" not in m.body for m in mail.outbox)
    assert len(mail.outbox) == 1 and "testserver" in mail.outbox[0].body
