"""The patient page a coordinator works from: its buttons, status changes, history."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.urls import reverse

from patients.models import Site
from tests.factories import enrol
from tests.htmltree import parse

TODAY = dt.date(2026, 6, 1)
BUTTON_STYLES = {"btn-primary", "btn-outline-primary", "btn-secondary", "btn-outline-secondary",
                 "btn-outline-dark", "btn-danger", "btn-outline-danger", "btn-link"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, 2, tzinfo=dt.UTC), tick=False):
        yield


def staff(username: str, group: str, site: str = "MAIN") -> User:
    user = User.objects.create_user(username, password="x" * 12)
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    Site.objects.get_or_create(code=site, defaults={"name": site})[0].staff.add(user)
    return user


@pytest.fixture
def coordinator(study):
    return staff("coordinator", "Coordinators")


def page_url(study, code: str, name: str = "patient") -> str:
    return reverse(f"patients:{name}", kwargs={"code": study.code, "patient_code": code})


def test_every_button_on_the_patient_page_has_one_style_and_a_label(client, study, coordinator):
    # crispy's Submit with css_class="btn-outline-primary" was also btn-primary: blue on blue.
    enrol(study, "P-1", index_date=TODAY - dt.timedelta(days=30), today=TODAY,
          contact={"email": "p1@example.org"})
    client.force_login(coordinator)
    tree = parse(client.get(page_url(study, "P-1")).content)
    buttons = [node for node in tree.find_all()
               if node.tag in ("button", "input") and "btn" in node.classes]
    labels = {node.attrs.get("value") or node.text for node in buttons}
    assert {"Change status", "Move the index date", "Send the link again"} <= labels
    for node in buttons:
        styles = node.classes & BUTTON_STYLES
        assert len(styles) == 1, f"{node.attrs.get('value') or node.text!r}: {sorted(styles)}"
