"""One date format per language on every staff page (SPEC section 7), typed and shown."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import formats, translation

from outcomes.followups.models import Reminder
from patients.forms import EnrolForm, StudyDateField
from patients.models import Enrolment, Site
from tests.factories import enrol
from tests.htmltree import parse

ROOT = Path(__file__).resolve().parents[3]
TODAY = dt.date(2026, 6, 1)
STAFF_TEMPLATES = [*(ROOT / "templates" / "patients").glob("*.html"),
                   *(ROOT / "templates" / "instruments").glob("*.html"),
                   ROOT / "templates" / "home.html", ROOT / "templates" / "base.html"]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, 2, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def coordinator(study):
    user = User.objects.create_user("coordinator", password="x" * 12)
    user.groups.add(Group.objects.get_or_create(name="Coordinators")[0])
    Site.objects.get(code="MAIN").staff.add(user)
    return user


@pytest.mark.parametrize(("language", "date", "date_time"), [
    ("en", "1 June 2026", "1 June 2026, 10:02"),
    ("es", "1 de junio de 2026", "1 de junio de 2026, 10:02"),
])
def test_each_language_has_one_date_and_one_date_time_format(language, date, date_time):
    moment = dt.datetime(2026, 6, 1, 10, 2)
    with translation.override(language):
        assert formats.date_format(moment.date()) == date
        assert formats.date_format(moment.date(), "SHORT_DATE_FORMAT") == date
        assert formats.date_format(moment, "DATETIME_FORMAT") == date_time
        assert formats.date_format(moment, "SHORT_DATETIME_FORMAT") == date_time


def test_no_staff_template_spells_out_a_date_format():
    # Named formats (DATETIME_FORMAT) come from the language's format module; "j M Y" did not.
    for template in STAFF_TEMPLATES:
        for spelled in re.findall(r'\|date:"([^"]*)"', template.read_text()):
            assert spelled.endswith("_FORMAT"), f"{template.name}: |date:{spelled!r}"


def test_the_patient_page_prints_dates_and_times_in_the_study_zone_one_way(
    client, study, coordinator
):
    study.time_zone = "Europe/Madrid"  # UTC+2 in June: 10:02 UTC is 12:02 there
    study.save(update_fields=["time_zone"])
    enrolment = enrol(study, "D-1", index_date=dt.date(2026, 5, 2), today=TODAY,
                      contact={"email": "d1@example.org"})
    Reminder.objects.create(visit=enrolment.visits.get(timepoint__code="m1"), kind="invitation",
                            channel="email", status="sent",
                            sent_at=dt.datetime(2026, 5, 25, 7, 14, tzinfo=dt.UTC))
    client.force_login(coordinator)
    url = reverse("patients:patient", kwargs={"code": study.code, "patient_code": "D-1"})
    text = parse(client.get(url).content).find("main").text
    assert "25 April 2026 · 2 May 2026" in text  # enrolled a week before the index date
    assert "Sent 25 May 2026, 09:14" in text  # the reminder, at the study's wall clock
    assert "1 June 2026, 12:02" in text  # the history
    assert not re.search(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\b\.?", text)
    assert not re.search(r"\d{1,2}/\d{1,2}/\d{4}|a\.m\.|p\.m\.", text)

    spanish = parse(client.get(url, HTTP_ACCEPT_LANGUAGE="es").content).find("main").text
    assert "25 de abril de 2026 · 2 de mayo de 2026" in spanish


def test_the_dashboard_prints_today_and_each_window_in_the_one_format(client, study, coordinator):
    enrol(study, "D-2", index_date=TODAY - dt.timedelta(days=35), today=TODAY)
    client.force_login(coordinator)
    url = reverse("patients:dashboard", kwargs={"code": study.code}) + "?list=overdue"
    text = parse(client.get(url).content).find("main").text
    assert "Today in the study's time zone (UTC): 1 June 2026" in text
    # The 1-month visit: index 27 April, target day 30, window days 23 to 44.
    assert "20 May 2026 – 10 June 2026 27 May 2026" in text


def test_a_date_box_is_a_text_box_in_the_page_format_with_an_example(study):
    form = EnrolForm(initial={"index_date": dt.date(2026, 6, 15)}, study=study,
                     sites=Site.objects.all())
    box = parse(str(form["index_date"])).find("input")
    assert box.attrs["type"] == "text" and box.attrs["value"] == "15 June 2026"
    assert str(form.fields["index_date"].help_text).endswith("For example 1 June 2026.")
    with translation.override("es"):
        spanish = EnrolForm(initial={"index_date": dt.date(2026, 6, 15)}, study=study,
                            sites=Site.objects.all())
        assert 'value="15 de junio de 2026"' in str(spanish["index_date"])
        assert str(spanish.fields["enrolled_date"].help_text) == "For example 1 de junio de 2026."


@pytest.mark.parametrize(("typed", "date"), [
    ("15 June 2026", dt.date(2026, 6, 15)), ("15 jun 2026", dt.date(2026, 6, 15)),
    ("2026-06-15", dt.date(2026, 6, 15)), ("15 de junio de 2026", dt.date(2026, 6, 15)),
])
def test_a_date_is_typed_as_day_month_and_year_or_iso(typed, date):
    with translation.override("es"):
        assert StudyDateField().clean(typed) == date
    if "de" not in typed:
        assert StudyDateField().clean(typed) == date


@pytest.mark.parametrize("typed", ["06/15/2026", "15/06/2026", "6/1/2026", "31 June 2026"])
def test_an_all_number_or_impossible_date_is_refused_with_an_example(typed):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        StudyDateField().clean(typed)
    assert refused.value.messages == [
        "Give the date as day, month and year, for example 1 June 2026."]


def test_a_coordinator_enrols_and_moves_the_index_date_with_dates_in_words(
    client, study, coordinator
):
    client.force_login(coordinator)
    client.post(reverse("patients:enrol", kwargs={"code": study.code}), {
        "code": "D-3", "arm": study.arms.get(code="BMC").pk, "site": Site.objects.get().pk,
        "sex": "male", "age_at_enrolment": 61, "enrolled_date": "25 May 2026",
        "index_date": "1 June 2026", "email": "d3@example.org", "preferred_channel": "email",
        "language": "en"})
    enrolment = Enrolment.objects.get(patient__code="D-3")
    assert (enrolment.enrolled_date, enrolment.index_date) == (dt.date(2026, 5, 25), TODAY)
    client.post(reverse("patients:index-date", kwargs={"code": study.code, "patient_code": "D-3"}),
                {"index_date": "8 Jun 2026", "reason": "procedure postponed"})
    enrolment.refresh_from_db()
    assert enrolment.index_date == dt.date(2026, 6, 8)



def test_an_audit_record_is_named_in_the_one_date_time_format():
    # Its name is what the admin's pages and its history read (strftime wrote 2026-06-01).
    from outcomes.audit.models import AuditRecord

    record = AuditRecord(at=dt.datetime(2026, 6, 1, 10, 2, tzinfo=dt.UTC), action="update",
                         object_type="patients.enrolment", object_repr="D-1")
    assert str(record) == "1 June 2026, 10:02 update patients.enrolment D-1"
    with translation.override("es"):
        assert str(record) == "1 de junio de 2026, 10:02 update patients.enrolment D-1"


def test_the_enrol_form_names_arms_and_starts_from_the_studys_today(client, study, coordinator):
    from outcomes.followups.services import study_today

    client.force_login(coordinator)
    page = client.get(reverse("patients:enrol", kwargs={"code": study.code})).content.decode()
    for arm in study.arms.all():
        assert f">{arm.name}</option>" in page
        assert f"{study.code}/{arm.code}" not in page
    today = study_today(study)
    assert f'value="{today.day} {today:%B} {today.year}"' in page
