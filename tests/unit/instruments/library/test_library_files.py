"""Every library file parses, cites a source and states a licence, and the README lists it."""

from __future__ import annotations

import re

import pytest

from outcomes.instruments.definitions import INSTRUMENTS, library_files
from outcomes.instruments.definitions.files import definition_to_dict, parse_definition

from .library import LIBRARY, load, raw

FILES = sorted(p.name for p in LIBRARY.glob("*.json"))


def test_the_library_has_its_instruments():
    assert FILES == ["eq5d5l.json", "gad7.json", "hoos_jr.json", "koos_jr.json", "pgic.json",
                     "phq9.json", "promis29_v2_1.json", "promis_pf6b_v1_2.json",
                     "promis_pi6a_v1_0.json", "rmdq.json", "start_back.json"]


@pytest.mark.parametrize("name", FILES)
def test_the_file_parses_whole(name):
    defn = load(name)
    assert defn.code and defn.items and defn.scores


@pytest.mark.parametrize("name", FILES)
def test_the_file_cites_a_dated_source_and_states_a_licence(name):
    data = raw(name)
    assert re.search(r"\b(19|20)\d\d\b", data["source"]), "the source names its year"
    assert len(data["licence"]) > 20


@pytest.mark.parametrize("name", FILES)
def test_the_readme_lists_the_file_with_what_was_checked(name):
    readme = (LIBRARY / "README.md").read_text(encoding="utf-8")
    assert f"`{name}`" in readme


@pytest.mark.parametrize("name", FILES)
def test_the_file_writes_back_out_as_it_was_read(name):
    # export_instrument writes definition_to_dict; importing that again gives the same.
    defn = load(name)
    assert parse_definition(definition_to_dict(defn)) == defn


def test_the_catalogue_is_not_loaded_as_the_sites_instruments():
    # The built-ins are library/*.json; a catalogue file counts only once imported.
    assert sorted(p.name for p in library_files()) == [
        "eq5d3l.json", "nrs11.json", "odi.json", "promis_gh.json"]
    assert not {load(name).code for name in FILES} & set(INSTRUMENTS)


@pytest.mark.parametrize("name", FILES)
def test_no_score_key_clashes_with_a_built_in_instruments(name):
    built_in = {key for defn in INSTRUMENTS.values() for key in defn.output_keys}
    assert not set(load(name).output_keys) & built_in
