"""Error pages show no stack trace, setting or data, even when a view fails."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from outcomes.urls import urlpatterns as project_urls


def boom(request):
    secret = "patient DEMO-0001 email jane@example.org"  # noqa: F841 (in the frame on purpose)
    raise RuntimeError("database password is hunter2")


urlpatterns = [*project_urls, path("boom/", boom)]


@pytest.mark.urls(__name__)
def test_a_crash_shows_a_plain_page_without_trace_or_data(db, settings):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    reply = client.get("/boom/")
    body = reply.content.decode()
    assert reply.status_code == 500
    assert "Something went wrong" in body
    for leak in ("Traceback", "hunter2", "jane@example.org", "RuntimeError", "SECRET_KEY"):
        assert leak not in body


def test_not_found_and_forbidden_pages_say_little(client, db):
    reply = client.get("/studies/NO-SUCH/patients/X/")
    assert reply.status_code == 302  # staff pages first ask who you are
    missing = client.get("/no/such/page/")
    assert missing.status_code == 404 and "Page not found" in missing.content.decode()
    assert "Using the URLconf" not in missing.content.decode()


def test_a_page_outside_ones_role_answers_with_the_plain_403_page(client, demo):
    from django.contrib.auth.models import User

    client.force_login(User.objects.get(username="clinician"))
    reply = client.get("/studies/BMC-LBP/enrol/")
    body = reply.content.decode()
    assert reply.status_code == 403
    assert "Not allowed" in body and "ask the study's data manager" in body
    assert "Traceback" not in body and "PermissionDenied" not in body
