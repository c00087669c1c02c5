"""A study that allows no blank ODI section (``max_missing={"odi": 0}``) is obeyed on every
path: the patient's link (the form asks; the submit records), staff entry, import, rescore.

The ODI scored over 9 sections when one is blank (Fairbank JCT, Pynsent PB. Spine
2000;25(22):2940-52: the percent is of the sections answered); with no blank allowed it is
not scorable, with the reason "1 section unanswered; none may be missing" (SPEC 3.7).
"""

from __future__ import annotations

import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse

from outcomes.followups.links import ensure_link
from outcomes.instruments.models import Response
from outcomes.instruments.services import save_answers, submit_visit
from tests.factories import enrol, staff
from tests.integration.instruments.test_import_study import PATIENTS, responses_csv
from tests.integration.patients.test_staff_entry import entry_url, form_data
from tests.integration.survey.conftest import EQ5D, NRS, ODI_10, PROMIS

TODAY = dt.date(2026, 6, 1)
REASON = "1 section unanswered; none may be missing"
ODI_9 = dict(ODI_10, sex_life=None)  # 16 points over the 9 sections answered


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC), tick=False):
        yield


def strict(study):
    study.max_missing = {"odi": 0}
    study.full_clean()
    study.save()


def odi_of(visit) -> Response:
    return Response.objects.get(visit=visit, instrument__code="odi", state="completed")


@pytest.fixture
def baseline(study):
    return enrol(study, "P-1", index_date=TODAY, today=TODAY).visits.get(
        timepoint__code="baseline")


def test_the_patients_form_asks_for_the_section_the_study_allows_no_blank_in(
    client, study, baseline
):
    token = ensure_link(visit=baseline)
    url = reverse("survey:step", kwargs={"token": token, "number": 1})
    data = {k: "" if v is None else str(v) for k, v in ODI_9.items()} | {"action": "next"}
    strict(study)
    reply = client.post(url, data)
    assert reply.status_code == 400
    assert "Skip this question" not in reply.content.decode()
    assert [link.text for link in reply.context["error_links"]] == [
        "ODI: Sex life (if applicable) — choose an answer"]
    # With the definition's allowance (one section), the same page is accepted.
    study.max_missing = {}
    study.save()
    assert client.post(url, data).status_code == 302


def test_the_submit_records_the_odi_not_scorable(study, baseline):
    for item, answers in zip(baseline.timepoint.items.order_by("order"),
                             (ODI_9, NRS, EQ5D, PROMIS), strict=True):
        save_answers(visit=baseline, instrument=item.instrument, answers=answers)
    strict(study)
    submit_visit(visit=baseline)
    response = odi_of(baseline)
    assert response.not_scorable == {"odi": REASON, "odi_band": REASON, "odi_answered": REASON}
    assert not response.scores.filter(code="odi").exists()


def test_staff_entry_records_the_odi_not_scorable(client, study, baseline):
    strict(study)
    client.force_login(staff("coord", "Coordinators"))
    data = form_data((ODI_9, NRS, EQ5D, PROMIS), answered=str(TODAY))
    refused = client.post(entry_url(baseline), data)
    assert refused.status_code == 200
    assert ('href="#div_id_odi-sex_life">Oswestry Disability Index, 8. Sex life (if '
            'applicable): choose an answer' in refused.content.decode())
    reply = client.post(entry_url(baseline), data | {"keep_blanks": "on"}, follow=True)
    assert f"ODI not scorable: {REASON}." in reply.content.decode()
    assert odi_of(baseline).not_scorable["odi"] == REASON


def test_import_records_the_odi_not_scorable_with_a_warning(study, tmp_path, capsys):
    strict(study)
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses_csv())  # L-002 left sex life blank
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"))
    assert f"L-002 baseline odi: ODI not scorable: {REASON}" in capsys.readouterr().err
    response = Response.objects.get(visit__enrolment__patient__code="L-002",
                                    instrument__code="odi")
    assert response.not_scorable["odi"] == REASON
    assert not response.scores.exists()


def test_rescore_records_the_odi_not_scorable(study, baseline):
    for item, answers in zip(baseline.timepoint.items.order_by("order"),
                             (ODI_9, NRS, EQ5D, PROMIS), strict=True):
        save_answers(visit=baseline, instrument=item.instrument, answers=answers)
    submit_visit(visit=baseline)
    assert odi_of(baseline).scores.get(code="odi").exact == "320/9"  # 16/45 x 100
    strict(study)
    out = StringIO()
    call_command("rescore", "--study", "BMC-LBP", stdout=out)
    assert json.loads(out.getvalue())["changed"] == 1
    assert odi_of(baseline).not_scorable["odi"] == REASON
    assert not odi_of(baseline).scores.exists()
