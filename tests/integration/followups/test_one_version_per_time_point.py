"""A time point asks one version of a questionnaire: model, database, admin, system check.

Two versions of one code at one time point each gave the same score keys, and visit
scores, exports and results showed one of them: the other patients' answers were
silently dropped (review of issue 17, #2). Moving a time point to a new version is
changing its row's instrument, or deleting the row and adding the new version at once.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import IntegrityError, transaction

from outcomes.followups.models import TimePointInstrument
from outcomes.instruments.checks import check_study_set_up
from outcomes.instruments.services import import_instrument_definition
from tests.admin_forms import admin_form_data, change_url

PHQ9 = Path(__file__).resolve().parents[2] / "data" / "instruments" / "phq9.json"
TWICE = ("PHQ-9 is already asked at 3 months (version 1.0); a time point asks one version "
         "of a questionnaire. To move it to another version, change that row's instrument.")


def phq9(version: str):
    data = json.loads(PHQ9.read_text())
    data["version"] = version
    return import_instrument_definition(data=data).instrument


@pytest.fixture
def versions(study):
    """PHQ-9 1.0 asked at 3 months; PHQ-9 2.0 imported, asked nowhere."""
    one, two = phq9("1.0"), phq9("2.0")
    m3 = study.timepoints.get(code="m3")
    TimePointInstrument.objects.create(timepoint=m3, instrument=one, order=9)
    return m3, one, two


def test_the_model_refuses_a_second_version_naming_the_one_asked(versions):
    m3, _, two = versions
    with pytest.raises(ValidationError) as refused:
        TimePointInstrument(timepoint=m3, instrument=two, order=10).full_clean()
    assert refused.value.message_dict == {"instrument": [TWICE]}


def test_the_database_refuses_it_too_however_the_row_is_made(versions):
    m3, _, two = versions
    with pytest.raises(IntegrityError), transaction.atomic():
        TimePointInstrument.objects.create(timepoint=m3, instrument=two, order=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        m3.instruments.add(two, through_defaults={"order": 10})  # bulk_create underneath
    assert list(m3.items.filter(instrument_code="phq9").values_list(
        "instrument__version", flat=True)) == ["1.0"]
    # Another time point may ask the other version.
    m6 = m3.study.timepoints.get(code="m6")
    m6.instruments.add(two, through_defaults={"order": 10})
    assert m6.items.get(instrument=two).instrument_code == "phq9"


def test_a_time_point_moves_to_a_new_version_by_changing_its_row(versions):
    m3, one, two = versions
    row = m3.items.get(instrument=one)
    row.instrument = two
    row.full_clean()
    row.save()
    row.refresh_from_db()
    assert (row.instrument, row.instrument_code) == (two, "phq9")


@pytest.fixture
def admin_client(client, study):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "x" * 12))
    return client


def add_row(data: dict, timepoint, instrument) -> int:
    row = int(data["items-TOTAL_FORMS"])
    data.update({"items-TOTAL_FORMS": row + 1, f"items-{row}-instrument": instrument.pk,
                 f"items-{row}-order": 10 + row, f"items-{row}-timepoint": timepoint.pk})
    return row


def test_the_admin_refuses_it_on_the_row_in_peoples_words(admin_client, versions):
    m3, _, two = versions
    data = admin_form_data(admin_client.get(change_url(m3)))
    row = add_row(data, m3, two)
    reply = admin_client.post(change_url(m3), data)
    assert reply.status_code == 200
    formset = reply.context["inline_admin_formsets"][0].formset
    assert formset.forms[row].errors == {"instrument": [TWICE]}  # on the field, not a 500
    assert not m3.items.filter(instrument=two).exists()


def test_the_admin_refuses_two_new_versions_added_together(admin_client, versions):
    m3, one, two = versions
    m6 = m3.study.timepoints.get(code="m6")
    data = admin_form_data(admin_client.get(change_url(m6)))
    add_row(data, m6, one)
    row = add_row(data, m6, two)
    reply = admin_client.post(change_url(m6), data)
    assert reply.status_code == 200
    assert reply.context["inline_admin_formsets"][0].formset.forms[row].errors == {
        "instrument": [TWICE.replace("3 months", "6 months")]}
    assert not m6.items.filter(instrument_code="phq9").exists()


def test_the_admin_replaces_a_version_deleted_and_added_in_one_save(admin_client, versions):
    m3, one, two = versions
    page = admin_client.get(change_url(m3))
    data = admin_form_data(page)
    forms = page.context["inline_admin_formsets"][0].formset.forms
    old = next(i for i, form in enumerate(forms) if form.instance.instrument == one)
    data[f"items-{old}-DELETE"] = "on"
    add_row(data, m3, two)
    assert admin_client.post(change_url(m3), data).status_code == 302
    assert list(m3.items.filter(instrument_code="phq9").values_list(
        "instrument__version", flat=True)) == ["2.0"]


def test_the_admin_changes_a_rows_version(admin_client, versions):
    m3, one, two = versions
    page = admin_client.get(change_url(m3))
    data = admin_form_data(page)
    forms = page.context["inline_admin_formsets"][0].formset.forms
    old = next(i for i, form in enumerate(forms) if form.instance.instrument == one)
    data[f"items-{old}-instrument"] = two.pk
    assert admin_client.post(change_url(m3), data).status_code == 302
    assert m3.items.get(instrument_code="phq9").instrument == two


def test_the_system_check_names_two_versions_saved_before_the_guard(versions):
    m3, _, two = versions
    assert not [m for m in check_study_set_up(databases=["default"])
                if m.id == "instruments.E004"]
    # A row saved before the guard: the NRS row made to ask PHQ-9 2.0 behind the
    # model's back (a queryset update keeps its old code).
    TimePointInstrument.objects.filter(timepoint=m3, instrument__code="nrs11").update(
        instrument=two)
    errors = [m for m in check_study_set_up(databases=["default"])
              if m.id == "instruments.E004"]
    assert [error.msg for error in errors] == [
        "Study BMC-LBP, time point m3 (3 months) asks PHQ-9 versions 2.0 and 1.0; a time "
        "point asks one version of a questionnaire. Only one version's scores are shown in "
        "visit scores, exports and results."]
    assert errors[0].is_serious()
    with pytest.raises(SystemCheckError, match=r"instruments\.E004"):
        call_command("check", "--database", "default")
