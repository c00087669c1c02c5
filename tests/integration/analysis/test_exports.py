"""``export_study`` and the export page: tidy, wide, items, dictionary, SPSS and Stata.

One small study built by import, the clock fixed, so that every kind of cell occurs:
a value, not scorable, missed, not yet due, withdrawn, voided. Expected values are
worked by hand from the instruments' published methods (SPEC 3), never read back
from the export's own code.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from fractions import Fraction
from io import StringIO

import pytest
import time_machine
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from outcomes.analysis import exports
from outcomes.instruments.models import Response, VisitScores
from outcomes.instruments.services import void_response
from patients.models import Enrolment
from patients.services import set_enrolment_status

NOW = dt.datetime(2026, 6, 1, 10, tzinfo=dt.UTC)
PATIENTS = """patient,arm,site,sex,age,bmi,opioid_mme,enrolled_date,index_date
E-001,BMC,MAIN,female,93,27.4,30,2026-01-08,2026-01-15
E-002,CONTROL,MAIN,male,48,31.0,,2026-01-08,2026-01-15
"""
ODI = ("pain_intensity", "personal_care", "lifting", "walking", "sitting", "standing",
       "sleeping", "sex_life", "social_life", "travelling")
PROMIS = ("global01", "global02", "global03", "global04", "global05", "global09r",
          "global06", "global10r", "global08r", "global07r")


def rows_of(patient, timepoint, instrument, items, values, day) -> str:
    return "".join(f"{patient},{timepoint},{instrument},{item},{value},{day}\n"
                   for item, value in zip(items, values, strict=True))


RESPONSES = (
    "patient,timepoint,instrument,item,value,completed_date\n"
    # E-001 baseline, 3 days before the index date. ODI: 16 points over 9 sections
    # (sex life blank) = 16/45 x 100 = 320/9 % (Fairbank 2000's own example, 35.56).
    + rows_of("E-001", "baseline", "odi", ODI, [2, 2, 2, 2, 2, 2, 2, "", 1, 1], "2026-01-12")
    + "E-001,baseline,nrs11,pain,7,2026-01-12\n"
    # EQ-5D-3L 21232, Dolan 1997: 1 - (constant 0.081 + MO2 0.069 + UA2 0.036 + PD3 0.386
    # + AD2 0.071 + N3 0.269) = 0.088.
    + rows_of("E-001", "baseline", "eq5d3l", ("mobility", "self_care", "usual_activities",
                                              "pain_discomfort", "anxiety_depression", "vas"),
              [2, 1, 2, 3, 2, 60], "2026-01-12")
    + rows_of("E-001", "baseline", "promis_gh", PROMIS, [3, 3, 3, 3, 3, 3, 3, 3, 3, 5],
              "2026-01-12")
    # E-001 at 3 months (day 91): NRS, and PROMIS with global03 blank: no GPH T-score
    # (all four items needed, no proration), GMH scored.
    + "E-001,m3,nrs11,pain,5,2026-04-16\n"
    + rows_of("E-001", "m3", "promis_gh", PROMIS, [3, 3, "", 3, 3, 3, 3, 3, 3, 5],
              "2026-04-16")
    # E-002: an NRS at baseline (to be voided), then withdrawn.
    + "E-002,baseline,nrs11,pain,8,2026-01-15\n"
)


@pytest.fixture
def cohort(study, tmp_path):
    (tmp_path / "p.csv").write_text(PATIENTS)
    (tmp_path / "r.csv").write_text(RESPONSES)
    manager = User.objects.create_user("dm", password="x" * 12)
    with time_machine.travel(NOW, tick=False):
        call_command("import_study", study="BMC-LBP", patients=str(tmp_path / "p.csv"),
                     responses=str(tmp_path / "r.csv"), stdout=StringIO())
        voided = Response.objects.get(visit__enrolment__patient__code="E-002",
                                      instrument__code="nrs11")
        void_response(response=voided, reason="entered for the wrong patient", actor=manager)
        set_enrolment_status(enrolment=Enrolment.objects.get(patient__code="E-002"),
                             status="withdrawn", reason="moved away", actor=manager)
        yield study


def run(*args, **kwargs) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("export_study", "--study", "BMC-LBP", *args, stdout=out, **kwargs)
    return out.getvalue()


def table(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def cell(rows, patient, timepoint, score) -> dict:
    (found,) = [r for r in rows if (r["patient"], r["timepoint"], r["score"])
                == (patient, timepoint, score)]
    return found


# --- tidy ------------------------------------------------------------------------------

def test_the_tidy_file_has_the_stable_columns_first(cohort):
    header = next(csv.reader(io.StringIO(run("--format", "tidy"))))
    assert header[:11] == ["patient", "arm", "site", "timepoint", "timepoint_order",
                           "study_day", "score", "value", "missing_reason",
                           "scoring_version", "source"]
    assert {"sex", "age", "bmi", "baseline_opioid_mme", "visit_status"} <= set(header)


def test_every_scheduled_cell_has_a_row(cohort):
    rows = table(run("--format", "tidy"))
    # The default schedule asks all four instruments at all five time points: 7 scores
    # (ODI, NRS, EQ-5D UK, US and VAS, GPH, GMH) and opioid use = 8 cells a visit.
    assert len(rows) == 2 * 5 * 8
    cells = {(r["patient"], r["timepoint"], r["score"]) for r in rows}
    assert len(cells) == len(rows)
    assert {r["score"] for r in rows} == {"odi", "nrs", "eq5d_index_uk", "eq5d_index_us",
                                          "eq5d_vas", "gph_t", "gmh_t", "opioid_mme"}


def test_each_cell_without_a_value_says_why(cohort):
    rows = table(run("--format", "tidy"))
    for row in rows:
        assert (row["value"] == "") == (row["missing_reason"] != ""), row
        assert row["missing_reason"] in ("", *exports.MISSING_REASONS)
    assert cell(rows, "E-001", "baseline", "nrs")["value"] == "7"
    # Answered at 3 months, but a GPH item blank: not scorable; GMH scored.
    assert cell(rows, "E-001", "m3", "gph_t")["missing_reason"] == "not_scorable"
    assert cell(rows, "E-001", "m3", "gmh_t")["missing_reason"] == ""
    # The 3-month visit happened without the ODI; the 1-month window closed in February.
    assert cell(rows, "E-001", "m3", "odi")["missing_reason"] == "missed"
    assert cell(rows, "E-001", "m1", "nrs")["missing_reason"] == "missed"
    # The 6-month window opens on 14 June (day 180 - 30).
    assert cell(rows, "E-001", "m6", "nrs")["missing_reason"] == "not_yet_due"
    assert cell(rows, "E-001", "m12", "odi")["missing_reason"] == "not_yet_due"
    assert cell(rows, "E-002", "baseline", "nrs")["missing_reason"] == "voided"
    assert cell(rows, "E-002", "m6", "nrs")["missing_reason"] == "withdrawn"
    assert cell(rows, "E-002", "m12", "opioid_mme")["missing_reason"] == "withdrawn"


def test_rows_are_in_schedule_order_not_alphabetical(cohort):
    rows = table(run("--format", "tidy"))
    keys = [(r["patient"], int(r["timepoint_order"]), r["score"]) for r in rows]
    assert keys == sorted(keys)
    order = list(dict.fromkeys(r["timepoint"] for r in rows if r["patient"] == "E-001"))
    assert order == ["baseline", "m1", "m3", "m6", "m12"]  # m12 last, not before m3
    assert {r["timepoint_order"] for r in rows if r["timepoint"] == "m12"} == {"5"}


def test_scores_keep_their_precision_without_float_noise(cohort):
    rows = table(run("--format", "tidy"))
    odi = cell(rows, "E-001", "baseline", "odi")
    assert odi["value"] == "35.55555556"  # 320/9 to 10 significant digits
    assert abs(Fraction(odi["value"]) - Fraction(320, 9)) < Fraction(1, 10**8)
    assert cell(rows, "E-001", "baseline", "eq5d_index_uk")["value"] == "0.088"
    assert cell(rows, "E-001", "baseline", "nrs")["value"] == "7"
    for row in rows:
        if row["value"] and row["score"] != "opioid_mme":
            digits = row["value"].lstrip("-").replace(".", "").lstrip("0")
            assert len(digits) <= 10, row["value"]
            assert "e" not in row["value"].lower()


def test_study_days_scoring_version_and_source(cohort):
    rows = table(run("--format", "tidy"))
    baseline = cell(rows, "E-001", "baseline", "odi")
    assert baseline["study_day"] == "-3"  # answered 12 January, index date 15 January
    assert cell(rows, "E-001", "m3", "nrs")["study_day"] == "91"
    assert (baseline["scoring_version"], baseline["source"]) == ("1", "import")
    assert cell(rows, "E-001", "m6", "nrs")["study_day"] == ""
    assert cell(rows, "E-001", "baseline", "opioid_mme")["value"] == "30.00"


def test_the_tidy_file_reads_the_visit_scores(cohort):
    """The export reads ``VisitScores`` (one narrow row a visit), not the score join."""
    VisitScores.objects.filter(visit__enrolment__patient__code="E-001",
                               timepoint__code="baseline").update(nrs=6.0)
    assert cell(table(run("--format", "tidy")), "E-001", "baseline", "nrs")["value"] == "6"


# --- de-identification ----------------------------------------------------------------

@pytest.mark.parametrize("kind", ["tidy", "wide", "items"])
def test_no_calendar_date_and_ages_top_coded(cohort, kind):
    text = run("--format", kind)
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)
    assert "moved away" not in text and "wrong patient" not in text  # no free text
    if kind != "items":
        ages = {r["patient"]: r["age"] for r in table(text)}
        assert ages == {"E-001": "90", "E-002": "48"}  # 93 is written 90 ("90 or older")


# --- items -------------------------------------------------------------------------------

def test_the_items_file_has_every_answer_of_every_completed_response(cohort):
    rows = table(run("--format", "items"))
    assert list(rows[0]) == list(exports.ITEM_COLUMNS)
    odi = [r for r in rows if (r["patient"], r["timepoint"], r["instrument"])
           == ("E-001", "baseline", "odi")]
    assert [r["item"] for r in odi] == list(ODI)
    assert [r["value"] for r in odi] == ["2"] * 7 + ["", "1", "1"]  # sex life blank
    assert {(r["instrument_version"], r["source"], r["study_day"]) for r in odi} == {
        ("2.1a", "import", "-3")}
    # 10 + 1 + 6 + 10 items at baseline, 1 + 10 at 3 months; the voided NRS is not there.
    assert len(rows) == 27 + 11
    assert not [r for r in rows if r["patient"] == "E-002"]


# --- wide, dictionary, SPSS and Stata --------------------------------------------------

def test_the_wide_file_has_a_row_per_patient_and_every_score_and_band(cohort):
    rows = {r["patient"]: r for r in table(run("--format", "wide"))}
    assert list(rows) == ["E-001", "E-002"]
    first = rows["E-001"]
    assert (first["odi_baseline"], first["odi_band_baseline"]) == ("35.55555556", "moderate")
    assert (first["nrs_baseline"], first["nrs_m3"], first["nrs_m6"]) == ("7", "5", "")
    assert (first["study_day_baseline"], first["study_day_m3"]) == ("-3", "91")


def test_the_dictionary_describes_every_column_of_every_file(cohort):
    described = table(run("--format", "dictionary"))
    by_file: dict[str, set[str]] = {}
    for row in described:
        by_file.setdefault(row["file"], set()).add(row["column"])
    for kind, file in (("tidy", "tidy"), ("wide", "wide"), ("items", "items")):
        header = next(csv.reader(io.StringIO(run("--format", kind))))
        assert set(header) <= by_file[file], set(header) - by_file[file]
    row = {(r["file"], r["column"]): r for r in described}
    odi = row[("scores", "odi")]
    assert (odi["direction"], odi["scoring_version"], odi["unit"]) == (
        "lower is better", "1", "percent of the maximum (0-100)")
    assert "10 significant digits" in odi["precision"]
    reasons = row[("tidy", "missing_reason")]["values"]
    assert all(reason in reasons for reason in exports.MISSING_REASONS)
    assert "BMC = Bone marrow concentrate" in row[("tidy", "arm")]["values"]
    assert "90 = 90 or older" in row[("tidy", "age")]["values"]
    band = row[("wide", "odi_band_m3")]["values"]
    assert "minimal" in band and "bed-bound" in band
    rule = row[("responder rules", "odi_mcid_10pt")]
    assert rule["label"] == "ODI improved by 10 points or more"
    assert "decrease" in rule["values"] and "10" in rule["values"]
    assert row[("responder rules", "primary")]["values"].startswith("any of")
    # Primary where the study's primary comparisons say (the demo: two rules at 12 months).
    assert rule["values"].endswith("; primary comparison at m12")
    assert "primary comparison" not in row[("responder rules", "primary")]["values"]
    assert row[("items: odi 2.1a", "sex_life")]["values"].startswith("0 = ")


@pytest.mark.parametrize(("kind", "reader"), [("spss", "read_sav"), ("stata", "read_dta")])
def test_the_labelled_files_read_back_with_labels_and_values(cohort, tmp_path, kind, reader):
    # Read back with pyreadstat (ReadStat, the library R's haven is built on; R itself
    # is not available on this machine).
    import pyreadstat

    path = tmp_path / f"wide.{exports.LABELLED_EXPORTS[kind]}"
    run("--format", kind, "--output", str(path))
    frame, meta = getattr(pyreadstat, reader)(str(path))
    labels = meta.column_names_to_labels
    assert labels["odi_baseline"] == "ODI (0-100, lower is better) at Baseline"
    assert labels["arm"] == "Study arm"
    values = meta.variable_value_labels
    assert values["arm"] == {1: "Bone marrow concentrate + conventional care",
                             2: "Conventional care"}
    assert values["sex"][1] == "Female" and values["site"] == {1: "Main clinic"}
    assert values["odi_band_baseline"] == {1: "minimal", 2: "moderate", 3: "severe",
                                           4: "crippled", 5: "bed-bound"}
    assert values["age"] == {90: "90 or older"}
    first = frame[frame["patient"] == "E-001"].iloc[0]
    assert first["arm"] == 1 and first["age"] == 90 and first["odi_band_baseline"] == 2
    assert first["odi_baseline"] == pytest.approx(320 / 9, abs=1e-12)
    assert first["eq5d_index_uk_baseline"] == pytest.approx(0.088, abs=1e-12)
    assert first["bmi"] == pytest.approx(27.4)


def test_a_labelled_file_needs_an_output_file(cohort):
    with pytest.raises(CommandError, match="--output"):
        run("--format", "spss")


def test_the_command_writes_a_file_as_it_goes(cohort, tmp_path):
    path = tmp_path / "tidy.csv"
    assert run("--format", "tidy", "--output", str(path)) == ""
    assert path.read_bytes().decode() == run("--format", "tidy")
    assert b"\r\n" in path.read_bytes()


# --- streaming and scope -----------------------------------------------------------------

def test_the_exports_read_a_batch_at_a_time(cohort, monkeypatch):
    """Queries grow with the batches, not the patients: 4 a batch, then the empty page."""
    monkeypatch.setattr(exports, "BATCH", 1)
    enrolments = Enrolment.objects.all()
    stream = exports.tidy_stream(cohort, enrolments)
    assert not isinstance(stream, (str, list))  # a generator, read as it is consumed
    with CaptureQueriesContext(connection) as one_a_batch:
        lines = "".join(stream)
    monkeypatch.setattr(exports, "BATCH", 2000)
    with CaptureQueriesContext(connection) as one_batch:
        assert "".join(exports.tidy_stream(cohort, enrolments)) == lines
    assert len(one_a_batch) - len(one_batch) == 4  # two patients: one batch more


def test_the_page_streams_the_files_of_the_users_sites_only(client, cohort):
    from django.contrib.auth.models import Group

    from patients.models import Site

    north = Site.objects.create(code="NORTH", name="North")
    cohort.sites.add(north)
    Enrolment.objects.filter(patient__code="E-002").update(site=north)
    manager = User.objects.create_user("dm-north", password="x" * 12)
    manager.groups.add(Group.objects.get(name="Data managers"))
    north.staff.add(manager)
    client.force_login(manager)
    for kind in ("tidy", "wide", "items"):
        with CaptureQueriesContext(connection) as queries:
            reply = client.get(reverse("patients:export", kwargs={"code": cohort.code,
                                                                  "kind": kind}))
            body = b"".join(reply.streaming_content).decode()
        assert reply.status_code == 200 and reply.streaming
        assert "E-001" not in body
        # The site filter is in the enrolments' SQL, not applied to rows in Python.
        first = next(q["sql"] for q in queries.captured_queries
                     if "patients_enrolment" in q["sql"] and "LIMIT" in q["sql"])
        assert "patients_site_staff" in first
    reply = client.get(reverse("patients:export-file", kwargs={
        "code": cohort.code, "kind": "spss", "suffix": "sav"}))
    assert reply.status_code == 200
    assert reply["Content-Disposition"].endswith('BMC-LBP-spss.sav"')
    assert b"".join(reply.streaming_content)[:4] == b"$FL2"  # an SPSS system file
    assert client.get(reverse("patients:export-file", kwargs={
        "code": cohort.code, "kind": "spss", "suffix": "csv"})).status_code == 404


# --- pure helpers ------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "text"), [
    (51.111111111111114, "51.11111111"), (8.0, "8"), (-0.109, "-0.109"), (1e-05, "0.00001"),
    (-0.0, "0"), (None, ""), (0.7484799, "0.7484799"), (1234567890123.0, "1234567890000"),
])
def test_score_text(value, text):
    assert exports.score_text(value) == text


def test_ages_are_top_coded_at_90():
    assert [exports.top_coded_age(a) for a in (None, 45, 89, 90, 104)] == [None, 45, 89, 90, 90]
    # From the date of birth when no age was recorded: not yet 60 the day before.
    assert exports.age_at(dt.date(2026, 3, 9), dt.date(1966, 3, 10), None) == 59
    assert exports.age_at(dt.date(2026, 3, 10), dt.date(1966, 3, 10), None) == 60
    assert exports.decimal_text(Decimal("30.00")) == "30.00"


def test_the_results_page_links_every_file_for_data_managers(client, cohort):
    from django.contrib.auth.models import Group

    manager = User.objects.create_user("dm-main", password="x" * 12)
    manager.groups.add(Group.objects.get(name="Data managers"))
    cohort.sites.get(code="MAIN").staff.add(manager)
    client.force_login(manager)
    page = client.get(reverse("patients:results", kwargs={"code": cohort.code}))
    links = set(re.findall(r'href="(/studies/[^"]+/exports/[^"]+)"', page.content.decode()))
    assert {link.rsplit("/", 1)[1] for link in links} == {
        "tidy.csv", "wide.csv", "items.csv", "spss.sav", "stata.dta", "dictionary.csv",
        "identified.csv"}
    for link in links:
        assert client.get(link).status_code == 200, link


def test_the_identified_file_has_names_dates_and_a_cell_under_every_column(cohort):
    from patients.models import Contact, Patient

    Contact.objects.update_or_create(patient=Patient.objects.get(code="E-001"),
                                     defaults={"full_name": "Ana, \"Ani\" Ruiz",
                                               "email": "ana@example.org"})
    with time_machine.travel(NOW, tick=False):
        text = "".join(exports.identified_stream(cohort, Enrolment.objects.all()))
    rows = {r["patient"]: r for r in table(text)}
    header = next(csv.reader(io.StringIO(text)))
    assert all(None not in row and len(row) == len(header) for row in rows.values())
    first = rows["E-001"]
    assert (first["full_name"], first["email"]) == ('Ana, "Ani" Ruiz', "ana@example.org")
    assert (first["index_date"], first["completed_baseline"]) == ("2026-01-15", "2026-01-12")
    assert first["odi_baseline"] == "35.55555556" and first["age"] == "90"
