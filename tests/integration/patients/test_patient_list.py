"""The patient list: search, filters, pagination, scoping and the visit-state grid."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.db.models import Value
from django.db.models.functions import Concat, Replace
from django.urls import reverse

from outcomes.audit.models import AuditRecord
from outcomes.followups.models import Visit
from patients.models import Contact, Enrolment, Site
from tests.factories import bulk_cohort, enrol
from tests.htmltree import parse

TODAY = dt.date(2026, 6, 1)
# The default schedule (SPEC section 5), in order, as a person reads it.
LABELS = ["Baseline", "1 month", "3 months", "6 months", "12 months"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        yield


def staff(username: str, group: str, *sites: str) -> User:
    user = User.objects.create_user(username, password="x" * 12)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    for code in sites or ("MAIN",):
        Site.objects.get_or_create(code=code, defaults={"name": f"{code.title()} clinic"})[
            0].staff.add(user)
    return user


@pytest.fixture
def south(study):
    site = Site.objects.create(code="SOUTH", name="South clinic")
    study.sites.add(site)
    return site


@pytest.fixture
def coordinator(study):
    return staff("coord", "Coordinators")


@pytest.fixture
def clinician(study):
    return staff("doc", "Clinicians")


def listing(study, **params) -> str:
    url = reverse("patients:patient-list", kwargs={"code": study.code})
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}?{query}" if query else url


def rows(reply) -> list[dict]:
    """The grid's rows: the patient's code and name, the cells' text under their column
    headers, and each visit's state."""
    assert reply.status_code == 200
    page = parse(reply.content)
    tables = page.find_all("table", cls="patient-grid")
    if not tables:
        return []
    headers = [th.text for th in tables[0].find("thead").find_all("th")][1:]
    found = []
    for tr in tables[0].find("tbody").find_all("tr"):
        head = tr.find("th", scope="row")
        names = head.find_all("span", cls="patient-name")
        row = dict(zip(headers, (td.text for td in tr.find_all("td")), strict=True))
        row["Patient"] = head.find("a").text
        row["Name"] = names[0].text if names else None
        row["states"] = {span.attrs["data-timepoint"]: span.attrs["data-state"]
                         for span in tr.find_all("span", cls="visit-state")}
        found.append(row)
    return found


def codes(reply) -> list[str]:
    return [row["Patient"] for row in rows(reply)]


@pytest.fixture
def cohort(study, south):
    """Four patients with contact details: two arms, two sites, one paused."""
    enrol(study, "LB-001", arm="BMC", index_date=TODAY - dt.timedelta(days=35), today=TODAY,
          contact={"full_name": "María García", "email": "maria.garcia@mail.example",
                   "mobile": "+34 612-345 678", "preferred_channel": "sms"})
    enrol(study, "LB-002", arm="CONTROL", index_date=TODAY, today=TODAY,
          contact={"full_name": "John Smith", "email": "jsmith@post.example",
                   "mobile": "+44 7700 900123"})
    enrol(study, "lb-010", arm="BMC", site="SOUTH", index_date=TODAY, today=TODAY,
          contact={"full_name": "Ana López", "email": "ana@mail.example"})
    paused = enrol(study, "XK-500", arm="CONTROL", index_date=TODAY - dt.timedelta(days=35),
                   today=TODAY, contact={"full_name": "Zoe Park", "email": "zoe@mail.example"})
    Enrolment.objects.filter(pk=paused.pk).update(status=Enrolment.Status.PAUSED,
                                                  status_reason="in hospital")


def test_the_search_matches_part_of_the_study_code_whatever_the_case(client, cohort, study):
    client.force_login(staff("both", "Coordinators", "MAIN", "SOUTH"))
    assert codes(client.get(listing(study, q="lb-0"))) == ["LB-001", "LB-002", "lb-010"]
    assert codes(client.get(listing(study, q="K-5"))) == ["XK-500"]
    assert codes(client.get(listing(study, q="01"))) == ["LB-001", "lb-010"]


@pytest.mark.parametrize(("query", "found"), [
    ("garcía", ["LB-001"]),             # part of the name, another case
    ("smith", ["LB-002"]),
    ("@mail.example", ["LB-001", "XK-500"]),  # part of the email
    ("612345678", ["LB-001"]),          # the mobile typed without its separators
    ("612 345-678", ["LB-001"]),        # with other separators than stored
    ("+447700", ["LB-002"]),
])
def test_a_coordinator_finds_a_patient_by_name_email_or_mobile(client, cohort, study,
                                                              coordinator, query, found):
    client.force_login(coordinator)
    assert codes(client.get(listing(study, q=query.replace("+", "%2B")))) == found


@pytest.mark.parametrize("query", ["García", "Smith", "maria.garcia", "612345678", "7700"])
def test_a_clinicians_search_never_matches_contact_details(client, cohort, study, clinician,
                                                          query):
    client.force_login(clinician)
    reply = client.get(listing(study, q=query))
    assert codes(reply) == []
    assert "No patient matches" in reply.content.decode()


def test_names_are_shown_to_coordinators_only_and_each_page_is_one_audit_record(
    client, cohort, study, coordinator, clinician
):
    client.force_login(clinician)
    reply = client.get(listing(study))
    page = reply.content.decode()
    assert "LB-001" in page and "María García" not in page and "John Smith" not in page
    assert {row["Name"] for row in rows(reply)} == {None}
    assert not AuditRecord.objects.filter(action="view").exists()

    client.force_login(coordinator)
    found = rows(client.get(listing(study)))
    assert [(r["Patient"], r["Name"]) for r in found] == [
        ("LB-001", "María García"), ("LB-002", "John Smith"), ("XK-500", "Zoe Park")]
    record = AuditRecord.objects.get(action="view")
    assert record.actor == coordinator and record.object_type == "patients.study"
    assert record.changes["contact_names_shown"][1] == ["LB-001", "LB-002", "XK-500"]
    # Email and mobile are searched, never listed.
    page = client.get(listing(study)).content.decode()
    assert "maria.garcia@mail.example" not in page and "612" not in page
    assert AuditRecord.objects.filter(action="view").count() == 2


def test_a_page_without_names_writes_no_audit_record(client, study, coordinator):
    enrol(study, "NN-1", index_date=TODAY, today=TODAY)  # no contact details at all
    client.force_login(coordinator)
    assert [r["Name"] for r in rows(client.get(listing(study)))] == ["no name on file"]
    assert not AuditRecord.objects.filter(action="view").exists()


@pytest.mark.parametrize(("params", "found"), [
    ({"arm": "BMC"}, ["LB-001", "lb-010"]),
    ({"arm": "CONTROL"}, ["LB-002", "XK-500"]),
    ({"site": "SOUTH"}, ["lb-010"]),
    ({"site": "MAIN"}, ["LB-001", "LB-002", "XK-500"]),
    ({"status": "paused"}, ["XK-500"]),
    ({"status": "active"}, ["LB-001", "LB-002", "lb-010"]),
    # Day 35 after the index date: baseline closed on day 7 (missed), the 1-month window
    # (day 23-44) is open; enrolled today, the baseline window is open.
    ({"visit_state": "missed"}, ["LB-001", "XK-500"]),
    ({"visit_state": "open"}, ["LB-001", "LB-002", "lb-010", "XK-500"]),
    ({"visit_state": "completed"}, []),
    ({"arm": "BMC", "visit_state": "missed"}, ["LB-001"]),
    ({"arm": "CONTROL", "status": "active", "q": "lb"}, ["LB-002"]),
])
def test_each_filter_narrows_the_list_and_they_combine(client, cohort, study, params, found):
    client.force_login(staff("both", "Coordinators", "MAIN", "SOUTH"))
    assert codes(client.get(listing(study, **params))) == found


def test_the_visit_state_filter_finds_a_completed_visit(client, cohort, study, coordinator):
    Visit.objects.filter(enrolment__patient__code="LB-002", timepoint__code="baseline").update(
        status=Visit.Status.COMPLETED)
    client.force_login(coordinator)
    assert codes(client.get(listing(study, visit_state="completed"))) == ["LB-002"]


def test_the_site_filter_offers_only_the_users_sites(client, cohort, study, coordinator):
    client.force_login(coordinator)  # MAIN only
    page = parse(client.get(listing(study)).content)
    options = [o.text for o in page.find("select", name="site").find_all("option")]
    assert options == ["All my sites", "Main clinic"]
    # Asking for another site by hand is refused at the field, and lists nobody of it.
    reply = client.get(listing(study, site="SOUTH"))
    assert "Not one of your sites" in reply.content.decode()
    assert "lb-010" not in codes(reply)


def test_an_unknown_arm_is_named_at_its_field_and_the_other_filters_still_apply(
    client, cohort, study, coordinator
):
    client.force_login(coordinator)
    reply = client.get(listing(study, arm="NOPE", status="paused"))
    assert "This study has no such arm" in reply.content.decode()
    assert codes(reply) == ["XK-500"]
    # Alone, the wrong arm still lists everyone and offers the way back.
    reply = client.get(listing(study, arm="NOPE"))
    assert codes(reply) == ["LB-001", "LB-002", "XK-500"]
    clear = parse(reply.content).find("main").find("a", href=listing(study))
    assert clear.text == "Clear search and filters"


def test_another_sites_patients_are_never_listed(client, cohort, study):
    north = Site.objects.create(code="NORTH", name="North clinic")
    study.sites.add(north)
    enrol(study, "NO-001", site="NORTH", index_date=TODAY, today=TODAY,
          contact={"full_name": "Nora North", "email": "nora@mail.example"})
    client.force_login(staff("northdoc", "Clinicians", "NORTH"))
    assert codes(client.get(listing(study))) == ["NO-001"]
    assert codes(client.get(listing(study, q="LB"))) == []
    client.force_login(staff("maindoc", "Clinicians", "MAIN"))
    assert "NO-001" not in codes(client.get(listing(study)))
    client.force_login(staff("maincoord", "Coordinators", "MAIN"))
    assert codes(client.get(listing(study, q="Nora"))) == []
    assert codes(client.get(listing(study, q="NO-001"))) == []


def test_each_cell_shows_its_visits_state_under_the_time_point_label(client, study,
                                                                      coordinator):
    # Index date 100 days ago (SPEC 5 windows): baseline closed on day 7, 1 month
    # (day 23-44) closed, 3 months (day 76-104) open today, 6 and 12 months not yet open.
    enrolment = enrol(study, "G-1", index_date=TODAY - dt.timedelta(days=100), today=TODAY)
    visits = Visit.objects.filter(enrolment=enrolment)
    visits.filter(timepoint__code="baseline").update(status=Visit.Status.COMPLETED)
    visits.filter(timepoint__code="m12").update(status=Visit.Status.NOT_APPLICABLE)
    client.force_login(coordinator)
    reply = client.get(listing(study))
    page = parse(reply.content)
    headers = [th.text for th in page.find("table", cls="patient-grid").find("thead")
               .find_all("th")]
    assert headers == ["Patient and name", "Status", *LABELS, "Arm", "Site"]
    [row] = rows(reply)
    assert row["states"] == {"baseline": "completed", "m1": "missed", "m3": "open",
                             "m6": "scheduled", "m12": "not_applicable"}
    assert [row[label] for label in LABELS] == [
        "Completed", "Missed", "Open", "Scheduled", "Not applicable"]
    assert row["Arm"] == "Bone marrow concentrate + conventional care"
    assert row["Site"] == "Main clinic" and row["Status"] == "Active"
    link = page.find("th", scope="row").find("a").attrs["href"]
    assert link == reverse("patients:patient", kwargs={"code": study.code,
                                                       "patient_code": "G-1"})
    # The legend explains every state, in words.
    legend = page.find("ul", cls="visit-legend").text
    for word in ("Scheduled", "Open", "Completed", "Missed", "Not applicable"):
        assert word in legend


def test_the_columns_follow_the_schedule_not_the_codes(client, study, coordinator):
    from outcomes.followups.models import TimePoint

    enrol(study, "G-2", index_date=TODAY, today=TODAY)
    # A time point added later with a code that sorts first still comes in schedule order.
    TimePoint.objects.create(study=study, code="a_m2", label="2 months", target_day=60,
                             window_before_days=7, window_after_days=7)
    client.force_login(coordinator)
    reply = client.get(listing(study))
    headers = [th.text for th in parse(reply.content).find("thead").find_all("th")][2:-2]
    assert headers == ["Baseline", "1 month", "2 months", "3 months", "6 months", "12 months"]
    [row] = rows(reply)
    assert row["2 months"] == "No visit"  # enrolled before the time point existed


def test_pagination_keeps_the_search_and_the_filters(client, study, coordinator):
    for n in range(30):
        enrol(study, f"PG-{n:03d}", arm="BMC" if n % 2 else "CONTROL", index_date=TODAY,
              today=TODAY)
    enrol(study, "ZZ-999", arm="BMC", index_date=TODAY, today=TODAY)
    client.force_login(coordinator)
    first = client.get(listing(study, q="pg", arm="BMC", visit_state="open"))
    assert codes(first) == [f"PG-{n:03d}" for n in range(1, 30, 2)]  # 15: one page

    for n in range(30, 60):
        enrol(study, f"PG-{n:03d}", arm="BMC", index_date=TODAY, today=TODAY)
    first = client.get(listing(study, q="pg", arm="BMC", visit_state="open"))
    assert len(codes(first)) == 25
    assert "45 patients match" in first.content.decode()
    nav = parse(first.content).find("nav", aria_label="Pages of the patient list")
    next_link = next(a for a in nav.find_all("a") if a.text == "Next").attrs["href"]
    assert parse_qs(urlsplit(next_link).query) == {
        "q": ["pg"], "arm": ["BMC"], "visit_state": ["open"], "page": ["2"]}
    second = client.get(listing(study) + next_link)
    expected = sorted([f"PG-{n:03d}" for n in range(1, 30, 2)] +
                      [f"PG-{n:03d}" for n in range(30, 60)])
    assert codes(second) == expected[25:]
    prev = next(a for a in parse(second.content).find_all("a") if a.text == "Previous")
    assert parse_qs(urlsplit(prev.attrs["href"]).query)["q"] == ["pg"]


def test_an_empty_result_says_so_and_offers_to_clear_the_filters(client, cohort, study,
                                                                coordinator):
    client.force_login(coordinator)
    reply = client.get(listing(study, q="nobody-like-this", arm="BMC"))
    page = parse(reply.content)
    assert codes(reply) == []
    assert "No patient matches this search and these filters." in page.text
    clear = [a for a in page.find_all("a") if a.text == "Clear search and filters"]
    assert clear and all(a.attrs["href"] == listing(study) for a in clear)
    # The form keeps what was asked, so it can be changed rather than retyped.
    assert page.find("input", name="q").attrs["value"] == "nobody-like-this"


def test_a_study_without_patients_says_so_and_offers_enrolment(client, study, coordinator):
    client.force_login(coordinator)
    page = parse(client.get(listing(study)).content)
    assert "No patient is enrolled at your sites yet." in page.text
    assert page.find("a", href=reverse("patients:enrol", kwargs={"code": study.code}))


def test_every_filter_has_a_label(client, study, coordinator):
    client.force_login(coordinator)
    page = parse(client.get(listing(study)).content)
    form = page.find("form", role="search")
    controls = form.find_all("input") + form.find_all("select")
    labelled = {label.attrs.get("for") for label in form.find_all("label")}
    assert len(controls) == 5
    assert all(control.attrs["id"] in labelled for control in controls)
    assert form.attrs["method"] == "get"


@pytest.mark.parametrize("size", [10, 10_000])
def test_the_list_costs_the_same_queries_for_ten_or_ten_thousand_patients(
    client, study, coordinator, clinician, size, django_assert_max_num_queries
):
    bulk_cohort(study, size, today=TODAY)
    Contact.objects.update(full_name=Concat(Value("Pat "), Replace(
        "email", Value("@example.org"), Value(""))))
    searches = [{}, {"q": "pat c-0000"}, {"q": "c-000", "arm": "BMC", "visit_state": "open"},
                {"q": "5550100"}, {"status": "active", "site": "MAIN", "page": "2"}]
    for user in (coordinator, clinician):
        client.force_login(user)
        for params in searches:
            # Session, user, second factor, permissions, study; count, time points, page,
            # its visits (one query for the whole grid), the audit record, the filters'
            # arms and sites; the session's save.
            with django_assert_max_num_queries(16):
                reply = client.get(listing(study, **params))
            assert reply.status_code == 200
    # The grid is real at both sizes: a full page, every cell filled.
    found = rows(client.get(listing(study)))
    assert len(found) == min(size, 25)
    assert all(len(row["states"]) == 5 and all(row["states"].values()) for row in found)


def test_the_filters_fold_away_on_a_phone_unless_one_is_in_use(client, cohort, study,
                                                              coordinator):
    client.force_login(coordinator)

    def folded(**params) -> bool:
        page = parse(client.get(listing(study, **params)).content)
        more = page.find("div", id="patient-filters-more")
        toggle = page.find("button", aria_controls="patient-filters-more")
        assert toggle.text == "Filters"
        assert toggle.attrs["aria-expanded"] == ("false" if "show" not in more.classes
                                                 else "true")
        return "show" not in more.classes

    assert folded() and folded(q="LB")
    assert not folded(visit_state="missed")
    assert not folded(arm="NOPE")  # the field's error must be seen
