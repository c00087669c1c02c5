"""PROMIS-29 Profile v2.1: the seven 4-item domains' raw score -> T-score (SE) tables.

Three independent checks of every table cell shipped in ``promis29_v2_1.json``:

1. ``MANUAL``: the HealthMeasures scoring-manual tables as transcribed in a PROMIS-29+2 v2.1
   analysis (T and SE, raw 4-20), the file's source. Every cell of the file must equal it.
2. ``SECOND``: a second, separate transcription of the T-score tables (an R package's
   PROMIS-29 lookup data). It agrees with the first everywhere but Pain Interference raw 20
   (75.8 there, 75.6 here and in the calibration below); its Physical Function table is the
   retired v1.0 short form's, so it is not used for that domain.
3. ``CALIBRATION``: the item banks' graded-response calibrations (slope, four thresholds),
   from which the tables are derived: EAP summed-score scoring (Lord & Wingersky 1984) with
   a standard normal prior over theta -4.5 to 4.5 in steps of 0.1 (T 5 to 95). Recomputed
   so, every row of six domains, raw 4 to 20, T and SE, equals the manual's (102 T and 85
   SE cells). Integrating over a wider range (-6 to 6) moves the extreme rows by up to 0.3,
   which is how HealthMeasures' quadrature was told apart. Physical Function 4a v2.0's
   calibration was not available (the v1.0 calibration gives 22.9 at raw 4 where the v2.0
   table has 22.5), so that domain rests on check 1 and the manual's own spot values.

Left out: the Depression SE table (the one transcription's SE at raw 20 is 2.6; the
calibration gives 3.6 there, and 2.6 at raw 19; no second source).
"""

from __future__ import annotations

import copy
from fractions import Fraction

import pytest

from outcomes.instruments.scoring.engine import Unscored

from .library import exact, load, score, table_of
from .promis_eap import eap_summed_score_table

FILE = "promis29_v2_1.json"
RAW = range(4, 21)

MANUAL = {
    "pf": ("22.5 26.6 28.9 30.5 31.9 33.2 34.4 35.6 36.7 37.9 39.2 40.5 41.9 43.5 45.5 48.3 57.0",
           "4.0 2.8 2.5 2.4 2.3 2.3 2.3 2.3 2.3 2.3 2.4 2.4 2.5 2.6 2.8 3.3 6.6"),
    "anx": ("40.3 48.0 51.2 53.7 55.8 57.7 59.5 61.4 63.4 65.3 67.3 69.3 71.2 73.3 75.4 77.9 81.6",
            "6.1 3.6 3.1 2.8 2.7 2.6 2.6 2.6 2.6 2.7 2.7 2.7 2.7 2.7 2.7 2.9 3.7"),
    "dep": ("41.0 49.0 51.8 53.9 55.7 57.3 58.9 60.5 62.2 63.9 65.7 67.5 69.4 71.2 73.3 75.7 79.4",
            None),
    "fat": ("33.7 39.7 43.1 46.0 48.6 51.0 53.1 55.1 57.0 58.8 60.7 62.7 64.6 66.7 69.0 71.6 75.8",
            "4.9 3.1 2.7 2.6 2.5 2.5 2.4 2.4 2.3 2.3 2.3 2.4 2.4 2.4 2.5 2.7 3.9"),
    "slp": ("32.0 37.5 41.1 43.8 46.2 48.4 50.5 52.4 54.3 56.1 57.9 59.8 61.7 63.8 66.0 68.8 73.3",
            "5.2 4.0 3.7 3.5 3.5 3.4 3.4 3.4 3.4 3.4 3.3 3.3 3.3 3.4 3.4 3.7 4.6"),
    "sr": ("27.5 31.8 34.0 35.7 37.3 38.8 40.5 42.3 44.2 46.2 48.1 50.0 51.9 53.7 55.8 58.3 64.2",
           "4.1 2.5 2.3 2.2 2.1 2.2 2.3 2.3 2.3 2.3 2.2 2.2 2.2 2.3 2.3 2.7 5.1"),
    "pi": ("41.6 49.6 52.0 53.9 55.6 57.1 58.5 59.9 61.2 62.5 63.8 65.2 66.6 68.0 69.7 71.6 75.6",
           "6.1 2.5 2.0 1.9 1.9 1.9 1.8 1.8 1.8 1.8 1.8 1.8 1.8 1.8 1.9 2.1 3.7"),
}
"""Check 1: HealthMeasures PROMIS Adult Profile scoring manual, raw 4..20 (T, then SE)."""

SECOND = {
    "anx": "40.3 48.0 51.2 53.7 55.8 57.7 59.5 61.4 63.4 65.3 67.3 69.3 71.2 73.3 75.4 77.9 81.6",
    "dep": "41.0 49.0 51.8 53.9 55.7 57.3 58.9 60.5 62.2 63.9 65.7 67.5 69.4 71.2 73.3 75.7 79.4",
    "fat": "33.7 39.7 43.1 46.0 48.6 51.0 53.1 55.1 57.0 58.8 60.7 62.7 64.6 66.7 69.0 71.6 75.8",
    "slp": "32.0 37.5 41.1 43.8 46.2 48.4 50.5 52.4 54.3 56.1 57.9 59.8 61.7 63.8 66.0 68.8 73.3",
    "sr": "27.5 31.8 34.0 35.7 37.3 38.8 40.5 42.3 44.2 46.2 48.1 50.0 51.9 53.7 55.8 58.3 64.2",
    "pi": "41.6 49.6 52.0 53.9 55.6 57.1 58.5 59.9 61.2 62.5 63.8 65.2 66.6 68.0 69.7 71.6 75.8",
}
"""Check 2: a second transcription of the T-score tables (raw 4..20)."""
SECOND_DISAGREES = {("pi", 20)}
"""Where the second transcription differs: the calibration sides with the manual there."""

CALIBRATION = {
    "anx": [
        (3.60215, (0.3416, 1.0895, 1.9601, 2.6987)),
        (3.8832, (0.4859, 1.2632, 2.1111, 2.8985)),
        (3.65951, (0.3644, 1.0338, 1.7805, 2.6212)),
        (3.65611, (-0.2318, 0.5952, 1.5635, 2.4991)),
    ],
    "dep": [
        (4.26142, (0.4011, 0.9757, 1.6963, 2.4441)),
        (4.14476, (0.3501, 0.9153, 1.6782, 2.4705)),
        (4.34292, (-0.1173, 0.5977, 1.4282, 2.2725)),
        (4.45416, (0.5584, 1.0742, 1.7793, 2.5301)),
    ],
    "fat": [
        (4.34709, (-0.3111, 0.5041, 1.1796, 1.9585)),
        (4.17556, (-0.8828, 0.3275, 1.2048, 2.1884)),
        (4.32191, (-0.5302, 0.4511, 1.1503, 2.0368)),
        (4.32034, (-1.1444, 0.0806, 0.9561, 1.772)),
    ],
    "slp": [
        (2.5768, (-1.3528, -0.34, 0.4935, 1.2847)),
        (2.7964, (-0.5612, 0.3267, 0.9827, 1.7406)),
        (2.5097, (-0.4634, 0.3113, 0.978, 1.7204)),
        (3.385, (-1.2193, -0.0027, 1.0761, 1.902)),
    ],
    "sr": [
        (4.87596, (-1.6803, -1.052, -0.2255, 0.5466)),
        (4.53432, (-1.6376, -1.0479, -0.183, 0.5453)),
        (4.28248, (-1.5796, -1.0344, -0.1992, 0.5778)),
        (4.53179, (-1.6084, -1.0076, -0.1464, 0.6376)),
    ],
    "pi": [
        (5.3971, (0.1709, 0.8366, 1.3266, 1.9589)),
        (5.90514, (0.473, 1.0094, 1.5063, 2.077)),
        (4.92619, (0.1771, 0.8447, 1.363, 1.9795)),
        (6.53406, (0.1579, 0.8959, 1.4377, 2.0103)),
    ],
}
"""Check 3: (slope, thresholds) of each domain's four items, logistic metric, as the PROMIS
item banks distribute them (Anxiety, Depression, Fatigue, Sleep Disturbance and Pain
Interference v1.0; Ability to Participate in Social Roles and Activities v2.0)."""


def by_raw(cells: str) -> dict[int, Fraction]:
    """Return a table given as its 17 cells, raw 4 to 20, keyed by raw score."""
    return dict(zip(RAW, exact(cells.split()), strict=True))


def test_the_file_parses_with_29_items_in_form_order():
    defn = load(FILE)
    assert len(defn.items) == 29
    assert [i.code for i in defn.items][::4] == ["pfa11", "edanx01", "eddep04", "hi7",
                                                  "sleep109", "srpper11_caps", "painin9",
                                                  "global07"]


@pytest.mark.parametrize("domain", sorted(MANUAL))
def test_every_t_score_cell_is_the_manuals(domain):
    assert table_of(FILE, f"p29_{domain}_t") == by_raw(MANUAL[domain][0])


@pytest.mark.parametrize("domain", sorted(d for d in MANUAL if MANUAL[d][1]))
def test_every_se_cell_is_the_manuals(domain):
    assert table_of(FILE, f"p29_{domain}_se") == by_raw(MANUAL[domain][1])


def test_the_depression_se_table_is_left_out():
    assert "p29_dep_se" not in {s.key for s in load(FILE).scores}


@pytest.mark.parametrize("domain", sorted(SECOND))
def test_the_second_transcription_agrees_cell_by_cell(domain):
    shipped = table_of(FILE, f"p29_{domain}_t")
    second = by_raw(SECOND[domain])
    differing = {(domain, raw) for raw in RAW if shipped[raw] != second[raw]}
    assert differing == SECOND_DISAGREES & {(domain, raw) for raw in RAW}


@pytest.mark.parametrize("domain", sorted(CALIBRATION))
def test_the_calibration_reproduces_every_row_exactly(domain):
    computed = dict(zip(RAW, eap_summed_score_table(CALIBRATION[domain]), strict=True))
    t_table = table_of(FILE, f"p29_{domain}_t")
    se_table = table_of(FILE, f"p29_{domain}_se") if MANUAL[domain][1] else None
    for raw in RAW:
        t, se = computed[raw]
        assert t_table[raw] == Fraction(f"{t:.1f}"), (domain, raw)
        if se_table is not None:
            assert se_table[raw] == Fraction(f"{se:.1f}"), (domain, raw)


def test_the_check_tells_quadratures_apart():
    # Integrated over theta -6 to 6 the anxiety and depression extremes move off the
    # manual's (81.7 for 81.6, 79.5 for 79.4): the exact check would catch that method.
    wide = [Fraction(n, 100) for n in range(-600, 601)]
    for domain, raw, manual in (("anx", 20, "81.6"), ("dep", 20, "79.4")):
        t = eap_summed_score_table(CALIBRATION[domain], wide)[raw - 4][0]
        assert f"{t:.1f}" != manual
        assert f"{eap_summed_score_table(CALIBRATION[domain])[raw - 4][0]:.1f}" == manual


def test_the_depression_se_the_file_leaves_out_is_the_calibrations_3_6_at_raw_20():
    computed = dict(zip(RAW, eap_summed_score_table(CALIBRATION["dep"]), strict=True))
    assert (f"{computed[19][1]:.1f}", f"{computed[20][1]:.1f}") == ("2.6", "3.6")


def test_a_domain_is_scored_from_its_raw_sum_with_t_and_se():
    answers = {code: 3 for code in ("painin9", "painin22", "painin31", "painin34")}
    result = score(FILE, answers)
    # Raw 12 -> T 61.2, SE 1.8 (Pain Interference 4a v1.0 table).
    assert (result["p29_pi_raw"], result["p29_pi_t"], result["p29_pi_se"]) == (
        12, Fraction("61.2"), Fraction("1.8"))


def test_sleep_items_are_scored_as_printed_so_better_sleep_is_a_lower_raw_score():
    options = {i.code: [(o.label, o.value) for o in i.options] for i in load(FILE).items}
    assert options["sleep109"][0] == ("Very poor", 5)
    assert options["sleep116"][0] == ("Not at all", 5)
    assert options["sleep20"][0] == ("Not at all", 1)
    best = {"sleep109": 1, "sleep116": 1, "sleep20": 1, "sleep44": 1}
    assert score(FILE, best)["p29_slp_t"] == Fraction("32.0")


def test_a_domain_with_a_blank_item_has_no_t_score_and_the_others_are_unaffected():
    answers = {"painin9": 2, "painin22": 2, "painin31": None, "painin34": 2,
               "global07": 4}
    result = score(FILE, answers)
    assert isinstance(result["p29_pi_t"], Unscored)
    assert result["p29_pain_intensity"] == 4


# -- the physical and mental health summary scores ------------------------------------------
#
# Hays RD, Spritzer KL, Schalet BD, Cella D. PROMIS-29 v2.0 profile physical and mental
# health summary scores. Qual Life Res 2018;27(7):1885-1891 (PMC5999556); the HealthMeasures
# PROMIS Adult Profile scoring manual (2024, p. 6). Written out again here from where they
# were read (the catalogue README says where), not from the file. No published worked
# example (a person's domain T-scores with their summary scores) was found, so the file is
# checked against this independent computation, the reference-mean invariant and the
# published constants, and every coefficient is shown to matter.

DOMAIN_ITEMS = {
    "pf": ("pfa11", "pfa21", "pfa23", "pfa53"),
    "anx": ("edanx01", "edanx40", "edanx41", "edanx53"),
    "dep": ("eddep04", "eddep06", "eddep29", "eddep41"),
    "fat": ("hi7", "an3", "fatexp41", "fatexp40"),
    "slp": ("sleep109", "sleep116", "sleep20", "sleep44"),
    "sr": ("srpper11_caps", "srpper18_caps", "srpper23_caps", "srpper46_caps"),
    "pi": ("painin9", "painin22", "painin31", "painin34"),
}
TERMS = ("pf", "pain", "sr", "fat", "distress", "slp")
"""The published order: physical function, the pain composite (pain interference and
pain intensity), social roles, fatigue, the emotional distress composite (anxiety and
depression), sleep disturbance."""
WEIGHTS = {
    "p29_phs_t": dict(zip(TERMS, exact(["0.872", "-0.094", "0.113", "-0.009", "0.003",
                                        "0.002"]), strict=True)),
    "p29_mhs_t": dict(zip(TERMS, exact(["-0.015", "-0.154", "0.252", "-0.351", "-0.257",
                                        "-0.139"]), strict=True)),
}
PAIN_MEAN, PAIN_SD = Fraction("2.31"), Fraction("2.34")


def published(t: dict[str, Fraction], pain: int) -> dict[str, Fraction]:
    """Both summary scores by the published formula, from the domain T-scores and the 0-10
    pain rating: z = (T - 50) / 10, the pain item's z = (x - 2.31) / 2.34, each composite
    the mean of its two z, T = 50 + 10 x the weighted sum."""
    z = {domain: (value - 50) / 10 for domain, value in t.items()}
    term = {"pf": z["pf"], "pain": (z["pi"] + (pain - PAIN_MEAN) / PAIN_SD) / 2,
            "sr": z["sr"], "fat": z["fat"], "distress": (z["anx"] + z["dep"]) / 2,
            "slp": z["slp"]}
    return {key: 50 + 10 * sum(w[name] * term[name] for name in TERMS)
            for key, w in WEIGHTS.items()}


def answers_for(raws: dict[str, int], pain: int) -> dict[str, int]:
    """Answers (1-5 each) whose domain raw sums are ``raws``, and the pain rating."""
    answers: dict[str, int] = {"global07": pain}
    for domain, total in raws.items():
        base, extra = divmod(total, 4)
        for n, code in enumerate(DOMAIN_ITEMS[domain]):
            answers[code] = base + (n < extra)
    return answers


def expected(raws: dict[str, int], pain: int) -> dict[str, Fraction]:
    """The summaries for those raw sums, the T-scores read from the manual's tables above."""
    return published({d: by_raw(MANUAL[d][0])[raw] for d, raw in raws.items()}, pain)


#: A profile with no domain at T 50 and no composite's two z cancelling, so every
#: coefficient moves both summaries (checked in ``test_the_profile_used_is_sensitive...``).
PROFILE = ({"pf": 13, "anx": 9, "dep": 6, "fat": 11, "slp": 14, "sr": 10, "pi": 12}, 6)


def test_the_summaries_are_the_published_weights_composites_and_constants():
    defn = load(FILE)
    for key, weights in WEIGHTS.items():
        spec = defn.score(key)
        assert spec.metric == (50, 10)
        given = [(Fraction(term.weight), tuple((s.score, Fraction(s.mean), Fraction(s.sd))
                                              for s in term.scores)) for term in spec.terms]
        t = lambda d: (f"p29_{d}_t", 50, 10)  # noqa: E731
        assert given == [
            (weights["pf"], (t("pf"),)),
            (weights["pain"], (t("pi"), ("p29_pain_intensity", PAIN_MEAN, PAIN_SD))),
            (weights["sr"], (t("sr"),)),
            (weights["fat"], (t("fat"),)),
            (weights["distress"], (t("anx"), t("dep"))),
            (weights["slp"], (t("slp"),)),
        ]
        assert (spec.direction, spec.unit, spec.reported) == (
            "higher_is_better", "{T-score}", True)


def test_both_summaries_equal_the_published_formula_for_a_profile():
    raws, pain = PROFILE
    result = score(FILE, answers_for(raws, pain))
    want = expected(raws, pain)
    assert (result["p29_phs_t"], result["p29_mhs_t"]) == (want["p29_phs_t"],
                                                          want["p29_mhs_t"])
    # By hand. The profile's T-scores (manual): PF 37.9, anxiety 57.7, depression 51.8,
    # fatigue 55.1, sleep 57.9, social roles 40.5, pain interference 61.2; pain 6.
    # z: PF -1.21, SR -0.95, fatigue 0.51, sleep 0.79; pain composite (1.12 + 3.69/2.34)
    # / 2 = 1.3484615; distress (0.77 + 0.18) / 2 = 0.475.
    # Physical: -1.05512 - 0.1267554 - 0.10735 - 0.00459 + 0.001425 + 0.00158
    #   = -1.2908104 -> 50 - 12.908104 = 37.0919.
    # Mental: 0.01815 - 0.2076631 - 0.2394 - 0.17901 - 0.122075 - 0.10981
    #   = -0.8398081 -> 50 - 8.398081 = 41.6019.
    assert f"{float(result['p29_phs_t']):.4f}" == "37.0919"
    assert f"{float(result['p29_mhs_t']):.4f}" == "41.6019"


@pytest.mark.parametrize("seed", range(4))
def test_the_summaries_equal_the_published_formula_for_many_answer_sets(seed):
    import random

    rng = random.Random(seed)
    defn = load(FILE)
    for _ in range(100):
        raws = {domain: rng.randint(4, 20) for domain in DOMAIN_ITEMS}
        pain = rng.randint(0, 10)
        result = score(FILE, answers_for(raws, pain))
        want = expected(raws, pain)
        assert result["p29_phs_t"] == want["p29_phs_t"], (raws, pain)
        assert result["p29_mhs_t"] == want["p29_mhs_t"], (raws, pain)
        for key in WEIGHTS:
            spec = defn.score(key)
            assert spec.low <= float(result[key]) <= spec.high


def test_every_domain_at_its_reference_mean_gives_exactly_50():
    # T 50 in every domain and a pain rating of 2.31 (the item's mean): every z is 0.
    defn = load(FILE)
    values = {f"p29_{d}_t": Fraction(50) for d in DOMAIN_ITEMS} | {
        "p29_pain_intensity": PAIN_MEAN}
    for key in WEIGHTS:
        assert defn.score(key).combined(values) == 50


def test_the_range_is_what_the_answers_can_reach():
    # Each domain is answered apart, so any mix of its ends can occur: the highest and
    # lowest summary are at some mix of the tables' ends (the tables rise with the raw).
    import itertools

    defn = load(FILE)
    ends = {d: (4, 20) for d in DOMAIN_ITEMS}
    reached = {key: [] for key in WEIGHTS}
    for mix in itertools.product(*ends.values(), (0, 10)):
        *raws, pain = mix
        for key, value in expected(dict(zip(ends, raws, strict=True)), pain).items():
            reached[key].append(value)
    for key, values in reached.items():
        assert (defn.score(key).low, defn.score(key).high) == (float(min(values)),
                                                               float(max(values)))


def test_the_profile_used_is_sensitive_to_every_coefficient():
    # A sign or weight mutation, a wrong constant or a domain in the wrong composite
    # gives other summaries for PROFILE, so the checks above would fail on it.
    from outcomes.instruments.definitions.files import parse_definition
    from outcomes.instruments.scoring.engine import score_definition

    from .library import raw

    raws, pain = PROFILE
    answers = answers_for(raws, pain)
    want = expected(raws, pain)
    base = raw(FILE)
    summaries = [n for n, s in enumerate(base["scores"]) if s["key"] in WEIGHTS]
    mutations = []
    for n in summaries:
        for t in range(6):
            mutations.append((n, lambda s, t=t: s["terms"][t].update(
                weight=-s["terms"][t]["weight"])))
            mutations.append((n, lambda s, t=t: s["terms"][t].update(
                weight=round(s["terms"][t]["weight"] + 0.001, 3))))
        mutations.append((n, lambda s: s["terms"][1]["scores"][1].update(mean=2.32)))
        mutations.append((n, lambda s: s["terms"][1]["scores"][1].update(sd=2.35)))
        mutations.append((n, lambda s: s["terms"][0]["scores"][0].update(mean=50.1)))
        mutations.append((n, lambda s: s["terms"][0]["scores"][0].update(sd=9.9)))
        mutations.append((n, lambda s: s["metric"].update(mean=50.1)))
        mutations.append((n, lambda s: s["metric"].update(sd=10.1)))
        # Depression read in the pain composite, interference in the distress one.
        mutations.append((n, lambda s: (s["terms"][1]["scores"][0].update(score="p29_dep_t"),
                                        s["terms"][4]["scores"][1].update(score="p29_pi_t"))))
    assert len(mutations) == 2 * 19
    for n, mutate in mutations:
        data = copy.deepcopy(base)
        mutate(data["scores"][n])
        key = data["scores"][n]["key"]
        assert score_definition(parse_definition(data), answers)[key] != want[key]


def test_a_domain_not_scorable_leaves_both_summaries_not_scorable_naming_it():
    raws, pain = PROFILE
    answers = answers_for(raws, pain) | {"painin31": None}
    result = score(FILE, answers)
    reason = "p29_pi_t not scorable (painin31 unanswered; none may be missing)"
    assert result["p29_phs_t"] == Unscored(reason)
    assert result["p29_mhs_t"] == Unscored(reason)
    assert result["p29_pf_t"] == by_raw(MANUAL["pf"][0])[13]  # the other domains stand
    result = score(FILE, answers_for(raws, pain) | {"global07": None, "pfa11": None})
    assert result["p29_phs_t"] == Unscored(
        "p29_pf_t, p29_pain_intensity not scorable (2 of the 8 scores it combines)")


def test_the_summaries_come_last_and_the_earlier_keys_are_as_before():
    keys = load(FILE).output_keys
    assert keys[-2:] == ("p29_phs_t", "p29_mhs_t")
    domains = [key for domain in ("pf", "anx", "dep", "fat", "slp", "sr", "pi")
               for key in (f"p29_{domain}_raw", f"p29_{domain}_t", f"p29_{domain}_se")
               if key != "p29_dep_se"]
    assert keys[:-2] == (*domains, "p29_pain_intensity")
