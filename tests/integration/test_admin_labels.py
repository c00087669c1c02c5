"""The admin's set-up pages: every input has an accessible name; the study page's
inlines are laid out to fit a 1280 px screen (measured in tests/e2e/test_browser_staff_flows.py)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from outcomes.followups.models import TimePoint
from tests.htmltree import parse


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


def change_url(obj) -> str:
    meta = obj._meta
    return reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])


def unlabelled(html: bytes) -> list[str]:
    """Names of the form's visible inputs with neither a <label for> nor an aria-label."""
    tree = parse(html)
    labelled = {label.attrs.get("for") for label in tree.find_all("label")}
    missing = []
    for node in tree.find_all():
        if node.tag not in ("input", "select", "textarea"):
            continue
        if node.attrs.get("type") in ("hidden", "submit", "button"):
            continue
        if node.attrs.get("aria-label") or node.attrs.get("id") in labelled:
            continue
        missing.append(node.attrs.get("name", node.attrs.get("id", "?")))
    return missing


@pytest.fixture
def manager(demo):
    return User.objects.get(username="datamanager")


def test_every_input_of_the_study_page_has_a_label(client, demo, manager):
    # axe counted 40 critical "label" violations: a tabular inline's header is not its label.
    client.force_login(manager)
    page = client.get(change_url(demo))
    assert page.status_code == 200
    assert unlabelled(page.content) == []
    html = page.content.decode()
    assert 'aria-label="Code, time point 2"' in html
    assert 'aria-label="Window before days, time point 1"' in html
    assert 'aria-label="Is baseline, new time point"' in html  # the empty row of the JS "add"


def test_the_arms_are_stacked_so_their_descriptions_fit(client, demo, manager):
    client.force_login(manager)
    group = parse(client.get(change_url(demo)).content).find("div", id="arms-group")
    assert group.find_all("table") == []  # one block per arm, its fields labelled
    assert group.find("textarea").attrs["rows"] == "2"


def test_every_input_of_a_time_point_page_has_a_label(client, demo, manager):
    client.force_login(manager)
    timepoint = TimePoint.objects.get(study=demo, code="m1")
    page = client.get(change_url(timepoint))
    assert page.status_code == 200
    assert unlabelled(page.content) == []
    assert 'aria-label="Instrument, time point instrument 1"' in page.content.decode()
