"""Definition files (SPEC 3.6): a file is checked whole, one line per problem by key path."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from fractions import Fraction

import pytest

from outcomes.instruments.definitions import INSTRUMENTS, library_files
from outcomes.instruments.definitions.files import (
    DefinitionError,
    definition_to_dict,
    dump_definition,
    load_definition_file,
    parse_definition,
)

FREQUENCY = [{"value": 0, "label": "Not at all"}, {"value": 1, "label": "Several days"},
             {"value": 2, "label": "More than half the days"},
             {"value": 3, "label": "Nearly every day"}]


def phq9() -> dict:
    """SPEC 3.6's example, whole: the PHQ-9 (Kroenke K, Spitzer RL, Williams JB. J Gen
    Intern Med 2001;16:606-613): nine items 0-3, total 0-27, severity bands 4/9/14/19/27."""
    return {
        "code": "phq9", "version": "1.0", "title": "Patient Health Questionnaire-9",
        "short_title": "PHQ-9", "licence": "Free to use (Pfizer).",
        "source": "Kroenke K et al. J Gen Intern Med 2001;16:606-613.",
        "recall_period": "Over the last 2 weeks", "languages": ["en"],
        "items": [{"code": f"phq{n}", "text": f"Item {n}", "kind": "choice", "required": True,
                   "options": copy.deepcopy(FREQUENCY)} for n in range(1, 10)],
        "scores": [{"key": "phq9_total", "label": "PHQ-9 total", "method": "sum",
                    "items": [f"phq{n}" for n in range(1, 10)], "max_missing": 0,
                    "direction": "lower_is_better",
                    "bands": [{"upto": 4, "label": "minimal"}, {"upto": 9, "label": "mild"},
                              {"upto": 14, "label": "moderate"},
                              {"upto": 19, "label": "moderately severe"},
                              {"upto": 27, "label": "severe"}]}],
    }


def problems(data) -> list[str]:
    with pytest.raises(DefinitionError) as error:
        parse_definition(data)
    assert str(error.value) == "\n".join(error.value.problems)
    return error.value.problems


def test_spec_example_parses_to_items_and_scores():
    definition = parse_definition(phq9())
    assert definition.item_codes == tuple(f"phq{n}" for n in range(1, 10))
    assert definition.item("phq3").values == (0, 1, 2, 3)
    (total,) = definition.scores
    assert (total.key, total.method, total.low, total.high) == ("phq9_total", "sum", 0, 27)
    assert total.lower_is_better and total.band(9) == "mild" and total.band(10) == "moderate"
    assert definition.output_keys == ("phq9_total", "phq9_total_band")


def test_every_problem_of_a_file_is_listed_at_once_by_key_path():
    data = phq9()
    data["code"] = "PHQ-9"
    data["items"][3]["options"][1]["value"] = "2"
    data["scores"][0]["items"].append("phq10")
    data["scores"][0]["max_mising"] = 1
    assert problems(data) == [
        "code: must be lower-case letters, digits and underscores",
        'items[3].options[1].value: expected an integer, got "2"',
        "scores[0].max_mising: unknown key (did you mean 'max_missing'?)",
        "scores[0].items: no item 'phq10'",
    ]


@pytest.mark.parametrize(("change", "problem"), [
    (lambda d: d.pop("title"), "title: missing"),
    (lambda d: d.pop("scores"), "scores: missing"),
    (lambda d: d.update(colour="red"), "colour: unknown key"),
    (lambda d: d.update(version=""), "version: must not be empty"),
    (lambda d: d.update(languages=["english"]), 'languages: not a language code: "english"'),
    (lambda d: d["items"][1].update(code="phq1"), 'items[1].code: "phq1" is also items[0]\'s'),
    (lambda d: d["items"][0].update(kind="slider"),
     "items[0].kind: must be 'choice' or 'scale', got \"slider\""),
    (lambda d: d["items"][0].update(required="yes"),
     'items[0].required: expected true or false, got "yes"'),
    (lambda d: d["items"][0]["options"][2].update(value=1),
     "items[0].options[2].value: 1 is also options[1]'s"),
    (lambda d: d["items"][0]["options"][2].update(value=2.0),
     "items[0].options[2].value: expected an integer, got 2.0"),
    (lambda d: d["items"][0]["options"][2].pop("label"), "items[0].options[2].label: missing"),
    (lambda d: d["items"][0].update(options=FREQUENCY[:1]),
     "items[0].options: a choice item needs at least 2 options"),
    (lambda d: d["items"][0].update(min=0), "items[0].min: only a scale item has min and max "
                                            "(a choice item's values are its options')"),
    (lambda d: d["items"][0].update(kind="scale", min=5, max=5, options=[]),
     "items[0].max: must be above min (5), got 5"),
    (lambda d: d["items"][0].update(kind="scale", min=0, max=3,
                                    options=[{"value": 4, "label": "Worst"}]),
     "items[0].options[0].value: an anchor must be within 0-3, got 4"),
    (lambda d: d["scores"][0].update(method="median"),
     'scores[0].method: unknown method "median"; known: sum, mean, prorated_sum, '
     "percent_of_max, transform_0_100, lookup, answered_count, registered, value_set, "
     "weighted_scores"),
    (lambda d: d["scores"][0].update(direction="up"),
     "scores[0].direction: must be 'lower_is_better' or 'higher_is_better', got \"up\""),
    (lambda d: d["scores"][0].pop("direction"),
     "scores[0].direction: missing (a reported score says which way is better)"),
    (lambda d: d["scores"][0].update(max_missing=10),
     "scores[0].max_missing: must be 0-9 (the score has 9 items), got 10"),
    (lambda d: d["scores"][0].update(max_missing=-1),
     "scores[0].max_missing: must be 0-9 (the score has 9 items), got -1"),
    (lambda d: d["scores"][0]["items"].append("phq1"), "scores[0].items[9]: phq1 is listed twice"),
    (lambda d: d["scores"][0].update(reverse_items=["phq2", "vas"]),
     'scores[0].reverse_items: "vas" is not one of the score\'s items'),
    (lambda d: d["scores"][0].update(reverse=True),
     "scores[0].reverse: only transform_0_100 takes reverse"),
    (lambda d: d["scores"][0]["bands"][2].update(upto=9),
     "scores[0].bands[2].upto: bands rise: 9 is not above 9"),
    (lambda d: d["scores"][0]["bands"].pop(),
     "scores[0].bands: the last band ends at 19, below the score's highest value 27"),
    (lambda d: d["scores"][0].update(missing_reason="{who} forgot"),
     "scores[0].missing_reason: unknown placeholder {who}; known: {allowed}, {blank}, "
     "{first_blank}, {items}, {missing}, {s}"),
    (lambda d: d["scores"].append(dict(d["scores"][0])),
     'scores[1].key: "phq9_total" is also another score\'s key'),
    (lambda d: d["scores"][0].update(table={"0": 1}),
     "scores[0].table: only a lookup or a value_set takes a table"),
    (lambda d: d["scores"][0].update(method="lookup"),
     "scores[0].table: missing (a lookup needs its table)"),
    (lambda d: d["scores"][0].update(method="answered_count"),
     "scores[0].from: missing (answered_count counts the answered items of the score it names)"),
    (lambda d: d["scores"][0].update(loinc_display="PHQ-9 total score"),
     "scores[0].loinc_display: a LOINC name without a 'loinc' code"),
    (lambda d: d["scores"][0].update(loinc="44261-6", loinc_display=""),
     "scores[0].loinc_display: must not be empty"),
    (lambda d: d["scores"][0].update(method="registered", function="nobody"),
     'scores[0].function: no registered scoring function "nobody"; known: eq5d3l_index_uk, '
     "eq5d3l_index_us, eq5d3l_state"),
])
def test_each_kind_of_mistake_is_named_by_its_key(change, problem):
    data = phq9()
    change(data)
    assert problem in problems(data)


def test_a_lookup_table_must_cover_every_raw_sum_and_nothing_else():
    data = phq9()
    data["scores"][0].update(method="lookup", table={str(raw): raw for raw in range(2, 29)})
    del data["scores"][0]["bands"]
    data["scores"][0]["table"].pop("13")
    assert problems(data) == [
        "scores[0].table.28: not a possible raw score (0-27)",
    ]
    del data["scores"][0]["table"]["28"]
    assert problems(data) == [
        "scores[0].table: no row for raw 0-1, 13 (the raw score is 0-27)",
    ]


def test_a_lookup_or_registered_score_needs_every_item():
    data = phq9()
    data["scores"][0].update(method="lookup", max_missing=1,
                             table={str(raw): raw for raw in range(28)})
    assert "scores[0].max_missing: lookup needs every item; must be 0" in problems(data)


def test_a_recode_must_give_every_answer_a_new_value():
    data = phq9()
    data["scores"][0]["recode"] = {"phq1": {"0": 0, "1": 0, "2": 1}, "phq99": {}}
    assert problems(data) == [
        "scores[0].recode.phq1: no new value for 3",
        'scores[0].recode.phq99: "phq99" is not one of the score\'s items',
    ]


def test_a_score_computed_from_another_names_an_earlier_one():
    data = phq9()
    data["scores"].insert(0, {"key": "phq9_answered", "label": "answered",
                              "method": "answered_count", "from": "phq9_total",
                              "reported": False})
    assert problems(data) == ['scores[0].from: no earlier score "phq9_total"']


def test_scores_are_still_checked_when_an_item_is_broken():
    data = phq9()
    data["items"][0]["text"] = ""
    data["scores"][0]["direction"] = "down"
    # phq1's own problem, the score's own problem; no echo "no item 'phq1'".
    assert problems(data) == [
        "items[0].text: must not be empty",
        "scores[0].direction: must be 'lower_is_better' or 'higher_is_better', got \"down\"",
    ]


def test_not_an_object_is_one_problem():
    assert problems([1, 2]) == ["expected a JSON object, got [1, 2]"]


def test_numbers_are_exact_decimals_whether_floats_or_decimals():
    data = phq9()
    data["scores"][0]["bands"][0]["upto"] = 4.5
    assert parse_definition(data).scores[0].bands[0][0] == Fraction("4.5")
    data["scores"][0]["bands"][0]["upto"] = Decimal("4.5")
    assert parse_definition(data).scores[0].bands[0][0] == Fraction(9, 2)


def test_an_anchor_names_which_values_count_as_improved_and_round_trips():
    data = phq9()
    data["scores"][0]["anchor"] = {"improved_upto": 4, "label": "minimal or none"}
    definition = parse_definition(data)
    anchor = definition.scores[0].anchor
    assert (anchor.upto, anchor.from_, anchor.label) == (4, None, "minimal or none")
    assert (anchor.improved(4), anchor.improved(5)) == (True, False)
    assert definition_to_dict(definition)["scores"][0]["anchor"] == {
        "improved_upto": 4, "label": "minimal or none"}
    assert parse_definition(definition_to_dict(definition)) == definition
    # A higher-is-better anchor counts the values from its cut-off.
    data["scores"][0].update(direction="higher_is_better",
                             anchor={"improved_from": 20, "label": "much better"})
    anchor = parse_definition(data).scores[0].anchor
    assert (anchor.upto, anchor.from_) == (None, 20)
    assert (anchor.improved(19), anchor.improved(20)) == (False, True)
    assert parse_definition(definition_to_dict(parse_definition(data))) == parse_definition(data)


@pytest.mark.parametrize(("anchor", "problem"), [
    ({"improved_from": 4, "label": "better"},
     "scores[0].anchor.improved_from: the score is lower-is-better, so its lower values "
     "are the improved ones: use improved_upto"),
    ({"improved_upto": 27, "label": "better"},
     "scores[0].anchor.improved_upto: must leave values on both sides within the score's "
     "range 0-27, got 27"),
    ({"improved_upto": "2", "label": "better"},
     'scores[0].anchor.improved_upto: expected a number, got "2"'),
    ({"improved_upto": 2}, "scores[0].anchor.label: missing"),
    ({"label": "better"},
     "scores[0].anchor: missing improved_upto (the values that count as improved)"),
    ({"improved_upto": 2, "improved_from": 3, "label": "better"},
     "scores[0].anchor: give improved_upto or improved_from, not both"),
    ({"improved_uptoo": 2, "label": "better"},
     "scores[0].anchor.improved_uptoo: unknown key (did you mean 'improved_upto'?)"),
    ("much improved", 'scores[0].anchor: expected an object, got "much improved"'),
])
def test_each_mistake_in_an_anchor_is_named_by_its_key(anchor, problem):
    data = phq9()
    data["scores"][0]["anchor"] = anchor
    assert problem in problems(data)


@pytest.mark.parametrize("path", library_files(), ids=lambda p: p.name)
def test_every_library_file_round_trips(path, tmp_path):
    definition = load_definition_file(path)
    assert parse_definition(definition_to_dict(definition)) == definition
    copy_path = tmp_path / path.name
    copy_path.write_text(dump_definition(definition), encoding="utf-8")
    assert load_definition_file(copy_path) == definition
    assert json.loads(copy_path.read_text()) == definition_to_dict(definition)
    assert INSTRUMENTS[definition.code] == definition


def test_a_malformed_file_names_the_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"code": "x",\n  "version": }', encoding="utf-8")
    with pytest.raises(DefinitionError) as error:
        load_definition_file(path)
    assert error.value.problems == ["bad.json: not JSON: Expecting value at line 2, column 14"]


def scale_of(low: int, high: int) -> dict:
    """phq9() with its first item a scale ``low``-``high``."""
    data = phq9()
    data["items"][0] = {"code": "phq1", "text": "Item 1", "kind": "scale", "min": low,
                        "max": high}
    del data["scores"][0]["bands"]
    return data


def test_an_items_values_are_bounded_so_scoring_never_builds_a_huge_range():
    # Review #4: a scale 0-10^12 was accepted and `score` then ran out of memory.
    assert problems(scale_of(0, 1_000_000_000_000)) == [
        "items[0].max: an item's values are -1000 to 1000, got 1000000000000"]
    assert problems(scale_of(-600, 600)) == [
        "items[0].max: a scale spans at most 1000 (min to max), got -600-600"]
    data = phq9()
    data["items"][1]["options"][3]["value"] = 10**6
    assert problems(data) == [
        "items[1].options[3].value: an item's values are -1000 to 1000, got 1000000"]
    data = phq9()
    data["scores"][0]["recode"] = {"phq3": {"0": 0, "1": 1, "2": 2, "3": -5000}}
    assert problems(data) == [
        "scores[0].recode.phq3.3: an item's values are -1000 to 1000, got -5000"]


def test_a_scale_of_the_widest_span_scores_at_both_ends():
    from outcomes.instruments.scoring.engine import score_definition

    definition = parse_definition(scale_of(-1000, 0))
    assert isinstance(definition.item("phq1").values, range)  # nothing built per answer
    others = {f"phq{n}": 3 for n in range(2, 10)}
    assert score_definition(definition, {"phq1": -1000, **others})["phq9_total"] == -976
    assert score_definition(definition, {"phq1": 0, **others})["phq9_total"] == 24
    assert definition.scores[0].low == -1000 and definition.scores[0].high == 24


def test_a_value_set_of_too_many_profiles_is_refused_before_any_is_built():
    data = phq9()
    for item in data["items"]:
        item["options"] = [{"value": v, "label": f"level {v}"} for v in range(10)]
    score = data["scores"][0]
    score.update(method="value_set", table={"000000000": 1})
    del score["bands"]
    assert problems(data) == ["scores[0].items: a value_set has at most 100,000 profiles; "
                              "these items make 1,000,000,000"]


def lookup_of(table_value) -> dict:
    """phq9() with its total a lookup, raw 0 giving ``table_value`` and raw n giving n."""
    data = phq9()
    score = data["scores"][0]
    score.update(method="lookup", table={str(raw): raw for raw in range(28)})
    score["table"]["0"] = table_value
    del score["bands"]
    return data


@pytest.mark.parametrize(("value", "problem"), [
    # Review #5: 12345678901 overflowed Score.value (numeric(20, 10)) on PostgreSQL, and
    # 1e300 raised decimal.InvalidOperation on SQLite, at every submission.
    (12345678901, "at most 1,000,000,000 either side of 0 (what a stored score holds), "
                  "got 12345678901"),
    (Decimal("1e300"), "at most 1,000,000,000 either side of 0 (what a stored score holds), "
                       "got 1E+300"),
    (Decimal("0.12345678901"), "at most 10 decimal places (what a stored score keeps), got "
                               "0.12345678901"),
    # Review #6: 17 significant digits passed, then the writer refused to write it out.
    (Decimal("1234567.1234567891"), "at most 15 significant digits (what the file keeps "
                                    "when written), got 1234567.1234567891"),
    (Decimal("123456789.123456789"), "at most 15 significant digits (what the file keeps "
                                     "when written), got 123456789.123456789"),
])
def test_a_table_value_a_stored_score_cannot_hold_is_refused_by_its_row(value, problem):
    assert problems(lookup_of(value)) == [f"scores[0].table.0: {problem}"]


def test_the_largest_numbers_a_stored_score_holds_are_taken_and_written_back():
    data = lookup_of(Decimal("-999999999.123456"))
    data["scores"][0]["table"]["27"] = 10**9
    definition = parse_definition(data)
    assert dict(definition.scores[0].table)[0] == Fraction("-999999999.123456")
    assert parse_definition(json.loads(dump_definition(definition),
                                       parse_float=Decimal)) == definition


def test_bands_and_a_given_range_are_bounded_as_table_values_are():
    data = phq9()
    data["scores"][0]["bands"][-1]["upto"] = Decimal("1e300")
    data["scores"][0]["high"] = Decimal("27.00000000001")
    assert problems(data) == [
        "scores[0].high: at most 10 decimal places (what a stored score keeps), got "
        "27.00000000001",
        "scores[0].bands[4].upto: at most 1,000,000,000 either side of 0 (what a stored score "
        "holds), got 1E+300",
    ]


def test_a_range_the_items_imply_beyond_a_stored_score_is_refused(monkeypatch):
    # Items are bounded (-1000..1000), so only a million of them could reach 10^9: with
    # the item bound lifted, two items do.
    from outcomes.instruments.definitions import files

    monkeypatch.setattr(files, "ITEM_VALUES", 10**10)
    data = phq9()
    data["items"][0]["options"][3]["value"] = 6 * 10**8
    data["items"][1]["options"][3]["value"] = 6 * 10**8
    del data["scores"][0]["bands"]
    assert problems(data) == [
        "scores[0].items: the score reaches 1200000021: at most 1,000,000,000 either side "
        "of 0 (what a stored score holds)"]


def test_a_given_range_must_contain_what_the_method_gives():
    # Review #1: "high": 2 on a sum of two 0-2 items, bands to 2, was accepted; answers
    # 2 and 2 then crashed the patient's submit ("above its last band").
    data = phq9()
    data["scores"][0]["high"] = 20
    data["scores"][0]["bands"] = data["scores"][0]["bands"][:4]
    assert problems(data) == ["scores[0].high: the score's range must contain what sum gives "
                              "(0-27), got 20"]
    data = phq9()
    data["scores"][0]["low"] = 1
    assert problems(data) == ["scores[0].low: the score's range must contain what sum gives "
                              "(0-27), got 1"]
    # Wider than the method's is a range people read (a scale's published ends): taken.
    data = phq9()
    data["scores"][0].update(low=-3, high=27)
    assert (parse_definition(data).scores[0].low, parse_definition(data).scores[0].high) == (
        -3, 27)


def test_a_lookup_from_a_sum_given_too_narrow_a_range_is_refused_at_the_sum():
    # Review #1, /tmp/rv/narrowlookup.json: a lookup from a sum with "high": 2 over 0-4,
    # its table 0-2: `score` crashed with KeyError 4.
    data = phq9()
    data["scores"][0].update(high=2)
    del data["scores"][0]["bands"]
    data["scores"].append({"key": "phq9_t", "label": "T", "method": "lookup",
                           "from": "phq9_total", "direction": "lower_is_better",
                           "table": {"0": 1, "1": 2, "2": 3}})
    assert problems(data) == ["scores[0].high: the score's range must contain what sum gives "
                              "(0-27), got 2"]


def gapped_lookup(table: dict, **source) -> dict:
    """Two items valued 0, 2, 4 (a raw sum of 0-8, even only), a sum and a lookup of it."""
    data = phq9()
    for item in data["items"][:2]:
        item["options"] = [{"value": v, "label": f"{v} points"} for v in (0, 2, 4)]
    data["items"] = data["items"][:2]
    data["scores"] = [
        {"key": "g_raw", "label": "Raw", "method": "sum", "items": ["phq1", "phq2"],
         "reported": False, **source},
        {"key": "g_t", "label": "T", "method": "lookup", "from": "g_raw",
         "direction": "lower_is_better", "table": table}]
    return data


def test_a_lookup_table_has_rows_for_the_raw_sums_the_answers_can_make_only():
    # Review #11b: values 0/2/4 made the parser demand rows for the odd sums 1, 3, 5, 7,
    # which no answers give.
    evens = {str(raw): 40 + raw for raw in (0, 2, 4, 6, 8)}
    definition = parse_definition(gapped_lookup(evens))
    assert [raw for raw, _ in definition.score("g_t").table] == [0, 2, 4, 6, 8]
    assert problems(gapped_lookup({**evens, "3": 43})) == [
        "scores[1].table.3: not a possible raw score (0, 2, 4, 6, 8)"]
    del evens["6"]
    assert problems(gapped_lookup(evens)) == [
        "scores[1].table: no row for raw 6 (the raw score is 0, 2, 4, 6, 8)"]
    # A wider range given on the sum (read by people) does not ask rows no answers give.
    evens["6"] = 46
    assert parse_definition(gapped_lookup(evens, low=-10, high=10)).score("g_t").table == (
        definition.score("g_t").table)


def test_a_lookup_over_a_recoded_or_reversed_item_takes_its_new_values():
    data = gapped_lookup({str(raw): raw for raw in (1, 3, 5, 7, 9)})
    data["scores"][0]["recode"] = {"phq1": {"0": 1, "2": 3, "4": 5}}
    assert [raw for raw, _ in parse_definition(data).score("g_t").table] == [1, 3, 5, 7, 9]
    data = gapped_lookup({str(raw): raw for raw in (0, 2, 4, 6, 8)})
    data["scores"][0]["reverse_items"] = ["phq1"]
    assert [raw for raw, _ in parse_definition(data).score("g_t").table] == [0, 2, 4, 6, 8]


def test_a_lookup_over_too_wide_a_raw_sum_is_refused_before_its_sums_are_worked_out():
    data = scale_of(0, 1000)
    for item in data["items"][1:]:
        item.update(kind="scale", min=0, max=1000)
        del item["options"]
    data["scores"][0].update(method="lookup", table={"0": 0})
    assert problems(data) == ["scores[0].table: a lookup has at most 1,000 rows; its raw "
                              "score spans 9,001"]


def test_text_no_database_holds_is_refused_at_its_key():
    # JSON may spell NUL and lone surrogates (\u0000, \ud800); PostgreSQL holds neither,
    # so the import failed saving ("A string literal cannot contain NUL") after parsing.
    data = json.loads('{"t": "PHQ\\u0000 nine", "l": "x\\ud800"}')
    base = phq9()
    base["title"] = data["t"]
    base["items"][0]["options"][0]["label"] = data["l"]
    assert problems(base) == [
        "title: contains U+0000, a character text cannot hold",
        "items[0].options[0].label: contains U+D800, a character text cannot hold"]
