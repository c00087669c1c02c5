"""What the catalogue's two six-item PROMIS short forms share, checked for each: Pain
Interference 6a v1.0 and Physical Function 6b v1.2. Each table (raw 6-30, T and SE) is the
EAP recomputation from the items' calibrations written out in the form's own module
(``test_promis_pi6a.py``, ``test_promis_pf6b.py``, which also hold its published cells),
a 0.1 change to any cell is caught, answers are summed and looked up, and no answer may be
blank."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pytest

from outcomes.instruments.scoring import NotScorable

from . import test_promis_pf6b as pf6b
from . import test_promis_pi6a as pi6a
from .library import raw, score, table_of
from .promis_eap import cells_differing

RAW = range(6, 31)


@dataclass(frozen=True)
class Form:
    module: object
    prefix: str  # score keys: <prefix>_raw, _t, _se
    direction: str
    ends: tuple[str, str]  # T at raw 6 and 30, as recomputed
    answered: tuple[int, ...]  # a complete set of answers, blanked one item at a time
    full: int  # the answer that a study may not leave blank beside
    sums: tuple[tuple[tuple[int, ...], int], ...]  # answers and their raw sum

    @property
    def file(self) -> str:
        return self.module.FILE

    @property
    def items(self) -> list[str]:
        return self.module.ITEMS

    def tables(self):
        return table_of(self.file, f"{self.prefix}_t"), table_of(self.file, f"{self.prefix}_se")

    def differing(self, t_table, se_table):
        return cells_differing(t_table, se_table, self.module.recomputed())


SUMS = ((1, 1, 1, 1, 1, 1), 6), ((5, 5, 5, 5, 5, 5), 30), ((1, 2, 3, 4, 5, 1), 16), \
    ((3, 3, 3, 3, 3, 3), 18), ((5, 4, 4, 5, 3, 4), 25)
FORMS = [
    # 1 is no interference (the floor), 5 "Very much" throughout (the ceiling).
    Form(pi6a, "pi6a", "lower_is_better", ("41.1", "76.3"), (2, 2, 3, 2, 3, 3), 1,
         (*SUMS, ((2, 1, 1, 1, 1, 1), 7))),
    # 1 is unable to do / cannot do throughout (the floor), 5 no difficulty (the ceiling).
    Form(pf6b, "pf6b", "higher_is_better", ("21.5", "58.7"), (4, 3, 3, 4, 1, 2), 5,
         (*SUMS, ((5, 5, 5, 5, 5, 4), 29))),
]
IDS = [form.prefix for form in FORMS]


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_the_tables_cover_raw_6_to_30_and_every_cell_is_the_recomputation(form):
    t_table, se_table = form.tables()
    assert sorted(t_table) == sorted(se_table) == list(RAW)
    assert form.differing(t_table, se_table) == set()


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_a_one_cell_change_to_the_table_is_caught(form):
    t_table, se_table = form.tables()
    tenth = Fraction(1, 10)
    for raw_score in RAW:
        for step in (tenth, -tenth):
            bumped = t_table | {raw_score: t_table[raw_score] + step}
            assert form.differing(bumped, se_table) == {("T", raw_score)}
            bumped = se_table | {raw_score: se_table[raw_score] + step}
            assert form.differing(t_table, bumped) == {("SE", raw_score)}
    assert form.differing(t_table | {31: Fraction(60)}, se_table) == {("T", 31)}
    assert form.differing({r: t for r, t in t_table.items() if r != 30}, se_table) == {
        ("T", 30)}


@pytest.mark.parametrize(("form", "values", "raw_score"),
                         [(form, values, total) for form in FORMS for values, total in form.sums],
                         ids=[f"{form.prefix}-{total}" for form in FORMS for _, total in form.sums])
def test_answers_are_summed_and_the_sum_looked_up_with_its_se(form, values, raw_score):
    result = score(form.file, dict(zip(form.items, values, strict=True)))
    t, se = form.module.recomputed()[raw_score]
    assert (result[f"{form.prefix}_raw"], result[f"{form.prefix}_t"],
            result[f"{form.prefix}_se"]) == (raw_score, t, se)


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_the_endpoints_are_the_recomputations(form):
    t_table, _ = form.tables()
    assert (t_table[6], t_table[30]) == tuple(Fraction(end) for end in form.ends)


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_more_of_what_is_measured_is_a_higher_t_score_at_every_step(form):
    # More interference (worse) or more function (better): the file's direction says which.
    t_table, _ = form.tables()
    assert all(t_table[r] < t_table[r + 1] for r in range(6, 30))
    directions = {s["key"]: s.get("direction") for s in raw(form.file)["scores"]}
    assert directions[f"{form.prefix}_t"] == form.direction


@pytest.mark.parametrize(("form", "blank"),
                         [(form, item) for form in FORMS for item in form.items],
                         ids=[item for form in FORMS for item in form.items])
def test_a_blank_item_is_not_scorable_naming_it(form, blank):
    # The table converts the sum of all six answers (docs/instruments.md: a lookup needs
    # every item), as PROMIS-29's domains in this catalogue do: no proration.
    answers = dict(zip(form.items, form.answered, strict=True)) | {blank: None}
    with pytest.raises(NotScorable) as caught:
        score(form.file, answers)
    assert caught.value.item == blank
    assert caught.value.why == (f"{blank} unanswered; the table converts the sum of all 6 "
                                "answers, so none may be missing")


@pytest.mark.parametrize("form", FORMS, ids=IDS)
def test_a_study_cannot_allow_a_blank_item(form):
    with pytest.raises(ValueError, match=f"{form.prefix}_raw"):
        score(form.file, dict.fromkeys(form.items, form.full),
              max_missing={f"{form.prefix}_raw": 1})
