"""A version with responses: its metadata may be updated, audited; nothing else.

``definitions.metadata`` names the keys (``source``, ``licence``, each score's ``loinc``
and ``loinc_display``): neither the questions, the answers nor the scores read them. An
import of the same code and version that differs only there updates them, with an audit
record before and after; any other difference is refused, one line per key. The built-in
library's files are applied so when they are synced. On PostgreSQL the database itself
allows exactly that (trigger ``instruments_instrument_answered_never_changes``): these
tests run on both SQLite and PostgreSQL (``DATABASE_URL``).
"""

from __future__ import annotations

import copy
import json
import logging
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from outcomes.audit.models import AuditRecord
from outcomes.instruments.definitions.fhir import questionnaire
from outcomes.instruments.definitions.metadata import differences, is_metadata
from outcomes.instruments.models import Instrument, Response
from outcomes.instruments.services import sync_instruments
from outcomes.instruments.stored import definition_of, digest_of

DATA = Path(__file__).resolve().parents[2] / "data" / "instruments"
# LOINC 44261-6: "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]".
PHQ9_LOINC = ("44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]")
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql",
                                   reason="the trigger is PostgreSQL's")


def phq9() -> dict:
    return json.loads((DATA / "phq9.json").read_text())


def write(tmp_path, data: dict) -> Path:
    path = tmp_path / "phq9.json"
    path.write_text(json.dumps(data))
    return path


def audit_of(instrument) -> list[AuditRecord]:
    return list(AuditRecord.objects.filter(object_type="instruments.instrument",
                                           object_id=str(instrument.pk)).order_by("pk"))


def answer(study, instrument, code: str = "P-901") -> Response:
    """Schedule ``instrument`` at baseline and give it one patient's response."""
    from outcomes.followups.models import TimePointInstrument
    from tests.factories import enrol

    baseline = study.timepoints.get(code="baseline")
    TimePointInstrument.objects.get_or_create(timepoint=baseline, instrument=instrument,
                                              defaults={"order": 9})
    visit = enrol(study, code).visits.get(timepoint=baseline)
    return Response.objects.create(visit=visit, instrument=instrument, answers={"phq1": 1})


@pytest.fixture
def answered(study):
    call_command("import_instrument", str(DATA / "phq9.json"), stdout=StringIO())
    instrument = Instrument.objects.get(code="phq9", version="1.0")
    answer(study, instrument)
    return instrument


def test_only_the_metadata_keys_are_metadata():
    assert [path for path in ("source", "licence", "scores[0].loinc",
                              "scores[12].loinc_display", "alerts", "alerts[0].when.item",
                              "scores[0].anchor", "scores[3].anchor.improved_upto")
            if not is_metadata(path)] == []
    assert [path for path in ("title", "short_title", "recall_period", "items[0].text",
                              "scores[0].label", "scores[0].unit", "scores[0].bands",
                              "scores[0].items[0].loinc", "version", "scoring_version",
                              "alertsx", "scores[0].anchors", "items[0].alerts")
            if is_metadata(path)] == []
    # A key left at its default ("" for loinc) is the same as the key absent.
    assert differences({"scores": [{"key": "a"}]}, {"scores": [{"key": "a", "loinc": ""}]}) \
        == []


def test_an_import_differing_only_in_metadata_updates_an_answered_version_audited(
        answered, tmp_path):
    before = copy.deepcopy(answered.definition)
    old_digest = answered.digest
    data = phq9()
    data["scores"][0]["loinc"], data["scores"][0]["loinc_display"] = PHQ9_LOINC
    data["licence"] = "PHQ-9 © Pfizer Inc.: no permission required to reproduce."
    out = StringIO()
    call_command("import_instrument", str(write(tmp_path, data)), stdout=out)
    assert out.getvalue().strip() == (
        "updated the metadata of phq9 version 1.0 (PHQ-9), which has "
        "responses: licence, scores[0].loinc, scores[0].loinc_display")
    answered.refresh_from_db()
    assert answered.licence == data["licence"]
    assert answered.definition["scores"][0]["loinc"] == "44261-6"
    assert answered.digest == digest_of(answered.definition) != old_digest
    # Nothing else moved: the questions, answers and scores are those answered.
    assert [path for path in differences(before, answered.definition)
            if not is_metadata(path)] == []
    # Every reader sees it: the FHIR export carries the code.
    score = definition_of(answered).score("phq9_total")
    assert (score.loinc, score.loinc_display) == PHQ9_LOINC
    assert questionnaire(definition_of(answered))["copyright"] == data["licence"]
    _, record = audit_of(answered)  # the import's, then this one
    assert (record.action, record.actor_label) == ("update", "import_instrument")
    assert record.changes == {
        "licence": [before["licence"], data["licence"]],
        "scores[0].loinc": [None, "44261-6"],
        "scores[0].loinc_display": [None, PHQ9_LOINC[1]],
        "digest": [old_digest, answered.digest],
    }
    # The same file again: nothing changes, no record.
    call_command("import_instrument", str(write(tmp_path, data)), stdout=out)
    assert len(audit_of(answered)) == 2


def test_an_alert_added_to_an_answered_version_is_taken_and_raised_from_then_on(
        study, answered, tmp_path):
    """A safety alert must not wait for a new version: the catalogue's PHQ-9 alert (item
    9 above "Not at all") added to a version already answered is taken, audited; the
    response stored before raises nothing, the next one does."""
    from outcomes.alerts.models import AnswerAlert
    from outcomes.instruments.definitions import LIBRARY
    from outcomes.instruments.services import complete_response, save_answers
    from tests.factories import enrol

    catalogue = json.loads((LIBRARY / "catalogue" / "phq9.json").read_text())
    data = phq9()
    assert "alerts" not in data
    data["alerts"] = catalogue["alerts"]
    out = StringIO()
    call_command("import_instrument", str(write(tmp_path, data)), stdout=out)
    assert out.getvalue().splitlines()[0] == (
        "updated the metadata of phq9 version 1.0 (PHQ-9), which has responses: alerts")
    answered.refresh_from_db()
    assert [a.key for a in definition_of(answered).alerts] == ["phq9_item9"]
    record = audit_of(answered)[-1]
    assert record.changes["alerts"] == [None, catalogue["alerts"]]
    assert AnswerAlert.objects.count() == 0  # the response stored before raises nothing
    visit = enrol(study, "P-902").visits.get(timepoint__code="baseline")
    answers = {item.code: 0 for item in definition_of(answered).items}
    answers["phq9"] = 1  # "Several days"
    response = complete_response(response=save_answers(visit=visit, instrument=answered,
                                                       answers=answers))
    assert list(AnswerAlert.objects.values_list("response_id", "key")) == [
        (response.pk, "phq9_item9")]


def test_an_anchor_added_to_an_answered_version_is_taken(answered, tmp_path):
    data = phq9()
    data["scores"][0]["anchor"] = {"improved_upto": 4, "label": "minimal"}
    out = StringIO()
    call_command("import_instrument", str(write(tmp_path, data)), stdout=out)
    assert out.getvalue().strip().endswith("which has responses: scores[0].anchor")
    answered.refresh_from_db()
    assert definition_of(answered).score("phq9_total").anchor is not None


def test_a_scoring_change_is_refused_a_line_per_key_and_nothing_is_stored(answered,
                                                                         tmp_path):
    before = (copy.deepcopy(answered.definition), answered.digest, AuditRecord.objects.count())
    data = phq9()
    data["scores"][0]["loinc"] = PHQ9_LOINC[0]  # metadata, which alone would be taken
    data["scores"][0]["bands"][1]["upto"] = 10  # Kroenke 2001: mild is 5-9
    data["scores"][0]["max_missing"] = 1
    data["items"][2]["text"] = "Trouble sleeping"
    err = StringIO()
    with pytest.raises(CommandError, match="refused: 3 problem"):
        call_command("import_instrument", str(write(tmp_path, data)), stdout=StringIO(),
                     stderr=err)
    assert err.getvalue().splitlines() == [
        "items[2].text: a version with responses cannot change; publish version 1.1",
        "scores[0].max_missing: a version with responses cannot change; publish version 1.1",
        "scores[0].bands[1].upto: a version with responses cannot change; publish "
        "version 1.1",
    ]
    answered.refresh_from_db()
    assert (answered.definition, answered.digest, AuditRecord.objects.count()) == before


def test_the_model_allows_metadata_and_nothing_else_on_an_answered_version(answered):
    answered.definition = {**answered.definition, "source": "Kroenke K et al. 2001"}
    answered.source = "Kroenke K et al. 2001"
    answered.save()
    # The licence column must repeat the file's.
    answered.licence = "Another licence, not the file's"
    with pytest.raises(PermissionError, match="has responses, so it never changes"):
        answered.save()
    answered.refresh_from_db()
    scores = copy.deepcopy(answered.definition["scores"])
    scores[0]["bands"][0]["label"] = "none"
    answered.definition = {**answered.definition, "scores": scores}
    with pytest.raises(PermissionError, match="has responses, so it never changes"):
        answered.save()


@on_postgresql
def test_the_database_allows_metadata_and_nothing_else_on_an_answered_version(answered):
    rows = Instrument.objects.filter(pk=answered.pk)
    file = copy.deepcopy(answered.definition)
    file["scores"][0]["loinc"] = PHQ9_LOINC[0]
    file["licence"] = "New licence"
    file["alerts"] = [{"key": "phq9_item9", "when": {"item": "phq9", "at_least": 1},
                       "staff_message": "PHQ-9 question 9 answered above 'Not at all'",
                       "patient_message": "Please contact the study team."}]
    file["scores"][0]["anchor"] = {"improved_upto": 4, "label": "minimal"}
    with transaction.atomic():  # the file's metadata, its column and a new digest
        rows.update(definition=file, licence="New licence", digest=digest_of(file))
    assert rows.get().definition["scores"][0]["loinc"] == PHQ9_LOINC[0]

    def refused(**columns):
        with pytest.raises(DatabaseError, match="has responses, so it never changes"), \
                transaction.atomic():
            rows.update(**columns)

    scoring = copy.deepcopy(file)
    scoring["scores"][0]["bands"][1]["upto"] = 10
    refused(definition=scoring, digest=digest_of(scoring))
    wording = copy.deepcopy(file)
    wording["items"][0]["text"] = "Changed behind the model"
    refused(definition=wording, digest=digest_of(wording))
    refused(title="Changed behind the model")
    refused(digest="0" * 64)  # a digest moved without its file
    refused(licence="Not the file's licence")  # a column that no longer repeats the file
    other = copy.deepcopy(file)
    other["source"] = "Another source"
    refused(definition=other)  # the file's metadata, but the source column and digest left
    # A version without responses may still change as the import's rules allow.
    with transaction.atomic():
        Instrument.objects.filter(code="nrs11").update(title="NRS")


def test_a_library_file_changed_in_metadata_only_is_applied_to_an_answered_version(
        study, caplog):
    odi = Instrument.objects.get(code="odi")
    library = copy.deepcopy(odi.definition)
    # As stored before the library file gained its LOINC code and a new licence text.
    older = copy.deepcopy(library)
    del older["scores"][0]["loinc"], older["scores"][0]["loinc_display"]
    older["licence"] = "ODI v2.1a © Jeremy Fairbank."
    Instrument.objects.filter(pk=odi.pk).update(definition=older, licence=older["licence"],
                                                digest=digest_of(older))
    answer(study, odi, "P-902")
    with caplog.at_level(logging.WARNING, logger="outcomes.instruments.services"):
        sync_instruments()
    odi.refresh_from_db()
    assert odi.definition == library and odi.licence == library["licence"]
    assert not caplog.records
    (record,) = audit_of(odi)
    assert (record.action, record.actor_label) == ("update", "system")
    assert record.changes["scores[0].loinc"] == [None, library["scores"][0]["loinc"]]
    assert record.changes["licence"] == ["ODI v2.1a © Jeremy Fairbank.", library["licence"]]
    assert record.reason == "library file of odi version 2.1a: metadata updated"


def test_a_library_file_changed_in_content_leaves_an_answered_version_as_it_was(
        study, caplog):
    odi = Instrument.objects.get(code="odi")
    older = copy.deepcopy(odi.definition)
    older["scores"][0]["bands"][3]["label"] = "very severe"
    del older["scores"][0]["loinc"]
    Instrument.objects.filter(pk=odi.pk).update(definition=older, digest=digest_of(older))
    answer(study, odi, "P-903")
    with caplog.at_level(logging.WARNING, logger="outcomes.instruments.services"):
        sync_instruments()
    odi.refresh_from_db()
    assert odi.definition == older  # not even the LOINC code: the file is not taken in part
    assert not audit_of(odi)
    (warning,) = caplog.records
    assert "odi version 2.1a" in warning.getMessage()
    assert "(scores[0].bands[3].label)" in warning.getMessage()


def test_the_admin_import_says_only_the_metadata_was_updated(client, answered):
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from patients.demo import ensure_demo_users
    from patients.models import Site

    ensure_demo_users(Site.objects.get(code="MAIN"))
    client.force_login(User.objects.get(username="datamanager"))
    data = phq9()
    data["scores"][0]["loinc"], data["scores"][0]["loinc_display"] = PHQ9_LOINC
    reply = client.post(reverse("admin:instruments_instrument_import"), {
        "file": SimpleUploadedFile("phq9.json", json.dumps(data).encode()),
        "reason": "LOINC code checked"}, follow=True)
    assert ("PHQ-9 version 1.0 has responses: only its metadata was updated "
            "(scores[0].loinc, scores[0].loinc_display).") in reply.content.decode()
    assert "44261-6" in reply.content.decode()  # on the version's page it lands on
    record = audit_of(answered)[-1]
    assert record.reason == "imported from phq9.json: LOINC code checked"
    assert record.actor.username == "datamanager"
