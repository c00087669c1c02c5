"""Every wide, SPSS and Stata column has a name of its own (review of issue 17, #3).

Score keys of ordinary length (at most 32 characters, as a definition file allows) made
the SPSS and Stata export crash: ``<key>_<time point>`` cut to Stata's 32 characters
gave two variables one name (``..._m3`` and ``..._m6``; ``_band_m12`` and
``_band_m1``), and the web export answered 500. A score key ``study_day`` gave the wide
file two ``study_day_m3`` columns. Now the import refuses the keys the export files use
already, and the export gives every column a name of its own, the same in every export:
the dictionary lists what is written, and each variable's label its whole column name.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.urls import reverse

from outcomes.analysis import exports
from outcomes.analysis.exports import variable_names
from outcomes.followups.models import TimePointInstrument
from outcomes.instruments.definitions.files import DefinitionError
from outcomes.instruments.models import Instrument
from outcomes.instruments.services import (
    complete_response,
    import_instrument_definition,
    save_answers,
)
from tests.factories import enrol

NOW = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
INDEX = dt.date(2025, 5, 1)  # every visit up to 12 months is due by NOW
ONE = "a_very_long_score_key_number_one"  # 32 characters: a valid key
TWO = "a_very_long_score_key_number_two"
BANDED = "a_banded_score_key_of_24"  # 24: ``_band_m12`` is cut to ``_band_m1``
assert len(ONE) == len(TWO) == 32 and len(BANDED) == 24


def definition(*keys: str) -> dict:
    """A throwaway instrument: one 0-2 item per score, each score its item's value."""
    return {
        "code": "clk", "version": "1.0", "title": "Column names test", "short_title": "CLK",
        "licence": "Test only.", "source": "This test.",
        "items": [{"code": f"q{n}", "text": f"Question {n}", "kind": "choice",
                   "options": [{"value": v, "label": f"Answer {v}"} for v in (0, 1, 2)]}
                  for n, _ in enumerate(keys, start=1)],
        "scores": [{"key": key, "label": f"Score {n}", "method": "sum", "items": [f"q{n}"],
                    "direction": "lower_is_better",
                    **({"bands": [{"upto": 0, "label": "none"}, {"upto": 2, "label": "some"}]}
                       if key == BANDED else {})}
                   for n, key in enumerate(keys, start=1)],
    }


def schedule_and_answer(study, keys: tuple[str, ...]) -> None:
    """The instrument asked at every time point; one patient answers 1, 2, … by score."""
    instrument = Instrument.objects.get(code="clk")
    for tp in study.timepoints.all():
        TimePointInstrument.objects.create(timepoint=tp, instrument=instrument, order=9)
    with time_machine.travel(NOW, tick=False):
        enrolment = enrol(study, "C-001", index_date=INDEX, today=INDEX)
        for number, visit in enumerate(enrolment.visits.order_by("target_date")):
            answers = {f"q{n}": (number + n) % 3 for n, _ in enumerate(keys, start=1)}
            complete_response(response=save_answers(visit=visit, instrument=instrument,
                                                    answers=answers))


@pytest.fixture
def long_keys(study):
    keys = (ONE, TWO, BANDED)
    import_instrument_definition(data=definition(*keys))
    schedule_and_answer(study, keys)
    return study


def export(*args) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("export_study", "--study", "BMC-LBP", *args, stdout=out)
    return out.getvalue()


def dictionary() -> list[dict]:
    return list(csv.DictReader(io.StringIO(export("--format", "dictionary"))))


@pytest.mark.parametrize(("kind", "reader"), [("spss", "read_sav"), ("stata", "read_dta")])
def test_long_keys_give_every_variable_its_own_name(long_keys, tmp_path, kind, reader):
    import pyreadstat

    path = tmp_path / f"wide.{exports.LABELLED_EXPORTS[kind]}"
    export("--format", kind, "--output", str(path))
    frame, meta = getattr(pyreadstat, reader)(str(path))
    names = list(frame.columns)
    assert len({n.casefold() for n in names}) == len(names)
    assert max(len(n) for n in names) <= 32
    # A value label set is named after its variable plus a counter: within 32 too.
    assert max(len(n) + len(str(i)) for i, n in enumerate(meta.variable_value_labels)) <= 32
    wide = next(csv.reader(io.StringIO(export("--format", "wide"))))
    assert len(names) == len(wide) and len(set(wide)) == len(wide)
    # A name that fits is kept; a longer one is shortened, its label saying it whole.
    labels = meta.column_names_to_labels
    assert labels["odi_m3"] == "ODI (0-100, lower is better) at 3 months"
    listed = {row["column"]: row for row in dictionary() if row["file"] == "spss, stata"}
    points = [tp.code for tp in long_keys.timepoints.order_by("target_day")]
    renamed = {}
    for column in wide:
        if column in names:
            continue
        (name,) = [n for n in names if labels[n].startswith(f"{column}: ")]
        renamed[column] = name
        assert listed[name]["label"] == labels[name] or kind == "stata"
    assert sorted(renamed) == sorted(
        [f"{key}_{p}" for key in (ONE, TWO) for p in points]
        + [f"{BANDED}_{p}" for p in points if len(f"{BANDED}_{p}") > 32]
        + [f"{BANDED}_band_{p}" for p in points])
    assert sorted(listed) == sorted(renamed.values())  # the dictionary lists them all
    # The values are each column's own: the patient answered (visit + n) % 3.
    row = frame.iloc[0]
    for number, p in enumerate(points):
        assert row[renamed[f"{ONE}_{p}"]] == (number + 1) % 3
        assert row[renamed[f"{TWO}_{p}"]] == (number + 2) % 3
    band_m12 = renamed[f"{BANDED}_band_m12"]
    assert row[band_m12] == (1 if (points.index("m12") + 3) % 3 == 0 else 2)
    assert meta.variable_value_labels[band_m12] == {1: "none", 2: "some"}
    assert labels[band_m12].startswith(f"{BANDED}_band_m12: Score 3 band at 12 months")


@pytest.mark.parametrize("kind", ["spss", "stata"])
def test_the_page_serves_them_too(client, long_keys, kind):
    manager = User.objects.create_user("dm", password="x" * 12)
    manager.groups.add(Group.objects.get(name="Data managers"))
    long_keys.sites.get().staff.add(manager)
    client.force_login(manager)
    with time_machine.travel(NOW, tick=False):
        reply = client.get(reverse("patients:export-file", kwargs={
            "code": "BMC-LBP", "kind": kind, "suffix": exports.LABELLED_EXPORTS[kind]}))
        body = b"".join(reply.streaming_content)
    assert reply.status_code == 200
    assert body[:4] == b"$FL2" if kind == "spss" else body[:11] == b"<stata_dta>"


def test_the_names_are_the_same_in_every_export():
    columns = [f"{ONE}_m3", f"{ONE}_m6", "Odi_m3", "odi_m3", f"{BANDED}_m1",
               f"{BANDED}_band_m1", f"{BANDED}_band_m12"]
    names = variable_names(columns, labelled=[f"{BANDED}_band_m1"])
    assert names == variable_names(columns, labelled=[f"{BANDED}_band_m1"])
    assert names[f"{BANDED}_m1"] == f"{BANDED}_m1"  # fits: kept
    assert names["Odi_m3"] == "Odi_m3"  # first; SPSS reads odi_m3 as the same name
    assert names["odi_m3"] != "odi_m3"
    assert len({n.casefold() for n in names.values()}) == len(columns)
    assert all(len(n) <= 32 for n in names.values())
    assert names[f"{ONE}_m3"].startswith(ONE[:27] + "_")
    assert names[f"{BANDED}_band_m1"] != names[f"{BANDED}_band_m12"]
    assert len(names[f"{BANDED}_band_m1"]) == 31  # labelled: its label set adds a 0


# A key the export files use already --------------------------------------------------

@pytest.mark.parametrize(("key", "problem"), [
    ("study_day", "scores[0].key: 'study_day' is a column of the export files already: its "
                  "columns study_day_<time point> would repeat those of the study days "
                  "(study_day_<time point>); choose another key"),
    ("opioid_mme", "scores[0].key: 'opioid_mme' is a column of the export files already: "
                   "its columns opioid_mme_<time point> would repeat those of opioid use "
                   "(opioid_mme_<time point>); choose another key"),
    ("baseline_opioid", "scores[0].key: 'baseline_opioid' would name the export files' "
                        "baseline_opioid_mme column at a time point 'mme'; choose another "
                        "key"),
])
def test_the_import_refuses_a_key_the_export_files_use(db, key, problem):
    with pytest.raises(DefinitionError) as refused:
        import_instrument_definition(data=definition(key))
    assert problem in refused.value.problems
    assert not Instrument.objects.filter(code="clk").exists()


def test_a_study_day_key_stored_before_the_guard_gets_a_column_of_its_own(
        study, monkeypatch, tmp_path):
    import pyreadstat

    with monkeypatch.context() as before:
        before.setattr(exports, "reserved_key_problem", lambda key: None)
        import_instrument_definition(data=definition("study_day"))
    schedule_and_answer(study, ("study_day",))
    header, *rows = list(csv.reader(io.StringIO(export("--format", "wide"))))
    assert len(set(header)) == len(header)
    row = dict(zip(header, rows[0], strict=True))
    points = [tp.code for tp in study.timepoints.order_by("target_day")]
    assert row["study_day_m3_2"] == str((points.index("m3") + 1) % 3)  # the score
    assert int(row["study_day_m3"]) > 80  # the day answered
    wide = {r["column"]: r for r in dictionary() if r["file"] == "wide"}
    assert list(wide) == header  # one row per column, in order
    assert wide["study_day_m3"]["label"] == "Day answered at 3 months"
    assert wide["study_day_m3_2"]["label"] == "Score 1 (0-2, lower is better) at 3 months"
    path = tmp_path / "wide.sav"
    export("--format", "spss", "--output", str(path))
    frame, _ = pyreadstat.read_sav(str(path))
    assert list(frame.columns) == header
