"""The admin is scoped like the app: a data manager of site MAIN cannot see or change
another site's patients, another study's set-up, nor grant themselves a site; the
administrator passes the second factor where a study requires it; set-up and staff
changes are in the audit trail with before and after."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import TimePoint
from outcomes.instruments.models import ResponderRule, Response
from patients.models import Arm, Site, Study
from tests.conftest import DEMO_NOW
from tests.factories import enrol

TODAY = DEMO_NOW.date()


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


@pytest.fixture
def world(demo):
    """BMC-LBP at MAIN (the demo) and a second study OTHER at NORTH, with a patient."""
    north = Site.objects.create(code="NORTH", name="North clinic")
    other = Study.objects.create(code="OTHER", title="Other study", contact_phone="555-0100",
                                 require_two_factor=True)
    other.sites.add(north)
    Arm.objects.create(study=other, code="A", name="Arm A")
    TimePoint.objects.create(study=other, code="baseline", label="Baseline", target_day=0,
                             window_before_days=7, window_after_days=7, is_baseline=True)
    demo.sites.add(north)  # BMC-LBP runs at both sites
    enrol(demo, "NORTH-1", site="NORTH", index_date=TODAY, today=TODAY,
          contact={"email": "north1@example.org"})
    manager = User.objects.get(username="datamanager")
    north_manager = User.objects.create_user("dm-north", password="x" * 12, is_staff=True)
    north_manager.groups.add(Group.objects.get(name="Data managers"))
    north.staff.add(north_manager)
    return {"demo": demo, "other": other, "north": north, "main": Site.objects.get(code="MAIN"),
            "manager": manager, "north_manager": north_manager}


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def test_a_data_manager_cannot_open_or_join_another_site(client, world):
    client.force_login(world["manager"])
    north = world["north"]
    assert client.get(change_url(north)).status_code == 302  # "does not exist"
    reply = client.post(change_url(north), {"code": "NORTH", "name": "North clinic",
                                            "staff": [world["manager"].pk]})
    assert reply.status_code == 302
    assert not north.staff.filter(pk=world["manager"].pk).exists()
    # ... and the site's patients stay out of reach.
    assert client.get(reverse("patients:patient", kwargs={
        "code": "BMC-LBP", "patient_code": "NORTH-1"})).status_code == 404


def test_a_data_manager_cannot_grant_membership_of_their_own_site(client, world):
    client.force_login(world["manager"])
    main = world["main"]
    page = client.get(change_url(main))
    assert page.status_code == 200
    assert 'name="staff"' not in page.content.decode()  # no staff picker
    assert "datamanager" in page.content.decode()  # but the staff are listed
    client.post(change_url(main), {"code": "MAIN", "name": "Main clinic",
                                   "staff": [world["north_manager"].pk]})
    assert not main.staff.filter(pk=world["north_manager"].pk).exists()


def test_the_administrator_grants_membership_and_it_is_audited(client, world):
    Study.objects.update(require_two_factor=False)
    root = User.objects.create_superuser("root", "root@example.org", "x" * 12)
    client.force_login(root)
    north = world["north"]
    reply = client.post(change_url(north), {
        "code": "NORTH", "name": "North clinic",
        "staff": [world["north_manager"].pk, world["manager"].pk]})
    assert reply.status_code == 302
    assert north.staff.filter(pk=world["manager"].pk).exists()
    record = AuditRecord.objects.filter(object_type="patients.site", object_id=str(north.pk),
                                        actor=root).exclude(changes={}).latest("id")
    assert record.changes["staff"] == [["dm-north"], ["datamanager", "dm-north"]]


def test_another_studys_set_up_is_out_of_reach(client, world):
    client.force_login(world["manager"])
    other = world["other"]
    timepoint = other.timepoints.get()
    for obj in (other, timepoint, other.arms.get()):
        assert client.get(change_url(obj)).status_code == 302, obj
    client.post(change_url(timepoint), {"study": other.pk, "code": "baseline",
                                        "label": "Hacked", "target_day": 0,
                                        "window_before_days": 99, "window_after_days": 99,
                                        "items-TOTAL_FORMS": 0, "items-INITIAL_FORMS": 0})
    timepoint.refresh_from_db()
    assert (timepoint.label, timepoint.window_before_days) == ("Baseline", 7)
    # The patient-facing contact of the other study cannot be changed either.
    client.post(change_url(other), {"code": "OTHER", "title": "x", "time_zone": "UTC",
                                    "contact_phone": "=HYPERLINK(1)",
                                    "last_call_days_before_close": 2,
                                    "quiet_hours_start": 20, "quiet_hours_end": 8,
                                    "reminder_days": "[]",
                                    "arms-TOTAL_FORMS": 0, "arms-INITIAL_FORMS": 0,
                                    "timepoints-TOTAL_FORMS": 0, "timepoints-INITIAL_FORMS": 0})
    other.refresh_from_db()
    assert other.contact_phone == "555-0100"
    listing = client.get(reverse("admin:followups_timepoint_changelist"))
    studies = {tp.study.code for tp in listing.context["cl"].result_list}
    assert studies == {"BMC-LBP"}


def test_choices_hold_only_ones_own_studies_and_sites(client, world):
    client.force_login(world["manager"])
    form = client.get(reverse("admin:followups_timepoint_add")).context["adminform"].form
    assert {s.code for s in form.fields["study"].queryset} == {"BMC-LBP"}
    form = client.get(reverse("admin:instruments_responderrule_add")).context["adminform"].form
    assert {s.code for s in form.fields["study"].queryset} == {"BMC-LBP"}
    assert {r.study.code for r in form.fields["parts"].queryset} == {"BMC-LBP"}
    form = client.get(change_url(world["demo"])).context["adminform"].form
    assert {s.code for s in form.fields["sites"].queryset} == {"MAIN"}
    assert "require_two_factor" in form.fields


def test_saving_a_study_keeps_the_sites_the_form_did_not_show(client, world):
    client.force_login(world["manager"])
    demo = world["demo"]
    form = client.get(change_url(demo)).context["adminform"].form
    data = {name: value for name, value in form.initial.items()
            if value is not None and name not in ("sites",)}
    data.update({"sites": [world["main"].pk], "title": "Renamed", "reminder_days": "[3, 7]",
                 "arms-TOTAL_FORMS": 0, "arms-INITIAL_FORMS": 0,
                 "timepoints-TOTAL_FORMS": 0, "timepoints-INITIAL_FORMS": 0,
                 "primary_comparisons-TOTAL_FORMS": 0,
                 "primary_comparisons-INITIAL_FORMS": 0})
    data.pop("require_two_factor", None)
    reply = client.post(change_url(demo), data)
    assert reply.status_code == 302, reply.context["adminform"].form.errors
    demo.refresh_from_db()
    assert demo.title == "Renamed"
    assert set(demo.sites.values_list("code", flat=True)) == {"MAIN", "NORTH"}
    record = AuditRecord.objects.filter(object_type="patients.study", object_id=str(demo.pk),
                                        action="update").exclude(changes={}).first()
    assert record.actor == world["manager"]
    assert record.changes["title"][1] == "Renamed"


def test_the_response_list_holds_only_ones_sites_answers(client, world):
    north_visit = (world["demo"].enrolments.get(patient__code="NORTH-1").visits
                   .order_by("target_date").first())
    Response.objects.create(visit=north_visit, instrument=north_visit.timepoint.instruments
                            .first(), answers={"pain": 3}, state="completed",
                            completed_at=DEMO_NOW)
    client.force_login(world["manager"])
    listing = client.get(reverse("admin:instruments_response_changelist"), {"q": "NORTH"})
    assert listing.status_code == 200
    assert list(listing.context["cl"].result_list) == []
    everything = client.get(reverse("admin:instruments_response_changelist"))
    sites = {r.visit.enrolment.site.code for r in everything.context["cl"].result_list}
    assert sites == {"MAIN"}
    north_response = Response.objects.get(visit=north_visit)
    assert client.get(change_url(north_response)).status_code == 302


def test_a_response_page_in_the_admin_is_read_only(client, world):
    client.force_login(world["manager"])
    response = Response.objects.filter(visit__enrolment__site__code="MAIN").first()
    page = client.get(change_url(response))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()


def test_the_administrator_passes_the_second_factor_when_any_study_requires_it(client, world):
    root = User.objects.create_superuser("root", "root@example.org", "x" * 12)
    client.force_login(root)
    for url in (reverse("patients:patient", kwargs={"code": "OTHER", "patient_code": "x"}),
                reverse("patients:export", kwargs={"code": "BMC-LBP", "kind": "identified"}),
                reverse("admin:index"),
                reverse("admin:instruments_response_changelist"),
                reverse("password_change")):
        reply = client.get(url, follow=True)
        assert reply.redirect_chain, url
        assert reply.request["PATH_INFO"] == "/accounts/two-factor/", url
    assert "BMC-LBP" not in client.get(reverse("home")).content.decode()


def test_a_user_stopped_at_the_second_factor_sees_no_study_and_keeps_their_password(
        client, world):
    world["demo"].require_two_factor = True
    world["demo"].save()
    client.force_login(world["manager"])
    home = client.get(reverse("home")).content.decode()
    assert "BMC-LBP" not in home and "/accounts/two-factor/" in home
    reply = client.post(reverse("password_change"), {
        "old_password": "outcomes-demo", "new_password1": "N3w-secret-pass",
        "new_password2": "N3w-secret-pass"})
    assert reply.status_code == 302 and "/accounts/two-factor/" in reply["Location"]
    world["manager"].refresh_from_db()
    assert world["manager"].check_password("outcomes-demo")


def test_a_data_manager_names_the_reference_arm_and_a_primary_comparison(client, world):
    from patients.models import PrimaryComparison

    client.force_login(world["manager"])
    demo = world["demo"]
    page = client.get(change_url(demo))
    form = page.context["adminform"].form
    # The choices are the user's own studies' arms (OTHER's arm A is not among them).
    assert {a.code for a in form.fields["reference_arm"].queryset} == {"BMC", "CONTROL"}
    data = {name: value for name, value in form.initial.items() if value is not None}
    bmc = Arm.objects.get(study=demo, code="BMC")
    rule = ResponderRule.objects.get(study=demo, code="primary")
    m6 = TimePoint.objects.get(study=demo, code="m6")
    existing = list(PrimaryComparison.objects.filter(study=demo).order_by("order"))
    data.update({"sites": [world["main"].pk], "reminder_days": "[3, 7]",
                 "reference_arm": bmc.pk,
                 "arms-TOTAL_FORMS": 0, "arms-INITIAL_FORMS": 0,
                 "timepoints-TOTAL_FORMS": 0, "timepoints-INITIAL_FORMS": 0,
                 "primary_comparisons-TOTAL_FORMS": len(existing) + 1,
                 "primary_comparisons-INITIAL_FORMS": len(existing)})
    for i, row in enumerate(existing):
        data.update({f"primary_comparisons-{i}-id": row.pk,
                     f"primary_comparisons-{i}-study": demo.pk,
                     f"primary_comparisons-{i}-rule": row.rule_id,
                     f"primary_comparisons-{i}-timepoint": row.timepoint_id,
                     f"primary_comparisons-{i}-order": row.order})
    new = len(existing)
    data.update({f"primary_comparisons-{new}-study": demo.pk,
                 f"primary_comparisons-{new}-rule": rule.pk,
                 f"primary_comparisons-{new}-timepoint": m6.pk,
                 f"primary_comparisons-{new}-order": 5})
    data.pop("require_two_factor", None)
    reply = client.post(change_url(demo), data)
    assert reply.status_code == 302, reply.context["adminform"].form.errors
    demo.refresh_from_db()
    assert demo.reference_arm == bmc
    assert PrimaryComparison.objects.filter(study=demo, rule=rule, timepoint=m6).exists()
    record = AuditRecord.objects.filter(object_type="patients.study", object_id=str(demo.pk),
                                        action="update").latest("id")
    control = Arm.objects.get(study=demo, code="CONTROL")
    assert record.changes["reference_arm_id"] == [control.pk, bmc.pk]  # before, after


def test_study_set_up_changes_are_audited_with_before_and_after(client, world):
    client.force_login(world["manager"])
    rule = ResponderRule.objects.get(study=world["demo"], code="nrs_30pct")
    form = client.get(change_url(rule)).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data["threshold"] = "33"
    data["parts"] = []
    client.post(change_url(rule), data)
    rule.refresh_from_db()
    assert rule.threshold == 33
    record = AuditRecord.objects.filter(object_type="instruments.responderrule",
                                        object_id=str(rule.pk)).latest("id")
    assert record.actor == world["manager"]
    assert [str(v) for v in record.changes["threshold"]] == ["30.000", "33.000"] or \
        record.changes["threshold"][1] != record.changes["threshold"][0]


def test_a_model_without_a_declared_scope_shows_nothing_to_a_data_manager(world):
    from django_celery_beat.models import PeriodicTask

    from outcomes.admin_scope import scoped

    assert scoped(PeriodicTask.objects.all(), world["manager"]).query.is_empty()

