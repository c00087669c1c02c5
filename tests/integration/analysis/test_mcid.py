"""The MCID estimated from a study's own data, in ``manage.py results`` and on the page.

A data manager imports the catalogue's PGIC file (``import_instrument``) and schedules
it at 3 months; six patients answer the ODI and the NRS at baseline and 3 months, and
the PGIC at 3 months, through the services a patient's link uses. Every expected value
is recomputed here from the raw answers (the ODI's own rule: points over 5 x the
sections answered, x 100), with scipy's t interval and numpy's covariance matrix.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from io import StringIO

import numpy as np
import pytest
import time_machine
from django.core.management import call_command
from scipy import stats as sps

from outcomes.analysis import wording
from outcomes.followups.models import TimePoint, TimePointInstrument
from outcomes.instruments.definitions import LIBRARY
from outcomes.instruments.models import Instrument
from outcomes.instruments.services import complete_response, save_answers
from tests.factories import enrol

NOW = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
INDEX = dt.date(2026, 1, 15)
ODI_ITEMS = ["pain_intensity", "personal_care", "lifting", "walking", "sitting",
             "standing", "sleeping", "sex_life", "social_life", "travelling"]
# patient: arm, ODI sections at baseline and at 3 months (None: left blank), NRS at
# baseline and 3 months, PGIC at 3 months (1 very much improved ... 7 very much worse).
PATIENTS = {
    "A-1": ("BMC", [3, 2, 4, 3, 3, 2, 3, 2, 3, 3], [1, 1, 2, 1, 1, 0, 1, 1, 1, 1], 8, 3, 1),
    "A-2": ("CONTROL", [2, 2, 3, 2, 2, 2, 2, 1, 2, 2], [1, 1, 2, 2, 1, 1, 1, 1, 1, 2], 6, 4, 2),
    "A-3": ("BMC", [4, 3, 4, 4, 3, 3, 4, 3, 4, 4], [3, 2, 3, 3, 3, 2, 3, 3, 3, 3], 7, 6, 3),
    "A-4": ("CONTROL", [1, 1, 2, 1, 1, 1, 1, 0, 1, 1], [1, 1, 2, 1, 1, 1, 1, 1, 1, 1], 4, 4, 4),
    "A-5": ("BMC", [3, 3, 3, None, 2, 3, 3, 2, 3, 2], [1, 1, 1, 1, 1, 1, 1, 1, 1, 1], 9, 2, 2),
    "A-6": ("CONTROL", [2, 3, 3, 2, 3, 3, 2, 2, 3, 3], [2, 3, 3, 3, 3, 3, 2, 2, 3, 3], 5, 5, 6),
}


def odi(sections) -> float:
    """The ODI v2.1a: the points over 5 x the sections answered, as a percentage."""
    answered = [s for s in sections if s is not None]
    return 100 * sum(answered) / (5 * len(answered))


@pytest.fixture
def anchored(study):
    """PGIC imported from the catalogue and asked at 3 months; six patients' answers."""
    call_command("import_instrument", str(LIBRARY / "catalogue" / "pgic.json"),
                 stdout=StringIO())
    pgic = Instrument.objects.get(code="pgic")
    m3 = TimePoint.objects.get(study=study, code="m3")
    TimePointInstrument.objects.create(timepoint=m3, instrument=pgic, order=9)
    odi_row = Instrument.objects.filter(code="odi").latest("pk")
    nrs_row = Instrument.objects.filter(code="nrs11").latest("pk")
    with time_machine.travel(NOW, tick=False):
        for code, (arm, base, later, nrs_base, nrs_later, rating) in PATIENTS.items():
            enrolment = enrol(study, code, arm=arm, index_date=INDEX, today=INDEX)
            for tp, sections, pain, extra in (("baseline", base, nrs_base, None),
                                              ("m3", later, nrs_later, rating)):
                visit = enrolment.visits.get(timepoint__code=tp)
                forms = [(odi_row, dict(zip(ODI_ITEMS, sections, strict=True))),
                         (nrs_row, {"pain": pain})]
                if extra is not None:
                    forms.append((pgic, {"pgic": extra}))
                for instrument, answers in forms:
                    complete_response(response=save_answers(
                        visit=visit, instrument=instrument, answers=answers))
    return study


def results_json() -> dict:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("results", "--study", "BMC-LBP", stdout=out)
    return json.loads(out.getvalue())


def find(rows, **keys) -> dict:
    (match,) = [r for r in rows if all(r[k] == v for k, v in keys.items())]
    return match


def test_the_odis_mcid_is_estimated_by_the_anchor_half_an_sd_and_the_sem(anchored):
    results = results_json()
    row = find(results["mcid_estimates"], score="odi", timepoint="m3")
    # Improved on the PGIC (much improved or better, 1 or 2).
    changes = [odi(PATIENTS[p][2]) - odi(PATIENTS[p][1]) for p in ("A-1", "A-2", "A-5")]
    mean = float(np.mean(changes))
    low, high = sps.t.interval(0.95, len(changes) - 1, loc=mean, scale=sps.sem(changes))
    assert (row["anchor"], row["anchor_label"]) == ("pgic_rating", "much improved or better")
    assert (row["anchor_answered"], row["anchor_improved"], row["anchor_n"]) == (6, 3, 3)
    assert row["anchor_mean_change"] == pytest.approx(mean, rel=1e-12)
    assert (row["anchor_ci_low"], row["anchor_ci_high"]) == (pytest.approx(low, rel=1e-9),
                                                             pytest.approx(high, rel=1e-9))
    baseline = [odi(p[1]) for p in PATIENTS.values()]
    sd = float(np.std(baseline, ddof=1))
    assert (row["baseline_n"], row["baseline_sd"]) == (6, pytest.approx(sd, rel=1e-12))
    assert row["half_sd"] == pytest.approx(0.5 * sd, rel=1e-12)
    # Alpha over the five patients who answered every section (A-5 left walking blank).
    complete = np.array([p[1] for p in PATIENTS.values() if None not in p[1]], float)
    c = np.cov(complete, rowvar=False)
    alpha = 10 / 9 * (1 - np.trace(c) / c.sum())
    assert (row["items"], row["alpha_n"]) == (10, 5)
    assert row["alpha"] == pytest.approx(alpha, rel=1e-9)
    assert row["sem"] == pytest.approx(sd * math.sqrt(1 - alpha), rel=1e-9)
    # The demo's rule on the ODI: improved by 10 points or more.
    assert (row["rule"], row["rule_threshold"]) == ("odi_mcid_10pt", 10.0)


def test_a_one_question_score_has_no_sem_and_the_anchor_is_not_estimated_for_itself(
        anchored):
    results = results_json()
    nrs = find(results["mcid_estimates"], score="nrs", timepoint="m3")
    assert (nrs["items"], nrs["alpha"], nrs["sem"]) == (1, None, None)
    changes = [PATIENTS[p][4] - PATIENTS[p][3] for p in ("A-1", "A-2", "A-5")]
    assert (nrs["anchor_n"], nrs["anchor_mean_change"]) == (3, pytest.approx(np.mean(changes)))
    assert not [r for r in results["mcid_estimates"] if r["score"] in ("pgic_rating",
                                                                        "opioid_mme")]
    # Other follow-ups ask no anchor: their rows say so, the rest is there.
    m6 = find(results["mcid_estimates"], score="odi", timepoint="m6")
    assert (m6["anchor"], m6["anchor_n"], m6["anchor_mean_change"]) == (None, 0, None)
    assert m6["half_sd"] == find(results["mcid_estimates"], score="odi",
                                 timepoint="m3")["half_sd"]


def test_the_results_page_shows_the_estimates_in_words(anchored, client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))
    with time_machine.travel(NOW, tick=False):
        html = client.get("/studies/BMC-LBP/results/").content.decode()
    results = results_json()
    row = find(results["mcid_estimates"], score="odi", timepoint="m3")
    section = html.split('id="mcid"', 1)[1].split("</section>", 1)[0]
    assert "MCID estimated from this study&#x27;s own data" in section
    odi_row = section.split('data-score="odi"', 1)[1].split("</tr>", 1)[0]
    ci = wording.interval(row["anchor_ci_low"], row["anchor_ci_high"], 1)
    assert (f"3 months: {wording.score_change('odi', row['anchor_mean_change'])} "
            f"(95% CI {ci}), n 3 (3 of 6 patients rated themselves much improved or "
            "better on the PGIC rating).") in odi_row
    assert (f"{wording.number(row['half_sd'], 1)} (SD {wording.number(row['baseline_sd'], 1)}"
            ", n 6)") in odi_row
    assert (f"{wording.number(row['sem'], 1)} (Cronbach&#x27;s α "
            f"{wording.number(row['alpha'], 2)}, n 5)") in odi_row
    assert "10 (“ODI improved by 10 points or more”)" in odi_row
    nrs_row = section.split('data-score="nrs"', 1)[1].split("</tr>", 1)[0]
    assert "one question has no Cronbach&#x27;s α" in nrs_row
    assert "schedule the Patient Global Impression of Change" not in section
    # The methods, named.
    assert "Anchor-based (PGIC rating)" in section and "Norman, Sloan and Wyrwich" in section
    assert "baseline SD × √(1 − Cronbach's α)" in section


def test_without_an_anchor_the_page_says_to_schedule_the_pgic(study, client):
    from django.contrib.auth.models import User

    from patients.demo import load_demo

    load_demo(size=4)
    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))
    html = client.get("/studies/BMC-LBP/results/").content.decode()
    section = html.split('id="mcid"', 1)[1].split("</section>", 1)[0]
    assert ("To get one, schedule the Patient Global Impression of Change (PGIC, in the "
            "instrument catalogue) at the follow-up time points.") in section
    assert 'data-score="odi"' in section and "No anchor is asked at a follow-up." in section
