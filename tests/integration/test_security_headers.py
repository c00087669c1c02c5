"""Content Security Policy: every page is served with it, and none needs inline code."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from outcomes.followups.links import survey_url
from outcomes.followups.models import Visit
from patients.demo import load_demo


@pytest.fixture
def pages(client, db):
    load_demo(size=4)
    visit = Visit.objects.filter(enrolment__patient__code="DEMO-0001").exclude(
        status="completed").order_by("window_open_date").first()
    link = survey_url(visit=visit).split("testserver", 1)[1]
    anonymous = ["/", "/accounts/login/", link, link + "1/", "/s/not-a-token/"]
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))
    staff = ["/studies/BMC-LBP/", "/studies/BMC-LBP/patients/",
             "/studies/BMC-LBP/patients/?q=demo&arm=BMC&visit_state=completed",
             "/studies/BMC-LBP/patients/DEMO-0001/",
             "/studies/BMC-LBP/patients/DEMO-0001/outcomes/", "/studies/BMC-LBP/results/",
             "/studies/BMC-LBP/responders/", "/studies/BMC-LBP/enrol/"]
    return client, anonymous + staff


def test_every_page_sends_a_strict_policy_and_has_no_inline_script_or_style(pages):
    client, urls = pages
    for url in urls:
        response = client.get(url, follow=True)
        policy = response["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy, url
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert ' style="' not in html, url
        title = html.split("<title>", 1)[1].split("</title>", 1)[0]
        assert "<" not in title and title.strip(), url
