"""A time point schedules only an instrument with questions: model, admin, seed, system
check; and a visit that asks one anyway gives the patient a page saying so, not an error."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse

from outcomes.followups.links import ensure_link
from outcomes.followups.models import TimePoint, TimePointInstrument
from outcomes.followups.schedule import DEFAULT_SCHEDULE
from outcomes.followups.services import ensure_schedule
from outcomes.instruments.checks import check_study_set_up
from outcomes.instruments.models import Instrument, Response
from tests.admin_forms import admin_form_data, change_url
from tests.factories import enrol, staff

NO_ITEMS = "EQ-5D-5L has no questions yet: it cannot be scheduled."
TODAY = dt.date(2026, 6, 1)
PHONE_LINK = 'href="tel:+15550100"'  # the demo study's contact phone, +1 555 0100


@pytest.fixture
def empty(db):
    """What "Add instrument" in the admin used to save: a name, and no questions."""
    return Instrument.objects.create(code="eq5d5l", version="1", title="EQ-5D-5L",
                                     short_title="EQ-5D-5L", scoring_version="1")


@pytest.fixture
def manager(study):
    user = staff("dm", "Data managers")
    user.is_staff = True
    user.save()
    return user


def schedule_anyway(timepoint, instrument) -> TimePointInstrument:
    """Schedule ``instrument`` past every guard (as a row saved before them was)."""
    return TimePointInstrument.objects.create(timepoint=timepoint, instrument=instrument,
                                              order=9)


# The model, the seed, the admin ------------------------------------------------------

def test_a_time_point_refuses_an_instrument_without_questions(study, empty):
    m3 = study.timepoints.get(code="m3")
    with pytest.raises(ValidationError) as refused:
        TimePointInstrument(timepoint=m3, instrument=empty, order=9).full_clean()
    assert refused.value.message_dict == {"instrument": [NO_ITEMS]}
    # An instrument with its questions is scheduled as before.
    m24 = TimePoint.objects.create(study=study, code="m24", label="24 months", target_day=730)
    TimePointInstrument(timepoint=m24, instrument=Instrument.objects.get(code="odi")).full_clean()


def test_the_seed_refuses_to_schedule_it_and_creates_nothing(study, empty):
    m24 = dataclasses.replace(DEFAULT_SCHEDULE[-1], code="m24", label="24 months",
                              target_day=730)
    with pytest.raises(ValidationError) as refused:
        ensure_schedule(study=study, specs=[m24], instruments=[empty])
    assert refused.value.messages == [NO_ITEMS]
    assert not TimePoint.objects.filter(study=study, code="m24").exists()


def test_the_time_point_admin_refuses_it_naming_the_instrument(client, study, empty, manager):
    client.force_login(manager)
    m3 = study.timepoints.get(code="m3")
    m3.items.filter(instrument__code="nrs11").delete()  # to add back below
    page = client.get(change_url(m3))
    data = admin_form_data(page)
    # The page itself says which instrument has no questions yet.
    assert "EQ-5D-5L v1" in page.content.decode()
    row = int(data["items-TOTAL_FORMS"])
    data.update({"items-TOTAL_FORMS": row + 1, f"items-{row}-instrument": empty.pk,
                 f"items-{row}-order": 9, f"items-{row}-timepoint": m3.pk})
    reply = client.post(change_url(m3), data)
    assert reply.status_code == 200
    assert NO_ITEMS in reply.content.decode()
    assert not TimePointInstrument.objects.filter(instrument=empty).exists()
    # The same form with an instrument that has its questions saves.
    data[f"items-{row}-instrument"] = Instrument.objects.get(code="nrs11").pk
    assert client.post(change_url(m3), data).status_code == 302
    assert m3.items.filter(instrument__code="nrs11").exists()


def test_the_instrument_admin_adds_and_edits_nothing(client, study):
    root = User.objects.create_superuser("root", "root@example.org", "x" * 12)
    client.force_login(root)
    add = reverse("admin:instruments_instrument_add")
    assert client.get(add).status_code == 403
    assert client.post(add, {"code": "eq5d5l", "version": "1", "title": "EQ-5D-5L",
                             "short_title": "EQ-5D-5L", "scoring_version": "1"}
                       ).status_code == 403
    assert not Instrument.objects.filter(code="eq5d5l").exists()
    odi = Instrument.objects.get(code="odi")
    page = client.get(change_url(odi))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="_save"' not in html and 'name="title"' not in html
    assert client.post(change_url(odi), {"title": "Renamed"}).status_code == 403
    odi.refresh_from_db()
    assert odi.title == "Oswestry Disability Index"
    listing = client.get(reverse("admin:instruments_instrument_changelist")).content.decode()
    assert '<td class="field-questions">10</td>' in listing  # the ODI's ten sections


# The system check --------------------------------------------------------------------

def test_the_system_check_names_study_time_point_and_instrument(study, empty):
    assert [m for m in check_study_set_up(databases=["default"])] == []
    schedule_anyway(study.timepoints.get(code="m3"), empty)
    errors = [m for m in check_study_set_up(databases=["default"])
              if m.id == "instruments.E003"]
    assert [error.msg for error in errors] == [
        f"Study BMC-LBP, time point m3 (3 months): {NO_ITEMS} The patient's link for this "
        "visit cannot be answered."]
    assert errors[0].is_serious()
    with pytest.raises(SystemCheckError, match=r"instruments\.E003"):
        call_command("check", "--database", "default")


# The patient's link and the staff entry -------------------------------------------------

@pytest.fixture
def visit(study, empty):
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        enrolment = enrol(study, "P-100", index_date=TODAY, today=TODAY)
        baseline = enrolment.visits.get(timepoint__code="baseline")
        schedule_anyway(baseline.timepoint, empty)
        yield baseline


def test_the_patients_link_to_such_a_visit_is_a_clear_page_not_a_server_error(
    client, visit, caplog
):
    token = ensure_link(visit=visit)
    with caplog.at_level(logging.ERROR, logger="outcomes.survey.views"):
        for url in (reverse("survey:start", kwargs={"token": token}),
                    *[reverse("survey:step", kwargs={"token": token, "number": n})
                      for n in (1, 5)]):
            reply = client.get(url)
            assert reply.status_code == 200, url
            html = reply.content.decode()
            assert "<h1 class=\"h3\">Your questionnaire is not ready yet</h1>" in html, url
            assert "cannot be answered yet. Please open your link again later." in html
            assert PHONE_LINK in html  # whom to ask
        reply = client.post(reverse("survey:step", kwargs={"token": token, "number": 1}),
                            {"action": "next", "pain_intensity": "2"})
    assert reply.status_code == 200
    assert "Your questionnaire is not ready yet" in reply.content.decode()
    assert not Response.objects.filter(visit=visit).exists()
    # The team can find out why: the log names the visit and the instrument.
    assert f"visit {visit.pk} cannot be shown: {NO_ITEMS}" in caplog.text


def test_the_page_is_in_the_patients_language(client, visit):
    token = ensure_link(visit=visit)
    html = client.get(reverse("survey:start", kwargs={"token": token}),
                      HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Su cuestionario aún no está listo" in html


def test_staff_typing_in_such_a_visit_are_told_why_they_cannot(client, visit):
    client.force_login(staff("coord", "Coordinators"))
    enrolment = visit.enrolment
    url = reverse("patients:visit-entry", kwargs={
        "code": "BMC-LBP", "patient_code": enrolment.patient.code, "visit_id": visit.pk})
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        reply = client.get(url, follow=True)
    assert reply.redirect_chain[-1][0] == reverse(
        "patients:patient", kwargs={"code": "BMC-LBP", "patient_code": enrolment.patient.code})
    assert f"This visit cannot be typed in yet: {NO_ITEMS}" in reply.content.decode()

