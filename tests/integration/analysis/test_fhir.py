"""``export_fhir``: a FHIR R4 Bundle that validates against the R4 (4.0.1) models."""

from __future__ import annotations

import json
from io import StringIO

import fhir.resources
import pytest
from django.core.management import CommandError, call_command
from fhir.resources.bundle import Bundle

from tests.integration.instruments.test_import_study import PATIENTS, responses_csv


@pytest.fixture
def bundle(study, tmp_path):
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses_csv())
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    out = StringIO()
    call_command("export_fhir", "--study", "BMC-LBP", stdout=out)
    return json.loads(out.getvalue())


def test_the_validator_is_fhir_r4():
    assert fhir.resources.__fhir_version__ == "4.0.1"


def test_the_bundle_validates_as_fhir_r4(bundle):
    parsed = Bundle.parse_obj(bundle)
    kinds = [entry.resource.resource_type for entry in parsed.entry]
    assert kinds.count("Questionnaire") == 2  # ODI and NRS-11 were answered
    assert kinds.count("Patient") == 2
    assert kinds.count("QuestionnaireResponse") == 5
    assert kinds.count("Observation") >= 5


def test_link_ids_are_the_item_codes_and_scores_point_at_their_response(bundle):
    resources = [e["resource"] for e in bundle["entry"]]
    odi = next(r for r in resources if r["resourceType"] == "Questionnaire"
               and r["url"].endswith("/odi"))
    assert [i["linkId"] for i in odi["item"]][:3] == ["pain_intensity", "personal_care",
                                                      "lifting"]
    score = next(r for r in resources if r["resourceType"] == "Observation"
                 and r["code"]["text"] == "odi")
    source = score["derivedFrom"][0]["reference"].split("/")[1]
    assert any(r["id"] == source for r in resources
               if r["resourceType"] == "QuestionnaireResponse")
    assert "@" not in json.dumps(bundle)  # no contact details


def test_one_patients_bundle_and_an_unknown_patient(bundle, study):
    out = StringIO()
    call_command("export_fhir", "--study", "BMC-LBP", "--patient", "L-002", stdout=out)
    data = json.loads(out.getvalue())
    Bundle.parse_obj(data)
    patients = [e["resource"] for e in data["entry"]
                if e["resource"]["resourceType"] == "Patient"]
    assert [p["identifier"][0]["value"] for p in patients] == ["L-002"]
    with pytest.raises(CommandError, match="no patient"):
        call_command("export_fhir", "--study", "BMC-LBP", "--patient", "NOPE")


def test_the_demo_studys_bundle_with_all_four_instruments_validates(study):
    from patients.demo import load_demo

    load_demo(size=4)
    out = StringIO()
    call_command("export_fhir", "--study", "BMC-LBP", stdout=out)
    parsed = Bundle.parse_obj(json.loads(out.getvalue()))
    urls = {e.resource.url for e in parsed.entry if e.resource.resource_type == "Questionnaire"}
    assert {u.rsplit("/", 1)[1] for u in urls} == {"odi", "nrs11", "eq5d3l", "promis_gh"}
