"""``import_instrument FILE`` and ``export_instrument CODE``, run as a data manager would.

A definition file is checked whole and stored as an instrument version (SPEC 3.6), or
refused with one line per problem naming its key and nothing stored; a version that
has responses never changes; what is stored is what every reader uses.
"""

from __future__ import annotations

import copy
import json
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from outcomes.audit.models import AuditRecord
from outcomes.instruments.definitions import INSTRUMENTS, DefinitionError
from outcomes.instruments.definitions.fhir import definition_from_questionnaire
from outcomes.instruments.definitions.files import (
    VERSION,
    parse_definition,
    read_definition_file,
)
from outcomes.instruments.models import Instrument, Response
from outcomes.instruments.stored import definition_of, stored_instrument

DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"
PHQ9 = DATA / "phq9.json"


def phq9() -> dict:
    return json.loads(PHQ9.read_text())


def write(tmp_path, data: dict, name: str = "instrument.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def run(command: str, *args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args) -> tuple[str, list[str]]:
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_instrument", *args, stdout=StringIO(), stderr=err)
    return str(caught.value), err.getvalue().splitlines()


def audit_of(instrument) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(object_type="instruments.instrument",
                                           object_id=str(instrument.pk)).order_by("pk"))


@pytest.fixture
def imported(db):
    out, _ = run("import_instrument", str(PHQ9))
    return Instrument.objects.get(code="phq9", version="1.0"), out


def test_a_file_is_stored_whole_with_its_columns_and_an_audit_record(imported):
    instrument, out = imported
    assert out.strip() == ("imported phq9 version 1.0 (PHQ-9): 10 questions, scores "
                           "phq9_total")
    assert (instrument.title, instrument.short_title, instrument.scoring_version) == (
        "Patient Health Questionnaire (PHQ-9)", "PHQ-9", "1")
    assert instrument.licence.startswith("Pfizer")
    # The stored file is the file (keys at their defaults aside): it parses to the same.
    assert parse_definition(instrument.definition) == parse_definition(
        read_definition_file(PHQ9))
    assert len(instrument.digest) == 64
    (record,) = audit_of(instrument)
    assert record.action == "create" and record.actor_label == "import_instrument"
    assert record.reason == "imported from phq9.json"
    assert record.changes["digest"] == [None, instrument.digest]
    assert record.changes["definition"][1] == instrument.definition


def test_an_imported_instrument_is_scored_by_its_code(imported, monkeypatch):
    # Kroenke 2001: a total of 5-9 is mild depression; nine items at "several days" = 9.
    answers = {f"phq{n}": 1 for n in range(1, 10)}
    monkeypatch.setattr(sys, "stdin", StringIO(json.dumps({"id": "a", "answers": answers})
                                               + "\n"))
    out, _ = run("score", "phq9")
    assert json.loads(out) == {"id": "a", "instrument": "phq9",
                               "scores": {"phq9_total": 9, "phq9_total_band": "mild"}}


def test_a_broken_file_is_refused_with_a_line_per_problem_and_nothing_stored(db, tmp_path):
    data = phq9()
    data["code"] = "PHQ-9"
    data["items"][2]["options"][1]["value"] = "1"
    data["scores"][0]["items"].append("phq10")
    data["scores"][0]["max_mising"] = 1
    before = (Instrument.objects.count(), AuditRecord.objects.count())
    message, lines = refused(str(write(tmp_path, data, "phq9_broken.json")))
    assert message == "phq9_broken.json refused: 4 problem(s); nothing was stored"
    assert lines == [
        "code: must be lower-case letters, digits and underscores",
        'items[2].options[1].value: expected an integer, got "1"',
        "scores[0].max_mising: unknown key (did you mean 'max_missing'?)",
        "scores[0].items: no item 'phq10'",
    ]
    assert (Instrument.objects.count(), AuditRecord.objects.count()) == before


def test_a_file_that_is_not_json_or_not_there_is_refused_saying_where(db, tmp_path):
    path = tmp_path / "phq9.json"
    path.write_text('{"code": "phq9",\n  "version": }')
    _, lines = refused(str(path))
    assert lines == ["phq9.json: not JSON: Expecting value at line 2, column 14"]
    with pytest.raises(CommandError, match=r"nowhere\.json: no such file"):
        call_command("import_instrument", str(tmp_path / "nowhere.json"))
    assert not Instrument.objects.filter(code="phq9").exists()


def test_json_too_deep_or_with_too_long_a_number_is_one_line_not_a_traceback(db, tmp_path):
    # Review #7: '[' * 200000 made the decoder raise RecursionError through the command.
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000)
    assert refused(str(path))[1] == ["deep.json: not JSON: nested too deeply to read"]
    path.write_text('{"code": ' + "9" * 5000 + "}")
    assert refused(str(path))[1] == ["deep.json: not JSON: a number too long to read"]
    assert not Instrument.objects.filter(code="phq9").exists()


def test_a_file_with_a_utf8_byte_order_mark_imports_as_in_the_admin(db, tmp_path):
    # Review #11c: the admin took a BOM (utf-8-sig) and the command refused it.
    path = tmp_path / "phq9.json"
    path.write_bytes(b"\xef\xbb\xbf" + PHQ9.read_bytes())
    out, _ = run("import_instrument", str(path))
    assert out.startswith("imported phq9 version 1.0 (PHQ-9)")
    assert definition_of(stored_instrument("phq9", "1.0")) == parse_definition(phq9())


def test_a_table_value_that_could_not_be_stored_or_written_is_refused_by_its_row(db, tmp_path):
    # Review #5/#6: 12345678901 passed and every submission then failed to save; 17
    # significant digits passed and the import then crashed writing the file out.
    data = phq9()
    codes = [item["code"] for item in data["items"]][:9]
    data["scores"].append({"key": "phq9_t", "label": "T", "method": "lookup", "items": codes,
                           "direction": "lower_is_better",
                           "table": {str(raw): raw for raw in range(28)}})
    text = json.dumps(data).replace('"0": 0,', '"0": 1234567.1234567891,').replace(
        '"1": 1,', '"1": 12345678901,')
    path = tmp_path / "phq9.json"
    path.write_text(text)
    before = (Instrument.objects.count(), AuditRecord.objects.count())
    message, lines = refused(str(path))
    assert lines == [
        "scores[1].table.0: at most 15 significant digits (what the file keeps when written), "
        "got 1234567.1234567891",
        "scores[1].table.1: at most 1,000,000,000 either side of 0 (what a stored score "
        "holds), got 12345678901",
    ]
    assert message == "phq9.json refused: 2 problem(s); nothing was stored"
    assert (Instrument.objects.count(), AuditRecord.objects.count()) == before


def test_importing_the_same_file_again_changes_nothing(imported, tmp_path):
    instrument, _ = imported
    out, _ = run("import_instrument", str(PHQ9))
    assert out.strip() == ("phq9 version 1.0 is stored with this content already: "
                           "nothing changed")
    # The same content written otherwise (keys reordered, defaults spelled out) is the same.
    data = phq9()
    data = {key: data[key] for key in reversed(list(data))}
    data["scoring_version"] = "1"
    data["scores"][0]["reported"] = True
    out, _ = run("import_instrument", str(write(tmp_path, data)))
    assert "nothing changed" in out
    assert Instrument.objects.filter(code="phq9").count() == 1
    assert len(audit_of(instrument)) == 1


def test_a_version_without_responses_is_replaced_and_the_audit_keeps_both(imported, tmp_path):
    instrument, _ = imported
    data = phq9()
    data["items"][0]["text"] = "Little interest or pleasure in doing things you enjoy"
    out, _ = run("import_instrument", str(write(tmp_path, data)))
    assert out.startswith("replaced phq9 version 1.0 (PHQ-9), which had no responses")
    instrument.refresh_from_db()
    assert instrument.definition["items"][0]["text"].endswith("you enjoy")
    _, update = audit_of(instrument)
    assert update.action == "update"
    old, new = update.changes["definition"]
    assert old["items"][0]["text"] == "Little interest or pleasure in doing things"
    assert new["items"][0]["text"].endswith("you enjoy")
    assert definition_of(instrument).items[0].text.endswith("you enjoy")


@pytest.fixture
def answered(imported, study):
    """PHQ-9 1.0 scheduled at baseline, and one patient's response to it."""
    from outcomes.followups.models import TimePointInstrument
    from tests.factories import enrol

    instrument, _ = imported
    baseline = study.timepoints.get(code="baseline")
    TimePointInstrument.objects.create(timepoint=baseline, instrument=instrument, order=9)
    enrolment = enrol(study, "P-900")
    visit = enrolment.visits.get(timepoint=baseline)
    Response.objects.create(visit=visit, instrument=instrument, answers={"phq1": 1})
    return instrument


def test_a_version_with_responses_never_changes(answered, tmp_path):
    data = phq9()
    data["items"][0]["text"] = "Changed wording"
    _, lines = refused(str(write(tmp_path, data)))
    assert lines == ["items[0].text: a version with responses cannot change; publish "
                     "version 1.1"]
    answered.refresh_from_db()
    assert answered.definition["items"][0]["text"] == "Little interest or pleasure in doing things"
    # The model refuses too, whoever calls it.
    answered.title = "Another title"
    with pytest.raises(PermissionError, match="has responses, so it never changes"):
        answered.save()
    # A correction is a new version: imported beside it, the newest is the current one.
    data["version"] = "1.1"
    run("import_instrument", str(write(tmp_path, data)))
    assert stored_instrument("phq9").version == "1.1"
    assert stored_instrument("phq9", "1.0").pk == answered.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_to_change_a_version_with_responses(answered):
    with pytest.raises(DatabaseError, match="has responses, so it never changes"), \
            transaction.atomic():
        Instrument.objects.filter(pk=answered.pk).update(title="Changed behind the model")
    # A version without responses may still be replaced (by the import's rules).
    with transaction.atomic():
        Instrument.objects.filter(code="nrs11").update(title="NRS")


def test_a_score_key_another_instrument_gives_is_refused(db, tmp_path):
    data = phq9()
    data["scores"][0]["key"] = "odi"
    _, lines = refused(str(write(tmp_path, data)))
    assert lines == [
        "scores[0].key: 'odi' is a score of odi already (a score key means one score "
        "everywhere: choose another)",
        "scores[0].bands: the band key 'odi_band' is a score of odi already (a score key "
        "means one score everywhere: choose another)",
    ]
    assert not Instrument.objects.filter(code="phq9").exists()


def test_a_built_in_version_is_kept_as_its_library_file_says(db, tmp_path):
    out, _ = run("export_instrument", "nrs11")
    data = json.loads(out)
    # Exporting a built-in and importing it back is the same content: nothing changes.
    again, _ = run("import_instrument", str(write(tmp_path, data)))
    assert "nothing changed" in again
    changed = copy.deepcopy(data)
    changed["title"] = "Pain, 0-10"
    _, lines = refused(str(write(tmp_path, changed)))
    assert lines == ["version: nrs11 version 1.0 is a built-in instrument, kept as its "
                     "library file says: import the correction as a new version"]


def test_export_json_is_the_definition_file_back(imported, tmp_path):
    out, _ = run("export_instrument", "phq9", "--version", "1.0")
    assert parse_definition(json.loads(out)) == parse_definition(read_definition_file(PHQ9))
    # And read by import_instrument as it is.
    path = tmp_path / "back.json"
    path.write_text(out)
    assert "nothing changed" in run("import_instrument", str(path))[0]


def test_export_fhir_is_an_r4_questionnaire_generated_from_the_definition(imported):
    from fhir.resources.questionnaire import Questionnaire

    out, _ = run("export_instrument", "phq9", "--format", "fhir")
    resource = json.loads(out)
    Questionnaire.parse_obj(resource)
    assert resource["url"] == "http://outcomes.invalid/fhir/Questionnaire/phq9"
    assert (resource["version"], resource["title"]) == ("1.0",
                                                        "Patient Health Questionnaire (PHQ-9)")
    items = {item["linkId"]: item for item in resource["item"]}
    assert list(items) == [*(f"phq{n}" for n in range(1, 10)), "phq_difficulty"]
    assert items["phq1"]["required"] is True
    assert items["phq_difficulty"]["required"] is False  # "required": false in the file
    assert [o["valueCoding"]["code"] for o in items["phq1"]["answerOption"]] == [
        "0", "1", "2", "3"]
    assert items["phq1"]["answerOption"][3]["valueCoding"]["display"] == "Nearly every day"


def test_export_fhir_of_a_scale_gives_its_range_and_anchors(db):
    from fhir.resources.questionnaire import Questionnaire

    out, _ = run("export_instrument", "nrs11", "--format", "fhir")
    resource = json.loads(out)
    Questionnaire.parse_obj(resource)
    (item,) = resource["item"]
    assert item["type"] == "integer"
    assert {e["url"].rsplit("/", 1)[1]: e.get("valueInteger", e.get("valueString"))
            for e in item["extension"]} == {
        "minValue": 0, "maxValue": 10, "entryFormat": "0 = No pain; 10 = Worst possible pain"}


def test_export_of_an_unknown_instrument_or_version_names_what_is_stored(imported):
    with pytest.raises(CommandError, match="unknown instrument 'phq8'; stored: eq5d3l, nrs11, "
                                           "odi, phq9, promis_gh"):
        call_command("export_instrument", "phq8", stdout=StringIO())
    with pytest.raises(CommandError, match=r"phq9 has no version '2\.0'; stored: 1\.0"):
        call_command("export_instrument", "phq9", "--version", "2.0", stdout=StringIO())


def test_a_replaced_version_is_what_another_process_reads_next(imported, tmp_path):
    """Each process keeps its parsed copy while the row's digest is the same: the copy a
    process parsed before a replacement gives way at its next read of the row."""
    instrument, _ = imported
    old = definition_of(Instrument.objects.get(pk=instrument.pk))
    data = phq9()
    data["short_title"] = "PHQ-9 (v1.0)"
    # Another process's import: the row changes under this one.
    Instrument.objects.filter(pk=instrument.pk).update(
        short_title="PHQ-9 (v1.0)", definition=data,
        digest="0" * 64)  # any digest other than the one this process parsed at
    fresh = definition_of(Instrument.objects.get(pk=instrument.pk))
    assert old.short_title == "PHQ-9" and fresh.short_title == "PHQ-9 (v1.0)"
    assert INSTRUMENTS["phq9"].short_title == "PHQ-9 (v1.0)"


def test_rescore_takes_an_imported_instrument_by_code(answered):
    from outcomes.instruments.services import complete_response

    response = Response.objects.get(instrument=answered)
    response.answers = {f"phq{n}": 2 for n in range(1, 10)}
    response.save()
    complete_response(response=response)  # this response alone: the visit asks others
    assert {s.code: s.exact for s in response.scores.all()} == {"phq9_total": "18"}
    out, _ = run("rescore", "--instrument", "phq9")
    assert json.loads(out) == {"checked": 1, "changed": 0, "failed": 0, "dry_run": False}
    with pytest.raises(CommandError, match="unknown instrument 'phq8'"):
        call_command("rescore", "--instrument", "phq8", stdout=StringIO())


LIBRARY = Path(__file__).resolve().parents[3] / "outcomes" / "instruments" / "library"


@pytest.mark.parametrize("path", [DATA / "phq9.json", DATA / "knee_pain.json",
                                  LIBRARY / "odi.json"], ids=lambda p: p.stem)
def test_a_questionnaire_exported_gives_back_the_items_of_its_file(db, tmp_path, path):
    """export_instrument --format fhir, then import_instrument --from-questionnaire: the
    same items (codes, wording, kinds, options, ranges, anchors, required), no scores.
    The ODI's sections are required though its score lets one be blank (review #10: they
    came back required false)."""
    run("import_instrument", str(path))
    original = read_definition_file(path)
    fhir, _ = run("export_instrument", original["code"], "--format", "fhir")
    from fhir.resources.questionnaire import Questionnaire

    Questionnaire.parse_obj(json.loads(fhir))  # the extension is valid R4
    questionnaire = tmp_path / "questionnaire.json"
    questionnaire.write_text(fhir)
    draft = tmp_path / "draft.json"
    before = Instrument.objects.count()
    out, err = run("import_instrument", str(questionnaire), "--from-questionnaire",
                   "--output", str(draft))
    assert out == "" and Instrument.objects.count() == before
    started = json.loads(draft.read_text())
    expected = parse_definition(original).items
    assert tuple(parse_definition({**started, "scores": original["scores"]}).items) == expected
    assert (started["code"], started["version"], started["title"], started["source"]) == (
        original["code"], original["version"], original["title"], original["source"])
    assert started["scores"] == []
    assert err.splitlines()[-1] == ("note: scores: a Questionnaire has no scoring: add the "
                                    "scores (docs/instruments.md)")


def test_a_questionnaire_of_elsewhere_says_what_it_left_out(db, tmp_path):
    resource = {
        "resourceType": "Questionnaire", "status": "active", "name": "KneeCheck",
        "title": "Knee check", "item": [
            {"linkId": "1", "type": "group", "item": [
                {"linkId": "1.1", "text": "Pain today", "type": "integer", "required": True,
                 "extension": [
                     {"url": "http://hl7.org/fhir/StructureDefinition/minValue",
                      "valueInteger": 0},
                     {"url": "http://hl7.org/fhir/StructureDefinition/maxValue",
                      "valueInteger": 10}]},
                {"linkId": "1.2", "text": "Swelling", "type": "choice", "answerOption": [
                    {"valueCoding": {"code": "0", "display": "None"}},
                    {"valueCoding": {"code": "1", "display": "Some"}}]}]},
            {"linkId": "2", "text": "Anything else?", "type": "string"},
            {"linkId": "3", "text": "Side", "type": "choice", "answerOption": [
                {"valueCoding": {"code": "L", "display": "Left"}}]}]}
    path = tmp_path / "q.json"
    path.write_text(json.dumps(resource))
    out, err = run("import_instrument", str(path), "--from-questionnaire")
    started = json.loads(out)
    assert started["code"] == "kneecheck"
    assert started["items"] == [
        {"code": "q_1_1", "text": "Pain today", "kind": "scale", "min": 0, "max": 10},
        {"code": "q_1_2", "text": "Swelling", "kind": "choice", "required": False,
         "options": [{"value": 0, "label": "None"}, {"value": 1, "label": "Some"}]}]
    assert err.splitlines() == [
        "note: version: not in the Questionnaire: written as '1.0'; check it",
        "note: linkId '1.1' (\"Pain today\"): written as the item code 'q_1_1'",
        "note: linkId '1.2' (\"Swelling\"): written as the item code 'q_1_2'",
        "note: linkId '2' (\"Anything else?\"): left out: type 'string' has no counterpart in "
        "a definition file (choice and integer items only)",
        "note: linkId '3' (\"Side\"): left out: an answer option is not a number (a "
        "definition file stores a number as the answer)",
        "note: licence: not in the Questionnaire: fill it in",
        "note: source: not in the Questionnaire: fill it in",
        "note: scores: a Questionnaire has no scoring: add the scores (docs/instruments.md)",
    ]
    with pytest.raises(CommandError, match="not a FHIR Questionnaire"):
        path.write_text(json.dumps({"resourceType": "Patient"}))
        call_command("import_instrument", str(path), "--from-questionnaire",
                     stdout=StringIO())


CATALOGUE = sorted((Path(__file__).resolve().parents[3] / "outcomes" / "instruments"
                    / "library" / "catalogue").glob("*.json"))


@pytest.mark.parametrize("path", CATALOGUE, ids=lambda p: p.stem)
def test_every_catalogue_file_imports_exports_back_and_is_a_valid_questionnaire(db, path):
    from fhir.resources.questionnaire import Questionnaire

    out, _ = run("import_instrument", str(path))
    data = read_definition_file(path)
    assert out.startswith(f"imported {data['code']} version {data['version']}")
    back, _ = run("export_instrument", data["code"])
    assert parse_definition(json.loads(back)) == parse_definition(data)
    fhir, _ = run("export_instrument", data["code"], "--format", "fhir")
    resource = json.loads(fhir)
    Questionnaire.parse_obj(resource)
    assert [item["linkId"] for item in resource["item"]] == [i["code"] for i in data["items"]]


def test_conditions_and_not_applicable_answers_come_back_from_the_questionnaire(db, tmp_path):
    """mobility_aid.json exported as FHIR and read back: the same items, their
    enable_when and "not applicable" options included (``required`` as FHIR says: an
    item of a score that allows a blank is not required there)."""
    run("import_instrument", str(DATA / "mobility_aid.json"))
    fhir, _ = run("export_instrument", "mobility_aid", "--format", "fhir")
    questionnaire = tmp_path / "questionnaire.json"
    questionnaire.write_text(fhir)
    draft = tmp_path / "draft.json"
    run("import_instrument", str(questionnaire), "--from-questionnaire", "--output", str(draft))
    started = json.loads(draft.read_text())
    original = read_definition_file(DATA / "mobility_aid.json")
    back = {item.code: item for item in parse_definition(
        {**started, "scores": original["scores"]}).items}
    for item in parse_definition(original).items:
        assert back[item.code].enable_when == item.enable_when
        assert back[item.code].options == item.options
    assert back["driving"].not_applicable_values == {9}
    assert back["aid_type"].enable_when.answers == (1,)


MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
NESTED = {
    "resourceType": "Questionnaire", "id": "nested", "name": "Nested", "title": "Nested test",
    "status": "draft", "version": "1.0 beta", "item": [
        {"linkId": "g1", "type": "group", "text": "Section A", "required": True, "item": [
            {"linkId": "a1", "type": "choice", "text": "Do you smoke?", "required": True,
             "answerOption": [{"valueCoding": {"code": "0", "display": "No"}},
                              {"valueCoding": {"code": "1", "display": "Yes"}}],
             "item": [{"linkId": "a1.1", "type": "integer", "text": "How many per day?",
                       "extension": [{"url": MIN_VALUE, "valueInteger": 0},
                                     {"url": MAX_VALUE, "valueInteger": 60}]}]},
            {"linkId": "a2", "type": "integer", "text": "Cigarettes per day", "required": True,
             "enableWhen": [{"question": "a1", "operator": "=",
                             "answerCoding": {"code": "1"}}],
             "extension": [{"url": MIN_VALUE, "valueInteger": 0},
                           {"url": MAX_VALUE, "valueInteger": 60}]},
            {"linkId": "g2", "type": "group", "item": [
                {"linkId": "b4", "type": "choice", "text": "Which inhaler?",
                 "answerValueSet": "http://example.org/ValueSet/inhalers"},
                {"linkId": "b5", "type": "choice", "text": "Which days?\nTick all",
                 "repeats": True, "answerOption": [{"valueInteger": 1}, {"valueInteger": 2}]},
                {"linkId": "b6", "type": "integer", "text": "Total (calculated)",
                 "readOnly": True, "extension": [{"url": MIN_VALUE, "valueInteger": 0},
                                                 {"url": MAX_VALUE, "valueInteger": 5}]},
                {"linkId": "b7", "type": "integer", "text": "Puffs on inhaler days",
                 "enableWhen": [{"question": "b5", "operator": "exists",
                                 "answerBoolean": True}],
                 "extension": [{"url": MIN_VALUE, "valueInteger": 0},
                               {"url": MAX_VALUE, "valueInteger": 20}]}]}]},
        {"linkId": "d", "type": "display", "text": "Thank you"}]}


def test_a_questionnaire_says_what_it_could_not_carry_over_naming_each_linkid(db, tmp_path):
    """Review #9: a sub-question vanished, a multi-select became a single choice, a
    read-only item a question, an answerValueSet a choice without options, and a version
    the format refuses was copied through, all without a word. Now: the sub-question
    follows its question, the rest is left out, each with a one-line note naming its
    linkId, and the draft parses once the scores, licence and source are written."""
    path = write(tmp_path, NESTED, "nested.json")
    draft = tmp_path / "draft.json"
    before = Instrument.objects.count()
    out, err = run("import_instrument", str(path), "--from-questionnaire", "--output",
                   str(draft))
    assert out == ""
    started = json.loads(draft.read_text())
    assert started["version"] == "1.0-beta"
    assert started["items"] == [
        {"code": "a1", "text": "Do you smoke?", "kind": "choice",
         "options": [{"value": 0, "label": "No"}, {"value": 1, "label": "Yes"}]},
        {"code": "a1_1", "text": "How many per day?", "kind": "scale", "min": 0, "max": 60,
         "required": False},
        {"code": "a2", "text": "Cigarettes per day", "kind": "scale", "min": 0, "max": 60,
         "enable_when": {"item": "a1", "answer": 1}},
        {"code": "b7", "text": "Puffs on inhaler days", "kind": "scale", "min": 0,
         "max": 20, "required": False}]
    assert err.splitlines() == [
        "note: version: '1.0 beta' is not a version a definition file takes (letters, "
        "digits, '.', '-' or '_', at most 16): written as '1.0-beta'; check it",
        "note: linkId 'a1.1' (\"How many per day?\"): a sub-question of linkId 'a1' (\"Do "
        "you smoke?\"): it follows it as an item of its own, asked always (give it an "
        "enable_when if it depends on the answer)",
        "note: linkId 'a1.1' (\"How many per day?\"): written as the item code 'a1_1'",
        "note: linkId 'b4' (\"Which inhaler?\"): left out: its answers are the value set "
        "'http://example.org/ValueSet/inhalers': write them as the item's options",
        "note: linkId 'b5' (\"Which days? Tick all\"): left out: it takes several answers "
        "(repeats), and a definition file has one answer per item (a yes/no item per "
        "answer can stand for it)",
        "note: linkId 'b6' (\"Total (calculated)\"): left out: read-only (shown or "
        "calculated, not answered by the patient)",
        "note: linkId 'b7' (\"Puffs on inhaler days\"): its enableWhen asks about linkId "
        "'b5', which is left out: the condition is left out; the item is asked always",
        "note: linkId 'd' (\"Thank you\"): left out: text shown to the patient, not a "
        "question (type display)",
        "note: licence: not in the Questionnaire: fill it in",
        "note: source: not in the Questionnaire: fill it in",
        "note: scores: a Questionnaire has no scoring: add the scores (docs/instruments.md)",
    ]
    with pytest.raises(DefinitionError) as caught:
        parse_definition(started)
    assert caught.value.problems == ["licence: must not be empty", "source: must not be empty",
                                     "scores: must not be empty"]
    finished = {**started, "licence": "Public domain", "source": "Test questionnaire",
                "scores": [{"key": "smoking", "label": "Smoking", "method": "sum",
                            "items": ["a1"], "direction": "lower_is_better"}]}
    definition = parse_definition(finished)
    assert definition.version == "1.0-beta"
    assert definition.item("a2").enable_when.answers == (1,)
    assert definition.item("a2").required  # required when asked, asked only if a1 is 1
    assert Instrument.objects.count() == before  # stored nothing


@pytest.mark.parametrize(("given", "written"), [
    ("1.0 beta", "1.0-beta"), ("  2.1  ", "2.1"), ("(draft) v3", "draft-v3"),
    ("1.0.0-rc.1+build.20240101", "1.0.0-rc.1-build"), ("é", "1.0"), ("2024_03", "2024_03")])
def test_a_questionnaire_version_is_written_as_one_a_definition_file_takes(given, written):
    started, notes = definition_from_questionnaire(
        {"resourceType": "Questionnaire", "version": given, "item": []})
    assert started["version"] == written
    assert VERSION.match(written)
    assert (f"version: {given!r} is not a version" in notes[0]) is (given != written)


def test_a_conditional_or_repeating_group_and_a_long_title_are_noted():
    title = "Knee Injury and Osteoarthritis Outcome Score, physical function short form"
    started, notes = definition_from_questionnaire({
        "resourceType": "Questionnaire", "version": "2", "title": title, "item": [
            {"linkId": "g", "type": "group", "text": "If you drive",
             "enableWhen": [{"question": "x", "operator": "exists", "answerBoolean": True}],
             "item": [{"linkId": "s", "type": "string", "text": "Car"}]},
            {"linkId": "r", "type": "group", "repeats": True, "item": []}]})
    assert started["short_title"] == title[:50] and started["items"] == []
    assert notes[:5] == [
        "group linkId 'g' (\"If you drive\"): its enableWhen is left out (a definition file "
        "has no conditional groups): its questions are asked always; give each an "
        "enable_when if they depend on it",
        "linkId 's' (\"Car\"): left out: type 'string' has no counterpart in a definition "
        "file (choice and integer items only)",
        "group linkId 'r': repeats, but a definition file asks each question once: its "
        "questions are read once",
        f"short_title: the title cut to 50 characters ({title[:50]!r}): shorten it as people "
        "should read it",
        "items: no item of the Questionnaire could be carried over: write them",
    ]


def test_an_item_the_format_would_refuse_is_left_out_with_the_problem_so_the_draft_parses():
    """The draft is refused for nothing but the scores, licence and source the notes ask
    for: an item parse_definition would refuse is left out, its problem quoted."""
    def scale(link, low, high, **more):
        return {"linkId": link, "type": "integer", "text": link.upper(), **more,
                "extension": [{"url": MIN_VALUE, "valueInteger": low},
                              {"url": MAX_VALUE, "valueInteger": high}]}

    started, notes = definition_from_questionnaire({
        "resourceType": "Questionnaire", "version": "1", "item": [
            scale("a", 5, 5), scale("b", 0, 5000),
            {"linkId": "c", "type": "choice", "text": "C", "answerOption": [
                {"valueInteger": 1}, {"valueInteger": 1}]},
            scale("d", 0, 5, enableWhen=[{"question": "c", "operator": "exists",
                                          "answerBoolean": True}]),
            scale("e", 0, 10, required=True)]})
    assert [item["code"] for item in started["items"]] == ["e"]
    assert notes[:4] == [
        "linkId 'a' (\"A\"): left out: a definition file refuses it (max: must be above min "
        "(5), got 5)",
        "linkId 'b' (\"B\"): left out: a definition file refuses it (max: an item's values "
        "are -1000 to 1000, got 5000)",
        "linkId 'c' (\"C\"): left out: a definition file refuses it (options[1].value: 1 is "
        "also options[0]'s)",
        "linkId 'd' (\"D\"): left out: a definition file refuses it (enable_when.item: no "
        "item 'c')",
    ]
    finished = {**started, "licence": "x", "source": "y", "scores": [
        {"key": "e_score", "label": "E", "method": "sum", "items": ["e"],
         "direction": "lower_is_better"}]}
    assert parse_definition(finished).item("e").required
