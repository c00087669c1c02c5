"""``import_study --from-redcap``: a REDCap project's dictionary and records, through a map.

The example in tests/data/redcap is shaped as REDCap exports it: the data dictionary
with REDCap's 18 columns, and a raw records export of a longitudinal project (one row
per record and event, ``redcap_event_name``, ``{form}_complete`` columns, a screening
event the map ignores). Its ODI is coded 1-6, as many REDCap projects code it; the map
recodes it to the instrument's 0-5.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from outcomes.instruments.models import ResponderStatus, Response, Score
from patients.models import Contact, Enrolment

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "redcap"


@pytest.fixture
def export(tmp_path):
    """Copies of the example's three files, optionally changed: their paths."""
    def write(*, records=None, mapping=None, dictionary=None):
        paths = {}
        for name, text in (("dictionary.csv", dictionary), ("records.csv", records),
                           ("map.json", mapping)):
            path = tmp_path / name
            path.write_text((EXAMPLE / name).read_text(encoding="utf-8") if text is None
                            else text, encoding="utf-8")
            paths[name] = str(path)
        return paths
    return write


def run(paths) -> None:
    call_command("import_study", study="BMC-LBP",
                 from_redcap=[paths["dictionary.csv"], paths["records.csv"]],
                 map_path=paths["map.json"])


def example(name: str) -> str:
    return (EXAMPLE / name).read_text(encoding="utf-8")


def test_the_example_export_imports_patients_responses_and_verdicts(study, export, capsys):
    run(export())
    r1 = Enrolment.objects.get(patient__code="R-001")
    assert (r1.arm.code, r1.patient.sex, r1.index_date.isoformat()) == (
        "BMC", "female", "2025-01-13")
    # REDCap codes 3,2,3,2,2,2,2,2,2,2 are ODI points 2,1,2,1,... = 12 of 50 = 24%, and at
    # 3 months 7 of 50 = 14% (SPEC 3.1): exactly the 10-point MCID.
    odi = dict(Score.objects.filter(response__visit__enrolment=r1, code="odi")
               .values_list("response__visit__timepoint__code", "exact"))
    assert {tp: Fraction(v) for tp, v in odi.items()} == {"baseline": 24, "m3": 14}
    # EQ-5D 21232, UK (Dolan 1997): 1 - (0.081 + 0.069 + 0.036 + 0.386 + 0.071 + 0.269).
    uk = Score.objects.get(response__visit__enrolment=r1, code="eq5d_index_uk")
    assert Fraction(uk.exact) == Fraction("0.088")
    verdicts = dict(ResponderStatus.objects.filter(enrolment=r1, timepoint__code="m3")
                    .values_list("rule__code", "verdict"))
    assert verdicts["odi_mcid_10pt"] == verdicts["nrs_2pt"] == "responder"
    # R-002 left two ODI sections blank at baseline: imported, not scorable, warned.
    r2 = Response.objects.get(visit__enrolment__patient__code="R-002",
                              visit__timepoint__code="baseline", instrument__code="odi")
    assert r2.not_scorable["odi"] == "2 sections unanswered; at most 1 allowed"
    assert ("warning: records.csv line 5: R-002 baseline odi: ODI not scorable: 2 sections "
            "unanswered") in capsys.readouterr().err
    contact = Contact.objects.get(patient__code="R-002")
    assert (contact.mobile, contact.preferred_channel, contact.language) == (
        "+44 7700 900123", "sms", "es")


def test_importing_the_export_again_changes_nothing(study, export, capsys):
    paths = export()
    run(paths)
    before = (Response.objects.count(), Score.objects.count(), ResponderStatus.objects.count())
    run(paths)
    assert (Response.objects.count(), Score.objects.count(),
            ResponderStatus.objects.count()) == before
    assert "2 patients and 9 responses already there, unchanged" in capsys.readouterr().out


def test_a_map_naming_a_field_not_in_the_dictionary_is_a_clear_error(study, export, capsys):
    mapping = json.loads(example("map.json"))
    mapping["instruments"]["odi"]["items"]["walking"] = "odi_walk"
    mapping["patient"]["age"] = "age_years"
    with pytest.raises(CommandError, match="nothing was imported"):
        run(export(mapping=json.dumps(mapping)))
    err = capsys.readouterr().err
    assert ("map.json: instruments.odi.items.walking: no field 'odi_walk' in the data "
            "dictionary") in err
    assert "map.json: patient.age: no field 'age_years' in the data dictionary" in err
    assert not Enrolment.objects.exists()


def test_a_choice_code_not_in_the_fields_choices_names_line_and_field(study, export, capsys):
    # odi_4 (walking) is coded 1-6 in the dictionary; 7 is no choice of it.
    records = example("records.csv").replace(
        "R-001,month_3_arm_1,,,,,,,,,,,,2025-04-12,2,2,2,2,",
        "R-001,month_3_arm_1,,,,,,,,,,,,2025-04-12,2,2,2,7,")
    with pytest.raises(CommandError, match="nothing was imported"):
        run(export(records=records))
    assert ("records.csv line 3, column odi_4: '7' is not one of the field's choices "
            "(1, 2, 3, 4, 5, 6)") in capsys.readouterr().err
    assert not Response.objects.exists()


def test_a_recoding_naming_a_code_the_field_does_not_have_is_refused(study, export, capsys):
    mapping = json.loads(example("map.json"))
    mapping["patient"]["arm"]["values"]["3"] = "PLACEBO"
    with pytest.raises(CommandError):
        run(export(mapping=json.dumps(mapping)))
    assert ("map.json: patient.arm.values: '3' is not one of arm's choices (1, 2)"
            in capsys.readouterr().err)


def test_an_export_goes_through_the_same_validation_as_the_csv_files(study, export, capsys):
    # A pain rating typed into a text field of another project would be 12: out of range,
    # named as the CSV import names it, at the REDCap field.
    dictionary = example("dictionary.csv").replace(
        'nrs_pain,pain_rating,,radio,', 'nrs_pain,pain_rating,,text,').replace(
        '"0, 0 | 1, 1 | 2, 2 | 3, 3 | 4, 4 | 5, 5 | 6, 6 | 7, 7 | 8, 8 | 9, 9 | 10, 10"', "")
    records = example("records.csv").replace("2025-04-09,6,", "2025-04-09,12,")
    with pytest.raises(CommandError):
        run(export(dictionary=dictionary, records=records))
    err = capsys.readouterr().err
    assert "records.csv line 6, column nrs_pain: pain must be 0-10, got 12" in err


def test_an_event_the_map_does_not_know_is_refused(study, export, capsys):
    records = example("records.csv").replace("R-002,screening_arm_1", "R-002,month_24_arm_1")
    with pytest.raises(CommandError):
        run(export(records=records))
    assert ("records.csv line 4, column redcap_event_name: event 'month_24_arm_1' is not in "
            "the map") in capsys.readouterr().err


def test_a_map_that_is_not_json_or_names_an_unknown_time_point_or_item_says_where(
    study, export, capsys
):
    with pytest.raises(CommandError):
        run(export(mapping="{not json"))
    assert "map.json: not JSON: " in capsys.readouterr().err
    mapping = json.loads(example("map.json"))
    mapping["events"]["month_3_arm_1"] = "m4"
    mapping["instruments"]["nrs11"]["items"] = {"ache": "nrs_pain"}
    with pytest.raises(CommandError):
        run(export(mapping=json.dumps(mapping)))
    err = capsys.readouterr().err
    assert "map.json: events.month_3_arm_1: the study has no time point 'm4'" in err
    assert "map.json: instruments.nrs11.items.ache: nrs11 has no item 'ache'" in err


def test_a_file_that_is_not_a_data_dictionary_is_refused(study, export, capsys):
    with pytest.raises(CommandError):
        run(export(dictionary="name,type\nage,text\n"))
    assert ('dictionary.csv line 1: not a REDCap data dictionary: no column "Variable / Field '
            'Name"') in capsys.readouterr().err


def test_the_example_dictionary_has_redcaps_own_columns():
    from patients.imports.redcap import DICTIONARY_COLUMNS

    header = example("dictionary.csv").splitlines()[0]
    assert header.split(",")[:5] == list(DICTIONARY_COLUMNS[:5])
    assert '"Choices, Calculations, OR Slider Labels"' in header
    assert header.endswith("Matrix Group Name,Matrix Ranking?,Field Annotation")
    assert len(DICTIONARY_COLUMNS) == 18


def test_the_command_asks_for_the_map_and_one_kind_of_source(study, export):
    paths = export()
    with pytest.raises(CommandError, match=r"--from-redcap needs --map MAP\.json"):
        call_command("import_study", study="BMC-LBP",
                     from_redcap=[paths["dictionary.csv"], paths["records.csv"]])
    with pytest.raises(CommandError, match="either --patients and --responses, or"):
        call_command("import_study", study="BMC-LBP", patients=paths["records.csv"],
                     from_redcap=[paths["dictionary.csv"], paths["records.csv"]],
                     map_path=paths["map.json"])
