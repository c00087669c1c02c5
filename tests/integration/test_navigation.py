"""The staff navigation bar: on every staff page, each study section for who may open it."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from outcomes.followups.links import survey_url
from outcomes.followups.models import Visit
from tests.htmltree import parse

STUDY = "BMC-LBP"
PATIENT = "DEMO-0001"
ALL_SECTIONS = ["Worklists", "Patients", "Results", "Responders"]


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


@pytest.fixture
def users(demo):
    return {
        "coordinator": User.objects.get(username="coordinator"),
        "clinician": User.objects.get(username="clinician"),
        "data_manager": User.objects.get(username="datamanager"),
        "administrator": User.objects.create_superuser("root", "root@example.org", "x" * 12),
    }


def nav_of(reply):
    assert reply.status_code == 200, reply.status_code
    navs = parse(reply.content).find_all("nav", aria_label="Main")
    assert len(navs) == 1, "one main navigation landmark"
    return navs[0]


def study_links(nav) -> list[tuple[str, str]]:
    """(label, aria-current) of the study's sections."""
    menu = nav.find("div", id="main-menu")
    return [(a.text, a.attrs.get("aria-current", "")) for a in menu.find_all("a")
            if a.text != "Admin"]


def url(name: str, **kwargs) -> str:
    return reverse(f"patients:{name}", kwargs={"code": STUDY, **kwargs})


@pytest.mark.parametrize(("role", "sections", "admin"), [
    ("coordinator", ["Worklists", "Patients"], False),
    ("clinician", ALL_SECTIONS, False),
    ("data_manager", ALL_SECTIONS, True),
    ("administrator", ALL_SECTIONS, True),
])
def test_each_role_sees_the_sections_it_may_open_and_each_opens(client, users, role,
                                                                sections, admin):
    client.force_login(users[role])
    nav = nav_of(client.get(url("dashboard")))
    assert [label for label, _ in study_links(nav)] == sections
    assert bool(nav.find_all("a", href=reverse("admin:index"))) is admin
    for link in nav.find("div", id="main-menu").find_all("a"):  # never a 403 on offer
        assert client.get(link.attrs["href"]).status_code == 200, link.attrs["href"]


@pytest.mark.parametrize(("page", "current"), [
    (("dashboard", {}), [("Worklists", "page")]),
    (("patient-list", {}), [("Patients", "page")]),
    (("results", {}), [("Results", "page")]),
    (("responders", {}), [("Responders", "page")]),
    (("patient", {"patient_code": PATIENT}), [("Patients", "true")]),
    (("outcomes", {"patient_code": PATIENT}), [("Patients", "true")]),
    (("enrol", {}), [("Patients", "true")]),
])
def test_the_current_page_is_marked_for_assistive_technology(client, users, page, current):
    client.force_login(users["administrator"])
    name, kwargs = page
    links = study_links(nav_of(client.get(url(name, **kwargs))))
    assert [(label, mark) for label, mark in links if mark] == current


def test_the_bar_names_the_user_and_logs_out_with_a_post(client, users):
    user = users["coordinator"]
    user.first_name, user.last_name = "Carmen", "Ruiz"
    user.save()
    client.force_login(user)
    for page in ("/", url("dashboard"), url("patient", patient_code=PATIENT)):
        nav = nav_of(client.get(page))
        assert "Carmen Ruiz" in nav.text
        form = nav.find("form", action=reverse("logout"))
        assert form.attrs["method"] == "post" and form.find("button").text == "Log out"
    # Off a study page (the list of studies) the bar holds no study's sections.
    assert study_links(nav_of(client.get("/"))) == []


def test_the_bar_collapses_behind_a_labelled_menu_button_on_a_phone(client, users):
    client.force_login(users["clinician"])
    reply = client.get(url("results"))
    nav = nav_of(reply)
    toggler = nav.find("button", cls="navbar-toggler")
    assert toggler.text == "Menu"
    assert toggler.attrs["aria-controls"] == "main-menu"
    assert toggler.attrs["aria-expanded"] == "false"
    assert "collapse" in nav.find("div", id="main-menu").classes
    # The collapse needs Bootstrap's script: served from our own static files (CSP).
    scripts = [s.attrs["src"] for s in parse(reply.content).find_all("script")]
    assert scripts == ["/static/vendor/bootstrap/bootstrap.bundle.min.js"]


def test_patients_on_their_questionnaire_get_no_staff_bar(client, demo):
    visit = Visit.objects.filter(enrolment__patient__code=PATIENT).exclude(
        status="completed").order_by("window_open_date").first()
    page = parse(client.get(survey_url(visit=visit).split("testserver", 1)[1]).content)
    assert page.find_all("nav", aria_label="Main") == []
    # No staff script either: only the questionnaire's own (focus and the EQ VAS slider).
    assert [s.attrs.get("src") for s in page.find_all("script")] in (
        [], ["/static/js/survey.js"])


def test_the_dashboard_and_the_list_of_studies_lead_to_the_patient_list(client, users):
    client.force_login(users["coordinator"])
    for page in ("/", url("dashboard")):
        main = parse(client.get(page).content).find("main")
        assert main.find_all("a", href=url("patient-list")), page
