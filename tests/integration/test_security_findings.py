"""Findings of the penetration test that are not about the admin: cache headers on
pages with health data, double clicks on correct and void."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.contrib.messages import get_messages
from django.urls import reverse

from outcomes.instruments.models import Response
from outcomes.instruments.services import NotCompleted, void_response

STUDY, PATIENT = "BMC-LBP", "DEMO-0001"


@pytest.fixture
def demo(demo_once):
    """The demo study, loaded once for this module: every test here uses it."""
    return demo_once


def completed_response():
    return Response.objects.filter(visit__enrolment__patient__code=PATIENT,
                                   state="completed").first()


@pytest.mark.parametrize(("name", "kwargs"), [
    ("patients:patient", {"code": STUDY, "patient_code": PATIENT}),
    ("patients:outcomes", {"code": STUDY, "patient_code": PATIENT}),
    ("patients:results", {"code": STUDY}),
    ("patients:responders", {"code": STUDY}),
    ("patients:export", {"code": STUDY, "kind": "tidy"}),
    ("patients:dashboard", {"code": STUDY}),
])
def test_pages_with_health_data_are_never_cached(client, demo, name, kwargs):
    client.force_login(User.objects.get(username="datamanager"))
    reply = client.get(reverse(name, kwargs=kwargs))
    assert reply.status_code == 200
    assert "no-store" in reply["Cache-Control"] and "private" in reply["Cache-Control"]


def test_the_results_files_and_the_correction_page_are_never_cached(client, demo):
    client.force_login(User.objects.get(username="datamanager"))
    results = reverse("patients:results", kwargs={"code": STUDY})
    for url in (results + "?format=json", results + "?format=csv",
                reverse("response-correct", kwargs={"pk": completed_response().pk})):
        reply = client.get(url)
        assert reply.status_code == 200, url
        assert "no-store" in reply["Cache-Control"], url


def test_a_double_click_on_void_says_it_is_done_already(client, demo):
    client.force_login(User.objects.get(username="datamanager"))
    response = completed_response()
    url = reverse("response-void", kwargs={"pk": response.pk})
    first = client.post(url, {"reason": "wrong patient"})
    second = client.post(url, {"reason": "wrong patient"})
    assert first.status_code == second.status_code == 302
    words = [str(m) for m in get_messages(second.wsgi_request)]
    assert any("already voided" in w for w in words), words
    assert Response.objects.get(pk=response.pk).state == "voided"


def test_a_double_click_on_correct_says_it_is_done_already(client, demo):
    client.force_login(User.objects.get(username="datamanager"))
    response = Response.objects.filter(visit__enrolment__patient__code=PATIENT,
                                       state="completed", instrument__code="nrs11").first()
    url = reverse("response-correct", kwargs={"pk": response.pk})
    data = {"pain": "4", "reason": "paper form re-checked"}
    assert client.post(url, data).status_code == 302
    second = client.post(url, data)
    assert second.status_code == 302
    words = [str(m) for m in get_messages(second.wsgi_request)]
    assert any("already corrected" in w for w in words), words
    assert Response.objects.filter(supersedes=response).count() == 1


def test_voiding_twice_raises_a_clear_error_not_a_crash(demo):
    response = completed_response()
    manager = User.objects.get(username="datamanager")
    void_response(response=response, reason="wrong patient", actor=manager)
    with pytest.raises(NotCompleted, match="not a voided one"):
        void_response(response=response, reason="again", actor=manager)
