"""``export_fhir``: a de-identified FHIR R4 Bundle that validates under two validators.

1. ``fhir.resources`` (the R4 4.0.1 models, pydantic): structure and types.
2. ``@medplum/core`` under Node (``tests/fhir``, installed by ``make install``): structure
   and the base specification's FHIRPath invariants (``que-*``, ``obs-*``, ``bdl-*`` …).
   Skipped with the reason where Node or the package is missing; required in CI.

And what neither validator can see: each response against its own Questionnaire, the
arm and time point where FHIR puts them, stable canonical URLs, no calendar dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import shutil
import subprocess
from io import StringIO
from pathlib import Path

import fhir.resources
import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from fhir.resources.bundle import Bundle

from outcomes.analysis import fhir as fhir_export
from patients.models import Study
from tests.conftest import service_missing
from tests.integration.instruments.test_import_study import PATIENTS, responses_csv

VALIDATOR = Path(__file__).resolve().parents[2] / "fhir"


def medplum_issues(bundle: dict) -> list[dict]:
    """Return @medplum/core's issues with ``bundle`` (empty: valid)."""
    node = shutil.which("node")
    if node is None:
        service_missing("Node.js is not installed: the second FHIR validator cannot run")
    if not (VALIDATOR / "node_modules" / "@medplum" / "core").is_dir():
        service_missing("@medplum/core is not installed: run `make install` (tests/fhir)")
    done = subprocess.run([node, str(VALIDATOR / "validate.mjs")], input=json.dumps(bundle),
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def errors(issues: list[dict]) -> list[dict]:
    return [issue for issue in issues if issue["severity"] in ("error", "fatal")]


def export(*args) -> dict:
    out = StringIO()
    call_command("export_fhir", "--study", "BMC-LBP", *args, stdout=out)
    return json.loads(out.getvalue())


def resources(bundle: dict, kind: str | None = None) -> list[dict]:
    return [e["resource"] for e in bundle["entry"]
            if kind is None or e["resource"]["resourceType"] == kind]


@pytest.fixture
def imported(study, tmp_path):
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(responses_csv())
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    return export()


@pytest.fixture
def demo_bundle(study):
    from patients.demo import load_demo

    load_demo(size=12)
    return export()


def test_the_validator_is_fhir_r4():
    assert fhir.resources.__fhir_version__ == "4.0.1"


def test_the_bundle_validates_as_fhir_r4(imported):
    parsed = Bundle.parse_obj(imported)
    kinds = [entry.resource.resource_type for entry in parsed.entry]
    assert kinds.count("ResearchStudy") == 1
    assert kinds.count("Questionnaire") == 2  # ODI and NRS-11 were answered
    assert kinds.count("Patient") == kinds.count("ResearchSubject") == 2
    assert kinds.count("Encounter") == 3  # L-001 baseline and m3, L-002 baseline
    assert kinds.count("QuestionnaireResponse") == 5
    assert kinds.count("Observation") == 5  # one reported score per response


def test_the_demo_bundle_validates_under_both_validators(demo_bundle):
    Bundle.parse_obj(demo_bundle)
    assert errors(medplum_issues(demo_bundle)) == []


def test_the_second_validator_finds_what_it_should():
    """A broken bundle is refused: the validator really checks invariants and structure."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "http://x.invalid/Questionnaire/q", "resource": {
            "resourceType": "Questionnaire", "id": "q", "status": "active",
            # que-6: a display item cannot be required.
            "item": [{"linkId": "a", "type": "display", "text": "Hi", "required": True}]}},
        {"fullUrl": "http://x.invalid/Observation/o", "resource": {
            "resourceType": "Observation", "id": "o", "code": {"text": "x"}}},  # no status
    ]}
    found = errors(medplum_issues(bundle))
    assert any("que-6" in (issue["message"] or "") for issue in found)
    assert any("status" in json.dumps(issue["expression"]) for issue in found)


def test_every_response_answers_every_required_item_of_its_questionnaire(demo_bundle):
    # The demo leaves the ODI's sex-life section blank in some responses, as the study
    # allows (one section): those items must not be required.
    questionnaires = {f"{q['url']}|{q['version']}": q
                      for q in resources(demo_bundle, "Questionnaire")}
    responses = resources(demo_bundle, "QuestionnaireResponse")
    blank_sex_life = 0
    for response in responses:
        assert response["status"] == "completed"
        questionnaire = questionnaires[response["questionnaire"]]
        answered = {item["linkId"] for item in response["item"]}
        required = {item["linkId"] for item in questionnaire["item"] if item["required"]}
        assert required <= answered, (response["id"], required - answered)
        blank_sex_life += questionnaire["url"].endswith("-odi") and "sex_life" not in answered
    assert blank_sex_life > 0, "the demo has no blank sex-life section to check"


@pytest.mark.parametrize(("allowed", "odi_required"), [(1, False), (0, True)])
def test_odi_sections_are_required_only_when_the_study_allows_no_blank(
    study, allowed, odi_required
):
    from outcomes.instruments.models import Instrument

    study.max_missing = {"odi": allowed}
    study.save()
    odi = fhir_export.questionnaire(study, Instrument.objects.get(code="odi"))
    assert {item["required"] for item in odi["item"]} == {odi_required}
    eq5d = fhir_export.questionnaire(study, Instrument.objects.get(code="eq5d3l"))
    assert {item["required"] for item in eq5d["item"]} == {True}  # the form needs all six


def test_answers_are_codings_of_their_questionnaires_options(demo_bundle):
    options = {}
    for questionnaire in resources(demo_bundle, "Questionnaire"):
        for item in questionnaire["item"]:
            for option in item.get("answerOption", ()):
                coding = option["valueCoding"]
                assert coding["system"].startswith("http") and coding["code"] and \
                    coding["display"]
                options[(questionnaire["url"], item["linkId"],
                         coding["system"], coding["code"])] = coding
    assert options
    checked = 0
    for response in resources(demo_bundle, "QuestionnaireResponse"):
        url = response["questionnaire"].split("|")[0]
        for item in response["item"]:
            for answer in item["answer"]:
                if "valueCoding" in answer:
                    coding = answer["valueCoding"]
                    assert (url, item["linkId"], coding["system"], coding["code"]) in options
                    checked += 1
    assert checked > 0


def test_score_observations_are_surveys_in_ucum_with_a_coded_scoring_version(imported):
    observations = {o["code"]["coding"][0]["code"]: o
                    for o in resources(imported, "Observation")
                    if o["subject"]["reference"] == "Patient/L-002"}
    odi = observations["odi"]
    assert odi["category"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": "survey", "display": "Survey"}
    # 27 points over 9 sections answered: 27/45 = 60% (Fairbank 2000's method).
    assert odi["valueQuantity"] == {"value": 60.0, "unit": "%",
                                    "system": "http://unitsofmeasure.org", "code": "%"}
    method = odi["method"]["coding"][0]
    assert (method["code"], method["version"]) == ("odi-v1", "1")
    assert "note" not in odi
    nrs = next(o for o in resources(imported, "Observation")
               if o["code"]["coding"][0]["code"] == "nrs")
    assert nrs["valueQuantity"]["code"] == "{score}"


def test_a_repeating_score_keeps_its_full_precision_in_json(study, tmp_path):
    # 16 points over 9 sections: 16/45 = 35.555…% (the ODI's own example).
    points = [2, 2, 2, 2, 2, 2, 2, "", 1, 1]
    rows = "".join(f"L-002,baseline,odi,{item},{value},2025-01-08\n" for item, value in zip(
        ("pain_intensity", "personal_care", "lifting", "walking", "sitting", "standing",
         "sleeping", "sex_life", "social_life", "travelling"), points, strict=True))
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text("patient,timepoint,instrument,item,value,completed_date\n"
                                    + rows)
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    (odi,) = resources(export(), "Observation")
    assert odi["valueQuantity"]["value"] == 1600 / 45


def test_score_observations_carry_their_checked_loinc_codes(demo_bundle):
    """Each code as LOINC names it (where each was read: library/README.md).

    Written out here, not read from the definitions, so a wrong or dropped code fails.
    Only the ODI's was read on LOINC's own page; the NRS and PROMIS candidates were found
    only in secondary copies, so they are left out (issue 16: "leave out any code you
    cannot verify"), and their Observations carry only the study's own code.
    """
    expected = {
        "odi": ("97909-6", "Oswestry disability index score ODI"),
        "nrs": None, "gph_t": None, "gmh_t": None,
    }
    seen: dict[str, set] = {}
    for observation in resources(demo_bundle, "Observation"):
        ours, *others = observation["code"]["coding"]
        loinc = {(c["code"], c["display"]) for c in others if c["system"] == "http://loinc.org"}
        seen.setdefault(ours["code"], set()).update(loinc or {None})
    assert {key: codes for key, codes in seen.items() if key in expected} == {
        key: {code} for key, code in expected.items()}
    # No LOINC term was found for the EQ-5D scores: they carry only the study's own code.
    assert seen["eq5d_index_uk"] == {None}
    assert errors(medplum_issues(demo_bundle)) == []
    Bundle.parse_obj(demo_bundle)


def test_a_loinc_code_without_a_display_is_written_without_one(imported, monkeypatch):
    stored = fhir_export.definition_of

    def with_loinc(instrument):
        definition = stored(instrument)
        if definition.code != "nrs11":
            return definition
        spec = dataclasses.replace(definition.scores[0], loinc="00000-0", loinc_display="")
        return dataclasses.replace(definition, scores=(spec,), score_defs=(spec,))

    monkeypatch.setattr(fhir_export, "definition_of", with_loinc)
    observation = next(o for o in resources(export(), "Observation")
                       if o["code"]["coding"][0]["code"] == "nrs")
    assert {"system": "http://loinc.org", "code": "00000-0"} in observation["code"]["coding"]


def test_the_arm_and_the_time_point_are_where_fhir_puts_them(imported):
    (research,) = resources(imported, "ResearchStudy")
    arms = {arm["name"] for arm in research["arm"]}
    assert arms == {"BMC", "CONTROL"}
    subjects = {s["individual"]["reference"]: s for s in resources(imported, "ResearchSubject")}
    assert subjects["Patient/L-001"]["assignedArm"] == "BMC"
    assert subjects["Patient/L-002"]["assignedArm"] == "CONTROL"
    assert all(s["study"]["reference"] == f"ResearchStudy/{research['id']}"
               for s in subjects.values())
    encounters = {f"Encounter/{e['id']}": e for e in resources(imported, "Encounter")}
    seen = set()
    for response in resources(imported, "QuestionnaireResponse"):
        encounter = encounters[response["encounter"]["reference"]]
        assert encounter["subject"] == response["subject"]
        seen.add((response["subject"]["reference"], encounter["type"][0]["coding"][0]["code"]))
    assert seen == {("Patient/L-001", "baseline"), ("Patient/L-001", "m3"),
                    ("Patient/L-002", "baseline")}
    assert all(o["encounter"]["reference"] in encounters
               for o in resources(imported, "Observation"))


def test_the_canonical_url_does_not_follow_the_site(imported):
    def urls() -> set[str]:
        return {q["url"] for q in resources(export(), "Questionnaire")}

    with override_settings(SITE_URL="https://one.example.org"):
        first = urls()
    with override_settings(SITE_URL="https://two.example.org"):
        second = urls()
    assert first == second
    assert not any("example.org" in url for url in first)
    assert "example.org" not in json.dumps(export())


def test_dates_are_study_days_from_the_index_date(imported):
    # L-001: index date 2025-01-13; baseline answered 2025-01-10 (day -3), m3 on
    # 2025-04-12 (day 89). Day 0 is written 2000-01-01.
    authored = sorted(r["authored"] for r in resources(imported, "QuestionnaireResponse")
                      if r["subject"]["reference"] == "Patient/L-001")
    day = dt.date(2000, 1, 1)
    assert set(authored) == {(day - dt.timedelta(days=3)).isoformat(),
                             (day + dt.timedelta(days=89)).isoformat()}
    text = json.dumps(imported)
    assert not re.search(r"20(2[4-9]|3\d)-\d\d-\d\d", text), "a calendar date left"
    assert "@" not in text  # no contact details
    assert all("birthDate" not in p and "name" not in p for p in resources(imported, "Patient"))


def test_one_patients_bundle_and_an_unknown_patient(imported, study):
    data = export("--patient", "L-002")
    Bundle.parse_obj(data)
    patients = resources(data, "Patient")
    assert [p["identifier"][0]["value"] for p in patients] == ["L-002"]
    with pytest.raises(CommandError, match="no patient"):
        call_command("export_fhir", "--study", "BMC-LBP", "--patient", "NOPE")


def test_the_demo_studys_bundle_with_all_four_instruments(demo_bundle):
    Bundle.parse_obj(demo_bundle)
    urls = {q["url"] for q in resources(demo_bundle, "Questionnaire")}
    assert {u.rsplit("/", 1)[1] for u in urls} == {
        f"BMC-LBP-{code}" for code in ("odi", "nrs11", "eq5d3l", "promis_gh")}
    assert Study.objects.get(code="BMC-LBP").max_missing == {}


def test_a_legacy_form_with_a_required_item_blank_is_not_completed(study, tmp_path):
    # PROMIS at baseline with global03 blank (an import keeps a blank item): the form
    # would have required it, so the response is "stopped", answers kept; the GPH
    # T-score needs all four of its items (no Observation), the GMH T-score is there.
    items = ("global01", "global02", "global03", "global04", "global05", "global09r",
             "global06", "global10r", "global08r", "global07r")
    values = (3, 3, "", 3, 3, 3, 3, 3, 3, 5)
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(
        "patient,timepoint,instrument,item,value,completed_date\n" + "".join(
            f"L-001,baseline,promis_gh,{item},{value},2025-01-10\n"
            for item, value in zip(items, values, strict=True)))
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    bundle = export()
    (response,) = resources(bundle, "QuestionnaireResponse")
    assert response["status"] == "stopped"
    assert len(response["item"]) == 9
    assert [o["code"]["coding"][0]["code"] for o in resources(bundle, "Observation")] == [
        "gmh_t"]
    Bundle.parse_obj(bundle)
    assert errors(medplum_issues(bundle)) == []


@pytest.fixture
def conditional(study, tmp_path):
    """The mobility_aid file (conditional items, a "not applicable" answer) at baseline,
    with one patient who has no aid and does not drive."""
    from outcomes.followups.models import TimePointInstrument
    from outcomes.instruments.models import Instrument

    data = Path(__file__).resolve().parents[2] / "data" / "instruments"
    call_command("import_instrument", str(data / "mobility_aid.json"), stdout=StringIO())
    baseline = study.timepoints.get(code="baseline")
    TimePointInstrument.objects.create(timepoint=baseline,
                                       instrument=Instrument.objects.get(code="mobility_aid"))
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(
        responses_csv() + "".join(f"L-001,baseline,mobility_aid,{item},{value},2025-01-10\n"
                                  for item, value in (("uses_aid", 0), ("stairs", 1),
                                                      ("driving", 9), ("shopping", 2))))
    call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                 responses=str(tmp_path / "r.csv"), stdout=StringIO())
    return export()


def test_conditional_items_and_not_applicable_answers_validate_under_both_validators(
        conditional):
    Bundle.parse_obj(conditional)
    assert errors(medplum_issues(conditional)) == []
    questionnaire = next(r for r in resources(conditional, "Questionnaire")
                         if r["url"].endswith("-mobility_aid"))
    items = {item["linkId"]: item for item in questionnaire["item"]}
    assert items["aid_type"]["enableWhen"] == [{
        "question": "uses_aid", "operator": "=", "answerCoding": {
            "system": "http://outcomes.invalid/fhir/CodeSystem/mobility_aid-uses_aid",
            "code": "1", "display": "Yes"}}]
    assert "enableBehavior" not in items["aid_type"]
    assert items["driving"]["answerOption"][-1] == {
        "valueCoding": {"system": "http://outcomes.invalid/fhir/CodeSystem/mobility_aid-driving",
                        "version": "1.0", "code": "9",
                        "display": "Not applicable: I do not drive"},
        "extension": [{"url": "http://outcomes.invalid/fhir/StructureDefinition/not-applicable",
                       "valueBoolean": True}]}
    answered = next(r for r in resources(conditional, "QuestionnaireResponse")
                    if r["questionnaire"] == questionnaire["url"] + "|1.0")
    given = {item["linkId"]: item["answer"][0] for item in answered["item"]}
    assert "aid_type" not in given and "aid_walking" not in given  # not asked: no answer
    assert given["driving"]["valueCoding"]["code"] == "9"


def test_every_condition_shape_validates_under_both_validators():
    """=, = of several (enableBehavior any), != (exists and != under all), exists false."""
    from outcomes.instruments.definitions.fhir import questionnaire
    from outcomes.instruments.definitions.files import parse_definition

    def choice(code, **extra):
        return {"code": code, "text": code, "kind": "choice", **extra,
                "options": [{"value": v, "label": f"{code} {v}"} for v in (0, 1, 2)]}

    definition = parse_definition({
        "code": "shapes", "version": "1", "title": "Shapes", "short_title": "Shapes",
        "licence": "test", "source": "test", "items": [
            choice("a"),
            choice("b", enable_when={"item": "a", "answer": [1, 2]}),
            choice("c", enable_when={"item": "a", "operator": "!=", "answer": [0, 1]}),
            choice("d", enable_when={"item": "a", "operator": "exists", "answer": False}),
            {"code": "e", "text": "e", "kind": "scale", "min": 0, "max": 10},
            choice("f", enable_when={"item": "e", "answer": 7})],
        "scores": [{"key": "shapes_a", "label": "A", "method": "sum", "items": ["a"],
                    "direction": "lower_is_better"}]})
    resource = questionnaire(definition)
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"fullUrl": "urn:uuid:0c0c8f1e-7a7c-4a39-9d6b-3d7c1b0e5a11",
                         "resource": resource}]}
    Bundle.parse_obj(bundle)
    assert errors(medplum_issues(bundle)) == []
    items = {item["linkId"]: item for item in resource["item"]}
    assert items["b"]["enableBehavior"] == "any"
    assert [t["operator"] for t in items["c"]["enableWhen"]] == ["exists", "!=", "!="]
    assert items["c"]["enableBehavior"] == "all"
    assert items["d"]["enableWhen"] == [{"question": "a", "operator": "exists",
                                         "answerBoolean": False}]
    assert items["f"]["enableWhen"] == [{"question": "e", "operator": "=",
                                         "answerInteger": 7}]
