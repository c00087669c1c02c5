"""PROMIS-29's summary scores from the catalogue, imported and answered as a study does.

``import_instrument`` stores ``catalogue/promis29_v2_1.json`` (version 2.1-r2), a study
schedules it at baseline and 3 months, three patients answer it through the services a
patient's link uses, and the physical and mental health summary scores (``p29_phs_t``,
``p29_mhs_t``: Hays et al. Qual Life Res 2018;27:1885-1891) reach the results, the tidy,
wide and dictionary exports, the FHIR bundle and the admin's document, beside the domain
T-scores as before. Expected values are the published formula computed in the unit tests'
independent helper (``library/test_promis29.py``: the weights written out from the
sources, the T-scores from the manual's tables transcribed there); one profile is worked
by hand there (physical 37.0919, mental 41.6019).

Then the version question: a study that imported the earlier file (version 2.1, no
summary scores) and has responses on it cannot have the summaries added to 2.1; it
imports 2.1-r2 beside it and moves its time points to it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from fractions import Fraction
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.urls import reverse
from fhir.resources.bundle import Bundle

from outcomes.followups.models import TimePoint, TimePointInstrument
from outcomes.instruments.models import Instrument
from outcomes.instruments.services import complete_response, save_answers
from tests.factories import enrol
from tests.unit.instruments.library.test_promis29 import PROFILE, answers_for, expected

FILE = (Path(__file__).resolve().parents[3] / "outcomes" / "instruments" / "library"
        / "catalogue" / "promis29_v2_1.json")
NOW = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
INDEX = dt.date(2026, 1, 15)
SUMMARIES = ("p29_phs_t", "p29_mhs_t")

#: A second profile: better physical function and less pain than PROFILE.
SECOND = ({"pf": 18, "anx": 6, "dep": 5, "fat": 8, "slp": 10, "sr": 16, "pi": 6}, 2)
P1 = expected(*PROFILE)
P2 = expected(*SECOND)
BLANK_PAIN = answers_for(*SECOND) | {"painin31": None}  # pain interference not scorable

#: (patient, arm, baseline answers, 3-month answers or None)
PATIENTS = [("S-001", "BMC", answers_for(*PROFILE), answers_for(*SECOND)),
            ("S-002", "BMC", answers_for(*SECOND), None),
            ("S-003", "CONTROL", BLANK_PAIN, None)]


def command(*args, **options) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def answer(study, instrument, patients) -> None:
    with time_machine.travel(NOW, tick=False):
        for code, arm, *visits in patients:
            enrolment = enrol(study, code, arm=arm, index_date=INDEX, today=INDEX)
            for tp, answers in zip(("baseline", "m3"), visits, strict=True):
                if answers is not None:
                    visit = enrolment.visits.get(timepoint__code=tp)
                    complete_response(response=save_answers(
                        visit=visit, instrument=instrument, answers=answers))


def schedule(study, instrument) -> None:
    for tp in TimePoint.objects.filter(study=study, code__in=["baseline", "m3"]):
        TimePointInstrument.objects.create(timepoint=tp, instrument=instrument, order=9)


@pytest.fixture
def answered(study):
    said = command("import_instrument", str(FILE))
    assert said.startswith("imported promis29 version 2.1-r2 (PROMIS-29): 29 questions")
    assert "p29_phs_t" in said and "p29_mhs_t" in said
    instrument = Instrument.objects.get(code="promis29", version="2.1-r2")
    schedule(study, instrument)
    answer(study, instrument, PATIENTS)
    return study


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def close(text: str, value: Fraction) -> bool:
    return text != "" and abs(Fraction(text) - value) < Fraction(1, 10**8)


def test_the_score_command_gives_both_summaries(db, monkeypatch):
    import sys

    command("import_instrument", str(FILE))
    lines = [{"id": "a", "answers": answers_for(*PROFILE)}, {"id": "b", "answers": BLANK_PAIN}]
    monkeypatch.setattr(sys, "stdin", StringIO("".join(json.dumps(r) + "\n" for r in lines)))
    out = [json.loads(line) for line in command("score", "promis29").splitlines()]
    assert f"{out[0]['scores']['p29_phs_t']:.4f}" == "37.0919"  # worked by hand
    assert f"{out[0]['scores']['p29_mhs_t']:.4f}" == "41.6019"
    assert out[1]["scores"]["p29_phs_t"] is None
    assert out[1]["not_scorable"]["p29_phs_t"] == (
        "p29_pi_t not scorable (painin31 unanswered; none may be missing)")


def test_the_summaries_are_in_the_results(answered):
    results = json.loads(command("results", "--study", "BMC-LBP", "--format", "json"))
    found = {(s["arm"], s["timepoint"], s["score"]): s for s in results["scores"]}
    for key in SUMMARIES:
        baseline = found[("BMC", "baseline", key)]
        assert baseline["n"] == 2
        assert baseline["mean"] == pytest.approx(float((P1[key] + P2[key]) / 2), abs=1e-9)
        m3 = found[("BMC", "m3", key)]
        assert (m3["n"], m3["mean"]) == (1, pytest.approx(float(P2[key]), abs=1e-9))
        assert m3["change_n"] == 1
        assert m3["change_mean"] == pytest.approx(float(P2[key] - P1[key]), abs=1e-9)
        # S-003's pain interference is not scorable, so neither summary is.
        assert found[("CONTROL", "baseline", key)]["n"] == 0
    # The domains are as before: S-003's physical function is there.
    assert found[("CONTROL", "baseline", "p29_pf_t")]["n"] == 1


def test_the_summaries_are_in_the_tidy_wide_and_dictionary_files(answered):
    tidy = rows(command("export_study", "--study", "BMC-LBP", "--format", "tidy"))
    cell = {(r["patient"], r["timepoint"], r["score"]): r for r in tidy}
    for key in SUMMARIES:
        assert close(cell[("S-001", "baseline", key)]["value"], P1[key])
        assert close(cell[("S-001", "m3", key)]["value"], P2[key])
        blank = cell[("S-003", "baseline", key)]
        assert (blank["value"], blank["missing_reason"]) == ("", "not_scorable")
        assert blank["missing_detail"] == (
            "p29_pi_t not scorable (painin31 unanswered; none may be missing)")
    wide = {r["patient"]: r for r in rows(command("export_study", "--study", "BMC-LBP",
                                                  "--format", "wide"))}
    assert close(wide["S-002"]["p29_phs_t_baseline"], P2["p29_phs_t"])
    assert close(wide["S-002"]["p29_mhs_t_baseline"], P2["p29_mhs_t"])
    dictionary = rows(command("export_study", "--study", "BMC-LBP", "--format",
                              "dictionary"))
    score = {r["column"]: r for r in dictionary if r["file"] == "scores"}
    assert score["p29_phs_t"]["direction"] == score["p29_mhs_t"]["direction"] == (
        "higher is better")
    assert "physical health summary" in score["p29_phs_t"]["label"]
    # Its range, derived from the tables' ends (checked in the unit tests), 1 decimal shown.
    assert score["p29_phs_t"]["values"] == "20.4335 to 58.8522"
    assert score["p29_mhs_t"]["values"] == "19.5903 to 66.0241"


def test_the_summaries_are_observations_in_the_fhir_bundle(answered):
    bundle = json.loads(command("export_fhir", "--study", "BMC-LBP"))
    resources = [entry["resource"] for entry in bundle["entry"]]
    for key in SUMMARIES:
        observed = sorted(r["valueQuantity"]["value"] for r in resources
                          if r["resourceType"] == "Observation"
                          and r["code"]["coding"][0]["code"] == key)
        assert observed == pytest.approx(sorted(float(v) for v in (P1[key], P2[key],
                                                                   P2[key])), abs=1e-9)
        (unit,) = {r["valueQuantity"]["code"] for r in resources
                   if r["resourceType"] == "Observation"
                   and r["code"]["coding"][0]["code"] == key}
        assert unit == "{T-score}"
    Bundle.parse_obj(bundle)
    from tests.integration.analysis.test_fhir import errors, medplum_issues

    assert errors(medplum_issues(bundle)) == []


def test_the_admin_document_says_how_each_summary_is_computed(answered, client):
    instrument = Instrument.objects.get(code="promis29", version="2.1-r2")
    client.force_login(User.objects.create_superuser("manager", password="x" * 12))
    page = client.get(reverse("admin:instruments_instrument_change", args=[instrument.pk]))
    text = page.content.decode()
    assert "Weighted sum of other scores, each standardized" in text
    assert "0.872 × (p29_pf_t − 50) ÷ 10" in text
    assert ("−0.094 × the mean of (p29_pi_t − 50) ÷ 10 and (p29_pain_intensity − 2.31) "
            "÷ 2.34") in text
    assert "50 + 10 × the weighted sum" in text
    # Its range at the decimals shown (the exact ends have 14), said to be rounded;
    # a table's own range stays as it is.
    assert "20.4 to 58.9 (rounded to the decimals shown)" in text
    assert "22.5 to 57" in text and "22.5 to 57 (rounded" not in text


def test_the_results_title_shows_the_summarys_range_at_its_decimals(answered):
    from outcomes.analysis.wording import score_title

    assert score_title("p29_phs_t") == (
        "PROMIS-29 physical health summary (T-score) (20.4-58.9, higher is better)")


def earlier_file(tmp_path) -> Path:
    """The catalogue's earlier PROMIS-29 file: version 2.1, without the summary scores."""
    data = json.loads(FILE.read_text(encoding="utf-8"))
    data["version"] = "2.1"
    data["scores"] = [s for s in data["scores"] if s["key"] not in SUMMARIES]
    path = tmp_path / "promis29_v2_1_earlier.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_study_answered_on_the_earlier_file_adds_the_new_version_beside_it(
        study, tmp_path):
    command("import_instrument", str(earlier_file(tmp_path)))
    earlier = Instrument.objects.get(code="promis29", version="2.1")
    schedule(study, earlier)
    answer(study, earlier, [("S-001", "BMC", answers_for(*PROFILE), None)])
    # Adding the summaries to 2.1 itself is refused: a version with responses never
    # changes (its responses were scored without them).
    data = json.loads(FILE.read_text(encoding="utf-8")) | {"version": "2.1"}
    (tmp_path / "edited.json").write_text(json.dumps(data), encoding="utf-8")
    err = StringIO()
    with pytest.raises(CommandError), time_machine.travel(NOW, tick=False):
        call_command("import_instrument", str(tmp_path / "edited.json"), stdout=StringIO(),
                     stderr=err)
    # (The lines suggest "2.2", the next number: not a PROMIS-29 version. The README
    # says to import the catalogue's 2.1-r2 instead.)
    assert err.getvalue().splitlines() == [
        f"scores[{n}]: a version with responses cannot change; publish version 2.2"
        for n in (21, 22)]
    # The catalogue file is its own version: it imports beside 2.1, which is untouched.
    assert command("import_instrument", str(FILE)).startswith(
        "imported promis29 version 2.1-r2")
    assert Instrument.objects.get(pk=earlier.pk).digest == earlier.digest
    # The time points move to it (each row's instrument), and the next answers have both
    # summaries; the response on 2.1 keeps the scores it was scored with.
    new = Instrument.objects.get(code="promis29", version="2.1-r2")
    TimePointInstrument.objects.filter(instrument=earlier).update(instrument=new)
    answer(study, new, [("S-002", "BMC", answers_for(*SECOND), None)])
    tidy = rows(command("export_study", "--study", "BMC-LBP", "--format", "tidy"))
    cell = {(r["patient"], r["timepoint"], r["score"]): r for r in tidy}
    assert close(cell[("S-002", "baseline", "p29_phs_t")]["value"], P2["p29_phs_t"])
    assert close(cell[("S-001", "baseline", "p29_pf_t")]["value"], Fraction("37.9"))
    # The export has no code for "not a score of the version answered": it says
    # not_scorable, with no detail (the catalogue README says so).
    before = cell[("S-001", "baseline", "p29_phs_t")]
    assert (before["value"], before["missing_reason"], before["missing_detail"]) == (
        "", "not_scorable", "")
