"""A new instrument's score reaches the results and every export with no migration.

The scores are stored by key (``VisitScores.values``), not a column each, so an
instrument nobody wrote code for is read like the built-in ones. The instrument here is
a throwaway definition (SPEC 3.6): three items 0-4, scored as their mean (so thirds,
repeating fractions), stored as a data manager's import stores a definition file
(``import_instrument_definition``); then scheduled at baseline and 3 months,
answered through the same services as a patient's link, and read back through
``manage.py results`` and ``manage.py export_study``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from fractions import Fraction
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from outcomes.followups.models import TimePoint, TimePointInstrument
from outcomes.instruments.definitions.files import definition_to_dict, parse_definition
from outcomes.instruments.models import Instrument, VisitScores
from outcomes.instruments.services import (
    complete_response,
    import_instrument_definition,
    save_answers,
)
from tests.factories import enrol

NOW = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
INDEX = dt.date(2026, 1, 15)
KEY = "kneetest_mean"
KNEE = parse_definition({
    "code": "kneetest", "version": "0.1", "title": "Knee test questionnaire (throwaway)",
    "short_title": "Knee test", "licence": "Test only.", "source": "This test.",
    "items": [{"code": f"knee{n}", "text": f"Knee question {n}", "kind": "scale",
               "min": 0, "max": 4} for n in (1, 2, 3)],
    "scores": [{"key": KEY, "label": "Knee test mean", "method": "mean",
                "items": ["knee1", "knee2", "knee3"], "direction": "lower_is_better"}]})
# Answers (knee1, knee2, knee3) at baseline and 3 months; the score is their mean.
ANSWERS = {
    "K-001": ("BMC", (3, 3, 2), (1, 1, 0)),  # 8/3, then 2/3: change -2
    "K-002": ("BMC", (4, 4, 4), (2, 1, 1)),  # 4, then 4/3: change -8/3
    "K-003": ("CONTROL", (0, 1, 2), None),  # 1; no 3-month answers
}


@pytest.fixture
def knee(study):
    """The throwaway instrument: imported, stored, scheduled at two visits."""
    import_instrument_definition(data=definition_to_dict(KNEE))
    instrument = Instrument.objects.get(code=KNEE.code, version=KNEE.version)
    for tp in TimePoint.objects.filter(study=study, code__in=["baseline", "m3"]):
        TimePointInstrument.objects.create(timepoint=tp, instrument=instrument, order=9)
    with time_machine.travel(NOW, tick=False):
        for code, (arm, *visits) in ANSWERS.items():
            enrolment = enrol(study, code, arm=arm, index_date=INDEX, today=INDEX)
            for tp, answers in zip(("baseline", "m3"), visits, strict=True):
                if answers is None:
                    continue
                visit = enrolment.visits.get(timepoint__code=tp)
                response = save_answers(visit=visit, instrument=instrument, answers=dict(
                    zip(KNEE.item_codes, answers, strict=True)))
                complete_response(response=response)
        yield instrument


def run(command: str, *args) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(command, "--study", "BMC-LBP", *args, stdout=out)
    return out.getvalue()


def find(rows, **keys) -> dict:
    (match,) = [r for r in rows if all(r[k] == v for k, v in keys.items())]
    return match


def test_the_new_score_is_stored_by_key_without_a_migration(knee):
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()
    stored = sorted(row[KEY] for row in VisitScores.objects.values_list("values", flat=True))
    assert stored == sorted(float(Fraction(*f)) for f in ((8, 3), (2, 3), (4, 1), (4, 3),
                                                          (1, 1)))


def test_the_new_score_is_in_the_results(knee):
    results = json.loads(run("results", "--format", "json"))
    baseline = find(results["scores"], arm="BMC", timepoint="baseline", score=KEY)
    # By hand: baseline 8/3 and 4, mean 10/3; 3 months 2/3 and 4/3, mean 1; changes -2
    # and -8/3, mean -7/3.
    assert (baseline["n"], baseline["mean"]) == (2, pytest.approx(10 / 3, rel=1e-12))
    m3 = find(results["scores"], arm="BMC", timepoint="m3", score=KEY)
    assert (m3["n"], m3["mean"]) == (2, pytest.approx(1.0, rel=1e-12))
    assert (m3["change_n"], m3["change_mean"]) == (2, pytest.approx(-7 / 3, rel=1e-12))
    control = find(results["scores"], arm="CONTROL", timepoint="baseline", score=KEY)
    assert (control["n"], control["mean"]) == (1, pytest.approx(1.0))
    assert find(results["scores"], arm="CONTROL", timepoint="m3", score=KEY)["n"] == 0


def test_the_new_score_is_in_the_tidy_and_wide_files(knee):
    tidy = list(csv.DictReader(io.StringIO(run("export_study", "--format", "tidy"))))
    first = find(tidy, patient="K-001", timepoint="baseline", score=KEY)
    assert (first["value"], first["missing_reason"]) == ("2.666666667", "")  # 8/3
    assert find(tidy, patient="K-002", timepoint="m3", score=KEY)["value"] == "1.333333333"
    # Not asked at 1 month; not answered at 3 months (the window has closed).
    assert not [r for r in tidy if r["score"] == KEY and r["timepoint"] == "m1"]
    missed = find(tidy, patient="K-003", timepoint="m3", score=KEY)
    assert (missed["value"], missed["missing_reason"]) == ("", "missed")
    wide = list(csv.DictReader(io.StringIO(run("export_study", "--format", "wide"))))
    row = find(wide, patient="K-001")
    assert (row[f"{KEY}_baseline"], row[f"{KEY}_m3"]) == ("2.666666667", "0.6666666667")
    assert f"{KEY}_m1" not in row


def test_the_new_score_is_in_the_spss_file_with_its_label(knee, tmp_path):
    import pyreadstat

    path = tmp_path / "wide.sav"
    run("export_study", "--format", "spss", "--output", str(path))
    frame, meta = pyreadstat.read_sav(str(path))
    assert meta.column_names_to_labels[f"{KEY}_baseline"] == (
        "Knee test mean (0-4, lower is better) at Baseline")
    first = frame[frame["patient"] == "K-001"].iloc[0]
    assert first[f"{KEY}_baseline"] == pytest.approx(8 / 3, abs=1e-12)


def test_the_dictionary_writes_a_scale_without_anchors_as_its_range(knee):
    # A scale item with no anchor labels read "0 to 4 ()" (review of issue 17, #11d).
    rows = list(csv.DictReader(io.StringIO(run("export_study", "--format", "dictionary"))))
    values = {(r["file"], r["column"]): r["values"] for r in rows}
    assert values[("items: kneetest 0.1", "knee1")] == "0 to 4"
    assert values[("items: nrs11 1.0", "pain")] == "0 to 10 (0 = No pain; 10 = Worst possible pain)"


def test_the_results_leave_out_time_points_that_do_not_ask_the_score(knee, client):
    # The knee questionnaire is asked at baseline and 3 months only; the results gave
    # n 0 rows at 1, 6 and 12 months too (review of issue 17, #11f).
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    results = json.loads(run("results", "--format", "json"))
    asked = {(r["arm"], r["timepoint"]) for r in results["scores"] if r["score"] == KEY}
    assert asked == {(arm, tp) for arm in ("BMC", "CONTROL") for tp in ("baseline", "m3")}
    changes = {r["timepoint"] for r in results["comparisons"] if r["measure"] == KEY}
    assert changes == {"m3"}
    # Scores asked everywhere keep every time point, opioid use among them.
    for score in ("odi", "opioid_mme"):
        assert {r["timepoint"] for r in results["scores"] if r["score"] == score} == set(
            results["timepoints"])
    table = list(csv.DictReader(io.StringIO(run("results", "--format", "csv"))))
    assert {r["timepoint"] for r in table if r["table"] == "scores" and r["score"] == KEY
            } == {"baseline", "m3"}
    manager = User.objects.create_user("dm", password="x" * 12)
    manager.groups.add(Group.objects.get(name="Data managers"))
    Instrument.objects.get(code=KNEE.code).timepoints.first().study.sites.get().staff.add(
        manager)
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("patients:results", kwargs={"code": "BMC-LBP"}))
    assert page.status_code == 200
    (knee_table,) = [t for t in page.context["table_two"]["scores"] if t["score"] == KEY]
    assert [row["timepoint"] for row in knee_table["rows"]] == ["baseline", "m3"]
