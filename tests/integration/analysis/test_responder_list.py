"""The responder list: who reached the threshold at a time point, and who lost it."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

PATIENTS = """patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date
K1,BMC,MAIN,female,60,27.0,,2025-01-06,2025-01-13
K2,BMC,MAIN,male,55,31.0,,2025-01-06,2025-01-13
K3,CONTROL,MAIN,female,70,24.0,,2025-01-06,2025-01-13
"""
# NRS at baseline, m1, m3: K1 responds at both; K2 responds at m1 and loses it at m3;
# K3 never responds.
NRS = {"K1": (8, 5, 4), "K2": (8, 5, 8), "K3": (6, 6, 5)}


@pytest.fixture
def client_with_data(client, study, tmp_path):
    lines = ["patient,timepoint,instrument,item,value,completed_date"]
    for patient, values in NRS.items():
        for tp, value, day in zip(("baseline", "m1", "m3"), values,
                                  ("2025-01-10", "2025-02-12", "2025-04-12"), strict=True):
            lines.append(f"{patient},{tp},nrs11,pain,{value},{day}")
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))
    return client


def listed(client, **params) -> list[str]:
    import re

    query = "&".join(f"{k}={v}" for k, v in params.items())
    html = client.get(f"/studies/BMC-LBP/responders/?{query}").content.decode()
    return re.findall(r'/outcomes/">(K\d)</a>', html)


def test_responders_at_a_time_point_by_rule(client_with_data):
    assert listed(client_with_data, rule="nrs_2pt", timepoint="m3",
                  verdict="responder") == ["K1"]
    assert listed(client_with_data, rule="nrs_2pt", timepoint="m1",
                  verdict="responder") == ["K1", "K2"]


def test_lost_lists_who_responded_earlier_but_not_now(client_with_data):
    assert listed(client_with_data, rule="nrs_2pt", timepoint="m3", verdict="lost") == ["K2"]


def test_the_arm_filter(client_with_data):
    assert listed(client_with_data, rule="nrs_2pt", timepoint="m3", arm="CONTROL") == ["K3"]


def test_the_list_costs_a_fixed_number_of_queries(client_with_data,
                                                  django_assert_max_num_queries):
    # 15: the page's own queries (the rules' labels: 2), plus one for the study's
    # second-factor rule.
    with django_assert_max_num_queries(16):  # + the page's visits (not yet due)
        client_with_data.get("/studies/BMC-LBP/responders/?rule=nrs_2pt&timepoint=m3")


def test_the_change_has_the_outcomes_pages_sign_and_people_words(client_with_data):
    # K1's NRS fell from 8 to 4 by 3 months: later minus baseline is -4, on both pages.
    html = client_with_data.get(
        "/studies/BMC-LBP/responders/?rule=nrs_2pt&timepoint=m3").content.decode()
    assert "NRS pain: change from baseline (later − baseline; a fall is an improvement)" in html
    row = html[html.index(">K1</a>"):]
    row = row[:row.index("</tr>")]
    assert "\u22124.0" in row and "Responder" in row and "3 months: Responder" in row
    outcomes = client_with_data.get("/studies/BMC-LBP/patients/K1/outcomes/").content.decode()
    nrs = outcomes[outcomes.index('data-score="nrs"'):]
    assert "\u22124.0" in nrs[:nrs.index("</figure>")]
    for code in ("nrs_2pt", "non_responder", "m3"):
        assert f">{code}<" not in html  # codes live in attributes and URLs only
    assert "NRS pain improved by 2 points or more" in html


def test_a_visit_still_to_come_is_not_yet_due_on_the_list(client, demo):
    from outcomes.followups.models import Visit

    client.force_login(User.objects.get(username="clinician"))
    future = (Visit.objects.filter(enrolment__study=demo, status__in=["scheduled", "open"])
              .exclude(timepoint__is_baseline=True).select_related("timepoint",
                                                                   "enrolment__patient")
              .first())
    html = client.get(f"/studies/BMC-LBP/responders/?rule=odi_mcid_10pt"
                      f"&timepoint={future.timepoint.code}").content.decode()
    row = html[html.index(f">{future.enrolment.patient.code}</a>"):]
    row = row[:row.index("</tr>")]
    assert "Not yet due" in row and "Not evaluable" not in row and "at this visit" not in row
