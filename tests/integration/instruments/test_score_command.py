"""``score INSTRUMENT``, run as a user would: JSON lines in, JSON lines out, exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def run_score(*args: str, stdin: str) -> tuple[int, list[dict], str]:
    proc = subprocess.run(
        [sys.executable, "manage.py", "score", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, lines, proc.stderr


ODI_SECTIONS = ("pain_intensity", "personal_care", "lifting", "walking", "sitting",
                "standing", "sleeping", "sex_life", "social_life", "travelling")


def odi_answers(points: list[int | None]) -> dict:
    return dict(zip(ODI_SECTIONS, points, strict=True))


def test_odi_lines_are_scored_in_order_with_ids_echoed():
    # Fairbank & Pynsent 2000 scoring note: 16 points over 10 sections = 32%;
    # over 9 answered sections = 16/45 = 35.56%.
    lines = [
        {"id": "a", "answers": odi_answers([2, 2, 2, 2, 2, 2, 2, 0, 1, 1])},
        {"id": 7, "answers": odi_answers([2, 2, 2, 2, 2, 2, 2, None, 1, 1])},
    ]
    code, out, _ = run_score("odi", stdin="\n".join(json.dumps(x) for x in lines) + "\n")
    assert code == 0
    assert [o["id"] for o in out] == ["a", 7]
    assert out[0]["instrument"] == "odi"
    assert out[0]["scores"]["odi"] == pytest.approx(32.0)
    assert out[0]["scores"]["odi_band"] == "moderate"
    assert out[0]["scores"]["odi_answered"] == 10
    assert out[1]["scores"]["odi"] == pytest.approx(35.5556, abs=1e-4)
    assert out[1]["scores"]["odi_answered"] == 9


def test_a_bad_line_is_reported_by_item_and_the_exit_status_is_one():
    lines = [
        json.dumps({"id": 1, "answers": odi_answers([2, 2, 2, 7, 2, 2, 2, 0, 1, 1])}),
        "{not json",
        json.dumps({"id": 3, "answers": {"pain": 4}}),
    ]
    code, out, _ = run_score("odi", stdin="\n".join(lines) + "\n")
    assert code == 1
    assert len(out) == 3
    assert out[0] == {"id": 1, "error": "walking: expected an integer 0-5, got 7"}
    assert "malformed JSON" in out[1]["error"] and "line 2" in out[1]["error"]
    assert "pain" in out[2]["error"]


def test_max_missing_lets_a_study_accept_two_blank_odi_sections():
    answers = odi_answers([2, 2, 2, 2, 2, 2, 2, None, None, 1])
    line = json.dumps({"id": "x", "answers": answers}) + "\n"
    code, out, _ = run_score("odi", stdin=line)
    assert code == 1 and "unanswered" in out[0]["error"]
    code, out, _ = run_score("odi", "--max-missing", "2", stdin=line)
    assert code == 0
    assert out[0]["scores"]["odi"] == pytest.approx(100 * 15 / 40)


def test_eq5d_lines_give_both_value_sets():
    # Shaw, Johnson & Coons 2005 (US D1 model): 22112 -> 0.759; Dolan 1997 (UK).
    answers = {"mobility": 2, "self_care": 2, "usual_activities": 1, "pain_discomfort": 1,
               "anxiety_depression": 2, "vas": 70}
    code, out, _ = run_score("eq5d3l", stdin=json.dumps({"id": 1, "answers": answers}))
    assert code == 0
    scores = out[0]["scores"]
    assert scores["eq5d_state"] == "22112"
    assert scores["eq5d_index_us"] == pytest.approx(0.759, abs=0.0005)
    # UK: 1 - 0.081 - 0.069 - 0.104 - 0.071 = 0.675 (Dolan 1997 decrements).
    assert scores["eq5d_index_uk"] == pytest.approx(0.675, abs=1e-9)
    assert scores["eq5d_vas"] == 70


def test_an_unknown_instrument_is_refused_with_a_message():
    proc = subprocess.run(
        [sys.executable, "manage.py", "score", "sf36"], input="", capture_output=True,
        text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode != 0
    assert "unknown instrument 'sf36'" in proc.stderr


def test_scores_a_response_cannot_give_are_null_and_named_with_their_reason():
    # SPEC 3.7: a PROMIS response without global03 gives GMH but not GPH (no proration,
    # Hays 2009); GMH 3 + 4 + 3 + 4 = 14 -> T 48.3 (scoring manual, table 2).
    answers = {"global01": 3, "global02": 3, "global04": 4, "global05": 3, "global09r": 2,
               "global06": 3, "global10r": 4, "global08r": 3, "global07r": 6}
    code, out, _ = run_score("promis_gh", stdin=json.dumps({"id": "p", "answers": answers}))
    assert code == 0
    assert out[0]["scores"]["gmh_t"] == pytest.approx(48.3)
    assert out[0]["scores"]["gph_t"] is None
    assert out[0]["not_scorable"] == {
        key: "global03 unanswered; all four items are needed"
        for key in ("gph_raw", "gph_t", "gph_se")}


def test_a_response_that_gives_no_score_at_all_is_still_an_error_line():
    answers = odi_answers([2, 2, 2, None, 2, 2, 2, None, 1, 1])
    code, out, _ = run_score("odi", stdin=json.dumps({"id": 9, "answers": answers}))
    assert code == 1
    assert out == [{"id": 9, "error": "odi: 2 sections unanswered; at most 1 allowed"}]


@pytest.mark.parametrize(("args", "message"), [
    (("odi", "--max-missing", "10"), "--max-missing must be between 0 and 9"),
    (("nrs11", "--max-missing", "1"), "--max-missing: no score of nrs11 allows unanswered items"),
])
def test_max_missing_is_bounded_by_the_instruments_definition(args, message):
    # The ODI's file allows blank sections, up to all ten but one; NRS-11's one item can't be.
    code, out, err = run_score(*args, stdin="")
    assert code != 0 and out == []
    assert message in err


def odi_version_3(tmp_path) -> Path:
    """A new ODI version whose sections are s1..s10 (review #10's /tmp/rv/odi3.json did
    the same with new item codes)."""
    data = json.loads((ROOT / "outcomes/instruments/library/odi.json").read_text())
    data["version"] = "3.0"
    renamed = {code: f"s{n}" for n, code in enumerate(ODI_SECTIONS, start=1)}
    for item in data["items"]:
        item["code"] = renamed[item["code"]]
    for score in data["scores"]:
        if "items" in score:
            score["items"] = [renamed[code] for code in score["items"]]
    path = tmp_path / "odi3.json"
    path.write_text(json.dumps(data))
    return path


def score_in_process(monkeypatch, *args: str, stdin: str) -> tuple[int, list[dict], str]:
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    monkeypatch.setattr(sys, "stdin", StringIO(stdin))
    try:
        call_command("score", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_score_takes_the_version_studies_schedule_and_another_with_version(
        study, tmp_path, monkeypatch):
    # Review #10: after odi 3.0 was imported, `score odi` scored by it, and the version the
    # studies use (2.1a) could no longer be scored at all ("unknown item").
    from django.core.management import call_command

    from outcomes.followups.models import TimePointInstrument
    from outcomes.instruments.models import Instrument

    call_command("import_instrument", str(odi_version_3(tmp_path)), stdout=sys.stderr)
    old = json.dumps({"id": 1, "answers": odi_answers([2, 2, 2, 2, 2, 2, 2, 0, 1, 1])})
    new = json.dumps({"id": 2, "answers": {f"s{n}": 2 for n in range(1, 11)}})
    code, out, err = score_in_process(monkeypatch, "odi", stdin=old)
    assert code == 0 and out[0]["scores"]["odi"] == pytest.approx(32.0)  # 16 of 50
    assert err.strip() == ("score: odi version 2.1a (the version studies schedule); also "
                           "stored: 3.0; --version V chooses")
    code, out, err = score_in_process(monkeypatch, "odi", "--version", "3.0", stdin=new)
    assert code == 0 and out[0]["scores"]["odi"] == pytest.approx(40.0) and err == ""
    code, out, _ = score_in_process(monkeypatch, "odi", "--version", "2.1a", stdin=new)
    assert code == 1 and out[0]["error"] == "s1: unknown item code for odi"
    with pytest.raises(Exception, match=r"odi has no version '9'; stored: 2\.1a, 3\.0"):
        score_in_process(monkeypatch, "odi", "--version", "9", stdin=old)
    # A study that schedules both (2.1a until 6 months, 3.0 at 12 months: a time point
    # asks one version): the newest of them, and standard error says so.
    row = TimePointInstrument.objects.get(timepoint__study=study, timepoint__code="m12",
                                          instrument__code="odi")
    row.instrument = Instrument.objects.get(code="odi", version="3.0")
    row.save()
    code, out, err = score_in_process(monkeypatch, "odi", stdin=new)
    assert code == 0 and out[0]["scores"]["odi"] == pytest.approx(40.0)
    assert err.strip() == ("score: odi version 3.0 (the newest of the versions studies "
                           "schedule: 2.1a, 3.0); also stored: 2.1a; --version V chooses")


def test_with_no_study_scheduling_it_score_takes_the_built_in_version(db, tmp_path,
                                                                      monkeypatch):
    from django.core.management import call_command

    call_command("import_instrument", str(odi_version_3(tmp_path)), stdout=sys.stderr)
    old = json.dumps({"id": 1, "answers": odi_answers([2, 2, 2, 2, 2, 2, 2, 0, 1, 1])})
    code, out, err = score_in_process(monkeypatch, "odi", stdin=old)
    assert code == 0 and out[0]["scores"]["odi"] == pytest.approx(32.0)
    assert err.strip() == ("score: odi version 2.1a (the built-in version; no study "
                           "schedules one); also stored: 3.0; --version V chooses")
