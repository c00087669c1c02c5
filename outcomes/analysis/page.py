"""The results page as a clinician reads a paper (pure: no Django).

From the results (``results.study_results``, the JSON of SPEC section 9) and the words
for their codes (``names``: time points, arms, rules, sexes, statuses), build what the
page shows, in a paper's order:

1. the summary: each primary comparison stated as an abstract states it, the headline
   change of the primary rules' scores, which arm is the reference and that every
   other p-value is unadjusted (exploratory);
2. the CONSORT flow diagram (an SVG, its numbers in a table beside it);
3. Table 1, the patients at baseline by arm;
4. Table 2, the outcomes by time point: responders under each rule and the scores,
   each arm's figures and the comparison with the reference arm, primary rows first;
5. the MCID estimated from the study's own data (anchor-based, half an SD, the SEM),
   beside the threshold the study's rules use;
6. the charts, each with its numbers in a table;
7. the long tables (every row of every table), collapsed on the page.

Every number is formatted by ``wording`` (SPEC 7); nothing is computed here that the
results do not hold, apart from a pooled baseline mean for a chart's MCID line.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import wording
from .charts import FlowArm, FlowStage, flow_diagram_svg, lines_chart_svg

interval = wording.interval


def _find(rows, **keys) -> dict | None:
    return next((r for r in rows if all(r.get(k) == v for k, v in keys.items())), None)


class Names:
    """The words for the results' codes, each code read as itself where none is given."""

    def __init__(self, names: Mapping):
        self.timepoints = names.get("timepoints", {})
        self.arms = names.get("arms", {})
        self.rules = names.get("rules", {})
        self.rule_defs = names.get("rule_defs", {})
        self.sexes = names.get("sexes", {})
        self.statuses = names.get("statuses", {})

    def tp(self, code: str) -> str:
        return self.timepoints.get(code, code)

    def arm(self, code: str | None) -> str:
        return self.arms.get(code, code or "")

    def rule(self, code: str) -> str:
        return self.rules.get(code, code)

    def measure(self, code: str) -> str:
        return self.rules.get(code) or wording.score_title(code)

    def rule_scores(self, code: str) -> list[str]:
        """The scores a rule reads: its own, or its parts' (a combination's)."""
        return rule_scores(self.rule_defs, code)


def rule_scores(rules: Mapping[str, Mapping], code: str,
                seen: frozenset = frozenset()) -> list[str]:
    """Return the scores rule ``code`` reads, in order, each once: its own, or its parts',
    all the way down (``rules`` by code as ``selectors.study_rules`` returns them)."""
    rule = rules.get(code)
    if rule is None or code in seen:
        return []
    if rule.get("score"):
        return [rule["score"]]
    found: list[str] = []
    for part in rule.get("parts", ()):
        for score in rule_scores(rules, part, seen | {code}):
            if score not in found:
                found.append(score)
    return found


def _pairs(results: Mapping) -> list[tuple[str, str]]:
    ref = results["reference_arm"]
    return [(arm, ref) for arm in results["arms"] if arm != ref] if ref else []


def _follow_ups(results: Mapping) -> list[str]:
    present = {r["timepoint"] for r in results["responders"]}
    return [tp for tp in results["timepoints"] if tp in present]


# --- 1. the summary -----------------------------------------------------------------------


def summary(results: Mapping, names: Names) -> dict:
    """The primary comparisons as sentences, the primary rules' scores' change, and the
    two notes every reader needs: the reference arm, and what is exploratory."""
    ref = results["reference_arm"]
    pairs = _pairs(results)
    primary = [(p["rule"], p["timepoint"]) for p in results["primary_comparisons"]]
    items = []
    for rule, tp in primary:
        for arm, _ in pairs:
            row = _find(results["comparisons"], kind="proportion", measure=rule,
                        timepoint=tp, arm=arm, reference_arm=ref)
            mine = _find(results["responders"], arm=arm, timepoint=tp, rule=rule)
            theirs = _find(results["responders"], arm=ref, timepoint=tp, rule=rule)
            if row is None or mine is None or theirs is None:
                continue
            itt = (f"Intention to treat (missing counted as non-response): "
                   f"{wording.proportion(mine['responders'], mine['itt_denominator'])} vs "
                   f"{wording.proportion(theirs['responders'], theirs['itt_denominator'])}.")
            pending = ""
            if mine["pending"] or theirs["pending"]:
                pending = (f"Not yet due at {names.tp(tp)}, so in neither count: "
                           f"{mine['pending']} of {mine['allocated']} with {names.arm(arm)}, "
                           f"{theirs['pending']} of {theirs['allocated']} with "
                           f"{names.arm(ref)}.")
            items.append({
                "rule": rule, "timepoint": tp, "arm": arm,
                "sentence": wording.proportion_sentence(
                    rule=names.rule(rule), timepoint=names.tp(tp), arm=names.arm(arm),
                    reference=names.arm(ref), row=row),
                "itt": itt, "pending": pending,
            })
    changes = []
    seen: list[tuple[str, str]] = []
    for rule, tp in primary:
        for score in names.rule_scores(rule):
            if (score, tp) not in seen:
                seen.append((score, tp))
    for score, tp in seen:
        for arm, _ in pairs:
            row = _find(results["comparisons"], kind="change", measure=score, timepoint=tp,
                        arm=arm, reference_arm=ref, test="welch_t")
            mine = _find(results["scores"], arm=arm, timepoint=tp, score=score)
            theirs = _find(results["scores"], arm=ref, timepoint=tp, score=score)
            if row is None or mine is None or theirs is None:
                continue
            changes.append({"score": score, "timepoint": tp, "arm": arm,
                            "sentence": wording.change_sentence(
                                score=score, timepoint=names.tp(tp), arm=names.arm(arm),
                                reference=names.arm(ref), row=row, arm_change=mine,
                                reference_change=theirs)})
    if primary:
        multiplicity = (
            f"The study named {len(primary)} primary "
            f"comparison{'' if len(primary) == 1 else 's'} before the analysis (above). No "
            "p-value on this page is adjusted for multiple comparisons: every other one, "
            "in the tables and charts below, is unadjusted and exploratory.")
    else:
        multiplicity = ("This study has named no primary comparison: every p-value on this "
                        "page is unadjusted for multiple comparisons, and exploratory.")
    reference = (f"Every arm is compared with the reference arm, {names.arm(ref)}: a "
                 f"difference is the other arm minus {names.arm(ref)}." if ref else
                 "This study has no arms to compare.")
    return {"items": items, "changes": changes, "multiplicity": multiplicity,
            "reference": reference, "has_primary": bool(primary)}


# --- 2. the flow diagram ------------------------------------------------------------------


def flow(results: Mapping, names: Names) -> dict:
    """The CONSORT-style flow as an SVG and as the rows of its table."""
    tps = results["timepoints"]
    primary = [(p["rule"], p["timepoint"]) for p in results["primary_comparisons"]]
    last = _follow_ups(results)[-1:] or tps[-1:]
    arms, rows = [], []
    for entry in results["flow"]:
        arm = entry["arm"]
        by_status: dict[str, list[tuple[str, int]]] = {}
        for left in entry["left"]:
            by_status.setdefault(left["status"], []).append((left["reason"], left["n"]))
        left_lines = []
        for status, reasons in by_status.items():
            words = "; ".join(f"{reason} ({n})" for reason, n in reasons)
            left_lines.append(f"{names.statuses.get(status, status)}: {words}")
        cells = {t["timepoint"]: t for t in entry["timepoints"]}
        analysed = ["Analysed"]
        for rule, tp in primary:
            row = _find(results["responders"], arm=arm, timepoint=tp, rule=rule)
            if row:
                analysed.append(f"{names.rule(rule)} at {names.tp(tp)}: {row['evaluable']} "
                                f"complete case, {row['itt_denominator']} intention to treat")
        if not primary:
            for tp in last:
                analysed.append(f"At {names.tp(tp)}: {cells.get(tp, {}).get('with_data', 0)} "
                                "with data")
        stages = [FlowStage(names.tp(tp), cells[tp]["with_data"], cells[tp]["missed"],
                            cells[tp]["not_applicable"], cells[tp]["pending"])
                  for tp in tps if tp in cells]
        arms.append(FlowArm(names.arm(arm), entry["allocated"], stages, left_lines,
                            sum(left["n"] for left in entry["left"]), analysed))
        rows.append({"arm": arm, "arm_label": names.arm(arm), "allocated": entry["allocated"],
                     "cells": [{**cells[tp], "timepoint_label": names.tp(tp)}
                               for tp in tps if tp in cells],
                     "left": left_lines})
    enrolled = sum(entry["allocated"] for entry in results["flow"])
    allocation = "; ".join(f"{a.allocated} allocated to {a.name}" for a in arms)
    at_last = "; ".join(
        f"{a.name}: {s.with_data} with data, {s.missed} missed, {s.pending} not yet due"
        for a in arms for s in a.stages[-1:])
    description = (f"{enrolled} patients enrolled; {allocation}. "
                   + (f"At {arms[0].stages[-1].label}: {at_last}. " if at_last else "")
                   + "Every time point's figures are in the table after the diagram.")
    title = "Flow of patients through the study"
    return {"svg": flow_diagram_svg(title, description, enrolled=enrolled, arms=arms),
            "title": title, "rows": rows,
            "timepoint_labels": [names.tp(tp) for tp in tps]}


# --- 3. Table 1 ---------------------------------------------------------------------------


def table_one(results: Mapping, names: Names) -> dict:
    """Table 1: each arm's patients at baseline, rows of a characteristic each."""
    arms = results["arms"]
    rows_in = results.get("baseline_characteristics", [])

    def row_of(arm, characteristic, **keys):
        return _find(rows_in, arm=arm, characteristic=characteristic, **keys) or {}

    def mean_sd(found, decimals=1):
        if not found or found.get("mean") is None:
            return "—"
        sd = "" if found.get("sd") is None else f" ({wording.number(found['sd'], decimals)})"
        return f"{wording.number(found['mean'], decimals)}{sd}"

    def median_iqr(found, decimals=1):
        if not found or found.get("median") is None:
            return "—"
        return (f"{wording.number(found['median'], decimals)} "
                f"({interval(found['q1'], found['q3'], decimals)})")

    def count(found):
        if not found or found.get("count") is None:
            return "—"
        return f"{found['count']} ({wording.percent(found['percent'])})"

    def unknown(found, words="not known"):
        return f"{words}: {found['missing']}" if found and found.get("missing") else ""

    header = [{"arm": arm, "label": names.arm(arm),
               "n": row_of(arm, "patients").get("n", results["allocated"].get(arm, 0))}
              for arm in arms]
    rows = []

    def add(label, fill, *, note=None, group=False, indent=False, score=""):
        found = [fill(arm) for arm in arms] if fill else []
        rows.append({"label": label, "group": group, "indent": indent, "score": score,
                     "cells": [{"text": text, "note": note} for text, note in found]})

    add("Age, years: mean (SD)", lambda a: (mean_sd(row_of(a, "age")),
                                             unknown(row_of(a, "age"))))
    levels = [r["level"] for r in rows_in if r["characteristic"] == "sex"
              and r["arm"] == (arms[0] if arms else None)]
    add("Sex: n (%)", None, group=True)
    for level in levels:
        add(names.sexes.get(level, level), lambda a, level=level: (
            count(row_of(a, "sex", level=level)), ""), indent=True)
    add("BMI, kg/m²: mean (SD)", lambda a: (mean_sd(row_of(a, "bmi")),
                                             unknown(row_of(a, "bmi"))))
    add("Taking opioids at baseline: n (%)", lambda a: (
        count(row_of(a, "opioid_any")), unknown(row_of(a, "opioid_any"), "dose not known")))
    add("Dose among those taking opioids, MME/day: median (IQR)",
        lambda a: (median_iqr(row_of(a, "opioid_mme_users")), ""), indent=True)
    scores = [r["score"] for r in rows_in if r["characteristic"] == "score"
              and r["arm"] == (arms[0] if arms else None)]
    if scores:
        add("Scores at baseline: mean (SD)", None, group=True)
    for code in scores:
        decimals = wording.spec_of(code).decimals

        def fill(a, code=code, decimals=decimals):
            found = row_of(a, "score", score=code)
            allocated = found.get("n", 0) + found.get("missing", 0)
            return mean_sd(found, decimals), f"{found.get('n', 0)} of {allocated} answered"

        add(wording.score_title(code), fill, indent=True, score=code)
    return {"arms": header, "rows": rows, "columns": 1 + len(arms)}


# --- 4. Table 2 ---------------------------------------------------------------------------


def _rule_order(results: Mapping, names: Names) -> list[str]:
    primary = [p["rule"] for p in results["primary_comparisons"]]
    rules = list(dict.fromkeys(r["rule"] for r in results["responders"]))
    return list(dict.fromkeys([*[r for r in primary if r in rules], *rules]))


def table_two(results: Mapping, names: Names) -> dict:
    """Table 2: responders under each rule and each score, by time point; each arm's
    figures, then the comparison of every other arm with the reference arm."""
    arms, ref = results["arms"], results["reference_arm"]
    pairs = _pairs(results)
    several = len(pairs) > 1
    primary = {(p["rule"], p["timepoint"]) for p in results["primary_comparisons"]}
    primary_rules = [p["rule"] for p in results["primary_comparisons"]]
    follow_ups = _follow_ups(results)

    responders = []
    for rule in _rule_order(results, names):
        rows = []
        for tp in follow_ups:
            cells = []
            for arm in arms:
                r = _find(results["responders"], arm=arm, timepoint=tp, rule=rule) or {}
                ci = interval(r.get("ci_low"), r.get("ci_high"), 0)
                cells.append({
                    "complete": wording.proportion(r.get("responders", 0),
                                                   r.get("evaluable", 0)),
                    "ci": f"95% CI {ci}%" if ci else "",
                    "itt": wording.proportion(r.get("responders", 0),
                                              r.get("itt_denominator", 0)),
                    "pending": f"{r['pending']} not yet due" if r.get("pending") else "",
                })
            comparisons = []
            for arm, _ in pairs:
                c = _find(results["comparisons"], kind="proportion", measure=rule,
                          timepoint=tp, arm=arm, reference_arm=ref) or {}
                difference = ("—" if c.get("difference") is None else
                              f"{wording.signed(c['difference'], 0)} "
                              f"({interval(c['difference_ci_low'], c['difference_ci_high'], 0)})")
                comparisons.append({
                    "arm_label": names.arm(arm) if several else "",
                    "difference": difference,
                    "p": ("" if c.get("p_value") is None else
                          f"{wording.p_is(c['p_value'])}, Fisher's exact test"),
                    "risk_ratio": _ratio(c, "risk_ratio"),
                    "odds_ratio": _ratio(c, "odds_ratio"),
                    "corrected": bool(c.get("zero_cell_correction")),
                })
            rows.append({"timepoint": tp, "label": names.tp(tp), "primary": (rule, tp) in primary,
                         "cells": cells, "comparisons": comparisons})
        responders.append({"rule": rule, "label": names.rule(rule),
                           "primary": rule in primary_rules, "rows": rows})

    primary_scores = []
    for rule in primary_rules:
        for score in names.rule_scores(rule):
            if score not in primary_scores:
                primary_scores.append(score)
    codes = list(dict.fromkeys(s["score"] for s in results["scores"]))
    codes = [*[c for c in primary_scores if c in codes], *[c for c in codes
                                                            if c not in primary_scores]]
    scores = []
    for code in codes:
        decimals = wording.spec_of(code).decimals
        rows = []
        for tp in results["timepoints"]:
            if _find(results["scores"], timepoint=tp, score=code) is None:
                continue  # not asked at this time point
            cells = []
            baseline = True
            for arm in arms:
                s = _find(results["scores"], arm=arm, timepoint=tp, score=code) or {}
                baseline = "change_n" not in s
                mean = "—" if s.get("mean") is None else wording.score_value(code, s["mean"])
                if s.get("sd") is not None:
                    mean += f" ({wording.score_value(code, s['sd'])})"
                change = ""
                if not baseline:
                    change = ("—" if s.get("change_mean") is None else
                              wording.score_change(code, s["change_mean"]))
                    ci = interval(s.get("change_ci_low"), s.get("change_ci_high"), decimals)
                    if ci:
                        change += f" ({ci})"
                cells.append({"mean": mean, "n": f"n {s.get('n', 0)}", "change": change,
                              "change_n": "" if baseline else f"n {s.get('change_n', 0)}"})
            comparisons = []
            for arm, _ in ([] if baseline else pairs):
                c = _find(results["comparisons"], kind="change", measure=code, timepoint=tp,
                          arm=arm, reference_arm=ref, test="welch_t") or {}
                comparisons.append({
                    "arm_label": names.arm(arm) if several else "",
                    "difference": _estimate(c, "difference", decimals),
                    "welch": ("" if c.get("p_value") is None else
                              f"{wording.p_is(c['p_value'])}, Welch's t-test"),
                    "adjusted": _estimate(c, "adjusted", decimals),
                    "ancova": ("" if c.get("adjusted_p_value") is None else
                               f"{wording.p_is(c['adjusted_p_value'])}, ANCOVA"),
                })
            rows.append({"timepoint": tp, "label": names.tp(tp), "baseline": baseline,
                         "cells": cells, "comparisons": comparisons})
        scores.append({"score": code, "label": wording.score_title(code),
                       "better": wording.better_side(code),
                       "primary": code in primary_scores, "rows": rows})
    return {"arms": [{"arm": arm, "label": names.arm(arm)} for arm in arms],
            "reference_label": names.arm(ref), "several": several,
            "pair_labels": [names.arm(arm) for arm, _ in pairs],
            "responders": responders, "scores": scores,
            "responder_columns": 1 + 2 * len(arms) + 3,
            "score_columns": 1 + 2 * len(arms) + 2,
            "responder_rows": sum(len(g["rows"]) for g in responders),
            "score_rows": sum(len(g["rows"]) for g in scores)}


def _ratio(c: Mapping, key: str) -> str:
    if c.get(key) is None:
        return "—"
    return (f"{wording.number(c[key], 2)} "
            f"({interval(c[f'{key}_ci_low'], c[f'{key}_ci_high'], 2)})")


def _estimate(c: Mapping, key: str, decimals: int) -> str:
    """A difference and its CI; ``key`` "difference" (Welch) or "adjusted" (ANCOVA)."""
    value = c.get(key if key == "difference" else "adjusted_difference")
    if value is None:
        return "—"
    low, high = (c.get(f"{key}_ci_low"), c.get(f"{key}_ci_high"))
    ci = interval(low, high, decimals)
    return f"{wording.signed(value, decimals)}" + (f" ({ci})" if ci else "")


# --- 5. the MCID from the study's own data -------------------------------------------------


MCID_TITLE = "MCID estimated from this study's own data"


def mcid(results: Mapping, names: Names) -> dict:
    """For each score: the anchor-based MCID at each follow-up an anchor is asked (or a
    sentence saying how to get one), half the baseline SD, the SEM with Cronbach's alpha,
    and the threshold of the study's own responder rule, each with its method named."""
    rows_in = results.get("mcid_estimates", [])
    any_anchor = any(r["anchor"] for r in rows_in)
    rows = []
    for code in dict.fromkeys(r["score"] for r in rows_in):
        mine = [r for r in rows_in if r["score"] == code]
        first = mine[0]
        anchored = [wording.anchor_estimate(code, names.tp(r["timepoint"]), r)
                    for r in mine if r["anchor"]]
        rule = ("No responder rule in points on this score." if first["rule_threshold"]
                is None else f"{wording.threshold(first['rule_threshold'])} "
                f"(\u201c{names.rule(first['rule'])}\u201d)")
        rows.append({"score": code, "label": wording.score_title(code),
                     "anchored": anchored,
                     # An anchor asked at any follow-up gives every score a row there.
                     "no_anchor": "" if anchored else "No anchor is asked at a follow-up.",
                     "half_sd": wording.half_sd_text(code, first),
                     "sem": wording.sem_text(code, first), "rule": rule})
    anchors = list(dict.fromkeys(r["anchor"] for r in rows_in if r["anchor"]))
    anchor_names = ", ".join(wording.short_label(a) for a in anchors)
    labels = "; ".join(dict.fromkeys(f"{wording.short_label(r['anchor'])}: "
                                     f"{r['anchor_label']}" for r in rows_in if r["anchor"]))
    return {
        "title": MCID_TITLE, "rows": rows,
        "schedule_anchor": "" if any_anchor else (
            "No anchor is asked at any follow-up, so there is no anchor-based estimate. "
            "To get one, schedule the Patient Global Impression of Change (PGIC, in the "
            "instrument catalogue) at the follow-up time points."),
        "anchor_method": (
            f"Anchor-based ({anchor_names}): the mean change in the score (that time point "
            f"minus baseline, the patients with both) among the patients who rated their "
            f"change as improved at that time point ({labels}), every arm together, with "
            "its 95% confidence interval (t)." if anchors else
            "Anchor-based: the mean change in the score among the patients who rate their "
            "own change as improved on an anchor such as the PGIC, every arm together."),
    }


# --- 6. the charts ------------------------------------------------------------------------


def _mcid(code: str, results: Mapping, names: Names) -> tuple[float, str, str] | None:
    """The chart's MCID line: the pooled baseline mean moved by the first points rule on
    the score (a primary comparison's first): (value, label, what it is)."""
    primary = [p["rule"] for p in results["primary_comparisons"]]
    candidates = [*primary, *names.rule_defs]
    rule = next((names.rule_defs[c] for c in candidates if c in names.rule_defs
                 and names.rule_defs[c].get("score") == code
                 and names.rule_defs[c].get("kind") == "points"
                 and names.rule_defs[c].get("threshold") is not None), None)
    base = [s for s in results["scores"] if s["score"] == code and "change_n" not in s
            and s["n"] and s["mean"] is not None]
    if rule is None or not base:
        return None
    n = sum(s["n"] for s in base)
    mean = sum(s["n"] * s["mean"] for s in base) / n
    step = float(rule["threshold"])
    value = mean - step if rule["direction"] == "decrease" else mean + step
    decimals = wording.spec_of(code).decimals
    amount = wording.threshold(rule["threshold"])
    sign = wording.MINUS if rule["direction"] == "decrease" else "+"
    label = f"MCID: the baseline mean {sign} {amount}"
    what = (f"Dashed line: the mean at baseline of every arm "
            f"({wording.number(mean, decimals)}, n {n}) "
            f"{'minus' if rule['direction'] == 'decrease' else 'plus'} the {amount} of the "
            f"rule \u201c{rule['label']}\u201d: {wording.number(value, decimals)}.")
    return value, label, what


def charts(results: Mapping, names: Names) -> list[dict]:
    """Mean with 95% CI by arm for each of the study's scores, and responder percent by
    arm for each rule of a primary comparison, each with n under every point and its
    numbers in a table."""
    tps = results["timepoints"]
    columns = [names.tp(tp) for tp in tps]
    found = []
    for code in dict.fromkeys(s["score"] for s in results["scores"]):
        spec = wording.spec_of(code)
        series, counts, table = {}, {}, []
        for arm in results["arms"]:
            by_tp = {s["timepoint"]: s for s in results["scores"]
                     if s["arm"] == arm and s["score"] == code}
            points = [by_tp.get(tp) for tp in tps]
            label = names.arm(arm)
            series[label] = [(p["mean"], p["mean_ci_low"], p["mean_ci_high"])
                             if p and p["n"] else None for p in points]
            counts[label] = [p["n"] if p else 0 for p in points]
            table.append({"arm": label, "cells": [
                {"n": p["n"] if p else 0,
                 "mean": wording.score_value(code, p["mean"]) if p and p["n"] else "—",
                 "ci": interval(p["mean_ci_low"], p["mean_ci_high"], spec.decimals)
                 if p and p["n"] else ""}
                for p in points]})
        if not any(c for row in counts.values() for c in row):
            continue
        present = [v[0] for row in series.values() for v in row if v]
        highs = [v[2] for row in series.values() for v in row if v and v[2] is not None]
        high = spec.high if spec.high is not None else max([*present, *highs, 1.0])
        low = spec.low if spec.low is not None else 0
        mcid = _mcid(code, results, names)
        better = "lower is better" if spec.lower_is_better else "higher is better"
        title = f"{wording.score_title(code)}: mean and 95% CI by arm"
        y_label = f"Mean {spec.label} ({better})"
        found.append({
            "title": title, "kind": "mean", "score": code, "table": table,
            "columns": columns, "note": mcid[2] if mcid else "",
            "svg": lines_chart_svg(
                title, columns, series, low=low, high=high, counts=counts,
                reference=(mcid[0], mcid[1]) if mcid else None, y_label=y_label,
                x_label="Time point; n = patients with a score",
                description=f"Mean {spec.label} at each time point by arm, with 95% "
                            "confidence intervals; the numbers are in the table below.")})
    follow_ups = _follow_ups(results)
    fu_columns = [names.tp(tp) for tp in follow_ups]
    for rule in dict.fromkeys(p["rule"] for p in results["primary_comparisons"]):
        series, counts, table = {}, {}, []
        for arm in results["arms"]:
            rows = [_find(results["responders"], arm=arm, timepoint=tp, rule=rule)
                    for tp in follow_ups]
            label = names.arm(arm)
            series[label] = [(r["percent"], r["ci_low"], r["ci_high"])
                             if r and r["percent"] is not None else None for r in rows]
            counts[label] = [r["evaluable"] if r else 0 for r in rows]
            table.append({"arm": label, "cells": [
                {"n": r["evaluable"] if r else 0,
                 "mean": wording.percent(r["percent"]) if r and r["percent"] is not None
                 else "—",
                 "ci": f'{r["responders"]} of {r["evaluable"]}' if r else ""}
                for r in rows]})
        title = f"{names.rule(rule)}: responders (% of evaluable) by arm"
        found.append({
            "title": title, "kind": "percent", "rule": rule, "table": table,
            "columns": fu_columns, "note": "",
            "svg": lines_chart_svg(
                title, fu_columns, series, low=0, high=100, counts=counts,
                y_label="Responders, % of the evaluable, with 95% CI",
                x_label="Time point; n = patients evaluable",
                description="Percent of responders at each follow-up by arm, complete "
                            "case, with Wilson 95% confidence intervals; the numbers are "
                            "in the table below.")})
    return found


# --- 7. the long tables -------------------------------------------------------------------


def long_tables(results: Mapping, names: Names) -> dict:
    """Every row of every table as the page shows it: labels for codes, numbers rounded
    the one way (SPEC 7), each cell's unrounded value kept for its ``data-value``."""
    responders = [{
        **r, "rule_label": names.rule(r["rule"]), "timepoint_label": names.tp(r["timepoint"]),
        "arm_label": names.arm(r["arm"]),
        "percent_text": wording.percent(r["percent"], 1),
        "ci_text": interval(r["ci_low"], r["ci_high"], 1, "%"),
        "percent_itt_text": wording.percent(r["percent_itt"], 1),
    } for r in results["responders"]]
    scores = [{
        **s, "score_label": wording.score_title(s["score"]),
        "timepoint_label": names.tp(s["timepoint"]), "arm_label": names.arm(s["arm"]),
        "mean_text": wording.score_value(s["score"], s["mean"]),
        "sd_text": wording.score_value(s["score"], s["sd"]),
        "median_text": wording.score_value(s["score"], s["median"]),
        "iqr_text": "—" if s["q1"] is None else
        f'{wording.score_value(s["score"], s["q1"])} to {wording.score_value(s["score"], s["q3"])}',
        "change_text": "" if s.get("change_mean") is None
        else wording.score_change(s["score"], s["change_mean"]),
        "change_ci_text": interval(s.get("change_ci_low"), s.get("change_ci_high"),
                                   wording.spec_of(s["score"]).decimals),
    } for s in results["scores"]]
    comparisons = []
    for c in results["comparisons"]:
        if c["kind"] == "proportion":
            effect = ("" if c["difference"] is None else
                      f'{wording.signed(c["difference"])} points '
                      f'({interval(c["difference_ci_low"], c["difference_ci_high"])}); '
                      f'risk ratio {wording.number(c["risk_ratio"], 2)} '
                      f'({interval(c["risk_ratio_ci_low"], c["risk_ratio_ci_high"], 2)}); '
                      f'odds ratio {wording.number(c["odds_ratio"], 2)} '
                      f'({interval(c["odds_ratio_ci_low"], c["odds_ratio_ci_high"], 2)})'
                      + ("; 0.5 added to each cell (a zero cell)"
                         if c["zero_cell_correction"] else ""))
            counts = (f'{c["responders"]}/{c["evaluable"]} vs '
                      f'{c["reference_responders"]}/{c["reference_evaluable"]}')
            adjusted = ""
        else:
            decimals = wording.spec_of(c["measure"]).decimals
            effect = ("" if c["difference"] is None else
                      f'{wording.signed(c["difference"], decimals)} '
                      f'({interval(c["difference_ci_low"], c["difference_ci_high"], decimals)})')
            counts = f'n = {c["change_n"]} vs {c["reference_change_n"]}'
            adjusted = ("" if c["adjusted_difference"] is None else
                        f'{wording.signed(c["adjusted_difference"], decimals)} '
                        f'({interval(c["adjusted_ci_low"], c["adjusted_ci_high"], decimals)}),'
                        f' p {wording.p_value(c["adjusted_p_value"])}')
        comparisons.append({
            **c, "timepoint_label": names.tp(c["timepoint"]),
            "measure_label": names.measure(c["measure"]),
            "arms_label": f'{names.arm(c["arm"])} vs {names.arm(c["reference_arm"])}',
            "test_label": wording.TESTS.get(c["test"], c["test"]),
            "counts_text": counts, "effect_text": effect, "adjusted_text": adjusted,
            "p_text": wording.p_value(c["p_value"]),
            "role": "Primary" if c["primary"] else "Exploratory (p unadjusted)",
        })
    subgroups = [{**g, "arm_label": names.arm(g["arm"]),
                  "timepoint_label": names.tp(g["timepoint"]),
                  "rule_label": names.rule(g["rule"]),
                  "factor_label": wording.FACTORS.get(g["factor"], g["factor"]),
                  "level_label": (names.sexes.get(g["level"], g["level"])
                                  if g["factor"] == "sex" else
                                  wording.LEVELS.get(g["level"], g["level"])),
                  "percent_text": wording.percent(g["percent"], 1)}
                 for g in results["subgroups"]]
    regressions = [{**r, "arm_label": names.arm(r["arm"]),
                    "timepoint_label": names.tp(r["timepoint"]),
                    "rule_label": names.rule(r["rule"]),
                    "terms": [{**t, "term_label": wording.TERMS.get(t["term"], t["term"]),
                               "odds_ratio_text": f'{wording.number(t["odds_ratio"], 2)} '
                               f'({interval(t["odds_ratio_ci_low"], t["odds_ratio_ci_high"], 2)})',
                               "p_text": wording.p_value(t["p_value"])}
                              for t in r["terms"]]}
                   for r in results["regressions"]]
    return {"responders": responders, "scores": scores, "comparisons": comparisons,
            "subgroups": subgroups, "regressions": regressions,
            "regression_rows": sum(max(len(r["terms"]), 1) for r in regressions),
            "allocated": [(names.arm(code), n) for code, n in results["allocated"].items()],
            "reference_label": names.arm(results["reference_arm"])}


def results_page(results: Mapping, names: Mapping) -> dict:
    """Everything the results page shows, in its order."""
    words = Names(names)
    return {"summary": summary(results, words), "flow": flow(results, words),
            "table_one": table_one(results, words), "table_two": table_two(results, words),
            "mcid": mcid(results, words), "charts": charts(results, words),
            "tables": long_tables(results, words)}
