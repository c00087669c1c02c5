"""Issue 17's "Done when": an instrument added from a file reaches everything, no code.

A data manager imports PHQ-9 from its definition file (``import_instrument``, the
library's ``catalogue/phq9.json``, which nothing loads by default), schedules
it at every time point of the study, a patient answers it by link and two more
patients' paper forms are imported (``import_study``); its score is in the results
(command and page), the tidy, wide, items and dictionary exports and the FHIR bundle
(Questionnaire, QuestionnaireResponse and Observation, validated by ``fhir.resources``
and ``@medplum/core``), and no migration was needed. A broken file is refused with a
line per problem and nothing stored (``instruments/test_import_instrument.py`` has the
rest of the refusals).

Expected values are worked by hand from the answers below (PHQ-9 is a sum of nine
items scored 0-3; Kroenke 2001's bands), not read from the code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.urls import reverse
from fhir.resources.bundle import Bundle

from outcomes.followups.links import ensure_link
from outcomes.followups.models import TimePointInstrument
from outcomes.instruments.models import Instrument, ResponderRule
from tests.factories import enrol
from tests.integration.survey.conftest import PAGES

ROOT = Path(__file__).resolve().parents[2]
PHQ9 = ROOT / "outcomes" / "instruments" / "library" / "catalogue" / "phq9.json"
TODAY = dt.date(2026, 6, 1)

#: P-001 answers by link: 1+2+0+1+3+0+1+2+1 = 11, moderate (10-14); the optional
#: tenth question left blank.
BY_LINK = [1, 2, 0, 1, 3, 0, 1, 2, 1]
#: Paper forms, imported: L-001 (BMC) 18 at baseline -> 9 at 3 months (change -9);
#: L-002 (CONTROL) 4 -> 0 (change -4).
PAPER = {("L-001", "baseline"): [2] * 9, ("L-001", "m3"): [1] * 9,
         ("L-002", "baseline"): [0, 1, 0, 1, 0, 1, 0, 1, 0], ("L-002", "m3"): [0] * 9}
DATES = {"baseline": "2025-01-10", "m3": "2025-04-12"}
PATIENTS = """patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date
L-001,BMC,MAIN,female,61,27.4,30,2025-01-06,2025-01-13
L-002,CONTROL,MAIN,male,48,31.0,,2025-01-08,2025-01-08
"""


def phq_answers(points: list[int]) -> dict[str, int]:
    return {f"phq{n}": value for n, value in enumerate(points, start=1)}


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def command(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def world(study, client, tmp_path):
    """PHQ-9 imported and scheduled; one patient by link, two by imported paper forms."""
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        assert not Instrument.objects.filter(code="phq9").exists()
        assert "imported phq9 version 1.0" in command("import_instrument", str(PHQ9))
        phq9 = Instrument.objects.get(code="phq9")
        for timepoint in study.timepoints.all():
            TimePointInstrument.objects.create(timepoint=timepoint, instrument=phq9, order=9)
        # Löwe B et al. Med Care 2004;42:1194-1201: a 5-point fall is a minimal change.
        # Checked as the admin checks it: a score a scheduled instrument produces, and
        # (left blank) the direction its definition gives: lower is better, a decrease.
        rule = ResponderRule(study=study, code="phq9_mcid_5pt", score="phq9_total",
                             kind="points", threshold=5, order=20)
        rule.full_clean()
        rule.save()
        assert rule.direction == "decrease"

        enrolment = enrol(study, "P-001", index_date=TODAY, today=TODAY)
        visit = enrolment.visits.get(timepoint__code="baseline")
        token = ensure_link(visit=visit)
        pages = [*PAGES, {**phq_answers(BY_LINK), "phq_difficulty": None}]
        page = client.get(reverse("survey:step", kwargs={"token": token, "number": 5}))
        html = page.content.decode()
        assert "Questionnaire 5 of 5" in html and "Little interest or pleasure" in html
        # The optional question offers "Skip this question"; the nine scored ones do not.
        assert 'id="id_phq_difficulty_skip"' in html and 'id="id_phq1_skip"' not in html
        for number, answers in enumerate(pages, start=1):
            data = {k: "" if v is None else str(v) for k, v in answers.items()}
            reply = client.post(reverse("survey:step", kwargs={"token": token,
                                                               "number": number}),
                                {**data, "action": "next"})
            assert reply.status_code == 302, reply.content.decode()[:3000]
        assert reply.url == reverse("survey:done", kwargs={"token": token})

        lines = ["patient,timepoint,instrument,item,value,completed_date"]
        for (patient, tp), points in PAPER.items():
            lines += [f"{patient},{tp},phq9,{item},{value},{DATES[tp]}"
                      for item, value in phq_answers(points).items()]
        (tmp_path / "p.csv").write_text(PATIENTS)
        (tmp_path / "r.csv").write_text("\n".join(lines) + "\n")
        err = StringIO()
        call_command("import_study", "--study", "BMC-LBP", "--patients",
                     str(tmp_path / "p.csv"), "--responses", str(tmp_path / "r.csv"),
                     stdout=StringIO(), stderr=err)
        # The optional tenth question is not on the paper forms: no warning for that.
        assert err.getvalue() == ""
        yield study


def test_its_score_is_in_the_results(world):
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        results = json.loads(command("results", "--study", "BMC-LBP", "--format", "json"))
    phq = {(s["arm"], s["timepoint"]): s for s in results["scores"]
           if s["score"] == "phq9_total"}
    assert phq[("BMC", "baseline")]["n"] == 2
    assert phq[("BMC", "baseline")]["mean"] == pytest.approx((11 + 18) / 2)
    assert (phq[("BMC", "m3")]["n"], phq[("BMC", "m3")]["mean"]) == (1, 9)
    assert (phq[("BMC", "m3")]["change_n"], phq[("BMC", "m3")]["change_mean"]) == (1, -9)
    assert (phq[("CONTROL", "baseline")]["mean"], phq[("CONTROL", "m3")]["mean"]) == (4, 0)
    assert phq[("CONTROL", "m3")]["change_mean"] == -4
    # L-001 fell 9 points (a responder), L-002 4 (not); P-001 is not due at 3 months.
    rule = {(r["arm"], r["timepoint"]): r for r in results["responders"]
            if r["rule"] == "phq9_mcid_5pt"}
    assert (rule[("BMC", "m3")]["responders"], rule[("BMC", "m3")]["evaluable"]) == (1, 1)
    assert (rule[("CONTROL", "m3")]["responders"],
            rule[("CONTROL", "m3")]["evaluable"]) == (0, 1)
    assert rule[("BMC", "m3")]["pending"] == 1
    # The band is a label, not a score to summarise.
    assert not any(s["score"] == "phq9_total_band" for s in results["scores"])


def test_its_score_is_on_the_results_and_patient_pages_in_people_words(world, client):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("admin", "a@example.org", "x" * 12))
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        page = client.get("/studies/BMC-LBP/results/")
    assert page.status_code == 200
    assert "PHQ-9 total (0-27, lower is better)" in page.content.decode()
    # And on the patient's own outcomes page: 18 at baseline, 9 at 3 months (-9).
    with time_machine.travel(dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), tick=False):
        mine = client.get("/studies/BMC-LBP/patients/L-001/outcomes/").content.decode()
    assert "PHQ-9 total (0-27, lower is better)" in mine
    assert '<figure class="border rounded p-2 h-100" data-score="phq9_total">' in mine  # chart
    assert "MCID (5 from baseline)" in mine
    assert "PHQ-9 total improved by 5 points or more" in mine


def test_its_score_and_answers_are_in_every_export(world):
    tidy = rows(command("export_study", "--study", "BMC-LBP", "--format", "tidy"))
    cells = {(r["patient"], r["timepoint"]): r for r in tidy if r["score"] == "phq9_total"}
    assert cells[("P-001", "baseline")]["value"] == "11"
    assert cells[("L-001", "m3")]["value"] == "9"
    assert cells[("P-001", "m3")]["missing_reason"] == "not_yet_due"
    wide = {r["patient"]: r for r in rows(command("export_study", "--study", "BMC-LBP",
                                                  "--format", "wide"))}
    assert wide["L-001"]["phq9_total_baseline"] == "18"
    assert wide["L-002"]["phq9_total_m3"] == "0"
    assert wide["P-001"]["phq9_total_band_baseline"] == "moderate"
    items = [r for r in rows(command("export_study", "--study", "BMC-LBP", "--format",
                                     "items")) if r["instrument"] == "phq9"]
    mine = {r["item"]: r["value"] for r in items if r["patient"] == "P-001"}
    assert mine == {**{k: str(v) for k, v in phq_answers(BY_LINK).items()},
                    "phq_difficulty": ""}
    assert {r["instrument_version"] for r in items} == {"1.0"}
    dictionary = rows(command("export_study", "--study", "BMC-LBP", "--format",
                              "dictionary"))
    score = next(r for r in dictionary if r["file"] == "scores" and r["column"] == "phq9_total")
    assert score["label"] == "PHQ-9 total (0-27, lower is better)"
    assert score["direction"] == "lower is better" and score["values"] == "0 to 27"
    item = next(r for r in dictionary if r["file"] == "items: phq9 1.0" and r["column"] == "phq1")
    assert item["label"] == "Little interest or pleasure in doing things"
    assert item["values"] == ("0 = Not at all; 1 = Several days; 2 = More than half the days; "
                              "3 = Nearly every day")
    band = next(r for r in dictionary if r["column"] == "phq9_total_band_baseline")
    assert "up to 9" in band["values"] and "mild" in band["values"]


def test_it_is_in_the_fhir_bundle_and_the_bundle_validates(world):
    bundle = json.loads(command("export_fhir", "--study", "BMC-LBP"))
    resources = [entry["resource"] for entry in bundle["entry"]]
    (questionnaire,) = [r for r in resources if r["resourceType"] == "Questionnaire"
                        and r["url"].endswith("/Questionnaire/BMC-LBP-phq9")]
    assert questionnaire["version"] == "1.0"
    assert [i["linkId"] for i in questionnaire["item"]][-1] == "phq_difficulty"
    canonical = f"{questionnaire['url']}|1.0"
    answered = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"
                and r["questionnaire"] == canonical]
    assert len(answered) == 5  # P-001 by link; L-001 and L-002 at baseline and 3 months
    assert all(r["status"] == "completed" for r in answered)
    values = sorted(r["valueQuantity"]["value"] for r in resources
                    if r["resourceType"] == "Observation"
                    and r["code"]["coding"][0]["code"] == "phq9_total")
    assert values == [0, 4, 9, 11, 18]
    Bundle.parse_obj(bundle)
    from tests.integration.analysis.test_fhir import errors, medplum_issues

    assert errors(medplum_issues(bundle)) == []


def test_no_migration_was_needed(world):
    # makemigrations --check exits non-zero when the models want a migration.
    command("makemigrations", "--check", "--dry-run")


def test_a_broken_file_is_refused_with_a_line_per_problem_and_nothing_stored(db, tmp_path):
    data = json.loads(PHQ9.read_text())
    del data["title"]
    data["items"][0]["kind"] = "slider"
    data["scores"][0]["direction"] = "down"
    path = tmp_path / "phq9.json"
    path.write_text(json.dumps(data))
    err = StringIO()
    with pytest.raises(CommandError, match="3 problem"):
        call_command("import_instrument", str(path), stdout=StringIO(), stderr=err)
    assert err.getvalue().splitlines() == [
        "title: missing",
        "items[0].kind: must be 'choice' or 'scale', got \"slider\"",
        "scores[0].direction: must be 'lower_is_better' or 'higher_is_better', got \"down\"",
    ]
    assert not Instrument.objects.filter(code="phq9").exists()


def test_a_process_that_has_not_read_it_yet_names_its_rule_in_words(world):
    """Another worker, started before the import: the responder list's labels still
    name the score as its definition does, not by its key."""
    from outcomes.analysis.selectors import rule_labels
    from outcomes.instruments.definitions import SCORE_SPECS
    from outcomes.instruments.stored import forget_stored_definitions

    forget_stored_definitions()
    assert "phq9_total" not in SCORE_SPECS
    assert rule_labels(world.pk)["phq9_mcid_5pt"] == "PHQ-9 total improved by 5 points or more"
